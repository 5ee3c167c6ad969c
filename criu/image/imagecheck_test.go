package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/inventory"
	"google.golang.org/protobuf/proto"
)

// CheckPages passes a real dump and refuses it once its pages image is cut short.
func TestCheckPagesRealDump(t *testing.T) {
	bin := needCriu(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox")
	}
	cmd := exec.Command(busybox, "sh", "-c", "X=$(seq 1 20000); sleep 1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	dir := t.TempDir()
	if _, err := criuDump(bin, cmd.Process.Pid, dir, dir, "--shell-job"); err != nil {
		t.Fatal(err)
	}
	if err := CheckPages(dir); err != nil {
		t.Fatalf("an intact dump: %v", err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "pages-*.img"))
	if len(pages) == 0 {
		t.Fatal("no pages image")
	}
	st, err := os.Stat(pages[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(pages[0], st.Size()-4096); err != nil {
		t.Fatal(err)
	}
	err = CheckPages(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Base(pages[0])) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a truncated pages image: got %v", err)
	}
}

// CheckInventory passes the fixture's inventory and refuses one CRIU would
// reject: another image version, a truncated file, a missing one.
func TestCheckInventory(t *testing.T) {
	dir := fixtureDir(t)
	if err := CheckInventory(dir); err != nil {
		t.Fatalf("an intact inventory: %v", err)
	}
	inv := filepath.Join(dir, "inventory.img")
	writeImage(t, inv, "INVENTORY", &inventory.InventoryEntry{ImgVersion: proto.Uint32(7)})
	if err := CheckInventory(dir); err == nil || !strings.Contains(err.Error(), "image version 7") {
		t.Errorf("image version 7: got %v", err)
	}
	if err := os.Truncate(inv, 6); err != nil {
		t.Fatal(err)
	}
	if err := CheckInventory(dir); err == nil || !strings.Contains(err.Error(), "inventory.img is truncated") {
		t.Errorf("a truncated inventory: got %v", err)
	}
	os.Remove(inv)
	if err := CheckInventory(dir); err == nil || !strings.Contains(err.Error(), "inventory.img") || !strings.Contains(err.Error(), dir) {
		t.Errorf("no inventory: got %v", err)
	}
}
