package shellcmd

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// shells run their -c argument (and stdin) as a script.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "ash": true, "mksh": true,
	"rbash": true, "fish": true, "tcsh": true, "csh": true,
}

// wrapper describes a command that runs another one given after its options.
type wrapper struct {
	argShort   string          // short options that take an argument
	argLong    map[string]bool // long options that take an argument when given without '='
	positional int             // operands before the command (timeout's duration, chroot's dir)
	payload    string          // option whose argument is a shell script (su -c)
	envAssign  bool            // NAME=VALUE operands set the environment (env)
}

var wrappers = map[string]wrapper{
	"sudo":        {argShort: "ugpChDrtUTR", argLong: set("--user", "--group", "--prompt", "--close-from", "--host", "--chdir", "--role", "--type", "--other-user", "--command-timeout", "--chroot")},
	"doas":        {argShort: "uC"},
	"env":         {argShort: "uCS", argLong: set("--unset", "--chdir", "--split-string"), envAssign: true},
	"nohup":       {},
	"setsid":      {},
	"exec":        {argShort: "a"},
	"command":     {},
	"builtin":     {},
	"time":        {argShort: "fo"},
	"stdbuf":      {argShort: "ioe"},
	"nice":        {argShort: "n", argLong: set("--adjustment")},
	"ionice":      {argShort: "cnp", argLong: set("--class", "--classdata", "--pid")},
	"timeout":     {argShort: "sk", argLong: set("--signal", "--kill-after"), positional: 1},
	"chroot":      {argLong: set("--userspec", "--groups"), positional: 1},
	"xargs":       {argShort: "IiLlnPdEsa", argLong: set("--max-args", "--max-procs", "--delimiter", "--arg-file", "--replace", "--max-lines", "--eof")},
	"unbuffer":    {},
	"torsocks":    {},
	"proxychains": {argShort: "f"}, "proxychains4": {argShort: "f"},
	"nsenter":     {argShort: "tSGrw", argLong: set("--target", "--setuid", "--setgid", "--root", "--wd")},
	"flock":       {argShort: "wEc", argLong: set("--timeout", "--conflict-exit-code"), positional: 1, payload: "c"},
	"su":          {argShort: "sgGw", argLong: set("--shell", "--group", "--supp-group", "--whitelist-environment"), payload: "c"},
	"runuser":     {argShort: "ugsGw", argLong: set("--user", "--group", "--shell", "--supp-group"), payload: "c"},
	"sg":          {payload: "c"},
	"script":      {argShort: "cEIOBT", payload: "c"},
	"sshpass":     {argShort: "pfde"},
	"strace":      {argShort: "eoOpPsSuEXbIa"},
	"ltrace":      {argShort: "eoOpPsSuEXaAlnL"},
	"watch":       {argShort: "ndgq", argLong: set("--interval")},
	"taskset":     {argShort: "", positional: 1},
	"caps":        {},
	"busybox":     {},
	"catchsegv":   {},
	"firejail":    {},
	"unshare":     {argShort: "S", argLong: set("--setuid", "--setgid", "--root", "--wd")},
	"chrt":        {positional: 1},
	"cpulimit":    {argShort: "lpe"},
	"systemd-run": {argShort: "pEMu", argLong: set("--property", "--setenv", "--unit", "--description", "--uid", "--gid", "--working-directory")},
	"runcon":      {argShort: "urtl"},
}

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

// unwrap adds the commands carried by command i (payloads, wrapped commands).
func (w *walker) unwrap(i, depth int) {
	if depth >= MaxDepth || w.full() {
		return
	}
	c := &w.cmds[i]
	if len(c.Argv) == 0 {
		return
	}
	name := c.Name()
	for _, r := range c.Redirects {
		if r.Op == "<<<" && decoderKind(c) != "" {
			w.decodeInto(i, r.Target, decoderKind(c), depth)
		}
	}
	c = &w.cmds[i]
	switch {
	case shells[name]:
		if script, ok := shellScript(c.Argv[1:]); ok {
			w.script(script, i, "sh -c", depth+1)
			return
		}
		for _, r := range w.cmds[i].Redirects {
			if r.Op == "<<<" || r.Op == "<<" || r.Op == "<<-" {
				w.script(r.Target, i, "stdin", depth+1)
			}
		}
		return
	case name == "eval":
		w.script(strings.Join(c.Argv[1:], " "), i, "eval", depth+1)
		return
	case name == "find":
		w.findExec(i, depth)
		return
	}
	wr, ok := wrappers[name]
	if !ok {
		return
	}
	if name == "busybox" && len(c.Argv) > 1 && c.Argv[1] != "" && c.Argv[1][0] != '-' {
		w.child(i, 1, nil, name, depth)
		return
	}
	if name == "watch" {
		if k := wrapped(wr, c.Argv); k > 0 {
			w.script(strings.Join(c.Argv[k:], " "), i, name, depth+1)
		}
		return
	}
	if wr.payload != "" {
		if script, ok := optionArg(c.Argv[1:], wr.payload); ok {
			w.script(script, i, name, depth+1)
			return
		}
		if name != "flock" {
			return
		}
	}
	if name == "env" {
		if script, ok := optionArg(c.Argv[1:], "S"); ok {
			w.script(script, i, name, depth+1)
			return
		}
	}
	k := wrapped(wr, c.Argv)
	if k <= 0 {
		return
	}
	var env []string
	if wr.envAssign {
		for k < len(c.Argv) && isAssign(c.Argv[k]) {
			env = append(env, c.Argv[k])
			k++
		}
		if k >= len(c.Argv) {
			return
		}
	}
	w.child(i, k, env, name, depth)
}

// child adds argv[k:] of command i as a command run by it.
func (w *walker) child(i, k int, env []string, via string, depth int) {
	if w.full() {
		return
	}
	p := w.cmds[i]
	text := strings.Join(p.Argv[k:], " ")
	// Keep the carrier's redirections in the text (sudo bash -i >& /dev/tcp/…): they
	// apply to the wrapped command.
	if j := strings.Index(p.Text, p.Argv[k]); j >= 0 && p.Argv[k] != "" {
		text = p.Text[j:]
	}
	c := Command{
		Argv:      append([]string(nil), p.Argv[k:]...),
		Text:      text,
		Env:       append(append([]string(nil), p.Env...), env...),
		Redirects: append([]Redirect(nil), p.Redirects...),
		Parent:    i,
		Via:       via,
		PipeFrom:  append([]int(nil), p.PipeFrom...),
		PipeTo:    append([]int(nil), p.PipeTo...),
	}
	w.cmds = append(w.cmds, c)
	w.unwrap(len(w.cmds)-1, depth+1)
}

// wrapped returns the index in argv of the wrapped command (≤ 0: none).
func wrapped(wr wrapper, argv []string) int {
	k := 1
	for k < len(argv) {
		a := argv[k]
		if a == "--" {
			k++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		if strings.HasPrefix(a, "--") {
			k++
			if !strings.Contains(a, "=") && wr.argLong[a] {
				k++
			}
			continue
		}
		k++
		// -abc: the first letter taking an argument takes the rest (or the next word).
		for j := 1; j < len(a); j++ {
			if strings.IndexByte(wr.argShort, a[j]) >= 0 {
				if j == len(a)-1 {
					k++
				}
				break
			}
		}
	}
	k += wr.positional
	if k >= len(argv) {
		return 0
	}
	return k
}

// shellScript returns the script of a shell's -c option: the first operand after an
// option group that contains 'c' (bash -c, sh -ec, bash -lc).
func shellScript(args []string) (string, bool) {
	wantScript := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if wantScript {
			return a, true
		}
		if a == "--" {
			continue
		}
		if len(a) >= 2 && (a[0] == '-' || a[0] == '+') && !strings.HasPrefix(a, "--") {
			if a[0] == '-' && strings.IndexByte(a[1:], 'c') >= 0 {
				wantScript = true
			}
			if a == "-o" || a == "+o" || a == "-O" || a == "+O" {
				i++
			}
			continue
		}
		if strings.HasPrefix(a, "--") {
			continue
		}
		return "", false // a script file operand
	}
	return "", false
}

// optionArg returns the argument of short option opt (-c 'script', -cscript, or the
// last letter of a group: -lc 'script').
func optionArg(args []string, opt string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return "", false
		}
		if a == "--command" && opt == "c" && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--command="); ok && opt == "c" {
			return v, true
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
		if j := strings.Index(a[1:], opt); j >= 0 {
			if rest := a[2+j:]; rest != "" {
				return rest, true
			}
			if i+1 < len(args) {
				return args[i+1], true
			}
		}
	}
	return "", false
}

func (w *walker) findExec(i, depth int) {
	argv := w.cmds[i].Argv
	for k := 1; k < len(argv); k++ {
		switch argv[k] {
		case "-exec", "-execdir", "-ok", "-okdir":
		default:
			continue
		}
		end := k + 1
		for end < len(argv) && argv[end] != ";" && argv[end] != "+" {
			end++
		}
		if end > k+1 && !w.full() {
			p := w.cmds[i]
			w.cmds = append(w.cmds, Command{Argv: append([]string(nil), argv[k+1:end]...), Text: strings.Join(argv[k+1:end], " "),
				Env: append([]string(nil), p.Env...), Parent: i, Via: "find -exec"})
			w.unwrap(len(w.cmds)-1, depth+1)
		}
		k = end
	}
}

func isAssign(s string) bool {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return false
	}
	for j := 0; j < eq; j++ {
		c := s[j]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// decoderKind reports how command c decodes its input: "base64", "hex", "rev" or "".
func decoderKind(c *Command) string {
	name := c.Name()
	has := func(flags ...string) bool {
		for _, a := range c.Argv[1:] {
			for _, f := range flags {
				if a == f || (len(f) == 2 && len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Contains(a[1:], f[1:])) {
					return true
				}
			}
		}
		return false
	}
	switch name {
	case "base64", "base32", "basenc":
		if has("-d", "--decode", "-D") {
			return name
		}
	case "openssl":
		if len(c.Argv) > 1 && (c.Argv[1] == "base64" || c.Argv[1] == "enc" && has("-base64", "-a")) && has("-d") {
			return "base64"
		}
	case "xxd":
		if has("-r") {
			return "hex"
		}
	case "rev":
		return "rev"
	}
	return ""
}

// decodePipeline decodes literals echoed into a decoder (echo X | base64 -d | sh) and
// printf/echo -e escapes piped into a shell, and analyses the result.
func (w *walker) decodePipeline(idx []int, depth int) {
	for k := 1; k < len(idx) && !w.full(); k++ {
		prev, cur := &w.cmds[idx[k-1]], &w.cmds[idx[k]]
		lit, escapes, ok := echoed(prev)
		if !ok {
			continue
		}
		if kind := decoderKind(cur); kind != "" {
			w.decodeInto(idx[k], lit, kind, depth)
			continue
		}
		if escapes && shells[cur.Name()] {
			if s := printfUnescape(lit); s != lit && printable(s) {
				w.decoded = append(w.decoded, s)
				w.script(s, idx[k-1], "printf", depth+1)
			}
		}
	}
}

// echoed returns the literal that echo/printf c writes, and whether escapes in it are
// interpreted (printf, echo -e).
func echoed(c *Command) (lit string, escapes bool, ok bool) {
	name := c.Name()
	if name != "echo" && name != "printf" {
		return "", false, false
	}
	args := c.Argv[1:]
	escapes = name == "printf"
	for len(args) > 0 && name == "echo" && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		if strings.Contains(args[0], "e") {
			escapes = true
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return "", false, false
	}
	lit = strings.Join(args, " ")
	if strings.ContainsAny(lit, "$`") {
		return "", false, false
	}
	return lit, escapes, true
}

// decodeInto decodes lit as kind and analyses the text as run by command i.
func (w *walker) decodeInto(i int, lit, kind string, depth int) {
	var out string
	switch kind {
	case "base64":
		out = decodeBase64(lit)
	case "base32":
		out = ""
	case "hex":
		s := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\t' {
				return -1
			}
			return r
		}, lit)
		if b, err := hex.DecodeString(s); err == nil {
			out = string(b)
		}
	case "rev":
		r := []rune(lit)
		for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
			r[a], r[b] = r[b], r[a]
		}
		out = string(r)
	}
	out = strings.TrimRight(out, "\n")
	if out == "" || !printable(out) {
		return
	}
	w.decoded = append(w.decoded, out)
	w.script(out, i, kind, depth+1)
}

func decodeBase64(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return string(b)
		}
	}
	return ""
}

// printable reports whether s looks like text (a script), not binary data.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	bad := 0
	n := 0
	for _, r := range s {
		n++
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f || r == utf8.RuneError {
			bad++
		}
	}
	return n > 0 && bad*10 <= n
}

// printfUnescape resolves the escapes printf and echo -e interpret.
func printfUnescape(s string) string { return ansiC(s) }

// ansiC resolves C-style escapes: \n \t \\ \' \" \a \b \e \f \r \v \xHH \NNN \0NNN \uHHHH.
func ansiC(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'e', 'E':
			b.WriteByte(27)
		case 'f':
			b.WriteByte(12)
		case 'v':
			b.WriteByte(11)
		case '\\', '\'', '"', '?':
			b.WriteByte(e)
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteString(`\x`)
				continue
			}
			v, _ := strconv.ParseUint(s[i+1:j], 16, 8)
			b.WriteByte(byte(v))
			i = j - 1
		case 'u', 'U':
			n := 4
			if e == 'U' {
				n = 8
			}
			j := i + 1
			for j < len(s) && j < i+1+n && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			v, _ := strconv.ParseUint(s[i+1:j], 16, 32)
			if v <= utf8.MaxRune {
				b.WriteRune(rune(v))
			}
			i = j - 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			if e == '0' {
				j++
			}
			k := j
			for k < len(s) && k < j+3 && s[k] >= '0' && s[k] <= '7' {
				k++
			}
			if k == j {
				b.WriteByte(0)
				i = j - 1
				continue
			}
			v, _ := strconv.ParseUint(s[j:k], 8, 16)
			b.WriteByte(byte(v))
			i = k - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
