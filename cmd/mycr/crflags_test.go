package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/runtime"
)

// verbContext is the context of `mycr <global...> <verb> <args...>` as typed.
func verbContext(t *testing.T, cmd *cli.Command, global, args []string) *cli.Context {
	t.Helper()
	app := newApp()
	parse := func(name string, flags []cli.Flag, args []string) *flag.FlagSet {
		set := flag.NewFlagSet(name, flag.ContinueOnError)
		for _, f := range flags {
			if err := f.Apply(set); err != nil {
				t.Fatal(err)
			}
		}
		if err := set.Parse(args); err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return set
	}
	parent := cli.NewContext(app, parse("mycr", app.Flags, global), nil)
	c := cli.NewContext(app, parse(cmd.Name, cmd.Flags, args), parent)
	c.Command = cmd
	return c
}

// TestCheckpointFlagMapping: runc's checkpoint flags, as typed, become these
// libcontainer CRIU options; bad values are refused with the flag's name.
func TestCheckpointFlagMapping(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("pre", 0o700); err != nil { // --parent-path ../pre must exist
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	global := []string{"--root", t.TempDir()}
	base := libcontainer.CriuOpts{ImagesDirectory: filepath.Join(cwd, "checkpoint"), StatusFd: -1}
	with := func(change func(*libcontainer.CriuOpts)) libcontainer.CriuOpts { o := base; change(&o); return o }
	cases := []struct {
		args []string
		want libcontainer.CriuOpts
		err  string
	}{
		{nil, base, ""},
		{strings.Fields("--image-path img --work-path /w --tcp-established --ext-unix-sk --shell-job --file-locks --auto-dedup " +
			"--manage-cgroups-mode full --empty-ns network --leave-running --parent-path ../pre --tcp-skip-in-flight --link-remap"),
			with(func(o *libcontainer.CriuOpts) {
				o.ImagesDirectory, o.WorkDirectory = filepath.Join(cwd, "img"), "/w"
				o.TcpEstablished, o.ExternalUnixConnections, o.ShellJob, o.FileLocks, o.AutoDedup = true, true, true, true, true
				o.ManageCgroupsMode, o.EmptyNs = "full", unix.CLONE_NEWNET
				o.LeaveRunning, o.ParentImage, o.TcpSkipInFlight, o.LinkRemap = true, "../pre", true, true
			}), ""},
		{[]string{"--tcp-established"}, with(func(o *libcontainer.CriuOpts) { o.TcpEstablished = true }), ""},
		{[]string{"--ext-unix-sk"}, with(func(o *libcontainer.CriuOpts) { o.ExternalUnixConnections = true }), ""},
		{[]string{"--shell-job"}, with(func(o *libcontainer.CriuOpts) { o.ShellJob = true }), ""},
		{[]string{"--file-locks"}, with(func(o *libcontainer.CriuOpts) { o.FileLocks = true }), ""},
		{[]string{"--auto-dedup"}, with(func(o *libcontainer.CriuOpts) { o.AutoDedup = true }), ""},
		{[]string{"--pre-dump"}, with(func(o *libcontainer.CriuOpts) { o.PreDump, o.LeaveRunning = true, true }), ""},
		{[]string{"--lazy-pages", "--page-server", "127.0.0.1:9000"}, with(func(o *libcontainer.CriuOpts) {
			o.LazyPages, o.PageServer = true, libcontainer.CriuPageServerInfo{Address: "127.0.0.1", Port: 9000}
		}), ""},
		{[]string{"--lazy-pages", "--status-fd", "5"}, with(func(o *libcontainer.CriuOpts) { o.LazyPages, o.StatusFd = true, 5 }), ""},
		{[]string{"--lazy-pages"}, base, "--lazy-pages needs --status-fd or --page-server"},
		{[]string{"--manage-cgroups-mode", "loose"}, base, `invalid --manage-cgroups-mode "loose"`},
		{[]string{"--empty-ns", "pid"}, base, `--empty-ns "pid" is not supported`},
		{[]string{"--page-server", "9000"}, base, "use --page-server ADDRESS:PORT"},
		{[]string{"--page-server", "[::1]:0"}, base, `invalid page server port "0"`},
	}
	for _, tc := range cases {
		_, o, err := checkpointOpts(verbContext(t, checkpointCommand, global, tc.args))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
		} else if !reflect.DeepEqual(*o, tc.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.args, *o, tc.want)
		}
	}
}

// TestRestoreFlagMapping: restore's own flags reach the runtime's options.
func TestRestoreFlagMapping(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	global := []string{"--root", t.TempDir()}
	args := strings.Fields("--bundle b --detach --pid-file run/p --console-socket /s --no-subreaper --lsm-profile prof " +
		"--remap-mount /data=/srv/data --tcp-established --image-path /img")
	_, ro, err := restoreOpts(verbContext(t, restoreCommand, global, args), "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.LaunchOpts{IO: runtime.IOConfig{Detach: true, ConsoleSocket: "/s"}, PidFile: filepath.Join(cwd, "run/p"), NoSubreaper: true}
	if ro.Create.ID != "c1" || ro.Create.Bundle != filepath.Join(cwd, "b") || !reflect.DeepEqual(ro.Launch, want) ||
		!reflect.DeepEqual(ro.RemapMounts, map[string]string{"/data": "/srv/data"}) ||
		!ro.Criu.TcpEstablished || ro.Criu.LsmProfile != "prof" || ro.Criu.ImagesDirectory != "/img" {
		t.Errorf("restore options: %+v", ro)
	}
	_, _, err = restoreOpts(verbContext(t, restoreCommand, global, []string{"--remap-mount", "/data"}), "c1")
	if err == nil || !strings.Contains(err.Error(), `--remap-mount "/data": want DEST=SRC`) {
		t.Errorf("a remap without =: %v", err)
	}
}
