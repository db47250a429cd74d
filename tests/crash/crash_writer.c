// SPDX-License-Identifier: MIT
/*
 * crash_writer.c - writer processes killed with SIGKILL at random moments
 * and at every test point of the write path (doc/testpoints.md), in
 * shared memory; every record whose commit returned must reach the
 * consumer, none torn, and the losses must balance.
 *
 *   crash_writer session [options]   under `grb record -- crash_writer
 *	session ...`: forks one child a kill; each child registers a CTF
 *	channel with the recording session (per-thread streams), writes
 *	until it is killed, and the parent logs what each child's writers
 *	did to --log FILE for check_crash.py, which reads the trace with
 *	babeltrace2 (or `grb view`)
 *   crash_writer attach [options]    this process is the consumer: each
 *	child creates a channel in memory files (per-CPU rseq or atomic,
 *	global, per-thread), passes the descriptors, writes until killed,
 *	and the parent drains with grb's readers and checks each run
 *
 * Each child has --threads writer threads and a timer signal a thread
 * (SIGRTMIN, every 100 us) whose handler writes a record of
 * its own.  Every writer context (a thread, or its handler) numbers its
 * records 0, 1, 2, ... and moves to the next number when a commit
 * returns.  The test-point hook keeps, per context, in memory shared with
 * the parent: the record in flight and how far it got (reserved, header
 * written, commit added), and the losses its calls counted.  The kill
 * plan of child i (from --seed): the N-th pass of a test point (cycling
 * through every writer-side point), or a random moment (a killer thread);
 * a plan not reached within --max-ms kills at that time.
 *
 * What must hold after each kill, per context with d records done:
 * records 0..d-1 are there, once, intact (a checksum); record d if and
 * only if its commit's add was made (the hook saw the add, or saw the
 * header written and the kill came from another thread before the
 * hook); nothing else.  Per process: records read == committed (the
 * stream statistics) == the commits made, and the losses == those the
 * writers' calls counted (a context killed by another thread inside a
 * call, its hook not reached, may have counted one more).  --strict adds
 * that a record reserved and not committed when its writer died is
 * counted lost (GRB_LOST_DIED: on per-thread streams; not on shared ones,
 * doc/design.md "Limits"); --nested lets the handler write inside a
 * reservation of its thread (and aims kills at it, and at a nested
 * write's logged entry): per-thread streams return those records from
 * behind the thread's dead reservation (the log of nested writes), shared
 * ones do not; --shared puts two writer threads on one stream (global, or
 * CPU 0's) and makes every other kill stop thread 0 in a reservation,
 * then lets thread 1 commit 200 records before it kills: committed
 * records behind a record that is never committed, which are not returned
 * (doc/design.md, "Limits").
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>
#include <grb/session.h>

#include "../unit/shm_pass.h"

#ifndef GRB_TEST_POINTS
#error "crash_writer needs the test points (link grb_tp)"
#endif

#define MAX_THREADS 4
#define MAX_KILLS 4096

/* The payload: who wrote it and a checksum of that. */
#define CRASH_FIELDS(F) F(u32, child) F(u32, thread) F(u32, ctx) F(u64, seq) F(u64, check)
GRB_CTF_EVENT(crash_rec, "crash:rec", 1, CRASH_FIELDS)
static const struct grb_ctf_event_desc *const events[] = { &crash_rec_event };

static const struct grb_config cfg_session = GRB_SESSION_CONFIG;
static const struct grb_config cfg_session_wake = GRB_SESSION_CONFIG_WAKE;

static const struct grb_config cfg_percpu_rseq =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config cfg_percpu_atomic =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);

struct crash_payload {
	uint32_t child, thread, ctx;
	uint32_t pad;
	uint64_t seq, check;
};

static uint64_t crash_check(uint32_t child, uint32_t thread, uint32_t ctx, uint64_t seq)
{
	uint64_t h = (seq + 1) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)child << 32 | (uint64_t)thread << 8 | ctx) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

/* How far a context's record in flight got (the hook's view). */
enum { ST_IDLE, ST_RESERVED, ST_HEADER, ST_ADDED };

/* A writer context's log, in memory shared with the parent; only the
 * child writes it (relaxed stores; the parent reads once it is dead). */
struct ctxlog {
	uint64_t done; /* commits returned: records 0..done-1 */
	uint64_t fails; /* calls that returned an error */
	uint64_t lost; /* losses counted during its calls */
	uint32_t state; /* of record state_of, while in_call */
	uint32_t in_call;
	uint64_t skipped; /* handler: timer signals that found a reservation */
	/* The record state describes: done while its call runs, done - 1
	 * once its commit returned (a kill from another thread may land
	 * between done's store and in_call's). */
	uint64_t state_of;
};

/* The state of record `done` (IDLE when no call of it runs). */
static uint32_t inflight_state(const struct ctxlog *x)
{
	return x->in_call && x->state_of == x->done ? x->state : ST_IDLE;
}

struct childlog {
	int32_t pid, status;
	uint32_t plan_point; /* GRB_TP_NR: a random moment */
	uint32_t fired; /* 1: the plan killed, 2: --max-ms did */
	uint64_t plan_pass;
	struct ctxlog ctx[MAX_THREADS][2];
};

struct opts {
	int session;
	uint32_t kills, threads, max_ms;
	uint64_t seed;
	const char *log, *alloc;
	int strict, nested, shared;
};

static struct opts o = { 0, 40, 2, 300, 1, NULL, "percpu-rseq", 0, 0, 0 };
static struct childlog *logs;

/* The child's state. */
static const struct grb_config *wcfg;
static struct grb_channel *wch;
static uint32_t child_no;
static struct childlog *me;
static __thread struct ctxlog *tl_cur;
static int parked; /* --shared: thread 0 is stopped in a reservation */
static __thread uint32_t tl_thread;

static void die_now(uint32_t how)
{
	__atomic_store_n(&me->fired, how, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

static void tp_hook(enum grb_tp p, uint64_t pass, void *arg)
{
	struct ctxlog *c = tl_cur;

	(void)arg;
	if (c && c->in_call) {
		/* relaxed: the child's own words, read after its death */
		switch (p) {
		case GRB_TP_RESERVED:
			if (c->state == ST_IDLE)
				__atomic_store_n(&c->state, ST_RESERVED, __ATOMIC_RELAXED);
			break;
		case GRB_TP_HEADER_WRITTEN:
			if (c->state == ST_RESERVED)
				__atomic_store_n(&c->state, ST_HEADER, __ATOMIC_RELAXED);
			break;
		case GRB_TP_COMMIT_ADDED:
			if (c->state == ST_HEADER)
				__atomic_store_n(&c->state, ST_ADDED, __ATOMIC_RELAXED);
			break;
		case GRB_TP_LOST_COUNTED:
			__atomic_store_n(&c->lost, c->lost + 1, __ATOMIC_RELAXED);
			break;
		default:
			break;
		}
	}
	if (p != me->plan_point || pass < me->plan_pass)
		return;
	/* --nested and --shared plans: the first pass from N on in a
	 * thread's own context (not its handler's). */
	if (o.nested && p == GRB_TP_RESERVED) {
		if (c != &me->ctx[tl_thread][0])
			return;
		/* A hole: the handler writes behind this reserved record,
		 * its commit returns, then the process dies before ours. */
		raise(SIGRTMIN);
		die_now(1);
	}
	if (o.shared && p == GRB_TP_HEADER_WRITTEN) {
		if (c != &me->ctx[0][0])
			return;
		/* Stop thread 0 here, its record reserved and not committed:
		 * thread 1 writes on into the same stream, then kills. */
		__atomic_store_n(&parked, 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	if (pass == me->plan_pass)
		die_now(1);
}

/* One record of context ctx; 0 or the reservation's error. */
static int write_one(uint32_t ctx, uint64_t seq)
{
	struct crash_payload pl = {
		child_no, tl_thread, ctx, 0, seq, crash_check(child_no, tl_thread, ctx, seq)
	};
	struct grb_ctx r = { .payload_len = sizeof(pl) };
	int ret;

	if (o.session)
		return crash_rec_write(wcfg, wch, pl.child, pl.thread, pl.ctx, pl.seq, pl.check);
	if (wcfg == &cfg_percpu_rseq)
		ret = grb_reserve(&cfg_percpu_rseq, wch, &r);
	else if (wcfg == &cfg_percpu_atomic)
		ret = grb_reserve(&cfg_percpu_atomic, wch, &r);
	else if (wcfg == &cfg_global)
		ret = grb_reserve(&cfg_global, wch, &r);
	else
		ret = grb_reserve(&cfg_thread, wch, &r);
	if (ret)
		return ret;
	grb_write(&r, &pl, sizeof(pl));
	if (wcfg == &cfg_percpu_rseq)
		grb_commit(&cfg_percpu_rseq, &r);
	else if (wcfg == &cfg_percpu_atomic)
		grb_commit(&cfg_percpu_atomic, &r);
	else if (wcfg == &cfg_global)
		grb_commit(&cfg_global, &r);
	else
		grb_commit(&cfg_thread, &r);
	return 0;
}

/* A context's attempt at its next record, logged around the call. */
static int attempt(struct ctxlog *c, uint32_t ctx)
{
	int ret;

	__atomic_store_n(&c->state, ST_IDLE, __ATOMIC_RELAXED);
	__atomic_store_n(&c->state_of, c->done, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->in_call, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ret = write_one(ctx, c->done);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (ret == 0)
		__atomic_store_n(&c->done, c->done + 1, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&c->fails, c->fails + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->in_call, 0, __ATOMIC_RELAXED);
	return ret;
}

static void on_timer(int sig)
{
	struct ctxlog *saved = tl_cur, *c = &me->ctx[tl_thread][1];
	int e = errno;

	(void)sig;
	if (!o.nested && _grb_tls_nesting) {
		/* Inside its thread's reservation: only with --nested. */
		__atomic_store_n(&c->skipped, c->skipped + 1, __ATOMIC_RELAXED);
		return;
	}
	tl_cur = c;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	(void)attempt(c, 1);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tl_cur = saved;
	errno = e;
}

struct wjob {
	uint32_t thread;
	int cpu;
};

static void *writer_thread(void *arg)
{
	struct wjob *j = (struct wjob *)arg;
	struct sigevent sev;
	struct itimerspec its = { { 0, 100000 }, { 0, 100000 } };
	uint32_t after_park = 0;
	timer_t tm;
	sigset_t set;

	tl_thread = j->thread;
	if (j->cpu >= 0) {
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET(j->cpu, &cs);
		if (sched_setaffinity(0, sizeof(cs), &cs))
			_exit(5);
	}
	tl_cur = &me->ctx[j->thread][0];
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) || timer_settime(tm, 0, &its, NULL))
		_exit(6);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		if (attempt(tl_cur, 0))
			sched_yield(); /* full: let the consumer in */
		else if (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) && ++after_park == 200)
			die_now(1); /* 200 commits returned behind thread 0's */
	}
	return NULL;
}

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* The writer-side points a plan cycles through, and the spread of the
 * pass that kills (a point passed per record, or per packet). */
static const struct {
	enum grb_tp p;
	uint64_t spread;
} plans[] = {
	{ GRB_TP_RESERVED, 20000 },
	{ GRB_TP_HEADER_WRITTEN, 20000 },
	{ GRB_TP_COMMIT_ADDED, 20000 },
	{ GRB_TP_COMMIT_PUBLISHED, 20000 },
	{ GRB_TP_PACKET_CLOSED, 40 },
	{ GRB_TP_PACKET_OPENED, 40 },
	{ GRB_TP_DELIVERED, 40 },
	{ GRB_TP_LOST_COUNTED, 200 },
	{ GRB_TP_NR, 30000 }, /* a random moment: microseconds */
	/* Only with --nested (the last): a nested write's entry logged,
	 * its CAS not made. */
	{ GRB_TP_NESTED_LOGGED, 1000 },
};
#define NR_PLANS (sizeof(plans) / sizeof(plans[0]) - !o.nested)

static void *killer(void *arg)
{
	uint64_t us = (uint64_t)(uintptr_t)arg;
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	die_now(me->plan_point == GRB_TP_NR ? 1 : 2);
	return NULL;
}

/* The child: a channel, the writers, the kill. */
static void child_main(uint32_t n, int sock)
{
	struct wjob jobs[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	struct sigaction sa;
	uint64_t us;
	pthread_t k;
	sigset_t set;
	uint32_t i;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	child_no = n;
	me = &logs[n];
	/* The timer's signal only on the writer threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	if (o.session) {
		wch = grb_session_channel_pick(&cfg_session, &cfg_session_wake, "crash", events, 1,
					       &wcfg);
		if (!wch) {
			fprintf(stderr, "crash_writer: child %u: no session: %s\n", n,
				grb_last_error());
			_exit(3);
		}
	} else {
		struct grb_channel_attr a;
		char go;

		grb_channel_attr_init(&a);
		a.subbuf_size = 4096;
		a.subbuf_count = 4;
		a.nr_streams = MAX_THREADS;
		a.backing = GRB_BACKING_MEMFD;
		wch = grb_channel_create(wcfg, &a);
		if (!wch || shm_send_channel(sock, wch) || read(sock, &go, 1) != 1)
			_exit(3);
	}
	grb_tp_set_hook(tp_hook, NULL);
	us = me->plan_point == GRB_TP_NR ? 200 + me->plan_pass : (uint64_t)o.max_ms * 1000;
	pthread_create(&k, NULL, killer, (void *)(uintptr_t)us);
	for (i = 0; i < o.threads; i++) {
		/* Per-CPU streams: one writer thread a CPU, unless --shared. */
		jobs[i].thread = i;
		jobs[i].cpu = -1;
		if (!o.session && !strncmp(o.alloc, "percpu", 6))
			jobs[i].cpu = o.shared ? 0 : (int)(i % (uint32_t)ncpu);
		pthread_create(&t[i], NULL, writer_thread, &jobs[i]);
	}
	for (;;)
		pause();
}

/* The plan of child n. */
static void plan(uint32_t n)
{
	uint32_t k = n % NR_PLANS;

	memset(&logs[n], 0, sizeof(logs[n]));
	logs[n].plan_point = (uint32_t)plans[k].p;
	logs[n].plan_pass = 1 + rnd() % plans[k].spread;
	if (o.nested && n % 2 == 0) {
		/* Every other kill aims at a hole. */
		logs[n].plan_point = GRB_TP_RESERVED;
		logs[n].plan_pass = 1 + rnd() % 2000;
	} else if (o.shared && n % 2 == 0) {
		/* Every other kill stops thread 0 in a reservation. */
		logs[n].plan_point = GRB_TP_HEADER_WRITTEN;
		logs[n].plan_pass = 1 + rnd() % 2000;
	}
}

static const char *plan_name(const struct childlog *l)
{
	return l->plan_point == GRB_TP_NR ? "random" : grb_tp_name((enum grb_tp)l->plan_point);
}

/* ---- session mode: the parent only forks, waits and logs ---- */

static int session_main(void)
{
	FILE *f = fopen(o.log, "w");
	uint32_t n, i, c;

	if (!f) {
		perror(o.log);
		return 2;
	}
	for (n = 0; n < o.kills; n++) {
		int status;
		pid_t pid;

		plan(n);
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			child_main(n, -1);
		waitpid(pid, &status, 0);
		logs[n].pid = pid;
		logs[n].status = status;
	}
	/* One line per context: child pid plan fired status thread ctx done
	 * fails lost state in_call skipped. */
	for (n = 0; n < o.kills; n++)
		for (i = 0; i < o.threads; i++)
			for (c = 0; c < 2; c++) {
				struct ctxlog *x = &logs[n].ctx[i][c];

				fprintf(f,
					"%u %d %s %u %d %u %u %" PRIu64 " %" PRIu64 " %" PRIu64
					" %u %u %" PRIu64 "\n",
					n, logs[n].pid, plan_name(&logs[n]), logs[n].fired,
					logs[n].status, i, c, x->done, x->fails, x->lost,
					inflight_state(x), x->in_call, x->skipped);
			}
	return fclose(f) ? 2 : 0;
}

/* ---- attach mode: this process consumes and checks ---- */

struct totals {
	uint64_t kills, records, lost, died, uncounted, missing, extra, torn, dups, runs_failed;
	uint64_t fired[3];
};

static int drain(struct grb_iter **it, uint32_t n, uint8_t *ended, uint8_t *seen, uint64_t cap,
		 struct totals *tt, uint64_t *read)
{
	struct grb_record rec;
	uint32_t i, all = 0;
	int ret;

	for (i = 0; i < n; i++) {
		if (ended[i]) {
			all++;
			continue;
		}
		while ((ret = grb_iter_next(it[i], &rec)) == 0) {
			struct crash_payload p;
			uint64_t bit;

			(*read)++;
			if (rec.payload_len != sizeof(p)) {
				tt->torn++;
				continue;
			}
			memcpy(&p, rec.payload, sizeof(p));
			if (p.thread >= MAX_THREADS || p.ctx > 1 || p.seq >= cap ||
			    p.check != crash_check(p.child, p.thread, p.ctx, p.seq)) {
				tt->torn++;
				continue;
			}
			bit = ((uint64_t)p.thread * 2 + p.ctx) * cap + p.seq;
			if (seen[bit])
				tt->dups++;
			seen[bit] = 1;
		}
		if (ret == -ENODATA) {
			ended[i] = 1;
			all++;
		} else if (ret != -EAGAIN) {
			fprintf(stderr, "crash_writer: stream %u: grb_iter_next %d\n", i, ret);
			tt->torn++;
			ended[i] = 1;
		}
	}
	return all == n ? -ENODATA : -EAGAIN;
}

static int attach_one(uint32_t n, struct totals *tt)
{
	int sv[2], fds[SHM_MAX_FDS], nfd, status, bad = 0;
	struct grb_iter *it[SHM_MAX_FDS];
	uint8_t ended[SHM_MAX_FDS] = { 0 };
	const uint64_t cap = 1u << 22;
	uint64_t tag, read = 0, committed = 0, expect = 0, lost_log = 0, lost_slack = 0;
	uint64_t inflight = 0, inflight_any = 0, lost_all, uncounted;
	struct grb_channel_stats cs;
	struct grb_channel *ch;
	uint8_t *seen;
	uint32_t s, i, c;
	time_t t0;
	pid_t pid;

	plan(n);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_main(n, sv[1]);
	}
	close(sv[1]);
	nfd = shm_recv_fds(sv[0], fds, SHM_MAX_FDS, &tag);
	ch = nfd > 0 ? grb_channel_attach(wcfg, fds, (uint32_t)nfd, NULL) : NULL;
	for (i = 0; i < (uint32_t)(nfd > 0 ? nfd : 0); i++)
		close(fds[i]);
	seen = (uint8_t *)calloc(MAX_THREADS * 2, cap);
	if (!ch || !seen || write(sv[0], "g", 1) != 1) {
		fprintf(stderr, "crash_writer: attach: %s\n", grb_last_error());
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	for (s = 0; s < (uint32_t)nfd; s++)
		it[s] = grb_iter_create(ch, s, 0);
	/* Until the readers end: after the writer died (the owner seen
	 * gone), every record committed is read, then -ENODATA. */
	t0 = time(NULL);
	while (drain(it, (uint32_t)nfd, ended, seen, cap, tt, &read) != -ENODATA) {
		if (time(NULL) - t0 > 60) {
			fprintf(stderr, "crash_writer: child %u: the readers did not end\n", n);
			kill(pid, SIGKILL);
			bad = 1;
			break;
		}
		(void)grb_channel_owner_alive(ch);
		usleep(200);
	}
	waitpid(pid, &status, 0);
	logs[n].pid = pid;
	logs[n].status = status;
	tt->fired[logs[n].fired < 3 ? logs[n].fired : 0]++;
	grb_channel_read_stats(ch, &cs);
	for (s = 0; s < (uint32_t)nfd; s++) {
		struct grb_stream_stats st;

		grb_channel_read_stream_stats(ch, s, &st);
		committed += st.committed;
	}
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "crash_writer: child %u: status %d, not killed\n", n, status);
		bad = 1;
	}
	for (i = 0; i < o.threads; i++)
		for (c = 0; c < 2; c++) {
			struct ctxlog *x = &logs[n].ctx[i][c];
			uint8_t *b = seen + (i * 2 + c) * cap;
			uint64_t q, miss = 0, extra = 0, d = x->done < cap ? x->done : cap - 1;
			/* The record in flight is there only if its commit's add
			 * was made: the hook saw the add (state ADDED), or the
			 * kill came from another thread between the add and the
			 * hook (state HEADER).  Once added it must be there. */
			int last = b[d], st = (int)inflight_state(x);

			for (q = 0; q < d; q++)
				miss += !b[q];
			for (q = d + 1; q < cap; q++)
				extra += b[q];
			if ((last && st != ST_HEADER && st != ST_ADDED) ||
			    (!last && st == ST_ADDED))
				extra++;
			if (miss || extra)
				fprintf(stderr,
					"crash_writer: child %u (plan %s %" PRIu64
					") thread %u ctx %u: %" PRIu64
					" done (in flight: state %d, %s); %" PRIu64
					" of them missing, %" PRIu64 " wrong beyond\n",
					n, plan_name(&logs[n]), logs[n].plan_pass, i, c, x->done,
					st, last ? "read" : "not read", miss, extra);
			tt->missing += miss;
			tt->extra += extra;
			expect += x->done + (uint64_t)last;
			lost_log += x->lost;
			/* A loss counted just before a kill from another thread,
			 * the hook not yet called. */
			lost_slack += st == ST_IDLE && x->in_call;
			inflight += !last && (st == ST_RESERVED || st == ST_HEADER);
			/* Reserved, perhaps: a kill from another thread may
			 * land after the reservation, before the hook. */
			inflight_any += !last && x->in_call && st != ST_ADDED;
			bad |= miss || extra;
		}
	/* The writers' calls count every cause but a death; the consumer
	 * counts the records the dead writer left reserved (GRB_LOST_DIED),
	 * never more than were in flight. */
	lost_all = cs.lost_total - cs.lost[GRB_LOST_DIED];
	if (read != committed || committed != expect || lost_all < lost_log ||
	    lost_all > lost_log + lost_slack || cs.lost[GRB_LOST_DIED] > inflight_any) {
		fprintf(stderr,
			"crash_writer: child %u (plan %s %" PRIu64 "): read %" PRIu64
			", committed %" PRIu64 ", commits made %" PRIu64 "; lost %" PRIu64
			", counted by the writers' calls %" PRIu64 " (+ at most %" PRIu64
			"); died %" PRIu64 " of %" PRIu64 " in flight\n",
			n, plan_name(&logs[n]), logs[n].plan_pass, read, committed, expect,
			lost_all, lost_log, lost_slack, cs.lost[GRB_LOST_DIED], inflight_any);
		bad = 1;
	}
	if (cs.corrupt_packets || cs.invariant_failures) {
		fprintf(stderr, "crash_writer: child %u: %" PRIu64 " corrupt packets\n", n,
			cs.corrupt_packets);
		bad = 1;
	}
	/* Those the consumer counted died are counted. */
	uncounted = inflight > cs.lost[GRB_LOST_DIED] ? inflight - cs.lost[GRB_LOST_DIED] : 0;
	tt->uncounted += uncounted;
	tt->died += cs.lost[GRB_LOST_DIED];
	if (o.strict && uncounted) {
		fprintf(stderr,
			"crash_writer: child %u (plan %s %" PRIu64 "): %" PRIu64
			" record(s) reserved and never committed, not counted lost\n",
			n, plan_name(&logs[n]), logs[n].plan_pass, uncounted);
		bad = 1;
	}
	tt->kills++;
	tt->records += read;
	tt->lost += cs.lost_total;
	tt->runs_failed += (uint64_t)bad;
	for (s = 0; s < (uint32_t)nfd; s++)
		grb_iter_destroy(it[s]);
	grb_channel_destroy(ch);
	free(seen);
	close(sv[0]);
	return bad;
}

static int attach_main(void)
{
	struct totals tt;
	uint32_t n;

	memset(&tt, 0, sizeof(tt));
	if (!strcmp(o.alloc, "percpu-rseq"))
		wcfg = &cfg_percpu_rseq;
	else if (!strcmp(o.alloc, "percpu-atomic"))
		wcfg = &cfg_percpu_atomic;
	else if (!strcmp(o.alloc, "global"))
		wcfg = &cfg_global;
	else if (!strcmp(o.alloc, "thread"))
		wcfg = &cfg_thread;
	else
		return fprintf(stderr, "crash_writer: unknown --alloc %s\n", o.alloc), 2;
	for (n = 0; n < o.kills; n++)
		attach_one(n, &tt);
	printf("crash_writer attach %s%s%s%s: %" PRIu64 " kills (%" PRIu64 " by plan, %" PRIu64
	       " by --max-ms), %" PRIu64 " records read, %" PRIu64 " lost (%" PRIu64
	       " died); %" PRIu64 " missing, %" PRIu64 " beyond, %" PRIu64 " torn, %" PRIu64
	       " duplicated; %" PRIu64 " reserved and never committed (not counted); %" PRIu64
	       " runs failed\n",
	       o.alloc, o.nested ? " --nested" : "", o.shared ? " --shared" : "",
	       o.strict ? " --strict" : "", tt.kills, tt.fired[1], tt.fired[2], tt.records, tt.lost,
	       tt.died, tt.missing, tt.extra, tt.torn, tt.dups, tt.uncounted, tt.runs_failed);
	return tt.runs_failed || tt.torn || tt.dups ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: crash_writer session|attach [--kills N] [--seed S] [--threads N]\n"
			"       [--max-ms MS] [--log FILE] [--alloc percpu-rseq|percpu-atomic|"
			"global|thread]\n"
			"       [--strict] [--nested] [--shared]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		usage();
	o.session = !strcmp(argv[1], "session");
	if (!o.session && strcmp(argv[1], "attach"))
		usage();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--strict"))
			o.strict = 1;
		else if (!strcmp(a, "--nested"))
			o.nested = 1;
		else if (!strcmp(a, "--shared"))
			o.shared = 1;
		else if (!v)
			usage();
		else if (!strcmp(a, "--kills"))
			o.kills = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(a, "--seed"))
			o.seed = strtoull(v, NULL, 0), i++;
		else if (!strcmp(a, "--threads"))
			o.threads = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(a, "--max-ms"))
			o.max_ms = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(a, "--log"))
			o.log = v, i++;
		else if (!strcmp(a, "--alloc"))
			o.alloc = v, i++;
		else
			usage();
	}
	if (!o.kills || o.kills > MAX_KILLS || !o.threads || o.threads > MAX_THREADS ||
	    (o.session && !o.log))
		usage();
	if (o.shared && o.threads < 2)
		o.threads = 2;
	if (!o.session && !o.shared && !strncmp(o.alloc, "percpu", 6)) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		/* One writer thread a CPU: its stream's only writer. */
		if (ncpu > 0 && o.threads > (uint32_t)ncpu)
			o.threads = (uint32_t)ncpu;
	}
	rnd_state = o.seed * 0x2545f4914f6cdd1dull + 1;
	logs = (struct childlog *)mmap(NULL, sizeof(*logs) * o.kills, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (logs == MAP_FAILED)
		return 2;
	return o.session ? session_main() : attach_main();
}
