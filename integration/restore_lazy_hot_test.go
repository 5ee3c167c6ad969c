package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lazyDaemonLog is what a lazy restore's daemon log says: the pages it had
// to serve (sum of "Found N pages to be handled by UFFD") and the pages the
// processes faulted on ("PID-FD: #PF at 0xADDR", by pid and address), less
// those outside their images' pages (answered with "zero page at 0xADDR").
type lazyDaemonLog struct {
	served int
	faults map[string]bool
}

var (
	foundRe = regexp.MustCompile(`Found (\d+) pages to be handled by UFFD`)
	faultRe = regexp.MustCompile(`(\d+)-\d+: #PF at (0x[0-9a-f]+)`)
	zeroRe  = regexp.MustCompile(`(\d+)-\d+: zero page at (0x[0-9a-f]+)`)
)

func readLazyDaemonLog(t *testing.T, img string) lazyDaemonLog {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(img, "lazy-pages.log"))
	if err != nil {
		t.Fatal(err)
	}
	l := lazyDaemonLog{faults: map[string]bool{}}
	for _, m := range foundRe.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		l.served += n
	}
	for _, m := range faultRe.FindAllStringSubmatch(string(b), -1) {
		l.faults[m[1]+"@"+m[2]] = true
	}
	for _, m := range zeroRe.FindAllStringSubmatch(string(b), -1) {
		delete(l.faults, m[1]+"@"+m[2])
	}
	return l
}

// TestRestoreLazyHotPages: restore --lazy --record-hot-pages marks the pages
// memprog faulted on in its images; a later lazy restore of those images
// serves that many fewer pages lazily, never faults on one of them, and
// memprog's memory is intact after it and after an eager restore. Misuse (no
// --lazy, images it cannot write) is refused before anything starts.
func TestRestoreLazyHotPages(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p, img := checkpointMemProg(t, e, "lazyhot", 128)

	bad := e.ID("hotbad")
	r := e.Run("restore", "-d", "--record-hot-pages", "--bundle", p.Bundle, "--image-path", img, bad)
	if r.Code == 0 || !strings.Contains(r.Stderr, "--record-hot-pages is for --lazy") {
		t.Fatalf("restore --record-hot-pages without --lazy: want a refusal:\n%s", r)
	}
	e.ExpectNothingLeft(bad, "refused --record-hot-pages")

	ro := e.Mkdir("ro-images")
	if err := unix.Mount(img, ro, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(ro, unix.MNT_DETACH) })
	if err := unix.Mount("", ro, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	r = e.Run("restore", "-d", "--lazy", "--record-hot-pages", "--bundle", p.Bundle, "--image-path", ro, bad)
	if r.Code == 0 || !strings.Contains(r.Stderr, "not writable") {
		t.Fatalf("restore --lazy --record-hot-pages from a read-only image dir: want a refusal:\n%s", r)
	}
	e.ExpectNothingLeft(bad, "refused --record-hot-pages on read-only images")
	if err := unix.Unmount(ro, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}

	first := e.ID("hot1")
	r, l := restoreLazy(t, e, p, img, first, "--record-hot-pages", "--print-stats")
	if r.Code != 0 || !l.Lazy {
		t.Fatalf("restore --lazy --record-hot-pages failed (%+v):\n%s", l, r)
	}
	before := readLazyDaemonLog(t, img)
	t.Logf("first lazy restore: %d pages served lazily, %d faults, %d hot pages marked", before.served, len(before.faults), l.HotPages)
	if l.HotPages <= 0 || l.HotPages > len(before.faults) {
		t.Fatalf("hot pages marked: %d, want 1..%d (the pages faulted on)", l.HotPages, len(before.faults))
	}
	if !strings.Contains(r.Stdout, "will load before it runs") {
		t.Errorf("--print-stats did not say what was recorded:\n%s", r)
	}
	e.ExpectMemoryIntact(p, first)
	e.MustRun("delete", "--force", first)
	expectNoLazyLeftovers(t, img)
	pagemaps, _ := filepath.Glob(filepath.Join(img, "pagemap-*.img"))
	for _, pm := range pagemaps {
		if st, err := os.Stat(pm); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s after marking: %v, %v; want mode 0600", pm, st.Mode(), err)
		}
	}

	hot := l.HotPages
	second := e.ID("hot2")
	r, l = restoreLazy(t, e, p, img, second)
	if r.Code != 0 || !l.Lazy {
		t.Fatalf("lazy restore of the marked images failed (%+v):\n%s", l, r)
	}
	after := readLazyDaemonLog(t, img)
	if after.served != before.served-hot {
		t.Errorf("pages served lazily: %d before marking %d hot pages, %d after; want %d", before.served, hot, after.served, before.served-hot)
	}
	for f := range after.faults {
		if before.faults[f] {
			t.Errorf("the second lazy restore faulted on %s, a page marked to load before it runs", f)
		}
	}
	e.ExpectMemoryIntact(p, second)
	WaitCounterAbove(t, p.Count, MustCounter(t, p.Count)+3, 10*time.Second)
	e.MustRun("delete", "--force", second)

	eager := e.ID("hoteager")
	resetVol(t, img)
	e.MustRun("restore", "-d", "--bundle", p.Bundle, "--image-path", img, eager)
	e.ExpectMemoryIntact(p, eager)
}
