package criu

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// logNotWritten explains a failed CRIU run whose log holds no error: CRIU
// could not write it because its filesystem (the work dir, else the image dir)
// is full or read-only; "" if that is not the case.
func logNotWritten(logPath string) string {
	var st unix.Statfs_t
	dir := filepath.Dir(logPath)
	if err := unix.Statfs(dir, &st); err != nil {
		return ""
	}
	switch {
	case st.Flags&unix.ST_RDONLY != 0:
		return "CRIU could not write its log: " + dir + " is on a read-only filesystem; pass --work-path DIR elsewhere"
	case st.Bavail == 0:
		return "CRIU could not write its log: the filesystem of " + dir + " is full; free space, or pass --work-path DIR elsewhere for the logs"
	}
	if fi, err := os.Stat(logPath); err == nil && fi.Size() == 0 {
		return "CRIU wrote nothing to its log " + logPath
	}
	return ""
}
