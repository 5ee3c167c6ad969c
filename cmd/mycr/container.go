package main

import (
	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"
)

// loadContainer opens the container named by the only argument.
func loadContainer(c *cli.Context) (*libcontainer.Container, error) {
	if err := exactArgs(c, 1); err != nil {
		return nil, err
	}
	return loadContainerArg(c)
}

// loadContainerArg opens the container named by the first of several arguments.
func loadContainerArg(c *cli.Context) (*libcontainer.Container, error) {
	id, err := containerID(c)
	if err != nil {
		return nil, err
	}
	r, err := root(c)
	if err != nil {
		return nil, err
	}
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
	lock, err := r.Lock(id, op)
	if err != nil {
		return nil, nil, err
	}
	ctr, err := r.Load(id)
	if err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	return ctr, lock.Unlock, nil
}
