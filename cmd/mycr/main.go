// Command mycr is an OCI container runtime, command-line compatible with runc,
// built for checkpoint/restore with CRIU.
package main

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
)

func main() {
	criu.RuntimeVersion = "mycr " + version
	app := newApp()
	if err := app.Run(reorderFlags(app, os.Args)); err != nil {
		fatal(err)
	}
}

func newApp() *cli.App {
	cli.VersionPrinter = printVersion
	return &cli.App{
		Name:    "mycr",
		Usage:   "Open Container Initiative runtime with checkpoint/restore (runc-compatible)",
		Version: version,
		// Flags such as --empty-ns or --lsm-mount-context take values that contain commas.
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.StringFlag{Name: "log", Usage: "write mycr's logs to this file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "root", Value: runtime.DefaultRoot, Usage: "directory for container state (should be on tmpfs)"},
			&cli.StringFlag{Name: "criu", Usage: "path to the criu binary (default: criu in PATH, /usr/local/sbin/criu)"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use systemd cgroups (not supported on this host: fails with an explanation)"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "ignore cgroup permission errors: true, false or auto"},
		},
		Before:   configureLogging,
		Commands: commands(),
		// urfave/cli would print usage and exit 0 for an unknown verb; runc says
		// "No help topic for 'foo'" and exits 3.
		CommandNotFound: func(c *cli.Context, name string) {
			//lint:ignore ST1005 runc's exact text, which callers and runc's tests match
			fatalCode(fmt.Errorf("No help topic for '%s': see `mycr --help`", name), 3)
		},
	}
}

func commands() []*cli.Command {
	return []*cli.Command{
		checkCommand, checkpointCommand, createCommand, deleteCommand, eventsCommand,
		execCommand, featuresCommand, inspectCommand, killCommand, listCommand, migrateCommand, migrateReceiveCommand, pauseCommand, psCommand,
		restoreCommand, resumeCommand, runCommand, specCommand, startCommand, stateCommand,
		updateCommand, guardCommand,
	}
}

func configureLogging(c *cli.Context) error {
	if c.Bool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	switch f := c.String("log-format"); f {
	case "", "text":
		tf := new(logrus.TextFormatter)
		if c.Bool("debug") {
			// Steps a few milliseconds apart (a migration's frozen window) need sub-second times.
			tf.FullTimestamp, tf.TimestampFormat = true, "2006-01-02T15:04:05.000000Z07:00"
		}
		logrus.SetFormatter(&criuQuoteToDebug{Formatter: tf})
	case "json":
		// containerd's shim parses these lines (level, msg, time).
		logrus.SetFormatter(&criuQuoteToDebug{Formatter: new(logrus.JSONFormatter)})
	default:
		return fmt.Errorf("invalid --log-format %q: use text or json", f)
	}
	if path := c.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		logrus.SetOutput(f)
	}
	return nil
}
