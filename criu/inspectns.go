package criu

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	criucore "github.com/checkpoint-restore/go-criu/v7/crit/images/criu-core"
)

// Namespaces are the namespace ids of a task (from its ids-<pid>.img): tasks
// sharing an id share that namespace.
type Namespaces struct {
	PID    uint32 `json:"pid"`
	PidNs  uint32 `json:"pid_ns"`
	NetNs  uint32 `json:"net_ns"`
	MntNs  uint32 `json:"mnt_ns"`
	IpcNs  uint32 `json:"ipc_ns"`
	UtsNs  uint32 `json:"uts_ns"`
	UserNs uint32 `json:"user_ns,omitempty"`
	CgNs   uint32 `json:"cgroup_ns,omitempty"`
	TimeNs uint32 `json:"time_ns,omitempty"`
}

func (n Namespaces) String() string {
	return fmt.Sprintf("pid %d: pid:%d net:%d mnt:%d ipc:%d uts:%d user:%d cgroup:%d time:%d",
		n.PID, n.PidNs, n.NetNs, n.MntNs, n.IpcNs, n.UtsNs, n.UserNs, n.CgNs, n.TimeNs)
}

func namespaces(dir string, procs []Process) ([]Namespaces, error) {
	var out []Namespaces
	for _, p := range procs {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("ids-%d.img", p.PID)))
		if err != nil {
			return nil, err
		}
		img, err := crit.New(f, nil, "", false, true).Decode(&criucore.TaskKobjIdsEntry{})
		f.Close()
		if err != nil {
			return nil, err
		}
		if len(img.Entries) == 0 {
			continue
		}
		if ids, ok := img.Entries[0].Message.(*criucore.TaskKobjIdsEntry); ok {
			out = append(out, Namespaces{PID: p.PID, PidNs: ids.GetPidNsId(), NetNs: ids.GetNetNsId(), MntNs: ids.GetMntNsId(),
				IpcNs: ids.GetIpcNsId(), UtsNs: ids.GetUtsNsId(), UserNs: ids.GetUserNsId(), CgNs: ids.GetCgroupNsId(), TimeNs: ids.GetTimeNsId()})
		}
	}
	return out, nil
}
