package migrate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// The stream's channel (--channel). ssh's own encryption moves a bulk stream
// at about 0.75x of a 1 Gbit/s link here, a TLS connection in Go at ~0.95x:
// so images and pages go over a direct TCP connection when the target can be
// reached, authenticated per migration (see below), and ssh stays the
// control: it starts the target, carries the handshake, and a dead ssh
// session closes the direct connection too.
const (
	ChannelAuto = "auto" // tls when the target is reachable directly, else ssh
	ChannelTLS  = "tls"  // tls or fail (before anything freezes)
	ChannelSSH  = "ssh"  // everything through the ssh session
)

// CheckChannel validates a --channel value ("" = auto).
func CheckChannel(c string) (string, error) {
	switch c {
	case "", ChannelAuto:
		return ChannelAuto, nil
	case ChannelTLS, ChannelSSH:
		return c, nil
	}
	return "", fmt.Errorf("--channel %q: want auto, tls or ssh", c)
}

// The handshake, the first frames on the ssh stream. Each side makes a
// throwaway certificate and tells the other its SHA-256 through ssh (which
// authenticated both hosts), so the TLS connection is mutual and pinned to
// this migration: the target's listener, open only for this handshake,
// accepts nobody else.
const (
	frameDirectOffer = 18 // source -> target: wireDirectOffer (always the first frame)
	frameDirectAddr  = 19 // target -> source: wireDirectAddr
	frameDirectGo    = 20 // source -> target: wireDirectGo (connected or not)
)

type wireDirectOffer struct {
	// Fingerprint of the source's certificate; "" = stay on ssh.
	Fingerprint string `json:"fingerprint,omitempty"`
}

type wireDirectAddr struct {
	Addr        string `json:"addr,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Error       string `json:"error,omitempty"` // why the target cannot listen
}

type wireDirectGo struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

const (
	directDialTimeout = 3 * time.Second
	// directAcceptTimeout bounds how long the target's listener stays open.
	directAcceptTimeout = 15 * time.Second
	directHandshake     = 10 * time.Second
)

// ephemeralCert is a self-signed certificate for one migration and its fingerprint.
func ephemeralCert() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, fingerprint(der), nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// pinnedTLS is a TLS 1.3 config that presents cert and accepts only a peer
// whose certificate has the fingerprint peer.
func pinnedTLS(cert tls.Certificate, peer string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// No CA: the fingerprint, learnt through ssh, is the trust.
		InsecureSkipVerify: true,
		ClientAuth:         tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || subtle.ConstantTimeCompare([]byte(fingerprint(raw[0])), []byte(peer)) != 1 {
				return errors.New("the peer's certificate is not this migration's")
			}
			return nil
		},
	}
}

// handshakeTLS runs a TLS handshake on c within directHandshake.
func handshakeTLS(c *tls.Conn) error {
	_ = c.SetDeadline(time.Now().Add(directHandshake))
	if err := c.Handshake(); err != nil {
		return err
	}
	return c.SetDeadline(time.Time{})
}

// acceptPinned waits for the source on ln: connections that fail the pinned
// handshake are dropped, and ln is closed once the source is in or time is up.
func acceptPinned(ln *net.TCPListener, cfg *tls.Config) (*tls.Conn, error) {
	defer ln.Close()
	_ = ln.SetDeadline(time.Now().Add(directAcceptTimeout))
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil, fmt.Errorf("no direct connection from the source: %w", err)
		}
		tc := tls.Server(c, cfg)
		if err := handshakeTLS(tc); err != nil {
			c.Close()
			continue
		}
		return tc, nil
	}
}
