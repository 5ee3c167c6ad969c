package host

import "golang.org/x/sys/unix"

// LazyPagesUnusable says why CRIU's lazy pages (memory faulted in through
// userfaultfd by `criu lazy-pages`) cannot work here with the criu binary bin
// ("" = criu in PATH); "" = they can.
func LazyPagesUnusable(bin string) string { return LazyPagesUnusableIn("", bin) }

// LazyPagesUnusableIn is LazyPagesUnusable with CRIU's answer remembered in
// stateDir (HasIn): a lazy restore must not pay a `criu check` each time.
func LazyPagesUnusableIn(stateDir, bin string) string {
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if errno != 0 {
		return "the userfaultfd syscall fails: " + errno.Error()
	}
	unix.Close(int(fd))
	if ok, detail := HasIn(stateDir, bin, Uffd); !ok {
		return detail
	}
	return ""
}
