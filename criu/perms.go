package criu

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Checkpoint images hold process memory (keys, passwords), yet CRIU writes
// most of them 0644: keep them to the owner.

// PrepareImageDir makes dir (and missing parents) with mode 0700. It refuses a
// symlink, a non-directory, and a shared sticky directory such as /tmp.
func PrepareImageDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case os.IsNotExist(err):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create image dir: %w", err)
		}
	case err != nil:
		return err
	default:
		if err := checkImageDir(dir, fi); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o700)
}

// SecureImageDir makes dir and its subdirectories 0700 and every regular file
// in them 0600, without following symlinks. Run it after CRIU wrote images.
func SecureImageDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if err := checkImageDir(dir, fi); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case de.IsDir():
			return os.Chmod(p, 0o700)
		case de.Type().IsRegular():
			return os.Chmod(p, 0o600)
		}
		return nil // symlinks, fifos, sockets: left alone
	})
}

func checkImageDir(dir string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("image path %s is a symlink; give the real directory", dir)
	case !fi.IsDir():
		return fmt.Errorf("image path %s is a file, not a directory", dir)
	case fi.Mode()&fs.ModeSticky != 0:
		return fmt.Errorf("image path %s is a shared sticky directory; use a dedicated directory inside it", dir)
	}
	return nil
}
