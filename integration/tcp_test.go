package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestoreTCP: the test program's listener and its one established loopback
// connection (inside the container's own network namespace) survive checkpoint and
// restore with --tcp-established (through the netns fast path: loopback comes back
// up); a checkpoint without the flag fails and leaves
// the container running.
func TestRestoreTCP(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	id, bundle, replies, pid := startNetprog(t, e, "tcp")
	probe(t, e, id)

	t.Run("without-tcp-established", func(t *testing.T) {
		img := filepath.Join(e.Dir, "image-refused")
		r := e.MustFail("checkpoint", "--image-path", img, id)
		if !strings.Contains(strings.ToLower(r.Stderr), "tcp") {
			t.Errorf("checkpoint of an established TCP connection without --tcp-established: the error should say why (mention TCP)\n%s", r)
		}
		e.ExpectRunningNotPaused(id, pid)
		n := lastReply(t, replies)
		waitReplies(t, replies, n+3)
	})

	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(id, img, "--tcp-established")
	// Only lo, up, in its own netns: CRIU skips the netns (fast path) and the
	// restore must bring lo up before the sockets on 127.0.0.1 come back.
	if got := metaNetns(t, img); got != "empty-lo-up" {
		t.Errorf("checkpoint metadata netns = %q, want \"empty-lo-up\"", got)
	}
	e.ExpectCheckpointedAway(id, pid)
	last := lastReply(t, replies)

	e.RestoreDetached(id, bundle, img, "--tcp-established")
	waitReplies(t, replies, last+10)
	expectLogSequence(t, replies)
	probe(t, e, id)
	expectLoUp(t, e, id)
}

// startNetprog runs the test program in a container: a listener on
// 127.0.0.1:7777 in the container's netns and one established connection to it,
// a reply counted in the returned file each round; it waits for 5 replies.
func startNetprog(t *testing.T, e *Env, name string) (id, bundle, replies string, pid int) {
	t.Helper()
	vol := e.Mkdir("vol")
	replies = filepath.Join(vol, "replies")
	bundle = e.NewBundle(WithNetprog(), Bind(vol, "/out"),
		Args("/bin/netprog", "-addr", "127.0.0.1:7777", "-out", "/out/replies"))
	id = e.ID(name)
	e.MustRun("run", "-d", "--bundle", bundle, id)
	pid = e.WaitStatus(id, "running", 5*time.Second).Pid
	waitReplies(t, replies, 5)
	return id, bundle, replies, pid
}

// probe connects to the listener from inside the container (exec).
func probe(t *testing.T, e *Env, id string) {
	t.Helper()
	r := e.Run("exec", id, "/bin/netprog", "-probe", "127.0.0.1:7777")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "probe ok" {
		t.Errorf("a new connection to the container's listener failed:\n%s", r)
	}
}

// lastReply is the reply count in the file; errors written by netprog fail the test.
func lastReply(t *testing.T, path string) int {
	t.Helper()
	n, other, err := LastLineInt(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(other) > 0 {
		t.Fatalf("the test program reported: %q", other)
	}
	return n
}

// waitReplies waits until the reply count passes n (and fails early on an error line).
func waitReplies(t *testing.T, path string, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("more than %d replies in %s", n, path), func() (bool, string) {
		last, other, err := LastLineInt(path)
		if err != nil {
			return false, err.Error()
		}
		if len(other) > 0 {
			t.Fatalf("the test program reported: %q", other)
		}
		return last > n, fmt.Sprintf("%d replies", last)
	})
}
