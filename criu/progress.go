package criu

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// StartProgress redraws, on a terminal w, a bar of the bytes written to dir
// against the expected memory size, until stop is called. Callers only start it
// when w is a terminal, so logs and daemons never see it.
func StartProgress(w io.Writer, what, dir string, expected int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		drawn := false
		for {
			select {
			case <-done:
				if drawn {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-tick.C:
				fmt.Fprint(w, "\r"+progressLine(what, dirBytes(dir), expected))
				drawn = true
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func progressLine(what string, written, expected int64) string {
	const width = 30
	if expected <= 0 {
		return fmt.Sprintf("%s: %s written", what, humanBytes(written))
	}
	frac := min(float64(written)/float64(expected), 1)
	n := int(frac * width)
	return fmt.Sprintf("%s [%s%s] %3.0f%% %s / ~%s", what, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, humanBytes(written), humanBytes(expected))
}
