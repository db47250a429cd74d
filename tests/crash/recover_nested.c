// SPDX-License-Identifier: MIT
/*
 * recover_nested.c - a dead single writer's nested records, one state at a
 * time (doc/design.md, "A writer that exits or dies").  Each case forks a
 * writer process that writes into a per-thread stream in memory files; the
 * test-point hook (doc/testpoints.md) raises the signal whose handler
 * writes at nesting depth 2, and calls a writer at depth 3 from inside it,
 * at chosen points of the write path, and kills the process (SIGKILL) at
 * another.  This process then attaches the
 * stream, sees the writer gone, drains it, and checks exactly which records
 * come out, in which order, and how many reservations were counted lost
 * (GRB_LOST_DIED): every record whose commit's add was made is read once,
 * every reservation open at the death is counted, nothing else; or, where
 * the rule must decline (a full log, two answers the counts cannot tell
 * apart), nothing of the dead tail is read or counted.
 *
 *   recover_nested [CASE]
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "../unit/check.h"
#include "../unit/shm_pass.h"

#ifndef GRB_TEST_POINTS
#error "recover_nested needs the test points (link grb_tp)"
#endif

#define SB 512u
#define MAX_IDS 64

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);

/* ---- the writer process ---- */

/* What the hook does at a trigger: raise the signal whose handler writes
 * at depth 2, or call the depth-3 writer, then, or only, kill the process.
 * Depth 3 is a call from the hook, inside the depth-2 handler's write:
 * what a signal arriving at that point runs (ThreadSanitizer defers a
 * signal raised inside a handler until the handler returns). */
enum { RAISE1 = 1, CALL2 = 2, KILL = 4 };

/* The hook's script: each trigger fires once, at the first pass of its
 * point at its nesting depth once the one before it fired. */
struct trigger {
	enum grb_tp point;
	uint32_t depth;
	uint32_t action;
};

static struct grb_channel *wch;
static struct grb_stream *wstream;
static struct trigger script[4];
static uint32_t nscript, fired;
static void (*handler1)(void), (*handler2)(void);
static uint32_t calls1;

static void die_now(void)
{
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

static void hook(enum grb_tp p, uint64_t pass, void *arg)
{
	struct trigger *t;

	(void)pass;
	(void)arg;
	if (fired >= nscript)
		return;
	t = &script[fired];
	if (p != t->point || _grb_tls_nesting != t->depth)
		return;
	fired++;
	if (t->action & RAISE1)
		raise(SIGUSR1);
	if (t->action & CALL2)
		handler2();
	if (t->action & KILL)
		die_now();
}

static void arm(const struct trigger *t, uint32_t n)
{
	memcpy(script, t, n * sizeof(*t));
	nscript = n;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	fired = 0;
}

static void on_usr1(int sig)
{
	(void)sig;
	calls1++;
	handler1();
}

/* Reserves a record of id with len bytes of payload (at least 8). */
static void reserve(struct grb_ctx *ctx, uint32_t id, uint32_t len)
{
	uint8_t buf[256];

	memset(ctx, 0, sizeof(*ctx));
	ctx->payload_len = len;
	if (len < 8 || len > sizeof(buf) || grb_reserve(&cfg, wch, ctx))
		_exit(10);
	wstream = ctx->stream;
	memset(buf, (int)id, sizeof(buf));
	memcpy(buf, &id, sizeof(id));
	memcpy(buf + 4, &len, sizeof(len));
	grb_write(ctx, buf, len);
}

static void put(uint32_t id, uint32_t len)
{
	struct grb_ctx ctx;

	reserve(&ctx, id, len);
	grb_commit(&cfg, &ctx);
}

/* Fillers 0, 1, ... of 16 bytes, at least 3, until the packet has less
 * than room bytes left (and more than 48); returns the next filler id. */
static uint32_t fill(uint32_t room)
{
	uint32_t id = 0;
	uint64_t left;

	do {
		struct grb_ctx ctx;

		reserve(&ctx, id++, 16);
		left = SB - ((ctx.pos + ctx.slot_len) & (SB - 1));
		grb_commit(&cfg, &ctx);
	} while (id < 3 || left >= room || left <= 48);
	return id;
}

/* The thread's record 100, reserved, with the hook armed: it never
 * commits (the script kills first). */
static void thread_record(const struct trigger *t, uint32_t n, uint32_t len)
{
	struct grb_ctx ctx;

	arm(t, n);
	reserve(&ctx, 100, len);
	grb_commit(&cfg, &ctx);
}

/* Handlers. */
static void h_200_201(void)
{
	put(200, 16);
	put(201, 24);
}

static void h_200_big(void)
{
	put(200, 200);
}

/* A record that ends its packet exactly, then one that opens the next. */
static void h_exact_then_next(void)
{
	/* relaxed: this thread's own stream, read by its handler. */
	uint64_t left = SB - (__atomic_load_n(&wstream->shm->offset, __ATOMIC_RELAXED) & (SB - 1));

	put(200, (uint32_t)left - 16); /* a nested record's header: 16 bytes */
	put(201, 16);
}

static void h_200_then_open(void)
{
	struct grb_ctx ctx;

	put(200, 16);
	reserve(&ctx, 201, 24); /* killed in it */
	grb_commit(&cfg, &ctx);
}

static void h_200(void)
{
	put(200, 16);
}

static void h_201(void)
{
	put(201, 24);
}

static void h_300(void)
{
	put(300, 40);
}

static void h_300_16(void)
{
	put(300, 16);
}

static void h_discard_rollback(void)
{
	struct grb_ctx ctx;

	reserve(&ctx, 201, 24);
	grb_discard(&cfg, &ctx); /* nothing after it: given back */
	put(202, 16);
}

static void h_discard_marked(void)
{
	struct grb_ctx ctx;

	reserve(&ctx, 201, 24);
	handler2(); /* 300 reserved after it (depth 3): no rollback */
	grb_discard(&cfg, &ctx);
}

static void h_many(void)
{
	uint32_t i;

	if (calls1 > 1) {
		put(250, 16);
		return;
	}
	for (i = 0; i < 20; i++)
		put(201 + i, 16);
}

static void h_flush_200(void)
{
	/* As a remote grb_channel_flush() asks the owner. */
	__atomic_store_n(&wstream->shm->flush_req, 1, __ATOMIC_RELAXED);
	put(200, 16);
}

/* The cases: the writer's part. */
static void w_depth2(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(1000);
	handler1 = h_200_201;
	thread_record(t, 1, 16);
}

static void w_depth2_added(void)
{
	static const struct trigger t[] = { { GRB_TP_COMMIT_ADDED, 1, RAISE1 | KILL } };

	fill(1000);
	handler1 = h_200;
	thread_record(t, 1, 16);
}

static void w_depth2_switch(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(100);
	handler1 = h_200_big;
	thread_record(t, 1, 16);
}

static void w_depth2_exact_switch(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(100);
	handler1 = h_exact_then_next;
	thread_record(t, 1, 16);
}

static void w_depth2_open(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_RESERVED, 2, 0 },
					    { GRB_TP_RESERVED, 2, KILL } };

	fill(1000);
	handler1 = h_200_then_open;
	thread_record(t, 3, 16);
}

static void w_depth2_logged(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_NESTED_LOGGED, 2, KILL } };

	fill(1000);
	handler1 = h_200;
	thread_record(t, 2, 16);
}

static void w_depth2_added_open(void)
{
	static const struct trigger t[] = { { GRB_TP_COMMIT_ADDED, 1, RAISE1 },
					    { GRB_TP_RESERVED, 2, KILL } };

	fill(1000);
	handler1 = h_201;
	thread_record(t, 2, 16);
}

static void w_depth2_added_not_done(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_COMMIT_ADDED, 2, KILL } };

	fill(1000);
	handler1 = h_200;
	thread_record(t, 2, 16);
}

static void w_depth3_void(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_NESTED_LOGGED, 2, CALL2 | KILL } };

	fill(1000);
	handler1 = h_201;
	handler2 = h_300;
	thread_record(t, 2, 16);
}

static void w_depth3_retry(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL },
					    { GRB_TP_NESTED_LOGGED, 2, CALL2 } };

	fill(1000);
	handler1 = h_201;
	handler2 = h_300;
	thread_record(t, 2, 16);
}

static void w_depth3_open(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_RESERVED, 2, CALL2 },
					    { GRB_TP_RESERVED, 3, KILL } };

	fill(1000);
	handler1 = h_201;
	handler2 = h_300;
	thread_record(t, 3, 16);
}

static void w_depth3_added(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_COMMIT_ADDED, 2, CALL2 },
					    { GRB_TP_RESERVED, 3, KILL } };

	fill(1000);
	handler1 = h_201;
	handler2 = h_300;
	thread_record(t, 3, 16);
}

static void w_depth3_ambiguous(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_COMMIT_ADDED, 2, CALL2 },
					    { GRB_TP_RESERVED, 3, KILL } };

	fill(1000);
	handler1 = h_200;
	handler2 = h_300_16;
	thread_record(t, 3, 16);
}

static void w_discard_rollback(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(1000);
	handler1 = h_discard_rollback;
	thread_record(t, 1, 16);
}

static void w_discard_marked(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(1000);
	handler1 = h_discard_marked;
	handler2 = h_300;
	thread_record(t, 1, 16);
}

static void w_discard_in_flight(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_COMMIT_ADDED, 2, KILL } };

	fill(1000);
	handler1 = h_discard_marked;
	handler2 = h_300;
	thread_record(t, 2, 16);
}

static void w_full(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(1000);
	handler1 = h_many;
	thread_record(t, 1, 16);
}

static void w_full_restart(void)
{
	static const struct trigger t1[] = { { GRB_TP_RESERVED, 1, RAISE1 } };
	static const struct trigger t2[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };
	struct grb_ctx ctx;

	fill(1000);
	handler1 = h_many;
	arm(t1, 1);
	reserve(&ctx, 100, 16);
	grb_commit(&cfg, &ctx); /* the outer commit publishes: the log restarts */
	arm(t2, 1);
	reserve(&ctx, 101, 16);
	grb_commit(&cfg, &ctx);
}

static void w_flush(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 | KILL } };

	fill(1000);
	handler1 = h_flush_200;
	thread_record(t, 1, 16);
}

static void w_flush_open(void)
{
	static const struct trigger t[] = { { GRB_TP_RESERVED, 1, RAISE1 },
					    { GRB_TP_PACKET_CLOSED, 2, KILL } };

	fill(1000);
	handler1 = h_flush_200;
	thread_record(t, 2, 16);
}

/* ---- the consumer ---- */

struct kase {
	const char *name;
	void (*writer)(void);
	/* Past the fillers (all read): the records read, in order; -1 ends. */
	int32_t ids[24];
	uint64_t died;
	/* When not 0: the reader is destroyed after this many of the case's
	 * records and a new one goes on (a consumer that takes over). */
	uint32_t takeover;
};

static const struct kase cases[] = {
	/* A handler's records behind the thread's reservation. */
	{ "depth2", w_depth2, { 200, 201, -1 }, 1, 0 },
	/* The thread's record added, not published: the handler publishes
	 * it before its own. */
	{ "depth2_added", w_depth2_added, { 100, 200, -1 }, 0, 0 },
	/* The handler's record closes the packet and opens the next. */
	{ "depth2_switch", w_depth2_switch, { 200, -1 }, 1, 0 },
	/* The handler's first record ends the packet, its second opens the
	 * next. */
	{ "depth2_exact_switch", w_depth2_exact_switch, { 200, 201, -1 }, 1, 0 },
	/* A second handler record left open. */
	{ "depth2_open", w_depth2_open, { 200, -1 }, 2, 0 },
	/* The handler's entry logged, its CAS not made. */
	{ "depth2_logged", w_depth2_logged, { -1 }, 1, 0 },
	/* The thread's record added, not published, then a handler's record
	 * left open: the handler published the thread's first. */
	{ "depth2_added_open", w_depth2_added_open, { 100, -1 }, 1, 0 },
	/* The handler's record added, its entry not yet done. */
	{ "depth2_added_not_done", w_depth2_added_not_done, { 200, -1 }, 1, 0 },
	/* Depth 3 interrupts a depth-2 entry stored before its CAS. */
	{ "depth3_void", w_depth3_void, { 300, -1 }, 1, 0 },
	/* ... and the depth-2 write retries after it. */
	{ "depth3_retry", w_depth3_retry, { 300, 201, -1 }, 1, 0 },
	/* Three reservations open, one a depth. */
	{ "depth3_open", w_depth3_open, { -1 }, 3, 0 },
	/* Depth 2 added, depth 3 open, of other sizes: the counts tell. */
	{ "depth3_added", w_depth3_added, { 201, -1 }, 2, 0 },
	/* The same of equal sizes: two answers, the rule declines. */
	{ "depth3_ambiguous", w_depth3_ambiguous, { -1 }, 0, 0 },
	/* A depth-2 record given back, then another. */
	{ "discard_rollback", w_discard_rollback, { 202, -1 }, 1, 0 },
	/* A depth-2 record discarded behind a depth-3 one. */
	{ "discard_marked", w_discard_marked, { 300, -1 }, 1, 0 },
	/* ... killed in the discard's add. */
	{ "discard_in_flight", w_discard_in_flight, { 300, -1 }, 1, 0 },
	/* 20 handler records: the log is full, the rule declines. */
	{ "full", w_full, { -1 }, 0, 0 },
	/* ... then the outer commit, and the log restarts. */
	{ "full_restart",
	  w_full_restart,
	  { 100, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211,
	    212, 213, 214, 215, 216, 217, 218, 219, 220, 250, -1 },
	  1,
	  0 },
	/* A new reader after the first record of the tail. */
	{ "takeover_depth2", w_depth2, { 200, 201, -1 }, 1, 1 },
	{ "takeover_exact_switch", w_depth2_exact_switch, { 200, 201, -1 }, 1, 1 },
	{ "takeover_depth3_retry", w_depth3_retry, { 300, 201, -1 }, 1, 1 },
	/* A handler's flush (flush_req), then its record. */
	{ "flush", w_flush, { 200, -1 }, 1, 0 },
	/* ... killed after the flush's padding add. */
	{ "flush_open", w_flush_open, { -1 }, 1, 0 },
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

static void child(const struct kase *k, int sock)
{
	struct grb_channel_attr a;
	struct sigaction sa;
	char go;

	grb_channel_attr_init(&a);
	a.subbuf_size = SB;
	a.subbuf_count = 4;
	a.nr_streams = 1;
	a.backing = GRB_BACKING_MEMFD;
	wch = grb_channel_create(&cfg, &a);
	if (!wch || shm_send_channel(sock, wch) || read(sock, &go, 1) != 1)
		_exit(3);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	grb_tp_set_hook(hook, NULL);
	k->writer();
	_exit(9); /* the script did not kill */
}

static void run(const struct kase *k)
{
	int sv[2], fds[SHM_MAX_FDS], nfd, status, ret, bad = 0;
	uint32_t got[MAX_IDS], n = 0, i, fillers = 0, want;
	struct grb_channel_stats cs;
	struct grb_channel *ch;
	struct grb_record rec;
	struct grb_iter *it;
	uint64_t tag, taken = 0;
	time_t t0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		CHECK(0);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child(k, sv[1]);
	}
	close(sv[1]);
	nfd = shm_recv_fds(sv[0], fds, SHM_MAX_FDS, &tag);
	ch = nfd == 1 ? grb_channel_attach(&cfg, fds, 1, NULL) : NULL;
	if (nfd > 0)
		close(fds[0]);
	CHECK(ch != NULL);
	if (!ch || write(sv[0], "g", 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		return;
	}
	waitpid(pid, &status, 0);
	close(sv[0]);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "recover_nested: %s: the writer was not killed (status 0x%x)\n",
			k->name, status);
		CHECK(0);
		grb_channel_destroy(ch);
		return;
	}
	CHECK(grb_channel_owner_alive(ch) == 0);
	it = grb_iter_create(ch, 0, 0);
	CHECK(it != NULL);
	t0 = time(NULL);
	while (it && (ret = grb_iter_next(it, &rec)) != -ENODATA) {
		uint32_t id, len;

		if (ret == -EAGAIN) {
			if (time(NULL) - t0 > 10) {
				fprintf(stderr, "recover_nested: %s: the reader did not end\n",
					k->name);
				bad = 1;
				break;
			}
			continue;
		}
		if (ret || rec.payload_len < 8) {
			fprintf(stderr, "recover_nested: %s: grb_iter_next %d\n", k->name, ret);
			bad = 1;
			break;
		}
		memcpy(&id, rec.payload, 4);
		memcpy(&len, (const char *)rec.payload + 4, 4);
		if (len != rec.payload_len) {
			fprintf(stderr, "recover_nested: %s: record %u torn\n", k->name, id);
			bad = 1;
		}
		/* The fillers first, in order, then the case's records. */
		if (!n && id == fillers && id < 100)
			fillers++;
		else if (n < MAX_IDS)
			got[n++] = id;
		if (k->takeover && n == k->takeover && id >= 100) {
			/* The consumed position is all the next reader has. */
			grb_iter_destroy(it);
			it = grb_iter_create(ch, 0, 0);
			CHECK(it != NULL);
		}
	}
	grb_channel_read_stats(ch, &cs);
	/* What the consumers took, as a consumer taking over would learn
	 * it: every record read. */
	if (grb_channel_consumed_records(ch, 0, &taken) || taken != fillers + n) {
		fprintf(stderr, "recover_nested: %s: consumed records %" PRIu64 ", %u read\n",
			k->name, taken, fillers + n);
		bad = 1;
	}
	for (want = 0; k->ids[want] >= 0; want++)
		;
	if (n != want)
		bad = 1;
	for (i = 0; i < n && i < want; i++)
		if (got[i] != (uint32_t)k->ids[i])
			bad = 1;
	if (fillers < 3 || cs.lost[GRB_LOST_DIED] != k->died || cs.corrupt_packets ||
	    cs.corrupt_records || cs.invariant_failures)
		bad = 1;
	if (bad) {
		fprintf(stderr, "recover_nested: %s: %u fillers, then", k->name, fillers);
		for (i = 0; i < n; i++)
			fprintf(stderr, " %u", got[i]);
		fprintf(stderr, " (want");
		for (i = 0; i < want; i++)
			fprintf(stderr, " %d", k->ids[i]);
		fprintf(stderr, "); died %" PRIu64 " (want %" PRIu64 "), corrupt %" PRIu64 "\n",
			cs.lost[GRB_LOST_DIED], k->died, cs.corrupt_packets);
		CHECK(0);
	} else {
		printf("recover_nested: %s: %u fillers, %u records, %" PRIu64 " died\n", k->name,
		       fillers, n, k->died);
	}
	if (it)
		grb_iter_destroy(it);
	grb_channel_destroy(ch);
}

int main(int argc, char **argv)
{
	uint32_t i, ran = 0;

	for (i = 0; i < NR_CASES; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		run(&cases[i]);
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "recover_nested: no case %s\n", argc > 1 ? argv[1] : "");
		return 2;
	}
	return check_exit("recover_nested");
}
