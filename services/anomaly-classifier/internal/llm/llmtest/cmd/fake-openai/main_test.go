package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/sashabaranov/go-openai"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The proxy answers chat completions like the in-process fake and reports its calls.
func TestServesChatCompletions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", addr}, out) }()

	cfg := openai.DefaultConfig("x")
	cfg.BaseURL = "http://" + addr + "/v1"
	client := openai.NewClientWithConfig(cfg)
	var resp openai.ChatCompletionResponse
	for range 50 { // the listener may not be up yet
		resp, err = client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "m",
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hello"}}})
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			break
		}
		if err := <-waitUp(addr); err != nil {
			t.Fatal(err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) == 0 {
		t.Fatal("no choices")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "fake-openai: 1 calls") {
		t.Errorf("output %q", out.String())
	}
}

// waitUp dials until addr accepts (or 50 attempts fail).
func waitUp(addr string) <-chan error {
	c := make(chan error, 1)
	var err error
	for range 50 {
		var conn net.Conn
		if conn, err = net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
	}
	c <- err
	return c
}
