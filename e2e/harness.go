package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Services are the three binaries under test.
var Services = []string{"log-producer", "anomaly-classifier", "slack-notifier"}

// RepoRoot finds the repository root (the directory holding go.work) from the working
// directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles the three services into dir and returns their paths by service name.
func Build(ctx context.Context, root, dir string) (map[string]string, error) {
	bins := make(map[string]string, len(Services))
	for _, s := range Services {
		out := filepath.Join(dir, s)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/"+s)
		cmd.Dir = filepath.Join(root, "services", s)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %w\n%s", s, err, b)
		}
		bins[s] = out
	}
	return bins, nil
}

// Proc is a service running as a child process. Its stdout and stderr go to a log file.
type Proc struct {
	Name string
	Log  string // path of the combined stdout+stderr log

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// ProcSpec describes a process to start.
type ProcSpec struct {
	Name  string   // for messages and the log file name
	Bin   string   // binary
	Args  []string // arguments
	Env   []string // KEY=VALUE on top of the parent's environment
	Dir   string   // working directory (and log directory); keep it free of a .env file
	Stdin io.Reader
}

// Start starts a process. The caller stops it with Stop or Kill.
func Start(spec ProcSpec) (*Proc, error) {
	logPath := filepath.Join(spec.Dir, spec.Name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Bin, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Stdin = spec.Stdin
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p := &Proc{Name: spec.Name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the exit error once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// CPU is the CPU time (user + system) the process used so far: from /proc while it runs,
// from its rusage once it has exited.
func (p *Proc) CPU() (time.Duration, error) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime(), nil
	default:
	}
	return ProcCPU(p.cmd.Process.Pid)
}

// ProcCPU reads the user + system CPU time of a running process from /proc/PID/stat
// (fields 14 and 15, in clock ticks of 1/100 s, the value of USER_HZ on Linux).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var ticks int64
	for _, v := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// LoadAverage is the one-minute load average (/proc/loadavg), or -1 when unknown.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// Kill sends SIGKILL (a crash: nothing is finished or committed) and waits for the exit.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills. It returns the
// exit error of a process that did not stop cleanly.
func (p *Proc) Stop(timeout time.Duration) error {
	if !p.Running() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s after SIGTERM", p.Name, timeout)
	}
}

// Tail returns the last n lines of the process's log, for failure messages.
func (p *Proc) Tail(n int) string {
	f, err := os.Open(p.Log)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Post is one request the fake Slack received.
type Post struct {
	At   time.Time
	Body []byte
	OK   bool // answered 200 ok
}

// FakeSlack answers like Slack's incoming webhook: 200 "ok", or scripted failures (5xx,
// 429 with Retry-After) while a failure mode is on.
type FakeSlack struct {
	srv *httptest.Server

	mu         sync.Mutex
	posts      []Post
	failStatus int
	retryAfter string
	notify     chan struct{}
}

// NewFakeSlack starts the server; Close stops it.
func NewFakeSlack() *FakeSlack {
	f := &FakeSlack{notify: make(chan struct{}, 1)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the webhook URL to configure (SLACK_WEBHOOK_URL).
func (f *FakeSlack) URL() string { return f.srv.URL + "/services/T000/B000/XXXX" }

// Close stops the server.
func (f *FakeSlack) Close() { f.srv.Close() }

// Fail makes every following POST answer status (with Retry-After when retryAfter is not
// empty and status is 429) until Recover.
func (f *FakeSlack) Fail(status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failStatus, f.retryAfter = status, retryAfter
}

// Recover makes the server answer "ok" again.
func (f *FakeSlack) Recover() { f.Fail(0, "") }

// Posts returns a copy of every request received so far.
func (f *FakeSlack) Posts() []Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Post(nil), f.posts...)
}

// Delivered returns the bodies that were answered "ok".
func (f *FakeSlack) Delivered() []Post {
	var out []Post
	for _, p := range f.Posts() {
		if p.OK {
			out = append(out, p)
		}
	}
	return out
}

// Notify receives a value (coalesced) after each request.
func (f *FakeSlack) Notify() <-chan struct{} { return f.notify }

func (f *FakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	status, retry := f.failStatus, f.retryAfter
	f.posts = append(f.posts, Post{At: time.Now(), Body: body, OK: status == 0})
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
	switch {
	case status == http.StatusTooManyRequests:
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		http.Error(w, "rate_limited", status)
	case status != 0:
		http.Error(w, "internal_error", status)
	default:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	}
}
