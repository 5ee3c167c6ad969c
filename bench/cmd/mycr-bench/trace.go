package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The tracer listens to the kernel's process events connector (fork, exec, exit of
// every process, with CLOCK_MONOTONIC timestamps). Unlike strace it costs the traced
// runtime nothing and does not ptrace it, so CRIU (which must ptrace) runs as usual.
// From these events the breakdown tells when the runtime started CRIU, how often,
// which tools CRIU ran, and how long each part took.

const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procEventFork     = 0x1
	procEventExec     = 0x2
	procEventExit     = 0x80000000
)

type procEvent struct {
	Mono   int64 // CLOCK_MONOTONIC ns
	Kind   string
	Pid    int // process (tgid)
	Parent int // for fork: the parent's tgid
	Cmd    string
}

type tracer struct {
	fd     int
	mu     sync.Mutex
	events []procEvent
	lost   int
	on     bool
}

func startTracer() (*tracer, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: uint32(os.Getpid())}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// nlmsghdr + cn_msg + op
	msg := make([]byte, 16+20+4)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	binary.LittleEndian.PutUint32(msg[12:], uint32(os.Getpid()))
	binary.LittleEndian.PutUint32(msg[16:], cnIdxProc)
	binary.LittleEndian.PutUint32(msg[20:], cnValProc)
	binary.LittleEndian.PutUint16(msg[32:], 4)
	binary.LittleEndian.PutUint32(msg[36:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	t := &tracer{fd: fd}
	go t.loop()
	return t, nil
}

func (t *tracer) loop() {
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(t.fd, buf, 0)
		if err == unix.ENOBUFS {
			t.mu.Lock()
			t.lost++
			t.mu.Unlock()
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for off := 0; off+16 <= n; {
			l := int(binary.LittleEndian.Uint32(buf[off:]))
			if l < 16 || off+l > n {
				break
			}
			t.parse(buf[off+16 : off+l])
			off += (l + 3) &^ 3
		}
	}
}

func (t *tracer) parse(b []byte) {
	if len(b) < 20+16 {
		return
	}
	ev := b[20:]
	what := binary.LittleEndian.Uint32(ev[0:])
	ts := int64(binary.LittleEndian.Uint64(ev[8:]))
	d := ev[16:]
	u32 := func(i int) int {
		if len(d) < i*4+4 {
			return 0
		}
		return int(binary.LittleEndian.Uint32(d[i*4:]))
	}
	var e procEvent
	switch what {
	case procEventFork:
		if u32(2) != u32(3) { // a thread
			return
		}
		e = procEvent{Mono: ts, Kind: "fork", Pid: u32(3), Parent: u32(1)}
	case procEventExec:
		e = procEvent{Mono: ts, Kind: "exec", Pid: u32(1)}
	case procEventExit:
		if u32(0) != u32(1) {
			return
		}
		e = procEvent{Mono: ts, Kind: "exit", Pid: u32(1)}
	default:
		return
	}
	t.mu.Lock()
	on := t.on
	t.mu.Unlock()
	if !on {
		return
	}
	if e.Kind == "exec" {
		e.Cmd = cmdline(e.Pid) // read at once: short-lived tools are gone soon
	}
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

func cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		c, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		return "[" + strings.TrimSpace(string(c)) + "]"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// record turns event collection on, runs fn, waits for stragglers and returns the
// events of the process tree rooted at the pid fn reports.
func (t *tracer) record(fn func() (Result, error)) (Result, []procEvent, error) {
	t.mu.Lock()
	t.events, t.on = t.events[:0], true
	t.mu.Unlock()
	res, err := fn()
	sleepMs(30)
	t.mu.Lock()
	t.on = false
	evs := append([]procEvent(nil), t.events...)
	t.mu.Unlock()
	return res, treeOf(res.Pid, evs), err
}

// treeOf keeps the events of root and its descendants (pids joined at fork).
func treeOf(root int, evs []procEvent) []procEvent {
	in := map[int]bool{root: true}
	var out []procEvent
	for _, e := range evs {
		switch {
		case e.Kind == "fork" && in[e.Parent]:
			in[e.Pid] = true
			out = append(out, e)
		case e.Kind != "fork" && in[e.Pid]:
			out = append(out, e)
		}
	}
	return out
}

// run is one exec'd program of a traced tree: from its exec to its exit.
type run struct {
	Pid        int
	Cmd        string
	Exec, Exit int64
	Parent     int
	Reexec     bool // the same pid exec'd again later (runc init -> container process)
	Second     bool // this is such a later exec
}

func (r run) name() string {
	f := strings.Fields(r.Cmd)
	if len(f) == 0 {
		return "?"
	}
	b := f[0][strings.LastIndex(f[0], "/")+1:]
	if len(f) > 1 && (b == "runc" || b == "mycr" || b == "crun" || b == "criu") {
		return b + " " + f[1]
	}
	return b
}

// runsOf lists the programs exec'd in the tree, in exec order, with parent pids.
func runsOf(evs []procEvent) []run {
	parent := map[int]int{}
	idx := map[int]int{}
	var runs []run
	for _, e := range evs {
		switch e.Kind {
		case "fork":
			parent[e.Pid] = e.Parent
		case "exec":
			second := false
			if i, ok := idx[e.Pid]; ok { // a second exec of the same pid (runc init -> container process)
				runs[i].Exit, runs[i].Reexec, second = e.Mono, true, true
			}
			idx[e.Pid] = len(runs)
			runs = append(runs, run{Pid: e.Pid, Cmd: e.Cmd, Exec: e.Mono, Parent: parent[e.Pid], Second: second})
		case "exit":
			if i, ok := idx[e.Pid]; ok && runs[i].Exit == 0 {
				runs[i].Exit = e.Mono
			}
		}
	}
	return runs
}

func (t *tracer) String() string { return fmt.Sprintf("tracer(lost=%d)", t.lost) }
