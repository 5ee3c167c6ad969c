/*
 * memhog: the memory workload of the memory, migration and archive benchmarks.
 * Maps MIB MiB of anonymous memory and writes every 4 KiB page (so every page is
 * present and must be dumped), creates the file READY, then sleeps until killed.
 * With FILL (0-100), that percentage of each page is pseudo-random bytes (the
 * rest zeros), which sets how well the images compress; without it each page
 * holds one distinct non-zero word. Built statically by the bench into the
 * container's /bin.
 *
 * On SIGUSR1 it answers: it checks 64 pages spread over its memory (their
 * first word) and writes "ok" or "BAD <page>" to READY.answer: the first answer
 * of a restored service, which with lazy pages needs those pages only.
 *
 * usage: memhog MIB READY [FILL]
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static void answer(const uint8_t *p, size_t len, const char *ready)
{
	char path[4096], msg[64] = "ok\n";
	size_t pages = len / 4096, step = pages / 64 ? pages / 64 : 1;
	for (size_t pg = 0; pg < pages; pg += step) {
		if (*(const uint64_t *)(p + pg * 4096) != pg * 0x9e3779b97f4a7c15ULL + 1) {
			snprintf(msg, sizeof(msg), "BAD %zu\n", pg);
			break;
		}
	}
	snprintf(path, sizeof(path), "%s.answer", ready);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0)
			perror(path);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: memhog MIB READY [FILL]\n");
		return 2;
	}
	size_t len = (size_t)strtoull(argv[1], NULL, 10) << 20;
	size_t fill = argc == 4 ? (size_t)strtoull(argv[3], NULL, 10) * 4096 / 100 / 8 : 0;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t off = 0; off < len; off += 4096) {
		uint64_t *w = (uint64_t *)(p + off);
		w[0] = off / 4096 * 0x9e3779b97f4a7c15ULL + 1;
		for (size_t i = 1; i < fill && i < 512; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			w[i] = x;
		}
	}
	int fd = open(argv[2], O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	close(fd);
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	for (;;) {
		pause();
		if (asked) {
			asked = 0;
			answer(p, len, argv[2]);
		}
	}
}
