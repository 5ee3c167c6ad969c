package migrate

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/host"
)

// lazyUnusable says why post-copy cannot work with this CRIU and kernel ("" = it can):
// lazy pages as for any lazy restore, and the dump's page server's pipe.
func lazyUnusable(env *criu.Env) string {
	bin := ""
	if env != nil {
		bin = env.Binary
	}
	if why := host.LazyPagesUnusable(bin); why != "" {
		return why
	}
	return lazyPipeProblem()
}

// freeLoopbackPort picks a port for CRIU's page server. CRIU binds it itself a
// moment later; the race with another program taking it only fails the dump,
// which leaves the container running.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// pinPageServer makes the lazy dump's page server listen on addr only. CRIU's
// RPC ignores the page server address of a lazy dump and binds every
// interface, but `criu swrk` reads CRIU_CONFIG_FILE, where an "address" line
// sets it. A CRIU_CONFIG_FILE the user set is kept (its lines come first).
func pinPageServer(dir, addr string, extra ...string) (undo func(), err error) {
	var content []byte
	if prev := os.Getenv(host.EnvConfigFile); prev != "" {
		if content, err = os.ReadFile(prev); err != nil {
			return nil, fmt.Errorf("CRIU_CONFIG_FILE: %w", err)
		}
		if len(content) > 0 && content[len(content)-1] != '\n' {
			content = append(content, '\n')
		}
	}
	content = append(content, []byte("address "+addr+"\n")...)
	for _, l := range extra {
		if l != "" {
			content = append(content, []byte(l+"\n")...)
		}
	}
	path := filepath.Join(dir, "mycr-criu.conf")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return nil, err
	}
	restore := criu.UseConfigFile(path)
	return func() {
		restore()
		os.Remove(path)
	}, nil
}
