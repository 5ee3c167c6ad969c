package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Remote is the target of a migration to another host, reached through ssh.
type Remote struct {
	// URL is ssh://[user@]host[:port].
	URL string
	// Root is the target's state root ("" = mycr's default there).
	Root string
	// Mycr is the mycr binary on the target ("" = "mycr" in its PATH).
	Mycr string
	// SSH is the ssh client ("" = "ssh" in PATH); it uses the user's keys,
	// ~/.ssh/config and known_hosts.
	SSH string
	// Stdio is a file on the target for the container's stdout/stderr ("" = /dev/null).
	Stdio string
	// PidFile is a file on the target that receives the container's init pid ("" = none).
	PidFile string
	// Channel carries images and pages: ChannelAuto ("" too), ChannelTLS or ChannelSSH (direct.go).
	Channel string
}

// sshTarget is a parsed ssh:// URL.
type sshTarget struct {
	user, host string
	port       int
}

// parseSSHURL reads ssh://[user@]host[:port] (no path, query or password).
func parseSSHURL(s string) (sshTarget, error) {
	bad := func(why string) (sshTarget, error) {
		return sshTarget{}, fmt.Errorf("--to %q: %s; want ssh://[user@]host[:port]", s, why)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	if u.Scheme != "ssh" {
		return bad("only ssh:// is supported")
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return bad("no path, query or fragment")
	}
	t := sshTarget{host: u.Hostname()}
	if strings.HasPrefix(t.host, "-") {
		return bad("a host cannot start with '-'")
	}
	if u.User != nil {
		if _, set := u.User.Password(); set {
			return bad("no password in the URL: ssh asks for it, or use a key")
		}
		t.user = u.User.Username()
		if strings.HasPrefix(t.user, "-") {
			return bad("a user cannot start with '-'")
		}
	}
	if p := u.Port(); p != "" {
		if t.port, err = strconv.Atoi(p); err != nil || t.port < 1 || t.port > 65535 {
			return bad("bad port")
		}
	}
	return t, nil
}

// shellQuote quotes s for the remote shell ssh runs the command with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sshCommand is the ssh invocation that runs `mycr migrate-receive` on the target.
func (rm Remote) sshCommand(t sshTarget, debug bool) *exec.Cmd {
	bin := rm.SSH
	if bin == "" {
		bin = "ssh"
	}
	// BatchMode: never prompt (mycr owns stdin/stdout for the stream);
	// keepalives: a dead link is noticed within ~15 s even when idle;
	// ConnectTimeout: so is a host that does not answer at all.
	args := []string{"-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
		"-o", "ConnectTimeout=20", "-T"}
	if t.port != 0 {
		args = append(args, "-p", strconv.Itoa(t.port))
	}
	if t.user != "" {
		args = append(args, "-l", t.user)
	}
	mycr := rm.Mycr
	if mycr == "" {
		mycr = "mycr"
	}
	remote := []string{shellQuote(mycr)}
	if debug {
		remote = append(remote, "--debug")
	}
	if rm.Root != "" {
		remote = append(remote, "--root", shellQuote(rm.Root))
	}
	remote = append(remote, "migrate-receive")
	args = append(args, "--", t.host, strings.Join(remote, " "))
	cmd := exec.Command(bin, args...)
	// Its own process group: the user's ^C reaches mycr, which aborts cleanly,
	// not ssh first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// sshLink is the running ssh session and its framed stream: w is the
// stream (the ssh session's, or a direct one once goDirect moved it).
type sshLink struct {
	cmd    *exec.Cmd
	w      *wire
	ssh    *wire
	stderr *lockedBuffer
	exited chan struct{}
}

// dialSSH starts ssh and returns the link once the process runs.
func dialSSH(rm Remote, debug bool) (*sshLink, error) {
	t, err := parseSSHURL(rm.URL)
	if err != nil {
		return nil, err
	}
	cmd := rm.sshCommand(t, debug)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	l := &sshLink{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = l.stderr
	if debug { // the target runs with --debug too: show its lines as they come
		cmd.Stderr = io.MultiWriter(l.stderr, &targetDebug{})
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ssh: %w", err)
	}
	go func() { _ = cmd.Wait(); close(l.exited) }()
	l.ssh = newWire(out, in, in)
	l.w = l.ssh
	return l, nil
}

// explain adds what ssh said on stderr to a link error.
func (l *sshLink) explain(err error) error {
	var said *sshSaidError
	if errors.As(err, &said) {
		return err
	}
	select {
	case <-l.exited:
	case <-time.After(2 * time.Second):
	}
	if msg := strings.TrimSpace(l.stderr.String()); msg != "" {
		return &sshSaidError{err: err, said: lastLines(msg, 4)}
	}
	return err
}

// sshSaidError is a link error with what ssh or the target printed.
type sshSaidError struct {
	err  error
	said string
}

func (e *sshSaidError) Error() string { return e.err.Error() + "; ssh/target said: " + e.said }
func (e *sshSaidError) Unwrap() error { return e.err }

// close ends the session: stdin closed, then ssh is given a moment to exit.
func (l *sshLink) close() {
	_ = l.w.Close()
	if l.w != l.ssh {
		_ = l.ssh.Close()
	}
	select {
	case <-l.exited:
	case <-time.After(10 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.exited
	}
}

// bytes is what crossed the stream, on ssh and the direct channel.
func (l *sshLink) bytes() int64 {
	n := l.ssh.Sent + l.ssh.Received
	if l.w != l.ssh {
		n += l.w.Sent + l.w.Received
	}
	return n
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// lockedBuffer keeps the last 64 KiB ssh wrote (the lines an error message
// quotes are the last ones, after --debug's), safe for ssh's writes and our reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const sshSaidKeep = 64 << 10

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Write(p)
	if over := b.b.Len() - sshSaidKeep; over > 0 {
		b.b.Next(over)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// targetDebug logs what the target prints (its --debug lines, through ssh's
// stderr) in the source's debug log, so that one run shows both sides' times.
type targetDebug struct{ part []byte }

func (d *targetDebug) Write(p []byte) (int, error) {
	d.part = append(d.part, p...)
	for {
		i := bytes.IndexByte(d.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		logrus.Debugf("target: %s", d.part[:i])
		d.part = d.part[i+1:]
	}
}
