// SPDX-License-Identifier: MIT
/*
 * stress_shm.c - a writer process killed with SIGKILL while another process
 * consumes its streams, and long runs of a writer process and a consumer.
 *
 * The writer child creates a channel in memory files, passes the
 * descriptors over a UNIX socket, and writes with 2 threads.  Each thread
 * numbers its records 0, 1, 2, ... and moves to the next number only when
 * a record is committed (a refused reservation is retried), and after each
 * commit publishes the number in a page shared with the parent.  The
 * parent attaches and drains while the child writes.
 *
 * kill: after a while the parent kills the child (SIGKILL), sees the owner
 * gone, and drains to -ENODATA.  Per thread, with P the count of records
 * it published as committed: the records read are exactly 0..m-1 (no gap,
 * no duplicate, in order) with P <= m <= P + 1 on per-thread streams (one
 * writer each: everything committed before the kill is there; record P
 * may be committed and not yet published).  On a global stream a record
 * another thread had reserved and not committed stops the stream's
 * committed position, so only m <= P + 1, no gap and no duplicate hold; on
 * per-CPU streams such a stop in one stream can leave a gap in a thread's
 * numbers read from another, so only no duplicate, order and count hold.
 *
 * run: the child writes N records per thread and finalizes; the parent
 * reads each once, in order per stream and thread, and returned + lost ==
 * written (discard and blocking), returned + overwritten == committed
 * (overwrite).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "stress_common.h"
#include "../unit/shm_pass.h"

#define THREADS 2

static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_percpu =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config cfg_percpu_ow =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_thread_block =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_BLOCKING);

/* Shared with the child (MAP_SHARED before the fork): each thread's last
 * committed number + 1 (0: none yet). */
static uint64_t *published;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct wjob {
	const struct grb_config *cfg;
	struct grb_channel *ch;
	uint32_t thread;
	uint64_t n; /* records (run) or 0: until killed, numbered on commit */
	uint64_t cap; /* until killed: the numbers stay below it (the parent's
		       * table of records seen has that many per thread) */
};

static void *writer_thread(void *arg)
{
	struct wjob *j = (struct wjob *)arg;
	uint64_t seq = 0, tries;

	for (tries = 0; j->n ? tries < j->n : 1; tries++) {
		struct grb_ctx ctx = { .payload_len = sizeof(struct shm_rec) };
		struct shm_rec r = { j->thread, SHM_REC_MAGIC, seq };

		if (!j->n && seq >= j->cap) {
			/* A thread far ahead of the other waits here to be
			 * killed: the parent kills when both reached a target. */
			usleep(1000);
			continue;
		}
		if (grb_reserve(j->cfg, j->ch, &ctx) == 0) {
			grb_write(&ctx, &r, sizeof(r));
			grb_commit(j->cfg, &ctx);
			seq++;
			/* release: not needed by the parent, which reads after
			 * the child is dead; a plain publication. */
			__atomic_store_n(&published[j->thread], seq, __ATOMIC_RELEASE);
		} else if (!j->n) {
			sched_yield(); /* full: the consumer will free it */
		}
		if (j->n)
			seq = tries + 1; /* run: numbered by attempt */
	}
	return NULL;
}

static void writer_child(int sock, const struct grb_config *cfg, uint64_t n, uint64_t cap)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct wjob jobs[THREADS];
	pthread_t t[THREADS];
	char go;
	int i;

	grb_channel_attr_init(&a);
	a.subbuf_size = 8192;
	a.subbuf_count = 8;
	a.nr_streams = 4;
	a.backing = GRB_BACKING_MEMFD;
	ch = grb_channel_create(cfg, &a);
	if (!ch || shm_send_channel(sock, ch))
		_exit(2);
	if (read(sock, &go, 1) != 1)
		_exit(3);
	for (i = 0; i < THREADS; i++) {
		jobs[i] = (struct wjob){ cfg, ch, (uint32_t)i, n, cap };
		pthread_create(&t[i], NULL, writer_thread, &jobs[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	grb_channel_finalize(ch);
	_exit(0);
}

/* Reads what every stream has now; -ENODATA when all ended. */
static int drain_once(struct grb_iter **it, uint32_t n, uint8_t *ended, struct shm_seen *seen)
{
	struct grb_record rec;
	uint32_t i, all = 0;
	int ret;

	for (i = 0; i < n; i++) {
		if (ended[i]) {
			all++;
			continue;
		}
		while ((ret = grb_iter_next(it[i], &rec)) == 0)
			shm_seen_add(seen, &rec);
		if (ret == -ENODATA) {
			ended[i] = 1;
			all++;
		} else if (ret != -EAGAIN) {
			FAIL("stream %u: grb_iter_next %d\n", i, ret);
		}
	}
	return all == n ? -ENODATA : -EAGAIN;
}

/* One run: kill (n == 0) after target records per thread, or write n. */
static void run(const char *what, const struct grb_config *cfg, uint64_t n, uint64_t target,
		int strict, int gapless)
{
	int sv[2], fds[SHM_MAX_FDS], nfd, status, i;
	struct grb_iter *it[SHM_MAX_FDS];
	uint8_t ended[SHM_MAX_FDS] = { 0 };
	uint64_t tag, max_seq = n ? n : target * 64 + 1000000, deadline, start = now_ns();
	struct grb_channel *ch;
	struct grb_channel_stats cs;
	struct shm_seen seen;
	uint64_t committed = 0;
	int killed = 0, alive_seen = 0;
	uint32_t s;
	pid_t pid;

	published[0] = published[1] = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		FAIL("%s: socketpair\n", what);
		return;
	}
	fflush(NULL); /* a child must not print what the parent buffered */
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		writer_child(sv[1], cfg, n, max_seq);
	}
	close(sv[1]);
	nfd = shm_recv_fds(sv[0], fds, SHM_MAX_FDS, &tag);
	ch = nfd > 0 ? grb_channel_attach(cfg, fds, (uint32_t)nfd, NULL) : NULL;
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	if (!ch || write(sv[0], "g", 1) != 1 || shm_seen_init(&seen, THREADS, max_seq, nfd)) {
		FAIL("%s: attach: %s\n", what, grb_last_error());
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		if (ch)
			grb_channel_destroy(ch);
		return;
	}
	for (s = 0; s < (uint32_t)nfd; s++)
		it[s] = grb_iter_create(ch, s, 0);
	deadline = now_ns() + 120000000000ull;
	for (;;) {
		int ret = drain_once(it, (uint32_t)nfd, ended, &seen);

		if (ret == -ENODATA || now_ns() > deadline)
			break;
		if (!n && !killed &&
		    ((__atomic_load_n(&published[0], __ATOMIC_ACQUIRE) >= target &&
		      __atomic_load_n(&published[1], __ATOMIC_ACQUIRE) >= target) ||
		     now_ns() - start > 20000000000ull)) {
			uint64_t t0 = now_ns();

			alive_seen = grb_channel_owner_alive(ch);
			kill(pid, SIGKILL);
			killed = 1;
			/* The owner is seen gone (a zombie until it is reaped)
			 * once the signal took it; then the readers end after
			 * the committed records. */
			while (grb_channel_owner_alive(ch) != 0 && now_ns() - t0 < 5000000000ull)
				usleep(100);
			if (grb_channel_owner_alive(ch) != 0)
				FAIL("%s: killed writer still alive\n", what);
		}
		if (ret == -EAGAIN)
			usleep(50);
	}
	if (now_ns() > deadline)
		FAIL("%s: drain did not end\n", what);
	waitpid(pid, &status, 0);
	if (n && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		FAIL("%s: writer exit status %d\n", what, status);
	if (!n && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		FAIL("%s: writer was not killed (status %d)\n", what, status);
	if (!n && alive_seen != 1)
		FAIL("%s: the writer was not seen alive before the kill\n", what);
	grb_channel_read_stats(ch, &cs);
	for (s = 0; s < (uint32_t)nfd; s++) {
		struct grb_stream_stats st;

		grb_channel_read_stream_stats(ch, s, &st);
		committed += st.committed;
	}
	if (seen.bad || seen.dups || seen.disorder)
		FAIL("%s: %" PRIu64 " bad, %" PRIu64 " duplicated, %" PRIu64 " out of order\n",
		     what, seen.bad, seen.dups, seen.disorder);
	if (cs.corrupt_packets || cs.invariant_failures)
		FAIL("%s: %" PRIu64 " corrupt packets, %" PRIu64 " invariant failures\n", what,
		     cs.corrupt_packets, cs.invariant_failures);
	if (n) {
		if (cfg->mode == GRB_MODE_OVERWRITE) {
			if (seen.records + cs.lost[GRB_LOST_OVERWRITTEN] != committed ||
			    committed + cs.lost_total - cs.lost[GRB_LOST_OVERWRITTEN] !=
				    THREADS * n)
				FAIL("%s: read %" PRIu64 " + overwritten %" PRIu64
				     " != committed %" PRIu64 ", or + lost != %" PRIu64 "\n",
				     what, seen.records, cs.lost[GRB_LOST_OVERWRITTEN], committed,
				     THREADS * n);
		} else if (seen.records + cs.lost_total != THREADS * n ||
			   seen.records != committed) {
			FAIL("%s: read %" PRIu64 " + lost %" PRIu64 " != written %" PRIu64
			     " (committed %" PRIu64 ")\n",
			     what, seen.records, cs.lost_total, THREADS * n, committed);
		}
	} else {
		for (s = 0; s < THREADS; s++) {
			uint64_t m = shm_seen_prefix(&seen, s), c = shm_seen_count(&seen, s);
			uint64_t a = published[s];

			if (gapless && m != c)
				FAIL("%s: thread %u: %" PRIu64 " read but only 0..%" PRIu64
				     " without a gap\n",
				     what, s, c, m);
			if (c > a + 1 || (strict && m < a))
				FAIL("%s: thread %u: read 0..%" PRIu64 ", last committed %" PRIu64
				     " published\n",
				     what, s, m, a);
		}
		if (seen.records > committed)
			FAIL("%s: read %" PRIu64 " of %" PRIu64 " committed\n", what, seen.records,
			     committed);
	}
	if (n)
		printf("%s: %" PRIu64 " written, %" PRIu64 " read, %" PRIu64 " committed, %" PRIu64
		       " lost\n",
		       what, THREADS * n, seen.records, committed, cs.lost_total);
	else
		printf("%s: killed after %" PRIu64 "/%" PRIu64 " published; %" PRIu64
		       " read, %" PRIu64 " committed, %" PRIu64 " lost\n",
		       what, published[0], published[1], seen.records, committed, cs.lost_total);
	for (s = 0; s < (uint32_t)nfd; s++)
		if (it[s])
			grb_iter_destroy(it[s]);
	shm_seen_free(&seen);
	grb_channel_destroy(ch);
	close(sv[0]);
}

int main(void)
{
	uint64_t n = stress_size(1000000, 20000);
	uint64_t target = n / 4;

	published = (uint64_t *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				     -1, 0);
	if (published == MAP_FAILED)
		return 1;
	run("kill per-thread", &cfg_thread, 0, target, 1, 1);
	run("kill per-thread early", &cfg_thread, 0, target / 8, 1, 1);
	run("kill global", &cfg_global, 0, target, 0, 1);
	run("kill per-cpu", &cfg_percpu, 0, target / 2, 0, 0);
	run("per-thread discard", &cfg_thread, n, 0, 0, 0);
	run("global discard", &cfg_global, n, 0, 0, 0);
	run("per-cpu rseq discard", &cfg_percpu, n, 0, 0, 0);
	run("per-cpu overwrite", &cfg_percpu_ow, n, 0, 0, 0);
	run("per-thread blocking", &cfg_thread_block, n / 4, 0, 0, 0);
	if (failures) {
		fprintf(stderr, "stress_shm: %d failures\n", failures);
		return 1;
	}
	printf("stress_shm: all checks passed\n");
	return 0;
}
