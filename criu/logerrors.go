package criu

import (
	"bufio"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
)

// maxErrorLines is how many CRIU "Error" lines Explain quotes.
const maxErrorLines = 5

// hint maps a CRIU log line pattern to advice. Each pattern was provoked
// with CRIU 4.2.1 (see logerrors_test.go) unless its comment says otherwise.
type hint struct {
	re   *regexp.Regexp
	text string
}

// The patterns compile on first use: every mycr process (and the container's
// `mycr init`) would otherwise pay for them at start-up.
var hints = sync.OnceValue(func() []hint {
	return []hint{
		{regexp.MustCompile(`tty: Found slave peer|is not a session leader|A session leader of .* is outside of its pid namespace`),
			"the process uses a terminal (tty) or session outside the checkpoint: checkpoint and restore with --shell-job, or run it without a terminal"},
		// "found in image" is the restore-side text (from the criu binary, not provoked).
		{regexp.MustCompile(`External socket is used|External socket found in image`),
			"a unix socket is connected to a process outside the checkpoint: checkpoint with --ext-unix-sk (the peer must exist again at restore)"},
		// Provoked by integration/fault_extunix_test.go: stdout a host socketpair end
		// ("not found"), a socket connected to a host socket ("without peer").
		{regexp.MustCompile(`unix: Unix socket \d+ (not found|without peer)`),
			"a process holds a unix socket CRIU cannot see from the container's network namespace (e.g. stdio handed over as a socket by the host): CRIU cannot dump it, even with --ext-unix-sk; give the container pipes or files instead"},
		{regexp.MustCompile(`Can't dump half of stream unix connection`),
			"a stream unix socket's peer is outside the checkpoint, which CRIU cannot save even with --ext-unix-sk: put both ends in the container or close the connection"},
		{regexp.MustCompile(`Connected TCP socket`),
			"an established TCP connection: checkpoint and restore with --tcp-established"},
		// A dump to --page-server ADDR nobody listens on (CRIU then fails on
		// "Unable to detach"). Provoked by integration/pageserver_test.go.
		{regexp.MustCompile(`^Can't connect to server (\S+)`),
			"cannot connect to the page server at $1: start `criu page-server` there (it serves one dump, then exits) or correct --page-server"},
		{regexp.MustCompile(`No space left on device`),
			"a filesystem is full (usually the image directory): free space or use another --image-path, then retry"},
		{regexp.MustCompile(`Can't fork for \d+: File exists`),
			"a process with a checkpointed PID still exists (the original, or a previous restore not yet reaped): stop and delete it, wait until it is gone, and retry"},
		{regexp.MustCompile(`Tracking memory is not available|Dirty tracking is OFF|BUG at criu/mem\.c`),
			"this kernel has no soft-dirty memory tracking, so pre-dump and --track-mem cannot work: do a plain checkpoint"},
		// Go >= 1.24 listens with MPTCP by default; seen with the integration tests' Go program.
		{regexp.MustCompile(`Unsupported proto 262`),
			"a socket uses MPTCP (Go >= 1.24 programs do by default), which CRIU cannot dump: run the program with GODEBUG=multipathtcp=0"},
		{regexp.MustCompile(`mnt: Can't create a temporary directory: Read-only file system`),
			"CRIU restores a read-only root through a directory /tmp in it, and the rootfs has none mycr could make (/tmp is not a directory, or the rootfs is read-only on the host too): make rootfs/tmp a directory and retry"},
		// Restore: a file the processes had open ("." is a root or working
		// directory) has another type or mode than at checkpoint.
		{regexp.MustCompile(`File .* has bad mode`),
			"a file the processes had open (\".\" is their root or working directory) has other permissions than at checkpoint: " +
				"restore onto the same, unchanged rootfs and volumes, or chmod it back to the mode CRIU expects (in octal in the error)"},
		// Restore: a file the processes had open is gone or was rewritten since
		// the checkpoint (provoked by a --leave-running checkpoint of a shell
		// caught in `echo > c; mv c count`: the original renamed c away; "bad
		// size" is from the source, not provoked).
		{regexp.MustCompile(`Can't open file (\S+) on restore: No such file|File (\S+) has bad size`),
			"a file the processes had open at checkpoint ($1$2, below its mount) is gone or changed size since: after a --leave-running checkpoint the original may have renamed, deleted or rewritten it; " +
				"restore onto the same, unchanged files and volumes, or checkpoint without --leave-running (the container then stops at the checkpoint)"},
		{regexp.MustCompile(`CRIU_FAULT out of bounds`),
			"CRIU rejects the CRIU_FAULT in the environment: unset it, or use 130 (no hardware breakpoints)"},
		// Texts of libcontainer's version checks and of CRIU's missing-feature
		// errors (from the sources and the criu binary; not provoked: CRIU and the
		// kernel here are new enough). Warnings alike are not fatal: Error lines only.
		{regexp.MustCompile(`CRIU version \d+ must be|criu lacks support|criu is missing features|Unknown feature|` +
			`^Error \(.*(doesn't support|(is|are) not supported|isn't supported)`),
			"CRIU or the kernel lacks a needed feature: run `mycr check`, and install CRIU >= 4.2 with `make deps`"},
	}
})

// benign CRIU errors that also appear in successful runs and would only hide
// the real cause (CRIU cannot raise its fd limit above nr_open; harmless).
var benign = lazyRegexp(`Can't setup RLIMIT_NOFILE`)

// msgPrefix drops CRIU's "(00.041452) " line prefix (tsPrefix), the
// "pie: 123: " of lines the parasite or restorer blob wrote and the "     1: "
// of lines a restored task wrote (restore errors mostly come from there).
var msgPrefix = lazyRegexp(`^(\(\s*\d+\.\d+\)\s*)?(pie: )?(\d+: )?`)

// aftermath are Error lines CRIU writes after the cause, whatever the cause:
// its verdict, and the cgroup daemon that lost its peer when the restore
// failed, and compel finding gone a task CRIU had already let go of. They are
// quoted only when the log has nothing else.
var aftermath = lazyRegexp(`^Error \(.*\): (Restoring|Dumping) FAILED|cgroupd: recv req error|Unable to detach from \d+: No such process`)

// infoCause are causes CRIU logs without "Error": quoted as if they had it.
var infoCause = lazyRegexp(`^Can't connect to server `)

// ExplainedError is a failed CRIU run with what its log says about it.
type ExplainedError struct {
	Err     error
	LogPath string
	Errors  []string // first Error lines of the log, timestamps stripped
	Hints   []string
}

func (e *ExplainedError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString("\nCRIU log: " + e.LogPath)
	for _, l := range e.Errors {
		b.WriteString("\n  " + l)
	}
	for _, h := range e.Hints {
		b.WriteString("\nhint: " + h)
	}
	return b.String()
}

func (e *ExplainedError) Unwrap() error { return e.Err }

// Explain wraps err, from a failed CRIU run whose log is logPath, with the
// log's first Error lines, its path, and hints for known causes. If the log
// cannot be read, err is returned unchanged.
func Explain(err error, logPath string) error {
	if err == nil {
		return nil
	}
	f, oerr := os.Open(logPath)
	if oerr != nil {
		return err
	}
	defer f.Close()
	e := &ExplainedError{Err: err, LogPath: logPath}
	seen := map[string]bool{}
	addHint := func(h string) {
		if !seen[h] {
			seen[h] = true
			e.Hints = append(e.Hints, h)
		}
	}
	match := func(l string) {
		for _, h := range hints() {
			if m := h.re.FindStringSubmatchIndex(l); m != nil {
				addHint(string(h.re.ExpandString(nil, h.text, l, m))) // $1: what the line names
			}
		}
	}
	match(err.Error()) // libcontainer reports version problems in err itself
	var after []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := msgPrefix().ReplaceAllString(sc.Text(), "")
		isErr := strings.HasPrefix(l, "Error (") || infoCause().MatchString(l)
		switch {
		case !isErr || benign().MatchString(l):
		case aftermath().MatchString(l):
			after = append(after, l)
		case len(e.Errors) < maxErrorLines:
			e.Errors = append(e.Errors, l)
		}
		if isErr || strings.HasPrefix(l, "Warn") { // -v4 logs are long: skip info lines
			match(l)
		}
	}
	if len(e.Errors) == 0 {
		e.Errors = after[:min(len(after), maxErrorLines)]
	}
	if len(e.Errors) == 0 && len(e.Hints) == 0 {
		if h := logNotWritten(logPath); h != "" { // logspace.go
			addHint(h)
		}
	}
	if errors.Is(err, ErrStalled) {
		if HungAtBreakpoint(err, logPath) {
			addHint("CRIU waited for a hardware breakpoint that never fired (debug registers not virtualised here): " +
				"set MYCR_HW_BREAKPOINTS=broken (mycr then runs CRIU with CRIU_FAULT=130) and retry")
		} else {
			addHint("CRIU was stuck and the watchdog killed it; if it was only slow, raise " + EnvTimeout)
		}
	}
	return e
}
