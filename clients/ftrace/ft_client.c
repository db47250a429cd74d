// SPDX-License-Identifier: MIT
/*
 * ft_client.c - the ftrace client's out-of-line half in user space: the
 * writing threads' ids and names (the table saved_cmdlines is made from)
 * and the channel attributes of one-page sub-buffers.  Decoding and
 * discarding a record are ft_record.c's.
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
