package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// criuWrapper writes a `criu` that runs the real one except where the shell
// snippet cond decides otherwise (it sees the arguments as "$@"): a host whose
// CRIU or kernel lacks something, or a CRIU step that fails.
func criuWrapper(t *testing.T, e *Env, cond string) string {
	t.Helper()
	real := os.Getenv("MYCR_CRIU")
	if real == "" {
		var err error
		if real, err = exec.LookPath("criu"); err != nil {
			t.Skip("no criu")
		}
	}
	dir := e.Mkdir("criu-wrapper")
	path := filepath.Join(dir, "criu")
	script := fmt.Sprintf("#!/bin/sh\nREAL=%s\n%s\nexec \"$REAL\" \"$@\"\n", real, cond)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// noUffdNoncoop is a CRIU on a kernel without non-cooperative userfaultfd,
// which lazy pages need.
const noUffdNoncoop = `if [ "$1 $2 $3" = "check --feature uffd-noncoop" ]; then echo "uffd-noncoop is not supported" >&2; exit 1; fi`

// migrateWith runs migrate of p with the given criu and extra flags.
func migrateWith(src, dst *Env, criuBin string, p *MemProg, newID string, flags ...string) Result {
	args := []string{"--criu", criuBin, "migrate", "--to-root", dst.Root, "--target-id", newID, "--format", "json"}
	args = append(append(args, flags...), p.ID)
	return src.RunT(5*time.Minute, args...)
}

// imageFlags puts a failing migration's images (kept for a look) under e.Dir,
// removed with the test.
func imageFlags(e *Env) []string {
	return []string{"--image-path", filepath.Join(e.Mkdir("mig"), "src"), "--target-image-path", filepath.Join(e.Mkdir("mig"), "dst")}
}

// expectSourceKept checks a failed migration left the source as it was: the
// same process running and counting with its memory intact, nothing on the target.
func expectSourceKept(t *testing.T, src, dst *Env, p *MemProg, pid int) {
	t.Helper()
	src.ExpectRunningNotPaused(p.ID, pid)
	WaitCounterAbove(t, p.Count, MustCounter(t, p.Count)+3, 10*time.Second)
	src.ExpectMemoryIntact(p, p.ID)
	dst.ExpectNoState("target after a failed migration")
}

// TestMigrateLazyUnavailableFallsBack: where CRIU reports no non-cooperative
// userfaultfd, the default (lazy) migration says so and falls back to
// stop-and-copy, which moves the container intact; with --no-fallback it
// refuses without touching the container.
func TestMigrateLazyUnavailableFallsBack(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	wrapper := criuWrapper(t, src, noUffdNoncoop)
	p := src.StartMemProg("fallback", 256)
	pid := src.MustState(p.ID).Pid

	r := migrateWith(src, dst, wrapper, p, dst.ID("refused"), append(imageFlags(src), "--no-fallback")...)
	if r.Code == 0 {
		t.Fatalf("--no-fallback migrated without lazy pages:\n%s", r)
	}
	expectMentions(t, r, "--no-fallback without lazy pages", "lazy migration cannot work here")
	expectMentions(t, r, "the reason", "uffd-noncoop")
	expectSourceKept(t, src, dst, p, pid)

	r = migrateFallingBack(t, src, dst, wrapper, p, "uffd-noncoop", "falling back to stop-and-copy")
	t.Logf("stop-and-copy (fallback) of 256 MiB: %s", lastLine(r.Stdout))
}

// migrateFallingBack migrates p with the default mode, which must fall back to
// stop-and-copy for reason (in the report) saying msg (on stderr), and checks
// the container moved intact.
func migrateFallingBack(t *testing.T, src, dst *Env, criuBin string, p *MemProg, reason, msg string) Result {
	t.Helper()
	newID := dst.ID("moved")
	before := MustCounter(t, p.Count)
	r := migrateWith(src, dst, criuBin, p, newID)
	if r.Code != 0 {
		t.Fatalf("fallback migration failed:\n%s", r)
	}
	rep := parseMigrateReport(t, r)
	if rep.Mode != "stop-and-copy" || !strings.Contains(rep.FallbackReason, reason) {
		t.Errorf("report: mode %q, fallback reason %q; want stop-and-copy because of %q", rep.Mode, rep.FallbackReason, reason)
	}
	expectMentions(t, r, "the fallback message", msg)
	src.ExpectNoState("source root after the migration")
	dst.ExpectStatus(newID, "running")
	WaitCounterAbove(t, p.Count, before+5, 10*time.Second)
	dst.ExpectMemoryIntact(p, newID)
	return r
}

// TestMigrateLazyDumpFailsFallsBack: a lazy dump that CRIU fails (here: the
// CRIU run for it, recognised by the config file mycr-criu.conf that mycr
// gives only the lazy dump, exits at once) leaves the source running, and mycr falls back to
// stop-and-copy.
func TestMigrateLazyDumpFailsFallsBack(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	wrapper := criuWrapper(t, src, `case "$1 $CRIU_CONFIG_FILE" in "swrk "*/mycr-criu.conf) echo "lazy dump refused" >&2; exit 1;; esac`)
	p := src.StartMemProg("dumpfail", 64)
	migrateFallingBack(t, src, dst, wrapper, p, "lazy migration failed before the switch",
		"the container is running, falling back to stop-and-copy")
}

// TestMigrateLazyFailureKeepsSource: failures after the lazy dump froze the
// source (the target's lazy-pages daemon cannot start; the daemon dies while
// the target already runs and pages are still moving) end with the target
// gone and the source running on with its memory intact.
func TestMigrateLazyFailureKeepsSource(t *testing.T) {
	requireCRIU(t)
	cases := map[string]struct {
		cond      string
		targetRan bool // the failure came after the target had started
	}{
		"daemon-fails": {`if [ "$1" = lazy-pages ]; then echo "lazy-pages refused" >&2; exit 1; fi`, false},
		// The daemon is killed as soon as the target's restore has finished (its
		// restore.log is in the daemon's working directory, the target image dir):
		// 512 MiB take longer to move. A fixed delay raced a restore slowed by a
		// loaded machine, which then failed before the switch instead.
		"daemon-dies": {`if [ "$1" = lazy-pages ]; then "$REAL" "$@" & pid=$!; i=0; ` +
			`while [ $i -lt 1200 ] && ! grep -q "Restore finished successfully" restore.log 2>/dev/null; do sleep 0.1; i=$((i+1)); done; ` +
			`kill -9 $pid; wait $pid; exit 1; fi`, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			src, dst := NewEnv(t), NewEnv(t)
			wrapper := criuWrapper(t, src, tc.cond)
			p := src.StartMemProg("lazyfail", 512)
			pid := src.MustState(p.ID).Pid
			r := migrateWith(src, dst, wrapper, p, dst.ID("moved"), imageFlags(src)...)
			if r.Code == 0 {
				t.Fatalf("migration succeeded without its lazy-pages daemon:\n%s", r)
			}
			expectMentions(t, r, "the failed migration", "still running on the source")
			expectMentions(t, r, "the cause", "lazy-pages")
			if ran := strings.Contains(r.Stderr, "runs on the target"); ran != tc.targetRan {
				t.Errorf("the target ran before the failure: %v, want %v\n%s", ran, tc.targetRan, r)
			}
			expectSourceKept(t, src, dst, p, pid)
		})
	}
}
