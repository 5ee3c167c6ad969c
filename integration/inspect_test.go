package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// inspected is the part of `mycr inspect --format json` the tests read.
type inspected struct {
	Meta      struct{ ID string } `json:"meta"`
	Processes []struct {
		PID     uint32
		Comm    string
		Cmdline string
		Env     []string
	} `json:"processes"`
	Files []struct {
		PID   uint32 `json:"pid"`
		Files []struct{ Fd, Path string }
	} `json:"files"`
	Sockets []struct {
		PID     uint32 `json:"pid"`
		Sockets []struct {
			Protocol, State string
			SrcPort         uint32 `json:"src_port"`
		}
	} `json:"sockets"`
}

// TestInspectCheckpoint: a process holding a known file, a listening socket and a
// known string in memory shows up in `mycr inspect` with exactly those facts, from
// an image dir and from an archive; corrupt images give an error, not a panic.
func TestInspectCheckpoint(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	vol := e.Mkdir("vol")
	bundle := e.NewBundle(WithNetprog(), Bind(vol, "/out"), Shell(
		`SECRET=hunter2-42; exec 3</etc/passwd; /bin/netprog -addr 127.0.0.1:7777 -out /out/replies & while true; do sleep 1; done`),
		Edit(func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "TOKEN=tok-99") }))
	id := e.ID("inspect")
	e.MustRun("run", "-d", "--bundle", bundle, id)
	waitReplies(t, filepath.Join(vol, "replies"), 2)
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(id, img, "--leave-running", "--tcp-established")
	time.Sleep(1500 * time.Millisecond) // the shell's `sleep 1` child is replaced meanwhile
	archive := filepath.Join(e.Dir, "ck.tar.zst")
	e.MustRun("checkpoint", "--leave-running", "--tcp-established", "--export", archive, id)

	for _, src := range []string{img, archive} {
		var in inspected
		out := e.MustRun("inspect", "--ps", "--files", "--sockets", "--env", "--format", "json", src)
		if err := json.Unmarshal([]byte(out.Stdout), &in); err != nil {
			t.Fatalf("inspect %s: not JSON: %v\n%s", src, err, out)
		}
		if in.Meta.ID != id {
			t.Errorf("%s: metadata id %q, want %q", src, in.Meta.ID, id)
		}
		var sh, token bool
		for _, p := range in.Processes {
			sh = sh || (p.Comm == "sh" && strings.Contains(p.Cmdline, "SECRET=hunter2-42"))
			for _, v := range p.Env {
				token = token || v == "TOKEN=tok-99"
			}
		}
		if !sh || !token {
			t.Errorf("%s: want sh with its cmdline and TOKEN in its environment, got %+v", src, in.Processes)
		}
		var passwd bool
		for _, fd := range in.Files {
			for _, f := range fd.Files {
				passwd = passwd || (f.Fd == "3" && f.Path == "/etc/passwd")
			}
		}
		if !passwd {
			t.Errorf("%s: fd 3 -> /etc/passwd not listed: %+v", src, in.Files)
		}
		var listen bool
		for _, sk := range in.Sockets {
			for _, s := range sk.Sockets {
				listen = listen || (s.SrcPort == 7777 && strings.Contains(strings.ToUpper(s.State), "LISTEN"))
			}
		}
		if !listen {
			t.Errorf("%s: no listening socket on port 7777: %+v", src, in.Sockets)
		}
		hits := e.MustRun("inspect", "--search", "hunter2-42", src).Stdout
		if !strings.Contains(hits, "(sh) at 0x") {
			t.Errorf("%s: memory search did not find the string in sh:\n%s", src, hits)
		}
	}

	// Two checkpoints of the same container: the shell's sleep child was replaced.
	diff := e.MustRun("inspect", "--diff", img, archive).Stdout
	if !strings.Contains(diff, "process pid") {
		t.Errorf("inspect --diff shows no process change between two checkpoints:\n%s", diff)
	}
	if out := e.MustRun("inspect", "--ps", img).Stdout; !strings.Contains(out, "namespaces") || !strings.Contains(out, "net:") {
		t.Errorf("inspect --ps shows no namespaces:\n%s", out)
	}

	// Corrupt images: a truncated process tree.
	bad := filepath.Join(e.Dir, "bad")
	e.Checkpoint(id, bad, "--leave-running", "--tcp-established")
	if err := os.Truncate(filepath.Join(bad, "pstree.img"), 6); err != nil {
		t.Fatal(err)
	}
	r := e.MustFail("inspect", bad)
	if strings.Contains(r.Stderr, "panic") || !strings.Contains(r.Stderr, bad) {
		t.Errorf("corrupt image: want a clear error naming %s, got:\n%s", bad, r)
	}
	e.MustFail("inspect", filepath.Join(e.Dir, "no-such-dir"))
}
