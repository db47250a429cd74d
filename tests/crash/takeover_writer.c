// SPDX-License-Identifier: MIT
/*
 * takeover_writer.c - a traced program for the take-over tests
 * (crash_takeover.sh): `grb record --buffers DIR -- takeover_writer --log
 * FILE --threads N --mode discard|overwrite --records R`.  It registers a
 * channel with the session (per-thread streams, in the mode asked) and
 * writes from N threads, each its records numbered 0, 1, 2, ... (with its
 * thread number and a check word), moving to the next number when a
 * commit returns (a refused call is retried: the stream counted it lost),
 * until each wrote R records (and, with --stop FILE, until FILE exists:
 * the test says when); then the threads return and it exits without
 * closing the channel (as the preloads do); with --close S it closes it
 * (grb_session_close: its files go) and lives S seconds more, with --exec
 * S it executes `sleep S` (a new image, which maps none of the channel).
 * It never learns whether a recorder drains it.
 *
 * FILE, mapped shared, outlives it, in little-endian 64-bit words: its
 * pid, ready (1 once registered), the thread count, finished (1 once every
 * thread returned), then from word 8 each thread's done (its commits
 * returned: records 0..done-1 are committed) and fails (its calls
 * refused), stored after each call.
 *
 * `takeover_writer --hold DIR PREFIX STREAMS discard|overwrite` is a live
 * reader instead: it attaches the stream files DIR/PREFIX_<i>, releases
 * the claim of the reader before it (whose process died), holds a
 * consuming reader on each stream, says "holding" and waits to be killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/session.h>

#define TW_FIELDS(F) F(u32, thread) F(u64, seq) F(u64, check)
GRB_CTF_EVENT(tw_rec, "takeover:rec", 1, TW_FIELDS)
static const struct grb_ctf_event_desc *const events[] = { &tw_rec_event };

static const struct grb_config cfg_discard = GRB_SESSION_CONFIG;
static const struct grb_config cfg_discard_wake = GRB_SESSION_CONFIG_WAKE;
static const struct grb_config cfg_over = GRB_SESSION_CONFIG_OVERWRITE;
static const struct grb_config cfg_over_wake = GRB_SESSION_CONFIG_OVERWRITE_WAKE;

#define MAX_THREADS 64

struct tw_log {
	int64_t pid;
	uint64_t ready, nthreads, finished;
	uint64_t _pad[4];
	struct {
		uint64_t done, fails;
	} t[MAX_THREADS];
};

static struct tw_log *tlog;
static struct grb_channel *ch;
static const struct grb_config *wcfg;
static uint64_t records = 100000, pace = 8;
static const char *stop_file;

/* Records 0..done-1 written: may the thread stop? */
static int finished(uint64_t done, uint64_t n)
{
	if (done < records)
		return 0;
	/* Every 256 calls, whether the test said stop. */
	return !stop_file || (n % 256 == 0 && !access(stop_file, F_OK));
}

static uint64_t check_of(uint32_t thread, uint64_t seq)
{
	return (seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)thread << 56);
}

static void *writer(void *arg)
{
	uint32_t me = (uint32_t)(uintptr_t)arg;
	uint64_t n = 0;

	while (!finished(tlog->t[me].done, n)) {
		uint64_t seq = tlog->t[me].done;
		int ret;

		/* Four configurations, one inline write path each. */
		if (wcfg == &cfg_discard)
			ret = tw_rec_write(&cfg_discard, ch, me, seq, check_of(me, seq));
		else if (wcfg == &cfg_discard_wake)
			ret = tw_rec_write(&cfg_discard_wake, ch, me, seq, check_of(me, seq));
		else if (wcfg == &cfg_over)
			ret = tw_rec_write(&cfg_over, ch, me, seq, check_of(me, seq));
		else
			ret = tw_rec_write(&cfg_over_wake, ch, me, seq, check_of(me, seq));
		/* The log is read once this process has ended (or, by the
		 * hold mode's test, not at all): relaxed stores, and a signal
		 * fence keeps them after the call. */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (ret == 0)
			__atomic_store_n(&tlog->t[me].done, seq + 1, __ATOMIC_RELAXED);
		else
			__atomic_store_n(&tlog->t[me].fails, tlog->t[me].fails + 1,
					 __ATOMIC_RELAXED);
		if (++n % pace == 0) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int hold(const char *dir, const char *prefix, uint32_t n, int overwrite)
{
	const struct grb_config *cfg = overwrite ? &cfg_over : &cfg_discard;
	struct grb_channel *c = grb_channel_attach_dir(cfg, dir, prefix, NULL);
	uint32_t i;

	if (!c || grb_channel_nr_streams(c) != n) {
		fprintf(stderr, "takeover_writer: --hold: %s\n",
			c ? "another stream count" : grb_last_error());
		return 1;
	}
	grb_channel_consumer_gone(c);
	for (i = 0; i < n; i++)
		if (!grb_reader_create(c, i, 0)) {
			fprintf(stderr, "takeover_writer: --hold: stream %u: %s\n", i,
				grb_last_error());
			return 1;
		}
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	const char *path = NULL;
	uint32_t threads = 1, i, close_wait = 0;
	const char *exec_wait = NULL;
	int overwrite = 0, fd, closing = 0;

	if (argc == 6 && !strcmp(argv[1], "--hold"))
		return hold(argv[2], argv[3], (uint32_t)atoi(argv[4]),
			    !strcmp(argv[5], "overwrite"));
	for (i = 1; i < (uint32_t)argc; i++) {
		if (!strcmp(argv[i], "--log") && i + 1 < (uint32_t)argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < (uint32_t)argc)
			threads = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--records") && i + 1 < (uint32_t)argc)
			records = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--pace") && i + 1 < (uint32_t)argc)
			pace = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--mode") && i + 1 < (uint32_t)argc)
			overwrite = !strcmp(argv[++i], "overwrite");
		else if (!strcmp(argv[i], "--stop") && i + 1 < (uint32_t)argc)
			stop_file = argv[++i];
		else if (!strcmp(argv[i], "--close") && i + 1 < (uint32_t)argc)
			closing = 1, close_wait = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--exec") && i + 1 < (uint32_t)argc)
			exec_wait = argv[++i];
		else
			break;
	}
	if (!path || i != (uint32_t)argc || !threads || threads > MAX_THREADS || !pace) {
		fprintf(stderr,
			"usage: takeover_writer --log FILE [--threads N] [--records R] "
			"[--pace K] [--mode discard|overwrite] [--stop FILE] [--close S | --exec S]\n"
			"       takeover_writer --hold DIR PREFIX STREAMS discard|overwrite\n");
		return 2;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, sizeof(struct tw_log))) {
		perror(path);
		return 2;
	}
	tlog = (struct tw_log *)mmap(NULL, sizeof(struct tw_log), PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
	if (tlog == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	ch = overwrite ?
		     grb_session_channel_pick(&cfg_over, &cfg_over_wake, "take", events, 1, &wcfg) :
		     grb_session_channel_pick(&cfg_discard, &cfg_discard_wake, "take", events, 1,
					      &wcfg);
	if (!ch) {
		fprintf(stderr, "takeover_writer: no session: %s\n", grb_last_error());
		return 3;
	}
	__atomic_store_n(&tlog->pid, (int64_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&tlog->nthreads, threads, __ATOMIC_RELAXED);
	__atomic_store_n(&tlog->ready, 1, __ATOMIC_RELAXED);
	for (i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)i)) {
			fprintf(stderr, "takeover_writer: pthread_create failed\n");
			return 3;
		}
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&tlog->finished, 1, __ATOMIC_RELAXED);
	if (closing) {
		if (grb_session_close(ch))
			return 3;
		sleep(close_wait);
	}
	if (exec_wait) {
		execlp("sleep", "sleep", exec_wait, (char *)NULL);
		return 3;
	}
	return 0;
}
