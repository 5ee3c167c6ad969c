package main

import (
	"os"

	// The cgroupfs manager needs this to apply device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor joins namespaces before the Go runtime starts in `mycr init`.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// The container's init re-executes this binary; libcontainer takes over here.
		libcontainer.Init()
	}
}
