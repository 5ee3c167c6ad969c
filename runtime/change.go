package runtime

import (
	"github.com/mycr/mycr/spec"
	"github.com/opencontainers/runc/libcontainer"
)

// LoadForChange is Load for a command that changes the container: it takes
// the container's lock for op, repairs under it what an interrupted operation
// left (Recover), then loads. The caller unlocks.
func (r *Root) LoadForChange(id, op string) (*libcontainer.Container, *Lock, error) {
	if err := spec.ValidateID(id); err != nil {
		return nil, nil, err
	}
	lock, err := r.Lock(id, op)
	if err != nil {
		return nil, nil, err
	}
	r.Recover(id)
	c, err := r.Load(id)
	if err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	return c, lock, nil
}
