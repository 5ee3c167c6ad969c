package migrate

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

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
// when CRIU has no CAP_SYS_RESOURCE; undo puts the old value back once no other
// migration needs it (pipeshare.go); note is "" when nothing was changed.
func raisePipeMaxSize() (undo func(), note string, err error) {
	if hasCap(capSysResource) {
		return func() {}, "", nil
	}
	return pipeShare{sysctl: pipeMaxSizeSysctl, dir: pipeShareDir}.raise(lazyPipeSize)
}

func readPipeMaxSize() (int, error) { return readIntFile(pipeMaxSizeSysctl) }

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
