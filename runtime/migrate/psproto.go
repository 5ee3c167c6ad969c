package migrate

// CRIU's page server protocol, as spoken between `criu lazy-pages` and the page
// server of a lazy dump (criu/page-xfer.c, CRIU 4.x): the client sends fixed-size
// struct page_server_iov records {u32 cmd; u64 nr_pages; u64 vaddr; u64 dst_id}
// (32 bytes with the padding after cmd on 64-bit), only GET and finally CLOSE,
// and the server answers each GET with a record followed by the pages, and a
// CLOSE with a 4-byte status.
const (
	psIOVSize       = 32
	psCmdMask       = 0xffff
	psIOVGet        = 7
	psIOVClose      = 0x1023
	psIOVForceClose = 0x1024
	psIOVInvalid    = 0xdead // any unknown command makes the page server fail
)

// psPageSize is the page size of CRIU's page server protocol (x86-64, arm64 4k).
const psPageSize = 4096

// psAnswerCmd is the page server's answer command: PS_IOV_ADD_F with PE_PRESENT.
const psAnswerCmd = 4<<16 | 6
