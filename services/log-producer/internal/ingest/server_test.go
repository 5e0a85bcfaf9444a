package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// pki is a throw-away CA with a server certificate for 127.0.0.1 and a client one.
type pki struct {
	dir               string
	pool              *x509.CertPool
	client, stranger  tls.Certificate
	caFile, cert, key string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{dir: dir, pool: x509.NewCertPool()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool.AddCert(ca)
	p.caFile = write(t, dir, "ca.pem", "CERTIFICATE", caDER)
	issue := func(cn string, usage x509.ExtKeyUsage, signer *x509.Certificate, signerKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		if signer == nil {
			signer, signerKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	der, key := issue("127.0.0.1", x509.ExtKeyUsageServerAuth, ca, caKey)
	kb, _ := x509.MarshalECPrivateKey(key)
	p.cert, p.key = write(t, dir, "server.pem", "CERTIFICATE", der), write(t, dir, "server-key.pem", "EC PRIVATE KEY", kb)
	der, key = issue("shipper-eu", x509.ExtKeyUsageClientAuth, ca, caKey)
	p.client = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	der, key = issue("mallory", x509.ExtKeyUsageClientAuth, nil, nil) // self-signed
	p.stranger = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return p
}

func write(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serve runs a Server with pub until the test ends.
func serve(t *testing.T, cfg Config, pub *fakePublisher, log *zap.Logger) *Server {
	t.Helper()
	s, err := New(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, pub) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// TestServerMutualTLS: with a client CA every client needs a certificate it signed; the
// certificate names the client; a token is asked too when a token file is set.
func TestServerMutualTLS(t *testing.T) {
	p := newPKI(t)
	cfg := testConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.TLS = TLSConfig{CertFile: p.cert, KeyFile: p.key, ClientCAFile: p.caFile}
	pub := &fakePublisher{}
	s := serve(t, cfg, pub, nil)
	url := "https://" + s.Addr() + Path
	client := func(cert *tls.Certificate) *http.Client {
		tc := &tls.Config{RootCAs: p.pool}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: tc}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	resp, err := client(&p.client).Post(url, "text/plain", strings.NewReader("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 || len(pub.lines) != 1 || pub.lines[0].Fields[FieldClient] != "cert:shipper-eu" {
		t.Fatalf("with a client certificate: %d, %+v", resp.StatusCode, pub.lines)
	}
	for name, c := range map[string]*http.Client{"no certificate": client(nil), "foreign certificate": client(&p.stranger)} {
		if resp, err := c.Post(url, "text/plain", strings.NewReader("x\n")); err == nil {
			resp.Body.Close()
			t.Errorf("%s: answered %d, want a refused handshake", name, resp.StatusCode)
		}
	}
	if code := status(client(&p.client).Get("https://" + s.Addr() + "/readyz")); code != 404 {
		t.Fatalf("/readyz on the ingest port: %d", code)
	}

	cfg.TokensFile = tokensFile(t, "alice "+aliceToken+"\n")
	s2 := serve(t, cfg, pub, nil)
	req, _ := http.NewRequest(http.MethodPost, "https://"+s2.Addr()+Path, strings.NewReader("x\n"))
	if code := status(client(&p.client).Do(req)); code != 401 {
		t.Fatalf("certificate without token: %d", code)
	}
	req, _ = http.NewRequest(http.MethodPost, "https://"+s2.Addr()+Path, strings.NewReader("x\n"))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	if code := status(client(&p.client).Do(req)); code != 202 {
		t.Fatalf("certificate and token: %d", code)
	}
}

// status is the status code of a response (closed), or -1 for an error.
func status(resp *http.Response, err error) int {
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

func tokensFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServerWarnsWhenOpen: no credentials on a non-loopback address is logged as a
// warning; on loopback, or with a token file, it is not.
func TestServerWarnsWhenOpen(t *testing.T) {
	for _, tt := range []struct {
		addr, tokens string
		warn         bool
	}{
		{"127.0.0.1:0", "", false},
		{":0", "", true},
		{":0", "alice " + aliceToken + "\n", false},
	} {
		core, logs := observer.New(zap.InfoLevel)
		cfg := testConfig()
		cfg.Addr = tt.addr
		if tt.tokens != "" {
			cfg.TokensFile = tokensFile(t, tt.tokens)
		}
		s, err := New(cfg, zap.New(core), nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		warned := logs.FilterMessageSnippet("WITHOUT AUTHENTICATION").FilterLevelExact(zap.WarnLevel).Len() > 0
		if warned != tt.warn {
			t.Errorf("addr %s, tokens %v: warned %v", tt.addr, tt.tokens != "", warned)
		}
	}
}

func TestServerConfigErrorsNameTheKey(t *testing.T) {
	p := newPKI(t)
	for _, tt := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"missing token file", func(c *Config) { c.TokensFile = filepath.Join(t.TempDir(), "none") }, "ingest.tokens_file (INGEST_TOKENS_FILE)"},
		{"cert without key", func(c *Config) { c.TLS.CertFile = p.cert }, "ingest.tls.cert_file and ingest.tls.key_file"},
		{"client CA without TLS", func(c *Config) { c.TLS.ClientCAFile = p.caFile }, "ingest.tls.client_ca_file (INGEST_TLS_CLIENT_CA_FILE)"},
		{"client CA not PEM", func(c *Config) { c.TLS = TLSConfig{CertFile: p.cert, KeyFile: p.key, ClientCAFile: p.key} }, "no PEM certificate"},
		{"bytes below body", func(c *Config) { c.MaxInFlightBytes = c.MaxBodyBytes - 1 }, "ingest.max_in_flight_bytes (INGEST_MAX_IN_FLIGHT_BYTES)"},
		{"address in use", nil, "ingest.addr (INGEST_ADDR)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Addr = "127.0.0.1:0"
			if tt.mut != nil {
				tt.mut(&cfg)
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				cfg.Addr = ln.Addr().String()
			}
			s, err := New(cfg, nil, nil)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
