// Package dropin tests mycr as a drop-in runtime for the real daemons from Debian's
// packages: dockerd (docker.io 20.10), containerd 1.6 (ctr and its runc v2 shim) and
// Podman 4.3 (conmon). The tests start the daemons themselves, with their own state
// under a temporary directory, register mycr the way users do (dockerd daemon.json and
// --add-runtime, ctr --runc-binary and config.toml BinaryName, podman --runtime and
// containers.conf) and drive each daemon's checkpoint/restore flow, asserting what a
// user sees: a counter that continues, a file that keeps growing, a tty that echoes.
//
// Run as root after `make build` and scripts/install-dropin-deps.sh:
//
//	make test-dropin
//	MYCR_BINARY=$PWD/bin/mycr go test ./integration/dropin/ -v -count=1
//
// A daemon that is not installed makes its tests skip with the reason. Everything the
// tests start (daemons, containers, mounts) is stopped by pid or removed at the end.
package dropin
