package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// stdioScript counts into /out/count and prints each number ("n7") on stdout.
var stdioScript = countAndPrint("echo n$i")

// countAndPrint is a counter script that rewrites /out/count in place, as
// counterScript does (a file renamed away after a --leave-running checkpoint,
// caught open in its image, fails the restore: "Can't open file out/c"; seen
// in CI), and runs print with each number $i.
func countAndPrint(print string) string {
	return `i=0; while true; do i=$((i+1)); echo $i 1<>/out/count; ` + print + `; sleep 0.1; done`
}

// counterBundle makes a bundle running script with a host dir at /out, and
// returns it and the counter file the script writes there.
func (e *Env) counterBundle(script string, opts ...BundleOpt) (bundle, count string) {
	e.t.Helper()
	vol := e.Mkdir("vol")
	return e.NewBundle(append([]BundleOpt{Shell(script), Bind(vol, "/out")}, opts...)...), filepath.Join(vol, "count")
}

// stdioKind is one way a person hands a container its stdio.
type stdioKind struct {
	name     string
	terminal bool // config.json terminal: true, the pty master comes over --console-socket
	open     func(t *testing.T, e *Env) *stdioSink
}

// stdioSink is one instance of a kind: the files a mycr command gets as its
// stdio (or a console socket), and what the container wrote there.
type stdioSink struct {
	kind    string
	files   [3]*os.File // nil: the harness's own pipes
	console *ConsoleSocket
	path    string // file kind: the file; devnull: /dev/null
	mu      sync.Mutex
	buf     bytes.Buffer
}

var stdioKinds = []stdioKind{
	{name: "pipe", open: openPipeSink},
	{name: "file", open: openFileSink},
	{name: "devnull", open: openDevNullSink},
	{name: "console", terminal: true, open: openConsoleSink},
	{name: "terminal", open: openTerminalSink},
}

// openPipeSink: stdin, stdout and stderr are pipes, as a daemon gives them.
func openPipeSink(t *testing.T, e *Env) *stdioSink {
	s := &stdioSink{kind: "pipe"}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inW.Close(); inR.Close(); outR.Close(); outW.Close() })
	s.files = [3]*os.File{inR, outW, outW}
	go s.drain(outR)
	return s
}

// openFileSink is `</dev/null >out.log 2>&1`.
func openFileSink(t *testing.T, e *Env) *stdioSink {
	s := &stdioSink{kind: "file", path: filepath.Join(e.Mkdir("out"), "out.log")}
	out, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	null := openDevNull(t)
	t.Cleanup(func() { out.Close() })
	s.files = [3]*os.File{null, out, out}
	return s
}

// openDevNullSink is `</dev/null >/dev/null 2>&1`: output is only seen as the
// restored process's fd 1 pointing at /dev/null.
func openDevNullSink(t *testing.T, e *Env) *stdioSink {
	null := openDevNull(t)
	return &stdioSink{kind: "devnull", path: os.DevNull, files: [3]*os.File{null, null, null}}
}

// openConsoleSink: a terminal container's pty master arrives on a console socket.
func openConsoleSink(t *testing.T, e *Env) *stdioSink {
	return &stdioSink{kind: "console", console: NewConsoleSocket(t)}
}

// openTerminalSink is a person's terminal: mycr's stdio is a pty the test holds
// the master of (`mycr run -d` typed at a shell prompt).
func openTerminalSink(t *testing.T, e *Env) *stdioSink {
	master, slave := openPty(t)
	s := &stdioSink{kind: "terminal", files: [3]*os.File{slave, slave, slave}}
	go s.drain(master)
	return s
}

func openDevNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func (s *stdioSink) drain(f *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := f.Read(b)
		s.mu.Lock()
		s.buf.Write(b[:n])
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// args are the flags a run or restore needs for this sink.
func (s *stdioSink) args() []string {
	if s.console != nil {
		return []string{"--console-socket", s.console.Path}
	}
	return nil
}

// started is called once the command ran: a console master is read from then on.
func (s *stdioSink) started(t *testing.T) {
	if s.console != nil {
		go s.drain(s.console.Master(t, defaultTimeout))
	}
}

// run runs mycr with this sink as its stdio (what a shell's redirections do).
func (s *stdioSink) run(e *Env, args ...string) Result {
	e.t.Helper()
	return e.start(Stdio{}, func(c *exec.Cmd) {
		if s.files[0] != nil {
			c.Stdin, c.Stdout, c.Stderr = s.files[0], s.files[1], s.files[2]
		}
	}, args...).Wait(defaultTimeout)
}

var countRe = regexp.MustCompile(`n(\d+)`)

// text is everything written into the sink.
func (s *stdioSink) text() string {
	if s.kind == "file" {
		b, _ := os.ReadFile(s.path)
		return string(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// numbers are the counter values the container printed into the sink.
func (s *stdioSink) numbers() []int {
	var nums []int
	for _, m := range countRe.FindAllStringSubmatch(s.text(), -1) {
		n, _ := strconv.Atoi(m[1])
		nums = append(nums, n)
	}
	return nums
}

// max is the highest counter value printed into the sink (0: none).
func (s *stdioSink) max() int {
	m := 0
	for _, n := range s.numbers() {
		m = max(m, n)
	}
	return m
}

// observable tells whether the sink keeps what the container writes.
func (s *stdioSink) observable() bool { return s.kind != "devnull" }
