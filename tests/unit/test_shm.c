// SPDX-License-Identifier: MIT
/*
 * test_shm.c - streams written by one process and consumed by another.
 *
 *  - a writer child (fork) creates a channel in memory files, passes the
 *    descriptors over a UNIX socket (SCM_RIGHTS) and writes with 2 threads
 *    into global, per-CPU (atomic and rseq) and per-thread streams, in
 *    discard and overwrite modes; the parent attaches and drains while it
 *    writes: each record once, in order per stream and thread, and
 *    returned + lost == written (discard), returned + overwritten ==
 *    committed (overwrite), as the writers' counters say;
 *  - the consumer's mapping: the writers' part read-only (a write faults,
 *    in a child; /proc/self/maps says r--s), its consumer page writable;
 *  - headers that lie (magic, version, truncated memory, geometry and
 *    sizes, an unsealed memory file, another client, stream count, not a
 *    file): -EPROTO with a message naming what, never a crash;
 *  - contents that lie after the attach (a content size, a sub-buffer
 *    index, a committed position): the packet is reported and skipped,
 *    the stream stays enabled, nothing is read out of bounds;
 *  - files in a directory: attached by name, removed by the writer's
 *    destroy, never created over an existing one;
 *  - a consumer sleeping on the writers' futex through its read-only
 *    mapping, woken by the delivering writer;
 *  - what an attached channel refuses, and a writer that is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "shm_pass.h"

#define THREADS 2
#define SB 4096u
#define NSB 4u

static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_global_ow =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_percpu =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_rseq =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_thread_block =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_BLOCKING);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void attr_shared(struct grb_channel_attr *a)
{
	grb_channel_attr_init(a);
	a->subbuf_size = SB;
	a->subbuf_count = NSB;
	a->nr_streams = 4;
	a->backing = GRB_BACKING_MEMFD;
}

/* Writes n records (attempts: a refused one is lost, counted by the
 * stream) numbered 0..n-1 for one thread. */
struct wjob {
	const struct grb_config *cfg;
	struct grb_channel *ch;
	uint32_t thread;
	uint64_t n;
};

static void *writer_thread(void *arg)
{
	struct wjob *j = (struct wjob *)arg;
	uint64_t seq;

	for (seq = 0; seq < j->n; seq++) {
		struct grb_ctx ctx = { .payload_len = sizeof(struct shm_rec) };
		struct shm_rec r = { j->thread, SHM_REC_MAGIC, seq };

		if (grb_reserve(j->cfg, j->ch, &ctx) == 0) {
			grb_write(&ctx, &r, sizeof(r));
			grb_commit(j->cfg, &ctx);
		}
		if ((seq & 255) == 0)
			sched_yield(); /* let the consumer in on one CPU too */
	}
	return NULL;
}

/* The writer process: create, pass the descriptors, wait for the consumer
 * to attach, write with THREADS threads, finalize. */
static void writer_child(int sock, const struct grb_config *cfg, uint64_t n)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct wjob jobs[THREADS];
	pthread_t t[THREADS];
	char go;
	int i;

	attr_shared(&a);
	ch = grb_channel_create(cfg, &a);
	if (!ch || shm_send_channel(sock, ch))
		_exit(2);
	if (read(sock, &go, 1) != 1)
		_exit(3);
	for (i = 0; i < THREADS; i++) {
		jobs[i] = (struct wjob){ cfg, ch, (uint32_t)i, n };
		pthread_create(&t[i], NULL, writer_thread, &jobs[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	grb_channel_finalize(ch);
	/* No destroy: the consumer's mapping keeps the memory, and a writer
	 * that just exits is what it must handle. */
	_exit(0);
}

/* Drains every stream of ch until each says -ENODATA (or the deadline). */
static void drain_all(struct grb_channel *ch, struct shm_seen *seen, int use_merge)
{
	uint32_t i, n = grb_channel_nr_streams(ch), ended = 0;
	struct grb_iter *it[SHM_MAX_FDS] = { 0 };
	uint8_t done[SHM_MAX_FDS] = { 0 };
	struct grb_merge *m = NULL;
	uint64_t deadline = now_ns() + 20000000000ull;
	struct grb_record rec;
	int ret;

	if (use_merge) {
		m = grb_merge_create(ch, 0);
		CHECK(m != NULL);
	} else {
		for (i = 0; i < n; i++) {
			it[i] = grb_iter_create(ch, i, 0);
			CHECK(it[i] != NULL);
		}
	}
	while (now_ns() < deadline) {
		if (use_merge) {
			if (!m)
				break;
			ret = grb_merge_next(m, &rec);
			if (!ret)
				shm_seen_add(seen, &rec);
			else if (ret == -ENODATA)
				break;
			else if (ret == -EAGAIN)
				usleep(100);
			else
				CHECK(ret == 0);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (done[i] || !it[i])
				continue;
			while ((ret = grb_iter_next(it[i], &rec)) == 0)
				shm_seen_add(seen, &rec);
			if (ret == -ENODATA) {
				done[i] = 1;
				ended++;
			} else {
				CHECK(ret == -EAGAIN);
			}
		}
		if (ended == n)
			break;
		usleep(100);
	}
	CHECK(now_ns() < deadline);
	if (m)
		grb_merge_destroy(m);
	for (i = 0; i < n; i++)
		if (it[i])
			grb_iter_destroy(it[i]);
}

static void test_fork(const char *what, const struct grb_config *cfg, uint64_t n, int use_merge)
{
	int sv[2], fds[SHM_MAX_FDS], nfd, status, i;
	struct grb_channel *ch;
	struct grb_channel_stats cs;
	struct shm_seen seen;
	uint64_t tag, committed = 0;
	uint32_t s;
	pid_t pid;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	fflush(NULL); /* a child must not print what the parent buffered */
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		writer_child(sv[1], cfg, n);
	}
	close(sv[1]);
	nfd = shm_recv_fds(sv[0], fds, SHM_MAX_FDS, &tag);
	CHECK(nfd > 0 && (uint64_t)nfd == tag);
	if (nfd <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		return;
	}
	ch = grb_channel_attach(cfg, fds, (uint32_t)nfd, NULL);
	if (!ch)
		fprintf(stderr, "%s: attach: %s\n", what, grb_last_error());
	CHECK(ch != NULL);
	for (i = 0; i < nfd; i++)
		close(fds[i]); /* the mappings keep the memory */
	CHECK(write(sv[0], "g", 1) == 1);
	if (!ch) {
		waitpid(pid, NULL, 0);
		close(sv[0]);
		return;
	}
	CHECK(shm_seen_init(&seen, THREADS, n, (uint32_t)nfd) == 0);
	drain_all(ch, &seen, use_merge);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(grb_channel_owner_alive(ch) == 0);
	CHECK(grb_channel_read_stats(ch, &cs) == 0);
	for (s = 0; s < (uint32_t)nfd; s++) {
		struct grb_stream_stats st;

		CHECK(grb_channel_read_stream_stats(ch, s, &st) == 0);
		committed += st.committed;
	}
	CHECK(seen.bad == 0);
	CHECK(seen.dups == 0);
	CHECK(seen.disorder == 0);
	CHECK(cs.corrupt_packets == 0 && cs.invariant_failures == 0);
	if (cfg->mode == GRB_MODE_OVERWRITE) {
		/* Every committed record returned or counted overwritten. */
		CHECK(seen.records + cs.lost[GRB_LOST_OVERWRITTEN] == committed);
		CHECK(committed + cs.lost_total - cs.lost[GRB_LOST_OVERWRITTEN] == THREADS * n);
	} else {
		CHECK(seen.records + cs.lost_total == THREADS * n);
		CHECK(seen.records == committed);
	}
	printf("%s: %" PRIu64 " written, %" PRIu64 " read, %" PRIu64 " lost, %d streams\n", what,
	       (uint64_t)THREADS * n, seen.records, cs.lost_total, nfd);
	shm_seen_free(&seen);
	grb_channel_destroy(ch);
	close(sv[0]);
}

/* The permissions of the mapping line that holds addr in /proc/self/maps. */
static int maps_perms(const void *addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)addr >= lo &&
		    (uintptr_t)addr < hi)
			found = 1;
	}
	fclose(f);
	return found;
}

/* 1 when writing a byte at p kills a child with SIGSEGV, 0 when the child
 * writes it, -1 otherwise. */
static int write_faults(volatile char *p)
{
	pid_t pid;
	int status;

	fflush(NULL); /* a child must not print what the parent buffered */
	pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* not a sanitizer's report */
		*p = *p; /* the same value: harmless if it is allowed */
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return -1;
}

static struct grb_channel *attach_own(struct grb_channel *w, const struct grb_config *cfg)
{
	int fds[SHM_MAX_FDS];
	uint32_t i, n = grb_channel_nr_streams(w);
	struct grb_stream_shm d;

	for (i = 0; i < n; i++) {
		CHECK(grb_channel_stream_shm(w, i, &d) == 0);
		fds[i] = d.fd;
	}
	return grb_channel_attach(cfg, fds, n, NULL);
}

static int write_one(const struct grb_config *cfg, struct grb_channel *ch, uint64_t seq)
{
	struct grb_ctx ctx = { .payload_len = sizeof(struct shm_rec) };
	struct shm_rec r = { 0, SHM_REC_MAGIC, seq };
	int ret = grb_reserve(cfg, ch, &ctx);

	if (ret)
		return ret;
	grb_write(&ctx, &r, sizeof(r));
	grb_commit(cfg, &ctx);
	return 0;
}

static void test_read_only(void)
{
	struct grb_channel_attr a;
	struct grb_channel *w, *c;
	struct grb_stream *s;
	char perms[5];

	attr_shared(&a);
	w = grb_channel_create(&cfg_global, &a);
	CHECK(w != NULL);
	if (!w)
		return;
	c = attach_own(w, &cfg_global);
	CHECK(c != NULL);
	if (!c) {
		grb_channel_destroy(w);
		return;
	}
	s = &c->streams[0];
	CHECK(s->shm != w->streams[0].shm); /* a mapping of its own */
	CHECK(maps_perms(s->shm, perms) && !strcmp(perms, "r--s"));
	CHECK(maps_perms(s->cons, perms) && !strcmp(perms, "rw-s"));
	CHECK(maps_perms(s->slots, perms) && !strcmp(perms, "r--s"));
	CHECK(maps_perms(s->data, perms) && !strcmp(perms, "r--s"));
	CHECK(write_faults((volatile char *)&s->shm->offset) == 1);
	CHECK(write_faults((volatile char *)&s->slots[0].id) == 1);
	CHECK(write_faults((volatile char *)s->data) == 1);
	CHECK(write_faults((volatile char *)&s->cons->_pad) == 0);
	/* The writer's own mapping stays writable, and both see one memory. */
	CHECK(write_one(&cfg_global, w, 7) == 0);
	CHECK(__atomic_load_n(&s->shm->offset, __ATOMIC_ACQUIRE) ==
	      __atomic_load_n(&w->streams[0].shm->offset, __ATOMIC_ACQUIRE));
	CHECK(s->cons == (void *)((char *)s->shm + s->shm->consumer_offset));
	/* What would write writer state is refused. */
	CHECK(grb_channel_flush(c) == -EPERM);
	CHECK(grb_channel_finalize(c) == -EPERM);
	CHECK(grb_channel_enable(c) == -EPERM);
	{
		struct grb_ctx ctx = { .payload_len = 8 };

		CHECK(grb_reserve(&cfg_global, c, &ctx) == -EAGAIN);
	}
	{
		struct grb_stream_shm d;

		CHECK(grb_channel_stream_shm(c, 0, &d) == -EOPNOTSUPP);
		CHECK(grb_channel_stream_shm(w, 1, &d) == -EINVAL);
	}
	CHECK(grb_channel_fd(c) == -EOPNOTSUPP);
	CHECK(grb_channel_owner_alive(c) == 1); /* this process */
	CHECK(grb_channel_owner_alive(w) == -EINVAL);
	CHECK(grb_channel_owner_alive(NULL) == -EINVAL);
	/* One consuming reader per stream, across the two views. */
	{
		struct grb_reader *r1 = grb_reader_create(w, 0, 0), *r2;

		CHECK(r1 != NULL);
		r2 = grb_reader_create(c, 0, 0);
		CHECK(r2 == NULL && errno == EBUSY);
		grb_reader_destroy(r1);
		r2 = grb_reader_create(c, 0, 0);
		CHECK(r2 != NULL);
		if (r2)
			grb_reader_destroy(r2);
	}
	/* A writer that still runs but will write no more (it called exec):
	 * its committed record is read, then -EAGAIN while it may write
	 * more; once it is declared gone, -ENODATA. */
	{
		struct grb_iter *it = grb_iter_create(c, 0, 0);
		struct grb_record rec;
		int got = 0, ret;

		CHECK(it != NULL);
		if (it) {
			while ((ret = grb_iter_next(it, &rec)) == 0)
				got++;
			CHECK(ret == -EAGAIN);
			CHECK(got == 1);
			CHECK(grb_channel_owner_gone(c) == 0);
			CHECK(grb_channel_owner_alive(c) == 0);
			CHECK(grb_iter_next(it, &rec) == -ENODATA);
			grb_iter_destroy(it);
		}
		CHECK(grb_channel_owner_gone(w) == -EINVAL);
		CHECK(grb_channel_owner_gone(NULL) == -EINVAL);
	}
	grb_channel_destroy(c);
	grb_channel_destroy(w);
	/* An anonymous channel has no descriptor to pass. */
	grb_channel_attr_init(&a);
	w = grb_channel_create(&cfg_global, &a);
	CHECK(w != NULL);
	if (w) {
		struct grb_stream_shm d;

		CHECK(grb_channel_stream_shm(w, 0, &d) == -EOPNOTSUPP);
		grb_channel_destroy(w);
	}
}

/* A memory file holding len bytes of src, sealed against resizing if seal. */
static int memfd_copy(const void *src, size_t len, size_t size, int seal)
{
	int fd = memfd_create("grb-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) || pwrite(fd, src, len < size ? len : size, 0) < 0 ||
	    (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Attaching fd with cfg fails with EPROTO and a message that says what. */
static void expect_proto(const char *what, const struct grb_config *cfg, const int *fds, uint32_t n,
			 const char *message)
{
	struct grb_channel *c;

	errno = 0;
	c = grb_channel_attach(cfg, fds, n, NULL);
	if (c || errno != EPROTO || !strstr(grb_last_error(), message))
		fprintf(stderr,
			"%s: attach gave %p, errno %d, \"%s\"; expected EPROTO and \"%s\"\n", what,
			(void *)c, errno, grb_last_error(), message);
	CHECK(c == NULL);
	CHECK(errno == EPROTO);
	CHECK(strstr(grb_last_error(), message) != NULL);
	if (c)
		grb_channel_destroy(c);
}

static void test_bad_headers(void)
{
	struct grb_channel_attr a;
	struct grb_channel *w;
	struct grb_stream_shm d;
	struct grb_shm_stream h;
	struct grb_config other = cfg_global, other_bits = cfg_global;
	size_t size;
	char *image;
	int fd, fds[2], pfd[2];

	attr_shared(&a);
	w = grb_channel_create(&cfg_global, &a);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK(grb_channel_stream_shm(w, 0, &d) == 0);
	size = (size_t)d.size;
	image = (char *)malloc(size);
	CHECK(image != NULL);
	CHECK(pread(d.fd, image, size, 0) == (ssize_t)size);
	memcpy(&h, image, sizeof(h));

	/* The image itself attaches: the checks below fail for what they
	 * change and nothing else. */
	fd = memfd_copy(image, size, size, 1);
	CHECK(fd >= 0);
	{
		struct grb_channel *c = grb_channel_attach(&cfg_global, &fd, 1, NULL);

		CHECK(c != NULL);
		if (c)
			grb_channel_destroy(c);
	}
	close(fd);

#define LIE(field, value, message)                                         \
	do {                                                               \
		struct grb_shm_stream *x = (struct grb_shm_stream *)image; \
		*x = h;                                                    \
		x->field = (value);                                        \
		fd = memfd_copy(image, size, size, 1);                     \
		CHECK(fd >= 0);                                            \
		expect_proto(#field, &cfg_global, &fd, 1, message);        \
		close(fd);                                                 \
		*x = h;                                                    \
	} while (0)

	LIE(magic, 0x4d5241424f4f42ull, "not a grb stream");
	LIE(version, 4, "layout version 4");
	LIE(byte_order, GRB_BYTE_ORDER_BIG, "byte order");
	LIE(word_size, 4, "word size");
	LIE(header_size, 4096, "header of 4096 bytes");
	LIE(slot_size, 64, "slots of 64");
	LIE(stream_id, 1, "says stream 1 of 1");
	LIE(nr_streams, 2, "stream 0 of 2");
	LIE(sb_order, 40, "no channel has");
	LIE(count_order, 0, "no channel has");
	LIE(sb_order, h.sb_order + 1, "do not match its geometry");
	LIE(count_order, h.count_order + 1, "do not match its geometry");
	LIE(data_offset, h.data_offset - 4096, "do not match its geometry");
	LIE(slots_offset, 64, "do not match its geometry");
	LIE(consumer_offset, 0, "do not match its geometry");
	LIE(map_size, h.map_size * 2, "do not match its geometry");
	LIE(mode, GRB_MODE_OVERWRITE, "written with mode 2");
	LIE(packet_header_size, 8, "packet header 8");
	LIE(client_hash, h.client_hash ^ 1, "written by another client");
#undef LIE

	/* Truncated: the memory is shorter than the header says, or than a
	 * header; a memory file that could shrink later; not a file. */
	fd = memfd_copy(image, size, size - SB, 1);
	CHECK(fd >= 0);
	expect_proto("truncated", &cfg_global, &fd, 1, "the memory holds");
	close(fd);
	fd = memfd_copy(image, size, 100, 1);
	CHECK(fd >= 0);
	expect_proto("header cut", &cfg_global, &fd, 1, "shorter than a stream header");
	close(fd);
	fd = memfd_copy(image, size, size + 4096, 1);
	CHECK(fd >= 0);
	expect_proto("longer", &cfg_global, &fd, 1, "the memory holds");
	close(fd);
	fd = memfd_copy(image, size, size, 0);
	CHECK(fd >= 0);
	expect_proto("unsealed", &cfg_global, &fd, 1, "not sealed against shrinking");
	close(fd);
	CHECK(pipe(pfd) == 0);
	expect_proto("pipe", &cfg_global, &pfd[0], 1, "not a memory file or file");
	close(pfd[0]);
	close(pfd[1]);

	/* Another client: the same geometry with another name, or other
	 * timestamp bits; more descriptors than streams. */
	other.name = "native-other";
	expect_proto("other client", &other, &d.fd, 1, "written by another client");
	other_bits.ts_bits = 16;
	expect_proto("other ts_bits", &other_bits, &d.fd, 1, "ts_bits 32");
	fds[0] = d.fd;
	fds[1] = d.fd;
	expect_proto("two of one", &cfg_global, fds, 2, "stream 0 of 1, 2 descriptors given");
	/* A descriptor open for reading only: the consumer page cannot be
	 * mapped writable. */
	{
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", d.fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(ro >= 0);
		errno = 0;
		CHECK(grb_channel_attach(&cfg_global, &ro, 1, NULL) == NULL);
		CHECK(errno == EACCES);
		close(ro);
	}
	errno = 0;
	CHECK(grb_channel_attach(&cfg_global, NULL, 1, NULL) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(grb_channel_attach(&cfg_global, fds, 0, NULL) == NULL && errno == EINVAL);
	free(image);
	grb_channel_destroy(w);
}

/* Reads stream 0 of c with a fresh iterator: the records' seqs into out. */
static int read_seqs(struct grb_channel *c, uint64_t *out, int max, int *eproto)
{
	struct grb_iter *it = grb_iter_create(c, 0, 0);
	struct grb_record rec;
	int n = 0, ret, rounds = 0;

	*eproto = 0;
	CHECK(it != NULL);
	if (!it)
		return 0;
	while (rounds++ < 10000) {
		ret = grb_iter_next(it, &rec);
		if (ret == -EPROTO) {
			(*eproto)++;
			continue;
		}
		if (ret)
			break;
		CHECK(rec.payload_len >= sizeof(struct shm_rec));
		if (n < max) {
			struct shm_rec r;

			memcpy(&r, rec.payload, sizeof(r));
			out[n] = r.seq;
		}
		n++;
	}
	grb_iter_destroy(it);
	return n;
}

static void test_hostile_contents(void)
{
	struct grb_channel_attr a;
	struct grb_channel *w, *c;
	struct grb_stream *ws;
	struct grb_stream_stats st;
	uint64_t seqs[1024], per_packet, i, off;
	int n, eproto;

	attr_shared(&a);
	w = grb_channel_create(&cfg_global, &a);
	CHECK(w != NULL);
	if (!w)
		return;
	ws = &w->streams[0];
	/* Three full packets and part of a fourth. */
	for (i = 0; __atomic_load_n(&ws->shm->offset, __ATOMIC_RELAXED) < 3 * SB + SB / 2; i++)
		CHECK(write_one(&cfg_global, w, i) == 0);
	c = attach_own(w, &cfg_global);
	CHECK(c != NULL);
	if (!c) {
		grb_channel_destroy(w);
		return;
	}
	per_packet = ws->slots[0].records;
	CHECK(per_packet > 0);
	/* Packet 0 says it holds more than a sub-buffer; packet 1's id names
	 * a sub-buffer outside the stream. */
	ws->slots[0].data_end = 1ull << 40;
	ws->slots[1].id = (ws->slots[1].id & ~GRB_ID_INDEX_MASK) | 0x7fffffff;
	n = read_seqs(c, seqs, 1024, &eproto);
	CHECK(eproto == 2);
	/* Packet 2 whole and the open packet's committed records, in order. */
	CHECK((uint64_t)n == i - 2 * per_packet);
	CHECK(n > 0 && seqs[0] == 2 * per_packet);
	for (off = 1; off < (uint64_t)n && off < 1024; off++)
		CHECK(seqs[off] == seqs[off - 1] + 1);
	CHECK(grb_channel_read_stream_stats(c, 0, &st) == 0);
	CHECK(st.corrupt_packets == 2);
	CHECK(st.corrupt_records == 2 * per_packet);
	CHECK(st.disabled == 0 && st.invariant_failures == 0);
	/* A committed position far ahead: nothing to read, no hang, no
	 * read past the ring. */
	__atomic_store_n(&ws->shm->commit_pos, ws->shm->offset + (1ull << 40), __ATOMIC_RELEASE);
	n = read_seqs(c, seqs, 1024, &eproto);
	CHECK(n == 0);
	/* A snapshot reader of the lying stream walks at most one ring. */
	__atomic_store_n(&ws->shm->offset, ws->shm->offset + (1ull << 50), __ATOMIC_RELEASE);
	{
		struct grb_reader *r = grb_reader_create(c, 0, GRB_READER_SNAPSHOT);
		struct grb_packet pkt;
		int k, ret = 0;

		CHECK(r != NULL);
		for (k = 0; r && k < 100; k++) {
			ret = grb_reader_get_next(r, &pkt);
			if (ret == 0)
				grb_reader_put(r, &pkt);
			else if (ret != -EPROTO && ret != -EAGAIN)
				break;
		}
		CHECK(ret == -ENODATA);
		if (r)
			grb_reader_destroy(r);
	}
	grb_channel_destroy(c);
	grb_channel_destroy(w);
}

static const struct grb_config cfg_wake =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);

static void *deliver_later(void *arg)
{
	struct grb_channel *w = (struct grb_channel *)arg;
	uint64_t i;

	usleep(100000);
	for (i = 0; __atomic_load_n(&w->streams[0].shm->offset, __ATOMIC_RELAXED) < SB; i++)
		write_one(&cfg_wake, w, i);
	return NULL;
}

/* A consumer sleeps on the writers' futex through its read-only mapping,
 * and the delivering writer wakes it through its own. */
static void test_wake_across_mappings(void)
{
	struct grb_channel_attr a;
	struct grb_channel *w, *c;
	struct grb_reader *r;
	struct grb_packet pkt;
	pthread_t t;
	uint64_t t0, dt;

	attr_shared(&a);
	w = grb_channel_create(&cfg_wake, &a);
	CHECK(w != NULL);
	if (!w)
		return;
	c = attach_own(w, &cfg_wake);
	CHECK(c != NULL);
	r = c ? grb_reader_create(c, 0, 0) : NULL;
	CHECK(r != NULL);
	if (r) {
		CHECK(grb_reader_get_next(r, &pkt) == -EAGAIN);
		pthread_create(&t, NULL, deliver_later, w);
		t0 = now_ns();
		CHECK(grb_reader_wait(r, 5000000000ull) == 0);
		dt = now_ns() - t0;
		pthread_join(t, NULL);
		/* It slept until the delivery (a futex that failed on the
		 * read-only page would return at once), and was woken, not
		 * timed out. */
		CHECK(dt >= 50000000ull && dt < 4000000000ull);
		CHECK(grb_reader_get_next(r, &pkt) == 0);
		grb_reader_put(r, &pkt);
		grb_reader_destroy(r);
	}
	if (c)
		grb_channel_destroy(c);
	grb_channel_destroy(w);
}

/* Stream files in a directory under base: /tmp (a disk here, or tmpfs)
 * and /dev/shm (tmpfs, whose files say F_SEAL_SEAL: they can never be
 * sealed, so they are files as any other). */
static void test_dir(const char *base)
{
	char dir[64], path[256];
	struct grb_channel_attr a;
	struct grb_channel *w, *w2, *c;
	struct stat sb;
	uint64_t seqs[256], i;
	int n, eproto, fd;

	snprintf(dir, sizeof(dir), "%s/grb-shm-XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	attr_shared(&a);
	a.backing = GRB_BACKING_DIR;
	a.shm_path = dir;
	a.name = "chan";
	w = grb_channel_create(&cfg_global, &a);
	CHECK(w != NULL);
	if (!w) {
		fprintf(stderr, "dir: %s\n", grb_last_error());
		rmdir(dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/chan_0", dir);
	CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode));
	/* Never over an existing file. */
	errno = 0;
	w2 = grb_channel_create(&cfg_global, &a);
	CHECK(w2 == NULL && errno == EEXIST);
	CHECK(stat(path, &sb) == 0); /* the failed one left it alone */
	for (i = 0; i < 100; i++)
		CHECK(write_one(&cfg_global, w, i) == 0);
	c = grb_channel_attach_dir(&cfg_global, dir, "chan", NULL);
	if (!c)
		fprintf(stderr, "attach_dir: %s\n", grb_last_error());
	CHECK(c != NULL);
	if (c) {
		n = read_seqs(c, seqs, 256, &eproto);
		CHECK(n == 100 && eproto == 0);
		for (i = 0; i < 100 && (int)i < n; i++)
			CHECK(seqs[i] == i);
		grb_channel_destroy(c);
	}
	errno = 0;
	CHECK(grb_channel_attach_dir(&cfg_global, dir, "nope", NULL) == NULL && errno == ENOENT);
	/* A truncated copy of the file is refused. */
	{
		char bad[256];
		struct grb_stream_shm d;
		char *buf;

		CHECK(grb_channel_stream_shm(w, 0, &d) == 0);
		buf = (char *)malloc((size_t)d.size);
		CHECK(buf && pread(d.fd, buf, (size_t)d.size, 0) == (ssize_t)d.size);
		snprintf(bad, sizeof(bad), "%s/bad_0", dir);
		fd = open(bad, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		CHECK(fd >= 0);
		CHECK(buf && write(fd, buf, (size_t)d.size - SB) == (ssize_t)(d.size - SB));
		close(fd);
		errno = 0;
		CHECK(grb_channel_attach_dir(&cfg_global, dir, "bad", NULL) == NULL);
		CHECK(errno == EPROTO && strstr(grb_last_error(), "the memory holds"));
		unlink(bad);
		free(buf);
	}
	grb_channel_destroy(w);
	CHECK(stat(path, &sb) < 0 && errno == ENOENT); /* removed */
	CHECK(rmdir(dir) == 0);
	/* A directory is needed. */
	attr_shared(&a);
	a.backing = GRB_BACKING_DIR;
	errno = 0;
	CHECK(grb_channel_create(&cfg_global, &a) == NULL && errno == EINVAL);
	a.backing = 7;
	errno = 0;
	CHECK(grb_channel_create(&cfg_global, &a) == NULL && errno == EINVAL);
}

static volatile sig_atomic_t other_sigbus;

static void count_sigbus(int sig)
{
	(void)sig;
	other_sigbus++;
}

/*
 * A stream file truncated under the consumer (a file cannot be sealed):
 * its next access past the end replaces the mapping with zeros instead of
 * killing the consumer; the readers say -EIO and the channel counts it.  A
 * SIGBUS that is not about a watched mapping goes to the handler that was
 * there before.  The writer is a child, whose own mapping would fault.
 */
static void test_dir_shrunk(const char *base)
{
	char dir[64], path[256];
	struct grb_channel_attr a;
	struct grb_channel *c;
	struct grb_reader *r;
	struct grb_packet pkt;
	uint64_t seqs[256];
	int p[2], n, eproto, st = 0;
	pid_t pid;
	char b;

	snprintf(dir, sizeof(dir), "%s/grb-shm-XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	other_sigbus = 0;
	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		struct grb_channel *w;
		uint64_t i;

		attr_shared(&a);
		a.backing = GRB_BACKING_DIR;
		a.shm_path = dir;
		a.name = "chan";
		a.nr_streams = 1;
		w = grb_channel_create(&cfg_global, &a);
		for (i = 0; w && i < 100; i++)
			if (write_one(&cfg_global, w, i))
				_exit(2);
		if (!w || write(p[1], "r", 1) != 1)
			_exit(1);
		pause(); /* killed by the parent, its files left */
		_exit(0);
	}
	CHECK(pid > 0);
	close(p[1]);
	CHECK(read(p[0], &b, 1) == 1);
	close(p[0]);
	c = grb_channel_attach_dir(&cfg_global, dir, "chan", NULL);
	CHECK(c != NULL);
	if (c) {
		/* Read whole first. */
		n = read_seqs(c, seqs, 256, &eproto);
		CHECK(n == 100 && eproto == 0);
		CHECK(grb_channel_lost_memory(c) == 0);
		/* Only the header page is left. */
		snprintf(path, sizeof(path), "%s/chan_0", dir);
		CHECK(truncate(path, 4096) == 0);
		/* The consuming reader's first look faults: zeros, -EIO. */
		r = grb_reader_create(c, 0, 0);
		CHECK(r != NULL);
		if (r) {
			CHECK(grb_reader_get_next(r, &pkt) == -EIO);
			grb_reader_destroy(r);
		}
		CHECK(grb_channel_lost_memory(c) == 1);
		r = grb_reader_create(c, 0, GRB_READER_SNAPSHOT);
		if (r) {
			CHECK(grb_reader_get_next(r, &pkt) == -EIO);
			grb_reader_destroy(r);
		}
		CHECK(other_sigbus == 0);
		grb_channel_destroy(c);
	}
	/* Not about a watched mapping: the previous handler. */
	kill(getpid(), SIGBUS);
	CHECK(other_sigbus == 1);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
	snprintf(path, sizeof(path), "%s/chan_0", dir);
	unlink(path);
	CHECK(rmdir(dir) == 0);
}

static void *write_without_stream(void *arg)
{
	struct grb_channel *w = (struct grb_channel *)arg;
	int i;

	for (i = 0; i < 5; i++)
		CHECK(write_one(&cfg_thread, w, (uint64_t)i) == -ENOSPC);
	return NULL;
}

/* Records lost because their thread found no free stream are counted in
 * the mapping: a consumer attached from another process sees them. */
static void test_no_stream_seen(void)
{
	struct grb_channel_attr a;
	struct grb_channel_stats st;
	struct grb_channel *w, *c;
	pthread_t t;

	attr_shared(&a);
	a.nr_streams = 1;
	w = grb_channel_create(&cfg_thread, &a);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK(write_one(&cfg_thread, w, 0) == 0); /* this thread owns the stream */
	pthread_create(&t, NULL, write_without_stream, w);
	pthread_join(t, NULL);
	c = attach_own(w, &cfg_thread);
	CHECK(c != NULL);
	if (c) {
		CHECK(grb_channel_read_stats(c, &st) == 0);
		CHECK(st.lost[GRB_LOST_NO_STREAM] == 5 && st.lost_total == 5);
		grb_channel_destroy(c);
	}
	CHECK(grb_channel_read_stats(w, &st) == 0);
	CHECK(st.lost[GRB_LOST_NO_STREAM] == 5 && st.lost_total == 5);
	grb_channel_destroy(w);
}

int main(void)
{
	/* First: the test's handler is the one there before the first file
	 * is attached, which installs the library's. */
	struct sigaction sa, old;

	/* The program's own SIGBUS handler, installed before the library's
	 * (the first attach of a file), which chains to it; kept for both
	 * runs: the library installs its handler once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_sigbus;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGBUS, &sa, &old) == 0);
	test_dir_shrunk("/tmp");
	test_dir_shrunk("/dev/shm");
	CHECK(sigaction(SIGBUS, &old, NULL) == 0);
	test_no_stream_seen();
	test_read_only();
	test_bad_headers();
	test_hostile_contents();
	test_dir("/tmp");
	test_dir("/dev/shm");
	test_wake_across_mappings();
	test_fork("global atomic", &cfg_global, 20000, 0);
	test_fork("global atomic overwrite", &cfg_global_ow, 20000, 0);
	test_fork("per-cpu atomic", &cfg_percpu, 20000, 1);
	test_fork("per-cpu rseq", &cfg_rseq, 20000, 0);
	test_fork("per-thread single writer", &cfg_thread, 20000, 0);
	test_fork("per-thread blocking", &cfg_thread_block, 20000, 1);
	return check_exit("test_shm");
}
