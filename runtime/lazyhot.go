package runtime

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/image"
)

// A lazy restore serves each page a service touches first with one page fault
// through the lazy-pages daemon (~70 µs each here): a JVM answering its first
// query after a restore faults on hundreds of pages. restore --lazy
// --record-hot-pages learns them from the daemon's log and marks them in the
// images, so later lazy restores of the same checkpoint load them with the
// rest of the non-lazy state, before the service runs (image.MarkEager).

// canRecordHot refuses --record-hot-pages where it cannot work, before
// anything starts.
func canRecordHot(o *RestoreOpts) error {
	if o.Lazy == nil || !o.Lazy.RecordHot {
		return nil
	}
	if o.Import != "" {
		return errors.New("--record-hot-pages marks pages in an image directory, and an imported archive's images are removed after the restore: restore with --image-path from an unpacked checkpoint (mycr checkpoint --image-path, or unpack the archive)")
	}
	dir := o.Criu.ImagesDirectory
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("--record-hot-pages rewrites the pagemaps in %s, which is not writable (%v): restore from a writable copy of the images, or without --record-hot-pages", dir, err)
	}
	return nil
}

// markHot marks the pages the daemon (its log at logPath) served on a fault
// as eager in the images, process by process; it returns how many.
func markHot(images, logPath string) (int, error) {
	faults, err := criu.LazyFaults(logPath)
	if err != nil {
		return 0, fmt.Errorf("read the pages the container faulted on: %w", err)
	}
	pids := make([]int, 0, len(faults))
	for pid := range faults {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	total := 0
	for _, pid := range pids {
		n, err := image.MarkEager(images, pid, faults[pid])
		total += n
		if err != nil {
			return total, fmt.Errorf("mark the hot pages of process %d in %s: %w (the images still restore: its pagemap was not replaced)", pid, images, err)
		}
	}
	return total, nil
}
