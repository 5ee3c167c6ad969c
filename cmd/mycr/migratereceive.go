package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime/migrate"
)

// migrateReceiveCommand is the target side of `mycr migrate --to ssh://…`:
// the source runs it through ssh and speaks the migration stream on its
// stdin/stdout. Not meant to be typed.
var migrateReceiveCommand = &cli.Command{
	Name:   "migrate-receive",
	Usage:  "receive a container migrated from another host (run by mycr migrate --to ssh://… through ssh)",
	Hidden: true,
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 0); err != nil {
			return err
		}
		// The stream is stdin/stdout: a closed session must be an error we
		// handle (destroy the half-made target), not a signal that kills us.
		signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
		r, err := root(c)
		if err != nil {
			return err
		}
		if r.Criu, err = criu.Prepare(r.Dir, c.String("criu")); err != nil {
			return err
		}
		stdout := os.Stdout
		// Nothing else may write to the stream: logs go to stderr.
		os.Stdout = os.Stderr
		return migrate.Receive(r, os.Stdin, stdout)
	},
}
