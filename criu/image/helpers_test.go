package image

import "github.com/mycr/mycr/criu/internal/criutest"

// needCriu returns the criu binary or skips the test; criuDump dumps a pid.
var (
	needCriu = criutest.NeedCriu
	criuDump = criutest.Dump
)
