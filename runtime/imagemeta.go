package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
)

// ImageMetaName is mycr's record in an image dir of where the checkpoint came from,
// so that restore can find a bundle and a person can tell what the images are.
const ImageMetaName = "mycr-checkpoint.json"

// ImageMeta describes a checkpoint image directory.
type ImageMeta struct {
	ID      string    `json:"id"`
	Bundle  string    `json:"bundle"`
	Created time.Time `json:"created"`
}

func writeImageMeta(dir string, c *libcontainer.Container) error {
	m := ImageMeta{ID: c.ID(), Bundle: Bundle(c), Created: time.Now().UTC()}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ImageMetaName), data, 0o600)
}

// ReadImageMeta reads the record (nil if the images were not made by mycr).
func ReadImageMeta(dir string) *ImageMeta {
	data, err := os.ReadFile(filepath.Join(dir, ImageMetaName))
	if err != nil {
		return nil
	}
	var m ImageMeta
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return &m
}
