// SPDX-License-Identifier: MIT
/*
 * grb_bench.c - grb_bench.ko, nanoseconds per event of the kernel's write
 * fast path: what bench_write measures in user space, measured in a module
 * (bench/kernel.sh runs both in one VM; doc/kernel.md, "Cost").
 *
 * When it is loaded it creates a channel of per-CPU streams in the native
 * format, with the per-CPU sync (local atomics on the stream's CPU,
 * sync=percpu) or the atomic sync (sync=atomic), in discard mode (or
 * overwrite), with the TSC clock (grb_clock_tsc(): rdtsc_ordered()) or the
 * kernel's monotonic clock (grb_clock_monotonic():
 * ktime_get_mono_fast_ns()), and runs `runs` times:
 *
 *  - `writers` writer kthreads (1 by default), each bound to its own
 *    online CPU, write an untimed warm-up (one ring's worth, so that
 *    every page is touched), then `events` events of `payload` bytes
 *    through grb_reserve() + grb_write() + grb_commit(), with preemption
 *    disabled from the reservation to the commit as the kernel
 *    environment requires, timed with ktime_get_ns() around the loop;
 *  - with reader=1, a reader kthread, bound to the next online CPU when
 *    there is one, takes every stream's sub-buffers with the core's
 *    reader (grb_reader_get_next(), grb_reader_put()) while they write,
 *    sleeping poll_us when nothing is ready: the writers are measured in
 *    the steady state, not on the drop path of a full ring.  With
 *    reader=0 the streams are drained once the writers are done;
 *  - then the channel is finalized and read to its end, and the
 *    accounting checked: every event written is delivered or counted
 *    lost (delivered + lost == written), every failed reservation is a
 *    loss that is not an overwrite, no corrupt packet, no invariant
 *    failure.
 *
 * Each (sync, mode, clock, payload) has its own static const
 * configuration and its own noinline loop, loop_<sync>_<mode>_<clock>_<P>,
 * as bench_write's, so that bench/insn_count.py --function can count one
 * event's instructions in grb_bench.ko.  Between chunks of CHUNK events the
 * writer may reschedule (cond_resched(), outside the loop function).
 *
 * It prints one line per run:
 *
 *   grb_bench: KBENCH case=percpu-local-discard clock=tsc payload=16
 *     reader=1 writers=1 run=1 events=N warmup=W ns_per_event=X.XX
 *     written=.. delivered=.. lost=.. rejected=.. function=loop_... accounting=ok
 *
 * and, when the accounting does not hold, no figure: a "grb_bench:
 * KBENCH_FAIL ..." line with the counts and what failed.  Bad parameters
 * or a channel that cannot be created print "grb_bench: KBENCH_FAIL".
 * The module loads either way (busybox's insmod would run a failed init
 * again); remove it with rmmod.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <grb/grb.h>
#include <grb/native.h>

static unsigned int events = 1000000;
module_param(events, uint, 0444);
MODULE_PARM_DESC(events, "timed events per writer and run");
static unsigned int runs = 1;
module_param(runs, uint, 0444);
MODULE_PARM_DESC(runs, "runs, each on a new channel (one KBENCH line each)");
static unsigned int payload = 16;
module_param(payload, uint, 0444);
MODULE_PARM_DESC(payload, "payload bytes: 8, 16, 64 or 256");
static char *bench_clock = "tsc";
module_param_named(clock, bench_clock, charp, 0444);
MODULE_PARM_DESC(clock, "tsc (rdtsc_ordered) or mono (ktime_get_mono_fast_ns)");
static char *bench_sync = "percpu";
module_param_named(sync, bench_sync, charp, 0444);
MODULE_PARM_DESC(sync, "percpu (local atomics on the stream's CPU) or atomic");
static char *bench_mode = "discard";
module_param_named(mode, bench_mode, charp, 0444);
MODULE_PARM_DESC(mode, "discard or overwrite");
static bool reader = true;
module_param(reader, bool, 0444);
MODULE_PARM_DESC(reader, "a reader kthread drains the streams while the writers write");
static unsigned int writers = 1;
module_param(writers, uint, 0444);
MODULE_PARM_DESC(writers, "writer kthreads, one per online CPU");
static unsigned int subbuf_size = 256 * 1024;
module_param(subbuf_size, uint, 0444);
MODULE_PARM_DESC(subbuf_size, "sub-buffer bytes (bench_write's default)");
static unsigned int subbuf_count = 32;
module_param(subbuf_count, uint, 0444);
MODULE_PARM_DESC(subbuf_count, "sub-buffers per stream (bench_write's default)");
static unsigned int poll_us = 1000;
module_param(poll_us, uint, 0444);
MODULE_PARM_DESC(poll_us, "the reader's sleep when no stream has a sub-buffer ready");
static int warmup = -1;
module_param(warmup, int, 0444);
MODULE_PARM_DESC(warmup, "untimed events per writer before each run (-1: one ring's worth)");

#define HEADER_SIZE 8u /* the native client's compact record header */
#define CHUNK 4096u /* events between two chances to reschedule */
#define MAX_WRITERS 64
#define DRAIN_TIMEOUT_NS (10ull * NSEC_PER_SEC)

typedef u64 (*loop_fn)(struct grb_channel *ch, u64 n, u64 seed);

/*
 * Writes n events of P bytes; returns how many reservations failed.  The
 * payload: word 0 the seed plus the event's number, word 1 the number, the
 * others a constant pattern (bench/harness.h's).
 */
#define DEFINE_LOOP(id, P)                                                           \
	static noinline u64 loop_##id##_##P(struct grb_channel *ch, u64 n, u64 seed) \
	{                                                                            \
		u64 pl[(P) / 8], i, rejected = 0;                                    \
		unsigned int k;                                                      \
                                                                                     \
		for (k = 0; k < (P) / 8; k++)                                        \
			pl[k] = 0x0101010101010101ull * k;                           \
		for (i = 0; i < n; i++) {                                            \
			struct grb_ctx ctx;                                          \
                                                                                     \
			pl[0] = seed + i;                                            \
			if ((P) / 8 > 1)                                             \
				pl[(P) / 8 > 1 ? 1 : 0] = i;                         \
			ctx.event_id = 0;                                            \
			ctx.payload_len = sizeof(pl);                                \
			preempt_disable();                                           \
			if (unlikely(grb_reserve(&cfg_##id, ch, &ctx) != 0)) {       \
				preempt_enable();                                    \
				rejected++;                                          \
				continue;                                            \
			}                                                            \
			grb_write(&ctx, pl, sizeof(pl));                             \
			grb_commit(&cfg_##id, &ctx);                                 \
			preempt_enable();                                            \
		}                                                                    \
		return rejected;                                                     \
	}

#define DEFINE_CASE(id, sync, mode, clock)                                     \
	static const struct grb_config cfg_##id =                              \
		GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_PER_CPU, sync, mode, clock); \
	DEFINE_LOOP(id, 8) DEFINE_LOOP(id, 16) DEFINE_LOOP(id, 64) DEFINE_LOOP(id, 256)

#define DEFINE_CLOCK_CASES(clk, clock)                                                       \
	DEFINE_CASE(local_discard_##clk, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, clock)     \
	DEFINE_CASE(local_overwrite_##clk, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE, clock) \
	DEFINE_CASE(atomic_discard_##clk, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, clock)          \
	DEFINE_CASE(atomic_overwrite_##clk, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE, clock)

DEFINE_CLOCK_CASES(tsc, grb_clock_tsc)
DEFINE_CLOCK_CASES(mono, grb_clock_monotonic)

struct bench_case {
	const char *sync; /* the sync parameter's value */
	const char *mode;
	const char *clock;
	unsigned int payload;
	const char *name; /* percpu-<local|atomic>-<mode> */
	const struct grb_config *cfg;
	loop_fn loop;
	const char *function;
};

#define CASE_P(id, s, m, c, name, P) \
	{ s, m, c, P, name, &cfg_##id, loop_##id##_##P, "loop_" #id "_" #P },
#define CASE(id, s, m, c, name)      \
	CASE_P(id, s, m, c, name, 8) \
	CASE_P(id, s, m, c, name, 16) CASE_P(id, s, m, c, name, 64) CASE_P(id, s, m, c, name, 256)
#define CLOCK_CASES(clk)                                                                   \
	CASE(local_discard_##clk, "percpu", "discard", #clk, "percpu-local-discard")       \
	CASE(local_overwrite_##clk, "percpu", "overwrite", #clk, "percpu-local-overwrite") \
	CASE(atomic_discard_##clk, "atomic", "discard", #clk, "percpu-atomic-discard")     \
	CASE(atomic_overwrite_##clk, "atomic", "overwrite", #clk, "percpu-atomic-overwrite")

static const struct bench_case cases[] = { CLOCK_CASES(tsc) CLOCK_CASES(mono) };

/* One run: the channel, its writers and its reader. */
struct bench_run {
	const struct bench_case *bc;
	struct grb_channel *ch;
	u64 warmup;
	unsigned int nr_writers;
	struct task_struct *writer[MAX_WRITERS];
	u64 writer_ns[MAX_WRITERS];
	u64 rejected[MAX_WRITERS];
	atomic_t writers_left;
	struct completion writers_done;
	/* the reader's */
	struct grb_reader **rd;
	bool *ended;
	uint32_t nr_streams;
	struct task_struct *reader;
	struct completion reader_done;
	int stop; /* smp_store_release() once the channel is finalized */
	u64 stop_ns;
	u64 delivered, packets, eproto;
	int reader_err;
	bool hang;
};

/* Sleeps until kthread_stop(). */
static void wait_for_stop(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/* n events in chunks, with a chance to reschedule between two: the loop
 * runs with preemption enabled between records, and a kernel without
 * preemption would otherwise see a CPU stuck. */
static u64 write_events(const struct bench_case *bc, struct grb_channel *ch, u64 n, u64 seed)
{
	u64 done = 0, rejected = 0;

	while (done < n) {
		u64 k = min_t(u64, n - done, CHUNK);

		rejected += bc->loop(ch, k, seed + done);
		done += k;
		cond_resched();
	}
	return rejected;
}

struct writer_arg {
	struct bench_run *r;
	unsigned int index;
};

static struct writer_arg writer_args[MAX_WRITERS];

static int writer_fn(void *p)
{
	struct writer_arg *a = p;
	struct bench_run *r = a->r;
	u64 seed = (u64)a->index << 48, t0, t1;

	r->rejected[a->index] += write_events(r->bc, r->ch, r->warmup, seed);
	t0 = ktime_get_ns();
	r->rejected[a->index] += write_events(r->bc, r->ch, events, seed + r->warmup);
	t1 = ktime_get_ns();
	r->writer_ns[a->index] = t1 - t0;
	if (atomic_dec_and_test(&r->writers_left))
		complete(&r->writers_done);
	wait_for_stop();
	return 0;
}

/* One pass over every stream; returns whether it took or ended anything. */
static bool drain_pass(struct bench_run *r)
{
	bool progress = false;
	uint32_t i;

	for (i = 0; i < r->nr_streams; i++) {
		struct grb_packet pkt;
		int ret;

		if (r->ended[i])
			continue;
		ret = grb_reader_get_next(r->rd[i], &pkt);
		if (ret == 0) {
			r->delivered += pkt.info.records;
			r->packets++;
			ret = grb_reader_put(r->rd[i], &pkt);
			if (ret && !r->reader_err)
				r->reader_err = ret;
			progress = true;
		} else if (ret == -ENODATA) {
			r->ended[i] = true;
			progress = true;
		} else if (ret == -EPROTO) {
			r->eproto++;
			progress = true;
		} else if (ret != -EAGAIN && !r->reader_err) {
			r->reader_err = ret;
		}
	}
	return progress;
}

static bool all_ended(const struct bench_run *r)
{
	uint32_t i;

	for (i = 0; i < r->nr_streams; i++)
		if (!r->ended[i])
			return false;
	return true;
}

/* Reads until every stream ended (-ENODATA after the finalize), an error,
 * or DRAIN_TIMEOUT_NS after the finalize (a hang). */
static void drain(struct bench_run *r)
{
	while (!all_ended(r) && !r->reader_err) {
		if (drain_pass(r))
			continue;
		/* acquire: pairs with the release that publishes the stop
		 * after grb_channel_finalize(). */
		if (smp_load_acquire(&r->stop)) {
			if (ktime_get_ns() - r->stop_ns > DRAIN_TIMEOUT_NS) {
				r->hang = true;
				break;
			}
			usleep_range(10, 20);
		} else {
			usleep_range(poll_us, poll_us + poll_us / 8 + 1);
		}
	}
}

static int reader_fn(void *p)
{
	struct bench_run *r = p;

	drain(r);
	complete(&r->reader_done);
	wait_for_stop();
	return 0;
}

static const struct bench_case *find_case(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (!strcmp(cases[i].sync, bench_sync) && !strcmp(cases[i].mode, bench_mode) &&
		    !strcmp(cases[i].clock, bench_clock) && cases[i].payload == payload)
			return &cases[i];
	return NULL;
}

static void free_run(struct bench_run *r)
{
	uint32_t i;

	if (r->rd)
		for (i = 0; i < r->nr_streams; i++)
			if (r->rd[i])
				grb_reader_destroy(r->rd[i]);
	kfree(r->rd);
	kfree(r->ended);
	if (r->ch)
		grb_channel_destroy(r->ch);
}

#define PARAMS_FMT "case=%s clock=%s payload=%u reader=%d writers=%u run=%u"
#define PARAMS_ARGS(bc, run) (bc)->name, (bc)->clock, (bc)->payload, reader, writers, (run)

/* One run on a new channel; returns 0, or -1 after a KBENCH_FAIL line. */
static int run_once(const struct bench_case *bc, unsigned int run, const unsigned int *cpus,
		    int reader_cpu)
{
	struct bench_run *r;
	struct grb_channel_attr attr;
	struct grb_channel_stats st;
	const char *why = NULL;
	u64 written, rejected = 0, sum_ns = 0, ns100;
	unsigned int w;
	uint32_t i;
	int ret = -1;
	bool ok;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT " why=out-of-memory\n",
			PARAMS_ARGS(bc, run));
		return -1;
	}
	r->bc = bc;
	r->nr_writers = writers;
	init_completion(&r->writers_done);
	init_completion(&r->reader_done);
	atomic_set(&r->writers_left, (int)writers);
	r->warmup = warmup >= 0 ? (u64)warmup :
				  (u64)subbuf_size * (subbuf_count + 1) / (HEADER_SIZE + payload);
	grb_channel_attr_init(&attr);
	attr.subbuf_size = subbuf_size;
	attr.subbuf_count = subbuf_count;
	attr.name = bc->name;
	r->ch = grb_channel_create(bc->cfg, &attr);
	if (IS_ERR(r->ch)) {
		pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT " why=grb_channel_create:%ld:%s\n",
			PARAMS_ARGS(bc, run), PTR_ERR(r->ch), grb_last_error());
		r->ch = NULL;
		goto out;
	}
	if (grb_channel_sync(r->ch, &why) != bc->cfg->sync) {
		pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT " why=sync-fallback:%s\n",
			PARAMS_ARGS(bc, run), why ? why : "?");
		goto out;
	}
	r->nr_streams = grb_channel_nr_streams(r->ch);
	r->rd = kcalloc(r->nr_streams, sizeof(*r->rd), GFP_KERNEL);
	r->ended = kcalloc(r->nr_streams, sizeof(*r->ended), GFP_KERNEL);
	if (!r->rd || !r->ended) {
		pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT " why=out-of-memory\n",
			PARAMS_ARGS(bc, run));
		goto out;
	}
	for (i = 0; i < r->nr_streams; i++) {
		r->rd[i] = grb_reader_create(r->ch, i, 0);
		if (IS_ERR(r->rd[i])) {
			pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT
				" why=grb_reader_create:%u:%ld\n",
				PARAMS_ARGS(bc, run), i, PTR_ERR(r->rd[i]));
			r->rd[i] = NULL;
			goto out;
		}
	}
	if (reader) {
		r->reader = reader_cpu >= 0 ? kthread_create_on_cpu(reader_fn, r, reader_cpu,
								    "grb_bench_rd/%u") :
					      kthread_create(reader_fn, r, "grb_bench_rd");
		if (IS_ERR(r->reader)) {
			pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT " why=reader-kthread:%ld\n",
				PARAMS_ARGS(bc, run), PTR_ERR(r->reader));
			r->reader = NULL;
			goto out;
		}
		wake_up_process(r->reader);
	}
	/* Every writer created, then all woken: a failure leaves none
	 * running (kthread_stop() of a thread never woken does not run it). */
	for (w = 0; w < writers; w++) {
		writer_args[w].r = r;
		writer_args[w].index = w;
		r->writer[w] = kthread_create_on_cpu(writer_fn, &writer_args[w], cpus[w],
						     "grb_bench_wr/%u");
		if (IS_ERR(r->writer[w])) {
			pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT " why=writer-kthread:%ld\n",
				PARAMS_ARGS(bc, run), PTR_ERR(r->writer[w]));
			r->writer[w] = NULL;
			goto stop;
		}
	}
	for (w = 0; w < writers; w++)
		wake_up_process(r->writer[w]);
	wait_for_completion(&r->writers_done);
	ret = 0;
stop:
	/* The writers are done (or none ran): close the open packets; the
	 * reader then reads every stream to its end. */
	grb_channel_finalize(r->ch);
	r->stop_ns = ktime_get_ns();
	/* release: the finalize before the stop; pairs with drain()'s acquire. */
	smp_store_release(&r->stop, 1);
	if (r->reader)
		wait_for_completion(&r->reader_done);
	else
		drain(r);
	for (w = 0; w < writers; w++)
		if (r->writer[w])
			kthread_stop(r->writer[w]);
	if (r->reader)
		kthread_stop(r->reader);
	if (ret)
		goto out;

	grb_channel_read_stats(r->ch, &st);
	for (w = 0; w < writers; w++) {
		rejected += r->rejected[w];
		sum_ns += r->writer_ns[w];
	}
	written = (r->warmup + events) * writers;
	/* Every event written is delivered or counted lost; every failed
	 * reservation is a loss that is not an overwrite. */
	ok = !r->hang && !r->reader_err && !r->eproto && !st.invariant_failures &&
	     r->delivered + st.lost_total == written &&
	     rejected == st.lost_total - st.lost[GRB_LOST_OVERWRITTEN];
	if (!ok) {
		pr_info("grb_bench: KBENCH_FAIL " PARAMS_FMT
			" written=%llu delivered=%llu lost=%llu rejected=%llu eproto=%llu invariant_failures=%llu reader_err=%d hang=%d why=accounting\n",
			PARAMS_ARGS(bc, run), written, r->delivered, st.lost_total, rejected,
			r->eproto, st.invariant_failures, r->reader_err, r->hang);
		ret = -1;
		goto out;
	}
	/* ns per event per writer, the mean over the writers, in hundredths. */
	ns100 = events ? div64_u64(sum_ns * 100, (u64)events * writers) : 0;
	pr_info("grb_bench: KBENCH " PARAMS_FMT
		" events=%u warmup=%llu ns_per_event=%llu.%02llu written=%llu delivered=%llu lost=%llu rejected=%llu packets=%llu function=%s accounting=ok\n",
		PARAMS_ARGS(bc, run), events, r->warmup, ns100 / 100, ns100 % 100, written,
		r->delivered, st.lost_total, rejected, r->packets, bc->function);
out:
	free_run(r);
	kfree(r);
	return ret;
}

static int __init bench_init(void)
{
	static unsigned int cpus[MAX_WRITERS];
	const struct bench_case *bc = find_case();
	unsigned int n = 0, cpu, run;
	int reader_cpu = -1;

	if (!bc || !writers || writers > MAX_WRITERS || writers > num_online_cpus() || !runs) {
		pr_info("grb_bench: KBENCH_FAIL why=parameters sync=%s mode=%s clock=%s payload=%u writers=%u (%u CPUs online) runs=%u\n",
			bench_sync, bench_mode, bench_clock, payload, writers, num_online_cpus(),
			runs);
		return 0;
	}
	/* The writers on the first online CPUs, the reader on the next one
	 * when there is one (bench_write pins its threads the same way). */
	for_each_online_cpu(cpu) {
		if (n < writers)
			cpus[n++] = cpu;
		else if (reader_cpu < 0)
			reader_cpu = (int)cpu;
	}
	pr_info("grb_bench: start: grb %s, %u CPUs online, case %s, clock %s, payload %u, %u x %u B sub-buffers, reader %s\n",
		grb_version(), num_online_cpus(), bc->name, bc->clock, payload, subbuf_count,
		subbuf_size,
		!reader		? "none (drained after)" :
		reader_cpu >= 0 ? "on its own CPU" :
				  "unbound");
	for (run = 1; run <= runs; run++)
		if (run_once(bc, run, cpus, reader_cpu))
			break;
	return 0;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("grb benchmark: ns per event of the kernel write fast path");
