// SPDX-License-Identifier: MIT
/*
 * env.c - the environment layer inside a Linux kernel module: what
 * src/core/env.h declares, for the core compiled as it is into grb.ko
 * (kernel/Kbuild, doc/kernel.md).
 *
 * Writers run with preemption disabled (<grb/env/kernel.h>) and never
 * allocate, sleep or wake anyone themselves: a wake-up they owe a reader
 * (a futex word's, an event's) is deferred through an irq_work.  What the
 * kernel has no use for is left out: restartable sequences (the per-CPU
 * sync's sequences are local atomics), memory files and directories,
 * per-thread streams, sleeping writers (blocking mode), another process's
 * channels (src/core/attach.c is not built).  Errors are negative errno
 * values; a creation function returns ERR_PTR(-errno).
 *
 * Labels [K*] are this environment's memory-ordering pairs
 * (doc/ordering.md).
 */
#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hardirq.h>
#include <linux/irq_work.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <grb/channel.h>
#include <grb/client.h>
#include "core/env.h"
#include "kernel_env.h"

/* ------------------------------------------------------------------ */
/* Memory, counted: every allocation must be freed by rmmod. */

static atomic64_t mem_maps, mem_unmaps, mem_allocs, mem_frees, mem_map_bytes;

void grb_kernel_mem(struct grb_kernel_mem_stats *st)
{
	st->maps = (uint64_t)atomic64_read(&mem_maps);
	st->unmaps = (uint64_t)atomic64_read(&mem_unmaps);
	st->allocs = (uint64_t)atomic64_read(&mem_allocs);
	st->frees = (uint64_t)atomic64_read(&mem_frees);
	st->map_bytes = (uint64_t)atomic64_read(&mem_map_bytes);
}

/*
 * A stream: its header, consumer page, slots and sub-buffers, zeroed and
 * page-aligned, in a vmalloc area that user space may map
 * (vmalloc_user(): VM_USERMAP, for remap_vmalloc_range()).  Each area is
 * counted by references: the channel's, dropped by _grb_env_unmap(), and
 * one per holder of the device's (dev.c: a published channel, which its
 * files and mappings keep), so that a consumer that still maps a stream
 * after its channel was destroyed reads memory that is still there.  The
 * last reference frees it.
 */
struct grb_kmem {
	struct list_head node; /* in kmem_list until the channel's unmap */
	void *addr;
	size_t size;
	refcount_t ref;
};

static LIST_HEAD(kmem_list);
static DEFINE_SPINLOCK(kmem_lock);

void *_grb_env_map(size_t size)
{
	struct grb_kmem *m = _grb_env_zalloc(sizeof(*m));
	void *p;

	if (!m)
		return NULL;
	p = vmalloc_user(size);
	if (!p) {
		_grb_env_free(m);
		return NULL;
	}
	m->addr = p;
	m->size = size;
	refcount_set(&m->ref, 1);
	spin_lock(&kmem_lock);
	list_add(&m->node, &kmem_list);
	spin_unlock(&kmem_lock);
	atomic64_inc(&mem_maps);
	atomic64_add((s64)size, &mem_map_bytes);
	return p;
}

void _grb_kernel_kmem_put(struct grb_kmem *m)
{
	if (!m || !refcount_dec_and_test(&m->ref))
		return;
	vfree(m->addr);
	atomic64_inc(&mem_unmaps);
	atomic64_sub((s64)m->size, &mem_map_bytes);
	_grb_env_free(m);
}

/* The area at addr, with a reference for the caller; NULL if addr is not
 * a stream's (or its channel unmapped it already). */
struct grb_kmem *_grb_kernel_kmem_get(void *addr)
{
	struct grb_kmem *m, *found = NULL;

	spin_lock(&kmem_lock);
	list_for_each_entry(m, &kmem_list, node) if (m->addr == addr)
	{
		refcount_inc(&m->ref);
		found = m;
		break;
	}
	spin_unlock(&kmem_lock);
	return found;
}

void _grb_env_unmap(void *addr, size_t size)
{
	struct grb_kmem *m, *found = NULL;

	if (!addr)
		return;
	spin_lock(&kmem_lock);
	list_for_each_entry(m, &kmem_list, node) if (m->addr == addr)
	{
		list_del(&m->node);
		found = m;
		break;
	}
	spin_unlock(&kmem_lock);
	WARN_ON(!found || found->size != size);
	_grb_kernel_kmem_put(found);
}

void *_grb_env_zalloc(size_t size)
{
	void *p = kvzalloc(size ? size : 1, GFP_KERNEL);

	if (p)
		atomic64_inc(&mem_allocs);
	return p;
}

void _grb_env_free(void *p)
{
	if (!p)
		return;
	kvfree(p);
	atomic64_inc(&mem_frees);
}

size_t _grb_env_page_size(void)
{
	return PAGE_SIZE;
}

/* Memory files and directories are user space's: the configuration check
 * refuses them first. */
void *_grb_env_map_shared(size_t size, const char *dir, const char *name, uint32_t index, int *fd,
			  int *err)
{
	(void)size;
	(void)dir;
	(void)name;
	(void)index;
	*fd = -1;
	_grb_env_set_error("stream %u: no shared backing in the kernel", index);
	*err = -EOPNOTSUPP;
	return NULL;
}

void _grb_env_unmap_shared(void *addr, size_t size, int fd, const char *dir, const char *name,
			   uint32_t index)
{
	(void)fd;
	(void)dir;
	(void)name;
	(void)index;
	_grb_env_unmap(addr, size);
}

/* Mappings of another process's files (src/core/attach.c, not built):
 * none to guard. */
int _grb_env_guard_add(void *addr, size_t size)
{
	(void)addr;
	(void)size;
	return -EOPNOTSUPP;
}

int _grb_env_guard_lost(int guard)
{
	(void)guard;
	return 0;
}

void _grb_env_guard_remove(int guard)
{
	(void)guard;
}

/* The kernel is the writer: no process to tell apart. */
void _grb_env_process_self(uint32_t *pid, uint64_t *start)
{
	*pid = 0;
	*start = 0;
}

int _grb_env_process_alive(uint32_t pid, uint64_t start)
{
	(void)pid;
	(void)start;
	return 1;
}

/* ------------------------------------------------------------------ */
/* CPUs, threads, clocks. */

int _grb_env_nr_cpus(void)
{
	return (int)nr_cpu_ids;
}

int _grb_env_getcpu_slow(void)
{
	return (int)raw_smp_processor_id();
}

/* The task's id; an idle task (pid 0, one per CPU) gets its CPU's
 * number above 2^31, so that the id is never 0. */
uint32_t _grb_env_thread_id(void)
{
	pid_t pid = task_pid_nr(current);

	return pid ? (uint32_t)pid : 0x80000000u | raw_smp_processor_id();
}

uint64_t _grb_env_monotonic_ns(void)
{
	return ktime_get_mono_fast_ns();
}

uint64_t _grb_env_realtime_ns(void)
{
	return ktime_get_real_fast_ns();
}

/* Readers only (a writer never sleeps): process context. */
void _grb_env_sleep_ns(uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (us < 10)
		us = 10;
	if (us > 20000)
		msleep((unsigned int)min_t(uint64_t, us / 1000, UINT_MAX));
	else
		usleep_range((unsigned long)us, (unsigned long)us + us / 4 + 10);
}

/* ------------------------------------------------------------------ */
/*
 * Wake-ups.  One wait queue for every word a reader waits on (a futex
 * word of a stream, an event); its wake-up runs from an irq_work, so that
 * a writer -- in any context, an NMI included -- only queues it.  The
 * woken re-check their own word: spurious wake-ups are allowed, as with
 * futexes.
 */
static DECLARE_WAIT_QUEUE_HEAD(wake_wq);

static void wake_fn(struct irq_work *w)
{
	(void)w;
	wake_up_all(&wake_wq);
}

static struct irq_work wake_work = IRQ_WORK_INIT(wake_fn);

/* The device's poll sleeps on it too (dev.c): woken by the same irq_work. */
wait_queue_head_t *_grb_kernel_wait_queue(void)
{
	return &wake_wq;
}

/*
 * [K1] The waker changed the word before (the core's seq_cst RMW of
 * deliver_seq, or an event's xchg); irq_work_queue()'s claim is a full
 * barrier, and a claim that finds the work pending is matched by the
 * barrier irq_work_single() runs between clearing PENDING and calling
 * wake_fn: wake_up_all() comes after the change either way.  The waiter
 * queues itself (prepare_to_wait_event, a full barrier) before it loads
 * the word: it sees the change, or it is queued before the wake-up.
 */
static void wake_later(void)
{
	/* [K1] the claim, after the waker's change of the word. */
	irq_work_queue(&wake_work);
}

/* Jiffies for a wait of ns, at least one; MAX_SCHEDULE_TIMEOUT when ns
 * does not fit. */
static long wait_jiffies(uint64_t ns)
{
	uint64_t j;

	if (ns / (NSEC_PER_SEC / HZ) >= MAX_JIFFY_OFFSET)
		return MAX_SCHEDULE_TIMEOUT;
	j = nsecs_to_jiffies(ns);
	return j ? (long)j : 1;
}

/* wait_event_interruptible_timeout()'s result as the core's. */
static int wait_result(long r)
{
	if (r > 0)
		return 0;
	return r == 0 ? -ETIMEDOUT : -EINTR;
}

int _grb_env_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	long r;

	/* [K1] READ_ONCE after queueing (the condition's load). */
	r = wait_event_interruptible_timeout(wake_wq, READ_ONCE(*addr) != val,
					     wait_jiffies(timeout_ns));
	return wait_result(r);
}

void _grb_env_futex_wake(uint32_t *addr)
{
	(void)addr;
	wake_later();
}

/* Whether one of the words differs from its value. */
static bool waitv_changed(uint32_t *const *addrs, const uint32_t *vals, uint32_t n, uint32_t *priv,
			  uint32_t priv_val)
{
	uint32_t i;

	/* [K1] READ_ONCE, as in _grb_env_futex_wait(). */
	if (priv && READ_ONCE(*priv) != priv_val)
		return true;
	for (i = 0; i < n; i++)
		if (READ_ONCE(*addrs[i]) != vals[i])
			return true;
	return false;
}

int _grb_env_futex_waitv(uint32_t *const *addrs, const uint32_t *vals, uint32_t n, uint32_t *priv,
			 uint32_t priv_val, uint64_t timeout_ns)
{
	long r;

	if (n + 1 > _GRB_ENV_WAITV_MAX)
		return -E2BIG;
	r = wait_event_interruptible_timeout(wake_wq, waitv_changed(addrs, vals, n, priv, priv_val),
					     wait_jiffies(timeout_ns));
	return wait_result(r);
}

/*
 * Events (a channel's descriptor in user space): a slot of this table,
 * whose number stands for the descriptor.  signal sets the slot's flag
 * and defers the wake-up, from any context.
 */
#define GRB_KERNEL_EVENTS 64

static struct {
	uint32_t used; /* under event_lock */
	uint32_t signalled;
} events[GRB_KERNEL_EVENTS];
static DEFINE_SPINLOCK(event_lock);

int _grb_env_event_create(void)
{
	unsigned long flags;
	int i, ret = -EMFILE;

	spin_lock_irqsave(&event_lock, flags);
	for (i = 0; i < GRB_KERNEL_EVENTS; i++)
		if (!events[i].used) {
			events[i].used = 1;
			/* relaxed: no one waits on a free slot */
			WRITE_ONCE(events[i].signalled, 0);
			ret = i;
			break;
		}
	spin_unlock_irqrestore(&event_lock, flags);
	return ret;
}

static bool event_valid(int fd)
{
	return fd >= 0 && fd < GRB_KERNEL_EVENTS;
}

void _grb_env_event_signal(int fd)
{
	if (!event_valid(fd))
		return;
	/* [K1] xchg, a full barrier: the flag before the deferred wake-up. */
	xchg(&events[fd].signalled, 1);
	wake_later();
}

int _grb_env_event_wait(int fd, uint64_t timeout_ns)
{
	long r;

	if (!event_valid(fd))
		return -EINVAL;
	/* [K1] READ_ONCE, as in _grb_env_futex_wait(). */
	r = wait_event_interruptible_timeout(wake_wq, READ_ONCE(events[fd].signalled),
					     wait_jiffies(timeout_ns));
	return wait_result(r);
}

void _grb_env_event_clear(int fd)
{
	if (event_valid(fd))
		WRITE_ONCE(events[fd].signalled, 0); /* relaxed: a flag re-checked after */
}

void _grb_env_event_close(int fd)
{
	unsigned long flags;

	if (!event_valid(fd))
		return;
	spin_lock_irqsave(&event_lock, flags);
	events[fd].used = 0;
	spin_unlock_irqrestore(&event_lock, flags);
}

/* ------------------------------------------------------------------ */
/* Errors: one message for the module (there is no thread to keep it). */

static char last_error[256];
static DEFINE_SPINLOCK(error_lock);

void *_grb_env_return_ptr(int ret, void *p)
{
	return ret ? ERR_PTR(ret) : p;
}

static void error_vset(const char *fmt, va_list ap)
{
	unsigned long flags;

	spin_lock_irqsave(&error_lock, flags);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	spin_unlock_irqrestore(&error_lock, flags);
}

void _grb_env_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
}

void grb_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
}

/* The buffer itself: a later failure may change it while the caller
 * reads it. */
const char *grb_last_error(void)
{
	return last_error;
}

/* ------------------------------------------------------------------ */
/* Per-thread streams are refused (_grb_env_config_check()). */

int _grb_env_thread_exit_init(void (*fn)(void))
{
	(void)fn;
	return -EOPNOTSUPP;
}

int _grb_env_thread_exit_arm(void)
{
	return -EOPNOTSUPP;
}

int _grb_env_thread_exited(uint32_t tid)
{
	(void)tid;
	return 0;
}

/* ------------------------------------------------------------------ */
/*
 * The per-CPU sync.  Each CPU's area holds its number (set at module
 * load, never changed): the area of the CPU a writer runs on, with
 * preemption disabled, names that CPU as a registered rseq area does.
 */
static DEFINE_PER_CPU(struct _grb_rseq, cpu_area);

void _grb_kernel_env_init(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		per_cpu(cpu_area, cpu).cpu_id = cpu;
		per_cpu(cpu_area, cpu).cpu_id_start = cpu;
	}
}

void _grb_kernel_env_exit(void)
{
	irq_work_sync(&wake_work);
}

struct _grb_rseq *_grb_env_rseq_area(void)
{
	return raw_cpu_ptr(&cpu_area);
}

int _grb_env_rseq_register(void)
{
	return 0;
}

int _grb_env_rseq_check(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 0;
}

/* A function that does nothing, run on another CPU for its barriers. */
static void ipi_nothing(void *arg)
{
	(void)arg;
}

/*
 * [C3] in the kernel: a full barrier on CPU cpu, between what it ran
 * before and after: an interrupt there (smp_call_function_single), whose
 * entry and completion are ordered with our caller's accesses by the
 * call's own barriers.  From an interrupt, or with interrupts off, no IPI
 * can be waited for: the core then counts an invariant failure.
 */
int _grb_env_membarrier_cpu(uint32_t cpu)
{
	if (cpu == raw_smp_processor_id()) {
		smp_mb(); /* [C3] on our own CPU: program order and a barrier */
		return 0;
	}
	if (!in_task() || irqs_disabled())
		return -EWOULDBLOCK;
	return smp_call_function_single((int)cpu, ipi_nothing, NULL, 1);
}

void _grb_env_yield(void)
{
	cpu_relax();
}

/*
 * [K2] A flush of CPU cpu's per-CPU stream runs on that CPU with its
 * interrupts off (smp_call_function_single, or the caller's CPU itself):
 * its CAS on the offset and the CPU's writers' local cmpxchg are then
 * instructions of one CPU, each whole, and a writer the flush interrupted
 * finds the offset changed.  The call's csd lock orders the caller's
 * accesses before the flush and the flush's before its return.  An
 * offline CPU runs no writer (none can hold a reservation there: the CPU
 * went down at a preemption point), so its streams are flushed here, with
 * hotplug held off when the caller may sleep.  Without an IPI to wait for
 * (an interrupt, or interrupts off, on another CPU) the flush does not
 * run: -EWOULDBLOCK.
 */
int _grb_env_on_cpu(uint32_t cpu, void (*fn)(void *), void *arg)
{
	unsigned long flags;
	bool held;
	int ret = 0;

	if (in_task() && !irqs_disabled()) {
		held = preemptible();
		if (held)
			cpus_read_lock();
		/* [K2] on the stream's CPU, interrupts off, waited for. */
		if (cpu_online(cpu)) {
			ret = smp_call_function_single((int)cpu, fn, arg, 1);
		} else if (held) {
			local_irq_save(flags);
			fn(arg);
			local_irq_restore(flags);
		} else {
			ret = -ENXIO;
		}
		if (held)
			cpus_read_unlock();
		return ret;
	}
	if (cpu != raw_smp_processor_id())
		return -EWOULDBLOCK;
	local_irq_save(flags);
	fn(arg);
	local_irq_restore(flags);
	return 0;
}

/* What a kernel writer cannot do. */
int _grb_env_config_check(const struct grb_config *cfg, const struct grb_channel_attr *attr)
{
	if (cfg->alloc == GRB_ALLOC_PER_THREAD || cfg->sync == GRB_SYNC_SINGLE_WRITER) {
		_grb_env_set_error("kernel: no per-thread streams (a writer is a CPU): "
				   "use GRB_ALLOC_PER_CPU or GRB_ALLOC_GLOBAL");
		return -EINVAL;
	}
	if (cfg->mode == GRB_MODE_BLOCKING) {
		_grb_env_set_error("kernel: a writer cannot sleep: no GRB_MODE_BLOCKING");
		return -EINVAL;
	}
	if (attr->backing != GRB_BACKING_ANON) {
		_grb_env_set_error("kernel: streams live in the module's memory: "
				   "attr.backing must be GRB_BACKING_ANON");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Timers: a delayed work that queues itself again, in process context. */

struct grb_timer {
	struct delayed_work work;
	uint64_t period_ns;
	void (*fn)(void *);
	void *arg;
};

static void timer_work(struct work_struct *w)
{
	struct grb_timer *t = container_of(to_delayed_work(w), struct grb_timer, work);

	t->fn(t->arg);
	queue_delayed_work(system_wq, &t->work, wait_jiffies(t->period_ns));
}

struct grb_timer *_grb_timer_start(uint64_t period_ns, void (*fn)(void *), void *arg)
{
	struct grb_timer *t = _grb_env_zalloc(sizeof(*t));

	if (!t)
		return NULL;
	t->period_ns = period_ns;
	t->fn = fn;
	t->arg = arg;
	INIT_DELAYED_WORK(&t->work, timer_work);
	if (period_ns != UINT64_MAX)
		queue_delayed_work(system_wq, &t->work, wait_jiffies(period_ns));
	return t;
}

/* cancel_delayed_work_sync() waits for a running fn and stops the work
 * queueing itself again. */
void _grb_timer_stop(struct grb_timer *t)
{
	cancel_delayed_work_sync(&t->work);
	_grb_env_free(t);
}

/* ------------------------------------------------------------------ */
/* The registry: channel creation and destruction, in process context. */

static DEFINE_MUTEX(registry_lock);

void _grb_env_registry_lock(void)
{
	mutex_lock(&registry_lock);
}

/* Only per-thread streams try it, from a writer: never in the kernel. */
int _grb_env_registry_trylock(void)
{
	if (!in_task() || !mutex_trylock(&registry_lock))
		return -EBUSY;
	return 0;
}

void _grb_env_registry_unlock(void)
{
	mutex_unlock(&registry_lock);
}
