// SPDX-License-Identifier: MIT
/*
 * grb_selftest.c - grb_selftest.ko, the self-test of grb.ko, run when it
 * is loaded (tests/kernel/run_vm.sh loads both in a VM; doc/kernel.md).
 *
 * For each mode, discard then overwrite, a channel of per-CPU streams
 * (the per-CPU sync: local atomics on the stream's CPU) with small
 * sub-buffers, in the native format, and last the same in discard mode
 * with the atomic sync (locked atomics; a flush from any CPU):
 *
 *  - a writer kthread per online CPU, bound to it, writes numbered records
 *    with preemption disabled from grb_reserve() to grb_commit(); every
 *    NEST_EVERY records it queues, from inside its reservation, an
 *    irq_work on its CPU that writes a record of its own in hard interrupt
 *    context, nested in the kthread's;
 *  - a pinned hrtimer per CPU writes a record from hard interrupt context
 *    every hrtimer_us, nested wherever it lands;
 *  - the channel's switch timer flushes every stream every 2 ms from a
 *    workqueue, on whatever CPU: the flush runs on the stream's CPU;
 *  - a reader kthread drains every stream with the core's iterators while
 *    the writers write, sleeping between passes so that the rings
 *    overflow (records lost: full, or overwritten), and after
 *    grb_channel_finalize() to the end.
 *
 * Then it checks, per mode: each record read once, in order per writer,
 * with its writer's CPU and a timestamp that never goes back; written ==
 * read + lost (the channel's counters), and the losses by cause against
 * what the writers saw (a failed reservation is a lost record: -ENOBUFS
 * full in discard mode; overwritten == committed - read in overwrite
 * mode; no other cause); interrupt records nested inside reservations;
 * no invariant failure.  A last phase checks that a reader asleep in
 * grb_reader_wait() is woken by the delivery a writer makes (the wake-up
 * deferred through grb.ko's irq_work).  Last, every allocation the test
 * made through grb.ko was freed.
 *
 * It prints a line per phase, "grb_selftest: <phase>: ...: PASS" or
 * "...: FAIL: <why>", then "grb_selftest: result: PASS" (or FAIL); the
 * module loads either way.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <grb/grb.h>
#include <grb/native.h>
#include <grb/kernel.h>

static unsigned int records = 200000;
module_param(records, uint, 0444);
MODULE_PARM_DESC(records, "records each writer kthread writes per mode");
static unsigned int hrtimer_us = 250;
module_param(hrtimer_us, uint, 0444);
MODULE_PARM_DESC(hrtimer_us, "period of each CPU's hrtimer writer (us)");
static unsigned int reader_sleep_us = 2000;
module_param(reader_sleep_us, uint, 0444);
MODULE_PARM_DESC(reader_sleep_us, "the reader's pause between passes while writers run (us)");

#define NEST_EVERY 64u
#define PAYLOAD_MAGIC 0x6b677262u /* "brgk" */

enum kind { KIND_KTHREAD, KIND_IRQ_WORK, KIND_HRTIMER, NR_KINDS };
static const char *const kind_name[NR_KINDS] = { "kthread", "irq_work", "hrtimer" };

struct payload {
	uint32_t source; /* cpu * NR_KINDS + kind */
	uint32_t magic;
	uint64_t seq; /* the writer's attempt number: failed ones leave gaps */
};

static const struct grb_config cfg_discard =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_atomic =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_overwrite =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);

/* A writer's own counters: only its context on its CPU changes them. */
struct source {
	uint64_t attempted, committed, full, other;
	int other_err;
	uint64_t nested; /* interrupt records written inside a kthread's reservation */
};

/* What the reader saw of a writer. */
struct seen {
	uint64_t read, next;
};

struct run {
	const char *name;
	const struct grb_config *cfg;
	struct grb_channel *ch;
	uint32_t nr_streams;
	unsigned int nr_sources;
	struct source *src;
	struct seen *seen;
	struct grb_iter **it;
	uint64_t *last_ts;
	bool *ended;
	/* the reader's findings */
	uint64_t bad, order, ts_back, eproto, waits, woken;
	int reader_err;
	int finalized; /* READ_ONCE/WRITE_ONCE: set once the channel is finalized */
	atomic_t writers_left;
	struct completion writers_done, reader_done;
	struct task_struct **writer; /* by CPU */
	struct task_struct *reader;
};

/* The run whose channel the interrupt writers write to (NULL: none). */
static struct run *cur;
/* Whether the CPU's writer kthread holds a reservation now: read by the
 * interrupts that nest in it, on the same CPU. */
static DEFINE_PER_CPU(int, in_reservation);
static DEFINE_PER_CPU(struct irq_work, nest_work);
static DEFINE_PER_CPU(struct hrtimer, tick);

static __always_inline void write_cfg(const struct grb_config *cfg, struct run *r, unsigned int cpu,
				      enum kind kind, bool nest)
{
	unsigned int id = cpu * NR_KINDS + kind;
	struct source *s = &r->src[id];
	struct payload p = { .source = id, .magic = PAYLOAD_MAGIC, .seq = s->attempted };
	struct grb_ctx ctx = { .event_id = 0, .payload_len = sizeof(p), .client_word = 0 };
	int ret;

	s->attempted++;
	ret = grb_reserve(cfg, r->ch, &ctx);
	if (ret) {
		if (ret == -ENOBUFS) {
			s->full++;
		} else {
			s->other++;
			s->other_err = ret;
		}
		return;
	}
	/* The flag the interrupted kthread set, on this CPU: this_cpu
	 * operations are single instructions, and the compiler barriers
	 * keep the kthread's between its reserve and its commit. */
	if (kind != KIND_KTHREAD && this_cpu_read(in_reservation))
		s->nested++;
	if (kind == KIND_KTHREAD) {
		this_cpu_write(in_reservation, 1);
		barrier();
	}
	if (nest) {
		irq_work_queue(this_cpu_ptr(&nest_work));
		/* Leave the self-IPI time to land inside the reservation. */
		udelay(1);
	}
	grb_write(&ctx, &p, sizeof(p));
	if (kind == KIND_KTHREAD) {
		barrier();
		this_cpu_write(in_reservation, 0);
	}
	grb_commit(cfg, &ctx);
	s->committed++;
}

/* Each configuration gets its own inlined fast path. */
static void write_one(struct run *r, unsigned int cpu, enum kind kind, bool nest)
{
	if (r->cfg == &cfg_discard)
		write_cfg(&cfg_discard, r, cpu, kind, nest);
	else if (r->cfg == &cfg_overwrite)
		write_cfg(&cfg_overwrite, r, cpu, kind, nest);
	else
		write_cfg(&cfg_atomic, r, cpu, kind, nest);
}

static void nest_fn(struct irq_work *w)
{
	struct run *r = READ_ONCE(cur);

	(void)w;
	if (r)
		write_one(r, smp_processor_id(), KIND_IRQ_WORK, false);
}

static enum hrtimer_restart tick_fn(struct hrtimer *t)
{
	struct run *r = READ_ONCE(cur);

	if (r)
		write_one(r, smp_processor_id(), KIND_HRTIMER, false);
	hrtimer_forward_now(t, ns_to_ktime((u64)hrtimer_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

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

static int writer_fn(void *arg)
{
	struct run *r = arg;
	unsigned int cpu = smp_processor_id(); /* bound: kthread_create_on_cpu() */
	struct hrtimer *t = this_cpu_ptr(&tick);
	unsigned int i;

	hrtimer_init(t, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	t->function = tick_fn;
	hrtimer_start(t, ns_to_ktime((u64)hrtimer_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
	for (i = 0; i < records; i++) {
		preempt_disable();
		write_one(r, cpu, KIND_KTHREAD, i % NEST_EVERY == NEST_EVERY - 1);
		preempt_enable();
		if (i % 256 == 0)
			cond_resched();
	}
	hrtimer_cancel(t);
	irq_work_sync(this_cpu_ptr(&nest_work));
	if (atomic_dec_and_test(&r->writers_left))
		complete(&r->writers_done);
	wait_for_stop();
	return 0;
}

static void check_record(struct run *r, const struct grb_record *rec)
{
	struct payload p;
	struct seen *sn;

	if (rec->payload_len < sizeof(p)) {
		r->bad++;
		return;
	}
	memcpy(&p, rec->payload, sizeof(p));
	if (p.magic != PAYLOAD_MAGIC || p.source >= r->nr_sources ||
	    p.source / NR_KINDS != rec->cpu) {
		r->bad++;
		return;
	}
	sn = &r->seen[p.source];
	if (sn->read && p.seq < sn->next) {
		r->order++; /* read twice, or out of its writer's order */
		return;
	}
	sn->next = p.seq + 1;
	sn->read++;
	if (rec->ts < r->last_ts[rec->stream_index])
		r->ts_back++;
	r->last_ts[rec->stream_index] = rec->ts;
}

static int reader_fn(void *arg)
{
	struct run *r = arg;
	struct grb_record rec;

	for (;;) {
		bool progress = false, all_ended = true;
		uint32_t i;
		int ret;

		for (i = 0; i < r->nr_streams; i++) {
			if (r->ended[i])
				continue;
			while ((ret = grb_iter_next(r->it[i], &rec)) == 0 || ret == -EPROTO) {
				progress = true;
				if (ret)
					r->eproto++;
				else
					check_record(r, &rec);
			}
			if (ret == -ENODATA)
				r->ended[i] = true;
			else if (ret != -EAGAIN && !r->reader_err)
				r->reader_err = ret;
			all_ended &= r->ended[i];
		}
		if (all_ended || r->reader_err)
			break;
		if (!progress) {
			/* Nothing now: sleep until a delivery wakes us. */
			r->waits++;
			if (grb_channel_wait(r->ch, NULL, 0, 20 * NSEC_PER_MSEC) == 0)
				r->woken++;
		} else if (!READ_ONCE(r->finalized)) {
			usleep_range(reader_sleep_us, reader_sleep_us + reader_sleep_us / 4 + 1);
		}
	}
	complete(&r->reader_done);
	wait_for_stop();
	return 0;
}

static int failures;

#define FAIL(r, ...)                                            \
	do {                                                    \
		pr_info("grb_selftest: %s: FAIL: ", (r)->name); \
		pr_cont(__VA_ARGS__);                           \
		pr_cont("\n");                                  \
		failures++;                                     \
		bad++;                                          \
	} while (0)

/* The accounting, once the reader read everything. */
static int check_run(struct run *r, uint64_t ms)
{
	struct grb_channel_stats cs;
	uint64_t written = 0, committed = 0, full = 0, other = 0, read = 0, committed_ch = 0;
	uint64_t by_kind[NR_KINDS] = { 0 }, nested[NR_KINDS] = { 0 };
	unsigned int i;
	uint32_t s;
	int bad = 0;
	char lost[160];
	size_t len = 0;

	for (i = 0; i < r->nr_sources; i++) {
		struct source *src = &r->src[i];

		written += src->attempted;
		committed += src->committed;
		full += src->full;
		other += src->other;
		read += r->seen[i].read;
		by_kind[i % NR_KINDS] += src->attempted;
		nested[i % NR_KINDS] += src->nested;
		if (src->other)
			FAIL(r, "writer %s/%u: %llu reservations failed with %d",
			     kind_name[i % NR_KINDS], i / NR_KINDS, src->other, src->other_err);
		if (r->seen[i].read > src->committed)
			FAIL(r, "writer %s/%u: %llu read, %llu committed", kind_name[i % NR_KINDS],
			     i / NR_KINDS, r->seen[i].read, src->committed);
		if (r->cfg->mode == GRB_MODE_DISCARD && r->seen[i].read != src->committed)
			FAIL(r, "writer %s/%u: %llu read, %llu committed (discard mode)",
			     kind_name[i % NR_KINDS], i / NR_KINDS, r->seen[i].read,
			     src->committed);
	}
	grb_channel_read_stats(r->ch, &cs);
	for (s = 0; s < r->nr_streams; s++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(r->ch, s, &ss);
		committed_ch += ss.committed;
	}
	for (i = 0; i < GRB_LOST_NR; i++)
		if (cs.lost[i])
			len += scnprintf(lost + len, sizeof(lost) - len, "%s%s %llu",
					 len ? ", " : "", grb_lost_cause_name(i), cs.lost[i]);
	if (!len)
		scnprintf(lost, sizeof(lost), "none");

	if (r->bad || r->order || r->ts_back || r->eproto || r->reader_err)
		FAIL(r,
		     "reader: %llu bad records, %llu out of order, %llu timestamps back, "
		     "%llu corrupt packets, error %d",
		     r->bad, r->order, r->ts_back, r->eproto, r->reader_err);
	if (written != read + cs.lost_total + cs.corrupt_records)
		FAIL(r, "written %llu != read %llu + lost %llu + corrupt %llu", written, read,
		     cs.lost_total, cs.corrupt_records);
	if (committed_ch != committed)
		FAIL(r, "the streams count %llu committed, the writers %llu", committed_ch,
		     committed);
	if (r->cfg->mode == GRB_MODE_DISCARD) {
		if (cs.lost[GRB_LOST_FULL] != full || cs.lost_total != full)
			FAIL(r, "lost %s; the writers saw %llu full", lost, full);
	} else {
		if (full || cs.lost[GRB_LOST_OVERWRITTEN] != committed - read ||
		    cs.lost_total != cs.lost[GRB_LOST_OVERWRITTEN])
			FAIL(r, "lost %s; committed %llu - read %llu, %llu full", lost, committed,
			     read, full);
	}
	if (!cs.lost_total)
		FAIL(r, "no record lost: the load did not overflow the rings");
	if (!nested[KIND_IRQ_WORK])
		FAIL(r, "no irq_work record nested inside a reservation");
	if (!by_kind[KIND_HRTIMER])
		FAIL(r, "no hrtimer record");
	if (cs.invariant_failures || cs.remote_commits)
		FAIL(r, "%llu invariant failures, %llu remote commits", cs.invariant_failures,
		     cs.remote_commits);
	pr_info("grb_selftest: %s: %u CPUs, %llu ms: written %llu (kthread %llu, irq_work %llu "
		"with %llu nested, hrtimer %llu with %llu nested), read %llu, lost %llu (%s), "
		"fenced flushes %llu, reader waits %llu (%llu woken): %s\n",
		r->name, num_online_cpus(), ms, written, by_kind[KIND_KTHREAD],
		by_kind[KIND_IRQ_WORK], nested[KIND_IRQ_WORK], by_kind[KIND_HRTIMER],
		nested[KIND_HRTIMER], read, cs.lost_total, lost, cs.fenced_flushes, r->waits,
		r->woken, bad ? "FAIL" : "PASS");
	return bad;
}

static void free_run(struct run *r)
{
	uint32_t i;

	if (r->it)
		for (i = 0; i < r->nr_streams; i++)
			if (r->it[i])
				grb_iter_destroy(r->it[i]);
	if (r->ch)
		grb_channel_destroy(r->ch);
	kfree(r->writer);
	kfree(r->it);
	kfree(r->last_ts);
	kfree(r->ended);
	kfree(r->src);
	kfree(r->seen);
}

static void run_mode(const char *name, const struct grb_config *cfg)
{
	struct grb_channel_attr attr;
	struct run *r;
	const char *why;
	unsigned int cpu, nr_writers = 0;
	uint64_t t0;
	uint32_t i;
	int bad = 0; /* counted by FAIL() */

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		pr_info("grb_selftest: %s: FAIL: out of memory\n", name);
		failures++;
		return;
	}
	r->name = name;
	r->cfg = cfg;
	init_completion(&r->writers_done);
	init_completion(&r->reader_done);
	grb_channel_attr_init(&attr);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 4;
	attr.switch_timer_us = 2000;
	attr.name = name;
	r->ch = grb_channel_create(cfg, &attr);
	if (IS_ERR(r->ch)) {
		FAIL(r, "grb_channel_create: %ld (%s)", PTR_ERR(r->ch), grb_last_error());
		r->ch = NULL;
		goto out;
	}
	if (grb_channel_sync(r->ch, &why) != cfg->sync) {
		FAIL(r, "the channel fell back to atomics: %s", why ? why : "?");
		goto out;
	}
	r->nr_streams = grb_channel_nr_streams(r->ch);
	r->nr_sources = nr_cpu_ids * NR_KINDS;
	r->src = kcalloc(r->nr_sources, sizeof(*r->src), GFP_KERNEL);
	r->seen = kcalloc(r->nr_sources, sizeof(*r->seen), GFP_KERNEL);
	r->it = kcalloc(r->nr_streams, sizeof(*r->it), GFP_KERNEL);
	r->last_ts = kcalloc(r->nr_streams, sizeof(*r->last_ts), GFP_KERNEL);
	r->ended = kcalloc(r->nr_streams, sizeof(*r->ended), GFP_KERNEL);
	r->writer = kcalloc(nr_cpu_ids, sizeof(*r->writer), GFP_KERNEL);
	if (!r->src || !r->seen || !r->it || !r->last_ts || !r->ended || !r->writer) {
		FAIL(r, "out of memory");
		goto out;
	}
	for (i = 0; i < r->nr_streams; i++) {
		r->it[i] = grb_iter_create(r->ch, i, 0);
		if (IS_ERR(r->it[i])) {
			FAIL(r, "grb_iter_create(%u): %ld (%s)", i, PTR_ERR(r->it[i]),
			     grb_last_error());
			r->it[i] = NULL;
			goto out;
		}
	}
	WRITE_ONCE(cur, r);
	t0 = ktime_get_ns();
	r->reader = kthread_run(reader_fn, r, "grb_reader");
	if (IS_ERR(r->reader)) {
		FAIL(r, "reader kthread: %ld", PTR_ERR(r->reader));
		r->reader = NULL;
		goto stop;
	}
	/* Every writer created first, then all started: a failure leaves
	 * none running (kthread_stop() of a thread never woken does not run
	 * it). */
	for_each_online_cpu(cpu) {
		struct task_struct *t = kthread_create_on_cpu(writer_fn, r, cpu, "grb_writer/%u");

		if (IS_ERR(t)) {
			FAIL(r, "writer kthread on CPU %u: %ld", cpu, PTR_ERR(t));
			goto stop;
		}
		r->writer[cpu] = t;
		nr_writers++;
	}
	atomic_set(&r->writers_left, (int)nr_writers);
	for_each_online_cpu(cpu)
		wake_up_process(r->writer[cpu]);
	wait_for_completion(&r->writers_done);
	/* Every writer is done (the contract of finalize): close the open
	 * packets and let the reader read to the end. */
	grb_channel_finalize(r->ch);
	WRITE_ONCE(r->finalized, 1);
	wait_for_completion(&r->reader_done);
	check_run(r, (ktime_get_ns() - t0) / NSEC_PER_MSEC);
stop:
	/* After a failure no writer runs: finalize, so that the reader
	 * reads to the end and waits to be stopped. */
	if (!READ_ONCE(r->finalized))
		grb_channel_finalize(r->ch);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (r->writer[cpu])
			kthread_stop(r->writer[cpu]);
	if (r->reader)
		kthread_stop(r->reader);
	WRITE_ONCE(cur, NULL);
out:
	free_run(r);
	kfree(r);
}

/* The wake-up phase: a writer on CPU 0 delivers a packet while a reader
 * of CPU 0's stream sleeps in grb_reader_wait(). */
#define WAKE_RECORDS 200 /* more than a packet of 4 KiB holds, less than two */
#define WAKE_TIMEOUT_NS (10 * NSEC_PER_SEC)

struct wake_test {
	struct grb_channel *ch;
	uint64_t reserved_ns[WAKE_RECORDS]; /* when each reservation returned */
	unsigned int written;
	struct completion done;
};

static int wake_writer_fn(void *arg)
{
	struct wake_test *w = arg;
	unsigned int i;

	msleep(100); /* the reader is asleep by then */
	for (i = 0; i < WAKE_RECORDS; i++) {
		struct grb_ctx ctx = { .event_id = 0, .payload_len = 16, .client_word = 0 };
		struct payload p = { .source = 0, .magic = PAYLOAD_MAGIC, .seq = i };

		preempt_disable();
		if (grb_reserve(&cfg_discard, w->ch, &ctx) == 0) {
			/* The reservation that opens the second packet closes
			 * the first, whose records are all committed: it
			 * delivers it. */
			w->reserved_ns[w->written] = ktime_get_ns();
			grb_write(&ctx, &p, sizeof(p));
			grb_commit(&cfg_discard, &ctx);
			w->written++;
		}
		preempt_enable();
	}
	complete(&w->done);
	wait_for_stop();
	return 0;
}

static void wake_phase(void)
{
	struct run rr = { .name = "wake-up" };
	struct run *r = &rr;
	struct grb_channel_attr attr;
	struct wake_test *w;
	struct grb_reader *rd = NULL;
	struct task_struct *t = NULL;
	struct grb_packet pkt;
	struct grb_packet_cursor pc;
	struct grb_record rec;
	uint64_t wait_ns, woke_ns, n = 0, order = 0;
	int bad = 0, ret, got;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w) {
		FAIL(r, "out of memory");
		return;
	}
	init_completion(&w->done);
	grb_channel_attr_init(&attr);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 4;
	w->ch = grb_channel_create(&cfg_discard, &attr);
	if (IS_ERR(w->ch)) {
		FAIL(r, "grb_channel_create: %ld (%s)", PTR_ERR(w->ch), grb_last_error());
		kfree(w);
		return;
	}
	rd = grb_reader_create(w->ch, 0, 0); /* stream 0: CPU 0's */
	if (IS_ERR(rd)) {
		FAIL(r, "grb_reader_create: %ld (%s)", PTR_ERR(rd), grb_last_error());
		rd = NULL;
		goto out;
	}
	t = kthread_create_on_cpu(wake_writer_fn, w, 0, "grb_wake/%u");
	if (IS_ERR(t)) {
		FAIL(r, "writer kthread: %ld", PTR_ERR(t));
		t = NULL;
		goto out;
	}
	wake_up_process(t);
	wait_ns = ktime_get_ns();
	ret = grb_reader_wait(rd, WAKE_TIMEOUT_NS);
	woke_ns = ktime_get_ns();
	wait_for_completion(&w->done);
	got = grb_reader_get_next(rd, &pkt);
	if (got == 0) {
		grb_packet_cursor_init(&pkt, &pc);
		while (grb_packet_record_next(rd, &pkt, &pc, &rec) == 0) {
			struct payload p;

			memcpy(&p, rec.payload, sizeof(p));
			if (p.seq != n)
				order++;
			n++;
		}
		if (n != pkt.info.records)
			order++;
		grb_reader_put(rd, &pkt);
	}
	/* A wait that lasted its whole timeout was not woken, whatever it
	 * returns: it finds the delivery when it looks at the end. */
	if (ret || woke_ns - wait_ns >= WAKE_TIMEOUT_NS)
		FAIL(r, "grb_reader_wait: %d after %llu ms: no wake-up within its timeout", ret,
		     (woke_ns - wait_ns) / NSEC_PER_MSEC);
	if (got)
		FAIL(r, "woken, but no delivered packet: %d", got);
	else if (order || !n || n >= w->written)
		FAIL(r, "the packet holds %llu records (%llu out of place) of %u written", n, order,
		     w->written);
	pr_info("grb_selftest: wake-up: %u records written, the first %llu delivered in a packet, the reader woken %lld us after the delivering reservation: %s\n",
		w->written, n,
		n < w->written ? (long long)(woke_ns - w->reserved_ns[n]) / 1000 : -1LL,
		bad ? "FAIL" : "PASS");
out:
	if (t)
		kthread_stop(t);
	if (rd)
		grb_reader_destroy(rd);
	grb_channel_destroy(w->ch);
	kfree(w);
}

static int __init selftest_init(void)
{
	struct grb_kernel_mem_stats m0, m1;
	struct run rr = { .name = "memory" };
	struct run *r = &rr;
	unsigned int cpu;
	uint64_t t0 = ktime_get_ns();
	int bad = 0;

	for_each_possible_cpu(cpu)
		*per_cpu_ptr(&nest_work, cpu) = IRQ_WORK_INIT_HARD(nest_fn);
	grb_kernel_mem(&m0);
	pr_info("grb_selftest: start: grb %s, %u CPUs online, %u records per writer kthread, hrtimer every %u us\n",
		grb_version(), num_online_cpus(), records, hrtimer_us);
	run_mode("discard", &cfg_discard);
	run_mode("overwrite", &cfg_overwrite);
	run_mode("atomic", &cfg_atomic);
	wake_phase();
	grb_kernel_mem(&m1);
	if (m1.maps - m0.maps != m1.unmaps - m0.unmaps ||
	    m1.allocs - m0.allocs != m1.frees - m0.frees || m1.map_bytes != m0.map_bytes)
		FAIL(r,
		     "grb.ko's memory: %llu maps %llu unmaps, %llu allocations %llu frees, %lld bytes mapped left",
		     m1.maps - m0.maps, m1.unmaps - m0.unmaps, m1.allocs - m0.allocs,
		     m1.frees - m0.frees, (long long)(m1.map_bytes - m0.map_bytes));
	pr_info("grb_selftest: memory: %llu maps %llu unmaps, %llu allocations %llu frees: %s\n",
		m1.maps - m0.maps, m1.unmaps - m0.unmaps, m1.allocs - m0.allocs,
		m1.frees - m0.frees, bad ? "FAIL" : "PASS");
	pr_info("grb_selftest: result: %s in %llu ms\n", failures ? "FAIL" : "PASS",
		(ktime_get_ns() - t0) / NSEC_PER_MSEC);
	/* Loaded either way: the lines say the result (busybox's insmod
	 * would load a module whose init failed a second time). */
	return 0;
}

static void __exit selftest_exit(void)
{
}

module_init(selftest_init);
module_exit(selftest_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("grb self-test: per-CPU writers, interrupts nesting, a reader, exact accounting");
