// Package integration holds black-box tests of the built mycr binary: real
// containers, real CRIU. Everything lives in _test.go files; run them as root with
//
//	go test ./integration/ -v -count=1 -timeout 20m
//
// MYCR_BINARY selects a prebuilt binary (default: built from ./cmd/mycr in TestMain).
// MYCR_CRIU, if set, is passed to every command as the global --criu flag.
// The harness checks itself without a runtime: go test ./integration/ -run Harness.
// To validate the tests' logic against Debian's runc (1.1; error texts, image
// permissions, runsc-style restore and TCP restore differ from mycr's contract):
//
//	CRIU_FAULT=130 MYCR_BINARY=/usr/sbin/runc go test ./integration/ -count=1
package integration
