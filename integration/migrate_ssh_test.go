package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sshReport is the part of a cross-host migration's JSON report the tests check.
type sshReport struct {
	migrateReport
	Host      string `json:"host"`
	Runs      string `json:"runs"`
	WireBytes int64  `json:"wire_bytes"`
	Channel   string `json:"channel"`
	Streamed  int64  `json:"streamed_bytes"`
	Error     string `json:"error"`
}

// sshMemProg is memprog running on host A, with a bundle of the same shape
// (its own rootfs, its own volume) waiting on host B.
type sshMemProg struct {
	ID               string
	BundleA, BundleB string
	A, B             *MemProg // the same program as seen on each host's volume
}

// startSSHMemProg builds memprog into a bundle on each host and runs it on A.
func (h *twoHosts) startSSHMemProg(name string, mb int) *sshMemProg {
	t := h.t
	t.Helper()
	bin := filepath.Join(h.Base, "memprog")
	if _, err := os.Stat(bin); err != nil {
		if err := goBuild(bin, "./integration/testdata/memprog", true); err != nil {
			t.Fatal(err)
		}
	}
	p := &sshMemProg{ID: h.A.Env.ID(name)}
	h.B.Env.mu.Lock()
	h.B.Env.ids = append(h.B.Env.ids, p.ID)
	h.B.Env.mu.Unlock()
	// The volume is on storage both hosts mount (as NFS would be): memprog
	// has its count file open for a moment every 100 ms, and a dump that
	// catches it needs the same file on the target.
	vol, err := os.MkdirTemp(h.Base, "shared-vol-")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(n *netHost) (string, *MemProg) {
		mp := &MemProg{ID: p.ID, Vol: vol, MB: mb, Pages: mb << 20 / 4096}
		mp.Count = filepath.Join(mp.Vol, "count")
		// Both "hosts" share this machine's cgroup tree, where two hosts would
		// not: each names the container's cgroup its own way.
		cg := Edit(func(s *specs.Spec) { s.Linux.CgroupsPath = "/mycr-twohosts-" + n.Name + "/" + p.ID })
		b := n.Env.NewBundle(Args("/bin/memprog", "-mb", fmt.Sprint(mb)), Bind(mp.Vol, "/out"), cg)
		if err := copyFile(bin, filepath.Join(b, "rootfs", "bin", "memprog")); err != nil {
			t.Fatal(err)
		}
		return b, mp
	}
	p.BundleA, p.A = mk(h.A)
	p.BundleB, p.B = mk(h.B)
	if r := h.RunOn(h.A, defaultTimeout, "run", "-d", "--bundle", p.BundleA, p.ID); r.Code != 0 {
		t.Fatalf("run on host A:\n%s", r)
	}
	waitFor(t, time.Duration(10+mb/64)*time.Second, "memprog to fill its memory", func() (bool, string) {
		_, err := os.ReadFile(filepath.Join(p.A.Vol, "ready"))
		return err == nil, fmt.Sprint(err)
	})
	WaitCounterAbove(t, p.A.Count, 2, 10*time.Second)
	return p
}

// migrateSSH runs `mycr migrate --to ssh://hostb` (h.target) on host A.
func (h *twoHosts) migrateSSH(p *sshMemProg, extra ...string) *Proc {
	args := []string{"migrate", "--to", "ssh://" + h.target, "--target-root", h.B.Env.Root,
		"--remote-mycr", mycrBin, "--bundle", p.BundleB, "--format", "json"}
	return h.StartOn(h.A, append(append(args, extra...), p.ID)...)
}

func parseSSHReport(t *testing.T, r Result) sshReport {
	t.Helper()
	parseMigrateReport(t, r) // the same checks as a local migration's
	var rep sshReport
	if err := json.Unmarshal([]byte(lastLine(r.Stdout)), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestMigrateSSH moves memprog from host A to host B through ssh, lazily and
// by stop-and-copy: it counts on under B's root, every page intact, nothing
// left on A, the bytes crossed B's link (B cannot read A's state root,
// images or bundle), and the bytes on the link match the report's.
func TestMigrateSSH(t *testing.T) {
	h := newTwoHosts(t)
	for _, mode := range []string{"lazy", "stop-and-copy"} {
		t.Run(mode, func(t *testing.T) {
			p := h.startSSHMemProg("ssh"+strings.Split(mode, "-")[0], 64)
			defer h.A.Env.Run("delete", "--force", p.ID)
			// Host B sees none of host A's dirs: an empty tmpfs.
			if out := h.nsRun(h.B, "m", "ls", "-A", h.A.Dir); strings.TrimSpace(out) != "" {
				t.Fatalf("host B can read host A's dir: %q", out)
			}
			before := h.VethBytes(h.B)
			pidFile := filepath.Join(h.B.Env.Dir, "pid-"+p.ID)
			// Lazy by default: images and pages on a direct TLS connection;
			// stop-and-copy all through ssh.
			channel := map[string]string{"lazy": "tls", "stop-and-copy": "ssh"}[mode]
			args := []string{"--mode", mode, "--pid-file", pidFile}
			if channel == "ssh" {
				args = append(args, "--channel", "ssh")
			}
			r := h.migrateSSH(p, args...).Wait(4 * time.Minute)
			if r.Code != 0 {
				t.Fatalf("migrate over ssh failed:\n%s", r)
			}
			wire := h.VethBytes(h.B) - before
			rep := parseSSHReport(t, r)
			t.Logf("%s: frozen %.0f ms, total %.0f ms, moved %d bytes (images %d, pages %d), stream (%s) %d, B's link %d",
				mode, rep.FrozenMs, rep.TotalMs, rep.BytesMoved, rep.ImageBytes, rep.PageBytes, rep.Channel, rep.WireBytes, wire)
			if rep.Mode != mode || rep.Runs != "target" || rep.TargetPid <= 0 || rep.Channel != channel {
				t.Fatalf("report: %+v", rep)
			}
			if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(rep.TargetPid) {
				t.Errorf("--pid-file on host B: %q (%v), want the target's pid %d", b, err, rep.TargetPid)
			}
			// Stop-and-copy sends the memory while CRIU dumps it.
			if mode == "stop-and-copy" && rep.Streamed < int64(p.A.MB)<<20 {
				t.Errorf("stop-and-copy: %d bytes streamed during the dump, want the %d MiB pages image", rep.Streamed, p.A.MB)
			}
			if mode == "lazy" && rep.PageBytes < int64(p.A.MB)<<20 {
				t.Errorf("lazy: %d page bytes moved after the switch, want >= %d MiB", rep.PageBytes, p.A.MB)
			}
			// Everything crossed B's link, with ssh's and TCP's overhead.
			if wire < rep.BytesMoved || float64(wire) > 1.15*float64(rep.BytesMoved)+4<<20 {
				t.Errorf("%d bytes on B's link for %d bytes moved: the images did not (only) travel over the network", wire, rep.BytesMoved)
			}
			last := WaitCounterAbove(t, p.B.Count, 0, 20*time.Second)
			WaitCounterAbove(t, p.B.Count, last+2, 20*time.Second)
			h.B.Env.ExpectMemoryIntact(p.B, p.ID)
			if r := h.RunOn(h.A, defaultTimeout, "list", "-q"); strings.TrimSpace(r.Stdout) != "" {
				t.Errorf("host A still lists containers after the move: %q", r.Stdout)
			}
			h.B.Env.MustRun("delete", "--force", p.ID)
		})
	}
	// Over a link shaped to 100 Mbit/s (tbf): the move takes at least the
	// link's time for its bytes, so they did cross the shaped link.
	t.Run("lazy-100mbit", func(t *testing.T) {
		h.Shape("100mbit")
		defer h.Shape("")
		p := h.startSSHMemProg("sshshaped", 32)
		defer h.A.Env.Run("delete", "--force", p.ID)
		defer h.B.Env.Run("delete", "--force", p.ID)
		r := h.migrateSSH(p, "--mode", "lazy").Wait(4 * time.Minute)
		if r.Code != 0 {
			t.Fatalf("migrate over the shaped link failed:\n%s", r)
		}
		rep := parseSSHReport(t, r)
		limitMs := float64(rep.WireBytes) * 8 / 100e6 * 1000
		t.Logf("100 Mbit/s: frozen %.0f ms, total %.0f ms for %d bytes (link limit %.0f ms: %.2fx)",
			rep.FrozenMs, rep.TotalMs, rep.WireBytes, limitMs, rep.TotalMs/limitMs)
		if rep.TotalMs < 0.9*limitMs {
			t.Errorf("%d bytes moved in %.0f ms, faster than 100 Mbit/s allows (%.0f ms): the link was not shaped", rep.WireBytes, rep.TotalMs, limitMs)
		}
		h.B.Env.ExpectMemoryIntact(p.B, p.ID)
	})
}

// TestMigrateSSHRefused: the target lacks a bind-mount source, so it refuses
// before anything freezes; the reason is printed, the container runs on on
// A untouched and nothing is left on B.
func TestMigrateSSHRefused(t *testing.T) {
	h := newTwoHosts(t)
	p := h.startSSHMemProg("sshrefused", 16)
	missing := filepath.Join(h.B.Dir, "no-such-volume")
	s := ReadSpec(t, p.BundleB)
	for i := range s.Mounts {
		if s.Mounts[i].Destination == "/out" {
			s.Mounts[i].Source = missing
		}
	}
	WriteSpec(t, p.BundleB, s)
	r := h.migrateSSH(p).Wait(2 * time.Minute)
	if r.Code == 0 {
		t.Fatalf("migrate succeeded to a host without the volume:\n%s", r)
	}
	for _, want := range []string{"refuses", missing, "not touched"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, r)
		}
	}
	h.A.Env.WaitStatus(p.ID, "running", 5*time.Second)
	last := WaitCounterAbove(t, p.A.Count, 0, 5*time.Second)
	WaitCounterAbove(t, p.A.Count, last+2, 10*time.Second)
	if r := h.RunOn(h.B, defaultTimeout, "list", "-q"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("the refused migration left a container on B:\n%s", r)
	}
	t.Logf("refused as expected: %s", strings.TrimSpace(r.Stderr))
	if ents, _ := os.ReadDir(filepath.Join(h.B.Dir, "tmp")); len(ents) != 0 {
		t.Errorf("the refused migration left %d entries in B's TMPDIR", len(ents))
	}
	// No mycr at the given path on B, and a host without sshd: what ssh or
	// the remote shell said is in the error, once; the container runs on.
	for _, c := range []struct{ args []string }{
		{[]string{"--remote-mycr", "/no/such/mycr"}},
		{[]string{"--to", "ssh://root@" + switchAddr}},
	} {
		args := append([]string{"migrate", "--to", "ssh://" + h.target, "--target-root", h.B.Env.Root, "--remote-mycr", mycrBin}, c.args...)
		r := h.RunOn(h.A, 2*time.Minute, append(args, p.ID)...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "not touched") || strings.Count(r.Stderr, "said:") != 1 {
			t.Errorf("want an error with what ssh said and \"not touched\":\n%s", r)
		}
		t.Logf("%v: %s", c.args, lastLine(strings.TrimSpace(r.Stderr)))
		h.A.Env.WaitStatus(p.ID, "running", 5*time.Second)
	}
}
