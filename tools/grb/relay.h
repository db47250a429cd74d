/* SPDX-License-Identifier: MIT */
/*
 * relay.h - the relay sink of grb record --relay and grb recover --relay
 * (doc/relay.md): a fed CTF trace streamed live to an unmodified
 * lttng-relayd, beside the local trace.  Private to tools/grb.
 *
 * relay_cli_*() parse the options that go with it and connect as the
 * commands do.
 * relay_connect() speaks to the relay synchronously: the control and data
 * connections, the version, the session and its trace chunk; an error
 * there is the caller's to report (nothing is traced yet).  relay_attach()
 * makes the relay the trace's sink (grb_ctf_trace_set_sink) and starts the
 * sender thread.  From then on the sink's callbacks, in the recorder's
 * thread, only copy into a bounded queue: what does not fit, or comes
 * after the relay was lost, is counted, never waited for.  relay_tick(),
 * called after each drain, sends the live beacons of the idle streams
 * once a live-timer period (and has the trace write early the open
 * packet of a stream whose writer waits); relay_finish() tears the
 * session down (the viewers get the last packet) and stops the thread.
 */
#ifndef GRB_TOOL_RELAY_H
#define GRB_TOOL_RELAY_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <grb/ctf.h>

/* The options of a command that streams its trace (grb record, grb
 * recover), parsed by relay_cli_option(). */
struct relay_cli {
	const char *url; /* --relay URL, or NULL */
	const char *hostname; /* --hostname NAME, or NULL: the machine's */
	uint64_t live_timer_ms; /* --live-timer MS (1000) */
	uint64_t minor; /* --relay-protocol 2.N: N (13) */
	int fallback; /* --relay-fallback */
	int relay_only; /* an option that goes with --relay was given */
};

/* Their getopt_long values and entries. */
enum {
	RELAY_OPT_HOSTNAME = 0x200,
	RELAY_OPT_RELAY,
	RELAY_OPT_LIVE_TIMER,
	RELAY_OPT_FALLBACK,
	RELAY_OPT_PROTOCOL,
};
/* clang-format off */
#define RELAY_LONG_OPTIONS                                                      \
	{ "hostname", required_argument, NULL, RELAY_OPT_HOSTNAME },            \
	{ "relay", required_argument, NULL, RELAY_OPT_RELAY },                  \
	{ "live-timer", required_argument, NULL, RELAY_OPT_LIVE_TIMER },        \
	{ "relay-fallback", no_argument, NULL, RELAY_OPT_FALLBACK },            \
	{ "relay-protocol", required_argument, NULL, RELAY_OPT_PROTOCOL }
/* clang-format on */

/* lttng-relayd's viewers take host names of at most 63 bytes. */
#define RELAY_HOSTNAME_MAX 63u
/* And session names of at most 254 bytes. */
#define RELAY_SESSION_MAX 254u
/* The packets the sender may hold, in bytes: past it they are dropped. */
#define RELAY_QUEUE_MAX (64u << 20)

struct relay_opts {
	const char *url; /* net://HOST[:CTRL[:DATA]][/PATH], net6://... */
	const char *hostname; /* as the relay files and lists the session */
	const char *session; /* the session's name */
	uint64_t live_timer_us; /* beacons of idle streams this often */
	uint32_t minor; /* the protocol 2.minor to announce (13; 4 to 13) */
	uint64_t (*clock)(void); /* the trace's clock; NULL: CLOCK_MONOTONIC */
};

struct relay;

void relay_cli_init(struct relay_cli *c);

/* Option opt of getopt_long with its argument: 0 taken, 2 refused (after
 * saying why, prog first: "grb record: --live-timer 0: ..."), -1 not one
 * of RELAY_LONG_OPTIONS. */
int relay_cli_option(struct relay_cli *c, int opt, const char *arg, const char *prog);

/* After the options: 0, or 2 after saying why (an option that goes with
 * --relay without it). */
int relay_cli_check(const struct relay_cli *c, const char *prog);

/* The host name the trace says it comes from: --hostname, else (with
 * --relay) the machine's, which must suit the relay: NULL after saying
 * why (exit status 2); NULL without --relay nor --hostname (the trace
 * takes the machine's). *bad says which NULL it is. */
const char *relay_cli_hostname(const struct relay_cli *c, char *buf, size_t size, const char *prog,
			       int *bad);

/* Connect for the trace of directory dir (the session is named after its
 * last component) from host hostname, whose clock is clock (NULL:
 * CLOCK_MONOTONIC), and create the session: the relay.  NULL after
 * saying why: *unreached 1 when --relay-fallback lets the trace go on
 * without it (the local trace only, exit status 3 at the end), else 0
 * (exit status 1, nothing traced).  The messages say what the command
 * does and did: "recording", "recorded". */
struct relay *relay_cli_connect(const struct relay_cli *c, const char *prog, const char *dir,
				const char *hostname, uint64_t (*clock)(void), const char *doing,
				const char *done, int *unreached);

/* Check a host or session name as the relay and its viewers take it:
 * NULL if good, else why not. */
const char *relay_name_error(const char *name, size_t max);

/* Parse opts->url without connecting: 0, or -1 with why in err. */
int relay_check_url(const char *url, char *err, size_t size);

/* Connect and create the session.  Return the relay, or NULL with why in
 * err (nothing was created on the relay, or the session it made goes
 * with the connection). */
struct relay *relay_connect(const struct relay_opts *opts, char *err, size_t size);

/* The protocol minor in use and the session's directory on the relay
 * (relative to its output directory). */
uint32_t relay_minor(const struct relay *r);
const char *relay_path(const struct relay *r);

/* The URL a live viewer reads the session at (the relay's default live
 * port, 5344). */
void relay_viewer_url(const struct relay *r, char *buf, size_t size);

/* Before relay_attach(): the sources' records are older than their attach
 * (a recovered trace), so each stream's empty first packet waits for its
 * first packet (or beacon, or the end) and is stamped no later. */
void relay_records_predate(struct relay *r);

/* Make r the sink of the fed trace t (before any source is attached) and
 * start the sender.  Return 0, or -1 with why in err. */
int relay_attach(struct relay *r, struct grb_ctf_trace *t, char *err, size_t size);

/* After each drain of t: once a live-timer period, a beacon for each
 * stream with nothing new. */
void relay_tick(struct relay *r);

/* The first time it finds the relay lost, say so on standard error:
 * "PROG: the relay URL is lost (why): HOW into DIR only" (how: "the
 * recording goes on", ...). */
void relay_say_lost(struct relay *r, const char *prog, const char *how, const char *dir);

/* The relay was lost (""): why. */
const char *relay_error(const struct relay *r);

/* After grb_ctf_trace_stop(): send what is queued, tear the session down
 * and stop the sender; return 0 if every packet reached the relay. */
int relay_finish(struct relay *r);

/* The summary's line. */
void relay_report(const struct relay *r, FILE *f);

/* Close and free (after relay_finish, or instead of it). */
void relay_free(struct relay *r);

#endif /* GRB_TOOL_RELAY_H */
