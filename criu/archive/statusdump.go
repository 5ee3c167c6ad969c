package archive

// StatusDump is the status.dump member: the container's status as the CRI
// reports it (runtime.v1.ContainerStatus under its Go type's JSON names), which
// containerd writes into Kubernetes' checkpoints. containerd's CRI restore
// (CreateContainer with a checkpoint archive or image) refuses an archive
// without it and takes the restored container's image name from it. mycr knows
// the container's ID and, when given, its image; nothing else is filled in.
type StatusDump struct {
	ID       string         `json:"id"`
	Metadata statusMetadata `json:"metadata"`
	Image    *statusImage   `json:"image,omitempty"`
	ImageRef string         `json:"image_ref,omitempty"`
}

type statusMetadata struct {
	Name string `json:"name"`
}

type statusImage struct {
	Image string `json:"image"`
}

// NewStatusDump is the status.dump of container id made from image (may be "").
func NewStatusDump(id, image string) StatusDump {
	s := StatusDump{ID: id, Metadata: statusMetadata{Name: id}, ImageRef: image}
	if image != "" {
		s.Image = &statusImage{Image: image}
	}
	return s
}
