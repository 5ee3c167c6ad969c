package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// exportDest is where an archive goes. It is opened before the dump, so that a
// destination that cannot be written (a missing or read-only directory, a pipe
// nobody reads) is found while the container still runs untouched. A file is
// written as DEST.part and renamed at the end: a reader never sees half of it,
// and a failed export leaves nothing at DEST.
type exportDest struct {
	w           io.Writer
	part, final string
	f           *os.File // the .part file; nil for stdout
	image       string   // oci:REF when the file is only staged for a push (exportoci.go)
	writeErr    error    // the first failed write: the cause, whatever the archive writer wraps it in
}

func (d *exportDest) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil && d.writeErr == nil {
		d.writeErr = err
	}
	return n, err
}

func openExportDest(file string) (*exportDest, error) {
	if file == "-" {
		// Without this, a write to a pipe whose reader died kills mycr by
		// SIGPIPE, silently, after the dump; caught, it is an EPIPE error.
		// (Caught, not ignored: an ignored signal stays ignored in CRIU.)
		signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
		if err := stdoutWritable(); err != nil {
			return nil, fmt.Errorf("cannot export to stdout: %w; nothing was checkpointed", err)
		}
		return &exportDest{w: os.Stdout, final: "stdout"}, nil
	}
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return nil, fmt.Errorf("cannot export to %s: it is a directory, name the archive file; nothing was checkpointed", file)
	}
	dir := filepath.Dir(file)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("cannot export to %s: directory %s does not exist; nothing was checkpointed", file, dir)
	}
	part := file + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot export to %s: %w; nothing was checkpointed", file, err)
	}
	return &exportDest{w: f, part: part, final: file, f: f}, nil
}

// stdoutWritable tells a closed stdout or a pipe whose reader is gone (the
// kernel reports POLLERR for it) before anything is dumped.
func stdoutWritable() error {
	fds := []unix.PollFd{{Fd: 1, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil && !errors.Is(err, unix.EINTR) {
		return err
	}
	switch {
	case fds[0].Revents&unix.POLLNVAL != 0:
		return errors.New("stdout is closed")
	case fds[0].Revents&unix.POLLERR != 0:
		return errors.New("stdout is a pipe whose reader has gone")
	}
	return nil
}

// commit makes the written archive appear at its name.
func (d *exportDest) commit() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	if err == nil {
		err = os.Rename(d.part, d.final)
	}
	if err != nil {
		_ = os.Remove(d.part)
	}
	return err
}

// abort removes what a failed export wrote (no-op once committed).
func (d *exportDest) abort() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
		_ = os.Remove(d.part)
	}
}

// exportSource is what the archive needs from the container, read before the
// checkpoint removes it.
type exportSource struct {
	bundle, rootfs string
	readonly       bool
	created        time.Time
	mounts         []string
}
