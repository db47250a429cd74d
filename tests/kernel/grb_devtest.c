// SPDX-License-Identifier: MIT
/*
 * grb_devtest.c - grb_devtest.ko, a client of grb.ko that publishes a
 * channel on /dev/grb for the device's test in user space (kdev_check,
 * tests/kernel/run_vm.sh; doc/kernel.md).
 *
 * At load it creates the channel DEVTEST_CHANNEL (devtest.h: per-CPU
 * streams, the per-CPU sync, discard mode, the writer wake-up) and
 * publishes it, disabled; a pinned hrtimer per online CPU then tries to
 * write a record every period_us from hard interrupt context.  While a
 * consumer has started the channel, each CPU's records are numbered from
 * 0 by the writes that succeeded, so that the consumer can tell that it
 * read each one once, in order; a write the ring refuses is counted by
 * the core (lost, full).  At unload: the timers stop, the channel is
 * finalized, withdrawn and destroyed, whatever its consumer still holds.
 */
#include <linux/cpu.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/smp.h>

#include <grb/grb.h>
#include <grb/kernel.h>
#include "devtest.h"

static unsigned int period_us = 100;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "period of each CPU's hrtimer writer (us)");

static const struct grb_config cfg = DEVTEST_CONFIG;
static struct grb_channel *ch;

struct writer {
	struct hrtimer timer;
	uint64_t seq; /* records committed: only the CPU's timer changes it */
	uint64_t refused; /* reservations that failed but -EAGAIN */
};

static DEFINE_PER_CPU(struct writer, writers);

static enum hrtimer_restart tick_fn(struct hrtimer *t)
{
	struct writer *w = container_of(t, struct writer, timer);
	struct devtest_record rec = {
		.cpu = smp_processor_id(),
		.magic = DEVTEST_MAGIC,
		.seq = w->seq,
	};
	struct grb_ctx ctx = { .payload_len = sizeof(rec) };
	int ret;

	/* Hard interrupt context: the writer is the CPU. */
	ret = grb_reserve(&cfg, ch, &ctx);
	if (!ret) {
		grb_write(&ctx, &rec, sizeof(rec));
		grb_commit(&cfg, &ctx);
		w->seq++;
	} else if (ret != -EAGAIN) {
		w->refused++;
	}
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

/* On each online CPU: its timer, pinned there. */
static void start_fn(void *arg)
{
	struct writer *w = this_cpu_ptr(&writers);

	(void)arg;
	hrtimer_init(&w->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	w->timer.function = tick_fn;
	hrtimer_start(&w->timer, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

static cpumask_t started;

static int __init devtest_init(void)
{
	struct grb_channel_attr attr;
	unsigned int cpu;
	int ret;

	if (!period_us)
		return -EINVAL;
	grb_channel_attr_init(&attr);
	attr.subbuf_size = DEVTEST_SUBBUF_SIZE;
	attr.subbuf_count = DEVTEST_SUBBUF_COUNT;
	ch = grb_channel_create(&cfg, &attr);
	if (IS_ERR(ch)) {
		pr_err("grb_devtest: channel: %s (%ld)\n", grb_last_error(), PTR_ERR(ch));
		return PTR_ERR(ch);
	}
	ret = grb_kernel_publish(ch, DEVTEST_CHANNEL, DEVTEST_DESC, sizeof(DEVTEST_DESC), 0);
	if (ret) {
		pr_err("grb_devtest: publish: %s (%d)\n", grb_last_error(), ret);
		grb_channel_destroy(ch);
		return ret;
	}
	cpus_read_lock();
	cpumask_copy(&started, cpu_online_mask);
	for_each_cpu(cpu, &started) smp_call_function_single(cpu, start_fn, NULL, 1);
	cpus_read_unlock();
	pr_info("grb_devtest: published %s: %u streams, a record every %u us per CPU\n",
		DEVTEST_CHANNEL, grb_channel_nr_streams(ch), period_us);
	return 0;
}

static void __exit devtest_exit(void)
{
	uint64_t seq = 0, refused = 0;
	unsigned int cpu;

	for_each_cpu(cpu, &started)
	{
		struct writer *w = per_cpu_ptr(&writers, cpu);

		hrtimer_cancel(&w->timer);
		seq += w->seq;
		refused += w->refused;
	}
	grb_channel_finalize(ch);
	grb_kernel_unpublish(ch);
	grb_channel_destroy(ch);
	pr_info("grb_devtest: unload: %llu records committed, %llu refused\n", seq, refused);
}

module_init(devtest_init);
module_exit(devtest_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("grb device test: a published channel written by per-CPU hrtimers");
