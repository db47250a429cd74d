// SPDX-License-Identifier: MIT
/*
 * kdev_check.c - the test of /dev/grb from user space (doc/kernel.md,
 * "Reading from user space"), run in the VM by run_vm.sh with grb.ko and
 * grb_devtest.ko loaded:
 *
 *	kdev_check [--duration-ms N] [--unload MODULE]
 *
 * It finds the channel grb_devtest.ko published, checks what the device
 * says of it and of its streams, that a stream maps read-only but for its
 * consumer page (a write faults; mprotect cannot lift it), attaches the
 * streams with grb_channel_attach() as a consumer of another process's
 * memory files does, starts the channel, waits in poll() for the first
 * delivered sub-buffer (a writer's wake-up, deferred through grb.ko's
 * irq_work, must end the wait before its 10 s timeout), drains it for a
 * while, stops it and drains the rest: every CPU's records numbered from
 * 0 without a gap, each once, read == committed by the streams' counts,
 * no loss but "full".  Then a consumer process that dies without
 * cleaning up must leave the channel to the next one (the device resets
 * its consumer pages), and a second recording goes on with the numbers
 * where the first stopped: nothing is written while the channel is
 * stopped.  With --unload, the module is removed while this consumer
 * still maps the streams: poll says POLLHUP, the channel's ioctls
 * -ENODEV, and the memory is still readable.
 *
 * It prints "kdev_check: PASS: ..." or the failed checks and "kdev_check:
 * FAIL".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>
#include <grb/kdev.h>

#include "devtest.h"

#define MAX_STREAMS 64

static const struct grb_config cfg = DEVTEST_CONFIG;
static int failures;

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "kdev_check: %s:%d: CHECK(%s) failed (errno %d)\n", \
				__FILE__, __LINE__, #cond, errno);                          \
			failures++;                                                         \
		}                                                                           \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A consumer of the channel: its descriptors, attached channel, readers. */
struct consumer {
	int dev, cfd;
	uint32_t n;
	int sfd[MAX_STREAMS];
	struct grb_channel *ch;
	struct grb_reader *rd[MAX_STREAMS];
	struct grb_kdev_channel_info ci;
};

/* What the consumer read of each stream. */
static uint64_t next_seq[MAX_STREAMS], got[MAX_STREAMS], bad_records;

static int find_channel(int dev, struct grb_kdev_channel_info *out)
{
	struct grb_kdev_info info;
	uint32_t i;

	if (ioctl(dev, GRB_KDEV_INFO, &info))
		return -1;
	for (i = 0; i < info.nr_channels; i++) {
		memset(out, 0, sizeof(*out));
		out->index = i;
		if (ioctl(dev, GRB_KDEV_CHANNEL_INFO, out))
			return -1;
		if (!strcmp(out->name, DEVTEST_CHANNEL))
			return 0;
	}
	return -1;
}

/* Open the channel, its streams, attach, create the readers. */
static int consumer_open(struct consumer *c)
{
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->dev = open(GRB_KDEV_PATH, O_RDWR | O_CLOEXEC);
	if (c->dev < 0 || find_channel(c->dev, &c->ci))
		return -1;
	c->cfd = ioctl(c->dev, GRB_KDEV_CHANNEL_OPEN, &c->ci.id);
	if (c->cfd < 0)
		return -1;
	c->n = c->ci.nr_streams;
	if (c->n > MAX_STREAMS)
		return -1;
	for (i = 0; i < c->n; i++) {
		c->sfd[i] = ioctl(c->cfd, GRB_KDEV_STREAM_OPEN, &i);
		if (c->sfd[i] < 0)
			return -1;
	}
	c->ch = grb_channel_attach(&cfg, c->sfd, c->n, NULL);
	if (!c->ch) {
		fprintf(stderr, "kdev_check: attach: %s\n", grb_last_error());
		return -1;
	}
	for (i = 0; i < c->n; i++) {
		c->rd[i] = grb_reader_create(c->ch, i, 0);
		if (!c->rd[i])
			return -1;
	}
	return 0;
}

static void consumer_close(struct consumer *c)
{
	uint32_t i;

	for (i = 0; i < c->n; i++)
		if (c->rd[i])
			grb_reader_destroy(c->rd[i]);
	if (c->ch)
		grb_channel_destroy(c->ch);
	for (i = 0; i < c->n; i++)
		if (c->sfd[i] > 0)
			close(c->sfd[i]);
	if (c->cfd > 0)
		close(c->cfd);
	if (c->dev > 0)
		close(c->dev);
	memset(c, 0, sizeof(*c));
}

/* Take every delivered packet of every stream; return the records read,
 * counting those out of order in bad_records. */
static uint64_t drain(struct consumer *c)
{
	struct grb_packet_cursor cur;
	struct grb_packet pkt;
	struct grb_record rec;
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < c->n; i++) {
		int ret;

		while ((ret = grb_reader_get_next(c->rd[i], &pkt)) == 0) {
			grb_packet_cursor_init(&pkt, &cur);
			while (grb_packet_record_next(c->rd[i], &pkt, &cur, &rec) == 0) {
				struct devtest_record d;

				if (rec.payload_len < sizeof(d)) {
					bad_records++;
					continue;
				}
				memcpy(&d, rec.payload, sizeof(d));
				if (d.magic != DEVTEST_MAGIC || d.cpu != pkt.info.cpu ||
				    d.seq != next_seq[i]) {
					if (bad_records++ < 5)
						fprintf(stderr,
							"kdev_check: stream %u: record cpu %u magic "
							"0x%x seq %" PRIu64 ", expected cpu %u seq "
							"%" PRIu64 "\n",
							i, d.cpu, d.magic, d.seq, pkt.info.cpu,
							next_seq[i]);
				}
				next_seq[i] = d.seq + 1;
				got[i]++;
				n++;
			}
			grb_reader_put(c->rd[i], &pkt);
		}
		CHECK(ret == -EAGAIN || ret == -ENODATA);
	}
	return n;
}

/* The device's answers about the channel and a stream's mappings. */
static void check_device(struct consumer *c)
{
	struct grb_kdev_channel_info ci;
	struct grb_kdev_stream_info si;
	struct grb_shm_stream h;
	char desc[64];
	struct grb_kdev_buf b = { .addr = (uintptr_t)desc, .size = sizeof(desc) };
	long page = sysconf(_SC_PAGESIZE);
	uint32_t bad = c->n;
	char *p;
	pid_t pid;
	int st;

	CHECK(!strcmp(c->ci.client, "native"));
	CHECK(c->ci.subbuf_size == DEVTEST_SUBBUF_SIZE);
	CHECK(c->ci.subbuf_count == DEVTEST_SUBBUF_COUNT);
	CHECK(c->ci.alloc == GRB_ALLOC_PER_CPU && c->ci.sync == GRB_SYNC_PER_CPU_RSEQ &&
	      c->ci.mode == GRB_MODE_DISCARD && c->ci.wakeup == GRB_WAKEUP_WRITER);
	CHECK(c->ci.nr_streams >= (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	CHECK(!c->ci.enabled);
	/* One consumer at a time. */
	errno = 0;
	CHECK(ioctl(c->dev, GRB_KDEV_CHANNEL_OPEN, &c->ci.id) < 0 && errno == EBUSY);
	memset(&ci, 0, sizeof(ci));
	CHECK(!ioctl(c->cfd, GRB_KDEV_CHANNEL_SELF, &ci) && ci.busy && ci.id == c->ci.id);
	/* The description: its full size, whatever the buffer's. */
	CHECK(ioctl(c->cfd, GRB_KDEV_DESC, &b) == (int)sizeof(DEVTEST_DESC));
	CHECK(!memcmp(desc, DEVTEST_DESC, sizeof(DEVTEST_DESC)));
	b.size = 4;
	CHECK(ioctl(c->cfd, GRB_KDEV_DESC, &b) == (int)sizeof(DEVTEST_DESC));
	errno = 0;
	CHECK(ioctl(c->cfd, GRB_KDEV_STREAM_OPEN, &bad) < 0 && errno == EINVAL);

	/* A stream: its size by ioctl and lseek, its header by pread. */
	CHECK(!ioctl(c->sfd[0], GRB_KDEV_STREAM_INFO, &si));
	CHECK(si.index == 0 && si.nr_streams == c->n && si.consumer_offset == (uint64_t)page);
	CHECK(lseek(c->sfd[0], 0, SEEK_END) == (off_t)si.size);
	CHECK(pread(c->sfd[0], &h, sizeof(h), 0) == (ssize_t)sizeof(h));
	CHECK(h.magic == GRB_SHM_MAGIC && h.version == GRB_LAYOUT_VERSION &&
	      h.map_size == si.size && h.consumer_offset == si.consumer_offset);
	CHECK(pread(c->sfd[0], &h, sizeof(h), (off_t)si.size) == 0);

	/* Mappings: never the writers' part writable, never private, never
	 * past the end. */
	errno = 0;
	CHECK(mmap(NULL, si.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->sfd[0], 0) == MAP_FAILED &&
	      errno == EACCES);
	errno = 0;
	CHECK(mmap(NULL, si.size, PROT_READ, MAP_PRIVATE, c->sfd[0], 0) == MAP_FAILED &&
	      errno == EINVAL);
	errno = 0;
	CHECK(mmap(NULL, si.size + (size_t)page, PROT_READ, MAP_SHARED, c->sfd[0], 0) ==
		      MAP_FAILED &&
	      errno == EINVAL);
	p = mmap(NULL, si.size, PROT_READ, MAP_SHARED, c->sfd[0], 0);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	CHECK(!memcmp(p, &h.magic, sizeof(h.magic)));
	errno = 0;
	CHECK(mprotect(p, (size_t)page, PROT_READ | PROT_WRITE) && errno == EACCES);
	errno = 0;
	CHECK(mprotect(p + si.consumer_offset, (size_t)page, PROT_READ | PROT_WRITE) &&
	      errno == EACCES);
	/* A write there faults. */
	pid = fork();
	if (pid == 0) {
		*(volatile char *)(p + 8) = 1;
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	/* The consumer page alone maps writable, over the rest. */
	CHECK(mmap(p + si.consumer_offset, si.consumer_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, c->sfd[0],
		   (off_t)si.consumer_offset) == p + si.consumer_offset);
	errno = 0;
	CHECK(mmap(NULL, si.consumer_size + (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
		   c->sfd[0], (off_t)si.consumer_offset) == MAP_FAILED &&
	      errno == EACCES);
	munmap(p, si.size);
}

/* Start, wait in poll() for the first delivery, record for ms, stop and
 * drain.  Return the records read. */
static uint64_t record(struct consumer *c, uint64_t ms, uint64_t *first_wait_ms)
{
	struct pollfd pfd = { .fd = c->cfd, .events = POLLIN };
	struct grb_kdev_channel_info ci;
	uint64_t t0, n = 0, end;
	int r;

	/* Stopped: nothing comes. */
	CHECK(poll(&pfd, 1, 0) == 0);
	CHECK(!ioctl(c->cfd, GRB_KDEV_START));
	CHECK(!ioctl(c->cfd, GRB_KDEV_CHANNEL_SELF, &ci) && ci.enabled);
	t0 = now_ms();
	r = poll(&pfd, 1, 10000);
	*first_wait_ms = now_ms() - t0;
	CHECK(r == 1 && (pfd.revents & POLLIN));
	CHECK(*first_wait_ms < 10000);
	end = now_ms() + ms;
	while (now_ms() < end) {
		r = poll(&pfd, 1, 100);
		CHECK(r >= 0);
		n += drain(c);
	}
	CHECK(!ioctl(c->cfd, GRB_KDEV_STOP));
	CHECK(!ioctl(c->cfd, GRB_KDEV_CHANNEL_SELF, &ci) && !ci.enabled);
	/* Everything committed is delivered now. */
	n += drain(c);
	CHECK(poll(&pfd, 1, 0) == 0);
	return n;
}

/* Every stream read exactly what it committed; the losses. */
static void check_counts(struct consumer *c, uint64_t *lost_full)
{
	uint32_t i;

	for (i = 0; i < c->n; i++) {
		struct grb_stream_stats st;

		CHECK(!grb_channel_read_stream_stats(c->ch, i, &st));
		if (got[i] != st.committed || next_seq[i] != st.committed)
			fprintf(stderr,
				"kdev_check: stream %u: read %" PRIu64 " (next %" PRIu64
				"), committed %" PRIu64 "\n",
				i, got[i], next_seq[i], st.committed);
		CHECK(got[i] == st.committed && next_seq[i] == st.committed);
		CHECK(st.lost_total == st.lost[GRB_LOST_FULL]);
		CHECK(!st.corrupt_packets && !st.invariant_failures && !st.disabled);
		*lost_full += st.lost[GRB_LOST_FULL];
	}
}

int main(int argc, char **argv)
{
	const char *unload = NULL;
	uint64_t ms = 1000, n1, n2, w1, w2, lost = 0;
	struct consumer c;
	uint32_t i, nstreams, cpus_seen = 0;
	int a, st;
	pid_t pid;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--unload") && a + 1 < argc)
			unload = argv[++a];
		else if (!strcmp(argv[a], "--duration-ms") && a + 1 < argc)
			ms = strtoull(argv[++a], NULL, 10);
		else
			return fprintf(stderr,
				       "usage: kdev_check [--duration-ms N] [--unload MODULE]\n"),
			       2;
	}
	if (consumer_open(&c)) {
		fprintf(stderr, "kdev_check: FAIL: cannot open the channel %s (%s)\n",
			DEVTEST_CHANNEL, strerror(errno));
		return 1;
	}
	nstreams = c.n;
	check_device(&c);

	/* First recording. */
	n1 = record(&c, ms, &w1);
	check_counts(&c, &lost);
	for (i = 0; i < c.n; i++)
		cpus_seen += got[i] != 0;
	CHECK(cpus_seen == (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	consumer_close(&c);

	/* A consumer that dies holding the streams, a reader on each. */
	pid = fork();
	if (pid == 0) {
		struct consumer d;

		_exit(consumer_open(&d) ? 1 : 0);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st));

	/* The next consumer gets the streams, and the numbers go on where
	 * the first recording stopped. */
	CHECK(!consumer_open(&c));
	if (!c.ch) {
		fprintf(stderr, "kdev_check: FAIL: no second consumer\n");
		return 1;
	}
	n2 = record(&c, ms / 4, &w2);
	check_counts(&c, &lost);
	CHECK(!bad_records);

	if (unload) {
		struct pollfd pfd = { .fd = c.cfd, .events = POLLIN };
		char cmd[128];
		struct grb_shm_stream *shm = c.ch->streams[0].shm;

		snprintf(cmd, sizeof(cmd), "rmmod %s", unload);
		CHECK(system(cmd) == 0);
		CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLHUP));
		errno = 0;
		CHECK(ioctl(c.cfd, GRB_KDEV_START) < 0 && errno == ENODEV);
		errno = 0;
		i = 0;
		CHECK(ioctl(c.cfd, GRB_KDEV_STREAM_OPEN, &i) < 0 && errno == ENODEV);
		/* The memory is still there, finalized. */
		CHECK(shm->magic == GRB_SHM_MAGIC && shm->finalized == 1);
		CHECK(grb_reader_get_next(c.rd[0], &(struct grb_packet){ 0 }) == -ENODATA);
	}
	consumer_close(&c);

	if (failures) {
		fprintf(stderr, "kdev_check: FAIL: %d checks failed\n", failures);
		return 1;
	}
	printf("kdev_check: PASS: %u streams, %u CPUs; recording 1: %" PRIu64
	       " records read = committed, first delivery woke poll after %" PRIu64
	       " ms; recording 2 after a consumer died: %" PRIu64
	       " records, numbers continued, woken after %" PRIu64 " ms; lost full %" PRIu64 "%s\n",
	       nstreams, cpus_seen, n1, w1, n2, w2, lost,
	       unload ? "; module removed under the mappings: POLLHUP, -ENODEV, memory kept" : "");
	return 0;
}
