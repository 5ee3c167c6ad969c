package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMigrateSSHKeepsAddress moves a container that has its own named network
// namespace with an address on host A's bridge (as CNI, Docker or Podman set
// it up) to host B with --tcp-established: a client outside (in the switch's
// namespace) holds one TCP connection to the container and checks every echo
// before, during and after the move, never reconnecting; on B the container
// answers at the same address, and A's veth is gone.
func TestMigrateSSHKeepsAddress(t *testing.T) {
	h := newTwoHosts(t)
	for i, mode := range []string{"lazy", "stop-and-copy"} {
		t.Run(mode, func(t *testing.T) {
			addr := fmt.Sprintf("%s%d", twoHostsNet, 50+i)
			nsName, hostEnd := fmt.Sprintf("ctr%d", i), fmt.Sprintf("vc%d", i)
			id := h.A.Env.ID("sshnet" + strings.Split(mode, "-")[0])
			h.B.Env.mu.Lock()
			h.B.Env.ids = append(h.B.Env.ids, id)
			h.B.Env.mu.Unlock()
			defer h.A.Env.Run("delete", "--force", id)
			defer h.B.Env.Run("delete", "--force", id)
			// The host's network setup for the container (CNI's job).
			for _, c := range [][]string{{"netns", "add", nsName},
				{"link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", nsName},
				{"link", "set", hostEnd, "master", "br0", "up"},
				{"-n", nsName, "addr", "add", addr + twoHostsPrefix, "dev", "eth0"},
				{"-n", nsName, "link", "set", "eth0", "up"}, {"-n", nsName, "link", "set", "lo", "up"}} {
				h.nsRun(h.A, "nm", append([]string{"ip"}, c...)...)
			}
			bundle := func(n *netHost) (string, string) {
				vol := n.Env.Mkdir("vol")
				b := n.Env.NewBundle(WithNetprog(), Bind(vol, "/out"),
					Args("/bin/netprog", "-addr", "0.0.0.0:7777", "-out", "/out/replies"),
					Edit(func(s *specs.Spec) {
						s.Linux.CgroupsPath = "/mycr-twohosts-" + n.Name + "/" + id
						for j := range s.Linux.Namespaces {
							if s.Linux.Namespaces[j].Type == specs.NetworkNamespace {
								s.Linux.Namespaces[j].Path = "/run/netns/" + nsName
							}
						}
					}))
				return b, filepath.Join(vol, "replies")
			}
			bundleA, repliesA := bundle(h.A)
			bundleB, repliesB := bundle(h.B)
			if r := h.RunOn(h.A, defaultTimeout, "run", "-d", "--bundle", bundleA, id); r.Code != 0 {
				t.Fatalf("run on A:\n%s", r)
			}
			waitReplies(t, repliesA, 3)
			client := filepath.Join(h.Base, "client-"+nsName)
			cmd := h.SwitchCmd(netprogBin, "-connect", addr+":7777", "-out", client, "-interval", "50ms")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }()
			waitReplies(t, client, 5)
			r := h.StartOn(h.A, "migrate", "--to", "ssh://"+h.target, "--target-root", h.B.Env.Root, "--remote-mycr", mycrBin,
				"--bundle", bundleB, "--tcp-established", "--mode", mode, "--format", "json", id).Wait(4 * time.Minute)
			if r.Code != 0 {
				t.Fatalf("migrate over ssh failed:\n%s", r)
			}
			rep := parseSSHReport(t, r)
			before := lastReply(t, client)
			// The same connection goes on: more echoes, no error line, the client still running.
			waitReplies(t, client, before+20)
			waitReplies(t, repliesB, 3)
			t.Logf("%s: frozen %.0f ms, total %.0f ms; client at %d echoes before the report, %d now, the same connection",
				mode, rep.FrozenMs, rep.TotalMs, before, lastReply(t, client))
			if out, err := h.NsCmd(h.A.Host, "n", "ip", "link", "show", hostEnd).CombinedOutput(); err == nil {
				t.Errorf("host A still has the container's veth %s:\n%s", hostEnd, out)
			}
			if out := h.nsRun(h.B, "n", "ip", "-o", "link", "show", hostEnd); !strings.Contains(out, "master br0") {
				t.Errorf("host B's %s is not on br0: %s", hostEnd, out)
			}
		})
	}
}
