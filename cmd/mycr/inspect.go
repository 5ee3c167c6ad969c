package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu"
)

var inspectCommand = &cli.Command{
	Name:      "inspect",
	Usage:     "show what a checkpoint holds: processes, files, sockets, mounts, memory",
	ArgsUsage: "IMAGE_DIR|ARCHIVE",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "ps", Usage: "process tree with command lines"},
		&cli.BoolFlag{Name: "files", Usage: "open files per process"},
		&cli.BoolFlag{Name: "sockets", Usage: "sockets (kind, state, addresses)"},
		&cli.BoolFlag{Name: "mounts", Usage: "mounts"},
		&cli.BoolFlag{Name: "mem", Usage: "memory mappings"},
		&cli.BoolFlag{Name: "env", Usage: "environment of each process (may hold secrets)"},
		&cli.StringFlag{Name: "search", Usage: "find this string in the dumped memory"},
		&cli.IntFlag{Name: "context", Value: 16, Usage: "with --search: bytes of context around a match"},
		&cli.StringFlag{Name: "diff", Usage: "compare with this second checkpoint (dir or archive) of the same container"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
	},
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 1); err != nil {
			return err
		}
		dir, cleanup, err := imageSource(c.Args().First())
		defer cleanup()
		if err != nil {
			return err
		}
		if p := c.String("search"); p != "" {
			hits, err := criu.Search(dir, p, c.Int("context"))
			if err != nil {
				return err
			}
			return printInspect(c, hits, func(w io.Writer) { printMatches(w, p, hits) })
		}
		o := criu.InspectOpts{PS: c.Bool("ps"), Files: c.Bool("files"), Sockets: c.Bool("sockets"),
			Mounts: c.Bool("mounts"), Mem: c.Bool("mem"), Env: c.Bool("env")}
		if o == (criu.InspectOpts{}) || c.String("diff") != "" {
			o = criu.InspectOpts{PS: true, Files: true, Sockets: true, Mounts: true, Mem: c.String("diff") != "", Env: o.Env}
		}
		in, err := criu.Inspect(dir, o)
		if err != nil {
			return err
		}
		if other := c.String("diff"); other != "" {
			dir2, cleanup2, err := imageSource(other)
			defer cleanup2()
			if err != nil {
				return err
			}
			in2, err := criu.Inspect(dir2, o)
			if err != nil {
				return err
			}
			changes := criu.Diff(in, in2)
			return printInspect(c, changes, func(w io.Writer) { fmt.Fprintln(w, strings.Join(changes, "\n")) })
		}
		return printInspect(c, in, func(w io.Writer) { printInspection(w, in) })
	},
}

// imageSource gives an image dir for a dir or an archive (extracted, verified,
// into a private temp dir that cleanup removes).
func imageSource(path string) (string, func(), error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", func() {}, err
	}
	if st.IsDir() {
		return path, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "mycr-inspect-")
	if err != nil {
		return "", func() {}, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	if err := criu.ExtractArchive(path, tmp); err != nil {
		return "", cleanup, fmt.Errorf("%s: %w", path, err)
	}
	return filepath.Join(tmp, criu.ArchiveImagesDir), cleanup, nil
}

func printInspect(c *cli.Context, v any, text func(io.Writer)) error {
	switch c.String("format") {
	case "json":
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "text":
		text(c.App.Writer)
		return nil
	}
	return errors.New("--format must be text or json")
}

func printMatches(w io.Writer, pattern string, hits []criu.MemoryMatch) {
	if len(hits) == 0 {
		fmt.Fprintf(w, "%q not found in the dumped memory\n", pattern)
	}
	for _, h := range hits {
		fmt.Fprintf(w, "pid %d (%s) at %s: %s\n", h.PID, h.Comm, h.Address, h.Context)
	}
}

func printInspection(w io.Writer, in *criu.Inspection) {
	if m := in.Meta; m != nil {
		fmt.Fprintf(w, "checkpoint of %s by %s with CRIU %s on %s/%s at %s\nbundle: %s\n", m.ID, m.Runtime,
			criu.FormatVersion(m.CriuVersion), m.Kernel, m.Arch, m.Created.Format("2006-01-02 15:04:05Z07:00"), m.Bundle)
	}
	if len(in.Processes) > 0 {
		fmt.Fprintln(w, "\nprocesses:")
		for _, p := range in.Processes {
			fmt.Fprintf(w, "  %6d %6d %-16s %s\n", p.PID, p.PPID, p.Comm, p.Cmdline)
			for _, e := range p.Env {
				fmt.Fprintf(w, "         env %s\n", e)
			}
		}
	}
	if len(in.Ns) > 0 {
		fmt.Fprintln(w, "\nnamespaces (same id = shared):")
		for _, n := range in.Ns {
			fmt.Fprintln(w, "  "+n.String())
		}
	}
	if len(in.Files) > 0 {
		fmt.Fprintln(w, "\nopen files:")
		for _, fd := range in.Files {
			for _, f := range fd.Files {
				fmt.Fprintf(w, "  pid %d fd %-4s %-8s %s\n", fd.PId, f.Fd, f.Type, f.Path)
			}
		}
	}
	if len(in.Sockets) > 0 {
		fmt.Fprintln(w, "\nsockets:")
		for _, sk := range in.Sockets {
			for _, s := range sk.Sockets {
				fmt.Fprintf(w, "  pid %d fd %d %s %s %s %s %s:%d -> %s:%d\n", sk.PId, s.Fd, s.FdType, s.Family, s.Protocol,
					s.State, s.SrcAddr, s.SrcPort, s.DestAddr, s.DestPort)
			}
		}
	}
	if len(in.Mounts) > 0 {
		fmt.Fprintln(w, "\nmounts:")
		for _, m := range in.Mounts {
			ext := ""
			if m.External {
				ext = " (external)"
			}
			fmt.Fprintf(w, "  %-30s %s%s\n", m.Mountpoint, m.Source, ext)
		}
	}
	if len(in.Memory) > 0 {
		fmt.Fprintln(w, "\nmemory:")
		for _, mm := range in.Memory {
			for _, m := range mm.Mems {
				fmt.Fprintf(w, "  pid %d %s-%s %s %s\n", mm.PId, m.Start, m.End, m.Protection, m.Resource)
			}
		}
	}
}
