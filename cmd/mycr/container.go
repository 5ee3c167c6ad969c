package main

import (
	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

// loadContainer opens the container named by the only argument.
func loadContainer(c *cli.Context) (*libcontainer.Container, error) {
	if err := exactArgs(c, 1); err != nil {
		return nil, err
	}
	return loadContainerArg(c)
}

// loadContainerArg opens the container named by the first of several arguments
// for a verb that takes no lock (state, ps, events, kill), repairing first what
// a mycr that died mid-operation left (recoverThenLoad).
func loadContainerArg(c *cli.Context) (*libcontainer.Container, error) {
	id, err := containerID(c)
	if err != nil {
		return nil, err
	}
	r, err := root(c)
	if err != nil {
		return nil, err
	}
	return recoverThenLoad(r, id)
}

// recoverThenLoad repairs what an interrupted operation left on id, then
// loads it. The reading verbs repair too, without the container's lock (the
// record's own lock orders repairs): a container left frozen or half
// restored by a dead mycr is no state to report, and `state` is what a
// shim polls first; reporting "paused" for a container nobody paused would
// be recorded as the truth.
func recoverThenLoad(r *runtime.Root, id string) (*libcontainer.Container, error) {
	r.Recover(id)
	return r.Load(id)
}

// lockedContainer opens the container and holds its lock for a mutating verb.
// Only exec takes more than the ID (its command).
func lockedContainer(c *cli.Context, op string) (*libcontainer.Container, func(), error) {
	check := exactArgs
	if op == "exec" {
		check = minArgs
	}
	if err := check(c, 1); err != nil {
		return nil, nil, err
	}
	id, err := containerID(c)
	if err != nil {
		return nil, nil, err
	}
	r, err := root(c)
	if err != nil {
		return nil, nil, err
	}
	ctr, lock, err := r.LoadForChange(id, op)
	if err != nil {
		return nil, nil, err
	}
	return ctr, lock.Unlock, nil
}
