package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu/host"
)

var checkCommand = &cli.Command{
	Name:  "check",
	Usage: "check that checkpoint/restore can work on this host, and say what to fix",
	Action: func(c *cli.Context) error {
		r, err := root(c)
		if err != nil {
			return err
		}
		rep := host.Check(r.Dir, c.String("criu"))
		printReport(os.Stdout, rep)
		if p := rep.Problems(); len(p) > 0 {
			return fmt.Errorf("checkpoint/restore cannot work here:\n  %s", strings.Join(p, "\n  "))
		}
		return nil
	},
}

// printReport writes one fact of the `mycr check` report per line, with the fix below a WARN or FAIL.
func printReport(w io.Writer, r *host.Report) {
	for _, f := range r.Facts {
		fmt.Fprintf(w, "%-4s  %-15s %s\n", f.Status, f.Name+":", f.Value)
		if f.Fix != "" {
			fmt.Fprintf(w, "      %-15s -> %s\n", "", f.Fix)
		}
	}
}
