// SPDX-License-Identifier: MIT
/*
 * env_user.c - the environment layer for Linux user space.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/channel.h>
#include "env_internal.h"



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

int _grb_env_nr_cpus(void)
{
	long v = sysconf(_SC_NPROCESSORS_CONF);

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

uint64_t _grb_env_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t _grb_env_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void _grb_env_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int _grb_env_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u) };
	long r = syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);

	if (r < 0 && errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0;
}

void _grb_env_futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

static __thread char last_error[256];

void _grb_env_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *grb_last_error(void)
{
	return last_error;
}

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static void (*exit_fn)(void);

static void exit_trampoline(void *arg)
{
	(void)arg;
	if (exit_fn)
		exit_fn();
}

static void exit_key_init(void)
{
	pthread_key_create(&exit_key, exit_trampoline);
}

int _grb_env_thread_exit_init(void (*fn)(void))
{
	exit_fn = fn;
	return -pthread_once(&exit_once, exit_key_init);
}

/* pthread_setspecific of one of the first keys of a process stores into the
 * thread's descriptor without allocating, so it is safe in a signal handler. */
int _grb_env_thread_exit_arm(void)
{
	if (pthread_getspecific(exit_key))
		return 0;
	return -pthread_setspecific(exit_key, (void *)1);
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
