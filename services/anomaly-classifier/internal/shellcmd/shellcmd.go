package shellcmd

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Limits of the work done on one line.
const (
	MaxDepth     = 4       // nested payloads (sh -c inside base64 inside sudo …)
	MaxCommands  = 64      // commands reported per line
	MaxLineBytes = 1 << 16 // longer lines are not parsed
)

// Command is one simple command the line would start.
type Command struct {
	Argv      []string   // words with quotes removed; expansions ($X, $(…)) kept as written
	Text      string     // the statement as written, redirections included
	Env       []string   // NAME=VALUE assignments that apply to it (also export/declare arguments)
	Redirects []Redirect // its own redirections and those of enclosing compound statements
	Parent    int        // index of the command that runs it (sh -c, sudo, a decoder …), -1: the line's shell
	Via       string     // how it was reached: "" (the line), "sh -c", "eval", "sudo", "base64", "find -exec" …
	PipeFrom  []int      // earlier stages of its pipeline (their output flows into it)
	PipeTo    []int      // later stages of its pipeline
}

// Name is the base name of argv[0] ("" for an assignment-only statement).
func (c *Command) Name() string {
	if len(c.Argv) == 0 {
		return ""
	}
	return path.Base(c.Argv[0])
}

// Redirect is one redirection: Op is ">", ">>", "<", "<>", "<&", ">&", ">|", "<<", "<<-",
// "<<<", "&>", "&>>"; FD the explicit descriptor ("2" in 2>/dev/null), Target the word
// (unquoted) or the here-document body.
type Redirect struct {
	Op     string
	FD     string
	Target string
}

// Writes reports whether the redirection writes to Target.
func (r Redirect) Writes() bool {
	switch r.Op {
	case ">", ">>", ">|", "&>", "&>>", "<>":
		return true
	case ">&":
		return !isFD(r.Target)
	}
	return false
}

// ToFD reports whether Target is a file descriptor (2>&1) or "-" (closing one), not a file.
func (r Redirect) ToFD() bool { return isFD(r.Target) }

// Reads reports whether the redirection reads Target as a file.
func (r Redirect) Reads() bool { return r.Op == "<" || r.Op == "<>" }

func isFD(s string) bool {
	if s == "-" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Analysis is the outcome of Analyze.
type Analysis struct {
	Parsed   bool      // false: the parser rejected the line (no commands; match the raw text)
	Commands []Command // in source order, unwrapped payloads after their carrier
	Decoded  []string  // payloads decoded from literals (base64, hex, reversed, printf escapes)
}

// Analyzer parses command lines. Not safe for concurrent use.
type Analyzer struct {
	parser *syntax.Parser
}

// New returns an Analyzer.
func New() *Analyzer {
	return &Analyzer{parser: syntax.NewParser(syntax.Variant(syntax.LangBash))}
}

// Analyze returns the commands of line. It never panics on any input.
func (a *Analyzer) Analyze(line string) (res Analysis) {
	if len(line) > MaxLineBytes {
		return Analysis{}
	}
	defer func() {
		// The parser is third-party code fed untrusted input: a panic there must not
		// take the classifier down; the line is then matched on its raw text.
		if r := recover(); r != nil {
			res = Analysis{}
		}
	}()
	w := &walker{a: a}
	if !w.script(line, -1, "", 0) {
		return Analysis{}
	}
	return Analysis{Parsed: true, Commands: w.cmds, Decoded: w.decoded}
}

type walker struct {
	a       *Analyzer
	cmds    []Command
	decoded []string
}

func (w *walker) full() bool { return len(w.cmds) >= MaxCommands }

// script parses src and adds its commands with the given parent; it reports whether src
// parsed.
func (w *walker) script(src string, parent int, via string, depth int) bool {
	f, err := w.a.parser.Parse(strings.NewReader(src), "")
	if err != nil {
		return false
	}
	type compound struct {
		from, to uint
		redirs   []*syntax.Redirect
	}
	var comps []compound
	var pipes [][]*syntax.Stmt
	covered := map[*syntax.BinaryCmd]bool{}
	first := len(w.cmds)
	var offs []uint // offsets of this script's commands in src
	stmtIndex := map[*syntax.Stmt]int{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if w.full() {
			return false
		}
		switch n := n.(type) {
		case *syntax.Stmt:
			switch c := n.Cmd.(type) {
			case *syntax.CallExpr:
				stmtIndex[n] = len(w.cmds)
				offs = append(offs, n.Pos().Offset())
				w.cmds = append(w.cmds, w.call(src, n, c, parent, via))
			case *syntax.DeclClause:
				stmtIndex[n] = len(w.cmds)
				offs = append(offs, n.Pos().Offset())
				w.cmds = append(w.cmds, w.decl(src, n, c, parent, via))
			case nil:
				if len(n.Redirs) > 0 { // "> file" alone truncates or creates it
					stmtIndex[n] = len(w.cmds)
					offs = append(offs, n.Pos().Offset())
					c := Command{Text: stmtText(src, n), Parent: parent, Via: via}
					for _, r := range n.Redirs {
						c.Redirects = append(c.Redirects, redirect(src, r))
					}
					w.cmds = append(w.cmds, c)
				}
			default:
				if len(n.Redirs) > 0 {
					comps = append(comps, compound{n.Pos().Offset(), n.End().Offset(), n.Redirs})
				}
			}
		case *syntax.BinaryCmd:
			if isPipe(n) && !covered[n] {
				// a|b|c parses as (a|b)|c and Walk sees the outer node first.
				pipes = append(pipes, flattenPipe(n, covered))
			}
		}
		return true
	})
	for _, c := range comps {
		for k, off := range offs {
			if off >= c.from && off < c.to {
				for _, r := range c.redirs {
					w.cmds[first+k].Redirects = append(w.cmds[first+k].Redirects, redirect(src, r))
				}
			}
		}
	}
	last := len(w.cmds)
	for _, p := range pipes {
		var idx []int
		for _, s := range p {
			if i, ok := stmtIndex[s]; ok {
				idx = append(idx, i)
			}
		}
		for k, i := range idx {
			w.cmds[i].PipeFrom = append(w.cmds[i].PipeFrom, idx[:k]...)
			w.cmds[i].PipeTo = append(w.cmds[i].PipeTo, idx[k+1:]...)
		}
		w.decodePipeline(idx, depth)
	}
	for i := first; i < last && !w.full(); i++ {
		w.unwrap(i, depth)
	}
	return true
}

func isPipe(b *syntax.BinaryCmd) bool { return b.Op == syntax.Pipe || b.Op == syntax.PipeAll }

func flattenPipe(b *syntax.BinaryCmd, covered map[*syntax.BinaryCmd]bool) []*syntax.Stmt {
	covered[b] = true
	var out []*syntax.Stmt
	for _, s := range []*syntax.Stmt{b.X, b.Y} {
		if x, ok := s.Cmd.(*syntax.BinaryCmd); ok && isPipe(x) && len(s.Redirs) == 0 {
			out = append(out, flattenPipe(x, covered)...)
			continue
		}
		out = append(out, s)
	}
	return out
}

func slice(src string, n syntax.Node) string {
	from, to := n.Pos().Offset(), n.End().Offset()
	if from > to || to > uint(len(src)) {
		return ""
	}
	return src[from:to]
}

func (w *walker) call(src string, s *syntax.Stmt, c *syntax.CallExpr, parent int, via string) Command {
	cmd := Command{Text: stmtText(src, s), Parent: parent, Via: via}
	for _, as := range c.Assigns {
		cmd.Env = append(cmd.Env, assign(src, as))
	}
	for _, wd := range c.Args {
		cmd.Argv = append(cmd.Argv, Word(src, wd))
	}
	for _, r := range s.Redirs {
		cmd.Redirects = append(cmd.Redirects, redirect(src, r))
	}
	return cmd
}

func (w *walker) decl(src string, s *syntax.Stmt, d *syntax.DeclClause, parent int, via string) Command {
	cmd := Command{Text: stmtText(src, s), Parent: parent, Via: via}
	if d.Variant != nil {
		cmd.Argv = append(cmd.Argv, d.Variant.Value)
	}
	for _, as := range d.Args {
		a := assign(src, as)
		cmd.Argv = append(cmd.Argv, a)
		if !as.Naked {
			cmd.Env = append(cmd.Env, a)
		}
	}
	for _, r := range s.Redirs {
		cmd.Redirects = append(cmd.Redirects, redirect(src, r))
	}
	return cmd
}

// stmtText is the statement as written, without its terminator (; or &).
func stmtText(src string, s *syntax.Stmt) string {
	return strings.TrimRight(slice(src, s), " \t;&")
}

func assign(src string, as *syntax.Assign) string {
	name := ""
	if as.Name != nil {
		name = as.Name.Value
	}
	if as.Naked {
		if as.Value != nil {
			return Word(src, as.Value)
		}
		return name
	}
	val := ""
	if as.Value != nil {
		val = Word(src, as.Value)
	} else if as.Array != nil {
		val = slice(src, as.Array)
	}
	return name + "=" + val
}

func redirect(src string, r *syntax.Redirect) Redirect {
	out := Redirect{Op: r.Op.String()}
	if r.N != nil {
		out.FD = r.N.Value
	}
	switch {
	case r.Hdoc != nil:
		out.Target = Word(src, r.Hdoc)
	case r.Word != nil:
		out.Target = Word(src, r.Word)
	}
	return out
}

// Word returns a word with quotes removed and escapes resolved; expansions are kept as
// written in src.
func Word(src string, w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		part(&b, src, p, false)
	}
	return b.String()
}

func part(b *strings.Builder, src string, p syntax.WordPart, inDbl bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		unescape(b, p.Value, inDbl)
	case *syntax.SglQuoted:
		if p.Dollar {
			b.WriteString(ansiC(p.Value))
		} else {
			b.WriteString(p.Value)
		}
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			part(b, src, q, true)
		}
	default:
		b.WriteString(slice(src, p))
	}
}

// unescape drops the backslashes the shell removes: any in unquoted text, only before
// $ ` " \ and newline inside double quotes.
func unescape(b *strings.Builder, s string, inDbl bool) {
	if strings.IndexByte(s, '\\') < 0 {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		n := s[i+1]
		if n == '\n' {
			i++
			continue
		}
		if inDbl && n != '$' && n != '`' && n != '"' && n != '\\' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(n)
		i++
	}
}

// Argv0 is argv[0] as written ("" for an assignment-only statement).
func (c *Command) Argv0() string {
	if len(c.Argv) == 0 {
		return ""
	}
	return c.Argv[0]
}
