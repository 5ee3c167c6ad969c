package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// inspected is `mycr inspect --format json`, as the tests read it.
type inspected struct {
	Dir        string `json:"dir"`
	ImageBytes int64  `json:"image_bytes"`
	Meta       struct {
		ID, Runtime, Kernel, Bundle string
		CriuVersion                 int `json:"criuVersion"`
		Created                     time.Time
	} `json:"meta"`
	Processes []inspectedProc `json:"processes"`
	Files     []struct {
		PID                  uint32
		Fd, Type, Path, Mode string
	} `json:"files"`
	Sockets []struct {
		PID, Fd                 uint32
		Family, Protocol, State string
		SrcAddr                 string `json:"src_addr"`
		SrcPort                 uint32 `json:"src_port"`
		DstAddr                 string `json:"dst_addr"`
		DstPort                 uint32 `json:"dst_port"`
	} `json:"sockets"`
	Mounts []struct {
		Mountpoint, Source string
		FsType             string `json:"fstype"`
		External           bool
	} `json:"mounts"`
	Memory []struct {
		PID    uint32
		Mapped uint64 `json:"mapped_bytes"`
		Dumped uint64 `json:"dumped_bytes"`
		Maps   []struct {
			What   string
			Size   uint64
			Dumped uint64 `json:"dumped_bytes"`
		}
	} `json:"memory"`
}

type inspectedProc struct {
	PID, PPID   uint32
	Comm, State string
	Args, Env   []string
	Namespaces  map[string]uint32
}

// The workload: sh (pid 1) holds /out/evidence.log on fd 3 and a string it
// computed (so in its heap only, in no command line); netprog (its child)
// listens on 127.0.0.1:7777 and talks to itself. Once /out/go exists, sh opens
// /out/second.log on fd 4 and grows its heap by 3 MB, for a second checkpoint.
const inspectScript = `S=$(echo hunter | tr a-z A-Z)-$((6*7))
exec 3>/out/evidence.log
/bin/netprog -addr 127.0.0.1:7777 -out /out/replies &
while true; do
  if [ -f /out/go ] && [ -z "$B" ]; then exec 4>/out/second.log; B=$(head -c 3000000 /dev/zero | tr '\0' x); echo grown >/out/grown; fi
  sleep 1
done`

// TestInspectCheckpoint: the facts above show up in `mycr inspect` exactly,
// from an image dir and from an archive; memory search finds the string in
// sh's heap; --diff of two checkpoints shows the new file, the heap growth and
// the replaced sleep child.
func TestInspectCheckpoint(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	vol := e.Mkdir("vol")
	bundle := e.NewBundle(WithNetprog(), Bind(vol, "/out"), Shell(inspectScript),
		Edit(func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "TOKEN=tok-99") }))
	id := e.ID("inspect")
	e.MustRun("run", "-d", "--bundle", bundle, id)
	waitReplies(t, filepath.Join(vol, "replies"), 2)
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(id, img, "--leave-running", "--tcp-established")
	if err := os.WriteFile(filepath.Join(vol, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the shell to open its second file", func() (bool, string) {
		_, err := os.Stat(filepath.Join(vol, "grown"))
		return err == nil, "no /out/grown"
	})
	time.Sleep(1500 * time.Millisecond) // the shell's `sleep 1` child is replaced meanwhile
	archive := filepath.Join(e.Dir, "ck.tar.zst")
	e.MustRun("checkpoint", "--leave-running", "--tcp-established", "--export", archive, id)

	osRelease, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	for _, src := range []string{img, archive} {
		var in inspected
		out := e.MustRun("inspect", "--ps", "--files", "--sockets", "--mounts", "--mem", "--env", "--format", "json", src)
		if err := json.Unmarshal([]byte(out.Stdout), &in); err != nil {
			t.Fatalf("inspect %s: not JSON: %v\n%s", src, err, out)
		}
		m := in.Meta
		if m.ID != id || m.Bundle != bundle || !strings.HasPrefix(m.Runtime, "mycr ") || m.CriuVersion < 40000 ||
			m.Kernel != strings.TrimSpace(string(osRelease)) || time.Since(m.Created) > 10*time.Minute {
			t.Errorf("%s: metadata %+v", src, m)
		}
		if in.ImageBytes <= 0 {
			t.Errorf("%s: image size %d", src, in.ImageBytes)
		}
		checkInspectedFacts(t, src, &in)
	}

	// The text output says the same to a person.
	text := e.MustRun("inspect", img).Stdout
	for _, want := range []string{"checkpoint of " + id, "processes:", "sh -c S=$(echo hunter", "/bin/netprog -addr 127.0.0.1:7777",
		"/out/evidence.log", "tcp LISTEN 127.0.0.1:7777", "mounts:", "/out", "(external)", "namespaces"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect %s: text output lacks %q:\n%s", img, want, text)
		}
	}
	if strings.Contains(text, "TOKEN=tok-99") {
		t.Errorf("the environment is shown without --env:\n%s", text)
	}

	// Memory search: in sh's heap, from the dir and from the archive.
	for _, src := range []string{img, archive} {
		hits := e.MustRun("inspect", "--search", "HUNTER-42", src).Stdout
		if !regexp.MustCompile(`(?m)^pid 1 \(sh\) at 0x[0-9a-f]+ in \[heap\]: .*S=HUNTER-42`).MatchString(hits) {
			t.Errorf("%s: memory search did not find the string in sh's heap:\n%s", src, hits)
		}
	}
	var res struct {
		Matches []struct {
			PID              uint32
			Address, Context string
		}
	}
	out := e.MustRun("inspect", "--search", "tok-99", "--context", "6", "--format", "json", img).Stdout
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Matches) == 0 || !strings.Contains(res.Matches[0].Context, "TOKEN=tok-99") {
		t.Errorf("JSON search for the environment value: %v\n%s", err, out)
	}
	if out := e.MustRun("inspect", "--search", "no-such-string-anywhere-7", img).Stdout; !strings.Contains(out, "not found") {
		t.Errorf("a search without hits says: %q", out)
	}

	// Two checkpoints of the same container, as the README writes it: --diff OLD NEW.
	diff := e.MustRun("inspect", "--diff", img, archive).Stdout
	for _, re := range []string{`(?m)^\+ file pid 1: fd 4 /out/second\.log$`, `(?m)^~ memory pid 1: mapped [\d.]+ ?\S+ -> [\d.]+ ?\S+, dumped`,
		`(?m)^- process pid \d+: sleep \(sleep 1\)$`, `(?m)^\+ process pid \d+: sleep \(sleep 1\)$`} {
		if !regexp.MustCompile(re).MatchString(diff) {
			t.Errorf("inspect --diff lacks %s:\n%s", re, diff)
		}
	}
	if strings.Contains(diff, "evidence.log") || strings.Contains(diff, "7777") {
		t.Errorf("inspect --diff shows what did not change:\n%s", diff)
	}
	var changes []struct{ Op, Kind, What string }
	out = e.MustRun("inspect", "--diff", img, "--format", "json", archive).Stdout
	if err := json.Unmarshal([]byte(out), &changes); err != nil || !slices.ContainsFunc(changes, func(c struct{ Op, Kind, What string }) bool {
		return c.Op == "+" && c.Kind == "file" && c.What == "fd 4 /out/second.log"
	}) {
		t.Errorf("JSON diff: %v\n%s", err, out)
	}
}

func checkInspectedFacts(t *testing.T, src string, in *inspected) {
	t.Helper()
	procs := map[string]inspectedProc{}
	for _, p := range in.Processes {
		procs[p.Comm] = p
	}
	sh, np := procs["sh"], procs["netprog"]
	if sh.PID != 1 || sh.State != "alive" || !slices.Equal(sh.Args, []string{"sh", "-c", inspectScript}) || !slices.Contains(sh.Env, "TOKEN=tok-99") {
		t.Errorf("%s: sh: %+v", src, sh)
	}
	if np.PPID != 1 || !slices.Equal(np.Args, []string{"/bin/netprog", "-addr", "127.0.0.1:7777", "-out", "/out/replies"}) {
		t.Errorf("%s: netprog: %+v", src, np)
	}
	if sh.Namespaces["net"] == 0 || sh.Namespaces["net"] != np.Namespaces["net"] || sh.Namespaces["pid"] != np.Namespaces["pid"] {
		t.Errorf("%s: namespaces of sh %v and netprog %v", src, sh.Namespaces, np.Namespaces)
	}
	evidence := slices.IndexFunc(in.Files, func(f struct {
		PID                  uint32
		Fd, Type, Path, Mode string
	}) bool {
		return f.PID == 1 && f.Fd == "3" && f.Path == "/out/evidence.log" && f.Mode == "w" && f.Type == "reg"
	})
	if evidence < 0 {
		t.Errorf("%s: sh's fd 3 (w) on /out/evidence.log not listed: %+v", src, in.Files)
	}
	var listen, client, server bool
	for _, s := range in.Sockets {
		if s.PID != np.PID || s.Family != "ipv4" || s.Protocol != "tcp" {
			continue
		}
		listen = listen || s.State == "LISTEN" && s.SrcAddr == "127.0.0.1" && s.SrcPort == 7777 && s.DstPort == 0
		client = client || s.State == "ESTABLISHED" && s.DstAddr == "127.0.0.1" && s.DstPort == 7777
		server = server || s.State == "ESTABLISHED" && s.SrcPort == 7777 && s.DstAddr == "127.0.0.1"
	}
	if !listen || !client || !server {
		t.Errorf("%s: want netprog's listener on 127.0.0.1:7777 and both ends of its connection (%v %v %v): %+v", src, listen, client, server, in.Sockets)
	}
	if !slices.ContainsFunc(in.Mounts, func(m struct {
		Mountpoint, Source string
		FsType             string `json:"fstype"`
		External           bool
	}) bool {
		return m.Mountpoint == "/out" && m.External
	}) {
		t.Errorf("%s: the /out volume is not an external mount: %+v", src, in.Mounts)
	}
	for _, m := range in.Memory {
		if m.PID != 1 {
			continue
		}
		kinds := map[string]bool{}
		for _, mp := range m.Maps {
			kinds[mp.What] = true
		}
		if m.Dumped == 0 || m.Mapped <= m.Dumped || !kinds["[heap]"] || !kinds["[stack]"] || !kinds["/bin/busybox"] {
			t.Errorf("%s: memory of sh: mapped %d dumped %d, mappings %v", src, m.Mapped, m.Dumped, kinds)
		}
		return
	}
	t.Errorf("%s: no memory for pid 1: %+v", src, in.Memory)
}
