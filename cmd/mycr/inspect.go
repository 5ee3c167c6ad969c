package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu/archive"
	"github.com/mycr/mycr/criu/archive/oci"
	"github.com/mycr/mycr/criu/image"
)

var inspectCommand = &cli.Command{
	Name:  "inspect",
	Usage: "show what a checkpoint holds: processes, files, sockets, mounts, memory",
	ArgsUsage: `IMAGE_DIR|ARCHIVE|oci:REF

With no section flag: metadata, processes, open files, sockets and mounts.
--diff OLD NEW lists what changed from checkpoint OLD to checkpoint NEW.
An archive (checkpoint --export, "-" for stdin; Podman's and Kubernetes' too,
with a warning that they cannot be verified) or a checkpoint image (oci:REF,
pulled from its registry) is verified and extracted into a private temporary
directory, removed afterwards.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "ps", Usage: "process tree with command lines and namespaces"},
		&cli.BoolFlag{Name: "files", Usage: "open files per process"},
		&cli.BoolFlag{Name: "sockets", Usage: "sockets (kind, state, addresses)"},
		&cli.BoolFlag{Name: "mounts", Usage: "mounts"},
		&cli.BoolFlag{Name: "mem", Usage: "memory mappings and sizes"},
		&cli.BoolFlag{Name: "env", Usage: "environment of each process (may hold secrets)"},
		&cli.StringFlag{Name: "search", Usage: "find this string in the dumped memory"},
		&cli.IntFlag{Name: "context", Value: 16, Usage: "with --search: bytes of context either side of a match"},
		&cli.StringFlag{Name: "diff", Usage: "compare the earlier checkpoint `OLD` (dir or archive) with the argument NEW (--diff OLD NEW): + only in NEW, - only in OLD, ~ changed"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		archiveKeyFlag,
	},
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 1); err != nil {
			return err
		}
		if f := c.String("format"); f != "text" && f != "json" {
			return errors.New("--format must be text or json")
		}
		key, err := archiveKey(c)
		if err != nil {
			return err
		}
		dir, cleanup, err := imageSource(c.Args().First(), key)
		defer cleanup()
		if err != nil {
			return err
		}
		if p := c.String("search"); p != "" {
			res, err := image.Search(dir, p, c.Int("context"))
			if err != nil {
				return inArchive(c.Args().First(), dir, err)
			}
			return printInspect(c, res, func(w io.Writer) { printMatches(w, res) })
		}
		o := image.InspectOpts{PS: c.Bool("ps"), Files: c.Bool("files"), Sockets: c.Bool("sockets"),
			Mounts: c.Bool("mounts"), Mem: c.Bool("mem"), Env: c.Bool("env")}
		if c.String("diff") != "" {
			o = image.InspectOpts{PS: true, Files: true, Sockets: true, Mem: true}
		} else if o == (image.InspectOpts{Env: o.Env}) {
			o = image.InspectOpts{PS: true, Files: true, Sockets: true, Mounts: true, Env: o.Env}
		}
		in, err := image.Inspect(dir, o)
		if err != nil {
			return inArchive(c.Args().First(), dir, err)
		}
		in.Dir = sourceName(c.Args().First(), dir)
		if other := c.String("diff"); other != "" {
			return inspectDiff(c, in, other, o, key)
		}
		return printInspect(c, in, func(w io.Writer) { printInspection(w, in) })
	},
}

// inspectDiff compares --diff OLD with the argument NEW, as diff(1) does.
func inspectDiff(c *cli.Context, newer *image.Inspection, old string, o image.InspectOpts, key []byte) error {
	dir, cleanup, err := imageSource(old, key)
	defer cleanup()
	if err != nil {
		return err
	}
	older, err := image.Inspect(dir, o)
	if err != nil {
		return inArchive(old, dir, err)
	}
	older.Dir = sourceName(old, dir)
	changes := image.Diff(older, newer)
	return printInspect(c, changes, func(w io.Writer) { printChanges(w, changes) })
}

// imageSource gives an image dir for a dir, or for an archive ("-": stdin)
// extracted and verified into a private temp dir that cleanup removes (also
// on SIGINT/SIGTERM/SIGHUP: the images hold process memory); key verifies
// an archive's signature (nil: none).
func imageSource(path string, key []byte) (string, func(), error) {
	isOCI := strings.HasPrefix(path, oci.Prefix)
	if path != "-" && !isOCI {
		st, err := os.Stat(path)
		if err != nil {
			return "", func() {}, err
		}
		if st.IsDir() {
			return path, func() {}, nil
		}
	}
	tmp, cleanup, err := privateTempDir()
	if err != nil {
		return "", cleanup, err
	}
	// Reading a Podman or Kubernetes archive's images runs nothing: allowed, with a warning.
	xo := archive.ExtractOptions{Key: key, Unverified: true}
	extract := archive.ExtractArchive
	if isOCI {
		extract = oci.Extract // a checkpoint image in a registry
	}
	if _, err := extract(path, tmp, xo); err != nil {
		return "", cleanup, fmt.Errorf("%s: %w", path, err)
	}
	return filepath.Join(tmp, archive.ArchiveImagesDir), cleanup, nil
}

// sourceName is what the user named: an archive's name rather than the temp
// dir it was extracted into.
func sourceName(arg, dir string) string {
	switch {
	case arg == "-":
		return "archive on stdin"
	case dir != arg:
		return arg
	}
	return dir
}

// inArchive says which archive an error about its extracted images is about
// (the temp dir it names is gone once inspect exits).
func inArchive(arg, dir string, err error) error {
	if name := sourceName(arg, dir); name != dir {
		return fmt.Errorf("%s: %w", name, err)
	}
	return err
}

// privateTempDir makes a 0700 temp dir, removed by cleanup or on a signal.
func privateTempDir() (string, func(), error) {
	tmp, err := os.MkdirTemp("", "mycr-inspect-")
	if err != nil {
		return "", func() {}, err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			os.RemoveAll(tmp)
			os.Exit(128 + int(s.(syscall.Signal)))
		case <-done:
		}
	}()
	return tmp, func() {
		signal.Stop(sigs)
		close(done)
		os.RemoveAll(tmp)
	}, nil
}

func printInspect(c *cli.Context, v any, text func(io.Writer)) error {
	if c.String("format") == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(c.App.Writer)
	return nil
}
