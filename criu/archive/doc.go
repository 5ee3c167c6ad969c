// Package archive writes and reads mycr's portable checkpoint archives: a tar
// stream (optionally zstd or gzip, compressed in parallel) of the images, the
// container's spec and config, its rootfs diff and a manifest of every member
// with its SHA-256 (HMAC-signed with a key), extracted with every member
// verified before a restore uses it.
package archive
