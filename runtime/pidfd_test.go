package runtime

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
)

func TestPidfdSocketConnects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pidfd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var p libcontainer.Process
	done, err := pidfdSocket(&p, path)
	if err != nil {
		t.Fatal(err)
	}
	if p.PidfdSocket == nil {
		t.Fatal("process has no pidfd socket to pass to its init")
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done()
}

func TestPidfdSocketMissing(t *testing.T) {
	var p libcontainer.Process
	_, err := pidfdSocket(&p, filepath.Join(t.TempDir(), "none.sock"))
	if err == nil || !strings.Contains(err.Error(), "--pidfd-socket") || p.PidfdSocket != nil {
		t.Fatalf("want a --pidfd-socket error and no socket, got %v", err)
	}
	if done, err := pidfdSocket(&p, ""); err != nil || p.PidfdSocket != nil {
		t.Fatalf("no path: want nothing done, got %v", err)
	} else {
		done()
	}
}
