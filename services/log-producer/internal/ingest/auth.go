package ingest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
)

// minTokenLen refuses tokens short enough to guess.
const minTokenLen = 16

// Tokens are the bearer tokens the ingest API accepts, each with the client name it
// stands for. They are kept as SHA-256 digests and compared in constant time. Safe for
// concurrent use; Reload swaps the set atomically.
type Tokens struct {
	path string
	mu   sync.RWMutex
	set  []token
	sum  [sha256.Size]byte // of the file, to notice changes
}

type token struct {
	client string
	digest [sha256.Size]byte
}

// LoadTokens reads the token file: one token per line, optionally preceded by a client
// name and white space ("shipper-eu 3f9c…"); blank lines and lines starting with # are
// skipped. Errors name the file and the line, never a token.
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	if _, err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Reload reads the file again; it reports whether the tokens changed. On error the
// previous tokens stay.
func (t *Tokens) Reload() (bool, error) {
	b, err := os.ReadFile(t.path)
	if err != nil {
		return false, fmt.Errorf("ingest.tokens_file (INGEST_TOKENS_FILE): %w", err)
	}
	sum := sha256.Sum256(b)
	t.mu.RLock()
	same := t.set != nil && sum == t.sum
	t.mu.RUnlock()
	if same {
		return false, nil
	}
	set, err := parseTokens(b)
	if err != nil {
		return false, fmt.Errorf("ingest.tokens_file (INGEST_TOKENS_FILE): %s: %w", t.path, err)
	}
	t.mu.Lock()
	t.set, t.sum = set, sum
	t.mu.Unlock()
	return true, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.set)
}

func parseTokens(b []byte) ([]token, error) {
	var set []token
	seen := map[[sha256.Size]byte]bool{}
	for i, line := range bytes.Split(b, []byte{'\n'}) {
		s := strings.TrimSpace(string(line))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		var client, tok string
		switch len(f) {
		case 1:
			tok = f[0]
		case 2:
			client, tok = f[0], f[1]
			if !validClient(client) {
				return nil, fmt.Errorf("line %d: the client name must be 1-64 of A-Z a-z 0-9 . _ @ -", i+1)
			}
		default:
			return nil, fmt.Errorf(`line %d: want "token" or "name token"`, i+1)
		}
		if len(tok) < minTokenLen {
			return nil, fmt.Errorf("line %d: token shorter than %d characters", i+1, minTokenLen)
		}
		d := sha256.Sum256([]byte(tok))
		if client == "" {
			client = "token-" + hex.EncodeToString(d[:4])
		}
		if seen[d] {
			return nil, fmt.Errorf("line %d: the same token twice", i+1)
		}
		seen[d] = true
		set = append(set, token{client: client, digest: d})
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no token in the file")
	}
	return set, nil
}

func validClient(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Match returns the client of a presented token. It compares the token's digest with
// every known digest in constant time, so neither the time taken nor an early exit tells
// how much of a token was right.
func (t *Tokens) Match(presented string) (string, bool) {
	d := sha256.Sum256([]byte(presented))
	t.mu.RLock()
	defer t.mu.RUnlock()
	client, found := "", 0
	for _, k := range t.set {
		eq := subtle.ConstantTimeCompare(d[:], k.digest[:])
		if eq == 1 {
			client = k.client
		}
		found |= eq
	}
	return client, found == 1
}

// bearer is the token of an "Authorization: Bearer <token>" header ("" if none).
func bearer(h string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
