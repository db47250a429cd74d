/* SPDX-License-Identifier: MIT */
/*
 * relay.h - the relay sink of grb record --relay (doc/relay.md): a fed
 * CTF trace streamed live to an unmodified lttng-relayd, beside the local
 * trace.  Private to tools/grb.
 *
 * relay_connect() speaks to the relay synchronously: the control and data
 * connections, the version, the session and its trace chunk; an error
 * there is the caller's to report (nothing is traced yet).  relay_attach()
 * makes the relay the trace's sink (grb_ctf_trace_set_sink) and starts the
 * sender thread.  From then on the sink's callbacks, in the recorder's
 * thread, only copy into a bounded queue: what does not fit, or comes
 * after the relay was lost, is counted, never waited for.  relay_tick(),
 * called after each drain, sends the live beacons of the idle streams
 * once a live-timer period; relay_finish() tears the session down (the
 * viewers get the last packet) and stops the thread.
 */
#ifndef GRB_TOOL_RELAY_H
#define GRB_TOOL_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <grb/ctf.h>

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

/* Make r the sink of the fed trace t (before any source is attached) and
 * start the sender.  Return 0, or -1 with why in err. */
int relay_attach(struct relay *r, struct grb_ctf_trace *t, char *err, size_t size);

/* After each drain of t: once a live-timer period, a beacon for each
 * stream with nothing new. */
void relay_tick(struct relay *r);

/* 1 the first time it finds the relay lost (why: relay_error()), else 0. */
int relay_newly_lost(struct relay *r);

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
