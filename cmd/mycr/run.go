package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container",
	ArgsUsage: "<container-id>",
	Flags: append(launchFlags(),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make mycr a child subreaper"},
	),
	Action: func(c *cli.Context) error {
		return launchFailed("run", launch(c, runtime.ActRun))
	},
}
