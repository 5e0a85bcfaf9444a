package taxonomy

import (
	"net/netip"
	"net/url"
	"path"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/shellcmd"
)

// readers read every file operand.
var readers = set("cat", "tac", "less", "more", "head", "tail", "nl", "strings", "xxd", "od", "hexdump", "base64",
	"base32", "md5sum", "sha1sum", "sha256sum", "sha512sum", "view", "vim", "vi", "nano", "emacs", "sort", "uniq",
	"wc", "cut", "diff", "cmp", "source", ".", "unshadow", "john", "hashcat", "zcat", "bzcat", "xzcat", "gzip",
	"bzip2", "xz", "zip", "7z", "rar", "tar", "rsync", "scp", "sftp", "file", "jq", "yq", "column", "paste", "fold",
	"rev", "tr", "iconv", "gpg", "shred", "split", "look", "comm", "join", "pr", "fmt", "expand", "unexpand", "stat")

// patternFirst take a pattern or program as the first operand unless given by option.
var patternFirst = map[string]string{"grep": "ef", "egrep": "ef", "fgrep": "ef", "zgrep": "ef", "rg": "ef",
	"ag": "", "awk": "f", "gawk": "f", "mawk": "f", "nawk": "f", "sed": "ef"}

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

// operands returns the non-option words of argv[1:] (options with a value are
// skipped when the value is attached; a lone "-x VALUE" keeps VALUE as an operand,
// which only over-reports reads).
func operands(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	var out []string
	dd := false
	for _, a := range argv[1:] {
		if dd || a == "-" || !strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		if a == "--" {
			dd = true
		}
	}
	return out
}

func hasOpt(argv []string, letters string, long ...string) bool {
	for _, a := range argv[1:] {
		if a == "--" {
			return false
		}
		for _, l := range long {
			if a == l || strings.HasPrefix(a, l+"=") {
				return true
			}
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsAny(a[1:], letters) {
			return true
		}
	}
	return false
}

// optValue returns the values of -X VALUE, -XVALUE, --long VALUE and --long=VALUE.
func optValue(argv []string, short string, long ...string) []string {
	var out []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		for _, l := range long {
			if a == l && i+1 < len(argv) {
				out = append(out, argv[i+1])
			} else if v, ok := strings.CutPrefix(a, l+"="); ok {
				out = append(out, v)
			}
		}
		if short != "" && strings.HasPrefix(a, short) && !strings.HasPrefix(a, "--") {
			if a == short && i+1 < len(argv) {
				out = append(out, argv[i+1])
			} else if len(a) > len(short) {
				out = append(out, a[len(short):])
			}
		}
	}
	return out
}

// files adds the files command c writes (file_event) and reads (file_access).
func (m *Mapper) files(ev *logwardenpb.LogEvent, c *shellcmd.Command, image, user, cwd string) {
	write := func(p string) { m.fileEvent(FileEvent, ev, c, image, user, m.path(p, user, cwd)) }
	read := func(p string) { m.fileEvent(FileAccess, ev, c, image, user, m.path(p, user, cwd)) }
	for _, r := range c.Redirects {
		switch {
		case r.Writes():
			write(r.Target)
		case r.Reads():
			read(r.Target)
		}
	}
	if len(c.Argv) == 0 {
		return
	}
	name := c.Name()
	argv := c.Argv
	ops := operands(argv)
	switch {
	case name == "tee" || name == "touch" || name == "truncate":
		for _, p := range ops {
			if name == "truncate" && isNumber(p) {
				continue
			}
			write(p)
		}
	case name == "cp" || name == "mv" || name == "install" || name == "ln" || name == "rsync" || name == "scp":
		if len(ops) >= 2 {
			dst := ops[len(ops)-1]
			if !remote(dst) {
				write(dst)
				if strings.HasSuffix(dst, "/") || len(ops) > 2 || path.Ext(dst) == "" && !strings.Contains(path.Base(dst), ".") {
					for _, src := range ops[:len(ops)-1] {
						write(strings.TrimSuffix(dst, "/") + "/" + path.Base(src))
					}
				}
			}
			if name != "ln" && name != "mv" {
				for _, src := range ops[:len(ops)-1] {
					if !remote(src) {
						read(src)
					}
				}
			}
		}
	case name == "dd":
		for _, a := range argv[1:] {
			if v, ok := strings.CutPrefix(a, "of="); ok {
				write(v)
			} else if v, ok := strings.CutPrefix(a, "if="); ok {
				read(v)
			}
		}
	case name == "curl":
		for _, v := range optValue(argv, "-o", "--output") {
			write(v)
		}
		for _, v := range optValue(argv, "-T", "--upload-file") {
			read(v)
		}
		for _, v := range append(optValue(argv, "-d", "--data", "--data-binary", "--data-raw", "--data-urlencode"), optValue(argv, "-F", "--form")...) {
			if _, f, ok := strings.Cut(v, "@"); ok && f != "-" && f != "" {
				read(f)
			}
		}
	case name == "wget":
		for _, v := range optValue(argv, "-O", "--output-document") {
			write(v)
		}
		for _, v := range optValue(argv, "", "--post-file", "--body-file") {
			read(v)
		}
	case name == "crontab":
		// crontab FILE or crontab - installs the user's crontab.
		if !hasOpt(argv, "lre", "--list", "--remove", "--edit") {
			owner := user
			if u := optValue(argv, "-u"); len(u) > 0 {
				owner = u[0]
			}
			if owner == "" {
				owner = "root"
			}
			for _, p := range ops {
				if p != "-" && (len(optValue(argv, "-u")) == 0 || p != owner) {
					read(p)
				}
			}
			write("/var/spool/cron/crontabs/" + owner)
		}
	case name == "openssl":
		for _, v := range optValue(argv, "-in") {
			read(v)
		}
		for _, v := range optValue(argv, "-out") {
			write(v)
		}
	case name == "sed" || name == "perl" && hasOpt(argv, "i"):
		files := ops
		if !hasOpt(argv, "ef", "--expression", "--file") && len(files) > 0 {
			files = files[1:]
		}
		inPlace := hasOpt(argv, "i", "--in-place")
		for _, p := range files {
			if inPlace {
				write(p)
			} else {
				read(p)
			}
		}
	case patternFirst[name] != "" || name == "ag":
		files := ops
		if !hasOpt(argv, patternFirst[name]) && len(files) > 0 {
			files = files[1:]
		}
		for _, p := range files {
			read(p)
		}
	case readers[name]:
		for _, p := range ops {
			if looksLikePath(p) {
				read(p)
			}
		}
	}
}

func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-<>/%")
	return s != "" && strings.Trim(s, "0123456789KMGTPkmgtpBb") == ""
}

// remote reports an scp/rsync operand host:path.
func remote(s string) bool {
	i := strings.IndexByte(s, ':')
	return i > 0 && !strings.Contains(s[:i], "/")
}

func looksLikePath(s string) bool {
	return s != "" && !strings.Contains(s, "://") && (strings.ContainsAny(s, "/.~") || !strings.ContainsAny(s, " =:"))
}

// network adds the destinations command c connects to: URLs in its arguments and the
// host/port operands of nc, ncat, telnet and socat.
func (m *Mapper) network(ev *logwardenpb.LogEvent, c *shellcmd.Command, image, user string) {
	add := func(host, port string) {
		if host == "" {
			return
		}
		e := m.next(NetworkConnection)
		e.Add("Image", image)
		e.Add("CommandLine", c.Text)
		if _, err := netip.ParseAddr(host); err == nil {
			e.Add("DestinationIp", host)
		} else {
			e.Add("DestinationHostname", host)
		}
		if port != "" {
			e.Add("DestinationPort", port)
		}
		e.Add("Initiated", "true")
		addCommon(e, ev, user)
	}
	n := 0
	for _, a := range c.Argv[1:] {
		if n >= 4 {
			return
		}
		if u := urlIn(a); u != nil {
			add(u.Hostname(), u.Port())
			n++
		}
	}
	switch c.Name() {
	case "nc", "ncat", "netcat", "telnet":
		ops := operands(c.Argv)
		if hasOpt(c.Argv, "l") {
			return
		}
		var host, port string
		for _, o := range ops {
			if isNumber(o) && host != "" {
				port = o
				break
			}
			if host == "" && !isNumber(o) && !strings.HasPrefix(o, "/") {
				host = o
			}
		}
		add(host, port)
	case "socat":
		for _, o := range c.Argv[1:] {
			lo := strings.ToLower(o)
			for _, p := range []string{"tcp:", "tcp4:", "tcp6:", "tcp-connect:", "udp:", "udp-connect:", "openssl:", "ssl:", "openssl-connect:"} {
				if rest, ok := strings.CutPrefix(lo, p); ok {
					host, port, _ := strings.Cut(rest, ":")
					port, _, _ = strings.Cut(port, ",")
					add(host, port)
				}
			}
		}
	}
}

// urlIn returns the first URL in s (scheme://host…), nil when there is none.
func urlIn(s string) *url.URL {
	i := strings.Index(s, "://")
	if i <= 0 {
		return nil
	}
	start := i
	for start > 0 {
		c := s[start-1]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			break
		}
		start--
	}
	end := i + 3
	for end < len(s) && !strings.ContainsRune(" \t'\"<>|;`", rune(s[end])) {
		end++
	}
	u, err := url.Parse(s[start:end])
	if err != nil || u.Host == "" {
		return nil
	}
	return u
}
