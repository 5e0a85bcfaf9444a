package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

type mkind uint8

const (
	mEquals mkind = iota
	mPrefix
	mSuffix
	mContains
	mGlob
	mRegexp
	mCIDR
	mNull // field absent or empty
	mLT
	mLTE
	mGT
	mGTE
)

// matcher tests one value of a field.
type matcher struct {
	kind   mkind
	cased  bool
	lit    string   // equals/prefix/suffix/contains literal (lower-case unless cased)
	glob   []string // glob pattern pieces: literal runs, "*" and "?" (lower-case unless cased)
	re     *regexp.Regexp
	prefix netip.Prefix
	num    float64
	anchor string // lower-case literal that must occur in the value for a match; "" = none
}

func (m *matcher) match(v *Value) bool {
	s := v.Orig
	if !m.cased && m.kind <= mGlob {
		s = v.Lower()
	}
	switch m.kind {
	case mEquals:
		return s == m.lit
	case mPrefix:
		return strings.HasPrefix(s, m.lit)
	case mSuffix:
		return strings.HasSuffix(s, m.lit)
	case mContains:
		return strings.Contains(s, m.lit)
	case mGlob:
		return globMatch(m.glob, s)
	case mRegexp:
		return m.re.MatchString(v.Orig)
	case mCIDR:
		a, err := netip.ParseAddr(v.Orig)
		return err == nil && m.prefix.Contains(a.Unmap())
	case mNull:
		return v.Orig == ""
	case mLT, mLTE, mGT, mGTE:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Orig), 64)
		if err != nil {
			return false
		}
		switch m.kind {
		case mLT:
			return f < m.num
		case mLTE:
			return f <= m.num
		case mGT:
			return f > m.num
		}
		return f >= m.num
	}
	return false
}

// unsupported is the error of a feature this evaluator does not implement: the rule is
// skipped, not rejected.
type unsupported struct{ msg string }

func (u *unsupported) Error() string { return u.msg }

func unsupportedf(format string, args ...any) error {
	return &unsupported{fmt.Sprintf(format, args...)}
}

// modifiers is the parsed modifier chain of a field key (Field|contains|all).
type modifiers struct {
	contains, startswith, endswith, all, cased, windash bool
	re                                                  bool
	reFlags                                             string
	cidr                                                bool
	b64                                                 int // 1 base64, 2 base64offset
	exists                                              bool
	cmp                                                 mkind
}

func parseModifiers(mods []string) (modifiers, error) {
	var m modifiers
	for i, x := range mods {
		switch x {
		case "contains":
			m.contains = true
		case "startswith":
			m.startswith = true
		case "endswith":
			m.endswith = true
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "windash":
			m.windash = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if i == 0 || !m.re {
				return m, unsupportedf("modifier %q outside re", x)
			}
			m.reFlags += x
		case "cidr":
			m.cidr = true
		case "base64":
			m.b64 = 1
		case "base64offset":
			m.b64 = 2
		case "exists":
			m.exists = true
		case "lt":
			m.cmp = mLT
		case "lte":
			m.cmp = mLTE
		case "gt":
			m.cmp = mGT
		case "gte":
			m.cmp = mGTE
		case "":
			return m, fmt.Errorf("empty modifier")
		default:
			return m, unsupportedf("unsupported modifier %q", x)
		}
	}
	if n := btoi(m.contains) + btoi(m.startswith) + btoi(m.endswith); n > 1 {
		return m, fmt.Errorf("contains, startswith and endswith exclude each other")
	}
	if m.re && (m.contains || m.startswith || m.endswith || m.b64 > 0 || m.cidr) {
		return m, fmt.Errorf("re cannot be combined with contains/startswith/endswith/base64/cidr")
	}
	return m, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compileValues turns the values of one field (after modifiers) into matchers.
func compileValues(m modifiers, values []rawValue) ([]matcher, error) {
	var out []matcher
	for _, v := range values {
		if v.null {
			if m.re || m.cidr || m.contains || m.startswith || m.endswith || m.b64 > 0 || m.cmp != 0 {
				return nil, fmt.Errorf("null with a modifier")
			}
			out = append(out, matcher{kind: mNull})
			continue
		}
		s := v.s
		switch {
		case m.cmp != 0:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%q: want a number", s)
			}
			out = append(out, matcher{kind: m.cmp, num: f})
			continue
		case m.re:
			flags := ""
			if m.reFlags != "" {
				flags = "(?" + m.reFlags + ")"
			}
			re, err := regexp.Compile(flags + s)
			if err != nil {
				var se *syntax.Error
				if errors.As(err, &se) && (se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidNamedCapture) {
					// valid PCRE that RE2 lacks (look-around, back-references)
					return nil, unsupportedf("regular expression %q: %v", s, err)
				}
				return nil, fmt.Errorf("regular expression %q: %v", s, err)
			}
			out = append(out, matcher{kind: mRegexp, re: re})
			continue
		case m.cidr:
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("cidr %q: %v", s, err)
			}
			out = append(out, matcher{kind: mCIDR, prefix: p.Masked()})
			continue
		}
		variants := []string{s}
		if m.windash {
			variants = windash(s)
		}
		if m.b64 > 0 {
			var enc []string
			for _, x := range variants {
				if m.b64 == 1 {
					enc = append(enc, base64.StdEncoding.EncodeToString([]byte(x)))
				} else {
					enc = append(enc, base64Offsets(x)...)
				}
			}
			// Encoded values are plain text: escape wildcard characters.
			for i := range enc {
				enc[i] = escapeWildcards(enc[i])
			}
			variants = enc
		}
		for _, x := range variants {
			out = append(out, compilePattern(x, m))
		}
	}
	return out, nil
}

func escapeWildcards(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}

func windash(s string) []string {
	if !strings.Contains(s, "-") {
		return []string{s}
	}
	out := []string{s}
	for _, d := range []string{"/", "–", "—", "―"} {
		out = append(out, strings.ReplaceAll(s, "-", d))
	}
	return out
}

// base64Offsets returns the three encodings of s at byte offsets 0, 1 and 2 of a longer
// base64 text, trimmed to the characters that do not depend on the neighbours.
func base64Offsets(s string) []string {
	var out []string
	start := []int{0, 2, 3}
	end := []int{0, 3, 2}
	for i := 0; i < 3; i++ {
		e := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		cut := end[(len(s)+i)%3]
		if start[i] >= len(e)-cut {
			continue
		}
		out = append(out, e[start[i]:len(e)-cut])
	}
	return out
}

// compilePattern parses Sigma wildcards (* ?) with backslash escapes and applies
// contains/startswith/endswith.
func compilePattern(s string, m modifiers) matcher {
	pieces := parseWildcards(s)
	if m.contains || m.endswith {
		if len(pieces) == 0 || pieces[0] != "*" {
			pieces = append([]string{"*"}, pieces...)
		}
	}
	if m.contains || m.startswith {
		if len(pieces) == 0 || pieces[len(pieces)-1] != "*" {
			pieces = append(pieces, "*")
		}
	}
	if !m.cased {
		for i, p := range pieces {
			if p != "*" && p != "?" {
				pieces[i] = lower(p)
			}
		}
	}
	mt := matcher{cased: m.cased}
	longest := ""
	for _, p := range pieces {
		if p != "*" && p != "?" && len(p) > len(longest) {
			longest = p
		}
	}
	if len(longest) >= 2 {
		mt.anchor = lower(longest)
	}
	isLit := func(p string) bool { return p != "*" && p != "?" }
	switch n := len(pieces); {
	case n == 0:
		mt.kind, mt.lit = mEquals, ""
	case n == 1 && isLit(pieces[0]):
		mt.kind, mt.lit = mEquals, pieces[0]
	case n == 2 && pieces[0] == "*" && isLit(pieces[1]):
		mt.kind, mt.lit = mSuffix, pieces[1]
	case n == 2 && isLit(pieces[0]) && pieces[1] == "*":
		mt.kind, mt.lit = mPrefix, pieces[0]
	case n == 3 && pieces[0] == "*" && isLit(pieces[1]) && pieces[2] == "*":
		mt.kind, mt.lit = mContains, pieces[1]
	case n == 1 && pieces[0] == "*":
		mt.kind, mt.lit = mPrefix, ""
	default:
		mt.kind, mt.glob = mGlob, pieces
	}
	return mt
}

// parseWildcards splits s into literal runs and the wildcards "*" and "?". A backslash
// escapes *, ? and itself; any other backslash is literal.
func parseWildcards(s string) []string {
	var out []string
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, lit.String())
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*':
			flush()
			if len(out) == 0 || out[len(out)-1] != "*" {
				out = append(out, "*")
			}
		case c == '?':
			flush()
			out = append(out, "?")
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// globMatch matches s against pieces ("*" any run, "?" one character, else literal).
func globMatch(pieces []string, s string) bool {
	// Iterative matcher with single-star backtracking (linear for most patterns).
	pi, si := 0, 0
	starP, starS := -1, 0
	for {
		if pi < len(pieces) {
			switch p := pieces[pi]; p {
			case "*":
				starP, starS = pi, si
				pi++
				continue
			case "?":
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					pi++
					continue
				}
			default:
				if strings.HasPrefix(s[si:], p) {
					si += len(p)
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starP < 0 || starS >= len(s) {
			return false
		}
		// Backtrack: let the last star eat one more character.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = starP+1, starS
	}
}

// lower returns s in lower case, without allocating when it already is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}
