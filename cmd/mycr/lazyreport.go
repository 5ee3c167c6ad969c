package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

// lazyFlags are restore's flags for lazy pages.
var lazyFlags = []cli.Flag{
	&cli.BoolFlag{Name: "lazy", Usage: "run the container before its memory is loaded: `criu lazy-pages` serves it from the images on demand (userfaultfd) and fills the rest in the background; the image dir must stay until then (mycr waits for the last page)"},
	&cli.BoolFlag{Name: "no-fallback", Usage: "with --lazy: fail where lazy pages do not work instead of restoring eagerly"},
	&cli.BoolFlag{Name: "record-hot-pages", Usage: "with --lazy: once every page is in, mark the pages the container faulted on in the images (--image-path), so that later restores load them before it runs: a faster first answer for a service restored many times from one checkpoint"},
}

// lazyOpts maps --lazy, --no-fallback and --record-hot-pages; nil: an eager restore.
func lazyOpts(c *cli.Context) (*runtime.LazyOpts, error) {
	if !c.Bool("lazy") {
		for _, f := range []string{"no-fallback", "record-hot-pages"} {
			if c.Bool(f) {
				return nil, fmt.Errorf("--%s is for --lazy: pass both", f)
			}
		}
		return nil, nil
	}
	return &runtime.LazyOpts{NoFallback: c.Bool("no-fallback"), RecordHot: c.Bool("record-hot-pages")}, nil
}

// finishLazy waits until every lazily restored container has all its memory
// and reports each: to stdout with --print-stats, as a JSON log entry with
// --log-format json.
func finishLazy(c *cli.Context, lz *runtime.LazyOpts, start time.Time) error {
	if lz == nil {
		return nil
	}
	var errs []error
	for _, run := range lz.Runs() {
		err := run.Wait()
		reportLazy(c, run, start, err)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func msSince(start, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Sub(start).Microseconds()) / 1000
}

func reportLazy(c *cli.Context, run *runtime.LazyRun, start time.Time, err error) {
	if run.RunningAt.IsZero() && err == nil {
		return // its restore failed, and said so
	}
	running, last := msSince(start, run.RunningAt), msSince(start, run.LastPageAt)
	if c.Bool("print-stats") {
		switch {
		case !run.Lazy:
			fmt.Fprintf(c.App.Writer, "%s: restored eagerly (lazy pages do not work here: %s); running after %.0f ms\n", run.ID, run.FallbackReason, running)
		case err != nil:
			fmt.Fprintf(c.App.Writer, "%s: lazy restore: running after %.0f ms; the lazy-pages daemon failed before the last page\n", run.ID, running)
		default:
			fmt.Fprintf(c.App.Writer, "%s: lazy restore: running after %.0f ms, every page in after %.0f ms (%d userfaultfds held)\n", run.ID, running, last, run.HeldUffds)
		}
	}
	reportHot(c, run, err)
	if c.Bool("print-stats") || c.String("log-format") == "json" {
		f := logrus.Fields{"id": run.ID, "lazy": run.Lazy, "running_ms": running, "last_page_ms": last, "held_uffds": run.HeldUffds}
		if c.Bool("record-hot-pages") {
			f["hot_pages"] = run.HotPages
		}
		if run.FallbackReason != "" {
			f["fallback_reason"] = run.FallbackReason
		}
		if err != nil {
			f["error"] = err.Error()
		}
		logrus.WithFields(f).Info("lazy restore")
	}
}

// reportHot says what --record-hot-pages did: a failure to record leaves the
// container running and the images as they were, so it warns.
func reportHot(c *cli.Context, run *runtime.LazyRun, err error) {
	switch {
	case !c.Bool("record-hot-pages") || err != nil:
	case !run.Lazy:
		logrus.Warnf("%s: no hot pages recorded: it was restored eagerly, with no page faults to learn from", run.ID)
	case run.HotErr != nil:
		logrus.Warnf("%s: no hot pages recorded: %v", run.ID, run.HotErr)
	case c.Bool("print-stats"):
		fmt.Fprintf(c.App.Writer, "%s: %d pages it faulted on will load before it runs in later restores of these images\n", run.ID, run.HotPages)
	}
}
