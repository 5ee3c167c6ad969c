package archive

import "time"

// ConfigDump is the config.dump member. Its fields are the ones checkpointctl
// (lib.ContainerConfig) and Podman (libpod.ContainerConfig) read under the same
// JSON names: an archive mycr writes is one they understand, and mycr reads
// theirs.
type ConfigDump struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	RootfsImage     string `json:"rootfsImage,omitempty"`
	RootfsImageRef  string `json:"rootfsImageRef,omitempty"`
	RootfsImageName string `json:"rootfsImageName,omitempty"`
	RootfsImageID   string `json:"rootfsImageID,omitempty"`
	OCIRuntime      string `json:"runtime,omitempty"`
	CreatedTime     string `json:"createdTime"`
	CheckpointedAt  string `json:"checkpointedTime,omitempty"`
}

// NewConfigDump is the config.dump mycr writes for container id: runtime
// "mycr" (the name Podman must know the runtime by), and the rootfs image
// when the caller knows it (Podman creates the restored container from it).
// Podman wants an image ID with the name; containers/storage resolves a name
// given as the ID, so the name serves as both. containerd's CRI restore looks
// the image up by rootfsImageRef (pulling it if missing), so the name is that too.
func NewConfigDump(id, image string, created, checkpointed time.Time) ConfigDump {
	return ConfigDump{ID: id, Name: id, RootfsImageName: image, RootfsImageID: image, RootfsImageRef: image, OCIRuntime: "mycr",
		CreatedTime: created.Format(time.RFC3339Nano), CheckpointedAt: checkpointed.Format(time.RFC3339Nano)}
}
