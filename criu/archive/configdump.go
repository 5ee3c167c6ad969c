package archive

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
