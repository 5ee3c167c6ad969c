package image

import (
	"fmt"

	criucore "github.com/checkpoint-restore/go-criu/v7/crit/images/criu-core"
)

// Namespaces are the namespace ids of a task (from its ids-<pid>.img): tasks
// sharing an id share that namespace.
type Namespaces struct {
	PidNs  uint32 `json:"pid"`
	NetNs  uint32 `json:"net"`
	MntNs  uint32 `json:"mnt"`
	IpcNs  uint32 `json:"ipc"`
	UtsNs  uint32 `json:"uts"`
	UserNs uint32 `json:"user,omitempty"`
	CgNs   uint32 `json:"cgroup,omitempty"`
	TimeNs uint32 `json:"time,omitempty"`
}

func (n Namespaces) String() string {
	return fmt.Sprintf("pid:%d net:%d mnt:%d ipc:%d uts:%d user:%d cgroup:%d time:%d",
		n.PidNs, n.NetNs, n.MntNs, n.IpcNs, n.UtsNs, n.UserNs, n.CgNs, n.TimeNs)
}

// taskIDs is a task's ids-<pid>.img: its namespaces and shared kernel objects.
func taskIDs(im *images, pid uint32) (*criucore.TaskKobjIdsEntry, error) {
	return decodeOne(im, fmt.Sprintf("ids-%d.img", pid), &criucore.TaskKobjIdsEntry{})
}

func namespaces(im *images, pid uint32) (*Namespaces, error) {
	ids, err := taskIDs(im, pid)
	if err != nil {
		return nil, err
	}
	return &Namespaces{PidNs: ids.GetPidNsId(), NetNs: ids.GetNetNsId(), MntNs: ids.GetMntNsId(),
		IpcNs: ids.GetIpcNsId(), UtsNs: ids.GetUtsNsId(), UserNs: ids.GetUserNsId(),
		CgNs: ids.GetCgroupNsId(), TimeNs: ids.GetTimeNsId()}, nil
}
