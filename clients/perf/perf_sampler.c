// SPDX-License-Identifier: MIT
/*
 * perf_sampler.c - the in-process sampler: a CPU-time timer per thread
 * whose signal handler writes a PERF_RECORD_SAMPLE of the interrupted
 * code into the thread's stream.
 *
 * Why timer_create(CLOCK_THREAD_CPUTIME_ID) with SIGEV_THREAD_ID rather
 * than setitimer(ITIMER_PROF): the profiling interval timer measures the
 * process's CPU time and the kernel sends its signal to whichever thread
 * it picks, so a thread's share of the samples is only statistically its
 * share of the CPU; a per-thread CPU-time timer expires on the thread's own
 * CPU time and signals that very thread, as perf's cpu-clock event counts
 * per task.  Its overrun count (siginfo's si_overrun) says how many
 * periods one signal stands for, so the sample's period stays exact when
 * the thread could not take the signal at once, and when the kernel, which
 * checks CPU-time timers at its tick, lets several periods pass.  The
 * sampler can also use CLOCK_MONOTONIC (wall time, high-resolution).
 *
 * The handler is async-signal-safe: it allocates nothing and takes no lock.
 * Everything it needs (the sampler, the stack bounds, the ids) is in the
 * thread's initial-exec TLS, filled by grb_perf_sampler_thread_start()
 * before the timer is armed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/perf.h>

#include "perf_internal.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

struct grb_perf_sampler {
	struct grb_channel *ch;
	uint64_t period_ns;
	uint32_t freq_hz;
	int signo;
	clockid_t clock;
	struct sigaction old;
	pthread_mutex_t lock; /* the fields below */
	uint32_t armed; /* threads started and not stopped */
	struct grb_perf_sampler_stats st; /* sums of the stopped threads */
	struct _grb_perf_task *tasks;
	uint32_t nr_tasks, cap_tasks;
};

/* The thread's sampling state; the handler reads it. */
struct perf_thread {
	struct grb_perf_sampler *s; /* not NULL: armed */
	uintptr_t stack_lo, stack_hi;
	uint32_t pid, tid;
	timer_t timer;
	uint64_t written, committed, refused;
};

static __thread struct perf_thread tls_thread __attribute__((tls_model("initial-exec")));

static pthread_mutex_t sampler_lock = PTHREAD_MUTEX_INITIALIZER;
static struct grb_perf_sampler *the_sampler;

/* The interrupted context's instruction and frame pointers. */
static int context_regs(const void *ucv, uintptr_t *ip, uintptr_t *fp)
{
	const ucontext_t *uc = (const ucontext_t *)ucv;

#if defined(__x86_64__)
	*ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	*fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	return 0;
#elif defined(__aarch64__)
	*ip = (uintptr_t)uc->uc_mcontext.pc;
	*fp = (uintptr_t)uc->uc_mcontext.regs[29];
	return 0;
#else
	(void)uc;
	*ip = *fp = 0;
	return -1;
#endif
}

/*
 * The return addresses of the frame-pointer chain from fp: each frame is
 * { saved frame pointer, return address } at fp.  Only words inside the
 * thread's stack are read, each frame strictly above the one before (so
 * the walk ends), and at most max of them.
 */
static uint32_t walk_frames(const struct perf_thread *t, uintptr_t fp, uint64_t *out, uint32_t max)
{
	uint32_t n = 0;

	while (n < max && fp >= t->stack_lo && fp <= t->stack_hi - 16u && !(fp & 7u)) {
		const uintptr_t *frame = (const uintptr_t *)fp;
		uintptr_t next = frame[0], ret = frame[1];

		if (!ret)
			break;
		out[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

static void perf_on_signal(int sig, siginfo_t *si, void *ucv)
{
	struct perf_thread *t = &tls_thread;
	struct grb_perf_sampler *s = t->s;
	uint64_t callers[GRB_PERF_MAX_CALLERS];
	struct grb_perf_sample smp;
	uintptr_t ip, fp;
	int saved = errno;

	(void)sig;
	/* [H2] the state thread_start stored before s ([H1]). */
	__atomic_signal_fence(__ATOMIC_ACQUIRE);
	if (!s || context_regs(ucv, &ip, &fp)) {
		errno = saved;
		return;
	}
	smp.ip = ip;
	smp.pid = t->pid;
	smp.tid = t->tid;
	smp.period = s->period_ns;
	if (si && si->si_code == SI_TIMER && si->si_overrun > 0)
		smp.period *= 1u + (uint64_t)si->si_overrun;
	smp.nr_callers = walk_frames(t, fp, callers, GRB_PERF_MAX_CALLERS);
	smp._pad = 0;
	smp.callers = callers;
	t->written++;
	if (grb_perf_write_sample(s->ch, &smp, NULL) == 0)
		t->committed++;
	else
		t->refused++;
	errno = saved;
}

void grb_perf_sampler_attr_init(struct grb_perf_sampler_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->freq_hz = 999;
	attr->signo = SIGPROF;
	attr->clock = CLOCK_THREAD_CPUTIME_ID;
}

struct grb_perf_sampler *grb_perf_sampler_create(struct grb_channel *ch,
						 const struct grb_perf_sampler_attr *attr)
{
	struct grb_perf_sampler_attr a;
	struct grb_perf_sampler *s;
	struct sigaction sa;
	uintptr_t ip, fp;
	ucontext_t uc;

	if (!attr) {
		grb_perf_sampler_attr_init(&a);
		attr = &a;
	}
	memset(&uc, 0, sizeof(uc));
	if (!ch || attr->size < sizeof(*attr) || attr->freq_hz == 0 || attr->freq_hz > 1000000u ||
	    attr->signo <= 0 || attr->signo >= NSIG || context_regs(&uc, &ip, &fp)) {
		grb_error_set("grb_perf_sampler_create: bad channel or attributes (freq_hz %u, "
			      "signo %d), or no frame-pointer walk on this architecture",
			      attr->freq_hz, attr->signo);
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ch = ch;
	s->freq_hz = attr->freq_hz;
	s->period_ns = 1000000000ull / attr->freq_hz;
	s->signo = attr->signo;
	s->clock = (clockid_t)attr->clock;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_lock(&sampler_lock);
	if (the_sampler) {
		pthread_mutex_unlock(&sampler_lock);
		free(s);
		grb_error_set("grb_perf_sampler_create: a sampler exists already");
		errno = EBUSY;
		return NULL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = perf_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(s->signo, &sa, &s->old)) {
		int e = errno;

		pthread_mutex_unlock(&sampler_lock);
		free(s);
		grb_error_set("grb_perf_sampler_create: sigaction: %s", strerror(e));
		errno = e;
		return NULL;
	}
	the_sampler = s;
	pthread_mutex_unlock(&sampler_lock);
	return s;
}

uint64_t grb_perf_sampler_period(const struct grb_perf_sampler *s)
{
	return s->period_ns;
}

static int add_task(struct grb_perf_sampler *s, const struct perf_thread *t)
{
	struct _grb_perf_task *n;

	if (s->nr_tasks == s->cap_tasks) {
		uint32_t cap = s->cap_tasks ? 2 * s->cap_tasks : 16;

		n = realloc(s->tasks, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->tasks = n;
		s->cap_tasks = cap;
	}
	n = &s->tasks[s->nr_tasks++];
	memset(n, 0, sizeof(*n));
	n->pid = t->pid;
	n->tid = t->tid;
	if (prctl(PR_GET_NAME, n->comm, 0, 0, 0))
		strcpy(n->comm, "?");
	n->comm[15] = 0;
	return 0;
}

int grb_perf_sampler_thread_start(struct grb_perf_sampler *s)
{
	struct perf_thread *t = &tls_thread;
	struct itimerspec its;
	struct sigevent sev;
	pthread_attr_t pa;
	void *addr;
	size_t size;
	int r;

	if (!s)
		return -EINVAL;
	if (t->s)
		return -EALREADY;
	r = pthread_getattr_np(pthread_self(), &pa);
	if (r)
		return -r;
	r = pthread_attr_getstack(&pa, &addr, &size);
	pthread_attr_destroy(&pa);
	if (r)
		return -r;
	t->stack_lo = (uintptr_t)addr;
	t->stack_hi = (uintptr_t)addr + size;
	t->pid = _grb_perf_pid();
	t->tid = _grb_perf_tid();
	t->written = t->committed = t->refused = 0;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = s->signo;
	sev.sigev_notify_thread_id = (pid_t)t->tid;
	if (timer_create(s->clock, &sev, &t->timer))
		return -errno;
	pthread_mutex_lock(&s->lock);
	r = add_task(s, t);
	if (!r) {
		s->armed++;
		s->st.threads++;
	}
	pthread_mutex_unlock(&s->lock);
	if (r) {
		timer_delete(t->timer);
		return r;
	}
	/* [H1] the state above before the pointer the handler tests ([H2]). */
	__atomic_signal_fence(__ATOMIC_RELEASE);
	t->s = s;
	its.it_interval.tv_sec = (time_t)(s->period_ns / 1000000000ull);
	its.it_interval.tv_nsec = (long)(s->period_ns % 1000000000ull);
	its.it_value = its.it_interval;
	if (timer_settime(t->timer, 0, &its, NULL)) {
		r = -errno;
		grb_perf_sampler_thread_stop(s);
		return r;
	}
	return 0;
}

int grb_perf_sampler_thread_stop(struct grb_perf_sampler *s)
{
	struct perf_thread *t = &tls_thread;

	if (!s || t->s != s)
		return -EINVAL;
	t->s = NULL;
	/* [H1] a handler that runs from here on finds no sampler and touches
	 * nothing; one that ran before has returned (it ran on this thread). */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	timer_delete(t->timer);
	pthread_mutex_lock(&s->lock);
	s->armed--;
	s->st.written += t->written;
	s->st.committed += t->committed;
	s->st.refused += t->refused;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int grb_perf_sampler_stats(struct grb_perf_sampler *s, struct grb_perf_sampler_stats *st)
{
	if (!s || !st)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int _grb_perf_sampler_tasks(struct grb_perf_sampler *s, struct _grb_perf_task **tasks, uint32_t *n)
{
	pthread_mutex_lock(&s->lock);
	*n = s->nr_tasks;
	*tasks = malloc((s->nr_tasks ? s->nr_tasks : 1) * sizeof(**tasks));
	if (*tasks && s->nr_tasks)
		memcpy(*tasks, s->tasks, s->nr_tasks * sizeof(**tasks));
	pthread_mutex_unlock(&s->lock);
	return *tasks ? 0 : -ENOMEM;
}

int grb_perf_sampler_destroy(struct grb_perf_sampler *s)
{
	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->armed) {
		pthread_mutex_unlock(&s->lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&sampler_lock);
	sigaction(s->signo, &s->old, NULL);
	the_sampler = NULL;
	pthread_mutex_unlock(&sampler_lock);
	pthread_mutex_destroy(&s->lock);
	free(s->tasks);
	free(s);
	return 0;
}
