package runtime

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/criu"
)

// checkpointFailed words the error of a failed checkpoint after what became of
// the container. Usually it is as it was (running or paused). But CRIU can fail
// after the dump was complete and it had ended the processes (the images hold
// them), or be killed while its code was injected in the processes (compel's
// syscall and parasite injection), which they do not survive.
func checkpointFailed(c *libcontainer.Container, id string, was libcontainer.Status, imageDir string, err error, logPath string) error {
	err = criu.Explain(err, logPath)
	now, serr := c.Status()
	if serr == nil && now != libcontainer.Stopped && criuEndedAbruptly(logPath) {
		// Processes a killed CRIU left with injected code die on its trap once
		// thawed: give them the moment that takes before saying they run.
		now, serr = waitStopped(c, time.Second)
	}
	if serr != nil || now != libcontainer.Stopped {
		return fmt.Errorf("checkpoint of %s failed, the container is still %s: %w", id, was, err)
	}
	if imagesComplete(imageDir) {
		return fmt.Errorf("checkpoint of %s failed after the dump was complete: CRIU had already ended the container's processes, "+
			"and the images in %s hold them: `mycr delete %s`, then `mycr restore --image-path %s %s`: %w", id, imageDir, id, imageDir, id, err)
	}
	return fmt.Errorf("checkpoint of %s failed and the container's processes died: CRIU stopped (killed?) while its code was "+
		"injected in them, which they cannot survive (the kernel log says \"trap int3\"); the images in %s are incomplete, "+
		"so the container cannot be restored; `mycr delete %s` removes it: %w", id, imageDir, id, err)
}

// criuEndedAbruptly tells whether CRIU's dump log lacks its verdict: CRIU was
// killed (by the watchdog or anyone) instead of failing by itself, which it
// does only after taking its code out of the processes.
func criuEndedAbruptly(logPath string) bool {
	f, err := os.Open(logPath)
	if err != nil {
		return true
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 64<<10 {
		_, _ = f.Seek(-64<<10, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return !strings.Contains(string(b), "Dumping FAILED") && !strings.Contains(string(b), "Dumping finished successfully")
}

// waitStopped polls c's status until it is stopped or limit passed.
func waitStopped(c *libcontainer.Container, limit time.Duration) (libcontainer.Status, error) {
	deadline := time.Now().Add(limit)
	for {
		now, err := c.Status()
		if err != nil || now == libcontainer.Stopped || time.Now().After(deadline) {
			return now, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
