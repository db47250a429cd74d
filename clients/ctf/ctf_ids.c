// SPDX-License-Identifier: MIT
/*
 * ctf_ids.c - each thread's process and thread ids, written into every
 * record of a GRB_CTF_CONFIG_IDS configuration (the vpid and vtid event
 * context).  A thread reads them once, at its first record; the child of
 * a fork, whose only thread inherited its parent's copy, reads them again
 * (the pthread_atfork handler below clears the copy).  A record of such a
 * configuration discarded after reserve becomes filler events with the
 * ids too.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grb/ctf.h>

#include "ctf_internal.h"

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

/* The filler events of a record discarded after reserve carry the ids
 * too: the discarding thread's, which wrote the record. */
void grb_ctf_record_discard_ids(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	if (!grb_ctf_ids_tls.tid)
		grb_ctf_ids_refresh();
	_grb_ctf_discard(ctx, GRB_CTF_IDS_SIZE, &grb_ctf_ids_tls);
}
