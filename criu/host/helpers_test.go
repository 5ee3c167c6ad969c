package host

import (
	"os"
	"testing"
)

// needCriu returns the criu binary or skips the test.
func needCriu(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("CRIU tests need root")
	}
	bin, err := FindBinary("")
	if err != nil {
		t.Skip(err)
	}
	return bin
}

// unsetEnv unsets key for this test and restores it afterwards.
func unsetEnv(t *testing.T, key string) {
	t.Setenv(key, "")
	os.Unsetenv(key)
}

// cleanEnv removes every override so Probe decides by itself.
func cleanEnv(t *testing.T) {
	unsetEnv(t, EnvFault)
	unsetEnv(t, EnvHWBreakpoints)
}
