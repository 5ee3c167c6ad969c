package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgressBarLine(t *testing.T) {
	for _, c := range []struct {
		what              string
		written, expected int64
		want              string
	}{
		{"checkpoint web1", 50 << 20, 100 << 20, "checkpoint web1 [==========          ]  50% 50MiB / ~100MiB"},
		{"checkpoint web1", 300 << 20, 100 << 20, "checkpoint web1 [====================] 100% 300MiB / ~100MiB"},
		{"checkpoint web1", 2048, 0, "checkpoint web1: 2KiB written"},
		{"checkpoint " + strings.Repeat("a", 64), 0, 1, "checkpoint aaaaaaaaaa... [                    ]   0% 0B / ~1B"},
	} {
		if got := progressLine(c.what, c.written, c.expected); got != c.want {
			t.Errorf("progressLine(%q, %d, %d)\n got %q\nwant %q", c.what, c.written, c.expected, got, c.want)
		}
		if n := len(progressLine(c.what, 1023<<20, 1023<<20)); n > 80 {
			t.Errorf("line of %d columns", n)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
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

func TestStartProgress(t *testing.T) {
	oldDelay, oldTick := progressDelay, progressTick
	t.Cleanup(func() { progressDelay, progressTick = oldDelay, oldTick })
	dir := t.TempDir()

	// A dump shorter than the delay draws nothing.
	var quick syncBuffer
	startProgress(&quick, "checkpoint q", dir, 100)()
	if quick.String() != "" {
		t.Errorf("a short dump drew %q", quick.String())
	}

	progressDelay, progressTick = 0, 5*time.Millisecond
	var out syncBuffer
	stop := startProgress(&out, "checkpoint c", dir, 8192)
	if err := os.WriteFile(filepath.Join(dir, "pages-1.img"), make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "50% 4KiB / ~8KiB") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	s := out.String()
	if !strings.Contains(s, "\r\033[Kcheckpoint c [") || !strings.Contains(s, "50% 4KiB / ~8KiB") {
		t.Errorf("no bar redrawn in place: %q", s)
	}
	if !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("the bar is not erased at the end: %q", s)
	}
	if strings.Contains(s, "\n") {
		t.Errorf("the bar scrolls: %q", s)
	}
}
