package host

import (
	"testing"

	"github.com/mycr/mycr/criu/internal/criutest"
)

var (
	needCriu = criutest.NeedCriu // the criu binary, or skip
	unsetEnv = criutest.UnsetEnv // for this test only
)

// cleanEnv removes every override so Probe decides by itself.
func cleanEnv(t *testing.T) {
	unsetEnv(t, EnvFault)
	unsetEnv(t, EnvHWBreakpoints)
}
