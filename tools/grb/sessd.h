/* SPDX-License-Identifier: MIT */
/*
 * sessd.h - the recorder's side of a recording session (doc/session.md),
 * shared by grb record -- PROGRAM (session.c), grb profile (profile.c)
 * and grb ftrace record (ftrec.c); private to tools/grb.
 *
 * sessd.c owns the session's socket, the connections and the protocol:
 * accepting, reading HELLO and CHANNEL with their descriptors, checking
 * the heads, the peer's pid (SO_PEERCRED) and the channel message's size,
 * answering WELCOME and ACK, counting refusals, noticing a process that
 * registers again after exec, and the end of each connection; it starts
 * the program with GRB_SESSION and the preload in its environment, reaps
 * the processes (it is their child subreaper), and runs the event loop
 * until they are all gone, or Ctrl-C.  A recorder says in a struct
 * sessd_ops which record formats it takes, the geometry it gives, what
 * it does with an attached channel and on each tick of the loop.  It
 * also gives the wake-up of a recorder that drains on a timer, and the
 * new threads of a registered process (their names from /proc).
 */
#ifndef GRB_TOOL_SESSD_H
#define GRB_TOOL_SESSD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <grb/session.h>

enum sessd_state { SESSD_WANT_HELLO, SESSD_WANT_CHANNEL, SESSD_REGISTERED };

/* A connection: the first member of a recorder's own (ops->conn_size). */
struct sessd_conn {
	int fd; /* -1 once closed */
	enum sessd_state state;
	pid_t peer; /* SO_PEERCRED */
	int eof; /* the connection ended: the process exited or exec'ed */
	struct grb_session_hello hello; /* once accepted */
	struct grb_session_welcome welcome; /* as sent */
	uint32_t *tids; /* the threads sessd_new_threads() gave */
	uint32_t nr_tids, cap_tids;
};

struct sessd_reaped {
	pid_t pid;
	int status;
};

struct sessd;

struct sessd_ops {
	size_t conn_size; /* of the recorder's connection, >= sizeof(struct sessd_conn) */
	/* A new connection (zeroed but for the struct sessd_conn). */
	void (*conn_init)(struct sessd *s, struct sessd_conn *c);
	/* HELLO's record format and names, once its head, strings and pid
	 * passed: 0, or a positive errno and why (the registration is
	 * refused). */
	int (*hello)(struct sessd *s, const struct grb_session_hello *h, char *why, size_t size);
	/* The WELCOME's geometry and wake-up for c (c->hello is set). */
	void (*welcome)(struct sessd *s, struct sessd_conn *c, struct grb_session_welcome *w);
	/* A registered connection of the pid that registers again (it
	 * called exec, if o's connection ended). */
	void (*exec)(struct sessd *s, struct sessd_conn *o);
	/* CHANNEL, its head and size checked: check its geometry against
	 * c->welcome and attach it.  0, or a positive errno and why.  The
	 * descriptors are closed after it returns. */
	int (*channel)(struct sessd *s, struct sessd_conn *c, const struct grb_session_channel *m,
		       const int *fds, uint32_t nfd, char *why, size_t size);
	/* After each round of events: drain.  Return 1 if every registered
	 * process has ended, 0 if not, -1 to stop now (it said why). */
	int (*tick)(struct sessd *s);
	/* A descriptor given to sessd_watch() is readable. */
	void (*watched)(struct sessd *s, int fd);
	/* A CHANNEL carries event descriptions (grb record); else a
	 * channel message with events is malformed. */
	int events;
	const char *malformed_channel; /* the ACK's message for a malformed one */
	const char *ending; /* the WELCOME's message after Ctrl-C */
};

struct sessd {
	const struct sessd_ops *ops;
	void *arg; /* the recorder's */
	const char *cmd; /* "grb record": the messages' prefix */
	int lfd, sfd, ep, wfd;
	char sockdir[32], sock[64];
	sigset_t old; /* the signal mask before sessd_start() */
	pid_t child;
	int child_status, child_reaped;
	int children_left; /* 0 once waitpid says ECHILD */
	int interrupted; /* 1 at Ctrl-C, 2 at the second */
	int catch_usr1; /* set before sessd_start(): count SIGUSR1 in usr1 */
	uint32_t usr1; /* SIGUSR1 received (with catch_usr1) */
	int timeout_ms; /* the loop's wait; the tick may change it */
	struct sessd_conn **conns;
	uint32_t nr_conns, cap_conns;
	struct sessd_reaped *reaped;
	uint32_t nr_reaped, cap_reaped;
	uint32_t refused;
};

/* Create the socket in a new directory /tmp/<prefix>-XXXXXX.  Return: 0,
 * or 1 with a message. */
int sessd_listen(struct sessd *s, const struct sessd_ops *ops, void *arg, const char *cmd,
		 const char *prefix);
/* Become the child subreaper, block SIGCHLD, SIGINT and SIGTERM into a
 * signalfd, and make the event loop.  Return: 0, or 1 with a message. */
int sessd_start(struct sessd *s);
/* Add fd to the event loop: ops->watched() when it is readable.  Return:
 * 0, or -1 with errno. */
int sessd_watch(struct sessd *s, int fd);
/* Start argv with GRB_SESSION, the preload library at path preload (or
 * NULL) first in LD_PRELOAD, and env's NAME, VALUE pairs (NULL-ended, or
 * NULL) in its environment. */
void sessd_launch(struct sessd *s, char **argv, const char *preload, const char *const *env);
/* The event loop: until the program and all its children have exited and
 * ops->tick() says every process ended, or it fails, or the grace after
 * Ctrl-C is over, or a second Ctrl-C.  Return: 0, or -1 if the tick
 * failed. */
int sessd_run(struct sessd *s);
/* The wake-up of a recorder that drains on its timer and never waits:
 * none if c's HELLO offered it, else the one it offered (a writer
 * wake-up makes no system call while nobody waits). */
uint32_t sessd_wakeup_polled(const struct sessd_conn *c);
/* The exec handler of a recorder whose connection c attached the channel
 * ch (NULL: none yet): the process registered again after exec, so ch has
 * no writer any more (grb_channel_owner_gone(): it drains to the end) and
 * c closes.  *gone: set once done, so that it happens once. */
void sessd_exec_channel(struct sessd *s, struct sessd_conn *c, struct grb_channel *ch, int *gone);
/* The threads of c's process not given before: fn(arg, tid, its name in
 * /proc/PID/task/TID/comm) for each. */
void sessd_new_threads(struct sessd_conn *c, void (*fn)(void *arg, uint32_t tid, const char *comm),
		       void *arg);
/* Close c's connection (its process will not hear from us again). */
void sessd_conn_close(struct sessd *s, struct sessd_conn *c);
/* Was pid reaped by us? */
int sessd_was_reaped(const struct sessd *s, pid_t pid);
/* Close every connection (the recorder freed what its own hold); free
 * them, close the socket and remove its directory, restore the signal
 * mask. */
void sessd_close(struct sessd *s);

/* The preload library libgrb-preload-NAME.so's path.  Return: 0, or -1
 * with a message. */
int find_preload(const char *name, char *path, size_t size);

#endif /* GRB_TOOL_SESSD_H */
