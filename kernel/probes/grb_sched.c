// SPDX-License-Identifier: MIT
/*
 * grb_sched.c - grb_sched.ko: the scheduler's context switches, traced into
 * grb.ko's per-CPU streams by a probe on the sched_switch tracepoint and
 * written by the CTF client (<grb/ctf.h>: the event writer user space
 * uses, and clients/ctf/ctf_record.c built in), published on /dev/grb as
 * the channel "sched", which `grb record --kernel` drains into a CTF
 * trace (doc/kernel.md).
 *
 * The tracepoint's symbol is not exported to modules: the probe finds it
 * by name (for_each_kernel_tracepoint()) and registers with
 * tracepoint_probe_register(), with the prototype of the running kernel
 * (prev_state came in 5.18).  The scheduler calls it with preemption and
 * interrupts disabled: the writer is the CPU (doc/kernel.md, "A client
 * module").  The channel records only while a consumer has started it;
 * otherwise the probe costs a load and a branch.
 *
 * The event, as ftrace's sched_switch: prev_comm, prev_tid, prev_prio (the
 * kernel's prio, 120 for nice 0), prev_state (ftrace's value: 0 running,
 * a TASK_* bit of the state it sleeps in, TASK_REPORT_MAX when preempted),
 * next_comm, next_tid, next_prio.
 */
#include <linux/err.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/version.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/kernel.h>
#include "ctf_internal.h"

static unsigned int subbuf_size = 65536;
module_param(subbuf_size, uint, 0444);
MODULE_PARM_DESC(subbuf_size, "bytes of a sub-buffer (a power of two)");
static unsigned int subbuf_count = 8;
module_param(subbuf_count, uint, 0444);
MODULE_PARM_DESC(subbuf_count, "sub-buffers of each CPU's stream (a power of two)");
static unsigned int switch_timer_ms = 100;
module_param(switch_timer_ms, uint, 0444);
MODULE_PARM_DESC(switch_timer_ms, "period of the flush that delivers partly filled packets "
				  "(ms, 0: none)");

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 18, 0)
#error "grb_sched.ko needs Linux 5.18 or later: the probe has sched_switch's prev_state"
#endif

#define SCHED_CHANNEL "sched"

/* Per-CPU streams, the per-CPU sync, discard mode, the writer wake-up:
 * what `grb record --kernel` attaches (it has the same configuration). */
static const struct grb_config cfg = GRB_CTF_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ,
							   GRB_MODE_DISCARD, GRB_WAKEUP_WRITER);

#define SCHED_SWITCH_FIELDS(F)              \
	F(string, prev_comm, TASK_COMM_LEN) \
	F(s32, prev_tid)                    \
	F(s32, prev_prio)                   \
	F(s64, prev_state)                  \
	F(string, next_comm, TASK_COMM_LEN) \
	F(s32, next_tid)                    \
	F(s32, next_prio)
GRB_CTF_EVENT(sched_switch, "sched_switch", 1, SCHED_SWITCH_FIELDS)

static const struct grb_ctf_event_desc *const events[] = { &sched_switch_event };

static struct grb_channel *ch;
static struct grb_ctf_chan_data chan_data; /* the packets' UUID: zeros */
static struct tracepoint *tp_switch;
static unsigned char desc[512];

/* ftrace's prev_state (__trace_sched_switch_state). */
static long switch_state(bool preempt, unsigned int prev_state, struct task_struct *p)
{
	unsigned int state;

	if (preempt)
		return TASK_REPORT_MAX;
	state = __task_state_index(prev_state, p->exit_state);
	return state ? 1L << (state - 1) : 0;
}

/* A task's name, whole and terminated even if it changes meanwhile. */
static void comm_copy(char *dst, const struct task_struct *t)
{
	memcpy(dst, t->comm, TASK_COMM_LEN);
	dst[TASK_COMM_LEN - 1] = 0;
}

static void probe_switch(void *data, bool preempt, struct task_struct *prev,
			 struct task_struct *next, unsigned int prev_state)
{
	char pc[TASK_COMM_LEN], nc[TASK_COMM_LEN];

	(void)data;
	if (!grb_enabled(ch))
		return;
	comm_copy(pc, prev);
	comm_copy(nc, next);
	/* Interrupts are off: the writer is this CPU. */
	sched_switch_write(&cfg, ch, pc, prev->pid, prev->prio,
			   switch_state(preempt, prev_state, prev), nc, next->pid, next->prio);
}

static void find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_switch"))
		*(struct tracepoint **)priv = tp;
}

static int __init sched_init(void)
{
	struct grb_channel_attr attr;
	uint32_t len;
	int ret;

	for_each_kernel_tracepoint(find_tp, &tp_switch);
	if (!tp_switch) {
		pr_err("grb_sched: no sched_switch tracepoint\n");
		return -ENOENT;
	}
	ret = _grb_ctf_events_encode(events, ARRAY_SIZE(events), desc, sizeof(desc), &len);
	if (ret)
		return ret;
	grb_channel_attr_init(&attr);
	attr.subbuf_size = subbuf_size;
	attr.subbuf_count = subbuf_count;
	attr.switch_timer_us = (uint64_t)switch_timer_ms * 1000;
	attr.client_data = &chan_data;
	ch = grb_channel_create(&cfg, &attr);
	if (IS_ERR(ch)) {
		pr_err("grb_sched: channel: %s (%ld)\n", grb_last_error(), PTR_ERR(ch));
		return PTR_ERR(ch);
	}
	ret = grb_kernel_publish(ch, SCHED_CHANNEL, desc, len, ARRAY_SIZE(events));
	if (ret) {
		pr_err("grb_sched: publish: %s (%d)\n", grb_last_error(), ret);
		grb_channel_destroy(ch);
		return ret;
	}
	ret = tracepoint_probe_register(tp_switch, probe_switch, NULL);
	if (ret) {
		pr_err("grb_sched: cannot register on sched_switch (%d)\n", ret);
		grb_kernel_unpublish(ch);
		grb_channel_destroy(ch);
		return ret;
	}
	pr_info("grb_sched: published %s: %u streams of %u x %u bytes, sched_switch probed\n",
		SCHED_CHANNEL, grb_channel_nr_streams(ch), subbuf_count, subbuf_size);
	return 0;
}

static void __exit sched_exit(void)
{
	tracepoint_probe_unregister(tp_switch, probe_switch, NULL);
	/* No probe runs any more when it returns. */
	tracepoint_synchronize_unregister();
	grb_channel_finalize(ch);
	grb_kernel_unpublish(ch);
	grb_channel_destroy(ch);
	pr_info("grb_sched: unloaded\n");
}

module_init(sched_init);
module_exit(sched_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("grb: sched_switch into per-CPU CTF streams, read through /dev/grb");
