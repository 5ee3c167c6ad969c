package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	jvmPort  = 8080
	jvmQuery = "w123"
	jvmDocs  = 500000
)

var jvmModules = "java.base,java.xml,java.sql,java.desktop,java.management,java.naming,jdk.compiler"

// jvm: time to the first correct answer of a JVM service that warms up for
// seconds, from `run -d` (cold start) and from `restore -d` of a checkpoint taken
// once it answered. Each round: cold start, first answer, checkpoint, restore,
// first answer, remove; runtimes alternate.
func (b *Bench) jvm() error {
	if b.jvmRootfs == "" {
		return fmt.Errorf("no JVM workload: %s", b.res.Skipped["jvm"])
	}
	bundle, err := b.jvmBundle("b-jvm", 0)
	if err != nil {
		return err
	}
	b.res.Settings["jvm_workload"] = fmt.Sprintf("OpenJDK (%s) in a container with the host's /usr and JDK config bind-mounted read-only: loads every class of %s (without initializing them), indexes %d generated documents in two passes, runs a full GC (small young generation, heap free ratios 10-20 %%, so the JVM returns the warm-up's garbage to the OS), then listens on 127.0.0.1:%d in the container's own network namespace; the bench asks from inside that namespace (setns on one of its threads, no exec) every 2 ms",
		b.jvmJava, strings.ReplaceAll(jvmModules, ",", ", "), jvmDocs, jvmPort)
	expect := ""
	for i := 0; i < b.JVMRuns; i++ {
		for _, r := range rotate([]*rt{b.mycr, b.runc}, i) {
			if err := b.jvmRound(r, bundle, i, &expect); err != nil {
				logf("jvm %s round %d: %v", r.Name, i, err)
			}
		}
	}
	b.res.Facts["jvm answer"] = expect
	return nil
}

func (b *Bench) jvmRound(r *rt, bundle string, i int, expect *string) error {
	id := r.id(fmt.Sprintf("jvm%d", i))
	pids := filepath.Join(b.Work, "pids")
	img := filepath.Join(b.Work, "img", id)
	defer os.RemoveAll(img)
	cold := b.res.get("jvm", "cold start to first answer", r.Name, 0, "")
	ck := b.res.get("jvm", "checkpoint", r.Name, 0, "")
	rs := b.res.get("jvm", "restore to first answer", r.Name, 0, "")
	rsOnly := b.res.get("jvm", "restore command", r.Name, 0, "")
	start, pid, err := r.runDetached(bundle, id, filepath.Join(pids, id))
	if err != nil {
		cold.fail(err)
		_, _ = r.delete(id, true)
		return err
	}
	ans, at, err := firstAnswer(pid, jvmPort, jvmQuery, 2*time.Minute)
	if err == nil {
		err = b.checkAnswer(ans, expect)
	}
	if err != nil {
		cold.fail(err)
		r.remove(id, pid)
		return err
	}
	cold.add(float64(at.Sub(start.Start).Microseconds()) / 1000)
	sleepMs(300)
	res, err := r.checkpoint(id, img)
	if err != nil {
		ck.fail(err)
		r.remove(id, pid)
		return err
	}
	_ = waitOrphan(pid, 30*time.Second)
	ck.add(res.Ms())
	ck.addBytes(imageBytes(img))
	res, pid2, err := r.restore(bundle, id, img, filepath.Join(pids, id+".restored"))
	if err != nil {
		rs.fail(err)
		r.remove(id, pid2)
		return err
	}
	rsOnly.add(res.Ms())
	ans, at, err = firstAnswer(pid2, jvmPort, jvmQuery, 30*time.Second)
	if err == nil {
		err = b.checkAnswer(ans, expect)
	}
	if err != nil {
		rs.fail(err)
		if st, e := loopbackState(pid2); e == nil {
			b.res.Facts["jvm loopback after restore: "+r.Name] = st
		}
		r.remove(id, pid2)
		return err
	}
	rs.add(float64(at.Sub(res.Start).Microseconds()) / 1000)
	r.remove(id, pid2)
	return nil
}

func (b *Bench) checkAnswer(ans string, expect *string) error {
	f := strings.Fields(ans)
	if len(f) != 3 || f[0] != jvmQuery {
		return fmt.Errorf("unexpected answer %q", ans)
	}
	if *expect == "" {
		*expect = ans
	}
	if ans != *expect {
		return fmt.Errorf("answer %q differs from the first one %q", ans, *expect)
	}
	return nil
}

func (m *mdWriter) jvm() {
	m.p("## 4. Slow-start JVM service: time to first correct answer")
	m.p("")
	if v := m.res.Settings["jvm_workload"]; v != "" {
		m.p("Workload (`bench/workloads/IndexServer.java`): %s. A correct answer is the same line", v)
		m.p("(`%s`) every time. Cold start is measured from `run -d` to the first correct answer;", m.res.Facts["jvm answer"])
		m.p("restore from `restore -d` of a checkpoint taken once the service had answered (same image dir on disk).")
		m.p("")
	}
	m.p("| runtime | cold start → first answer | checkpoint | image size | `restore` command | restore → first answer | restore / cold |")
	m.p("|---|---|---|---|---|---|---|")
	for _, w := range []string{"mycr", "runc"} {
		c, rs := m.s("jvm", "cold start to first answer", w), m.s("jvm", "restore to first answer", w)
		rest := cell(rs)
		if !rs.ok() && rs != nil && len(rs.Errors) > 0 {
			rest = "**never** (" + shortErr(rs.Errors[0]) + ")"
		}
		m.p("| %s | %s | %s | %s | %s | %s | %s |", w, cell(c), cell(m.s("jvm", "checkpoint", w)), fmtBytes(m.s("jvm", "checkpoint", w).medBytes()),
			cell(m.s("jvm", "restore command", w)), rest, ratio(rs, c))
	}
	m.p("")
	var sb strings.Builder
	sb.WriteString("$D << EOD\n")
	for _, w := range []string{"mycr", "runc"} {
		c, rs := m.s("jvm", "cold start to first answer", w), m.s("jvm", "restore to first answer", w)
		cv, rv := math.NaN(), math.NaN()
		if c.ok() {
			cv = c.med() / 1000
		}
		if rs.ok() {
			rv = rs.med() / 1000
		}
		rl := "no answer"
		if !math.IsNaN(rv) {
			rl = fmt.Sprintf("%.2f s", rv)
		}
		fmt.Fprintf(&sb, "%q %s %s %q %q\n", w, nanZero(cv), nanZero(rv), fmt.Sprintf("%.2f s", cv), rl)
	}
	sb.WriteString("EOD\n")
	sb.WriteString("set title 'JVM service: time to first correct answer (median)'\nset ylabel 's'\nset style data histograms\nset style histogram clustered gap 1.5\n")
	sb.WriteString("set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\nset yrange [0:*]\nset key top right\n")
	sb.WriteString("plot $D using 2:xtic(1) title 'cold start (run -d)' lc rgb '#c7c7c7', '' using 3 title 'restore -d' lc rgb '#1f77b4', " +
		"'' using ($0-0.15):($2):4 with labels offset 0,0.8 notitle, '' using ($0+0.15):($3):5 with labels offset 0,0.8 notitle\n")
	if img := m.plotSized("jvm-first-answer.png", sb.String(), 800, 450); img != "" {
		m.p("%s", img)
		m.p("")
	}
}

func shortErr(e string) string {
	if i := strings.LastIndex(e, ": "); i >= 0 && len(e)-i < 120 {
		return e[i+2:]
	}
	if len(e) > 120 {
		return e[:120] + "…"
	}
	return e
}

// jvmBundle is section 4's JVM service bundle; cacheMiB > 0 adds the warm
// cache (and the heap for it).
func (b *Bench) jvmBundle(name string, cacheMiB int) (string, error) {
	args := []string{b.jvmJava, "-XX:+UseSerialGC", "-Xms32m", "-Xmn16m", "-Xmx" + strconv.Itoa(1024+cacheMiB) + "m",
		"-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20", "-XX:-UsePerfData", "-cp", "/app",
		"IndexServer", strconv.Itoa(jvmPort), strconv.Itoa(jvmDocs), jvmModules}
	if cacheMiB > 0 {
		args = append(args, strconv.Itoa(cacheMiB))
	}
	return bundleAt(b.runc.Bin, filepath.Join(b.Work, name), b.jvmRootfs, func(c map[string]any) {
		setArgs(args...)(c)
		c["mounts"] = append(c["mounts"].([]any), b.jvmMounts...)
	})
}
