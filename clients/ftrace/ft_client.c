// SPDX-License-Identifier: MIT
/*
 * ft_client.c - the ftrace client's out-of-line half: decoding a record
 * for the core's readers, discarding one, the writing threads' ids and
 * names (the table saved_cmdlines is made from), and the channel
 * attributes of one-page sub-buffers.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/ftrace.h>

#include "ft_internal.h"

__thread int32_t _grb_ftrace_tid_cache;
__thread struct _grb_ftrace_graph _grb_ftrace_graph_tls;

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * A record of the core is, in order: a TIME_STAMP or TIME_EXTEND (8
 * bytes, optional), a grb/lost_events data record (optional), the
 * event's data record; or, once discarded, the optional time word and one
 * padding record over the rest.
 */
int grb_ftrace_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			     size_t avail, uint64_t prev_ts, struct grb_record *out)
{
	const unsigned char *b = (const unsigned char *)rec;
	uint64_t ts = prev_ts;
	size_t off = 0;
	int lost_seen = 0;

	(void)cfg;
	(void)client_data;
	for (;;) {
		uint32_t w, type, delta, a, hdr, plen;
		const unsigned char *payload;
		uint16_t id;

		if (avail - off < 4)
			return -EPROTO;
		w = rd32(b + off);
		type = w & 31u;
		delta = w >> 5;
		if (type == GRB_FTRACE_TYPE_TIME_STAMP || type == GRB_FTRACE_TYPE_TIME_EXTEND) {
			uint64_t v;

			if (off != 0 || avail < 8)
				return -EPROTO;
			v = (uint64_t)rd32(b + 4) << GRB_FTRACE_DELTA_BITS | delta;
			ts = type == GRB_FTRACE_TYPE_TIME_STAMP ? v : ts + v;
			off = 8;
			continue;
		}
		if (type == GRB_FTRACE_TYPE_PADDING) {
			if (avail - off < 8)
				return -EPROTO;
			a = rd32(b + off + 4);
			if (a < 4 || (a & 3) || a > avail - off - 4)
				return -EPROTO;
			ts += delta;
			out->data = rec;
			out->payload = b + off + 4;
			out->payload_len = 0;
			out->len = (uint32_t)(off + 4 + a);
			out->ts = ts;
			out->event_id = 0;
			out->discarded = 1;
			return 0;
		}
		if (type == 0) {
			if (avail - off < 8)
				return -EPROTO;
			a = rd32(b + off + 4);
			if (a < 4 || (a & 3))
				return -EPROTO;
			hdr = 8;
			plen = a - 4;
		} else {
			hdr = 4;
			plen = type * 4;
		}
		if (plen > avail - off - hdr || plen < GRB_FTRACE_COMMON_SIZE)
			return -EPROTO;
		ts += delta;
		payload = b + off + hdr;
		memcpy(&id, payload, 2);
		off += hdr + plen;
		if (id == GRB_FTRACE_ID_LOST && !lost_seen) {
			/* The losses before the event: its data record follows. */
			lost_seen = 1;
			continue;
		}
		out->data = rec;
		out->payload = payload;
		out->payload_len = plen;
		out->len = (uint32_t)off;
		out->ts = ts;
		out->event_id = id;
		out->discarded = 0;
		return 0;
	}
}

/*
 * Everything after the time word becomes one padding record (ftrace's
 * discarded event) that keeps the first record's delta: readers add it,
 * so the records after it keep their times.
 */
void grb_ftrace_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	char *p = ctx->rec;
	uint32_t w, off = 0, type;

	(void)cfg;
	memcpy(&w, p, 4);
	type = w & 31u;
	if (type == GRB_FTRACE_TYPE_TIME_EXTEND || type == GRB_FTRACE_TYPE_TIME_STAMP) {
		off = 8;
		memcpy(&w, p + off, 4);
	}
	w = (w & ~31u) | GRB_FTRACE_TYPE_PADDING;
	memcpy(p + off, &w, 4);
	w = ctx->slot_len - off - 4;
	memcpy(p + off + 4, &w, 4);
}

void grb_ftrace_channel_attr_init(struct grb_channel_attr *attr)
{
	if (!attr)
		return;
	grb_channel_attr_init(attr);
	attr->subbuf_size = GRB_FTRACE_PAGE_SIZE;
	attr->subbuf_count = 256;
}

/*
 * The threads that wrote: a table filled once per thread, at its first
 * event, from any context (a signal handler included), so without a
 * lock: a slot is claimed by an atomic add, filled, then published.
 */
static struct ft_task tasks[FT_TASKS_MAX];
static uint32_t nr_tasks; /* slots claimed (may exceed FT_TASKS_MAX) */

static void task_register(int32_t tid)
{
	/* relaxed: the add only hands out distinct slots; [T1] publishes
	 * the slot's contents. */
	uint32_t i = __atomic_fetch_add(&nr_tasks, 1, __ATOMIC_RELAXED);
	struct ft_task *t;

	if (i >= FT_TASKS_MAX)
		return;
	t = &tasks[i];
	t->tid = tid;
	memset(t->comm, 0, sizeof(t->comm));
	if (prctl(PR_GET_NAME, t->comm, 0, 0, 0))
		memcpy(t->comm, "<...>", 6);
	t->comm[sizeof(t->comm) - 1] = 0;
	/* [T1] release: the slot's tid and comm before its ready flag. */
	__atomic_store_n(&t->ready, 1, __ATOMIC_RELEASE);
}

int ft_tasks_collect(int (*fn)(void *arg, int32_t tid, const char *comm), void *arg)
{
	/* relaxed: a slot claimed after this load is simply not seen; a
	 * slot seen is read only once [T2] found it published. */
	uint32_t n = __atomic_load_n(&nr_tasks, __ATOMIC_RELAXED), i;
	int ret;

	if (n > FT_TASKS_MAX)
		n = FT_TASKS_MAX;
	for (i = 0; i < n; i++) {
		struct ft_task *t = &tasks[i];

		/* [T2] acquire: pairs with [T1]; tid and comm are complete. */
		if (!__atomic_load_n(&t->ready, __ATOMIC_ACQUIRE))
			continue;
		ret = fn(arg, t->tid, t->comm);
		if (ret)
			return ret;
	}
	return 0;
}

int32_t _grb_ftrace_thread_init(void)
{
	int32_t tid = (int32_t)syscall(SYS_gettid);

	task_register(tid);
	/* A signal handler that ran the same code since stored the same id. */
	_grb_ftrace_tid_cache = tid;
	return tid;
}

/* In a child process, the forking thread has a new id. */
static void child_after_fork(void)
{
	_grb_ftrace_tid_cache = 0;
}

__attribute__((constructor)) static void ft_client_init(void)
{
	pthread_atfork(NULL, NULL, child_after_fork);
}
