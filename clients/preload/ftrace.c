// SPDX-License-Identifier: MIT
/*
 * libgrb-preload-ftrace.so - ftrace records from a program that knows
 * nothing of grb: `grb ftrace record --preload cyg-profile -- PROGRAM`
 * (or LD_PRELOAD=libgrb-preload-ftrace.so with GRB_SESSION set and
 * GRB_FTRACE_PRELOAD=cyg-profile).
 *
 * Its constructor creates the ftrace client's channel
 * (GRB_FTRACE_CONFIG_DEFAULT: per-CPU streams of ftrace pages, overwrite
 * mode, memfd backing) through the recording session (<grb/session.h>,
 * no CTF events) and registers it.  GRB_FTRACE_PRELOAD lists, separated
 * by commas, what then goes into it:
 *
 *	cyg-profile	__cyg_profile_func_enter and __cyg_profile_func_exit,
 *			the hooks of a program built with -finstrument-functions,
 *			as ftrace's funcgraph_entry and funcgraph_exit
 *			(grb_ftrace_func_entry/exit: the depth is the thread's)
 *
 * The program's own definitions of the hooks, if it has them, come
 * before this library's: it then records nothing.
 *
 * Without a session nothing is registered and the hooks return at once.
 *
 * fork: libgrb-ctf's fork handler disables the child's copy of the
 * channel (its records go nowhere); the child of an exec registers anew.
 * At exit the channel is flushed, not finalized (other threads may be
 * in a record): the recorder takes pages, and a consuming reader gets a
 * partly filled page only once it is closed.  Records written after the
 * flush by threads still running are counted committed but stay in an
 * open page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/session.h>
#include <grb/ftrace.h>

/* The environment variable that lists what is recorded. */
#define FTRACE_PRELOAD_ENV "GRB_FTRACE_PRELOAD"

static const struct grb_config cfg = GRB_FTRACE_CONFIG_DEFAULT;

/* Set once by the constructor, before the program's threads exist, and
 * then only read: the threads it creates see it through pthread_create. */
static struct grb_channel *func_ch;
static struct grb_channel *chan;

void __cyg_profile_func_enter(void *fn, void *site) __attribute__((no_instrument_function));
void __cyg_profile_func_exit(void *fn, void *site) __attribute__((no_instrument_function));

void __cyg_profile_func_enter(void *fn, void *site)
{
	struct grb_channel *ch = func_ch;

	(void)site;
	if (ch)
		grb_ftrace_func_entry(&cfg, ch, (uint64_t)(uintptr_t)fn);
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	struct grb_channel *ch = func_ch;

	(void)site;
	if (ch)
		grb_ftrace_func_exit(&cfg, ch, (uint64_t)(uintptr_t)fn);
}

/* Whether the comma-separated list has the word. */
static int listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (*list) {
		size_t len = strcspn(list, ",");

		if (len == n && !strncmp(list, word, n))
			return 1;
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}

__attribute__((constructor)) static void ftrace_preload_init(void)
{
	const char *what = getenv(FTRACE_PRELOAD_ENV);
	struct grb_channel *ch;

	if (!getenv(GRB_SESSION_ENV))
		return;
	if (!what || !what[0])
		what = "cyg-profile";
	ch = grb_session_channel(&cfg, "ftrace", NULL, 0);
	if (!ch) {
		fprintf(stderr, "libgrb-preload-ftrace: not recording: %s\n", grb_last_error());
		return;
	}
	chan = ch;
	if (listed(what, "cyg-profile"))
		func_ch = ch;
}

__attribute__((destructor)) static void ftrace_preload_fini(void)
{
	if (chan)
		grb_channel_flush(chan);
}
