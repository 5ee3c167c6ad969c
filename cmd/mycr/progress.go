package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/go-units"

	"github.com/mycr/mycr/criu/image"
)

// Progress redraw timing: nothing for a dump shorter than progressDelay, then
// a redraw every progressTick.
var (
	progressDelay = 250 * time.Millisecond
	progressTick  = 250 * time.Millisecond
)

// startProgress redraws, on a terminal w, a bar of the bytes written to dir
// against the expected size (0: unknown, bytes only), until stop is called,
// which erases it. Callers only start it when w is a terminal, so logs and
// daemons never see it.
func startProgress(w io.Writer, what, dir string, expected int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-done:
			return
		case <-time.After(progressDelay):
		}
		tick := time.NewTicker(progressTick)
		defer tick.Stop()
		for {
			fmt.Fprint(w, "\r\033[K"+progressLine(what, image.DirBytes(dir), expected))
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// progressLine is one line of the bar, short enough for an 80-column terminal.
func progressLine(what string, written, expected int64) string {
	const width = 20
	if len(what) > 24 {
		what = what[:21] + "..."
	}
	if expected <= 0 {
		return fmt.Sprintf("%s: %s written", what, units.BytesSize(float64(written)))
	}
	frac := min(float64(written)/float64(expected), 1)
	n := int(frac * width)
	return fmt.Sprintf("%s [%s%s] %3.0f%% %s / ~%s", what, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, units.BytesSize(float64(written)), units.BytesSize(float64(expected)))
}
