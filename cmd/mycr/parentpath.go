package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// checkParentPath refuses a --parent-path that CRIU could not use, before any dump
// (as runc): it must be relative to the image directory and name a directory there.
func checkParentPath(imageDir, parent string) error {
	if parent == "" {
		return nil
	}
	if filepath.IsAbs(parent) {
		return errors.New("--parent-path must be relative to --image-path (e.g. ../predump)")
	}
	dir := filepath.Join(imageDir, parent)
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = &os.PathError{Op: "stat", Path: dir, Err: unix.ENOTDIR}
	}
	if err != nil {
		return fmt.Errorf("invalid --parent-path: %w", err)
	}
	return nil
}
