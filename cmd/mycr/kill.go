package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to the container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to all processes of the container"},
	},
	Action: func(c *cli.Context) error {
		if err := rangeArgs(c, 1, 2); err != nil {
			return err
		}
		sig := unix.SIGTERM
		if c.NArg() == 2 {
			var err error
			if sig, err = parseSignal(c.Args().Get(1)); err != nil {
				return err
			}
		}
		ctr, err := loadContainerArg(c)
		if err != nil {
			return err
		}
		// libcontainer already signals every process when the container has no own pid namespace.
		err = ctr.Signal(sig)
		// As runc 1.4: --all on a stopped container is not an error (containerd's shim
		// sends it on every removal).
		if errors.Is(err, libcontainer.ErrNotRunning) && c.Bool("all") {
			return nil
		}
		return err
	},
}

// parseSignal accepts "9", "KILL" and "SIGKILL".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 { // 0 checks that the container is alive, as kill(2)
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
