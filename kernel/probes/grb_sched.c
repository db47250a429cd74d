// SPDX-License-Identifier: MIT
/*
 * grb_sched.c - grb_sched.ko: the scheduler's context switches, traced into
 * grb.ko's per-CPU streams by a probe on the sched_switch tracepoint, in
 * two channels published on /dev/grb: "sched", written by the CTF client
 * (<grb/ctf.h>: the event writer user space uses, and
 * clients/ctf/ctf_record.c built in), which `grb record --kernel` drains
 * into a CTF trace, and "sched_ftrace", written by the ftrace client
 * (<grb/ftrace.h>, clients/ftrace/ft_record.c) in ftrace's pages, which
 * `grb record --kernel --format ftrace` writes into a trace.dat
 * (doc/kernel.md).
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
 * next_comm, next_tid, next_prio.  The ftrace channel's has ftrace's very
 * layout, names (prev_pid, next_pid) and print fmt, so that trace-cmd
 * prints it as it prints the kernel's own; its common_pid is the task
 * switched out, the one running when the probe writes.
 */
#include <linux/err.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/version.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/ftrace.h>
#include <grb/kernel.h>
#include "ctf_internal.h"
#include "ft_record.h"

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

static unsigned int ftrace_pages = 256;
module_param(ftrace_pages, uint, 0444);
MODULE_PARM_DESC(ftrace_pages, "pages of each CPU's stream of the ftrace channel (a power of two)");

#define SCHED_CHANNEL "sched"
#define FTRACE_CHANNEL "sched_ftrace"

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

/* The ftrace channel: pages of ftrace's ring buffer, per CPU, discard
 * mode, the writer wake-up. */
static const struct grb_config ft_cfg = GRB_FTRACE_CONFIG_WAKEUP(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, GRB_WAKEUP_WRITER);

#define FT_SWITCH_FIELDS(F)                \
	F(chars, prev_comm, TASK_COMM_LEN) \
	F(s32, prev_pid)                   \
	F(s32, prev_prio)                  \
	F(s64, prev_state)                 \
	F(chars, next_comm, TASK_COMM_LEN) \
	F(s32, next_pid)                   \
	F(s32, next_prio)
/* The kernel's print fmt (TASK_REPORT_MAX is 256: a task preempted in
 * the kernel prints "R+"). */
#define FT_SWITCH_FMT                                                                             \
	"\"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d "   \
	"next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & 255) " \
	"? __print_flags(REC->prev_state & 255, \"|\", { 0x01, \"S\" }, { 0x02, \"D\" }, "        \
	"{ 0x04, \"T\" }, { 0x08, \"t\" }, { 0x10, \"X\" }, { 0x20, \"Z\" }, { 0x40, \"P\" }, "   \
	"{ 0x80, \"I\" }) : \"R\", REC->prev_state & 256 ? \"+\" : \"\", REC->next_comm, "        \
	"REC->next_pid, REC->next_prio"
GRB_FTRACE_EVENT_FMT(ft_switch, "sched", "sched_switch", 300, FT_SWITCH_FIELDS, FT_SWITCH_FMT)

static const struct grb_ftrace_event *const ft_events[] = { &ft_switch_event };

static struct grb_channel *ch, *ft_ch;
static struct grb_ctf_chan_data chan_data; /* the packets' UUID: zeros */
static struct tracepoint *tp_switch;
static unsigned char desc[512], ft_desc[1024];

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

	long state;
	int ctf = grb_enabled(ch), ft = grb_enabled(ft_ch);

	(void)data;
	if (!ctf && !ft)
		return;
	comm_copy(pc, prev);
	comm_copy(nc, next);
	state = switch_state(preempt, prev_state, prev);
	/* Interrupts are off: the writer is this CPU. */
	if (ctf)
		sched_switch_write(&cfg, ch, pc, prev->pid, prev->prio, state, nc, next->pid,
				   next->prio);
	if (ft)
		ft_switch_write(&ft_cfg, ft_ch, pc, prev->pid, prev->prio, state, nc, next->pid,
				next->prio);
}

static void find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_switch"))
		*(struct tracepoint **)priv = tp;
}

/* Create a channel and publish it (disabled until a consumer starts it). */
static struct grb_channel *channel_open(const struct grb_config *c, const char *name,
					uint32_t sb_size, uint32_t sb_count, void *client_data,
					const void *d, uint32_t len, uint32_t nr_events)
{
	struct grb_channel_attr attr;
	struct grb_channel *x;
	int ret;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = sb_size;
	attr.subbuf_count = sb_count;
	attr.switch_timer_us = (uint64_t)switch_timer_ms * 1000;
	attr.client_data = client_data;
	x = grb_channel_create(c, &attr);
	if (IS_ERR(x)) {
		pr_err("grb_sched: channel %s: %s (%ld)\n", name, grb_last_error(), PTR_ERR(x));
		return x;
	}
	ret = grb_kernel_publish(x, name, d, len, nr_events);
	if (ret) {
		pr_err("grb_sched: publish %s: %s (%d)\n", name, grb_last_error(), ret);
		grb_channel_destroy(x);
		return ERR_PTR(ret);
	}
	return x;
}

static void channel_close(struct grb_channel *x)
{
	grb_channel_finalize(x);
	grb_kernel_unpublish(x);
	grb_channel_destroy(x);
}

static int __init sched_init(void)
{
	uint32_t len, ft_len;
	int ret;

	for_each_kernel_tracepoint(find_tp, &tp_switch);
	if (!tp_switch) {
		pr_err("grb_sched: no sched_switch tracepoint\n");
		return -ENOENT;
	}
	ret = _grb_ctf_events_encode(events, ARRAY_SIZE(events), desc, sizeof(desc), &len);
	if (!ret)
		ret = _grb_ftrace_events_encode(ft_events, ARRAY_SIZE(ft_events), ft_desc,
						sizeof(ft_desc), &ft_len);
	if (ret)
		return ret;
	ch = channel_open(&cfg, SCHED_CHANNEL, subbuf_size, subbuf_count, &chan_data, desc, len,
			  ARRAY_SIZE(events));
	if (IS_ERR(ch))
		return PTR_ERR(ch);
	ft_ch = channel_open(&ft_cfg, FTRACE_CHANNEL, GRB_FTRACE_PAGE_SIZE, ftrace_pages, NULL,
			     ft_desc, ft_len, ARRAY_SIZE(ft_events));
	if (IS_ERR(ft_ch)) {
		channel_close(ch);
		return PTR_ERR(ft_ch);
	}
	ret = tracepoint_probe_register(tp_switch, probe_switch, NULL);
	if (ret) {
		pr_err("grb_sched: cannot register on sched_switch (%d)\n", ret);
		channel_close(ft_ch);
		channel_close(ch);
		return ret;
	}
	pr_info("grb_sched: published %s (%u streams of %u x %u bytes) and %s (%u pages a "
		"stream), sched_switch probed\n",
		SCHED_CHANNEL, grb_channel_nr_streams(ch), subbuf_count, subbuf_size,
		FTRACE_CHANNEL, ftrace_pages);
	return 0;
}

static void __exit sched_exit(void)
{
	tracepoint_probe_unregister(tp_switch, probe_switch, NULL);
	/* No probe runs any more when it returns. */
	tracepoint_synchronize_unregister();
	channel_close(ft_ch);
	channel_close(ch);
	pr_info("grb_sched: unloaded\n");
}

module_init(sched_init);
module_exit(sched_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("grb: sched_switch into per-CPU CTF streams, read through /dev/grb");
