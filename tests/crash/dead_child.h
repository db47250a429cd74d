/* SPDX-License-Identifier: MIT */
/*
 * dead_child.h - what crash_delivery and crash_push share: a child
 * process that creates a one-stream channel in memory files, passes it to
 * this process and writes until a test point kills it; this process
 * attaches the channel, waits for the death and drains the stream as a
 * consumer of a dead writer, each record's payload starting with its
 * sequence number.
 */
#ifndef GRB_TEST_DEAD_CHILD_H
#define GRB_TEST_DEAD_CHILD_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/static/testpoint.h>

#include "../unit/shm_pass.h"

/* Shared with the parent (MAP_SHARED): the record whose call the kill
 * stops, and whether the child armed the kill. */
struct dead_shared {
	volatile uint64_t armed_seq;
	volatile uint32_t armed;
};

static struct dead_shared *dead_sh;
/* The test point the armed child dies at. */
static enum grb_tp dead_kill_at;

static void dead_tp_hook(enum grb_tp p, uint64_t pass, void *arg)
{
	(void)pass;
	(void)arg;
	if (p == dead_kill_at && dead_sh->armed)
		kill(getpid(), SIGKILL);
}

/* Arms the kill for record seq: the child dies at its next pass of
 * dead_kill_at. */
static inline void dead_arm(uint64_t seq)
{
	dead_sh->armed_seq = seq;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	dead_sh->armed = 1;
}

/* The child's channel: one stream of count sub-buffers of sb bytes in
 * memory files, sent over sock; returns once this process says go, with
 * the kill's hook set (the child exits 3 on failure). */
static inline struct grb_channel *dead_child_channel(const struct grb_config *cfg, int sock,
						     uint32_t sb, uint32_t count)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	char go;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = count;
	a.nr_streams = 1;
	a.backing = GRB_BACKING_MEMFD;
	ch = grb_channel_create(cfg, &a);
	if (!ch || shm_send_channel(sock, ch) || read(sock, &go, 1) != 1)
		_exit(3);
	grb_tp_set_hook(dead_tp_hook, NULL);
	return ch;
}

/* Forks child(cfg, sock, arg) (dead_sh cleared), attaches the channel it
 * passes, lets it go and waits for it.  The channel, its writer declared gone, or NULL after
 * saying why; *status is the child's wait status. */
static inline struct grb_channel *
dead_child_run(const char *prog, const struct grb_config *cfg,
	       void (*child)(const struct grb_config *, int, uint32_t), uint32_t arg, int *status)
{
	int sv[2], fds[SHM_MAX_FDS], nfd;
	struct grb_channel *ch;
	uint64_t tag;
	pid_t pid;
	int q;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return NULL;
	memset((void *)dead_sh, 0, sizeof(*dead_sh));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child(cfg, sv[1], arg);
		_exit(6);
	}
	close(sv[1]);
	nfd = shm_recv_fds(sv[0], fds, SHM_MAX_FDS, &tag);
	ch = nfd > 0 ? grb_channel_attach(cfg, fds, (uint32_t)nfd, NULL) : NULL;
	for (q = 0; q < nfd; q++)
		close(fds[q]);
	if (!ch || write(sv[0], "g", 1) != 1) {
		fprintf(stderr, "%s: attach: %s\n", prog, grb_last_error());
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		if (ch)
			grb_channel_destroy(ch);
		return NULL;
	}
	waitpid(pid, status, 0);
	close(sv[0]);
	(void)grb_channel_owner_alive(ch);
	return ch;
}

/* What the drain of a dead writer's stream returned. */
struct dead_drain {
	uint64_t read, dups, first; /* first: UINT64_MAX when none */
};

/* Drains stream 0 to its end, marking seen[seq] (max_seq of them) for
 * each record.  0, or 1 after saying what went wrong (a return other
 * than a record, -EAGAIN or the end; a reader that does not end within
 * 10 s; a record that names no sequence number). */
static inline int dead_child_drain(const char *prog, const char *name, uint32_t n,
				   struct grb_channel *ch, uint8_t *seen, uint64_t max_seq,
				   struct dead_drain *d)
{
	struct grb_iter *it = grb_iter_create(ch, 0, 0);
	struct grb_record rec;
	time_t t0 = time(NULL);
	int ret, bad = 0;

	d->read = d->dups = 0;
	d->first = UINT64_MAX;
	if (!it)
		return 1;
	while ((ret = grb_iter_next(it, &rec)) != -ENODATA) {
		uint64_t s;

		if (ret == -EAGAIN) {
			if (time(NULL) - t0 > 10) {
				fprintf(stderr, "%s: %s child %u: the reader did not end\n", prog,
					name, n);
				bad = 1;
				break;
			}
			continue;
		}
		if (ret || rec.payload_len < sizeof(s)) {
			fprintf(stderr, "%s: %s child %u: grb_iter_next %d\n", prog, name, n, ret);
			bad = 1;
			break;
		}
		memcpy(&s, rec.payload, sizeof(s));
		if (s >= max_seq) {
			bad = 1;
			continue;
		}
		if (s < d->first)
			d->first = s;
		d->dups += seen[s];
		seen[s] = 1;
		d->read++;
	}
	grb_iter_destroy(it);
	return bad;
}

/* dead_sh, in memory the children share: 0 or -1. */
static inline int dead_shared_init(enum grb_tp kill_at)
{
	dead_kill_at = kill_at;
	dead_sh = (struct dead_shared *)mmap(NULL, sizeof(*dead_sh), PROT_READ | PROT_WRITE,
					     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return dead_sh == MAP_FAILED ? -1 : 0;
}

#endif /* GRB_TEST_DEAD_CHILD_H */
