package sigma

import "testing"

func FuzzLoad(f *testing.F) {
	f.Add([]byte(head + "    sel: {CommandLine|contains|all: [a, b]}\n    filter: {Image|endswith: /x}\n    condition: sel and not 1 of filter*\n"))
	f.Add([]byte(corrDoc))
	f.Add([]byte("title: K\nlogsource: {product: linux}\ndetection:\n    k: ['a*b', 'c\\\\?']\n    condition: all of them\n"))
	f.Add([]byte("title: x\ndetection: {condition: [a, b]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _ := Load([]File{{Name: "f.yml", Data: data}}, Options{})
		m := rs.NewMatcher()
		for _, src := range []Source{proc, {Product: "linux"}, {Product: "linux", Services: "sshd,auth,syslog"}} {
			e := ev(src, "CommandLine", "a b c", Keywords, "a b c", "Image", "/x", "Action", "login_failed", "SourceIp", "1.2.3.4", "User", "u")
			m.Match(e, func(r *Rule) {})
		}
		c := NewCorrelator(4)
		for _, r := range rs.Rules {
			if r.Correlation != nil {
				for _, b := range r.Correlation.Rules {
					c.Observe(r, b, ev(Source{Product: "linux"}, "SourceIp", "1.2.3.4", "User", "u"), tZero, Observation{})
				}
			}
		}
	})
}
