package migrate

// Migration modes.
const (
	// Lazy is post-copy: the source is frozen only while its non-memory
	// state is dumped, copied and restored; memory follows on demand (CRIU lazy
	// pages over userfaultfd) while the target already runs.
	Lazy = "lazy"
	// StopCopy checkpoints everything, copies it and restores it: the
	// frozen time grows with the memory size.
	StopCopy = "stop-and-copy"
)
