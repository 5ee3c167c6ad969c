package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mycr/mycr/criu/host"
	"github.com/mycr/mycr/criu/image"

	"github.com/docker/go-units"
)

// printInspection is inspect's text output: one section per kind of fact.
func printInspection(w io.Writer, in *image.Inspection) {
	printMeta(w, in)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title, header string) {
		tw.Flush()
		fmt.Fprintf(w, "\n%s:\n", title)
		fmt.Fprintln(tw, "  "+header)
	}
	if len(in.Processes) > 0 {
		section("processes", "PID\tPPID\tUID\tSTATE\tCOMMAND")
		for _, p := range in.Processes {
			cmd := clean(p.Cmdline)
			if cmd == "" {
				cmd = "[" + clean(p.Comm) + "]"
			}
			if p.Depth > 0 {
				cmd = strings.Repeat("  ", p.Depth-1) + "\\_ " + cmd
			}
			fmt.Fprintf(tw, "  %d\t%d\t%d\t%s\t%s\n", p.PID, p.PPID, p.UID, p.State, cmd)
			for _, e := range p.Env {
				fmt.Fprintf(tw, "  \t\t\t\t    %s\n", clean(e))
			}
		}
		section("namespaces (same id: shared)", "PID\tNAMESPACES")
		for _, p := range in.Processes {
			if p.Ns != nil {
				fmt.Fprintf(tw, "  %d\t%s\n", p.PID, p.Ns)
			}
		}
	}
	if len(in.Files) > 0 {
		section("open files", "PID\tFD\tMODE\tTYPE\tPATH")
		for _, f := range in.Files {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", f.PID, f.Fd, f.Mode, f.Type, clean(f.Path))
		}
	}
	if len(in.Sockets) > 0 {
		section("sockets", "PID\tFD\tSOCKET")
		for _, s := range in.Sockets {
			fmt.Fprintf(tw, "  %d\t%d\t%s\n", s.PID, s.Fd, clean(s.String()))
		}
	}
	if len(in.Mounts) > 0 {
		section("mounts", "MOUNTPOINT\tTYPE\tSOURCE")
		for _, m := range in.Mounts {
			src := clean(m.Source)
			if m.External {
				src += " (external)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", clean(m.Mountpoint), clean(m.FsType), src)
		}
	}
	tw.Flush()
	for _, t := range in.Memory {
		fmt.Fprintf(w, "\nmemory of pid %d (%s): %s mapped, %s in the checkpoint\n", t.PID, clean(t.Comm),
			units.BytesSize(float64(t.Mapped)), units.BytesSize(float64(t.Dumped)))
		fmt.Fprintln(tw, "  START\tEND\tPERMS\tSIZE\tDUMPED\tMAPS")
		for _, m := range t.Maps {
			what := clean(m.What)
			if m.Offset != 0 {
				what += fmt.Sprintf(" @0x%x", m.Offset)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", m.Start, m.End, m.Perms,
				units.BytesSize(float64(m.Size)), units.BytesSize(float64(m.Dumped)), what)
		}
		tw.Flush()
	}
}

func printMeta(w io.Writer, in *image.Inspection) {
	fmt.Fprintf(w, "images: %s (%s)\n", in.Dir, units.BytesSize(float64(in.ImageBytes)))
	m := in.Meta
	if m == nil {
		fmt.Fprintln(w, "no mycr metadata: not checkpointed by mycr")
		return
	}
	fmt.Fprintf(w, "checkpoint of %s, taken %s by %s with CRIU %s\n", clean(m.ID),
		m.Created.Format("2006-01-02 15:04:05Z07:00"), clean(m.Runtime), host.FormatVersion(m.CriuVersion))
	var opts []string
	if m.LeaveRunning {
		opts = append(opts, "leave-running")
	}
	if m.TCPEstablished {
		opts = append(opts, "tcp-established")
	}
	fmt.Fprintf(w, "host: kernel %s, %s; bundle %s", clean(m.Kernel), clean(m.Arch), clean(m.Bundle))
	if len(opts) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(opts, ", "))
	}
	fmt.Fprintln(w)
}

func printMatches(w io.Writer, res *image.SearchResult) {
	if len(res.Matches) == 0 {
		fmt.Fprintf(w, "%q not found in the dumped memory\n", res.Pattern)
	}
	for _, h := range res.Matches {
		where := h.Mapping
		if where == "" {
			where = "anonymous memory"
		}
		fmt.Fprintf(w, "pid %d (%s) at %s in %s: %s\n", h.PID, clean(h.Comm), h.Address, clean(where), h.Context)
	}
	if res.Truncated {
		fmt.Fprintf(w, "(stopped after %d matches)\n", len(res.Matches))
	}
}

func printChanges(w io.Writer, changes []image.Change) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "no change in processes, open files, sockets or memory sizes")
	}
	for _, ch := range changes {
		fmt.Fprintln(w, clean(ch.String()))
	}
}

// clean makes a string from the images safe to print on a terminal: they come
// from the checkpointed processes (command lines, file names), so control
// characters (escape sequences) become "?" and newlines and tabs spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 32 || r == 127 || (r >= 0x80 && r < 0xa0):
			return '?'
		}
		return r
	}, s)
}
