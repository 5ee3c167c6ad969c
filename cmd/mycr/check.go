package main

import (
	"fmt"
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
		rep.Print(os.Stdout)
		if p := rep.Problems(); len(p) > 0 {
			return fmt.Errorf("checkpoint/restore cannot work here:\n  %s", strings.Join(p, "\n  "))
		}
		return nil
	},
}
