package migrate

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// goDirect opens the stream's first frames: with channel ssh it tells the
// target to stay on ssh; otherwise it offers a direct TLS connection and,
// once connected, moves the stream onto it (l.w). It returns the channel in
// use. Nothing is frozen yet: a failure here leaves the container untouched.
func (l *sshLink) goDirect(channel string, notify func(string, ...any)) (string, error) {
	if channel == ChannelSSH {
		return ChannelSSH, linkLost0(l.ssh.SendJSON(frameDirectOffer, wireDirectOffer{}))
	}
	cert, fp, err := ephemeralCert()
	if err != nil {
		return "", err
	}
	if err := l.ssh.SendJSON(frameDirectOffer, wireDirectOffer{Fingerprint: fp}); err != nil {
		return "", linkLost(err)
	}
	var addr wireDirectAddr
	if err := l.ssh.Expect(frameDirectAddr, &addr); err != nil {
		var pe *peerError
		if errors.As(err, &pe) && strings.HasPrefix(pe.Msg, "protocol error") {
			return "", fmt.Errorf("%w (the target's mycr is not this version: use the same mycr on both hosts)", err)
		}
		return "", err
	}
	why := addr.Error
	var conn net.Conn
	if why == "" {
		if conn, err = net.DialTimeout("tcp", addr.Addr, directDialTimeout); err != nil {
			why = err.Error()
		}
	}
	if err := l.ssh.SendJSON(frameDirectGo, wireDirectGo{OK: conn != nil, Error: why}); err != nil {
		if conn != nil {
			conn.Close()
		}
		return "", linkLost(err)
	}
	if conn == nil {
		if channel == ChannelTLS {
			return "", fmt.Errorf("no direct connection to the target: %s (--channel ssh carries everything through ssh)", why)
		}
		notify("no direct connection to the target (%s): images and pages go through ssh", why)
		return ChannelSSH, nil
	}
	tc := tls.Client(conn, pinnedTLS(cert, addr.Fingerprint))
	if err := handshakeTLS(tc); err != nil {
		conn.Close()
		return "", fmt.Errorf("the direct TLS connection to the target %s failed: %w", addr.Addr, err)
	}
	l.w = newWire(tc, tc, tc)
	// ssh stays the session: when it ends, so does the direct stream.
	go func() { <-l.exited; tc.Close() }()
	return ChannelTLS, nil
}

// receiveStream opens the target's stream on ssh's stdin/stdout: the direct
// channel if the source offers it (acceptDirect), else ssh's. A failure is
// also told to the source.
func receiveStream(in io.Reader, out io.Writer) (*wire, error) {
	sshWire := newWire(in, out, nil)
	w, err := acceptDirect(sshWire, in)
	if err != nil {
		_ = sshWire.SendJSON(frameError, wireReply{Error: err.Error()})
	}
	return w, err
}

// acceptDirect is the target's side of goDirect on the ssh stream w (in is
// ssh's stdin). It returns the wire to speak on from now on.
func acceptDirect(w *wire, in io.Reader) (*wire, error) {
	var offer wireDirectOffer
	if err := w.Expect(frameDirectOffer, &offer); err != nil {
		if errors.Is(err, errLinkLost) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (the source's mycr is not this version: use the same mycr on both hosts)", err)
	}
	if offer.Fingerprint == "" {
		return w, nil
	}
	cert, fp, err := ephemeralCert()
	if err != nil {
		return nil, err
	}
	ln, err := listenForSource()
	reply := wireDirectAddr{Fingerprint: fp}
	if err != nil {
		reply.Error = err.Error()
	} else {
		reply.Addr = ln.Addr().String()
	}
	if err := w.SendJSON(frameDirectAddr, reply); err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, linkLost(err)
	}
	var g wireDirectGo
	if err := w.Expect(frameDirectGo, &g); err != nil || !g.OK {
		if ln != nil {
			ln.Close()
		}
		return w, err
	}
	tc, err := acceptPinned(ln, pinnedTLS(cert, offer.Fingerprint))
	if err != nil {
		return nil, err
	}
	// The ssh session ending (the source gone, or its sshd session killed)
	// ends the direct stream too.
	go func() { _, _ = io.Copy(io.Discard, in); tc.Close() }()
	return newWire(tc, tc, tc), nil
}

// listenForSource listens on the address the source's ssh connection came
// in on (SSH_CONNECTION), on any free port.
func listenForSource() (*net.TCPListener, error) {
	f := strings.Fields(os.Getenv("SSH_CONNECTION"))
	if len(f) != 4 {
		return nil, fmt.Errorf("not run by sshd (no SSH_CONNECTION): no address to listen on")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(f[2], "0"))
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}
