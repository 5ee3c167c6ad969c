package migrate

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// A lazy dump's stats-dump is useless with CRIU 4.2: cr_page_server() calls
// init_stats(DUMP_STATS) again, which wipes the dump's counters and restarts the
// frozen clock from zero (frozen_time comes out as the machine's uptime). So in
// lazy mode CRIU's view is read from the timestamps of its dump.log instead:
//
//	frozen:  "freezing processes: N attempts done" (where CRIU starts its frozen
//	         clock) to the last "Unfreezing tasks" (the source is let go: killed
//	         after a success);
//	ready:   the same start to "Running status-ready scripts" (the page server
//	         listens: the dump's share of the downtime).
type lazyDumpTimes struct {
	FrozenMs, ReadyMs float64
}

var criuLogTime = regexp.MustCompile(`^\(\s*(\d+\.\d+)\)\s*(.*)$`)

func readLazyDumpTimes(logPath string) (lazyDumpTimes, bool) {
	f, err := os.Open(logPath)
	if err != nil {
		return lazyDumpTimes{}, false
	}
	defer f.Close()
	var start, ready, end float64 = -1, -1, -1
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := criuLogTime.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		t, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		switch msg := m[2]; {
		case start < 0 && strings.HasPrefix(msg, "freezing processes:"):
			start = t
		case start < 0 && strings.HasPrefix(msg, "Seized task"):
			start = t // no freezer cgroup: CRIU froze the tasks by ptrace
		case ready < 0 && strings.HasPrefix(msg, "Running status-ready scripts"):
			ready = t
		case strings.HasPrefix(msg, "Unfreezing tasks"):
			end = t
		}
	}
	if start < 0 || ready < start || end < ready {
		return lazyDumpTimes{}, false
	}
	return lazyDumpTimes{FrozenMs: (end - start) * 1000, ReadyMs: (ready - start) * 1000}, true
}
