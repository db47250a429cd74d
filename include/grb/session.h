/* SPDX-License-Identifier: MIT */
/*
 * grb/session.h - recording sessions: a program registers its CTF channel
 * with a recorder in another process (`grb record -- PROGRAM`), which
 * attaches its streams and writes them into one trace.  The protocol is
 * described in doc/session.md; this header gives its messages and the
 * calls of both sides (libgrb-ctf).
 *
 * A program's side:
 *
 *	static const struct grb_config cfg = GRB_SESSION_CONFIG;
 *	static const struct grb_ctf_event_desc *const events[] = { &myapp_tick_event };
 *	struct grb_channel *ch = grb_session_channel(&cfg, "myapp", events, 1);
 *
 *	if (ch)          (NULL: no session, or the recorder refused or is gone)
 *		myapp_tick_write(&cfg, ch, ...);
 *
 * Real-time contract:
 *
 * | function                   | signal-safe | progress | system calls                      |
 * |----------------------------|-------------|----------|-----------------------------------|
 * | grb_session_channel        | no          | blocking | getenv only when GRB_SESSION is   |
 * |                            |             |          | unset; else socket, connect,      |
 * |                            |             |          | sendmsg, recv (2 s timeout), and  |
 * |                            |             |          | grb_channel_create's              |
 * | grb_session_channel_pick   | no          | blocking | as grb_session_channel            |
 * | grb_session_close          | no          | blocking | close, and grb_channel_destroy's  |
 * | grb_session_events_decode  | no          | blocking | malloc                            |
 * | grb_session_events_free    | no          | blocking | free                              |
 */
#ifndef GRB_SESSION_H
#define GRB_SESSION_H

#include <stdint.h>
#include <grb/ctf.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* The environment variable that holds the session's socket path. */
#define GRB_SESSION_ENV "GRB_SESSION"

/* Every message starts with this head; all fields in the host's byte order
 * (both ends run on one machine). */
#define GRB_SESSION_MAGIC 0x53425247u /* "GRBS" in little-endian bytes */
#define GRB_SESSION_VERSION 3u

#define GRB_SESSION_NAME_MAX 32u /* channel and configuration names, with the NUL */
#define GRB_SESSION_PROGRAM_MAX 256u
#define GRB_SESSION_MESSAGE_MAX 128u
#define GRB_SESSION_PATH_MAX 256u /* the buffers' directory, with the NUL */
#define GRB_SESSION_MAX_STREAMS 250u /* descriptors in one SCM_RIGHTS message */
#define GRB_SESSION_EVENTS_MAX 49152u /* bytes of encoded event descriptions */

enum grb_session_type {
	GRB_SESSION_HELLO = 1, /* program -> recorder */
	GRB_SESSION_WELCOME = 2, /* recorder -> program */
	GRB_SESSION_CHANNEL = 3, /* program -> recorder, with the descriptors */
	GRB_SESSION_ACK = 4, /* recorder -> program */
};

struct grb_session_head {
	uint32_t magic; /* GRB_SESSION_MAGIC */
	uint16_t version; /* GRB_SESSION_VERSION */
	uint16_t type; /* enum grb_session_type */
	uint32_t size; /* bytes of the whole message, head included */
	uint32_t _pad;
};

/* Who registers, and the record format of its channel. */
struct grb_session_hello {
	struct grb_session_head head;
	int32_t pid, ppid;
	uint32_t alloc, sync, mode; /* struct grb_config's */
	uint32_t ts_bits, packet_header_size, min_record_size;
	uint32_t event_context; /* GRB_CTF_CONTEXT_* */
	uint32_t wakeups; /* the wake-ups it can create the channel with: a
			   * mask of 1 << GRB_WAKEUP_NONE, 1 << GRB_WAKEUP_WRITER */
	char config[GRB_SESSION_NAME_MAX]; /* struct grb_config.name */
	char name[GRB_SESSION_NAME_MAX]; /* the channel's name */
	char program[GRB_SESSION_PROGRAM_MAX]; /* the program's short name */
};

/* The recorder's answer: status 0 and the geometry and wake-up to create
 * the channel with, or a positive errno and why. */
struct grb_session_welcome {
	struct grb_session_head head;
	int32_t status;
	uint32_t subbuf_size, subbuf_count, nr_streams;
	uint64_t switch_timer_us;
	uint32_t wakeup; /* GRB_WAKEUP_NONE or GRB_WAKEUP_WRITER (packet policy),
			  * one the HELLO offered */
	uint32_t _pad;
	char message[GRB_SESSION_MESSAGE_MAX];
	/* Empty: the streams are memory files (memfd); else the directory
	 * to create them in, as files <name>_<pid>_<index> (the first free
	 * of <name>_<pid>, <name>_<pid>.1, ... for a pid that executed a new
	 * program), which outlive both ends. */
	char buffers[GRB_SESSION_PATH_MAX];
};

/* The channel: its geometry and event descriptions (events_size bytes of
 * the encoding in doc/session.md follow the struct), with the descriptors
 * of its nr_streams streams, in index order, as SCM_RIGHTS. */
struct grb_session_channel {
	struct grb_session_head head;
	uint32_t nr_streams, subbuf_size, subbuf_count;
	uint32_t nr_events, events_size;
	uint32_t wakeup; /* the channel's: the WELCOME's */
};

/* The recorder attached the channel (status 0) or refused it. */
struct grb_session_ack {
	struct grb_session_head head;
	int32_t status;
	uint32_t _pad;
	char message[GRB_SESSION_MESSAGE_MAX];
};

/* The configuration a recorder attaches: per-thread streams, discard mode,
 * and the process and thread ids in every record. */
#define GRB_SESSION_CONFIG \
	GRB_CTF_CONFIG_IDS(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD)
/* The same record format, with the writer wake-up: the writer that
 * delivers a sub-buffer wakes the recorder when it waits. */
#define GRB_SESSION_CONFIG_WAKE                                                                   \
	GRB_CTF_CONFIG_IDS_WAKEUP(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD, \
				  GRB_WAKEUP_WRITER)
/* The same two in overwrite mode (a flight recorder): a ring the recorder
 * does not drain in time drops its oldest packet, counted overwritten,
 * rather than the new records. */
#define GRB_SESSION_CONFIG_OVERWRITE \
	GRB_CTF_CONFIG_IDS(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE)
#define GRB_SESSION_CONFIG_OVERWRITE_WAKE                                       \
	GRB_CTF_CONFIG_IDS_WAKEUP(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, \
				  GRB_MODE_OVERWRITE, GRB_WAKEUP_WRITER)

/**
 * grb_session_channel() - create a channel whose streams the recording
 * session records, and register it.
 * @cfg: GRB_SESSION_CONFIG or GRB_SESSION_CONFIG_WAKE, or in overwrite mode
 *	GRB_SESSION_CONFIG_OVERWRITE or GRB_SESSION_CONFIG_OVERWRITE_WAKE (the
 *	recorder refuses any other, and gives this one's wake-up whatever it
 *	asks for); it must outlive the channel
 * @name: the channel's name (letters, digits, '_', '-', '.'; at most 31):
 *	the trace's stream files are <name>_<pid>_<stream>
 * @events: the events the program writes; they must outlive the channel
 *
 * Without GRB_SESSION in the environment, returns NULL with errno ENOENT
 * at once.  Otherwise connects to the recorder, sends who registers, gets
 * the geometry, creates the channel (GRB_BACKING_MEMFD) and sends its
 * descriptors and the event descriptions; the connection stays open (its
 * end tells the recorder that the program ended or called exec).  In a
 * child made by fork, every channel this call returned is disabled (its
 * records go nowhere, never into the parent's streams) and the child may
 * call again for a channel of its own.
 *
 * Return: the channel, or NULL with errno: ENOENT no session; EINVAL bad
 * arguments; ECONNREFUSED, ENOENT, ETIMEDOUT, EPROTO... the recorder is
 * gone, does not answer in 2 s or answers nonsense; the recorder's status
 * when it refuses (grb_last_error() gives its message); or
 * grb_channel_create's.
 */
struct grb_channel *grb_session_channel(const struct grb_config *cfg, const char *name,
					const struct grb_ctf_event_desc *const *events,
					uint32_t nr_events);

/**
 * grb_session_channel_pick() - as grb_session_channel(), but the recorder
 * chooses the wake-up (`grb record --wakeup`): the channel is created with
 * @cfg (GRB_SESSION_CONFIG: the recorder polls) or @cfg_wake
 * (GRB_SESSION_CONFIG_WAKE: the writer that delivers a sub-buffer wakes
 * the recorder when it waits), and *@used says which; the program writes
 * with that one.  Both must outlive the channel and be of one mode
 * (GRB_SESSION_CONFIG_OVERWRITE and _OVERWRITE_WAKE in overwrite mode).
 */
struct grb_channel *grb_session_channel_pick(const struct grb_config *cfg,
					     const struct grb_config *cfg_wake, const char *name,
					     const struct grb_ctf_event_desc *const *events,
					     uint32_t nr_events, const struct grb_config **used);

/**
 * grb_session_close() - finalize a channel of grb_session_channel() (its
 * writers must be done), end its registration and destroy it.  The
 * recorder drains every record.  Return: 0; -EINVAL not such a channel,
 * or a channel the parent of this child of fork registered (finalizing it
 * would close the parent's packets: the child's copy is disabled, leave
 * it).
 */
int grb_session_close(struct grb_channel *ch);

/**
 * grb_session_events_decode() - the recorder's side: rebuild the event
 * descriptions a program sent.  Every length and count is checked against
 * the buffer, and the result against CTF's rules
 * (grb_ctf_validate_events with subbuf_size).
 * Return: 0 and *events (free with grb_session_events_free); -EPROTO a
 * malformed encoding, -EINVAL invalid events (grb_last_error() says
 * what); -ENOMEM.
 */
int grb_session_events_decode(const void *buf, uint32_t size, uint32_t nr_events,
			      uint32_t subbuf_size,
			      const struct grb_ctf_event_desc *const **events);

/** grb_session_events_free() - free what grb_session_events_decode made. */
void grb_session_events_free(const struct grb_ctf_event_desc *const *events, uint32_t nr_events);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_SESSION_H */
