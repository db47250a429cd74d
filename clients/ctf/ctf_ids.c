// SPDX-License-Identifier: MIT
/*
 * ctf_ids.c - each thread's process and thread ids, written into every
 * record of a GRB_CTF_CONFIG_IDS configuration (the vpid and vtid event
 * context).  A thread reads them once, at its first record; the child of
 * a fork, whose only thread inherited its parent's copy, reads them again
 * (the pthread_atfork handler below clears the copy).
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grb/ctf.h>

__thread struct grb_ctf_ids grb_ctf_ids_tls __attribute__((tls_model("initial-exec")));

void grb_ctf_ids_refresh(void)
{
	/* System calls, not the libc's caches: signal-safe, and right in a
	 * child made by a raw clone too. */
	grb_ctf_ids_tls.pid = (int32_t)syscall(SYS_getpid);
	grb_ctf_ids_tls.tid = (int32_t)syscall(SYS_gettid);
}

static void ids_forked(void)
{
	grb_ctf_ids_tls.tid = 0;
}

__attribute__((constructor)) static void ids_init(void)
{
	pthread_atfork(NULL, NULL, ids_forked);
}
