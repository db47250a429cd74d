/* SPDX-License-Identifier: MIT */
/*
 * grb_tool.h - what the files of the grb command line tool share; private
 * to tools/grb (the tool itself uses the installed headers only).
 *
 *	main.c		dispatch to a command, usage, --version
 *	record.c	grb record: options, the recording, the summary
 *	view.c		grb view: babeltrace2, or a summary of the packet indexes
 *	ftrace.c	grb ftrace show: a trace.dat as ftrace prints it
 *	workload.c	the demo workload: its CTF events, configurations and
 *			writer threads
 *	session.c	grb record -- PROGRAM: the recording session
 *	takeover.c	grb record --attach: the buffers of a killed grb
 *			record --buffers taken over while its programs run
 *	profile.c	grb profile -- PROGRAM: the sampling profiler
 *	ftrec.c		grb ftrace record -- PROGRAM: a trace.dat
 *	sessd.c		the recorders' side of a session (sessd.h): the
 *			socket, the registrations, the program's launch
 *	relay.c		grb record --relay, grb recover --relay: the trace
 *			streamed live to lttng-relayd (relay.h)
 *	kernrec.c	grb record --kernel: the channels of grb.ko's
 *			modules, read through /dev/grb
 */
#ifndef GRB_TOOL_H
#define GRB_TOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <grb/grb.h>
#include <grb/ctf.h>

/* record.c */
extern const char record_usage[];
int cmd_record(int argc, char **argv);

/* session.c: grb record -- PROGRAM */
struct relay_cli;
struct program_opts {
	const char *dir; /* the trace directory */
	const char *preload; /* preload libraries' names (libc,pthread), or NULL */
	uint32_t subbuf_size, subbuf_count, streams; /* each process's channel */
	uint32_t wakeup; /* GRB_WAKEUP_NONE (poll) or GRB_WAKEUP_WRITER */
	char *buffers; /* --buffers: the streams' directory (absolute), or NULL */
	const struct relay_cli *rc; /* --hostname, --relay and theirs (relay.h) */
};
int record_program(const struct program_opts *o, char **argv);

/* kernrec.c: grb record --kernel */
struct kernel_opts {
	const char *dir; /* the trace directory, or the trace.dat with ftrace */
	uint64_t duration_ms; /* 0: until SIGINT or SIGTERM */
	int ftrace; /* --format ftrace: the ftrace client's channels, a trace.dat */
	const struct relay_cli *rc; /* --relay and its options (CTF only) */
};
int record_kernel(const struct kernel_opts *o);

/* takeover.c: grb record --attach BUFFERS_DIR: take over the buffers of a
 * dead recorder into the trace out, for duration seconds (0: until every
 * process has ended, or Ctrl-C). */
int record_attach(const char *bufdir, const char *out, double duration);

/* profile.c: grb profile -- PROGRAM */
extern const char profile_usage[];
int cmd_profile(int argc, char **argv);

/* recover.c: grb recover BUFFERS_DIR -o DIR */
extern const char recover_usage[];
int cmd_recover(int argc, char **argv);

/* view.c */
extern const char view_usage[];
int cmd_view(int argc, char **argv);

/* ftrace.c */
extern const char ftrace_usage[];
int cmd_ftrace(int argc, char **argv);

/* ftrec.c: grb ftrace record -- PROGRAM */
extern const char ftrec_usage[];
int cmd_ftrace_record(int argc, char **argv);

/* A trace.dat read back: its data records, its missed events (unknown
 * when a page could not say), and the losses its grb/lost_events records
 * report.  dat_tally: 0, or -1 after saying why (prog first). */
struct dat_tally {
	uint64_t data, missed, in_band;
	int unknown;
};
int dat_tally(const char *prog, const char *path, struct dat_tally *t);
/* 1 when the file accounts exactly for committed records and the losses
 * by cause (other: every cause but overwritten): its data records are
 * those not overwritten, its missed events those overwritten, and it
 * reports no more losses in band than were counted. */
int dat_tally_exact(const struct dat_tally *t, uint64_t committed, const uint64_t *lost,
		    uint64_t other);

/* workload.c: a simulated request-processing server whose writer threads
 * write typed events into a per-CPU channel as fast as they can. */

/* One writer thread. */
struct worker {
	pthread_t thread;
	uint32_t id;
	struct grb_channel *ch; /* the channel it writes to */
	uint64_t ok, failed; /* writes that returned 0 / an error */
};

/* One configuration of the workload: the client configuration to create
 * the trace with, and the writer thread function specialised for it
 * (its argument: the thread's struct worker). */
struct workload {
	const struct grb_config *cfg;
	void *(*writer)(void *arg);
};

extern const struct grb_ctf_event_desc *const workload_events[];
extern const uint32_t workload_nr_events;

/* The configuration for a mode (discard or overwrite) and a clock
 * (CLOCK_MONOTONIC or the TSC). */
const struct workload *workload_select(int overwrite, int tsc);

/* Tell every writer thread to return (then join them). */
void workload_stop(void);

static inline uint64_t now_ns(void)
{
	return grb_clock_monotonic();
}

#endif /* GRB_TOOL_H */
