package host

import (
	"os"
	"testing"

	"github.com/mycr/mycr/criu/internal/criutest"
)

var needCriu = criutest.NeedCriu // the criu binary, or skip

// cleanEnv removes every override so Probe decides by itself.
func cleanEnv(t *testing.T) {
	unsetEnv(t, EnvFault)
	unsetEnv(t, EnvHWBreakpoints)
}

// unsetEnv unsets key for this test and restores it afterwards.
func unsetEnv(t *testing.T, key string) {
	t.Setenv(key, "")
	os.Unsetenv(key)
}
