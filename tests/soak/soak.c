// SPDX-License-Identifier: MIT
/*
 * soak.c - grb_soak: writers, consumers and crashes, all at once, for as
 * long as asked, with the accounting of every record checked
 * (doc/guarantees.md).
 *
 *   grb_soak --seconds N [--seed S] [--writers P] [--threads T]
 *	      [--report-every SEC] [--dir DIR] [--configs LIST]
 *	      [--nested] [--holes]
 *
 * This process (the supervisor) forks and watches the others:
 *
 *  - writer processes, --writers of them alive at a time, each for 0.1 to
 *    2 s.  Each creates a channel in memory files (or, with --dir, in
 *    files of DIR for a third of them) in one of the configurations of
 *    `configs` below (per-thread single writer, per-CPU rseq, per-CPU
 *    atomic, global atomic; discard or overwrite; some with writer
 *    wake-ups), passes the descriptors over a UNIX socket (SCM_RIGHTS),
 *    and writes with 1 to --threads threads: numbered, checksummed
 *    records of varying length in bursts between short sleeps, now and
 *    then one too big for a sub-buffer.  Each thread moves to another CPU
 *    (or to all) every few milliseconds (sched_setaffinity) and has a
 *    timer signal whose handler writes numbered records of its own (only
 *    when its thread holds no reservation, unless --nested); half of the
 *    processes have a thread that flushes the channel every few
 *    milliseconds.  At the end of its time a writer exits (40 %: its
 *    threads return, the channel is finalized), is killed with SIGKILL
 *    (35 %), or crashes (25 %): its next write kills the process right
 *    after its reservation, after the payload, or after the commit
 *    returned;
 *  - consumer processes, one at a time per writer: each gets the
 *    descriptors over a UNIX socket (or attaches the directory), takes
 *    over what the one before left (grb_channel_consumer_gone() after a
 *    killed one; grb_channel_consumed_records(): what its predecessors
 *    took, "taken before"), and drains with an iterator per stream or a
 *    merge of them, marking who read each record in memory shared with
 *    the supervisor.  A fifth of them are killed with SIGKILL at a random
 *    moment, a fifth kill themselves between taking a record and marking
 *    it, a fifth are asked to detach cleanly (they do where they hold no
 *    packet: every stream said -EAGAIN); the next one then takes over.
 *
 * A kill at a random moment can leave a reservation that is never
 * committed.  On a per-thread stream the consumer counts it lost (died);
 * on a stream several threads share it hides the records committed
 * behind it, which doc/design.md ("Limits") says are not returned yet.
 * So a writer of shared streams written by more than one thread (or by
 * one and a flusher) is killed once its threads have parked outside their
 * calls, and never crashes.  --holes kills and crashes them at any
 * moment, and --nested lets the handler write inside its thread's
 * reservation (a crash in a reservation then raises the handler's signal
 * first): both meet those limits, and report them as errors.
 *
 * When a writer process is finished (exited or killed, reaped) and a
 * consumer has drained its streams to -ENODATA, the supervisor checks,
 * per writer context (a thread, or its handler) with d commits returned:
 * records 0..d-1 read once each, intact (the checksum), in order in each
 * stream; record d read only if its commit had been called; nothing
 * beyond.  Per process, exactly: the records the stream statistics count
 * committed == delivered + taken by dead consumers and never reported +
 * overwritten; the records whose commit returned and that nobody
 * delivered are those taken by dead consumers (or overwritten), with
 * the one record a context had in its commit when killed, which may or
 * may not have been committed; the losses by cause are those the
 * writers' calls were refused for, plus at most one for a context killed
 * inside a reservation; on per-thread streams every reservation left
 * open is counted died.  Per consumer: one that detached reported every
 * record it took (what its successor's "taken before" says it took),
 * and the last one, that drained, too.  Any violation is printed with
 * its details and counted; the exit status is 1 if there was one.
 *
 * One summary line every --report-every seconds (60), and a final one.
 * GRB_STRESS_SCALE, as for the stress tests, scales --seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "../unit/shm_pass.h"

#define MAX_WRITERS 16
#define MAX_THREADS 8
#define MAX_CONS 256 /* consumers per writer: their ids fit a mark */
#define SEQ_CAP (1u << 20) /* records per writer context */
#define MAX_FILLER 40

/* ---- the configurations ---- */

static const struct grb_config cfg_thread_discard =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_NONE);
static const struct grb_config cfg_thread_discard_wake =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_thread_overwrite =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE,
				 grb_clock_monotonic, GRB_WAKEUP_NONE);
static const struct grb_config cfg_rseq_discard =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_NONE);
static const struct grb_config cfg_rseq_overwrite =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_atomic_discard =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_atomic_overwrite =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE,
				 grb_clock_monotonic, GRB_WAKEUP_NONE);
static const struct grb_config cfg_global_discard = GRB_NATIVE_CONFIG_WAKEUP(
	GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, grb_clock_monotonic, GRB_WAKEUP_NONE);
static const struct grb_config cfg_global_overwrite =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);

/* How far a context's record in flight got: the writer stores it before
 * each step. */
enum { PH_RESERVING = 1, PH_RESERVED, PH_COMMITTING };

/* Where a writer process crashes: its next write after the request dies
 * there (SIGKILL to itself).  CR_COMMITTED, after the commit returned and
 * before the log says so, leaves no reservation open. */
enum { CR_NONE, CR_RESERVED, CR_WRITTEN, CR_COMMITTED };

/* A writer context's log, in memory shared with the supervisor; only the
 * writer process writes it, the supervisor reads it once that process is
 * reaped (relaxed stores, kept in order against the thread's own signal
 * handler by signal fences: a SIGKILL stops a thread between
 * instructions). */
struct ctxlog {
	uint64_t done; /* commits returned: records 0..done-1 */
	uint64_t fails[GRB_LOST_NR + 2]; /* refused calls, by the cause they count */
	uint64_t skipped; /* handler: signals that found its thread in a reservation */
	uint64_t big; /* records too big for a sub-buffer tried */
	uint32_t in_call; /* 1 from before the reservation to after the commit */
	uint32_t phase; /* of record `done`, while in_call */
};
#define F_FILTERED GRB_LOST_NR /* -ENODEV: not a loss */
#define F_OTHER (GRB_LOST_NR + 1) /* anything else: an error */

/* A consumer, in memory shared with the supervisor: the consumer writes
 * it (relaxed), the supervisor reads it once the consumer is reaped, but
 * for `detach`, which the supervisor raises. */
struct cshared {
	uint32_t detach; /* supervisor: detach where nothing is held */
	uint32_t state; /* CS_* */
	uint32_t base_ok; /* base is known */
	uint32_t took_over; /* it called grb_channel_consumer_gone() */
	uint64_t base; /* taken before its attach (consumed - corrupt) */
	uint64_t records; /* records it returned */
	uint64_t torn, dups, disorder, errors;
	uint32_t hi[MAX_THREADS][2]; /* 1 + the highest sequence number it marked */
	char msg[200]; /* its first error */
};
enum { CS_STARTED, CS_READING, CS_DETACHED, CS_DRAINED };

/*
 * Memory ordering.  The logs (struct ctxlog, struct cshared, the marks)
 * are written with relaxed stores and read by the supervisor once their
 * writer is reaped: waitpid() orders them.  The requests (stop, crash,
 * detach) are relaxed: nothing is published with them.  One handshake
 * orders: a pause request is stored with release [soak-P0] and loaded by
 * the writer threads with acquire [soak-P1]; a thread that parks adds to
 * `parked` with release [soak-P2], after its last call, and the one that
 * asked loads it with acquire [soak-P3] before it kills the process or
 * counts what was consumed.
 */

/* A writer process's shared part. */
struct wshared {
	uint32_t pause_sup; /* supervisor: park (before a kill) */
	uint32_t pause_cons; /* the consumer: park (for its baseline) */
	uint32_t stop; /* supervisor: stop writing, exit */
	uint32_t crash; /* supervisor: die at this point of the next write (CR_*) */
	uint32_t parked; /* threads (and the flusher) parked */
	uint32_t expect_parked; /* how many park */
	uint32_t writers_done; /* every writing thread has returned */
	struct ctxlog ctx[MAX_THREADS][2];
	struct cshared cons[MAX_CONS];
};

/* The record's payload. */
struct soak_rec {
	uint32_t serial; /* the writer process's */
	uint32_t seq;
	uint8_t thread, ctx, filler_len, pad;
	uint32_t pad2;
	uint64_t sum;
	uint8_t filler[MAX_FILLER];
};
#define REC_FIXED 24u

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = (const unsigned char *)p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static uint64_t rec_sum(const struct soak_rec *r)
{
	return fnv(r->filler, r->filler_len, fnv(r, 16, 0xcbf29ce484222325ull));
}

static uint32_t make_rec(struct soak_rec *r, uint32_t serial, uint32_t thread, uint32_t ctx,
			 uint64_t seq)
{
	uint32_t i;

	memset(r, 0, REC_FIXED);
	r->serial = serial;
	r->seq = (uint32_t)seq;
	r->thread = (uint8_t)thread;
	r->ctx = (uint8_t)ctx;
	r->filler_len = (uint8_t)((seq * 13 + thread * 7 + ctx) % (MAX_FILLER + 1));
	for (i = 0; i < r->filler_len; i++)
		r->filler[i] = (uint8_t)(seq * 31 + serial + i);
	r->sum = rec_sum(r);
	return REC_FIXED + r->filler_len;
}

static void crash_point(uint32_t point);

/* The configurations, with their write functions (each inlines the fast
 * path for its constant configuration). */
typedef int (*write_fn)(struct grb_channel *ch, struct ctxlog *c, const void *p, uint32_t len);

#define SOAK_WRITE(cfg)                                                                 \
	static int write_##cfg(struct grb_channel *ch, struct ctxlog *c, const void *p, \
			       uint32_t len)                                            \
	{                                                                               \
		struct grb_ctx r = { .payload_len = len };                              \
		int ret = grb_reserve(&cfg, ch, &r);                                    \
                                                                                        \
		if (ret)                                                                \
			return ret;                                                     \
		__atomic_signal_fence(__ATOMIC_SEQ_CST);                                \
		__atomic_store_n(&c->phase, PH_RESERVED, __ATOMIC_RELAXED);             \
		crash_point(CR_RESERVED);                                               \
		grb_write(&r, p, len);                                                  \
		crash_point(CR_WRITTEN);                                                \
		__atomic_signal_fence(__ATOMIC_SEQ_CST);                                \
		__atomic_store_n(&c->phase, PH_COMMITTING, __ATOMIC_RELAXED);           \
		__atomic_signal_fence(__ATOMIC_SEQ_CST);                                \
		grb_commit(&cfg, &r);                                                   \
		return 0;                                                               \
	}

SOAK_WRITE(cfg_thread_discard)
SOAK_WRITE(cfg_thread_discard_wake)
SOAK_WRITE(cfg_thread_overwrite)
SOAK_WRITE(cfg_rseq_discard)
SOAK_WRITE(cfg_rseq_overwrite)
SOAK_WRITE(cfg_atomic_discard)
SOAK_WRITE(cfg_atomic_overwrite)
SOAK_WRITE(cfg_global_discard)
SOAK_WRITE(cfg_global_overwrite)

static const struct soak_cfg {
	const char *name;
	const struct grb_config *cfg;
	write_fn write;
} configs[] = {
	{ "thread-discard", &cfg_thread_discard, write_cfg_thread_discard },
	{ "thread-discard-wake", &cfg_thread_discard_wake, write_cfg_thread_discard_wake },
	{ "thread-overwrite", &cfg_thread_overwrite, write_cfg_thread_overwrite },
	{ "percpu-rseq-discard", &cfg_rseq_discard, write_cfg_rseq_discard },
	{ "percpu-rseq-overwrite-wake", &cfg_rseq_overwrite, write_cfg_rseq_overwrite },
	{ "percpu-atomic-discard-wake", &cfg_atomic_discard, write_cfg_atomic_discard },
	{ "percpu-atomic-overwrite", &cfg_atomic_overwrite, write_cfg_atomic_overwrite },
	{ "global-discard", &cfg_global_discard, write_cfg_global_discard },
	{ "global-overwrite-wake", &cfg_global_overwrite, write_cfg_global_overwrite },
};
#define NR_CONFIGS (sizeof(configs) / sizeof(configs[0]))

static int per_thread(const struct grb_config *c)
{
	return c->alloc == GRB_ALLOC_PER_THREAD;
}

/* ---- options, random numbers, time ---- */

static struct {
	double seconds;
	uint64_t seed;
	uint32_t writers, threads, report_every;
	const char *dir;
	int nested, holes;
	uint32_t cfg_mask; /* --configs: the configurations to use */
} o = { 0, 1, 3, 3, 60, NULL, 0, 0, 0 };

static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A number in [lo, hi]. */
static uint64_t rnd_in(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + rnd_next(s) % (hi - lo + 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- the supervisor's view of a writer process ---- */

struct writer {
	int used;
	uint32_t serial, cfg, threads, nr_streams, sb_size, sb_count, flush_us;
	uint32_t timer_us, burst, pace_us, mig_ms;
	int dir; /* streams in files of o.dir (else memory files) */
	int end; /* the plan at end_ns: END_* */
	uint32_t crash; /* END_CRASH: where (CR_*) */
	int quiesce; /* park its threads before a kill */
	int crash_late; /* END_CRASH: killed, no write came */
	uint64_t end_ns, finished_ns;
	pid_t pid;
	int ended; /* stop asked or kill sent */
	int reaped, status;
	int fds[SHM_MAX_FDS];
	uint32_t nfd;
	struct wshared *sh;
	uint16_t *marks; /* [thread][ctx][seq]: the consumer that read it */
	size_t marks_len;
	/* the consumer now running, and the chain */
	uint32_t ncons;
	pid_t cpid;
	int crunning;
	int cplan; /* CP_* */
	uint64_t cdie_after; /* CP_DIE: dies after taking this many records */
	uint64_t cact_ns;
	int coutcome[MAX_CONS]; /* CO_* */
	uint64_t drain_deadline;
};
enum { CO_NONE, CO_KILLED, CO_DETACHED, CO_DRAINED, CO_FAILED };
enum { END_EXIT, END_KILL, END_CRASH };
/* A consumer's plan: stay until it drained, be killed at a moment, kill
 * itself between taking a record and reporting it, or detach. */
enum { CP_STAY, CP_KILL, CP_DIE, CP_DETACH };

static struct writer writers[MAX_WRITERS];
static struct wshared *shared; /* MAX_WRITERS of them */
static uint64_t srnd; /* the supervisor's random numbers */
static uint32_t ncpu_conf;
static cpu_set_t cpus_allowed;

/* Totals, for the summary lines. */
static struct {
	uint64_t w_started, w_exited, w_killed, w_crashed, w_checked;
	uint64_t c_started, c_detached, c_killed, c_took_over;
	uint64_t written, delivered, lost[GRB_LOST_NR], taken_dead;
	uint64_t errors;
} tot;

/* An accounting error: printed, counted. */
static void soak_error(const struct writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void soak_error(const struct writer *w, const char *fmt, ...)
{
	va_list ap;

	tot.errors++;
	fprintf(stderr, "grb_soak: ERROR: writer %u (pid %d, %s, %u threads, %s %s): ", w->serial,
		(int)w->pid, configs[w->cfg].name, w->threads, w->dir ? "files" : "memfd",
		w->end == END_EXIT ? "exited" :
		w->end == END_KILL ? "killed" :
				     "crashed");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the writer process ---- */

static struct writer *wme; /* its slot (a copy made by fork) */
static struct grb_channel *wch;
static __thread uint32_t tl_thread;
static __thread int tl_in_handler;
static uint8_t big_buf[1u << 15];

static int paused(void)
{
	/* [soak-P1] acquire: pairs with the release of pause_sup and
	 * pause_cons by the supervisor and the consumer ([soak-P0]); a
	 * thread that sees it parks. */
	return __atomic_load_n(&wme->sh->pause_sup, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&wme->sh->pause_cons, __ATOMIC_ACQUIRE);
}

static int stopping(void)
{
	/* relaxed: a request; nothing is published with it. */
	return (int)__atomic_load_n(&wme->sh->stop, __ATOMIC_RELAXED);
}

/* Dies here if the supervisor asked for a crash at this point (the
 * first context to get here).  With --nested, a crash in a reservation
 * first lets the thread's handler write behind it; with --holes, the
 * other threads for 2 ms. */
static void crash_point(uint32_t point)
{
	uint32_t want = point;

	/* relaxed: a request; the process dies on it. */
	if (__atomic_load_n(&wme->sh->crash, __ATOMIC_RELAXED) != point)
		return;
	if (o.nested && point != CR_COMMITTED && tl_in_handler)
		return; /* the handler's record commits behind its thread's */
	/* relaxed: only one context takes it; nothing is published. */
	if (!__atomic_compare_exchange_n(&wme->sh->crash, &want, CR_NONE, 0, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return;
	if (o.nested && point != CR_COMMITTED)
		raise(SIGRTMIN);
	if (o.holes && point != CR_COMMITTED)
		sleep_us(2000);
	kill(getpid(), SIGKILL);
}

/* Parks the calling thread while a pause is asked (not in a call). */
static void park(void)
{
	/* [soak-P2] release: every store of the thread's calls before its
	 * count; pairs with the acquire of parked ([soak-P3]). */
	__atomic_add_fetch(&wme->sh->parked, 1, __ATOMIC_RELEASE);
	while (paused() && !stopping())
		sleep_us(200);
	/* relaxed: only counts the parked. */
	__atomic_sub_fetch(&wme->sh->parked, 1, __ATOMIC_RELAXED);
}

static int cause_of(int ret)
{
	switch (ret) {
	case -ENOBUFS:
		return GRB_LOST_FULL; /* full or wrap: told apart by neither */
	case -E2BIG:
		return GRB_LOST_TOO_BIG;
	case -EBUSY:
		return GRB_LOST_NESTED;
	case -ETIMEDOUT:
		return GRB_LOST_TIMEOUT;
	case -ENOSPC:
		return GRB_LOST_NO_STREAM;
	case -EIO:
		return GRB_LOST_DISABLED;
	case -ENODEV:
		return F_FILTERED;
	default:
		return F_OTHER;
	}
}

/* A context's attempt at its next record (or at one too big); 0 or the
 * reservation's error.  Logged around the call. */
static int attempt(struct ctxlog *c, uint32_t ctx, int big)
{
	struct soak_rec r;
	const void *p = &r;
	uint32_t len;
	int ret;

	if (big) {
		p = big_buf;
		len = wme->sb_size;
	} else {
		len = make_rec(&r, wme->serial, tl_thread, ctx, c->done);
	}
	__atomic_store_n(&c->phase, PH_RESERVING, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->in_call, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ret = configs[wme->cfg].write(wch, c, p, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (big)
		__atomic_store_n(&c->big, c->big + 1, __ATOMIC_RELAXED);
	if (ret == 0 && !big) {
		crash_point(CR_COMMITTED);
		__atomic_store_n(&c->done, c->done + 1, __ATOMIC_RELAXED);
	} else if (ret == 0) {
		/* A record larger than a sub-buffer was accepted. */
		__atomic_store_n(&c->fails[F_OTHER], c->fails[F_OTHER] + 1, __ATOMIC_RELAXED);
	} else {
		int k = cause_of(ret);

		__atomic_store_n(&c->fails[k], c->fails[k] + 1, __ATOMIC_RELAXED);
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->in_call, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return ret;
}

static void on_timer(int sig)
{
	struct ctxlog *c = &wme->sh->ctx[tl_thread][1];
	int e = errno;

	(void)sig;
	if (stopping() || paused())
		return;
	if (!o.nested && _grb_tls_nesting) {
		/* Inside its thread's reservation: only with --nested. */
		__atomic_store_n(&c->skipped, c->skipped + 1, __ATOMIC_RELAXED);
		return;
	}
	tl_in_handler = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (c->done + 1 < SEQ_CAP)
		(void)attempt(c, 1, 0);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tl_in_handler = 0;
	errno = e;
}

/* Moves the calling thread to one allowed CPU, or to all of them. */
static void migrate(uint64_t *rs)
{
	cpu_set_t cs;
	uint32_t n = (uint32_t)CPU_COUNT(&cpus_allowed), k, i;

	if (n < 2 || rnd_next(rs) % 4 == 0) {
		sched_setaffinity(0, sizeof(cpus_allowed), &cpus_allowed);
		return;
	}
	k = (uint32_t)(rnd_next(rs) % n);
	CPU_ZERO(&cs);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &cpus_allowed) && k-- == 0) {
			CPU_SET(i, &cs);
			break;
		}
	sched_setaffinity(0, sizeof(cs), &cs);
}

static void *writer_thread(void *arg)
{
	struct ctxlog *c;
	struct sigevent sev;
	struct itimerspec its;
	uint64_t rs, n = 0, next_mig;
	timer_t tm;
	sigset_t set;

	tl_thread = (uint32_t)(uintptr_t)arg;
	c = &wme->sh->ctx[tl_thread][0];
	rs = (o.seed * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)wme->serial << 20) ^ tl_thread;
	rs = rs ? rs : 1;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	its.it_interval.tv_sec = 0;
	its.it_interval.tv_nsec = (long)wme->timer_us * 1000;
	its.it_value = its.it_interval;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) || timer_settime(tm, 0, &its, NULL))
		_exit(6);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	migrate(&rs);
	next_mig = now_ns() + wme->mig_ms * 1000000ull;
	while (!stopping()) {
		if (paused()) {
			park();
			continue;
		}
		if (c->done + 1 >= SEQ_CAP) {
			sleep_us(1000);
			continue;
		}
		if (rnd_next(&rs) % 4096 == 0)
			(void)attempt(c, 0, 1);
		else if (attempt(c, 0, 0))
			sched_yield(); /* full: let the consumer in */
		if (++n % wme->burst == 0) {
			uint64_t t;

			sleep_us(wme->pace_us);
			t = now_ns();
			if (t >= next_mig) {
				migrate(&rs);
				next_mig = t + rnd_in(&rs, 1, 2 * wme->mig_ms) * 1000000ull;
			}
		}
	}
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	timer_delete(tm);
	return NULL;
}

static void *flusher_thread(void *arg)
{
	(void)arg;
	while (!stopping()) {
		if (paused()) {
			park();
			continue;
		}
		grb_channel_flush(wch);
		sleep_us(wme->flush_us);
	}
	return NULL;
}

static void writer_main(struct writer *w, int sock)
{
	pthread_t t[MAX_THREADS], fl;
	struct grb_channel_attr a;
	struct sigaction sa;
	sigset_t set;
	char name[32], go;
	uint32_t i;

	wme = w;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	snprintf(name, sizeof(name), "w%u", w->serial);
	grb_channel_attr_init(&a);
	a.subbuf_size = w->sb_size;
	a.subbuf_count = w->sb_count;
	a.nr_streams = w->nr_streams;
	a.name = name;
	a.backing = w->dir ? GRB_BACKING_DIR : GRB_BACKING_MEMFD;
	a.shm_path = w->dir ? o.dir : NULL;
	wch = grb_channel_create(configs[w->cfg].cfg, &a);
	if (!wch) {
		fprintf(stderr, "grb_soak: writer %u: %s\n", w->serial, grb_last_error());
		_exit(3);
	}
	if (w->dir) {
		uint64_t n = grb_channel_nr_streams(wch);

		if (write(sock, &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(3);
	} else if (shm_send_channel(sock, wch)) {
		_exit(3);
	}
	if (read(sock, &go, 1) != 1)
		_exit(3);
	close(sock);
	for (i = 0; i < w->threads; i++)
		if (pthread_create(&t[i], NULL, writer_thread, (void *)(uintptr_t)i))
			_exit(4);
	if (w->flush_us && pthread_create(&fl, NULL, flusher_thread, NULL))
		_exit(4);
	while (!stopping())
		sleep_us(1000);
	for (i = 0; i < w->threads; i++)
		pthread_join(t[i], NULL);
	if (w->flush_us)
		pthread_join(fl, NULL);
	/* relaxed: a hint for a consumer waiting for a pause. */
	__atomic_store_n(&w->sh->writers_done, 1, __ATOMIC_RELAXED);
	grb_channel_finalize(wch);
	if (!w->dir)
		grb_channel_destroy(wch); /* the files stay for the consumers */
	_exit(0);
}

/* ---- the consumer process ---- */

struct consumer {
	struct writer *w;
	struct cshared *me;
	uint16_t id;
	uint32_t n; /* streams */
	uint64_t *last; /* [stream][thread][ctx]: 1 + the last sequence number */
	uint64_t taken, die_after; /* CP_DIE: dies taking record die_after */
};

static void cons_fail(struct consumer *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cons_fail(struct consumer *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->me->msg[0]) {
		va_start(ap, fmt);
		vsnprintf(c->me->msg, sizeof(c->me->msg), fmt, ap);
		va_end(ap);
	}
}

/* One record returned: check it, mark it read by this consumer. */
static void take(struct consumer *c, const struct grb_record *rec)
{
	struct writer *w = c->w;
	struct cshared *me = c->me;
	struct soak_rec r;
	uint16_t *m;
	uint64_t *last;

	/* CP_DIE: taken, never reported. */
	if (++c->taken == c->die_after)
		kill(getpid(), SIGKILL);
	memset(&r, 0, sizeof(r));
	if (rec->discarded || rec->payload_len < REC_FIXED || rec->stream_index >= c->n) {
		__atomic_store_n(&me->torn, me->torn + 1, __ATOMIC_RELAXED);
		cons_fail(c, "stream %u: a record of %u bytes%s", rec->stream_index,
			  rec->payload_len, rec->discarded ? ", discarded" : "");
		return;
	}
	memcpy(&r, rec->payload, REC_FIXED);
	if (r.filler_len <= MAX_FILLER && REC_FIXED + r.filler_len <= rec->payload_len)
		memcpy(r.filler, (const char *)rec->payload + REC_FIXED, r.filler_len);
	if (r.serial != w->serial || r.thread >= w->threads || r.ctx > 1 || r.seq >= SEQ_CAP ||
	    r.filler_len > MAX_FILLER || REC_FIXED + r.filler_len > rec->payload_len ||
	    rec_sum(&r) != r.sum) {
		__atomic_store_n(&me->torn, me->torn + 1, __ATOMIC_RELAXED);
		cons_fail(c, "stream %u: a torn record (writer %u thread %u ctx %u seq %u)",
			  rec->stream_index, r.serial, r.thread, r.ctx, r.seq);
		return;
	}
	last = &c->last[(rec->stream_index * MAX_THREADS + r.thread) * 2 + r.ctx];
	if (*last && r.seq < *last) {
		__atomic_store_n(&me->disorder, me->disorder + 1, __ATOMIC_RELAXED);
		cons_fail(c, "stream %u: thread %u ctx %u: record %u after %" PRIu64,
			  rec->stream_index, r.thread, r.ctx, r.seq, *last - 1);
	}
	*last = (uint64_t)r.seq + 1;
	/* The highest mark before the mark: a kill between them leaves
	 * hi covering every mark. */
	if (r.seq + 1 > me->hi[r.thread][r.ctx])
		__atomic_store_n(&me->hi[r.thread][r.ctx], r.seq + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	m = &w->marks[((size_t)r.thread * 2 + r.ctx) * SEQ_CAP + r.seq];
	if (*m) {
		__atomic_store_n(&me->dups, me->dups + 1, __ATOMIC_RELAXED);
		cons_fail(c, "thread %u ctx %u: record %u read again (first by consumer %u)",
			  r.thread, r.ctx, r.seq, *m - 1);
		return;
	}
	/* relaxed: read by the supervisor after this process is reaped. */
	__atomic_store_n(m, c->id, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&me->records, me->records + 1, __ATOMIC_RELAXED);
}

/* What consumers took before this one: consumed - corrupt over the
 * streams; -1 if not known. */
static int baseline(struct consumer *c, struct grb_channel *ch, uint64_t *base)
{
	uint32_t s, tries;

	for (tries = 0; tries < 2000; tries++) {
		uint64_t sum = 0, k;
		int ret = 0;

		for (s = 0; s < c->n && !ret; s++) {
			struct grb_stream_stats st;

			ret = grb_channel_consumed_records(ch, s, &k);
			if (!ret)
				ret = grb_channel_read_stream_stats(ch, s, &st);
			if (!ret && st.corrupt_records > k)
				ret = -EPROTO;
			sum += ret ? 0 : k - st.corrupt_records;
		}
		if (!ret) {
			*base = sum;
			return 0;
		}
		if (ret != -EAGAIN) {
			cons_fail(c, "consumed records: %s", grb_last_error());
			return -1;
		}
		sleep_us(100);
	}
	cons_fail(c, "consumed records: %s", grb_last_error());
	return -1;
}

/* The writers parked (or gone), for an exact count in overwrite mode. */
static int pause_writer(struct consumer *c, struct grb_channel *ch)
{
	struct wshared *sh = c->w->sh;
	uint64_t t0 = now_ns();

	/* [soak-P0] release: pairs with the writers' acquire [soak-P1]. */
	__atomic_store_n(&sh->pause_cons, 1, __ATOMIC_RELEASE);
	for (;;) {
		/* [soak-P3] acquire: pairs with the parkers' release
		 * [soak-P2]: their calls are over. */
		if (__atomic_load_n(&sh->parked, __ATOMIC_ACQUIRE) >= sh->expect_parked)
			return 0;
		/* relaxed: a hint; the owner's death is what counts. */
		if (__atomic_load_n(&sh->writers_done, __ATOMIC_RELAXED) ||
		    grb_channel_owner_alive(ch) == 0)
			return 0;
		if (now_ns() - t0 > 30000000000ull) {
			cons_fail(c, "the writer did not pause within 30 s");
			return -1;
		}
		sleep_us(200);
	}
}

static void consumer_main(struct writer *w, uint32_t ci, int sock)
{
	struct consumer c;
	struct cshared *me = &w->sh->cons[ci];
	const struct grb_config *cfg = configs[w->cfg].cfg;
	struct grb_iter *it[SHM_MAX_FDS];
	struct grb_merge *mg = NULL;
	struct grb_channel *ch;
	uint8_t ended[SHM_MAX_FDS];
	uint64_t rs = o.seed ^ ((uint64_t)w->serial << 32) ^ (ci * 0x9e3779b97f4a7c15ull);
	uint32_t s;
	int alive = 1, wake = cfg->wakeup == GRB_WAKEUP_WRITER, use_merge;

	memset(&c, 0, sizeof(c));
	c.w = w;
	c.me = me;
	c.id = (uint16_t)(ci + 1);
	c.die_after = w->cplan == CP_DIE ? w->cdie_after : 0;
	rnd_next(&rs);
	use_merge = rnd_next(&rs) % 3 == 0;
	if (w->dir) {
		char name[32];

		snprintf(name, sizeof(name), "w%u", w->serial);
		ch = grb_channel_attach_dir(cfg, o.dir, name, NULL);
	} else {
		int fds[SHM_MAX_FDS], nfd;
		uint64_t tag;

		nfd = shm_recv_fds(sock, fds, SHM_MAX_FDS, &tag);
		ch = nfd > 0 ? grb_channel_attach(cfg, fds, (uint32_t)nfd, NULL) : NULL;
		while (nfd > 0)
			close(fds[--nfd]);
	}
	close(sock);
	if (!ch) {
		cons_fail(&c, "attach: %s", grb_last_error());
		_exit(3);
	}
	c.n = grb_channel_nr_streams(ch);
	c.last = (uint64_t *)calloc((size_t)c.n * MAX_THREADS * 2, sizeof(uint64_t));
	if (!c.last || c.n > SHM_MAX_FDS)
		_exit(3);
	/* Its predecessor was killed: its claim on the streams goes. */
	if (ci > 0 && w->coutcome[ci - 1] == CO_KILLED) {
		grb_channel_consumer_gone(ch);
		me->took_over = 1;
	}
	/* What the predecessors took.  In overwrite mode, with the
	 * writers parked: a pusher moves consumed before it counts. */
	if (cfg->mode == GRB_MODE_OVERWRITE && pause_writer(&c, ch))
		_exit(3);
	if (baseline(&c, ch, &me->base) == 0)
		__atomic_store_n(&me->base_ok, 1, __ATOMIC_RELAXED);
	/* [soak-P0] release: as above; the writers go on. */
	__atomic_store_n(&w->sh->pause_cons, 0, __ATOMIC_RELEASE);
	memset(ended, 0, sizeof(ended));
	if (use_merge) {
		mg = grb_merge_create(ch, 0);
		if (!mg) {
			cons_fail(&c, "merge: %s", strerror(errno));
			_exit(3);
		}
	} else {
		for (s = 0; s < c.n; s++) {
			it[s] = grb_iter_create(ch, s, 0);
			if (!it[s]) {
				cons_fail(&c, "iterator of stream %u: %s", s, strerror(errno));
				_exit(3);
			}
		}
	}
	__atomic_store_n(&me->state, CS_READING, __ATOMIC_RELAXED);
	for (;;) {
		struct grb_record rec;
		uint32_t nended = 0, i;
		int ret, more = 0;

		if (mg) {
			for (i = 0; i < 4096 && (ret = grb_merge_next(mg, &rec)) == 0; i++)
				take(&c, &rec);
			if (i == 4096)
				more = 1;
			else if (ret == -ENODATA)
				nended = c.n;
			else if (ret != -EAGAIN) {
				__atomic_store_n(&me->errors, me->errors + 1, __ATOMIC_RELAXED);
				cons_fail(&c, "grb_merge_next: %d", ret);
				more = 1;
			}
		} else {
			for (s = 0; s < c.n; s++) {
				if (ended[s]) {
					nended++;
					continue;
				}
				for (i = 0; i < 4096 && (ret = grb_iter_next(it[s], &rec)) == 0;
				     i++)
					take(&c, &rec);
				if (i == 4096) {
					more = 1;
				} else if (ret == -ENODATA) {
					ended[s] = 1;
					nended++;
				} else if (ret != -EAGAIN) {
					__atomic_store_n(&me->errors, me->errors + 1,
							 __ATOMIC_RELAXED);
					cons_fail(&c, "stream %u: grb_iter_next: %d (%s)", s, ret,
						  grb_last_error());
					more = 1;
				}
			}
		}
		if (nended == c.n) {
			__atomic_store_n(&me->state, CS_DRAINED, __ATOMIC_RELAXED);
			_exit(0);
		}
		if (more)
			continue;
		/* Every stream said -EAGAIN: nothing is held. */
		/* relaxed: a request; the readers' state is this process's. */
		if (__atomic_load_n(&me->detach, __ATOMIC_RELAXED)) {
			if (mg)
				grb_merge_destroy(mg);
			else
				for (s = 0; s < c.n; s++)
					grb_iter_destroy(it[s]);
			grb_channel_destroy(ch);
			__atomic_store_n(&me->state, CS_DETACHED, __ATOMIC_RELAXED);
			_exit(0);
		}
		if (alive)
			alive = grb_channel_owner_alive(ch) != 0;
		if (alive && wake) {
			int r = grb_channel_wait(ch, NULL, 0, 2000000);

			if (r == -ENOSYS)
				wake = 0;
		} else {
			sleep_us(alive ? 1000 : 100);
		}
	}
}

/* ---- the supervisor ---- */

static int start_writer(struct writer *w, uint32_t slot, uint64_t now)
{
	static uint32_t serial;
	const struct grb_config *cfg;
	int sv[2];
	pid_t pid;
	struct pollfd pfd;
	uint32_t i, k;

	memset(w, 0, sizeof(*w));
	w->serial = ++serial;
	w->sh = &shared[slot];
	memset(w->sh, 0, sizeof(*w->sh));
	do
		w->cfg = (uint32_t)(rnd_next(&srnd) % NR_CONFIGS);
	while (!(o.cfg_mask >> w->cfg & 1));
	cfg = configs[w->cfg].cfg;
	w->threads = (uint32_t)rnd_in(&srnd, 1, o.threads);
	w->nr_streams = w->threads;
	if (per_thread(cfg) && w->threads > 1 && rnd_next(&srnd) % 8 == 0)
		w->nr_streams = w->threads - 1; /* a thread finds no stream */
	w->sb_size = 1u << rnd_in(&srnd, 10, 14);
	w->sb_count = 1u << rnd_in(&srnd, 1, 3);
	w->flush_us = rnd_next(&srnd) % 2 ? (uint32_t)rnd_in(&srnd, 500, 10000) : 0;
	w->timer_us = (uint32_t)rnd_in(&srnd, 100, 2000);
	w->burst = (uint32_t)rnd_in(&srnd, 8, 256);
	w->pace_us = (uint32_t)rnd_in(&srnd, 20, 500);
	w->mig_ms = (uint32_t)rnd_in(&srnd, 1, 20);
	w->dir = o.dir && rnd_next(&srnd) % 3 == 0;
	/* Its end: 40 % exit, 35 % killed at a random moment, 25 % crash
	 * in a write.  A stream that several threads write (or one and a
	 * flusher) must not see a kill while one of them holds a
	 * reservation: the others' records behind it would not be
	 * returned (doc/design.md, "Limits").  Such a writer is killed
	 * once they are all parked outside their calls, and crashes never
	 * (a crash in one thread is a kill at a random moment for the
	 * others), unless --holes. */
	k = (uint32_t)(rnd_next(&srnd) % 100);
	w->end = k < 40 ? END_EXIT : k < 75 ? END_KILL : END_CRASH;
	w->quiesce = !per_thread(cfg) && (w->threads > 1 || w->flush_us) && !o.holes;
	if (w->quiesce && w->end == END_CRASH)
		w->end = END_KILL;
	w->crash = (uint32_t)rnd_in(&srnd, CR_RESERVED, CR_COMMITTED);
	w->end_ns = now + rnd_in(&srnd, 100, 2000) * 1000000ull;
	w->sh->expect_parked = w->threads + (w->flush_us ? 1 : 0);
	w->marks_len = (size_t)w->threads * 2 * SEQ_CAP * sizeof(uint16_t);
	w->marks = (uint16_t *)mmap(NULL, w->marks_len, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->marks == MAP_FAILED) {
		w->marks = NULL;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		writer_main(w, sv[1]);
	}
	close(sv[1]);
	w->pid = pid;
	w->used = 1;
	tot.w_started++;
	/* Its streams, within 10 s. */
	pfd.fd = sv[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1)
		goto bad;
	if (w->dir) {
		uint64_t n;

		if (read(sv[0], &n, sizeof(n)) != (ssize_t)sizeof(n) || !n || n > SHM_MAX_FDS)
			goto bad;
		w->nfd = (uint32_t)n;
	} else {
		uint64_t tag;
		int n = shm_recv_fds(sv[0], w->fds, SHM_MAX_FDS, &tag);

		if (n <= 0 || (uint64_t)n != tag)
			goto bad;
		w->nfd = (uint32_t)n;
	}
	if (write(sv[0], "g", 1) != 1)
		goto bad;
	close(sv[0]);
	return 0;
bad:
	soak_error(w, "did not pass its streams");
	close(sv[0]);
	for (i = 0; i < w->nfd && !w->dir; i++)
		close(w->fds[i]);
	w->nfd = 0;
	kill(pid, SIGKILL);
	w->end = END_KILL;
	w->ended = 1;
	return -1;
}

static void start_consumer(struct writer *w, uint64_t now)
{
	uint32_t ci = w->ncons;
	int sv[2] = { -1, -1 };
	pid_t pid;

	if (!w->dir && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	/* The plan: stay, be killed, or detach, after 2 to 400 ms; the
	 * chain of a finished writer ends within a few consumers. */
	w->cplan = CP_STAY;
	if (ci + 1 < MAX_CONS && (!w->reaped || (ci < 8 && now < w->drain_deadline))) {
		uint64_t r = rnd_next(&srnd) % 100;

		w->cplan = r < 20 ? CP_KILL : r < 40 ? CP_DIE : r < 60 ? CP_DETACH : CP_STAY;
	}
	w->cdie_after = rnd_in(&srnd, 1, 1u << rnd_in(&srnd, 1, 16));
	w->cact_ns = now + rnd_in(&srnd, 2, 400) * 1000000ull;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		return;
	}
	if (pid == 0) {
		uint32_t i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Only this writer's marks. */
		for (i = 0; i < MAX_WRITERS; i++)
			if (writers[i].used && &writers[i] != w && writers[i].marks)
				munmap(writers[i].marks, writers[i].marks_len);
		if (sv[1] >= 0)
			close(sv[1]);
		consumer_main(w, ci, sv[0]);
		_exit(0);
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		if (shm_send_fds(sv[1], w->fds, w->nfd, w->nfd))
			soak_error(w, "consumer %u: the descriptors not sent", ci);
		close(sv[1]);
	}
	w->cpid = pid;
	w->crunning = 1;
	w->ncons++;
	tot.c_started++;
	if (ci > 0)
		tot.c_took_over++;
}

/* Parks a writer's threads: returns once they all are (or after 30 s). */
static void quiesce(struct writer *w)
{
	uint64_t t0 = now_ns();

	/* [soak-P0] release: pairs with [soak-P1]. */
	__atomic_store_n(&w->sh->pause_sup, 1, __ATOMIC_RELEASE);
	/* [soak-P3] acquire: pairs with [soak-P2]. */
	while (__atomic_load_n(&w->sh->parked, __ATOMIC_ACQUIRE) < w->sh->expect_parked) {
		if (now_ns() - t0 > 30000000000ull) {
			soak_error(w, "its threads did not park within 30 s");
			return;
		}
		sleep_us(100);
	}
}

static const char *phase_name(uint32_t p)
{
	return p == PH_RESERVING ? "reserving" : p == PH_RESERVED ? "reserved" : "committing";
}

/* Reads the streams' statistics and what the consumers took in all, with
 * the writer gone.  0, or -1 (the channel could not be attached). */
static int writer_stats(struct writer *w, struct grb_channel_stats *cs, uint64_t *committed,
			uint64_t *claimed, int *claimed_ok)
{
	const struct grb_config *cfg = configs[w->cfg].cfg;
	struct grb_channel *ch;
	uint32_t s, n;

	if (w->dir) {
		char name[32];

		snprintf(name, sizeof(name), "w%u", w->serial);
		ch = grb_channel_attach_dir(cfg, o.dir, name, NULL);
	} else {
		ch = w->nfd ? grb_channel_attach(cfg, w->fds, w->nfd, NULL) : NULL;
	}
	if (!ch) {
		soak_error(w, "the statistics: attach: %s", grb_last_error());
		return -1;
	}
	if (grb_channel_owner_alive(ch) != 0)
		soak_error(w, "reaped, and its channel's owner still alive");
	grb_channel_read_stats(ch, cs);
	n = grb_channel_nr_streams(ch);
	*committed = 0;
	*claimed = 0;
	*claimed_ok = 1;
	for (s = 0; s < n; s++) {
		struct grb_stream_stats st;
		uint64_t k = 0;
		int ret;

		grb_channel_read_stream_stats(ch, s, &st);
		*committed += st.committed;
		ret = grb_channel_consumed_records(ch, s, &k);
		if (ret) {
			fprintf(stderr, "grb_soak: writer %u stream %u: %s\n", w->serial, s,
				grb_last_error());
			*claimed_ok = 0;
		} else {
			*claimed += k - st.corrupt_records;
		}
	}
	grb_channel_destroy(ch);
	return 0;
}

/* The checks of a finished writer process (see the head of the file). */
static void check_writer(struct writer *w)
{
	const struct grb_config *cfg = configs[w->cfg].cfg;
	struct grb_channel_stats cs;
	uint64_t committed, claimed, delivered = 0, missing = 0, beyond = 0, bad_flight = 0;
	uint64_t reported[MAX_CONS + 1], in_res = 0, in_rsv = 0, in_com = 0, fails[GRB_LOST_NR + 2];
	uint64_t torn = 0, dups = 0, disorder = 0, cerr = 0, unreported = 0, overwritten, died;
	uint64_t written, excess = 0, x = 0, need_died = 0;
	char detail[2048];
	size_t nd = 0;
	uint32_t t, c, i, k;
	int claimed_ok, chain_ok = 1, errs0 = (int)tot.errors;

	memset(reported, 0, sizeof(reported));
	memset(fails, 0, sizeof(fails));
	if (writer_stats(w, &cs, &committed, &claimed, &claimed_ok))
		return;
	/* The writer's end. */
	if (w->end != END_EXIT && !(WIFSIGNALED(w->status) && WTERMSIG(w->status) == SIGKILL))
		soak_error(w, "status 0x%x, not killed", w->status);
	if (w->end == END_EXIT && !(WIFEXITED(w->status) && WEXITSTATUS(w->status) == 0))
		soak_error(w, "status 0x%x, not a normal exit", w->status);
	/* The consumers' own findings. */
	for (i = 0; i < w->ncons; i++) {
		struct cshared *x1 = &w->sh->cons[i];

		torn += x1->torn;
		dups += x1->dups;
		disorder += x1->disorder;
		cerr += x1->errors;
		if (x1->msg[0])
			fprintf(stderr, "grb_soak: writer %u consumer %u: %s\n", w->serial, i,
				x1->msg);
		if (w->coutcome[i] == CO_FAILED)
			soak_error(w, "consumer %u failed: %s", i, x1->msg);
	}
	if (torn || dups || disorder || cerr)
		soak_error(w,
			   "%" PRIu64 " torn, %" PRIu64 " read twice, %" PRIu64
			   " out of order, %" PRIu64 " read errors",
			   torn, dups, disorder, cerr);
	if (cs.corrupt_packets || cs.corrupt_records || cs.invariant_failures || cs.filtered_cpu)
		soak_error(w,
			   "%" PRIu64 " corrupt packets (%" PRIu64 " records), %" PRIu64
			   " invariant failures, %" PRIu64 " filtered",
			   cs.corrupt_packets, cs.corrupt_records, cs.invariant_failures,
			   cs.filtered_cpu);
	/* Per context: 0..done-1 once each, done only if its commit was
	 * called, nothing beyond. */
	for (t = 0; t < w->threads; t++)
		for (c = 0; c < 2; c++) {
			const struct ctxlog *l = &w->sh->ctx[t][c];
			const uint16_t *m = w->marks + ((size_t)t * 2 + c) * SEQ_CAP;
			uint64_t d = l->done, q, hi = 0, miss = 0, first = 0;

			for (i = 0; i < w->ncons; i++)
				if (w->sh->cons[i].hi[t][c] > hi)
					hi = w->sh->cons[i].hi[t][c];
			for (k = 0; k < GRB_LOST_NR + 2; k++)
				fails[k] += l->fails[k];
			if (d >= SEQ_CAP) {
				soak_error(w, "thread %u ctx %u: %" PRIu64 " done, over the cap", t,
					   c, d);
				continue;
			}
			for (q = 0; q < d; q++) {
				if (m[q]) {
					delivered++;
					reported[m[q]]++;
				} else if (!miss++) {
					first = q;
				}
			}
			if (m[d]) {
				delivered++;
				reported[m[d]]++;
				if (!l->in_call || l->phase != PH_COMMITTING) {
					bad_flight++;
					soak_error(w,
						   "thread %u ctx %u: record %" PRIu64
						   " read, its commit not called (%s)",
						   t, c, d,
						   l->in_call ? phase_name(l->phase) : "no call");
				}
			}
			for (q = d + 1; q < hi && q < SEQ_CAP; q++)
				beyond += m[q] != 0;
			if (l->in_call) {
				in_res += l->phase == PH_RESERVING;
				in_rsv += l->phase == PH_RESERVED;
				in_com += l->phase == PH_COMMITTING && !m[d];
			}
			if (miss && nd < sizeof(detail))
				nd += (size_t)snprintf(
					detail + nd, sizeof(detail) - nd,
					"grb_soak: writer %u thread %u ctx %u: %" PRIu64
					" done, %" PRIu64 " not read, the first %" PRIu64
					" (in flight: %s)\n",
					w->serial, t, c, d, miss, first,
					l->in_call ? phase_name(l->phase) : "none");
			missing += miss;
		}
	if (beyond)
		soak_error(w, "%" PRIu64 " records read beyond the last commit called", beyond);
	if (fails[F_FILTERED] || fails[F_OTHER])
		soak_error(w,
			   "%" PRIu64 " records filtered, %" PRIu64
			   " calls with another error (or a too big record accepted)",
			   fails[F_FILTERED], fails[F_OTHER]);
	/* The consumers' chain: each one's baseline is what the ones before
	 * took; one that detached reported everything it took, and the last
	 * one (drained) too. */
	for (i = 0; i < w->ncons; i++) {
		const struct cshared *a = &w->sh->cons[i];
		uint64_t took;

		if (i == 0 && a->base_ok && a->base != 0) {
			soak_error(w, "consumer 0: %" PRIu64 " taken before it", a->base);
			chain_ok = 0;
		}
		if (!a->base_ok)
			chain_ok = 0;
		if (i + 1 < w->ncons) {
			const struct cshared *b = &w->sh->cons[i + 1];

			if (!a->base_ok || !b->base_ok)
				continue;
			if (b->base < a->base) {
				soak_error(w,
					   "consumer %u: taken before %" PRIu64
					   ", less than consumer %u's %" PRIu64,
					   i + 1, b->base, i, a->base);
				continue;
			}
			took = b->base - a->base;
		} else {
			if (!a->base_ok || !claimed_ok)
				continue;
			if (claimed < a->base) {
				soak_error(w,
					   "%" PRIu64 " consumed in all, %" PRIu64
					   " taken before the last consumer",
					   claimed, a->base);
				continue;
			}
			took = claimed - a->base;
		}
		if (took < reported[i + 1] ||
		    (w->coutcome[i] != CO_KILLED && took != reported[i + 1]))
			soak_error(w, "consumer %u (%s): took %" PRIu64 ", reported %" PRIu64, i,
				   w->coutcome[i] == CO_KILLED	 ? "killed" :
				   w->coutcome[i] == CO_DETACHED ? "detached" :
								   "drained",
				   took, reported[i + 1]);
		else if (w->coutcome[i] == CO_KILLED)
			unreported += took - reported[i + 1];
	}
	/* What dead consumers took and never reported. */
	if (claimed_ok) {
		if (claimed < delivered) {
			soak_error(w, "%" PRIu64 " records consumed in all, %" PRIu64 " delivered",
				   claimed, delivered);
			return;
		}
		if (chain_ok && claimed - delivered != unreported)
			soak_error(w,
				   "%" PRIu64 " taken by dead consumers in all, %" PRIu64
				   " by their successors' counts",
				   claimed - delivered, unreported);
		unreported = claimed - delivered;
	} else if (!chain_ok) {
		soak_error(w, "what the consumers took is not known");
		return;
	}
	overwritten = cs.lost[GRB_LOST_OVERWRITTEN];
	died = cs.lost[GRB_LOST_DIED];
	written = committed + cs.lost_total - overwritten;
	/* Every record committed is delivered, taken by a dead consumer,
	 * or overwritten. */
	if (committed != delivered + unreported + overwritten + cs.corrupt_records)
		soak_error(w,
			   "%" PRIu64 " committed != %" PRIu64 " delivered + %" PRIu64
			   " taken by dead consumers + %" PRIu64 " overwritten",
			   committed, delivered, unreported, overwritten);
	/* Those whose commit returned, not delivered: taken by dead
	 * consumers or overwritten, with x records in their commit at the
	 * kill that were committed. */
	if (unreported + overwritten < missing || unreported + overwritten - missing > in_com) {
		soak_error(w,
			   "%" PRIu64 " records whose commit returned not delivered, %" PRIu64
			   " taken by dead consumers, %" PRIu64 " overwritten, %" PRIu64
			   " in their commit at the kill",
			   missing, unreported, overwritten, in_com);
	} else {
		x = unreported + overwritten - missing;
	}
	/* The losses: the refused calls, plus at most one for each context
	 * killed inside its reservation. */
	for (k = 0; k < GRB_LOST_NR; k++) {
		uint64_t l = cs.lost[k];

		if (k == GRB_LOST_OVERWRITTEN || k == GRB_LOST_DIED)
			continue;
		if (k == GRB_LOST_FULL)
			l += cs.lost[GRB_LOST_WRAP];
		if (k == GRB_LOST_WRAP)
			continue;
		if (l < fails[k])
			soak_error(w, "%" PRIu64 " lost (%s%s), %" PRIu64 " calls refused for it",
				   l, grb_lost_cause_name((enum grb_lost_cause)k),
				   k == GRB_LOST_FULL ? " and wrap" : "", fails[k]);
		else
			excess += l - fails[k];
	}
	/* Reservations left open: per-thread streams count each died; a
	 * shared stream counts none (doc/design.md, "Limits"). */
	need_died = in_rsv + (in_com - x);
	if (per_thread(cfg)) {
		if (died < need_died || died - need_died + excess > in_res)
			soak_error(w,
				   "%" PRIu64 " died, %" PRIu64
				   " other losses not refused; %" PRIu64
				   " reservations left open, %" PRIu64 " contexts killed reserving",
				   died, excess, need_died, in_res);
	} else {
		if (died || excess > in_res)
			soak_error(w,
				   "%" PRIu64 " died, %" PRIu64 " losses not refused, %" PRIu64
				   " contexts killed reserving",
				   died, excess, in_res);
	}
	if ((int)tot.errors != errs0) {
		fputs(detail, stderr);
		fprintf(stderr,
			"grb_soak: writer %u: %" PRIu64 " written = %" PRIu64
			" delivered + %" PRIu64 " taken by dead consumers + %" PRIu64
			" lost; %" PRIu64 " committed; %u consumers\n",
			w->serial, written, delivered, unreported, cs.lost_total, committed,
			w->ncons);
	}
	tot.w_checked++;
	tot.written += written;
	tot.delivered += delivered;
	tot.taken_dead += unreported;
	for (k = 0; k < GRB_LOST_NR; k++)
		tot.lost[k] += cs.lost[k];
}

static void release_writer(struct writer *w)
{
	uint32_t i;

	if (w->dir && o.dir) {
		for (i = 0; i < w->nfd; i++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/w%u_%u", o.dir, w->serial, i);
			unlink(path);
		}
	} else {
		for (i = 0; i < w->nfd; i++)
			close(w->fds[i]);
	}
	if (w->marks)
		munmap(w->marks, w->marks_len);
	w->marks = NULL;
	w->used = 0;
}

static void summary(uint64_t elapsed_ns, int final)
{
	uint32_t k, running = 0, i;
	char lost[512];
	size_t n = 0;
	uint64_t lt = 0;

	for (i = 0; i < MAX_WRITERS; i++)
		running += writers[i].used && !writers[i].reaped;
	lost[0] = 0;
	for (k = 0; k < GRB_LOST_NR; k++) {
		lt += tot.lost[k];
		if (tot.lost[k] && n < sizeof(lost))
			n += (size_t)snprintf(lost + n, sizeof(lost) - n, "%s%s %" PRIu64,
					      n ? ", " : "",
					      grb_lost_cause_name((enum grb_lost_cause)k),
					      tot.lost[k]);
	}
	printf("grb_soak: %s%" PRIu64 " s: writers %" PRIu64 " started, %" PRIu64
	       " exited, %" PRIu64 " killed, %" PRIu64 " crashed, %u running; consumers %" PRIu64
	       " started, %" PRIu64 " detached, %" PRIu64 " killed, %" PRIu64
	       " took over; events %" PRIu64 " written, %" PRIu64 " delivered, %" PRIu64
	       " lost%s%s%s, %" PRIu64 " taken by dead consumers (%" PRIu64
	       " writers checked); %" PRIu64 " accounting errors\n",
	       final ? "end, " : "", (uint64_t)(elapsed_ns / 1000000000u), tot.w_started,
	       tot.w_exited, tot.w_killed, tot.w_crashed, running, tot.c_started, tot.c_detached,
	       tot.c_killed, tot.c_took_over, tot.written, tot.delivered, lt, n ? " (" : "", lost,
	       n ? ")" : "", tot.taken_dead, tot.w_checked, tot.errors);
	fflush(stdout);
}

/* A child ended: whose, and how. */
static void reaped(pid_t pid, int status, uint64_t now)
{
	uint32_t i;

	for (i = 0; i < MAX_WRITERS; i++) {
		struct writer *w = &writers[i];

		if (!w->used)
			continue;
		if (w->pid == pid && !w->reaped) {
			w->reaped = 1;
			w->status = status;
			w->finished_ns = now;
			w->drain_deadline = now + 20000000000ull;
			if (w->end == END_EXIT)
				tot.w_exited++;
			else if (w->end == END_CRASH && !w->crash_late)
				tot.w_crashed++;
			else
				tot.w_killed++;
			if (!w->ended)
				soak_error(w, "ended by itself (status 0x%x)", status);
			return;
		}
		if (w->crunning && w->cpid == pid) {
			struct cshared *c = &w->sh->cons[w->ncons - 1];
			int *out = &w->coutcome[w->ncons - 1];

			w->crunning = 0;
			/* Its pause, if it held one.  [soak-P0] release, as the
			 * consumer's own. */
			__atomic_store_n(&w->sh->pause_cons, 0, __ATOMIC_RELEASE);
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
			    (w->cplan == CP_KILL || w->cplan == CP_DIE)) {
				*out = CO_KILLED;
				tot.c_killed++;
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
				   c->state == CS_DETACHED) {
				*out = CO_DETACHED;
				tot.c_detached++;
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
				   c->state == CS_DRAINED) {
				*out = CO_DRAINED;
			} else {
				*out = CO_FAILED;
				fprintf(stderr, "grb_soak: writer %u consumer %u: status 0x%x\n",
					w->serial, w->ncons - 1, status);
			}
			return;
		}
	}
}

static int supervise(void)
{
	uint64_t t0 = now_ns(), end, next_report, now, stop_by;
	int status;
	pid_t pid;
	uint32_t i, alive;

	end = t0 + (uint64_t)(o.seconds * 1e9);
	next_report = t0 + (uint64_t)o.report_every * 1000000000ull;
	stop_by = 0;
	for (;;) {
		now = now_ns();
		alive = 0;
		for (i = 0; i < MAX_WRITERS; i++)
			alive += writers[i].used;
		/* New writers, while there is time. */
		for (i = 0; i < MAX_WRITERS && now < end; i++) {
			uint32_t live = 0, j;

			for (j = 0; j < MAX_WRITERS; j++)
				live += writers[j].used && !writers[j].reaped;
			if (live >= o.writers)
				break;
			if (!writers[i].used) {
				start_writer(&writers[i], i, now);
				alive++;
			}
		}
		for (i = 0; i < MAX_WRITERS; i++) {
			struct writer *w = &writers[i];

			if (!w->used)
				continue;
			/* Its end: stop, or kill (its threads parked first
			 * for shared streams). */
			if (!w->ended && (now >= w->end_ns || now >= end)) {
				w->ended = 1;
				if (w->end == END_KILL) {
					if (w->quiesce)
						quiesce(w);
					kill(w->pid, SIGKILL);
				} else if (w->end == END_CRASH) {
					/* relaxed: a request (as stop). */
					__atomic_store_n(&w->sh->crash, w->crash, __ATOMIC_RELAXED);
				} else {
					/* relaxed: a request; the exit publishes. */
					__atomic_store_n(&w->sh->stop, 1, __ATOMIC_RELAXED);
				}
			}
			/* A crash that found no write within 2 s: a kill. */
			if (w->ended && !w->reaped && w->end == END_CRASH &&
			    now > w->end_ns + 2000000000ull && !w->crash_late) {
				w->crash_late = 1;
				if (w->quiesce)
					quiesce(w);
				kill(w->pid, SIGKILL);
			}
			/* Its consumer: one at a time, until one drained. */
			if (w->crunning && (w->cplan == CP_KILL || w->cplan == CP_DETACH) &&
			    now >= w->cact_ns) {
				if (w->cplan == CP_KILL)
					kill(w->cpid, SIGKILL);
				else /* relaxed: a request */
					__atomic_store_n(&w->sh->cons[w->ncons - 1].detach, 1,
							 __ATOMIC_RELAXED);
				w->cact_ns = UINT64_MAX;
			}
			if (!w->crunning &&
			    !(w->ncons && w->coutcome[w->ncons - 1] == CO_DRAINED) &&
			    !(w->ncons && w->coutcome[w->ncons - 1] == CO_FAILED)) {
				if (w->ncons < MAX_CONS)
					start_consumer(w, now);
			}
			/* Finished: check and free the slot. */
			if (w->reaped && !w->crunning && w->ncons &&
			    (w->coutcome[w->ncons - 1] == CO_DRAINED ||
			     w->coutcome[w->ncons - 1] == CO_FAILED)) {
				check_writer(w);
				release_writer(w);
				continue;
			}
			if (w->reaped && now > w->drain_deadline + 40000000000ull) {
				soak_error(w,
					   "its streams not drained %" PRIu64
					   " s after its end (%u consumers)",
					   (uint64_t)((now - w->finished_ns) / 1000000000u),
					   w->ncons);
				if (w->crunning)
					kill(w->cpid, SIGKILL);
				w->drain_deadline = UINT64_MAX - 40000000000ull;
			}
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			reaped(pid, status, now_ns());
		if (now >= next_report && now < end) {
			summary(now - t0, 0);
			next_report += (uint64_t)o.report_every * 1000000000ull;
		}
		if (now >= end) {
			if (!stop_by)
				stop_by = now + 120000000000ull;
			if (!alive)
				break;
			if (now > stop_by) {
				for (i = 0; i < MAX_WRITERS; i++)
					if (writers[i].used) {
						soak_error(&writers[i],
							   "not finished 120 s after the end");
						kill(writers[i].pid, SIGKILL);
						if (writers[i].crunning)
							kill(writers[i].cpid, SIGKILL);
						writers[i].used = 0;
					}
				break;
			}
		}
		sleep_us(2000);
	}
	summary(now_ns() - t0, 1);
	return tot.errors ? 1 : 0;
}

static void usage(void)
{
	char names[512];
	size_t n = 0;
	uint32_t k;

	names[0] = 0;
	for (k = 0; k < NR_CONFIGS && n < sizeof(names); k++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", k ? "," : "",
				      configs[k].name);
	fprintf(stderr,
		"usage: grb_soak --seconds N [--seed S] [--writers P] [--threads T]\n"
		"                [--report-every SEC] [--dir DIR] [--configs LIST]\n"
		"                [--nested] [--holes]\n"
		"  --seconds N       how long writers are started (GRB_STRESS_SCALE scales it)\n"
		"  --seed S          the plans and configurations (default 1)\n"
		"  --writers P       writer processes alive at a time (1-%d, default 3)\n"
		"  --threads T       writer threads of each, at most (1-%d, default 3)\n"
		"  --report-every S  a summary line every S seconds (default 60)\n"
		"  --dir DIR         a third of the writers keep their streams in files of DIR\n"
		"  --configs LIST    only these configurations (comma-separated):\n"
		"                    %s\n"
		"  --nested          the signal handlers also write inside a reservation\n"
		"  --holes           kill and crash writers of shared streams at any moment\n",
		MAX_WRITERS, MAX_THREADS, names);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *scale = getenv("GRB_STRESS_SCALE"), *configs_arg = NULL;
	uint32_t k;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--nested"))
			o.nested = 1;
		else if (!strcmp(a, "--holes"))
			o.holes = 1;
		else if (!v)
			usage();
		else if (!strcmp(a, "--seconds"))
			o.seconds = atof(v), i++;
		else if (!strcmp(a, "--seed"))
			o.seed = strtoull(v, NULL, 0), i++;
		else if (!strcmp(a, "--writers"))
			o.writers = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(a, "--threads"))
			o.threads = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(a, "--report-every"))
			o.report_every = (uint32_t)strtoul(v, NULL, 0), i++;
		else if (!strcmp(a, "--dir"))
			o.dir = v, i++;
		else if (!strcmp(a, "--configs"))
			configs_arg = v, i++;
		else
			usage();
	}
	if (o.seconds <= 0 || !o.writers || o.writers > MAX_WRITERS || !o.threads ||
	    o.threads > MAX_THREADS || !o.report_every)
		usage();
	if (scale && atof(scale) > 0)
		o.seconds *= atof(scale);
	if (o.dir && mkdir(o.dir, 0700) && errno != EEXIST) {
		perror(o.dir);
		return 2;
	}
	ncpu_conf = (uint32_t)sysconf(_SC_NPROCESSORS_CONF);
	/* Every configuration, or those named, that this machine allows
	 * (a per-CPU channel's descriptors go in one message). */
	for (k = 0; k < NR_CONFIGS; k++) {
		const char *p = configs_arg;
		size_t n = strlen(configs[k].name);
		int named = !p;

		while (p && *p) {
			size_t m = strcspn(p, ",");

			named |= m == n && !strncmp(p, configs[k].name, n);
			p += m + (p[m] == ',');
		}
		if (named &&
		    !(configs[k].cfg->alloc == GRB_ALLOC_PER_CPU && ncpu_conf > SHM_MAX_FDS))
			o.cfg_mask |= 1u << k;
	}
	if (!o.cfg_mask) {
		fprintf(stderr, "grb_soak: no configuration to run (--configs)\n");
		usage();
	}
	if (sched_getaffinity(0, sizeof(cpus_allowed), &cpus_allowed))
		return 2;
	srnd = o.seed * 0x2545f4914f6cdd1dull + 1;
	shared = (struct wshared *)mmap(NULL, sizeof(*shared) * MAX_WRITERS, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	printf("grb_soak: %.0f s, seed %" PRIu64 ", %u writer processes of 1 to %u threads at a "
	       "time, %d CPUs%s%s%s\n",
	       o.seconds, o.seed, o.writers, o.threads, CPU_COUNT(&cpus_allowed),
	       o.dir ? ", files in " : "", o.dir ? o.dir : "",
	       o.nested ? ", --nested" :
	       o.holes	? ", --holes" :
			  "");
	fflush(stdout);
	return supervise();
}
