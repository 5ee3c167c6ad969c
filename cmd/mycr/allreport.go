package main

import (
	"fmt"

	"github.com/mycr/mycr/runtime"
	"github.com/urfave/cli/v2"
)

// reportAll prints one line per container and fails if any of them failed.
func reportAll(c *cli.Context, verb string, outcomes []runtime.Outcome) error {
	failed := 0
	for _, o := range outcomes {
		if o.Skip != "" {
			fmt.Fprintf(c.App.ErrWriter, "skipped %s (%s): %s\n", o.ID, o.Dir, o.Skip)
			continue
		}
		if o.Err != nil {
			failed++
			fmt.Fprintf(c.App.ErrWriter, "FAILED %s: %v\n", o.ID, o.Err)
			continue
		}
		fmt.Fprintf(c.App.Writer, "%s %s (%s)\n", verb, o.ID, o.Dir)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d containers failed", failed, len(outcomes)-skipped(outcomes))
	}
	return nil
}

func skipped(outcomes []runtime.Outcome) int {
	n := 0
	for _, o := range outcomes {
		if o.Skip != "" {
			n++
		}
	}
	return n
}
