package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

// guardCommand is the helper a checkpoint starts (runtime.GuardVerb): not for users.
var guardCommand = &cli.Command{
	Name:      runtime.GuardVerb,
	Usage:     "internal: repair a checkpoint whose mycr process died",
	ArgsUsage: "<container-id> <mycr-pid>",
	Hidden:    true,
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 2); err != nil {
			return err
		}
		pid, err := strconv.Atoi(c.Args().Get(1))
		if err != nil {
			return fmt.Errorf("bad mycr pid %q", c.Args().Get(1))
		}
		r, err := root(c)
		if err != nil {
			return err
		}
		r.RunGuard(c.Args().First(), pid, os.NewFile(3, "guard-pipe"))
		return nil
	},
}
