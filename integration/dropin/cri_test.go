package dropin

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestContainerdCRI registers mycr the way Kubernetes users do, as a runtime in
// containerd's config.toml (CRI plugin, options BinaryName), runs a pod through the
// CRI API with runtime_handler "mycr", and checkpoints the pod's container through
// containerd's task API (ctr), which is what containerd 1.6 offers for C/R: its CRI
// has no CheckpointContainer yet.
func TestContainerdCRI(t *testing.T) {
	needSetup(t)
	pauseTar := writePauseImage(t)
	dir := filepath.Join(base, "containerd-cri")
	cniDirs := []string{filepath.Join(dir, "cni", "bin"), filepath.Join(dir, "cni", "conf")}
	for _, d := range cniDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	extra := fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
%s
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.mycr]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.mycr.options]
      BinaryName = %q
`, pauseRef, oomLine(), cniDirs[0], cniDirs[1], mycrBin)
	c := startContainerd(t, "containerd-cri", "k8s.io", extra)
	c.must(t, "image", "import", pauseTar)
	cri := newCRIClient(c.sock)

	ver, err := cri.call("Version", pbStr(nil, 1, "v1"))
	if err != nil {
		t.Fatalf("CRI Version: %v (is the CRI plugin running? containerd log:\n%s)", err, tail(c.log, 20))
	}
	t.Logf("CRI runtime %s %s", pbField(ver, 2), pbField(ver, 3))

	pod := runCRIPod(t, cri, "dropin", filepath.Join(dir, "pods"))
	assertRunsUnderMycr(t, c.shimRoot(), pod.id)
	id, logs := pod.createContainer(t, cri, "counter", imageRef, "sh", "-c", counterScript)
	criStart(t, cri, id)
	assertRunsUnderMycr(t, c.shimRoot(), id)
	waitCount(t, "CRI container", 5, logs)
	img := filepath.Join(dir, "cp-images")
	work := filepath.Join(dir, "cp-work")
	c.must(t, "task", "checkpoint", "--image-path", img, "--work-path", work, id)
	if _, err := os.Stat(filepath.Join(img, "inventory.img")); err != nil {
		t.Fatalf("no checkpoint images from the CRI container: %v", err)
	}
	last := parseCounter(mustOut(t, logs)).last()
	assertContinues(t, "CRI container after its checkpoint", last, logs)
	c.must(t, "task", "pause", id)
	c.must(t, "task", "resume", id)
	if st := criState(t, cri, id); st != 1 {
		t.Fatalf("CRI reports the container in state %d after checkpoint/pause/resume, want 1 (running)", st)
	}
}

const pauseRef = "docker.io/library/mycr-pause:latest"

// oomLine works around a host whose root lacks CAP_SYS_RESOURCE (like this test
// VM): the CRI plugin gives the sandbox oom_score_adj -998, which only that
// capability may set, unless restrict_oom_score_adj keeps it at containerd's own.
func oomLine() string {
	if hasCap(unix.CAP_SYS_RESOURCE) {
		return ""
	}
	return "  restrict_oom_score_adj = true"
}

// ---- a minimal gRPC client (HTTP/2 without TLS over the unix socket) ----

type criClient struct{ hc *http.Client }

func newCRIClient(sock string) *criClient {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{
		Protocols: p,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}
	return &criClient{hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// call invokes runtime.v1.RuntimeService/method with a protobuf-encoded request.
func (c *criClient) call(method string, req []byte) ([]byte, error) {
	return c.invoke("runtime.v1.RuntimeService", method, req)
}

// callImage invokes runtime.v1.ImageService/method.
func (c *criClient) callImage(method string, req []byte) ([]byte, error) {
	return c.invoke("runtime.v1.ImageService", method, req)
}

func (c *criClient) invoke(service, method string, req []byte) ([]byte, error) {
	body := make([]byte, 5, 5+len(req))
	binary.BigEndian.PutUint32(body[1:], uint32(len(req)))
	body = append(body, req...)
	hreq, err := http.NewRequest(http.MethodPost, "http://containerd/"+service+"/"+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/grpc")
	hreq.Header.Set("TE", "trailers")
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	status, msg := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if status == "" { // trailers-only response
		status, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if status != "0" {
		m, _ := url.PathUnescape(msg)
		return nil, fmt.Errorf("%s: grpc status %s: %s", method, status, m)
	}
	if len(data) < 5 {
		return nil, nil
	}
	return data[5:], nil
}

func pbStr(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func pbMsg(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// pbBytesField returns the first length-delimited field num of a message.
func pbBytesField(b []byte, num protowire.Number) []byte {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil
			}
			return v
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return nil
		}
		b = b[l:]
	}
	return nil
}

func pbField(b []byte, num protowire.Number) string { return string(pbBytesField(b, num)) }

// pbVarintField returns varint field num of a message (0 if absent, as proto3).
func pbVarintField(b []byte, num protowire.Number) uint64 {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			v, _ := protowire.ConsumeVarint(b)
			return v
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return 0
		}
		b = b[l:]
	}
	return 0
}
