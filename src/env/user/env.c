// SPDX-License-Identifier: MIT
/*
 * env.c - the environment layer for Linux user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/channel.h>
#include <grb/client.h>
#include <grb/kdev.h>
#include "core/env.h"
#include "cpu_list.h"

/* The library's own rseq area, registered only when glibc made none.
 * cpu_id starts at RSEQ_CPU_ID_UNINITIALIZED (-1). */
static __thread struct _grb_rseq _grb_tls_rseq __attribute__((tls_model("initial-exec"))) = {
	.cpu_id_start = 0,
	.cpu_id = (uint32_t)-1,
};

/* glibc's registration when glibc made one (glibc 2.35 and later,
 * __rseq_size != 0), else the library's own. */
struct _grb_rseq *_grb_env_rseq_area(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	if (&__rseq_size != NULL && __rseq_size != 0)
		return (struct _grb_rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
#endif
	return &_grb_tls_rseq;
}

#define GRB_RSEQ_CPU_ID_REGISTRATION_FAILED ((uint32_t)-2)

int _grb_env_rseq_register(void)
{
	struct _grb_rseq *rs = _grb_env_rseq_area();

	if ((int32_t)_grb_load_relaxed(&rs->cpu_id) >= 0)
		return 0;
	/* glibc's area without a registration, or ours after a failure. */
	if (rs != &_grb_tls_rseq || rs->cpu_id == GRB_RSEQ_CPU_ID_REGISTRATION_FAILED)
		return -ENOSYS;
#ifdef SYS_rseq
	/* Never unregistered: the kernel writes the area only while the thread
	 * runs, and a new thread starts without a registration. */
	if (syscall(SYS_rseq, rs, (uint32_t)sizeof(*rs), 0, GRB_RSEQ_SIG) == 0)
		return 0;
	{
		int err = errno;

		/* A signal handler's reservation may have registered the area
		 * between our test and our call (EBUSY): the kernel has set
		 * cpu_id since, and the area must not be written. */
		if ((int32_t)_grb_load_relaxed(&rs->cpu_id) >= 0)
			return 0;
		rs->cpu_id = GRB_RSEQ_CPU_ID_REGISTRATION_FAILED;
		return -err;
	}
#else
	rs->cpu_id = GRB_RSEQ_CPU_ID_REGISTRATION_FAILED;
	return -ENOSYS;
#endif
}

static int membarrier(int cmd, unsigned int flags, int cpu)
{
	return (int)syscall(SYS_membarrier, cmd, flags, cpu);
}

int _grb_env_rseq_check(char *why, size_t len)
{
	const char *env = getenv("GRB_RSEQ");
	int ret, cmds;

	if (env && (!strcmp(env, "0") || !strcmp(env, "off"))) {
		snprintf(why, len, "disabled by GRB_RSEQ=%s", env);
		return -ENOTSUP;
	}
	ret = _grb_env_rseq_register();
	if (ret) {
		snprintf(why, len, "no rseq registration for this thread (%s)", strerror(-ret));
		return ret;
	}
	cmds = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ)) {
		snprintf(why, len, "membarrier has no expedited rseq command");
		return -ENOTSUP;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) < 0) {
		ret = -errno;
		snprintf(why, len, "membarrier rseq registration: %s", strerror(-ret));
		return ret;
	}
	/* The target-CPU flag came with Linux 5.10. */
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU,
		       _grb_env_getcpu_slow()) < 0) {
		ret = -errno;
		snprintf(why, len, "membarrier with a target CPU: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int _grb_env_membarrier_cpu(uint32_t cpu)
{
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, (int)cpu) <
	    0)
		return -errno;
	return 0;
}

void _grb_env_yield(void)
{
	sched_yield();
}

/* The flush's fence and membarrier make it safe from any thread. */
int _grb_env_on_cpu(uint32_t cpu, void (*fn)(void *), void *arg)
{
	(void)cpu;
	fn(arg);
	return 0;
}

/* Every configuration the core accepts runs in user space. */
int _grb_env_config_check(const struct grb_config *cfg, const struct grb_channel_attr *attr)
{
	(void)cfg;
	(void)attr;
	return 0;
}

void *_grb_env_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void _grb_env_unmap(void *addr, size_t size)
{
	if (addr)
		munmap(addr, size);
}

/* dir/name_index into path: 0, or -ENAMETOOLONG. */
static int stream_path(char *path, size_t len, const char *dir, const char *name, uint32_t index)
{
	int n = snprintf(path, len, "%s/%s_%u", dir, name, index);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void *_grb_env_map_shared(size_t size, const char *dir, const char *name, uint32_t index, int *fd,
			  int *err)
{
	char path[512];
	void *p;
	int f, e;

	*fd = -1;
	if (dir) {
		if ((e = stream_path(path, sizeof(path), dir, name, index))) {
			_grb_env_set_error("attr.shm_path: %s/%s_%u is too long", dir, name, index);
			*err = e;
			return NULL;
		}
		f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	} else {
		f = memfd_create("grb-stream", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	}
	if (f < 0) {
		*err = -errno;
		_grb_env_set_error("stream %u: cannot create %s: %s", index, dir ? path : "a memfd",
				   strerror(errno));
		return NULL;
	}
	if (ftruncate(f, (off_t)size) ||
	    (!dir && fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))) {
		*err = -errno;
		_grb_env_set_error("stream %u: cannot size %s to %zu bytes: %s", index,
				   dir ? path : "a memfd", size, strerror(errno));
		goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		_grb_env_set_error("stream %u: cannot map %zu bytes: %s", index, size,
				   strerror(errno));
		goto fail;
	}
	*fd = f;
	return p;
fail:
	close(f);
	if (dir)
		unlink(path);
	return NULL;
}

void _grb_env_unmap_shared(void *addr, size_t size, int fd, const char *dir, const char *name,
			   uint32_t index)
{
	char path[512];

	if (addr)
		munmap(addr, size);
	if (fd >= 0)
		close(fd);
	if (dir && !stream_path(path, sizeof(path), dir, name, index))
		unlink(path);
}

int _grb_env_fd_open(const char *dir, const char *name, uint32_t index)
{
	char path[512];
	int f, e;

	if ((e = stream_path(path, sizeof(path), dir, name, index)))
		return e;
	f = open(path, O_RDWR | O_CLOEXEC);
	return f < 0 ? -errno : f;
}

void _grb_env_fd_close(int fd)
{
	close(fd);
}

int _grb_env_fd_read(int fd, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		got += (size_t)n;
	}
	return 0;
}

int _grb_env_fd_size(int fd, uint64_t *size, int *sealed)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		struct grb_kdev_stream_info si;
		char link[64], name[32];
		ssize_t n;

		/* A stream of grb.ko (<grb/kdev.h>): the module says its size,
		 * and holds its memory until the last mapping is gone, so that
		 * it never shrinks.  Only its own descriptors are asked: a
		 * descriptor from another process may be any device, whose
		 * ioctl numbers are not grb's to send. */
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, name, sizeof(name) - 1);
		if (n < 0 || (name[n] = '\0', strcmp(name, "anon_inode:[grb-stream]")))
			return -EPROTO;
		if (ioctl(fd, GRB_KDEV_STREAM_INFO, &si))
			return -EPROTO;
		*size = si.size;
		*sealed = 1;
		return 0;
	}
	*size = (uint64_t)st.st_size;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 && (seals & F_SEAL_SHRINK))
		*sealed = 1;
	else if (seals < 0 || (seals & F_SEAL_SEAL))
		/* A file that can never be sealed: on a disk (no seals at
		 * all), or on tmpfs (/dev/shm: F_SEAL_SEAL from its creation),
		 * as a memory file made without MFD_ALLOW_SEALING. */
		*sealed = 0;
	else
		*sealed = -1; /* could be sealed, and its owner did not */
	return 0;
}

void *_grb_env_map_fd(int fd, size_t size, size_t rw_off, size_t rw_len, int *err)
{
	char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	if (mmap(p + rw_off, rw_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 (off_t)rw_off) == MAP_FAILED) {
		*err = -errno;
		munmap(p, size);
		return NULL;
	}
	return p;
}

/*
 * The mappings of files a consumer watches for SIGBUS (_grb_env_guard_add).
 * A slot is claimed (used), then filled, then published by its base;
 * the handler reads base, size and sets lost.  A slot is reused only after
 * its mapping is gone, so a fault can never match a stale slot.
 */
#define GUARD_MAX 1024
static struct {
	uint32_t used;
	uint32_t lost;
	size_t size;
	uintptr_t base; /* 0: not published */
} guards[GUARD_MAX];
static struct sigaction guard_prev;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_err;

/* The previous disposition, for a SIGBUS that is not a watched mapping's. */
static void guard_chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;

	if ((guard_prev.sa_flags & SA_SIGINFO) && guard_prev.sa_sigaction) {
		guard_prev.sa_sigaction(sig, si, uc);
		return;
	}
	if (guard_prev.sa_handler == SIG_IGN && si->si_code <= 0)
		return; /* a SIGBUS sent and ignored (a fault cannot be) */
	if (guard_prev.sa_handler != SIG_DFL && guard_prev.sa_handler != SIG_IGN) {
		guard_prev.sa_handler(sig);
		return;
	}
	/* The default action: restored, then a fault re-executes and dies of
	 * it; a SIGBUS sent by a process is raised again (blocked in here,
	 * delivered on return). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &dfl, NULL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno, i;

	if (si->si_code > 0) /* a fault, not a kill() */
		for (i = 0; i < GUARD_MAX; i++) {
			/* [SB2] acquire, pairs with [SB1]: size is the
			 * published mapping's. */
			uintptr_t b = __atomic_load_n(&guards[i].base, __ATOMIC_ACQUIRE);

			if (!b || a - b >= guards[i].size)
				continue;
			/* Zero pages over the whole mapping, writable (the
			 * consumer page is written): every access reads
			 * zeros from now on, and none faults. */
			if (mmap((void *)b, guards[i].size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				break;
			/* relaxed: a flag; the thread that reads it next
			 * after its copy is this one, or learns it at its
			 * next check. */
			__atomic_store_n(&guards[i].lost, 1, __ATOMIC_RELAXED);
			errno = saved;
			return;
		}
	guard_chain(sig, si, uc);
	errno = saved;
}

static void guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &guard_prev))
		guard_err = -errno;
}

int _grb_env_guard_add(void *addr, size_t size)
{
	int i;

	pthread_once(&guard_once, guard_install);
	if (guard_err) {
		_grb_env_set_error("cannot install the SIGBUS handler (%d)", guard_err);
		return guard_err;
	}
	for (i = 0; i < GUARD_MAX; i++) {
		uint32_t free_slot = 0;

		/* relaxed CAS: claims the slot for this thread; what the
		 * handler reads is published by [SB1]. */
		if (!__atomic_compare_exchange_n(&guards[i].used, &free_slot, 1, 0,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		guards[i].size = size;
		__atomic_store_n(&guards[i].lost, 0, __ATOMIC_RELAXED);
		/* [SB1] release: size and lost before the base the handler
		 * matches on; pairs with [SB2]. */
		__atomic_store_n(&guards[i].base, (uintptr_t)addr, __ATOMIC_RELEASE);
		return i;
	}
	_grb_env_set_error("more than %d file mappings watched for SIGBUS", GUARD_MAX);
	return -ENOSPC;
}

int _grb_env_guard_lost(int guard)
{
	/* relaxed: the handler's flag (above). */
	return guard >= 0 && guard < GUARD_MAX &&
	       __atomic_load_n(&guards[guard].lost, __ATOMIC_RELAXED);
}

void _grb_env_guard_remove(int guard)
{
	if (guard < 0 || guard >= GUARD_MAX)
		return;
	/* relaxed: the mapping is still there (unmapped after this), so a
	 * fault in it now is still this slot's; the slot is free for the
	 * next mapping once used is cleared. */
	__atomic_store_n(&guards[guard].base, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&guards[guard].used, 0, __ATOMIC_RELAXED);
}

/* Field 22 of /proc/<pid>/stat (start time in clock ticks after boot) and
 * the state (field 3); 0, or -1 when the process is not there. */
static int proc_stat(uint32_t pid, uint64_t *start, char *state)
{
	char path[64], buf[1024], *p;
	int f, field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* The command (field 2) may hold spaces and parentheses: the fields
	 * after it start after its last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	*state = *p;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	*start = strtoull(p, NULL, 10);
	return 0;
}

void _grb_env_process_self(uint32_t *pid, uint64_t *start)
{
	char state;

	*pid = (uint32_t)getpid();
	if (proc_stat(*pid, start, &state))
		*start = 0;
}

int _grb_env_process_alive(uint32_t pid, uint64_t start)
{
	uint64_t now;
	char state;

	if (pid && !proc_stat(pid, &now, &state) && now == start && state != 'Z' && state != 'X')
		return 1;
		/* Gone (a zombie has exited too: what it committed is all there will
	 * be).  [O3] seq_cst fence: as for a thread, the kernel's exit path
	 * made the process's stores visible before it reported it gone; the
	 * fence keeps the caller's reads of its streams after our look. */
#ifndef __SANITIZE_THREAD__
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
	return 0;
}

void *_grb_env_zalloc(size_t size)
{
	return calloc(1, size);
}

void _grb_env_free(void *p)
{
	free(p);
}

size_t _grb_env_page_size(void)
{
	long v = sysconf(_SC_PAGESIZE);

	return v > 0 ? (size_t)v : 4096;
}

/* Linux's CPU ids stay below 2^22 (NR_CPUS is at most 8192 today). */
#define GRB_CPU_ID_LIMIT (1 << 22)

/* The CPU id at text[*i], *i moved past its digits: -1 when there is none,
 * -2 when it reaches GRB_CPU_ID_LIMIT. */
static long read_cpu_id(const char *text, size_t len, size_t *i)
{
	long id = -1;

	for (; *i < len && text[*i] >= '0' && text[*i] <= '9'; (*i)++) {
		id = (id < 0 ? 0 : id * 10) + (text[*i] - '0');
		if (id >= GRB_CPU_ID_LIMIT)
			return -2;
	}
	return id;
}

int _grb_env_cpu_list_span(const char *text, size_t len)
{
	size_t i = 0;
	long first, last, span = 0;

	while (i < len && text[i] && text[i] != '\n') {
		if (span && text[i++] != ',')
			return 0;
		first = read_cpu_id(text, len, &i);
		last = first;
		if (first >= 0 && i < len && text[i] == '-') {
			i++;
			last = read_cpu_id(text, len, &i);
		}
		if (first < 0 || last < first)
			return 0;
		if (last + 1 > span)
			span = last + 1;
	}
	/* Nothing may follow the list but its newline. */
	if (i < len && text[i] == '\n')
		i++;
	if (i < len && text[i])
		return 0;
	return (int)span;
}

/*
 * The bound of CPU ids is the highest possible CPU + 1: with holes in the
 * possible mask ("0-3,8-11"), _SC_NPROCESSORS_CONF counts the CPUs (8),
 * which would leave the highest ones without a stream.  Without a
 * readable list: the larger of that count and the highest CPU this thread
 * may run on + 1.
 */
int _grb_env_nr_cpus(void)
{
	char buf[1024];
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	long n = 0, v;
	cpu_set_t set;
	int cpu;

	if (fd >= 0) {
		ssize_t len = read(fd, buf, sizeof(buf));

		close(fd);
		if (len > 0 && (size_t)len < sizeof(buf))
			n = _grb_env_cpu_list_span(buf, (size_t)len);
	}
	if (n > 0)
		return (int)n;
	v = sysconf(_SC_NPROCESSORS_CONF);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &set) && cpu + 1 > v)
				v = cpu + 1;
	return v > 0 ? (int)v : 1;
}

int _grb_env_getcpu_slow(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : cpu;
}

uint32_t _grb_env_thread_id(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

/* The environment's clocks are the public ones of <grb/clock.h>. */
uint64_t _grb_env_monotonic_ns(void)
{
	return grb_clock_monotonic();
}

uint64_t _grb_env_realtime_ns(void)
{
	return grb_clock_realtime();
}

void _grb_env_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int _grb_env_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000u),
			       (long)(timeout_ns % 1000000000u) };
	long r = syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);

	if (r < 0 && errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0;
}

void _grb_env_futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

int _grb_env_futex_waitv(uint32_t *const *addrs, const uint32_t *vals, uint32_t n, uint32_t *priv,
			 uint32_t priv_val, uint64_t timeout_ns)
{
	/* struct futex_waitv of <linux/futex.h>, spelled out for older
	 * headers: the kernel's ABI since 5.16. */
	struct {
		uint64_t val;
		uint64_t uaddr;
		uint32_t flags;
		uint32_t reserved;
	} w[_GRB_ENV_WAITV_MAX];
	struct timespec ts;
	uint32_t i, k = 0;
	long r;

	if (n + (priv != NULL) > _GRB_ENV_WAITV_MAX || n + (priv != NULL) == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		w[k].val = vals[i];
		w[k].uaddr = (uint64_t)(uintptr_t)addrs[i];
		w[k].flags = 2; /* FUTEX2_SIZE_U32, shared */
		w[k++].reserved = 0;
	}
	if (priv) {
		w[k].val = priv_val;
		w[k].uaddr = (uint64_t)(uintptr_t)priv;
		w[k].flags = 2 | 128; /* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */
		w[k++].reserved = 0;
	}
	/* An absolute CLOCK_MONOTONIC deadline. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout_ns / 1000000000u);
	ts.tv_nsec += (long)(timeout_ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r = syscall(SYS_futex_waitv, w, k, 0, &ts, CLOCK_MONOTONIC);
	if (r >= 0 || errno == EAGAIN)
		return 0;
	if (errno == ETIMEDOUT)
		return -ETIMEDOUT;
	if (errno == EINTR)
		return -EINTR;
	return errno == ENOSYS ? -ENOSYS : -errno;
}

int _grb_env_event_create(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void _grb_env_event_signal(int fd)
{
	uint64_t one = 1;
	int saved = errno; /* async-signal-safe: a handler keeps errno */

	/* A failure (EAGAIN: the counter is saturated) leaves it readable. */
	(void)!write(fd, &one, sizeof(one));
	errno = saved;
}

int _grb_env_event_wait(int fd, uint64_t timeout_ns)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t ms = timeout_ns / 1000000u + (timeout_ns % 1000000u != 0);
	int r;

	r = poll(&p, 1, ms > 0x7fffffff ? -1 : (int)ms);
	return r == 0 ? -ETIMEDOUT : 0;
}

void _grb_env_event_clear(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

void _grb_env_event_close(int fd)
{
	close(fd);
}

void *_grb_env_return_ptr(int ret, void *p)
{
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return p;
}

static __thread char last_error[256];

/* The core's error reporting and the clients' (<grb/client.h>) are one. */
void _grb_env_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

void grb_error_set(const char *fmt, ...) __attribute__((alias("_grb_env_set_error")));

const char *grb_last_error(void)
{
	return last_error;
}

/*
 * The thread-exit hook of per-thread streams: a key of the library's own,
 * whose destructor gives the thread's streams back.  Without one, the
 * library never stores into a key it did not create: per-thread streams
 * then do without the hook (_grb_env_thread_exited).
 *
 * The hook is armed (pthread_setspecific) by a thread's first record,
 * maybe in a signal handler, so arming must not allocate.  glibc keeps
 * the values of the first 32 keys of a process (PTHREAD_KEY_2NDLEVEL_SIZE)
 * in the thread's descriptor; a thread's first value for a higher key
 * needs a block that pthread_setspecific callocs, and in a handler that
 * interrupted malloc() that waits forever for the arena lock the thread
 * holds.  So the library takes its key when it is loaded, before the
 * application takes its own, and keeps it only if it is one of the first
 * 32 (it is not when the process took 32 keys before loading the library).
 */
#define GRB_KEYS_IN_DESCRIPTOR 32u

static pthread_key_t exit_key;
static int exit_key_ok; /* written once, under exit_once */
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static void (*exit_fn)(void);

static void exit_trampoline(void *arg)
{
	void (*fn)(void) = __atomic_load_n(&exit_fn, __ATOMIC_RELAXED);

	(void)arg;
	/* relaxed: every channel stores the same function, before any of
	 * its threads arms the key; the word is never torn. */
	if (fn)
		fn();
}

static void exit_key_init(void)
{
	if (pthread_key_create(&exit_key, exit_trampoline))
		return;
	if ((unsigned long)exit_key < GRB_KEYS_IN_DESCRIPTOR)
		exit_key_ok = 1;
	else
		pthread_key_delete(exit_key);
}

/* At load time: before the application takes keys of its own. */
__attribute__((constructor)) static void exit_key_at_load(void)
{
	pthread_once(&exit_once, exit_key_init);
}

int _grb_env_thread_exit_init(void (*fn)(void))
{
	int ret = pthread_once(&exit_once, exit_key_init);

	if (ret)
		return -ret;
	if (!exit_key_ok)
		return -EAGAIN;
	/* relaxed: see exit_trampoline. */
	__atomic_store_n(&exit_fn, fn, __ATOMIC_RELAXED);
	return 0;
}

/* With one of the first 32 keys, pthread_setspecific stores into the
 * thread's descriptor without allocating: it is safe in a signal handler. */
int _grb_env_thread_exit_arm(void)
{
	if (!exit_key_ok)
		return -EAGAIN;
	if (pthread_getspecific(exit_key))
		return 0;
	return -pthread_setspecific(exit_key, (void *)1);
}

int _grb_env_thread_exited(uint32_t tid)
{
	int saved = errno, exited;

	/* Signal 0 to the thread tid of this process: ESRCH once the kernel
	 * has released it (a little after pthread_join() returns). */
	exited = syscall(SYS_tgkill, (pid_t)getpid(), (pid_t)tid, 0) < 0 && errno == ESRCH;
	errno = saved;
	/* [O3] seq_cst fence: the kernel's exit path made the thread's stores
	 * visible (full barriers) before it released the thread, which our
	 * lookup saw; the fence keeps the caller's accesses after it.  gcc's
	 * TSan refuses fences (-Wtsan), and TSan could not see the kernel's
	 * half of this order anyway: there the fence is left out. */
#ifndef __SANITIZE_THREAD__
	if (exited)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
	return exited;
}

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

void _grb_env_registry_lock(void)
{
	pthread_mutex_lock(&registry_lock);
}

int _grb_env_registry_trylock(void)
{
	return pthread_mutex_trylock(&registry_lock) ? -EBUSY : 0;
}

void _grb_env_registry_unlock(void)
{
	pthread_mutex_unlock(&registry_lock);
}
