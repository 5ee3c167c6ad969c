package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

// containerState is the JSON `state` and `list --format json` print (runc's fields).
type containerState struct {
	Version        string            `json:"ociVersion"`
	ID             string            `json:"id"`
	InitProcessPid int               `json:"pid"`
	Status         string            `json:"status"`
	Bundle         string            `json:"bundle"`
	Rootfs         string            `json:"rootfs"`
	Created        time.Time         `json:"created"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Owner          string            `json:"owner"`
}

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		st, err := describe(ctr)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	},
}

func describe(ctr *libcontainer.Container) (*containerState, error) {
	status, err := ctr.Status()
	if err != nil {
		return nil, err
	}
	oci, err := ctr.OCIState()
	if err != nil {
		return nil, err
	}
	st, err := ctr.State()
	if err != nil {
		return nil, err
	}
	pid := st.InitProcessPid
	if status == libcontainer.Stopped {
		pid = 0
	}
	return &containerState{
		Version:        oci.Version,
		ID:             ctr.ID(),
		InitProcessPid: pid,
		Status:         status.String(),
		Bundle:         runtime.Bundle(ctr),
		Rootfs:         st.BaseState.Config.Rootfs,
		Created:        st.BaseState.Created,
		Annotations:    oci.Annotations,
		Owner:          "root",
	}, nil
}
