package runtime

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuardWaiter: the shell waiter runs its command when the pipe closes only
// if the record is still there (mycr died), and ends quietly otherwise.
func TestGuardWaiter(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	record := filepath.Join(t.TempDir(), "id.json")
	for _, left := range []bool{true, false} {
		if left {
			os.WriteFile(record, []byte("{}"), 0o600)
		} else {
			os.Remove(record)
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", guardWaiter, "mycr-guard", record, "/bin/echo", "repair")
		cmd.ExtraFiles = []*os.File{pr}
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pr.Close()
		pw.Close()
		cmd.Wait()
		if got := strings.TrimSpace(out.String()); (got == "repair") != left {
			t.Errorf("record left %v: the waiter printed %q", left, got)
		}
	}
}

// TestGuardRecordsOutcome: a guard handles only its own process's record,
// writes what it found into it, and the next command reports and removes it.
func TestGuardRecordsOutcome(t *testing.T) {
	r := lockRoot(t)
	img := t.TempDir()
	os.WriteFile(filepath.Join(img, "inventory.img"), nil, 0o600)
	path := r.intentPath("c1")
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := writeIntent(path, intent{Op: "checkpoint", Pid: 4242, PidStart: "1", ImageDir: img}); err != nil {
		t.Fatal(err)
	}
	if r.recoverAs("c1", 4343) {
		t.Error("a guard of another process waits on the record")
	}
	if in := readIntent(t, path); in.Outcome != "" {
		t.Fatalf("a guard of another process changed the record: %+v", in)
	}
	if r.recoverAs("c1", 4242) {
		t.Error("the guard waits although no container is left")
	}
	in := readIntent(t, path)
	if !strings.Contains(in.Outcome, img) || !strings.Contains(in.Outcome, "was interrupted") {
		t.Fatalf("the guard's outcome does not name the images %s: %q", img, in.Outcome)
	}
	r.Recover("c1")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the record is left after the next command reported it: %v", err)
	}
}

func readIntent(t *testing.T, path string) intent {
	t.Helper()
	var in intent
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in
}
