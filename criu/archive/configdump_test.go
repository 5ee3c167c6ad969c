package archive

import (
	"encoding/json"
	"testing"
	"time"
)

// The JSON names Podman's import reads (libpod.ContainerConfig) and
// checkpointctl shows: a renamed tag would break `podman container restore --import`.
func TestConfigDumpPodmanFields(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	data, err := json.Marshal(NewConfigDump("c1", "docker.io/library/busybox:latest", at, at.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	img := "docker.io/library/busybox:latest"
	want := map[string]string{"id": "c1", "name": "c1", "runtime": "mycr",
		"rootfsImageName": img, "rootfsImageID": img, "rootfsImageRef": img,
		"createdTime": "2026-01-02T03:04:05Z", "checkpointedTime": "2026-01-02T03:05:05Z"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("config.dump %s = %q, want %q (%s)", k, m[k], v, data)
		}
	}
	var bare map[string]string
	if data, _ := json.Marshal(NewConfigDump("c1", "", at, at)); json.Unmarshal(data, &bare) != nil || len(bare) != 5 {
		t.Errorf("without an image, no image fields: %s", data)
	}
}
