package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeCounter is the only edit to `mycr spec`'s config.json besides terminal
// (the README's own comment says to edit both: a terminal container cannot run
// detached without a console socket): a counter on stdout, also kept in
// /dev/shm (a tmpfs CRIU saves) so each container's count can be read from the
// host whatever its stdout became. The README's rootfs has no sleep applet link.
var readmeCounter = []string{"sh", "-c", `i=0; while true; do i=$((i+1)); echo $i; echo $i > /dev/shm/count; busybox sleep 0.1; done`}

// TestReadmeExamples runs the `sh` blocks of README.md's "Use" section, read at
// test time, line by line in order, with the README's own stdio redirections,
// and checks each does what it says: a plain checkpoint takes the container
// away, a restore brings it back counting on from where it stopped, a second
// copy under a new ID counts, inspect shows the processes, --all round trips.
// Substituted: absolute paths go under the test's temp dir (/bin/busybox and
// /dev/* stay), container IDs get the run's prefix (cgroup paths are global),
// `mycr` is MYCR_BINARY through PATH, each state root (`--root`, and the default
// one) is a root of the test, and `ssh HOST` runs the command locally with a
// root standing for HOST (a `migrate --to ssh://HOST` line is left to the
// two-host tests, TestMigrateSSH*). Optional `[...]` arguments are left out. Where the
// README presumes something it did not do (another bundle, an older
// checkpoint, a container running on the host a line addresses), the test
// makes it and says so in the log.
func TestReadmeExamples(t *testing.T) {
	requireCRIU(t)
	readme := "../README.md"
	if p := os.Getenv("MYCR_README"); p != "" { // a variant, to try the test itself
		readme = p
	}
	lines := readmeUseLines(t, readme)
	if len(lines) < 10 {
		t.Fatalf("README.md's Use section has only %d command lines: did its layout change?", len(lines))
	}
	w := newReadmeWorld(t)
	for _, l := range lines {
		w.step(l)
	}
}

type readmeLine struct{ cmd, comment string }

// readmeUseLines returns the command lines of the ```sh blocks of "## Use".
func readmeUseLines(t *testing.T, path string) []readmeLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Use\n")
	if start < 0 {
		t.Fatalf("%s has no \"## Use\" section", path)
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	var out []readmeLine
	inBlock := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			inBlock = true
		case strings.HasPrefix(l, "```"):
			inBlock = false
		case inBlock:
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			cmd, comment := l, ""
			if m := regexp.MustCompile(`\s+#\s`).FindStringIndex(l); m != nil {
				cmd, comment = strings.TrimSpace(l[:m[0]]), strings.TrimSpace(l[m[1]:])
			}
			out = append(out, readmeLine{cmd, comment})
		}
	}
	return out
}

// readmeWorld is the machine (and the other hosts) the README talks about.
type readmeWorld struct {
	t       *testing.T
	fs      string // stands for the host's /
	bin     string // PATH dir holding `mycr`
	cwd     string
	bundle  string            // the README's bundle, once `mycr spec` made it
	roots   map[string]*Env   // README root path (or "ssh:HOST") -> the test's root
	counted map[string]int    // image dir or archive -> count when checkpointed
	stdio   string            // the redirections of the README's `mycr run`
	kinds   map[string]string // image dir or archive -> stdio kinds when checkpointed
}

const readmeDefaultRoot = "/run/mycr"

func newReadmeWorld(t *testing.T) *readmeWorld {
	e := NewEnv(t)
	w := &readmeWorld{t: t, fs: filepath.Join(e.Dir, "fs"), bin: filepath.Join(e.Dir, "bin"), cwd: filepath.Join(e.Dir, "work"),
		roots: map[string]*Env{readmeDefaultRoot: e}, counted: map[string]int{}, kinds: map[string]string{}}
	for _, d := range []string{w.fs, w.bin, w.cwd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(mycrBin, filepath.Join(w.bin, "mycr")); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *readmeWorld) root(name string) *Env {
	if e, ok := w.roots[name]; ok {
		return e
	}
	e := NewEnv(w.t)
	w.roots[name] = e
	return e
}

// readmeCmd is one `mycr ...` command of a line (lines chain them with | and &&).
type readmeCmd struct {
	env   *Env
	verb  string
	id    string            // the container it names (prefixed), if any
	flags map[string]string // --flag -> value (after substitution)
	bools map[string]bool
	args  []string // positional arguments after the verb
}

var (
	readmeID      = regexp.MustCompile(`^web[0-9]\w*$`)
	readmeRedir   = regexp.MustCompile(`^(\d?[<>]+)?(.*)$`)
	readmeOpt     = regexp.MustCompile(`\s*\[[^\]]*\]`)
	readmeValFlag = map[string]bool{"--image-path": true, "--bundle": true, "-b": true, "--image-root": true, "--export": true,
		"--import": true, "--to-root": true, "--target-id": true, "--search": true, "--diff": true, "--root": true, "--console-socket-dir": true}
)

// rewrite substitutes paths, IDs, roots and hosts, and parses the mycr commands.
func (w *readmeWorld) rewrite(line string) (string, []*readmeCmd) {
	if opt := readmeOpt.FindAllString(line, -1); len(opt) > 0 {
		w.t.Logf("README line %q: leaving out the optional%s", line, strings.Join(opt, ""))
		line = readmeOpt.ReplaceAllString(line, "")
	}
	toks := strings.Fields(line)
	var out []string
	var cmds []*readmeCmd
	var cur *readmeCmd
	host := ""
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		switch {
		case tok == "|" || tok == "&&" || tok == ";":
			cur = nil
			out = append(out, tok)
			continue
		case tok == "ssh" && cur == nil && i+1 < len(toks):
			host = toks[i+1]
			w.t.Logf("README line %q: running `ssh %s` locally, with a root of its own for %s", line, host, host)
			i++
			continue
		case tok == "mycr" && cur == nil:
			cur = &readmeCmd{flags: map[string]string{}, bools: map[string]bool{}}
			if host != "" {
				cur.env = w.root("ssh:" + host)
				host = ""
			}
			cmds = append(cmds, cur)
			out = append(out, "mycr")
			continue
		}
		m := readmeRedir.FindStringSubmatch(tok)
		redir, rest := m[1], m[2]
		prev := ""
		if i > 0 {
			prev = toks[i-1]
		}
		switch {
		case prev == "--root" || prev == "--to-root":
			rest = w.root(rest).Root
		case strings.HasPrefix(rest, "/") && rest != busyboxPath && !strings.HasPrefix(rest, "/dev/"):
			rest = filepath.Join(w.fs, rest)
		case readmeID.MatchString(rest):
			rest = runID + "-" + rest
		}
		tok = redir + rest
		out = append(out, tok)
		if cur == nil || redir != "" {
			continue
		}
		switch {
		case readmeValFlag[prev]:
			cur.flags[prev] = tok
			if prev == "--root" {
				cur.env = w.rootByDir(tok)
			}
		case strings.HasPrefix(tok, "-"):
			if !readmeValFlag[tok] {
				cur.bools[tok] = true
			}
		case cur.verb == "":
			cur.verb = tok
		default:
			cur.args = append(cur.args, tok)
		}
	}
	for _, c := range cmds {
		if n := len(c.args); n > 0 && strings.HasPrefix(c.args[n-1], runID+"-") {
			c.id = c.args[n-1]
		}
	}
	// Give each mycr command its root: the one named, else where its container
	// runs (another host, for the README), else the default root.
	var final []string
	k := 0
	for i, tok := range out {
		final = append(final, tok)
		if tok != "mycr" || (i > 0 && !strings.Contains("|&&;", out[i-1])) {
			continue
		}
		c := cmds[k]
		k++
		if c.env == nil {
			c.env = w.where(c.id)
			if c.env == nil {
				c.env = w.roots[readmeDefaultRoot]
			}
		}
		if _, named := c.flags["--root"]; !named {
			final = append(final, "--root", c.env.Root)
		}
	}
	return strings.Join(final, " "), cmds
}

func (w *readmeWorld) rootByDir(dir string) *Env {
	for _, e := range w.roots {
		if e.Root == dir {
			return e
		}
	}
	return nil
}

// where finds the root in which container id exists.
func (w *readmeWorld) where(id string) *Env {
	if id == "" {
		return nil
	}
	for _, e := range w.roots {
		if e.Run("state", id).Code == 0 {
			return e
		}
	}
	return nil
}

// step runs one README line and checks it did what it says.
func (w *readmeWorld) step(l readmeLine) {
	t := w.t
	if strings.Contains(l.cmd, "--to ssh://") {
		// Another machine: TestMigrateSSH* run this with real sshds on two
		// hosts (internal/twohosts); here there is no host2 to reach.
		t.Logf("README: %s   # left to TestMigrateSSH (two hosts, real sshd)", l.cmd)
		return
	}
	line, cmds := w.rewrite(l.cmd)
	w.prepare(l, cmds)
	before := map[*readmeCmd][]string{}
	for _, c := range cmds {
		if c.verb == "checkpoint" {
			before[c] = w.running(c.env)
			w.noteCount(c)
		}
	}
	e := w.roots[readmeDefaultRoot]
	cwdFile := filepath.Join(e.Dir, ".cwd")
	script := line + "\n__rc=$?; pwd > " + cwdFile + "; exit $__rc"
	r := w.sh(e, w.cwd, script, l.cmd)
	t.Logf("README: %s   # %s\n  ran: %s\n  -> %d, stdout %q, stderr %q", l.cmd, l.comment, line, r.Code, clip(r.Stdout), clip(r.Stderr))
	if r.Code != 0 {
		t.Fatalf("README example failed: %s\n%s", l.cmd, r)
	}
	if b, err := os.ReadFile(cwdFile); err == nil {
		w.cwd = strings.TrimSpace(string(b))
	}
	for _, c := range cmds {
		w.expect(l, c, r, before[c])
	}
}

// prepare makes what a line presumes and the README did not make.
func (w *readmeWorld) prepare(l readmeLine, cmds []*readmeCmd) {
	t := w.t
	for _, c := range cmds {
		if b := c.flags["--bundle"]; b != "" && w.bundle != "" && !exists(b) {
			t.Logf("README line %q presumes a bundle at %s: a copy of the README's bundle", l.cmd, b)
			copyTree(t, w.bundle, b)
		}
		if old := c.flags["--diff"]; old != "" && !exists(old) && len(c.args) > 0 {
			t.Logf("README line %q presumes an older checkpoint %s: a copy of %s (no change expected)", l.cmd, old, c.args[0])
			copyTree(t, c.args[0], old)
		}
		if (c.verb == "checkpoint" && !c.bools["--all"]) || c.verb == "migrate" {
			if c.env.Run("state", c.id).Code != 0 {
				t.Logf("README line %q presumes %s runs there: starting it as the README's first example does", l.cmd, c.id)
				b := filepath.Join(filepath.Dir(c.env.Root), "bundle-"+c.id)
				copyTree(t, w.bundle, b)
				run := fmt.Sprintf("%s --root %s run -d %s %s", mycrBin, c.env.Root, c.id, w.stdio)
				if r := w.sh(c.env, b, run, run); r.Code != 0 {
					t.Fatalf("starting %s: %s", c.id, r)
				}
				w.expectCounting(c.env, c.id, -1)
			}
		}
	}
}

// noteCount remembers how far a container counted before its checkpoint.
func (w *readmeWorld) noteCount(c *readmeCmd) {
	n, ok := w.count(c.env, c.id)
	if !ok {
		return
	}
	kinds := w.stdioKinds(c.env, c.id)
	for _, f := range []string{"--image-path", "--export"} {
		if v := c.flags[f]; v != "" && v != "-" {
			w.counted[w.abs(v)] = n
			w.kinds[w.abs(v)] = kinds
		}
	}
}

// expect checks one command of a line did what the README says it does.
func (w *readmeWorld) expect(l readmeLine, c *readmeCmd, r Result, before []string) {
	t := w.t
	switch c.verb {
	case "spec":
		s := ReadSpec(t, w.cwd)
		w.bundle = w.cwd
		s.Process.Args, s.Process.Terminal = readmeCounter, false
		WriteSpec(t, w.cwd, s)
		t.Logf("edited %s/config.json: process.args %q, terminal false (as the README's comment says)", w.cwd, readmeCounter)
	case "run":
		w.stdio = strings.Join(readmeRedirs(l.cmd), " ")
		w.expectCounting(c.env, c.id, -1)
		if strings.Contains(l.cmd, ">out.log") {
			log := filepath.Join(w.cwd, "out.log")
			waitFor(t, 10*time.Second, "the container's stdout to reach out.log", func() (bool, string) {
				return len(readFile(log)) > 0, readFile(log)
			})
		}
	case "checkpoint":
		switch {
		case c.bools["--all"]:
			for _, id := range before {
				c.env.ExpectGone(id)
				if !exists(filepath.Join(c.flags["--image-root"], id, "inventory.img")) {
					t.Errorf("%s: no checkpoint of %s under %s", l.cmd, id, c.flags["--image-root"])
				}
			}
		case c.bools["--leave-running"]:
			w.expectCounting(c.env, c.id, -1)
		default:
			c.env.ExpectGone(c.id) // "container is gone afterwards"
		}
		if img := c.flags["--image-path"]; img != "" && !exists(filepath.Join(img, "inventory.img")) {
			t.Errorf("%s: no checkpoint in %s", l.cmd, img)
		}
		if f := c.flags["--export"]; f != "" && f != "-" && !exists(w.abs(f)) {
			t.Errorf("%s: no archive %s", l.cmd, f)
		}
		if c.bools["--print-stats"] && strings.TrimSpace(r.Stdout+r.Stderr) == "" {
			t.Errorf("%s printed no statistics:\n%s", l.cmd, r)
		}
	case "restore":
		if c.bools["--all"] {
			entries, _ := os.ReadDir(c.flags["--image-root"])
			for _, d := range entries {
				w.expectCounting(c.env, d.Name(), w.counted[filepath.Join(c.flags["--image-root"], d.Name())])
			}
			return
		}
		from := c.flags["--image-path"]
		if from == "" {
			from = w.abs(c.flags["--import"])
		}
		last, ok := w.counted[from]
		if !ok {
			last = -1
		}
		w.expectCounting(c.env, c.id, last) // "back", "a second copy under a new ID" counting
		if strings.Contains(l.comment, "same stdio kind") {
			if got, want := w.stdioKinds(c.env, c.id), w.kinds[from]; got != want {
				t.Errorf("%s: the restored container's stdio is %s, it was %s when checkpointed", l.cmd, got, want)
			}
		}
		if m := writesInto.FindStringSubmatch(l.comment); m != nil {
			w.expectGrowing(filepath.Join(w.cwd, m[1]))
		}
	case "check":
		if strings.TrimSpace(r.Stdout+r.Stderr) == "" {
			t.Errorf("%s printed nothing", l.cmd)
		}
	case "inspect":
		switch {
		case c.flags["--diff"] != "" || c.flags["--search"] != "":
			if strings.TrimSpace(r.Stdout) == "" {
				t.Errorf("%s printed nothing", l.cmd)
			}
		case !strings.Contains(r.Stdout, "busybox sleep") && !strings.Contains(r.Stdout, "while true"):
			t.Errorf("%s does not show the container's processes:\n%s", l.cmd, r.Stdout)
		}
	case "migrate":
		c.env.ExpectGone(c.id)
		to := w.rootByDir(c.flags["--to-root"])
		target := c.flags["--target-id"]
		if target == "" {
			target = c.id
		}
		w.expectCounting(to, target, -1)
	}
}

// writesInto finds a comment's promise that the output goes on into a file.
var writesInto = regexp.MustCompile(`writes on into (\S+)`)

// expectGrowing checks that a file the container writes into keeps growing.
func (w *readmeWorld) expectGrowing(path string) {
	w.t.Helper()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	start := size()
	waitFor(w.t, 10*time.Second, path+" to grow", func() (bool, string) {
		n := size()
		return n > start, fmt.Sprintf("%d bytes (was %d)", n, start)
	})
}

// expectCounting checks id runs in e and its counter moves on, from at least
// last (its count at checkpoint) when last >= 0.
func (w *readmeWorld) expectCounting(e *Env, id string, last int) {
	t := w.t
	t.Helper()
	if e == nil {
		t.Fatalf("no root for %s", id)
	}
	e.ExpectStatus(id, "running")
	var first int
	waitFor(t, 10*time.Second, id+" to count", func() (bool, string) {
		n, ok := w.count(e, id)
		if ok && first == 0 {
			first = n
		}
		return ok && n > first, fmt.Sprintf("count %d (first seen %d)", n, first)
	})
	if last >= 0 && first < last {
		t.Fatalf("%s counted from %d after restore, below %d where it was checkpointed: it started over", id, first, last)
	}
}

// count reads the container's counter from its /dev/shm.
func (w *readmeWorld) count(e *Env, id string) (int, bool) {
	r := e.Run("state", id)
	var s State
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &s) != nil || s.Pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/dev/shm/count", s.Pid))
	n, err2 := strconv.Atoi(strings.TrimSpace(string(b)))
	return n, err == nil && err2 == nil
}

// stdioKinds says what the container's fds 0-2 are: file, pipe, socket, /dev/null...
func (w *readmeWorld) stdioKinds(e *Env, id string) string {
	r := e.Run("state", id)
	var s State
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &s) != nil {
		return "unknown"
	}
	var kinds []string
	for fd := 0; fd < 3; fd++ {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", s.Pid, fd))
		switch {
		case err != nil:
			l = "closed"
		case strings.HasPrefix(l, "/dev/"):
		case strings.HasPrefix(l, "/"):
			l = "file"
		default:
			l, _, _ = strings.Cut(l, ":")
		}
		kinds = append(kinds, l)
	}
	return strings.Join(kinds, ",")
}

// running lists the running or paused containers of a root.
func (w *readmeWorld) running(e *Env) []string {
	r := e.Run("list", "--format", "json")
	var l []ListEntry
	_ = json.Unmarshal([]byte(r.Stdout), &l)
	var ids []string
	for _, c := range l {
		if c.Status == "running" || c.Status == "paused" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func (w *readmeWorld) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(w.cwd, p)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v %s", src, dst, err, out)
	}
}

// readmeRedirs lists a line's stdio redirections (</dev/null, >out.log, 2>&1).
func readmeRedirs(line string) []string {
	var out []string
	for _, tok := range strings.Fields(line) {
		if m := readmeRedir.FindStringSubmatch(tok); m[1] != "" {
			out = append(out, tok)
		}
	}
	return out
}

// sh runs a shell script in dir, mycr in its PATH; its stdio are the harness's
// drained pipes (a detached container may keep them).
func (w *readmeWorld) sh(e *Env, dir, script, show string) Result {
	p := e.start(Stdio{}, func(c *exec.Cmd) {
		c.Path, c.Args, c.Dir = "/bin/sh", []string{"sh", "-c", script}, dir
		c.Env = append(os.Environ(), "PATH="+w.bin+":"+os.Getenv("PATH"))
	}, "sh", "-c", show)
	return p.Wait(3 * defaultTimeout)
}
