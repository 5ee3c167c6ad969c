package runtime

import (
	"fmt"
	"os"

	"github.com/moby/sys/mountinfo"
)

// processMounts lists the mounts process pid sees (its mount namespace).
func processMounts(pid int) ([]*mountinfo.Info, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mountinfo.GetMountsFromReader(f, nil)
}
