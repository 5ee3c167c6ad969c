package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mycr/mycr/internal/twohosts"
)

// migrateLink: `mycr migrate --to ssh://hostb` of a memhog container between
// two hosts (internal/twohosts: network and mount namespaces, an sshd each)
// whose link is shaped to b.LinkRate, post-copy (lazy) vs stop-and-copy, each
// with images and pages on the direct TLS channel (the default) and through
// ssh, the variants alternating. Every byte of images and pages crosses the link.
func (b *Bench) migrateLink() error {
	rate, err := parseRate(b.LinkRate)
	if err != nil {
		return err
	}
	base, err := os.MkdirTemp(b.diskDir, "twohosts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	h, err := twohosts.New(base, runCmd)
	if err != nil {
		return err
	}
	defer h.Stop()
	if err := h.Shape(b.LinkRate); err != nil {
		return err
	}
	onHost := func(n *twohosts.Host) *rt {
		return &rt{Name: "mycr", Bin: b.mycr.Bin, Root: n.Root(), Env: h.Env(n), Prefix: "l" + n.Name,
			Log: filepath.Join(b.Work, "logs", "mycr-host-"+n.Name+".log"), Wrap: h.Wrap(n)}
	}
	src, dst := onHost(h.A), onHost(h.B)
	// The "shared" variants find the ssh connection open, as in every move
	// after a user's first (h.Stop ends it).
	if out, err := runCmd(h.On(h.A, "ssh", h.B.SharedSSHName(), "true")); err != nil {
		return fmt.Errorf("shared ssh connection to host B: %w: %s", err, lastLines(string(out), 3))
	}
	for _, size := range b.LinkSizes {
		bundle, err := b.memBundle(size, 0)
		if err != nil {
			return err
		}
		t := time.Now()
		for i := 0; i < b.LinkRuns; i++ {
			for _, v := range rotate(linkVariants(), i) {
				if err := b.migrateLinkOnce(h, src, dst, rate, size, v, bundle, i); err != nil {
					logf("migrate over the link %d MiB %s: %v", size, v.who(), err)
					b.res.get("link", "frozen", v.who(), size, "").fail(err)
				}
			}
		}
		logf("migrate over the link %d MiB: %d rounds in %.0f s", size, b.LinkRuns, time.Since(t).Seconds())
	}
	return nil
}

// linkVariant is one mode over one channel, with ssh's start in the
// migration or an ssh connection already open (shared).
type linkVariant struct {
	mode, channel string
	shared        bool
}

// linkChannels: the default first; its series keep the bare mode as their name.
var linkChannels = []string{"tls", "ssh"}

func linkVariants() []linkVariant {
	var vs []linkVariant
	for _, c := range linkChannels {
		for _, m := range migrateModes {
			vs = append(vs, linkVariant{mode: m, channel: c})
		}
	}
	for _, m := range migrateModes {
		vs = append(vs, linkVariant{mode: m, channel: linkChannels[0], shared: true})
	}
	return vs
}

// who names the variant's series: "lazy", "lazy/ssh" off the default
// channel, "lazy/shared" with the ssh connection open.
func (v linkVariant) who() string {
	if v.shared {
		return v.mode + "/shared"
	}
	if v.channel == linkChannels[0] {
		return v.mode
	}
	return v.mode + "/" + v.channel
}

func (b *Bench) migrateLinkOnce(h *twohosts.Hosts, src, dst *rt, rate float64, size int, v linkVariant, bundle string, i int) error {
	mode, who := v.mode, v.who()
	target := "hostb"
	if v.shared {
		target = h.B.SharedSSHName()
	}
	tag := fmt.Sprintf("link%d%s%s%s%d", size, mode[:1], v.channel[:1], target[len(target)-1:], i)
	// Both "hosts" share this machine's cgroups: the target needs an ID (and
	// so a cgroup) of its own while the frozen source still holds its cgroup.
	id, tid := src.id(tag), dst.id(tag)
	pid, err := b.startMemhog(src, bundle, id)
	if err != nil {
		return err
	}
	b.warmMemory(size + 64)
	before, err := h.LinkBytes(h.A)
	if err != nil {
		src.remove(id, pid)
		return err
	}
	res, err := Cmd{Args: src.cmd("migrate", "--to", "ssh://"+target, "--target-root", dst.Root, "--remote-mycr", b.mycr.Bin,
		"--target-id", tid, "--mode", mode, "--channel", v.channel, "--no-fallback", "--format", "json", id),
		Env: src.Env, Capture: true, Timeout: 15 * time.Minute}.Run()
	if err != nil {
		src.remove(id, pid)
		_, _ = dst.delete(tid, true)
		return err
	}
	after, err := h.LinkBytes(h.A)
	if err != nil {
		return err
	}
	_ = waitOrphan(pid, time.Minute)
	var rep migrateReport
	if err := json.Unmarshal([]byte(lastLines(res.Output, 1)), &rep); err != nil {
		_, _ = dst.delete(tid, true)
		return fmt.Errorf("no JSON report from migrate (%v): %s", err, lastLines(res.Output, 3))
	}
	pid2 := rep.TargetPid
	defer dst.remove(tid, pid2)
	if rep.Mode != mode || rep.Channel != v.channel {
		return fmt.Errorf("asked for %s over %s, got %s (%s) over %s", mode, v.channel, rep.Mode, rep.FallbackReason, rep.Channel)
	}
	if !memhogAlive(pid2, size) {
		return fmt.Errorf("migrated memhog (pid %d) is not running with %d MiB on host B", pid2, size)
	}
	wire := after - before
	b.res.get("link", "frozen", who, size, "").add(rep.FrozenMs)
	tot := b.res.get("link", "total", who, size, "")
	tot.add(rep.TotalMs)
	tot.addBytes(rep.BytesMoved)
	lim := b.res.get("link", "limit", who, size, "")
	lim.add(float64(wire) * 8 / rate * 1000)
	lim.addBytes(wire)
	b.res.get("link", "command", who, size, "").add(res.Ms())
	return nil
}

// runCmd runs a short command of the two-host setup through Run: the bench's
// reaper owns wait4(-1), so os/exec could not collect its status.
func runCmd(c *exec.Cmd) ([]byte, error) {
	res, err := Cmd{Args: c.Args, Env: c.Env, Dir: c.Dir, Capture: true}.Run()
	return []byte(res.Output), err
}

// parseRate reads tc's rate syntax (bit, kbit, mbit, gbit) as bits per second.
func parseRate(s string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(strings.ToLower(s), u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v <= 0 {
				break
			}
			return v * u.mult, nil
		}
	}
	return 0, fmt.Errorf("-link-rate %q: want a rate like 1gbit or 100mbit", s)
}
