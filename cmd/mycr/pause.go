package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze all processes of a container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		ctr, unlock, err := lockedContainer(c, "pause")
		if err != nil {
			return err
		}
		defer unlock()
		return ctr.Pause()
	},
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw all processes of a paused container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		ctr, unlock, err := lockedContainer(c, "resume")
		if err != nil {
			return err
		}
		defer unlock()
		return runtime.Resume(ctr)
	},
}
