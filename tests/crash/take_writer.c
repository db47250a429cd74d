// SPDX-License-Identifier: MIT
/*
 * take_writer.c - a traced program for the take-over tests
 * (crash_recover.sh): `grb record --buffers DIR -- take_writer --log FILE`.
 * It registers a channel with the session (per-thread streams, discard
 * mode) and writes records numbered 0, 1, 2, ... from one thread, moving
 * to the next number when a commit returns (a refused one is retried: the
 * stream counted it lost), until it is killed or has written --max
 * records.  FILE, mapped shared, outlives it: its pid, then `done` (the
 * commits returned: records 0..done-1 are committed) and `fails` (the
 * refused calls), stored after each call, so that a SIGKILL at any moment
 * leaves a log true for every record below done; record done itself may
 * or may not be committed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/session.h>

#define TAKE_FIELDS(F) F(u64, seq) F(u64, check)
GRB_CTF_EVENT(take_rec, "take:rec", 1, TAKE_FIELDS)
static const struct grb_ctf_event_desc *const events[] = { &take_rec_event };

static const struct grb_config cfg = GRB_SESSION_CONFIG;
static const struct grb_config cfg_wake = GRB_SESSION_CONFIG_WAKE;

/* The log, in a file mapped shared: only this process writes it. */
struct take_log {
	int64_t pid;
	uint64_t done; /* commits returned */
	uint64_t fails; /* calls refused (counted lost by the stream) */
	uint64_t ready; /* 1 once registered */
};

int main(int argc, char **argv)
{
	const struct grb_config *wcfg = NULL;
	struct grb_channel *ch;
	struct take_log *log;
	uint64_t max = UINT64_MAX, n = 0;
	const char *path = NULL;
	int i, fd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--log") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--max") && i + 1 < argc)
			max = strtoull(argv[++i], NULL, 10);
		else
			break;
	}
	if (!path || i != argc) {
		fprintf(stderr, "usage: take_writer --log FILE [--max N]\n");
		return 2;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 4096)) {
		perror(path);
		return 2;
	}
	log = (struct take_log *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (log == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	ch = grb_session_channel_pick(&cfg, &cfg_wake, "take", events, 1, &wcfg);
	if (!ch) {
		fprintf(stderr, "take_writer: no session: %s\n", grb_last_error());
		return 3;
	}
	/* relaxed: the log is read after this process is dead or paused. */
	__atomic_store_n(&log->pid, (int64_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&log->ready, 1, __ATOMIC_RELAXED);
	while (log->done < max) {
		uint64_t seq = log->done;
		int ret;

		if (wcfg == &cfg_wake)
			ret = take_rec_write(&cfg_wake, ch, seq, seq * 0x9e3779b97f4a7c15ull);
		else
			ret = take_rec_write(&cfg, ch, seq, seq * 0x9e3779b97f4a7c15ull);
		/* The compiler keeps the store after the call (a signal fence
		 * suffices: SIGKILL stops this thread between instructions). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (ret == 0)
			__atomic_store_n(&log->done, seq + 1, __ATOMIC_RELAXED);
		else
			__atomic_store_n(&log->fails, log->fails + 1, __ATOMIC_RELAXED);
		if (++n % 8 == 0) {
			/* Tens of thousands of records a second: the recorder drains
			 * many packets before it is killed. */
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	grb_session_close(ch);
	return 0;
}
