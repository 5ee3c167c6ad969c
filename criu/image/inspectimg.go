package image

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v7/magic"
	"google.golang.org/protobuf/proto"
)

// maxImageSize bounds an image file that is decoded (pages images are read,
// not decoded): CRIU's metadata images of even a large container are far smaller.
const maxImageSize = 256 << 20

// images decodes the image files of one checkpoint with go-criu's crit, each
// file once. crit keeps no state between checkpoints this way (its Explore*
// helpers cache files.img in package variables, which would mix up the two
// checkpoints of a diff).
type images struct {
	dir     string
	cache   map[string][]proto.Message
	reading string                       // the file being decoded, named if crit panics on it
	files   map[uint32]*fdinfo.FileEntry // files.img by id, once read (fileTable)
}

func newImages(dir string) *images {
	return &images{dir: dir, cache: map[string][]proto.Message{}}
}

// all returns the entries of the image file name, decoded as typ (a pagemap
// image gives its head, then its entries).
func (im *images) all(name string, typ proto.Message) ([]proto.Message, error) {
	if m, ok := im.cache[name]; ok {
		return m, nil
	}
	im.reading = name
	img, err := decodeFile(filepath.Join(im.dir, name), typ)
	if err != nil {
		return nil, err
	}
	msgs := make([]proto.Message, len(img.Entries))
	for i, e := range img.Entries {
		msgs[i] = e.Message
	}
	im.cache[name], im.reading = msgs, ""
	return msgs, nil
}

// decodeFile decodes the image file at path (framing checked first) as typ.
func decodeFile(path string, typ proto.Message) (*crit.CriuImage, error) {
	if err := checkFraming(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := crit.New(f, nil, "", false, true).Decode(typ)
	if err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", filepath.Base(path), err)
	}
	return img, nil
}

// decodeAll returns the entries of name as typ's type.
func decodeAll[T proto.Message](im *images, name string, typ T) ([]T, error) {
	msgs, err := im.all(name, typ)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(msgs))
	for _, m := range msgs {
		if t, ok := m.(T); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// decodeOne returns the first entry of name, which must have one.
func decodeOne[T proto.Message](im *images, name string, typ T) (T, error) {
	all, err := decodeAll(im, name, typ)
	if err == nil && len(all) == 0 {
		err = fmt.Errorf("%s has no entry", name)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return all[0], nil
}

var imgMagic = sync.OnceValues(func() (uint32, uint32) {
	m := magic.LoadMagic()
	return uint32(m.ByName["IMG_COMMON"]), uint32(m.ByName["IMG_SERVICE"])
})

// checkFraming verifies what crit's decoder takes on trust before it reads a
// file: after the magic (one or two 32-bit words), every entry is a 32-bit
// length and that many bytes. crit would allocate whatever a corrupt length
// says (up to 4 GiB) and decode a truncated entry padded with zeros.
func checkFraming(path string) error {
	_, _, err := readFramed(path)
	return err
}

// readFramed reads the image at path and checks its framing (checkFraming);
// it returns the data and the offset of its first entry.
func readFramed(path string) ([]byte, int, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImageSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxImageSize {
		return nil, 0, fmt.Errorf("%s is larger than %d MiB: not a CRIU image", name, maxImageSize>>20)
	}
	first, err := framing(name, data)
	return data, first, err
}

// framing checks data's framing and returns the offset of its first entry.
func framing(name string, data []byte) (int, error) {
	common, service := imgMagic()
	off := 4
	if len(data) >= 4 {
		if m := binary.LittleEndian.Uint32(data); m == common || m == service {
			off = 8
		}
	}
	if len(data) < off {
		return 0, fmt.Errorf("%s is truncated: %d bytes, no complete magic", name, len(data))
	}
	first := off
	for n := 1; off < len(data); n++ {
		left := len(data) - off
		if left < 4 {
			return 0, fmt.Errorf("%s is truncated: %d stray bytes after entry %d", name, left, n-1)
		}
		size := binary.LittleEndian.Uint32(data[off:])
		off += 4
		if uint64(size) > uint64(len(data)-off) {
			return 0, fmt.Errorf("%s is truncated or corrupt: entry %d claims %d bytes, %d are left", name, n, size, len(data)-off)
		}
		off += int(size)
	}
	return first, nil
}

// checkCheckpointDir refuses a directory that is not a CRIU checkpoint.
func checkCheckpointDir(im *images) error {
	if _, err := os.Stat(filepath.Join(im.dir, "inventory.img")); err != nil {
		return fmt.Errorf("%s holds no CRIU checkpoint (inventory.img missing)", im.dir)
	}
	if _, err := decodeOne(im, "inventory.img", &inventory.InventoryEntry{}); err != nil {
		return fmt.Errorf("images in %s: %w", im.dir, err)
	}
	return nil
}

// recoverCorrupt turns a panic of the image decoder (go-criu trusts what it
// reads) into an error that names the file.
func recoverCorrupt(im *images, r any, err *error) {
	if r != nil {
		file := im.reading
		if file == "" {
			file = "an image"
		}
		*err = fmt.Errorf("images in %s are corrupt (reading %s: %v)", im.dir, file, r)
	}
}
