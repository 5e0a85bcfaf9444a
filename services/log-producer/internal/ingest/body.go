package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/sync/semaphore"
)

// refusal is a request the API refuses, with the status to answer; nothing of it was
// published.
type refusal struct {
	status int
	msg    string
	header map[string]string
}

func (e *refusal) Error() string { return e.msg }

func refuse(status int, format string, args ...any) *refusal {
	return &refusal{status: status, msg: fmt.Sprintf(format, args...)}
}

// mediaType reads Content-Type: text (one event per line) or NDJSON; only UTF-8 (or its
// subset US-ASCII) is read.
func mediaType(ct string) (ndjson bool, _ *refusal) {
	if ct == "" {
		return false, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, refuse(http.StatusUnsupportedMediaType, "bad Content-Type: %v", err)
	}
	switch mt {
	case "text/plain", "application/x-www-form-urlencoded": // the latter: curl --data-binary's default
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json":
		ndjson = true
	default:
		return false, refuse(http.StatusUnsupportedMediaType, "Content-Type must be text/plain or application/x-ndjson, got %s", mt)
	}
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(cs) {
		case "utf-8", "utf8", "us-ascii", "ascii":
		default:
			return false, refuse(http.StatusUnsupportedMediaType, "charset %q is not read: send UTF-8", cs)
		}
	}
	return ndjson, nil
}

// gzipped reads Content-Encoding: none, identity or gzip; anything else is refused with
// 415 and Accept-Encoding (RFC 7694).
func gzipped(h http.Header) (bool, *refusal) {
	var codings []string
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	switch {
	case len(codings) == 0:
		return false, nil
	case len(codings) == 1 && (codings[0] == "gzip" || codings[0] == "x-gzip"):
		return true, nil
	}
	r := refuse(http.StatusUnsupportedMediaType, "Content-Encoding %q is not read: send identity or gzip", strings.Join(codings, ", "))
	r.header = map[string]string{"Accept-Encoding": "gzip"}
	return false, r
}

var errBusy = errors.New("in-flight bytes exhausted")

// budget is the part of ingest.max_in_flight_bytes one request holds.
type budget struct {
	sem  *semaphore.Weighted
	held int64
}

func (b *budget) grow(n int64) bool {
	if !b.sem.TryAcquire(n) {
		return false
	}
	b.held += n
	return true
}

func (b *budget) release() {
	b.sem.Release(b.held)
	b.held = 0
}

// readBody reads the whole (decoded) body into one buffer whose capacity is always
// covered by the budget: at most max bytes, else a refusal (413), or errBusy when the
// budget cannot grow (429).
func readBody(src io.Reader, sizeHint, max int64, b *budget) ([]byte, error) {
	size := int64(64 << 10)
	if sizeHint > 0 {
		size = sizeHint + 1 // +1: EOF is seen without growing
	}
	size = min(size, max+1)
	if !b.grow(size) {
		return nil, errBusy
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				return nil, errTooLarge
			}
			next := min(2*int64(cap(buf)), max+1)
			if !b.grow(next - int64(cap(buf))) {
				return nil, errBusy
			}
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

var errTooLarge = errors.New("body too large")

// body returns the decoded request body, or why it is refused.
func (h *Handler) body(w http.ResponseWriter, r *http.Request, gz bool, b *budget) ([]byte, *refusal) {
	max := h.cfg.MaxBodyBytes
	var src io.Reader = http.MaxBytesReader(w, r.Body, max)
	hint := r.ContentLength
	if gz {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, h.readRefusal(err, gz)
		}
		defer zr.Close()
		src, hint = zr, 0
	}
	body, err := readBody(src, hint, max, b)
	if err != nil {
		return nil, h.readRefusal(err, gz)
	}
	return body, nil
}

func (h *Handler) readRefusal(err error, gz bool) *refusal {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errBusy):
		r := refuse(http.StatusTooManyRequests, "too many request bytes in flight (ingest.max_in_flight_bytes %d): retry later", h.cfg.MaxInFlightBytes)
		r.header = map[string]string{"Retry-After": "1"}
		return r
	case errors.As(err, &mbe):
		return refuse(http.StatusRequestEntityTooLarge, "body larger than %d bytes (ingest.max_body_bytes)", h.cfg.MaxBodyBytes)
	case errors.Is(err, errTooLarge) && gz:
		return refuse(http.StatusRequestEntityTooLarge, "decompressed body larger than %d bytes (ingest.max_body_bytes)", h.cfg.MaxBodyBytes)
	case errors.Is(err, errTooLarge):
		return refuse(http.StatusRequestEntityTooLarge, "body larger than %d bytes (ingest.max_body_bytes)", h.cfg.MaxBodyBytes)
	case gz:
		return refuse(http.StatusBadRequest, "gzip body: %v", err)
	}
	return refuse(http.StatusBadRequest, "read body: %v", err)
}

// binary refuses a body that is not text: one with a NUL byte, or one where more than a
// tenth of the bytes are not UTF-8. (A few invalid bytes in text are repaired by the
// parser and flagged parse.invalid_utf8, as for every source.)
func binary(body []byte) *refusal {
	if i := bytes.IndexByte(body, 0); i >= 0 {
		return refuse(http.StatusUnsupportedMediaType, "binary body: NUL byte on line %d (send UTF-8 text; compressed bodies need Content-Encoding: gzip)",
			bytes.Count(body[:i], []byte{'\n'})+1)
	}
	if utf8.Valid(body) {
		return nil
	}
	bad := 0
	for rest := body; len(rest) > 0; {
		r, n := utf8.DecodeRune(rest)
		if r == utf8.RuneError && n == 1 {
			bad++
		}
		rest = rest[n:]
	}
	if bad*10 > len(body) {
		return refuse(http.StatusUnsupportedMediaType, "binary body: %d of %d bytes are not UTF-8 (send UTF-8 text)", bad, len(body))
	}
	return nil
}
