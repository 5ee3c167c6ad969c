package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
)

// freezeWatch records when the container's freezer cgroup starts freezing:
// the start of the downtime, as the container sees it.
type freezeWatch struct {
	stop chan struct{}
	done chan struct{}
	at   time.Time
	once sync.Once
}

func watchFreeze(st *libcontainer.State) *freezeWatch {
	f := &freezeWatch{stop: make(chan struct{}), done: make(chan struct{})}
	file, frozen := "", []string{"FREEZING", "FROZEN"}
	if p := st.CgroupPaths["freezer"]; p != "" {
		file = filepath.Join(p, "freezer.state")
	} else if p := st.CgroupPaths[""]; p != "" {
		file, frozen = filepath.Join(p, "cgroup.freeze"), []string{"1"}
	}
	go func() {
		defer close(f.done)
		if file == "" {
			return
		}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(file); err == nil {
				v := strings.TrimSpace(string(b))
				for _, s := range frozen {
					if v == s {
						f.at = time.Now()
						return
					}
				}
			}
			select {
			case <-f.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return f
}

// stopAndGet ends the watch and returns the freeze time (zero if not seen).
func (f *freezeWatch) stopAndGet() (time.Time, string) {
	if f == nil {
		return time.Time{}, ""
	}
	f.once.Do(func() { close(f.stop) })
	<-f.done
	return f.at, "freezer"
}
