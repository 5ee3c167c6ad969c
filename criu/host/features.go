package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Host features a checkpoint can need at restore, as named in errors and docs.
const (
	Uffd            = "userfaultfd"  // lazy pages: memory arrives through userfaultfd
	TCPRepair       = "TCP repair"   // established TCP connections are rebuilt with TCP_REPAIR
	uffdCriuFeature = "uffd-noncoop" // what `criu check --feature` calls lazy pages' uffd
)

// UffdFix says what to do where Uffd is missing.
const UffdFix = "restore on a kernel with userfaultfd (CONFIG_USERFAULTFD) and `criu check --feature " + uffdCriuFeature + "`"

// Has tells whether this host provides feature (Uffd or TCPRepair), and
// if not, what the probe saw. bin is the criu binary mycr runs
// ("" = criu in PATH). Answers are kept for the life of the process: a
// migration asks before its dump and again at the target's restore.
func Has(bin, feature string) (bool, string) {
	bin = realBinary(bin)
	key := bin + "\x00" + feature
	if v, ok := hostAnswers.Load(key); ok {
		a := v.(hostAnswer)
		return a.ok, a.detail
	}
	var a hostAnswer
	switch feature {
	case Uffd:
		a.ok, a.detail = criuHasFeature(bin, uffdCriuFeature)
	case TCPRepair:
		a.ok, a.detail = tcpRepairWorks()
	default:
		a.detail = "unknown feature " + feature
	}
	hostAnswers.Store(key, a)
	return a.ok, a.detail
}

// realBinary is the criu binary bin names ("" = criu in PATH), symlinks
// resolved: one answer per real binary, however it was named.
func realBinary(bin string) string {
	if bin == "" {
		if p, err := exec.LookPath("criu"); err == nil {
			bin = p
		}
	}
	if p, err := filepath.EvalSymlinks(bin); err == nil {
		bin = p
	}
	return bin
}

type hostAnswer struct {
	ok     bool
	detail string
}

var hostAnswers sync.Map

// criuHasFeature asks `criu check --feature name`; it runs with this
// process's CRIU_FAULT, as every CRIU mycr starts.
func criuHasFeature(bin, name string) (bool, string) {
	if bin == "" {
		bin = "criu"
	}
	msg, err := runCriu(bin, os.Getenv(EnvFault), "check", "--feature", name)
	if err != nil {
		if msg == "" {
			msg = err.Error()
		}
		return false, "`criu check --feature " + name + "` failed: " + firstLine(msg)
	}
	return true, firstLine(msg)
}

// tcpRepairWorks puts a fresh TCP socket into repair mode, which is what CRIU
// does to every established connection it restores.
func tcpRepairWorks() (bool, string) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, "cannot create a TCP socket: " + err.Error()
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1); err != nil {
		return false, "setsockopt(TCP_REPAIR) fails: " + err.Error()
	}
	return true, "TCP_REPAIR works"
}
