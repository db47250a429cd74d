// SPDX-License-Identifier: MIT
/*
 * libgrb-preload-cyg-profile.so - function entry and exit of a program
 * built with -finstrument-functions, as CTF events: `grb record --preload
 * cyg-profile -- PROGRAM` (or LD_PRELOAD=libgrb-preload-cyg-profile.so
 * with GRB_SESSION set).
 *
 * __cyg_profile_func_enter and __cyg_profile_func_exit record the
 * function's address and its call site into a channel registered with
 * the recording session (preload.h), as cyg_profile:func_entry and
 * cyg_profile:func_exit; each thread's events are in its order, so its
 * call tree is their nesting.  The program's own definitions of the
 * hooks, if it has them, come before this library's: it then records
 * nothing.
 *
 * `grb ftrace record --preload cyg-profile` records the same hooks as
 * ftrace's function graph in a trace.dat: that is libgrb-preload-ftrace
 * (ftrace.c), a channel of the ftrace client in overwrite mode, without
 * the gate and fork handling of the session's CTF channels that this
 * library shares with the libc and pthread preloads.  Both are small;
 * one library serving both would link both clients into every program.
 *
 * Without a session a hook pays one load and one predictable branch.
 * fork: the child registers a channel of its own at its first hook
 * (preload.c).
 */
#include <stdint.h>

#include "preload.h"

/* clang-format off */
#define CYG_FIELDS(F)	F(u64, addr) F(u64, call_site)
/* clang-format on */
GRB_CTF_EVENT(ev_entry, "cyg_profile:func_entry", 1, CYG_FIELDS)
GRB_CTF_EVENT(ev_exit, "cyg_profile:func_exit", 2, CYG_FIELDS)

static const struct grb_ctf_event_desc *const events[] = { &ev_entry_event, &ev_exit_event };

static struct grb_preload cyg_preload = GRB_PRELOAD_INIT("cyg-profile", events);

#define P(x) , uint64_t x
GRB_PRELOAD_DEFINE_TRACE(&cyg_preload, ev_entry, P(addr) P(call_site), addr, call_site)
GRB_PRELOAD_DEFINE_TRACE(&cyg_preload, ev_exit, P(addr) P(call_site), addr, call_site)
#undef P

void __cyg_profile_func_enter(void *fn, void *site) __attribute__((no_instrument_function));
void __cyg_profile_func_exit(void *fn, void *site) __attribute__((no_instrument_function));

void __cyg_profile_func_enter(void *fn, void *site)
{
	GRB_PRELOAD_TRACE(&cyg_preload, ev_entry, GRB_PRELOAD_U64(fn), GRB_PRELOAD_U64(site));
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	GRB_PRELOAD_TRACE(&cyg_preload, ev_exit, GRB_PRELOAD_U64(fn), GRB_PRELOAD_U64(site));
}

GRB_PRELOAD_CONSTRUCTOR(cyg_preload_init, &cyg_preload)
{
}
