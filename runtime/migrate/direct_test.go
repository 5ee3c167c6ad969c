package migrate

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// sshPair is the two ends of a fake ssh session: the source's link and the
// target's stdin (to end the session) and stream.
type sshPair struct {
	link     *sshLink
	targetIn *io.PipeReader
	endIn    *io.PipeWriter // closing it is the ssh session ending
	target   *wire
}

func newSSHPair() *sshPair {
	upR, upW := io.Pipe()     // source -> target (ssh stdin)
	downR, downW := io.Pipe() // target -> source (ssh stdout)
	l := &sshLink{ssh: newWire(downR, upW, upW), exited: make(chan struct{}), stderr: &lockedBuffer{}}
	l.w = l.ssh
	return &sshPair{link: l, targetIn: upR, endIn: upW, target: newWire(upR, downW, downW)}
}

// direct runs both sides of the handshake; it returns the source's channel
// and both ends' streams.
func (p *sshPair) direct(t *testing.T, channel string) (string, *wire, error) {
	t.Helper()
	type res struct {
		w   *wire
		err error
	}
	got := make(chan res, 1)
	go func() {
		w, err := acceptDirect(p.target, p.targetIn)
		got <- res{w, err}
	}()
	ch, err := p.link.goDirect(channel, func(f string, a ...any) { t.Logf(f, a...) })
	r := <-got
	if err == nil && r.err != nil {
		t.Fatalf("target: %v", r.err)
	}
	return ch, r.w, err
}

func TestDirectChannelCarriesTheStream(t *testing.T) {
	t.Setenv("SSH_CONNECTION", "127.0.0.1 50000 127.0.0.1 22")
	p := newSSHPair()
	ch, tw, err := p.direct(t, ChannelAuto)
	if err != nil || ch != ChannelTLS {
		t.Fatalf("channel %q, %v; want tls", ch, err)
	}
	sshBytes := p.link.ssh.Sent + p.link.ssh.Received
	if err := p.link.w.Send(frameData, []byte("pages")); err != nil {
		t.Fatal(err)
	}
	if k, b, err := tw.Recv(); err != nil || k != frameData || string(b) != "pages" {
		t.Fatalf("target got %d %q %v", k, b, err)
	}
	if p.link.ssh.Sent+p.link.ssh.Received != sshBytes || p.link.w == p.link.ssh {
		t.Fatal("the frame went through ssh, not the direct connection")
	}
	// The ssh session ending ends the direct stream on the target.
	p.endIn.Close()
	done := make(chan error, 1)
	go func() { _, _, err := tw.Recv(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the direct stream went on after ssh ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the direct stream outlived the ssh session")
	}
}

func TestDirectChannelFallsBackToSSH(t *testing.T) {
	t.Setenv("SSH_CONNECTION", "") // not run by sshd: the target cannot listen
	p := newSSHPair()
	ch, tw, err := p.direct(t, ChannelAuto)
	if err != nil || ch != ChannelSSH || tw != p.target {
		t.Fatalf("auto without a direct address: %q %v; want ssh", ch, err)
	}
	go func() { _ = p.link.w.Send(frameData, []byte("x")) }() // a pipe: the send waits for the read
	if k, _, err := tw.Recv(); err != nil || k != frameData {
		t.Fatalf("the ssh stream after the fallback: %d %v", k, err)
	}
	p = newSSHPair()
	if _, _, err := p.direct(t, ChannelTLS); err == nil || !strings.Contains(err.Error(), "--channel ssh") {
		t.Fatalf("--channel tls without a direct address: %v", err)
	}
	p = newSSHPair()
	if ch, tw, err := p.direct(t, ChannelSSH); err != nil || ch != ChannelSSH || tw != p.target {
		t.Fatalf("--channel ssh: %q %v", ch, err)
	}
}

// The target's listener lets in only the peer whose certificate the source
// announced through ssh: another client's handshake fails, and the source
// still gets in after it.
func TestDirectListenerIsPinned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server, serverFP, _ := ephemeralCert()
	source, sourceFP, _ := ephemeralCert()
	intruder, _, _ := ephemeralCert()
	got := make(chan error, 1)
	go func() {
		c, err := acceptPinned(ln.(*net.TCPListener), pinnedTLS(server, sourceFP))
		if err == nil {
			_, err = c.Write([]byte("ok"))
			c.Close()
		}
		got <- err
	}()
	dial := func(cert tls.Certificate) error {
		c, err := tls.Dial("tcp", ln.Addr().String(), pinnedTLS(cert, serverFP))
		if err != nil {
			return err
		}
		defer c.Close()
		b := make([]byte, 2)
		_, err = io.ReadFull(c, b)
		return err
	}
	if err := dial(intruder); err == nil {
		t.Fatal("a client without the migration's certificate got in")
	}
	if err := dial(source); err != nil {
		t.Fatalf("the source was refused: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("the listener stays open after the source came in")
	}
	// The source checks the target the same way.
	verify := pinnedTLS(source, serverFP).VerifyPeerCertificate
	if verify([][]byte{intruder.Certificate[0]}, nil) == nil || verify(nil, nil) == nil {
		t.Fatal("the source accepts a server that is not the target")
	}
	if err := verify([][]byte{server.Certificate[0]}, nil); err != nil {
		t.Fatal(err)
	}
}

// An older target refuses the handshake as a protocol error: the source says
// to run the same mycr on both hosts.
func TestDirectChannelOlderTarget(t *testing.T) {
	p := newSSHPair()
	go func() {
		_, _, _ = p.target.Recv() // the offer, which an older mycr does not know
		_ = p.target.SendJSON(frameError, wireReply{Error: "protocol error: expected frame 1, got 18"})
	}()
	_, err := p.link.goDirect(ChannelAuto, func(string, ...any) {})
	if err == nil || !strings.Contains(err.Error(), "same mycr on both hosts") {
		t.Fatalf("an older target: %v", err)
	}
}
