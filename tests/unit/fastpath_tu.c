// SPDX-License-Identifier: MIT
/*
 * fastpath_tu.c - event sites as an application writes them, compiled
 * alone by specialisation.sh, which inspects the machine code: the fast
 * path must read no configuration field at run time, call no client
 * callback out of line, allocate nothing and make no system call.
 * -DGRB_SPEC_BREAK reads the configuration through a volatile pointer, the
 * way an unspecialised library would; the check must then fail.
 */
#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/native.h>

static const struct grb_config cfg_ga =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_co = GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC,
								GRB_MODE_OVERWRITE, grb_clock_tsc);
static const struct grb_config cfg_tb =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_BLOCKING);
static const struct grb_config cfg_rs = GRB_NATIVE_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, grb_clock_tsc);
static const struct grb_config cfg_ctf =
	GRB_CTF_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

#define TICK_FIELDS(F) F(u32, cpu) F(s64, value) F(string, msg, 64)
GRB_CTF_EVENT(spec_tick, "spec:tick", 3, TICK_FIELDS)

#ifdef GRB_SPEC_BREAK
#define CFG(c) (*(const struct grb_config *volatile *)&(const struct grb_config *){ &(c) })
#else
#define CFG(c) (&(c))
#endif

int spec_global_atomic(struct grb_channel *ch, const void *p);
int spec_percpu_overwrite_tsc(struct grb_channel *ch, const void *p);
int spec_perthread_blocking(struct grb_channel *ch, const void *p);
int spec_ctf_event(struct grb_channel *ch, uint32_t cpu, int64_t v, const char *m);
int spec_percpu_rseq_tsc(struct grb_channel *ch, const void *p);

int spec_global_atomic(struct grb_channel *ch, const void *p)
{
	return grb_write_record(CFG(cfg_ga), ch, 0, p, 16);
}

int spec_percpu_overwrite_tsc(struct grb_channel *ch, const void *p)
{
	return grb_write_record(CFG(cfg_co), ch, 0, p, 16);
}

int spec_perthread_blocking(struct grb_channel *ch, const void *p)
{
	return grb_write_record(CFG(cfg_tb), ch, 0, p, 16);
}

int spec_ctf_event(struct grb_channel *ch, uint32_t cpu, int64_t v, const char *m)
{
	return spec_tick_write(CFG(cfg_ctf), ch, cpu, v, m);
}

int spec_percpu_rseq_tsc(struct grb_channel *ch, const void *p)
{
	return grb_write_record(CFG(cfg_rs), ch, 0, p, 16);
}
