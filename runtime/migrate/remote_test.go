package migrate

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestParseSSHURL(t *testing.T) {
	good := map[string]sshTarget{
		"ssh://hostb":              {host: "hostb"},
		"ssh://root@10.0.0.2:2222": {user: "root", host: "10.0.0.2", port: 2222},
		"ssh://me@[fd00::2]:22/":   {user: "me", host: "fd00::2", port: 22},
		"ssh://example.org":        {host: "example.org"},
	}
	for in, want := range good {
		got, err := parseSSHURL(in)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"hostb", "http://hostb", "ssh://", "ssh://u:pw@h", "ssh://h/path", "ssh://h:0", "ssh://h:99999", "ssh://-oProxyCommand=x", "ssh://-l@h"} {
		if _, err := parseSSHURL(bad); err == nil || !strings.Contains(err.Error(), "ssh://[user@]host[:port]") {
			t.Errorf("%s: accepted or unclear error: %v", bad, err)
		}
	}
}

func TestSSHCommandQuotes(t *testing.T) {
	rm := Remote{URL: "ssh://u@h:2", Root: "/var/run/my root's", Mycr: "/opt/mycr"}
	tg, _ := parseSSHURL(rm.URL)
	args := rm.sshCommand(tg, false).Args
	got := strings.Join(args, " ")
	for _, want := range []string{"-p 2", "-l u", "BatchMode=yes", "-- h '/opt/mycr' --root '/var/run/my root'\\''s' migrate-receive"} {
		if !strings.Contains(got, want) {
			t.Errorf("ssh command %q lacks %q", got, want)
		}
	}
}

// TestTargetDebugLines: the target's output reaches the source's debug log a
// whole line at a time, however ssh splits it.
func TestTargetDebugLines(t *testing.T) {
	var out bytes.Buffer
	logrus.SetOutput(&out)
	logrus.SetLevel(logrus.DebugLevel)
	defer logrus.SetOutput(os.Stderr)
	defer logrus.SetLevel(logrus.InfoLevel)
	d := &targetDebug{}
	for _, part := range []string{"restore ", "started\nlazy", "-pages ready\n", "no newline yet"} {
		if n, err := d.Write([]byte(part)); n != len(part) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", part, n, err)
		}
	}
	got := out.String()
	if !strings.Contains(got, `target: restore started"`) || !strings.Contains(got, `target: lazy-pages ready"`) || strings.Contains(got, "no newline") {
		t.Fatalf("debug log:\n%s", got)
	}
}

// TestSSHSaidKeepsTheEnd: after a long --debug output the error ssh or the
// target printed last is still what the buffer holds.
func TestSSHSaidKeepsTheEnd(t *testing.T) {
	var b lockedBuffer
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "debug line %d of a long run\n", i)
	}
	fmt.Fprintf(&b, "mycr migrate-receive: the bundle is missing\n")
	got := b.String()
	if len(got) > sshSaidKeep || !strings.HasSuffix(got, "the bundle is missing\n") {
		t.Fatalf("kept %d bytes ending %q", len(got), got[max(0, len(got)-60):])
	}
}
