// Package image reads CRIU checkpoint images with go-criu's crit: what a
// checkpoint holds (Inspect: processes, files, sockets, mounts, memory),
// searching its memory (Search), comparing two (Diff), checking that pages
// match their pagemaps and the inventory (CheckPages, CheckInventory), CRIU's
// own statistics (ReadDumpStats, ReadRestoreStats) and facts a restore needs
// (RootReadOnly, CgroupHierarchies). It never writes an image.
package image
