package template

// Mask splits line on ASCII whitespace and appends its tokens to dst, each
// variable token replaced by Wildcard. A quoted string ('…' or "…") spanning
// several tokens becomes one Wildcard. It never panics and allocates nothing
// beyond dst's growth (tokens are substrings of line).
func Mask(line string, dst []string) []string {
	i, n := 0, len(line)
	for i < n {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i >= n {
			break
		}
		start := i
		if q := line[i]; q == '\'' || q == '"' {
			// a quoted string: up to the closing quote followed by a space or the end
			j := i + 1
			for j < n && !(line[j] == q && (j+1 == n || isSpace(line[j+1]))) {
				j++
			}
			if j < n {
				dst = append(dst, Wildcard)
				i = j + 1
				continue
			}
		}
		for i < n && !isSpace(line[i]) {
			i++
		}
		tok := line[start:i]
		if variable(tok) {
			tok = Wildcard
		}
		dst = append(dst, tok)
	}
	return dst
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// variable reports a token that carries a value rather than wording: it
// contains a digit (numbers, IPs, hex with digits, UUIDs, times, ids), is a
// path or URL, or is a long hex string.
func variable(tok string) bool {
	t := trimPunct(tok)
	if t == "" {
		return false
	}
	if t[0] == '/' || (len(t) > 1 && t[0] == '~' && t[1] == '/') {
		return true
	}
	hex := len(t) >= 8
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c >= '0' && c <= '9' {
			return true
		}
		if c == '/' && i > 0 && i+1 < len(t) {
			return true // a/b/c, http://…
		}
		if !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			hex = false
		}
	}
	return hex
}

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
	case '[', ']', '(', ')', '{', '}', '<', '>', ',', ';', ':', '"', '\'', '=', '.':
		return true
	}
	return false
}
