package runtime

import (
	"fmt"

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
	if now, serr := c.Status(); serr != nil || now != libcontainer.Stopped {
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
