package main

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the user process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		ctr, unlock, err := lockedContainer(c, "start")
		if err != nil {
			return err
		}
		defer unlock()
		status, err := ctr.Status()
		if err != nil {
			return err
		}
		switch status {
		case libcontainer.Created:
			return ctr.Exec()
		case libcontainer.Stopped:
			return fmt.Errorf("cannot start a container that has stopped")
		default:
			return fmt.Errorf("cannot start an already running container")
		}
	},
}
