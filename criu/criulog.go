package criu

import (
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
)

// tsPrefix is CRIU's "(00.041452) " line prefix.
var tsPrefix = lazyRegexp(`^\(\s*\d+\.\d+\)\s*`)

// StalledAtBreakpoint tells whether a CRIU log ends where a dump waits for the
// parasite to hit its hardware breakpoint ("Waiting for N to trap" ...
// "Sent msg to daemon"), i.e. the hang of machines whose breakpoints never fire.
func StalledAtBreakpoint(logPath string) bool {
	lines := criuTail(logPath, 3)
	for _, l := range lines {
		if strings.Contains(l, " to trap") || strings.Contains(l, "exited trapping") {
			return true
		}
	}
	return false
}

// criuTail returns the last n lines CRIU itself wrote (not the parasite's
// "pie:" lines), timestamps stripped.
func criuTail(logPath string, n int) []string {
	var out []string
	for _, l := range tailLines(logPath) {
		l = tsPrefix().ReplaceAllString(l, "")
		if l != "" && !strings.HasPrefix(l, "pie:") {
			out = append(out, l)
		}
	}
	return out[max(0, len(out)-n):]
}

// tailLines reads the last 64 KiB of a log as lines.
func tailLines(logPath string) []string {
	f, err := os.Open(logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	const tail = 64 * 1024
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		_, _ = f.Seek(-tail, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// lastLogLine is the log's last non-empty line, shortened for messages.
func lastLogLine(logPath string) string {
	lines := tailLines(logPath)
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 200 {
				l = l[:200] + "..."
			}
			return l
		}
	}
	return ""
}

// lazyRegexp compiles expr on first use (see hints).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
