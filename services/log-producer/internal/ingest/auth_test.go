package ingest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const (
	aliceToken = "a1ice-0123456789abcdef"
	bobToken   = "b0b-fedcba9876543210"
)

func TestTokensFile(t *testing.T) {
	tests := []struct {
		name, content, err string
		clients            map[string]string // token → client
	}{
		{name: "named and unnamed", content: "# ingest tokens\n\nalice " + aliceToken + "\n  " + bobToken + "  \n",
			clients: map[string]string{aliceToken: "alice", bobToken: "token-"}},
		{name: "short token", content: "alice " + aliceToken + "\nshortpw\n", err: "line 2: token shorter than 16"},
		{name: "three fields", content: "a b " + aliceToken + "\n", err: `line 1: want "token" or "name token"`},
		{name: "bad name", content: "al/ice " + aliceToken + "\n", err: "line 1: the client name"},
		{name: "duplicate", content: aliceToken + "\n" + aliceToken + "\n", err: "line 2: the same token twice"},
		{name: "empty", content: "# nothing yet\n", err: "no token in the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			tok, err := LoadTokens(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "ingest.tokens_file (INGEST_TOKENS_FILE)") {
					t.Fatalf("err = %v, want %q naming the key", err, tt.err)
				}
				if strings.Contains(err.Error(), aliceToken) || strings.Contains(err.Error(), "shortpw") {
					t.Fatalf("the error shows a token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for tk, want := range tt.clients {
				if c, ok := tok.Match(tk); !ok || !strings.HasPrefix(c, want) {
					t.Errorf("Match(%q) = %q, %v; want %q", tk, c, ok, want)
				}
			}
			for _, wrong := range []string{"", aliceToken[:len(aliceToken)-1], aliceToken + "x", strings.ToUpper(aliceToken)} {
				if _, ok := tok.Match(wrong); ok {
					t.Errorf("Match(%q) accepted", wrong)
				}
			}
		})
	}
}

func TestTokensReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(path, []byte("alice "+aliceToken+"\n"), 0o600)
	tok, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := tok.Reload(); changed || err != nil {
		t.Fatalf("unchanged file: %v %v", changed, err)
	}
	os.WriteFile(path, []byte("bob "+bobToken+"\n"), 0o600)
	if changed, err := tok.Reload(); !changed || err != nil {
		t.Fatalf("rotated file: %v %v", changed, err)
	}
	if _, ok := tok.Match(aliceToken); ok {
		t.Fatal("a removed token still accepted")
	}
	os.WriteFile(path, []byte("short\n"), 0o600)
	if _, err := tok.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	if c, ok := tok.Match(bobToken); !ok || c != "bob" {
		t.Fatal("a broken file dropped the previous tokens")
	}
}

// TestIngestAsksForAToken: with a token file every request needs one of its tokens; the
// answer and the log never show what a client presented.
func TestIngestAsksForAToken(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	pub := &fakePublisher{}
	h := NewHandler(testConfig(), pub, tokensFrom(t, "alice "+aliceToken+"\n"), zap.New(core), nil)
	const guess = "a1ice-0123456789abcdeX"
	for _, auth := range []string{"", "Bearer " + guess, "Basic " + aliceToken, "Bearer"} {
		rec, out := do(t, h, request{body: []byte("a"), headers: map[string]string{"Authorization": auth}})
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("Authorization %q: %d %v", auth, rec.Code, out)
		}
		if strings.Contains(rec.Body.String(), guess) {
			t.Fatal("the answer echoes the presented token")
		}
	}
	rec, out := do(t, h, request{body: []byte("a"), headers: map[string]string{"Authorization": "bearer " + aliceToken}})
	if rec.Code != 202 || len(pub.lines) != 1 || pub.lines[0].Fields[FieldClient] != "alice" {
		t.Fatalf("valid token: %d %v, lines %+v", rec.Code, out, pub.lines)
	}
	for _, e := range logs.All() {
		if line := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(line, guess) || strings.Contains(line, aliceToken) {
			t.Fatalf("a token in the log: %s", line)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged: the check above proves nothing") // the handler logs refusals at debug
	}
}
