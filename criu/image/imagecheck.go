package image

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/inventory"
)

// CheckInventory refuses a checkpoint whose inventory.img, the first image
// CRIU reads at restore, does not decode (as inspect refuses it) or names an
// image version CRIU does not read (1 and 2, CRTOOLS_IMAGES_V1 and V1_1):
// checked before restore, nothing is created for a checkpoint CRIU rejects.
func CheckInventory(dir string) (err error) {
	im := newImages(dir)
	defer func() {
		recoverCorrupt(im, recover(), &err) // crit trusts what it reads
		if err != nil {
			err = fmt.Errorf("the checkpoint in %s is damaged: %w: restore needs an intact copy of it", dir, err)
		}
	}()
	inv, err := decodeOne(im, "inventory.img", &inventory.InventoryEntry{})
	if err != nil {
		return err
	}
	if v := inv.GetImgVersion(); v != 1 && v != 2 {
		return fmt.Errorf("inventory.img is corrupt: it says image version %d, CRIU reads 1 and 2", v)
	}
	return nil
}

// CheckPages refuses a checkpoint whose pages images hold fewer bytes than
// their pagemaps say were dumped. CRIU 4.2's restorer loops forever on such an
// image (preadv returns 0 at EOF and it retries, logging each try), filling
// the disk with its log; checked before restore, the damage gets a clear error.
// Pages left to a lazy-pages server are not flagged present, so not counted.
func CheckPages(dir string) error {
	maps, _ := filepath.Glob(filepath.Join(dir, "pagemap-*.img"))
	for _, path := range maps {
		name := filepath.Base(path)
		if _, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "pagemap-"), ".img")); err != nil {
			continue // pagemap-shmem-*.img and the like
		}
		sum, err := scanPagemap(path)
		if err != nil {
			return fmt.Errorf("the checkpoint in %s is damaged: %s: %w", dir, name, err)
		}
		if !sum.head {
			return fmt.Errorf("the checkpoint in %s is damaged: %s is empty", dir, name)
		}
		want := sum.present
		if want == 0 {
			continue
		}
		pages := fmt.Sprintf("pages-%d.img", sum.pagesID)
		st, err := os.Stat(filepath.Join(dir, pages))
		if err != nil {
			return fmt.Errorf("the checkpoint in %s is damaged: %s maps %d bytes of memory, but %w", dir, name, want, err)
		}
		if uint64(st.Size()) < want {
			return fmt.Errorf("the checkpoint in %s is damaged: %s holds %d bytes, %s says %d were dumped (truncated copy?)",
				dir, pages, st.Size(), name, want)
		}
	}
	return nil
}
