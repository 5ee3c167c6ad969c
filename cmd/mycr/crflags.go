package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/archive"
	"github.com/mycr/mycr/runtime"
)

// crFlags are the CRIU options checkpoint and restore share (runc's names).
func crFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "directory of the CRIU images (default: ./checkpoint)"},
		&cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's logs and work files (default: the image path)"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "checkpoint/restore established TCP connections"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job (a process attached to an external tty)"},
		&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft, full, strict or ignore (default: soft)"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "create this namespace but do not restore its properties (network)"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate memory images against the parent"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to transfer memory lazily"},
	}
}

// criuOpts opens the state root with CRIU's environment prepared (binary,
// hardware-breakpoint workaround) and builds libcontainer's CRIU options from the flags.
func criuOpts(c *cli.Context) (*runtime.Root, *libcontainer.CriuOpts, error) {
	r, err := root(c)
	if err != nil {
		return nil, nil, err
	}
	if r.Criu, err = criu.Prepare(r.Dir, c.String("criu")); err != nil {
		return nil, nil, err
	}
	o, err := criuFlagOpts(c)
	return r, o, err
}

func criuFlagOpts(c *cli.Context) (*libcontainer.CriuOpts, error) {
	var err error
	imagePath := c.String("image-path")
	if imagePath == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		imagePath = filepath.Join(cwd, "checkpoint")
	}
	o := &libcontainer.CriuOpts{
		ImagesDirectory:         imagePath,
		WorkDirectory:           c.String("work-path"),
		TcpEstablished:          c.Bool("tcp-established"),
		ExternalUnixConnections: c.Bool("ext-unix-sk"),
		ShellJob:                c.Bool("shell-job"),
		FileLocks:               c.Bool("file-locks"),
		AutoDedup:               c.Bool("auto-dedup"),
		LazyPages:               c.Bool("lazy-pages"),
		StatusFd:                -1,
	}
	for _, p := range []*string{&o.ImagesDirectory, &o.WorkDirectory} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return nil, err
			}
		}
	}
	switch m := c.String("manage-cgroups-mode"); m {
	case "", "soft", "full", "strict", "ignore":
		o.ManageCgroupsMode = m
	default:
		return nil, fmt.Errorf("invalid --manage-cgroups-mode %q: use soft, full, strict or ignore", m)
	}
	for _, ns := range c.StringSlice("empty-ns") {
		if specs.LinuxNamespaceType(ns) != specs.NetworkNamespace {
			return nil, fmt.Errorf("--empty-ns %q is not supported: only network", ns)
		}
		o.EmptyNs |= unix.CLONE_NEWNET
	}
	return o, nil
}

// parsePageServer reads --page-server ADDRESS:PORT.
func parsePageServer(s string) (libcontainer.CriuPageServerInfo, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return libcontainer.CriuPageServerInfo{}, errors.New("use --page-server ADDRESS:PORT")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		return libcontainer.CriuPageServerInfo{}, fmt.Errorf("invalid page server port %q", port)
	}
	return libcontainer.CriuPageServerInfo{Address: host, Port: int32(n)}, nil
}

// archiveKeyFlag names a file holding the key that signs (export) or must have
// signed (import) a checkpoint archive.
var archiveKeyFlag = &cli.StringFlag{Name: "archive-key", EnvVars: []string{"MYCR_ARCHIVE_KEY_FILE"},
	Usage: "file with a secret key: sign the archive (export) / require a valid signature (import)"}

// archiveKey reads the key the flag (or MYCR_ARCHIVE_KEY_FILE) names, nil if none.
func archiveKey(c *cli.Context) ([]byte, error) {
	return archive.ArchiveKey(c.String(archiveKeyFlag.Name))
}
