package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
	"github.com/mycr/mycr/runtime/migrate"
)

var migrateCommand = &cli.Command{
	Name:  "migrate",
	Usage: "live-migrate a running container to another state root (post-copy with CRIU lazy pages)",
	ArgsUsage: `<container-id>

Moves a running container to the state root --to-root (the "target host") as
--target-id (default: the same ID), with the bundle --bundle (default: the
source's). In --mode lazy (the default) the container is frozen only while its
non-memory state is dumped, copied and restored; its memory then follows on
demand through CRIU's lazy pages (userfaultfd) over --address:--port, and the
source is removed once the last page has moved. Where lazy pages cannot work,
mycr says so and falls back to stop-and-copy (unless --no-fallback), which
checkpoints, copies and restores everything. If anything fails before the
switch, the source container keeps running (stop-and-copy: it is restored on
the source from its images).

The migrated container gets this command's stdio, as with restore -d; a
container with a terminal needs --console-socket. One line (or --format json)
reports the frozen time, the total time and the bytes moved.
See docs/portable.md.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "to-root", Usage: "state root of the target on this host"},
		&cli.StringFlag{Name: "to", Usage: "another host: ssh://[user@]host[:port] (through the ssh client, with your keys and ~/.ssh/config)"},
		&cli.StringFlag{Name: "target-root", Usage: "with --to: the state root on the target host (default: mycr's default there)"},
		&cli.StringFlag{Name: "remote-mycr", Value: "mycr", Usage: "with --to: the mycr binary on the target host"},
		&cli.StringFlag{Name: "channel", Value: migrate.ChannelAuto, Usage: "with --to: what carries images and pages: auto (a direct TLS connection authenticated through ssh, else ssh), tls or ssh"},
		&cli.StringFlag{Name: "target-stdio", Usage: "with --to: a file on the target host for the container's stdout/stderr (default: /dev/null)"},
		&cli.StringFlag{Name: "target-id", Usage: "ID of the container on the target (default: the same ID)"},
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle of the target container (default: the source's bundle)"},
		&cli.StringSliceFlag{Name: "remap-mount", Usage: "DEST=SRC: on the target, bind-mount SRC at DEST instead of the configured source"},
		&cli.StringFlag{Name: "image-path", Usage: "empty directory for the source's images (default: a private directory under $TMPDIR, removed on success)"},
		&cli.StringFlag{Name: "target-image-path", Usage: "empty directory for the target's copy of the images (default: as --image-path)"},
		&cli.BoolFlag{Name: "keep-images", Usage: "keep the default image directories after a successful migration"},
		&cli.StringFlag{Name: "mode", Value: migrate.Lazy, Usage: "lazy (post-copy) or stop-and-copy"},
		&cli.BoolFlag{Name: "no-fallback", Usage: "with --mode lazy: fail instead of falling back to stop-and-copy"},
		&cli.StringFlag{Name: "address", Value: "127.0.0.1", Usage: "address the target fetches memory pages from (loopback only)"},
		&cli.IntFlag{Name: "port", Usage: "port of the page transfer (default: any free port)"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "report format: text (one line) or json"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "migrate established TCP connections"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job (a process attached to an external tty)"},
		&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft, full, strict or ignore (default: soft)"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the target's new pty master"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the target's init pid to (with --to: a file on the target host)"},
	},
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		format := c.String("format")
		if format != "text" && format != "json" {
			return fmt.Errorf("invalid --format %q: use text or json", format)
		}
		if (c.String("to-root") == "") == (c.String("to") == "") {
			return errors.New("migrate needs --to-root DIR (another state root on this host) or --to ssh://[user@]host[:port] (another host)")
		}
		if c.IsSet("channel") && c.String("to") == "" {
			return errors.New("--channel is for --to ssh://… (a move on this host has no link to choose)")
		}
		if _, err := migrate.CheckChannel(c.String("channel")); err != nil {
			return err
		}
		r, o, err := criuOpts(c)
		if err != nil {
			return err
		}
		mo := migrate.Opts{
			ID:         id,
			TargetID:   c.String("target-id"),
			Mode:       c.String("mode"),
			NoFallback: c.Bool("no-fallback"),
			KeepImages: c.Bool("keep-images"),
			Address:    c.String("address"),
			Port:       c.Int("port"),
			Criu:       *o,
			Launch: runtime.LaunchOpts{
				IO: runtime.IOConfig{Detach: true, ConsoleSocket: c.String("console-socket")},
			},
			RemapMounts: map[string]string{},
			Notify:      func(s string) { fmt.Fprintln(c.App.ErrWriter, "mycr migrate: "+s) },
		}
		for _, p := range []struct {
			flag string
			dst  *string
		}{{"bundle", &mo.Bundle}, {"image-path", &mo.ImagePath}, {"target-image-path", &mo.TargetImagePath}, {"pid-file", &mo.Launch.PidFile}} {
			if *p.dst, err = absOrEmpty(c.String(p.flag)); err != nil {
				return err
			}
		}
		for _, kv := range c.StringSlice("remap-mount") {
			dest, src, ok := strings.Cut(kv, "=")
			if !ok || dest == "" || src == "" {
				return fmt.Errorf("--remap-mount %q: want DEST=SRC", kv)
			}
			mo.RemapMounts[dest] = src
		}
		// An interrupt before the switch aborts it; the source keeps running.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		defer stop()
		mo.Ctx = ctx
		rep, err := runMigrate(c, r, mo)
		if err != nil {
			if rep != nil && format == "json" {
				// Which side runs, for a program reading the report.
				_ = json.NewEncoder(c.App.Writer).Encode(rep)
			}
			return err
		}
		if format == "json" {
			enc := json.NewEncoder(c.App.Writer)
			return enc.Encode(rep)
		}
		_, err = fmt.Fprintln(c.App.Writer, rep.Line())
		return err
	},
}

// runMigrate moves the container to another state root (--to-root) or host (--to).
func runMigrate(c *cli.Context, r *runtime.Root, mo migrate.Opts) (*migrate.Report, error) {
	if to := c.String("to"); to != "" {
		// --pid-file names a file on the target; a rollback on this host writes none.
		mo.Launch.PidFile = ""
		return migrate.RunRemote(r, mo, migrate.Remote{URL: to, Root: c.String("target-root"),
			Mycr: c.String("remote-mycr"), Stdio: c.String("target-stdio"), PidFile: c.String("pid-file"), Channel: c.String("channel")})
	}
	dst, err := runtime.OpenRoot(c.String("to-root"))
	if err != nil {
		return nil, err
	}
	dst.Criu = r.Criu
	mo.Target = dst
	return migrate.Run(r, mo)
}
