package migrate

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// CRIU's lazy page server sizes its tee pipe to PIPE_MAX_SIZE pages, which the
// kernel rounds to 4 MiB (criu/page-pipe.c pipe_read_dest_init). Beyond
// fs.pipe-max-size (1 MiB by default) that needs CAP_SYS_RESOURCE, which some
// hosts' capability bounding set lacks. CRIU does not check the failure: it
// serves with an unopened sink fd and the first page request fails with
// "page-pipe: splice: -1: Bad file descriptor", after the target was restored.
const (
	lazyPipeSize      = 4 << 20
	pipeMaxSizeSysctl = "/proc/sys/fs/pipe-max-size"
	capSysResource    = 24
)

// pipeSizeMu serialises raising and restoring the sysctl within this process.
var pipeSizeMu sync.Mutex

// lazyPipeProblem says why CRIU's lazy page server cannot get its pipe and mycr
// cannot fix that ("" = it can, possibly after raisePipeMaxSize).
func lazyPipeProblem() string {
	if hasCap(capSysResource) {
		return ""
	}
	cur, err := readPipeMaxSize()
	return pipeSizeProblem(cur, err, func() error { return unix.Access(pipeMaxSizeSysctl, unix.W_OK) })
}

// pipeSizeProblem is lazyPipeProblem's decision without CAP_SYS_RESOURCE, from
// fs.pipe-max-size (cur, or readErr) and whether the sysctl can be written.
func pipeSizeProblem(cur int, readErr error, writable func() error) string {
	if readErr != nil {
		return "cannot read " + pipeMaxSizeSysctl + ": " + readErr.Error()
	}
	if cur >= lazyPipeSize {
		return ""
	}
	if err := writable(); err != nil {
		return fmt.Sprintf("CRIU's lazy page server needs a %d-byte pipe: fs.pipe-max-size is %d, CAP_SYS_RESOURCE is not available and %s is not writable (%v)",
			lazyPipeSize, cur, pipeMaxSizeSysctl, err)
	}
	return ""
}

// raisePipeMaxSize lifts fs.pipe-max-size to what CRIU's lazy page server needs
// when CRIU has no CAP_SYS_RESOURCE. undo puts the old value back unless
// someone changed it meanwhile; note is "" when nothing was changed.
func raisePipeMaxSize() (undo func(), note string, err error) {
	undo = func() {}
	if hasCap(capSysResource) {
		return undo, "", nil
	}
	pipeSizeMu.Lock()
	defer pipeSizeMu.Unlock()
	old, err := readPipeMaxSize()
	if err != nil {
		return undo, "", err
	}
	if old >= lazyPipeSize {
		return undo, "", nil
	}
	if err := writePipeMaxSize(lazyPipeSize); err != nil {
		return undo, "", fmt.Errorf("raise fs.pipe-max-size to %d for CRIU's lazy page server: %w", lazyPipeSize, err)
	}
	note = fmt.Sprintf("raised fs.pipe-max-size from %d to %d for CRIU's lazy page server (no CAP_SYS_RESOURCE here); it is put back afterwards", old, lazyPipeSize)
	var once sync.Once
	return func() {
		once.Do(func() {
			pipeSizeMu.Lock()
			defer pipeSizeMu.Unlock()
			if cur, err := readPipeMaxSize(); err == nil && cur == lazyPipeSize {
				_ = writePipeMaxSize(old)
			}
		})
	}, note, nil
}

func readPipeMaxSize() (int, error) {
	b, err := os.ReadFile(pipeMaxSizeSysctl)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func writePipeMaxSize(n int) error {
	return os.WriteFile(pipeMaxSizeSysctl, []byte(strconv.Itoa(n)+"\n"), 0o644)
}

// hasCap tells whether this process (and so the CRIU it runs) has capability c.
func hasCap(c uint) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<c) != 0
		}
	}
	return false
}
