package template

import (
	"hash/maphash"
	"strings"
)

// Masking decides which parts of a line are values. It looks at the shape of
// a token, never at what system wrote it:
//
//   - A line is split on white space into words; a quoted string ('…' or "…",
//     opening at a word start or after = : ( [ { , < |) is one value even when
//     it holds spaces, unless it starts with a word in capitals and a space (a
//     request line, "GET /a HTTP/1.1": the verb stays).
//   - A word is cut into compounds at = , ; | ( ) [ ] { } < > and quotes, and at
//     the colon after a key ("index:0" → index, 0; not in "10:20", "a.b:80",
//     "http://", "C:\"). The delimiters stay in the token, so "uid=0" and
//     "uid=1000" both become "uid=<*>" and "[10.0.0.1]" becomes "[<*>]".
//   - A compound is a value when it holds a digit (numbers of every spelling,
//     hex, IPv4/IPv6, host:port, MACs, UUIDs, dates and times, versions,
//     ids such as blk_-42 or core.2275), or when it is a path or URL (a slash
//     or backslash with letters), an e-mail address, a run of ≥ 8 hex
//     letters, or a lower-case dotted name ending in a short word (a host or
//     file name). A word glued to a number keeps the word: "ssh2" → "ssh<*>",
//     "Steps1514038530000" → "Steps<*>" (not when the run is all hex: a hash);
//     a name in capitals stays whole ("SOCKS5", "SHA256").
//   - An empty pair ("()", "[]", "\"\"") is an empty value.
//   - Across words: a number followed by a unit (451 bytes, 1.16 KB, 3 sec,
//     10 ms) is one value; a month or weekday name (or AM/PM, UTC) next to a
//     value is part of it, so "Sun Jul 10 03:55:21 2005" is one date; and
//     neighbouring values collapse into one <*>, so a value spelt with a
//     varying number of words ("451 bytes" / "1190 bytes (1.16 KB)") keeps the
//     line's shape.

// token is one masked token of a line; its form (its text in a template) is
// scanner.buf[off:end].
type token struct {
	off, end int32
	kind     uint8
	hash     uint64 // hashBytes of the form
	key      uint64 // hashBytes of "key=" in a key=value form, else 0
}

const (
	kindPure   = 1 << iota // values and punctuation only ("<*>", "[<*>]", "(<*>),")
	kindNumber             // one number with punctuation around it
	kindUnit               // a unit word: bytes, KB, ms, sec…
	kindDate               // a month or weekday name, AM/PM, a time zone
	kindCaps               // a word in capitals (LOOKING, HTTPS, ACTION_UP): a name, not a value
	kindKeyed              // the word has an = or a colon: maybe key=value
	kindGlued              // a word glued to a number ("eth<*>", "user<*>")
)

const (
	// maxWords is how many words of a line are looked at; the rest of a longer
	// line is one value. It bounds the work and the memory a line can cost.
	maxWords = 512
	// maxTokens bounds a template's length (after values collapsed).
	maxTokens = 256
	// maxQuote is the longest quoted string read as one value (a bound on the
	// look-ahead for the closing quote).
	maxQuote = 256
)

// scanner masks lines into tokens, reusing its buffers (allocation-free once
// they have grown to the longest line seen).
type scanner struct {
	seed  maphash.Seed
	wild  uint64  // hash of Wildcard
	buf   []byte  // token forms; buf[0:3] is always Wildcard
	toks  []token // tokens of the last line
	joins bool    // the line has tokens join merges
}

func newScanner() scanner {
	seed := maphash.MakeSeed()
	return scanner{seed: seed, wild: maphash.String(seed, Wildcard)}
}

// scan masks line and hashes the tokens' forms; the result is valid until the
// next call.
func (s *scanner) scan(line string) []token {
	s.tokens(line)
	for k := range s.toks {
		t := &s.toks[k]
		if t.off == 0 {
			t.hash = s.wild
			continue
		}
		form := s.buf[t.off:t.end]
		t.hash = maphash.Bytes(s.seed, form)
		if t.kind&kindKeyed != 0 {
			t.key = s.keyHash(form)
		}
	}
	return s.toks
}

// tokens masks line into s.toks (forms in s.buf), without hashes.
func (s *scanner) tokens(line string) []token {
	s.buf = append(s.buf[:0], Wildcard...)
	s.toks = s.toks[:0]
	s.joins = false
	i, n := 0, len(line)
	for i < n {
		for i < n && charClass[line[i]]&cSpace != 0 {
			i++
		}
		if i >= n {
			break
		}
		if len(s.toks) == maxWords {
			s.add(token{off: 0, end: 3, kind: kindPure})
			break
		}
		// or and and of the classes of the word's bytes, and of all but the last
		start := i
		or, and, orHead, andHead := uint16(0), uint16(0xffff), uint16(0), uint16(0xffff)
		for i < n {
			c := line[i]
			cl := charClass[c]
			if cl&cSpace != 0 {
				break
			}
			if cl&cQuote != 0 && (i == start || opensQuote(line[i-1])) {
				if j := s.quoted(line, i); j > 0 {
					or, and = 0xffff, 0 // not a plain word
					i = j + 1
					continue
				}
			}
			orHead, andHead = or, and
			or |= cl
			and &= cl
			i++
		}
		w := line[start:i]
		if charClass[w[len(w)-1]]&cTail == 0 {
			orHead, andHead = or, and
		}
		switch {
		case isPlain(w, orHead, andHead):
			s.plainWord(w, orHead)
		case and&cValue != 0 && or&cDigit != 0:
			// digits and . : - + / _ only (numbers, IPs, times, dates): one
			// value, as word would find
			t := token{off: 0, end: 3, kind: kindPure}
			if isNumber(w) {
				t.kind |= kindNumber
			}
			s.add(t)
		default:
			s.word(w, or&cKey != 0)
		}
	}
	if s.joins {
		s.join()
	}
	if len(s.toks) > maxTokens {
		s.toks = append(s.toks[:maxTokens-1], token{off: 0, end: 3, kind: kindPure})
	}
	return s.toks
}

// Character classes (charClass).
const (
	cSpace = 1 << iota
	cDigit
	cLower
	cUpper
	cHex       // a-f, A-F
	cDelim     // isDelim
	cTail      // may end a plain word: , ; : . ! ?
	cQuote     // ' "
	cKey       // = :
	cHexLetter // a-f, A-F
	cValue     // 0-9 . : - + / _ (a word of these only is one value)
	cAlnum     // letters, digits, non-ASCII
	cSlash     // / and backslash
	cAt        // @
	cDot       // .
)

// charClass classifies bytes for the scanner (a read-only table).
var charClass = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case isSpace(b):
			t[c] = cSpace
		case b >= '0' && b <= '9':
			t[c] = cDigit | cHex
		case b >= 'a' && b <= 'z':
			t[c] = cLower
		case b >= 'A' && b <= 'Z':
			t[c] = cUpper
		case b >= 0x80:
			t[c] = cLower // non-ASCII text counts as wording
		case isDelim(b):
			t[c] = cDelim
		}
		if t[c]&(cDigit|cLower|cUpper) != 0 {
			t[c] |= cAlnum
		}
		switch b {
		case '/', '\\':
			t[c] |= cSlash
		case '@':
			t[c] |= cAt
		case '.':
			t[c] |= cDot
		}
		if b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			t[c] |= cHex | cHexLetter
		}
		switch b {
		case ',', ';', ':', '.', '!', '?':
			t[c] |= cTail
		}
		switch b {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.', ':', '-', '+', '/', '_':
			t[c] |= cValue
		}
		switch b {
		case '"', '\'':
			t[c] |= cQuote
		case '=', ':':
			t[c] |= cKey
		}
	}
	return t
}()

// word masks one word into a token; keyed: it has an = or a colon.
func (s *scanner) word(w string, keyed bool) {
	if emptyPair(w) {
		s.add(token{off: 0, end: 3, kind: kindPure})
		return
	}
	off := len(s.buf)
	masked, numbers := 0, 0
	literal := false // a letter or digit kept as text
	glued := false
	i, n := 0, len(w)
	for i < n {
		c := w[i]
		if isQuote(c) && (i == 0 || opensQuote(w[i-1])) {
			if j := s.quoted(w, i); j > 0 {
				s.buf = append(s.buf, Wildcard...)
				masked++
				i = j + 1
				continue
			}
		}
		if charClass[c]&cDelim != 0 && !startsNumber(w, i) {
			s.buf = append(s.buf, c)
			i++
			continue
		}
		// the compound's extent, and the or and and of its bytes' classes
		j, key := i+1, false
		or, and := charClass[c], charClass[c]
		for j < n {
			d := w[j]
			if d == ':' && keyColon(w, i, j) {
				key = true
				break
			}
			cl := charClass[d]
			if cl&cDelim != 0 {
				break
			}
			or |= cl
			and &= cl
			j++
		}
		switch s.compound(w[i:j], or, and) {
		case compoundNumber:
			numbers++
			masked++
		case compoundValue:
			masked++
		case compoundGlued:
			masked++
			literal = true
			glued = true
		case compoundText:
			literal = true
		}
		i = j
		if key {
			s.buf = append(s.buf, ':')
			i++
		}
	}
	t := token{off: int32(off), end: int32(len(s.buf))}
	if keyed {
		t.kind = kindKeyed
	}
	if glued {
		t.kind |= kindGlued
	}
	switch {
	case masked > 0 && !literal:
		t.kind |= kindPure
		if masked == 1 && numbers == 1 {
			t.kind |= kindNumber
		}
	case masked == 0:
		core := trimPunct(w)
		if isUnit(core) {
			t.kind |= kindUnit
		} else if isDateWord(core) {
			t.kind |= kindDate
		} else if isCaps(core) {
			t.kind |= kindCaps
		}
	}
	s.add(t)
}

// letterClasses are the classes a letter (or a non-ASCII byte) has.
const letterClasses = cLower | cUpper | cHex | cHexLetter | cAlnum

// isPlain reports whether word w is plainWord's case: letters (not a run of 8
// or more hex letters, a value) and at most one closing punctuation mark.
// orHead and andHead are the or and and of the classes of its bytes but that
// mark. word would give such a word the same token, slower (a test checks).
func isPlain(w string, orHead, andHead uint16) bool {
	return orHead&^letterClasses == 0 && orHead != 0 && !(andHead&cHex != 0 && len(w) >= 8)
}

// plainWord adds the common word: letters and at most one closing
// punctuation mark ("password", "terminating.", "error:"), kept as it is;
// head is the or of the classes of its letters.
func (s *scanner) plainWord(w string, head uint16) {
	t := token{off: int32(len(s.buf))}
	s.buf = append(s.buf, w...)
	t.end = int32(len(s.buf))
	core := w
	if charClass[w[len(w)-1]]&cTail != 0 {
		core = w[:len(w)-1]
	}
	switch {
	case len(core) <= 9 && isUnit(core):
		t.kind = kindUnit
	case len(core) <= 9 && isDateWord(core):
		t.kind = kindDate
	case head&cLower == 0 && len(core) >= 2:
		t.kind = kindCaps
	}
	s.add(t)
}

// add appends t, noting whether join has work.
func (s *scanner) add(t token) {
	if t.kind&(kindUnit|kindDate) != 0 || t.kind&kindPure != 0 && len(s.toks) > 0 && s.toks[len(s.toks)-1].kind&kindPure != 0 {
		s.joins = true
	}
	s.toks = append(s.toks, t)
}

const (
	compoundPunct  = iota // punctuation only, kept
	compoundText          // wording, kept
	compoundGlued         // a word glued to a number: the word is kept
	compoundValue         // replaced by Wildcard
	compoundNumber        // a value that is a plain number
)

// compound appends c or its mask to buf and says which it was; or and and are
// those of the classes of its bytes.
func (s *scanner) compound(c string, or, and uint16) int {
	letters := or&(cLower|cUpper) != 0
	switch {
	case or&cDigit != 0:
		if or&cLower == 0 && isCaps(c) {
			s.buf = append(s.buf, c...)
			return compoundText
		}
		if letters && and&cAlnum != 0 && and&cHex == 0 {
			if k := gluedNumber(c); k >= 3 {
				s.buf = append(s.buf, c[:k]...)
				s.buf = append(s.buf, Wildcard...)
				return compoundGlued
			}
		}
		s.buf = append(s.buf, Wildcard...)
		if isNumber(c) {
			return compoundNumber
		}
		return compoundValue
	case letters && (or&cSlash != 0 || or&cAt != 0 && isEmail(c)), // path, URL, e-mail address
		and&cHexLetter != 0 && len(c) >= 8,
		or&cDot != 0 && or&cUpper == 0 && hostName(c):
		s.buf = append(s.buf, Wildcard...)
		return compoundValue
	}
	s.buf = append(s.buf, c...)
	if letters {
		return compoundText
	}
	return compoundPunct
}

// isEmail: an @ with a dot after it.
func isEmail(c string) bool {
	k := strings.IndexByte(c, '@')
	return k >= 0 && strings.IndexByte(c[k:], '.') >= 0
}

// gluedNumber returns where the number starts in a word glued to a number
// (letters then digits only: "ssh2", "eth0", "Steps123"), or 0. The caller
// wants at least 3 letters.
func gluedNumber(c string) int {
	k := 0
	for k < len(c) && !isDigit(c[k]) {
		k++
	}
	for j := k; j < len(c); j++ {
		if !isDigit(c[j]) {
			return 0
		}
	}
	return k
}

// isNumber: an optional comparator and sign, then digits with single . , :
// between them (12, -3, 1.16, <1, 00:02, 1,234).
func isNumber(c string) bool {
	k := 0
	if k < len(c) && (c[k] == '<' || c[k] == '>' || c[k] == '~') {
		k++
	}
	if k < len(c) && (c[k] == '-' || c[k] == '+') {
		k++
	}
	if k == len(c) || !isDigit(c[k]) {
		return false
	}
	for ; k < len(c); k++ {
		if isDigit(c[k]) {
			continue
		}
		if (c[k] == '.' || c[k] == ',' || c[k] == ':') && k+1 < len(c) && isDigit(c[k+1]) {
			continue
		}
		return false
	}
	return true
}

// join merges tokens across words: a number and its unit, a date's words,
// neighbouring values; then bounds the token count.
func (s *scanner) join() {
	t := s.toks
	w := 0
	for r := 0; r < len(t); r++ {
		if t[r].kind&kindNumber != 0 && r+1 < len(t) && t[r+1].kind&kindUnit != 0 {
			// the number's form and the punctuation after the unit: "(1.16 KB)," → "(<*>),"
			unit := s.buf[t[r+1].off:t[r+1].end]
			k := len(unit)
			for k > 0 && isPunct(unit[k-1]) {
				k--
			}
			off := int32(len(s.buf))
			s.buf = append(s.buf, s.buf[t[r].off:t[r].end]...)
			s.buf = append(s.buf, s.buf[int(t[r+1].off)+k:t[r+1].end]...)
			t[w] = token{off: off, end: int32(len(s.buf)), kind: kindPure}
			r++
		} else {
			t[w] = t[r]
		}
		w++
	}
	t = t[:w]
	for pass := 0; pass < 2; pass++ {
		for k := range t {
			if t[k].kind&kindDate != 0 && (k > 0 && t[k-1].kind&kindPure != 0 || k+1 < len(t) && t[k+1].kind&kindPure != 0) {
				t[k] = token{off: 0, end: 3, kind: kindPure}
			}
		}
	}
	w = 0
	for r := range t {
		if t[r].kind&kindPure != 0 && w > 0 && t[w-1].kind&kindPure != 0 {
			t[w-1] = token{off: 0, end: 3, kind: kindPure}
			continue
		}
		t[w] = t[r]
		w++
	}
	s.toks = t[:w]
}

// Mask splits line into its masked tokens, as the miner sees them, and
// appends them to dst. It never panics; unlike the miner's own path it
// allocates the tokens' text (Masker does not).
func Mask(line string, dst []string) []string {
	s := newScanner()
	for _, t := range s.tokens(line) {
		dst = append(dst, string(s.buf[t.off:t.end]))
	}
	return dst
}

// Masker masks lines as Mask does, reusing its memory: commands are masked on
// every command event. Not safe for concurrent use.
type Masker struct{ s scanner }

// NewMasker returns a Masker.
func NewMasker() *Masker { return &Masker{s: newScanner()} }

// Forms appends the masked tokens of line to dst; they are valid until the next call.
func (m *Masker) Forms(line string, dst [][]byte) [][]byte {
	for _, t := range m.s.tokens(line) {
		dst = append(dst, m.s.buf[t.off:t.end])
	}
	return dst
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isQuote(c byte) bool { return c == '"' || c == '\'' }

// opensQuote: a quote after c starts a quoted string.
func opensQuote(c byte) bool {
	switch c {
	case '=', ':', '(', '[', '{', ',', '<', '|':
		return true
	}
	return false
}

// closeQuote returns the index of the quote closing the one at s[i] (the same
// character followed by the end, a space or closing punctuation), or -1.
func closeQuote(s string, i int) int {
	q := s[i]
	end := min(len(s), i+maxQuote)
	for k := i + 1; k < end; k++ {
		if s[k] != q {
			continue
		}
		if k+1 == len(s) || isSpace(s[k+1]) {
			return k
		}
		switch s[k+1] {
		case ',', ';', ':', '.', ')', ']', '}', '>', '|':
			return k
		}
	}
	return -1
}

// quoted returns the index of the quote closing a quoted value opening at
// s[i], or -1. A quoted string that starts with a word in capitals and a space
// is a request or command line ("GET /a HTTP/1.1"): its words are masked one
// by one, so the verb stays.
func (sc *scanner) quoted(s string, i int) int {
	k := i + 1
	for k < len(s) && (s[k] >= 'A' && s[k] <= 'Z') {
		k++
	}
	if k-i > 2 && k < len(s) && s[k] == ' ' {
		return -1
	}
	return closeQuote(s, i)
}

// isDelim: a character that separates compounds and stays in the token.
func isDelim(c byte) bool {
	switch c {
	case '=', ',', ';', '|', '(', ')', '[', ']', '{', '}', '<', '>', '"', '\'':
		return true
	}
	return false
}

// startsNumber: w[i] is a comparator directly before a digit ("<1 sec").
func startsNumber(w string, i int) bool {
	return (w[i] == '<' || w[i] == '>') && i+1 < len(w) && isDigit(w[i+1])
}

// keyColon: the colon at w[j] ends the key w[i:j] ("index:0", "sshd:auth"):
// a key is a word (letters, _ and -), so the colon of a value stays in it
// ("10:20:30", "proxy.example.com:8080", "state.x:-1", "http://", "C:\\").
func keyColon(w string, i, j int) bool {
	for k := i; k < j; k++ {
		if c := w[k]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	if j+1 < len(w) {
		switch w[j+1] {
		case '/', '\\', ':':
			return false
		}
	}
	return true
}

// trimPunct strips the punctuation around a word's text.
func trimPunct(t string) string {
	for len(t) > 0 && isPunct(t[0]) {
		t = t[1:]
	}
	for len(t) > 0 && isPunct(t[len(t)-1]) {
		t = t[:len(t)-1]
	}
	return t
}

func isPunct(c byte) bool {
	switch c {
	case '[', ']', '(', ')', '{', '}', '<', '>', ',', ';', ':', '"', '\'', '=', '.', '!', '?':
		return true
	}
	return false
}

// isUnit: a unit of size, time or share written after a number.
func isUnit(w string) bool {
	switch w {
	case "b", "B", "byte", "bytes", "Bytes", "kb", "kB", "KB", "KiB", "mb", "MB", "MiB", "gb", "GB", "GiB", "TB", "TiB",
		"bps", "kbps", "Kbps", "Mbps", "Gbps",
		"ns", "us", "µs", "ms", "msec", "msecs", "s", "sec", "secs", "second", "seconds",
		"min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days",
		"%", "percent":
		return true
	}
	return false
}

// isDateWord: a month or weekday name (as dates spell them), AM/PM or a time zone.
func isDateWord(w string) bool {
	switch w {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December",
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
		"Mon", "Tue", "Tues", "Wed", "Thu", "Thur", "Thurs", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
		"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN",
		"AM", "PM", "am", "pm", "UTC", "GMT", "Z":
		return true
	}
	return false
}

// isCaps: a name in capitals (LOOKING, HTTPS, SOCKS5, SHA256): two or more
// capital letters, no small ones and, with digits (at most 3), a capital
// first and a letter that is not a hex digit (7F1A2B and 4KB are values).
func isCaps(w string) bool {
	upper, digits, nonHex := 0, 0, false
	for k := 0; k < len(w); k++ {
		switch c := w[k]; {
		case c >= 'A' && c <= 'Z':
			upper++
			nonHex = nonHex || c > 'F'
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z', c >= 0x80:
			return false
		}
	}
	return upper >= 2 && (digits == 0 || digits <= 3 && nonHex && w[0] >= 'A' && w[0] <= 'Z')
}

// hostName: a lower-case dotted name ending in a short word, as host and
// file names are (ns.example.com, backup.tar, com.tencent.mm); names with
// capitals (org.apache.Foo, android.intent.action.SCREEN_ON) are code, not values.
func hostName(c string) bool {
	dots, label := 0, 0
	for k := 0; k < len(c); k++ {
		switch b := c[k]; {
		case b == '.':
			if label == 0 {
				return false
			}
			dots++
			label = 0
		case b >= 'a' && b <= 'z' || b == '-' || b == '_':
			label++
		default:
			return false
		}
	}
	return dots > 0 && label >= 2 && label <= 8
}

// keyHash hashes the key of a key=value or key:value form with its sign
// ("uid=" of "uid=<*>") when a value follows; else 0.
func (s *scanner) keyHash(form []byte) uint64 {
	for k, c := range form {
		switch c {
		case '=', ':':
			if k == 0 || k == len(form)-1 {
				return 0
			}
			return maphash.Bytes(s.seed, form[:k+1])
		case '<':
			return 0 // a value before any key
		}
	}
	return 0
}

// emptyPair: an empty value written as a pair of brackets or quotes ("()",
// "[]", "{}", "<>", two quotes), maybe followed by a comma, semicolon or colon.
func emptyPair(w string) bool {
	if n := len(w); n == 3 && (w[2] == ',' || w[2] == ';' || w[2] == ':') {
		w = w[:2]
	}
	switch w {
	case "()", "[]", "{}", "<>", `""`, "''":
		return true
	}
	return false
}
