// SPDX-License-Identifier: MIT
/*
 * session.c - `grb record -- PROGRAM`: the recording session.  Start the
 * program with the session's socket in its environment (GRB_SESSION) and,
 * with --preload, a preload library in LD_PRELOAD; accept the
 * registrations of the program and of every process it starts
 * (doc/session.md), attach their channels into one fed CTF trace, drain
 * it when a writer wakes us (--wakeup writer: a thread per process sleeps
 * on its streams' futexes and signals the event loop through an eventfd)
 * or on a timer (--wakeup none: the writers never make a system call), notice
 * when each process ends, and end when the program and all its children
 * have exited, or on Ctrl-C.  Then print what each process wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/session.h>

#include "grb_tool.h"

static const struct grb_config session_cfg = GRB_SESSION_CONFIG;

/* The drain timer: a channel of GRB_WAKEUP_NONE is polled every 1 ms
 * while packets come, backing off to 20 ms when idle; when every channel
 * has a waiter, the timer only looks for ended processes, every 20 ms. */
#define POLL_MIN_MS 1
#define POLL_MAX_MS 20
/* A waiter's longest sleep before it looks again (a writer wakes it). */
#define WAIT_NS 1000000000ull
/* After Ctrl-C, how long the processes get to end before the trace is
 * closed without them. */
#define GRACE_NS 2000000000ull
/* How often an ended connection's process is looked up in /proc. */
#define ALIVE_CHECK_NS 20000000ull

enum conn_state { WANT_HELLO, WANT_CHANNEL, REGISTERED };

/*
 * The waiter of a channel with the writer wake-up: a thread asleep in
 * grb_channel_wait() on all its streams while armed; when a stream has a
 * delivered sub-buffer it disarms and makes the event loop's eventfd
 * readable.  The loop drains, then arms it again: the wait raises the
 * streams' reader_waiting before it looks, so a sub-buffer delivered
 * between the drain and the sleep is found by the look, or wakes it.
 */
struct waiter {
	pthread_t thread;
	struct grb_channel *ch;
	int efd; /* the session's */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int armed, stop, failed; /* under lock */
	uint32_t cancel; /* futex: changed under lock to stop a wait */
	uint64_t wakes; /* times it woke the loop, under lock */
};

struct conn {
	int fd; /* -1 once closed */
	enum conn_state state;
	pid_t peer; /* SO_PEERCRED */
	struct grb_session_hello hello;
	struct grb_session_welcome welcome;
	int src; /* the trace's source, -1 before */
	int eof; /* the connection ended: the process exited or exec'ed */
	uint64_t last_alive_check;
	const struct grb_ctf_event_desc *const *events;
	uint32_t nr_events;
	struct waiter *w; /* the writer wake-up's, or NULL: polled */
	uint64_t wakes; /* its waiter's, kept when it stops */
};

struct reaped {
	pid_t pid;
	int status;
};

struct session {
	struct grb_ctf_trace *t;
	const struct program_opts *o;
	int lfd, sfd, ep, efd;
	pid_t child;
	int child_status, child_reaped;
	int children_left; /* 0 once waitpid says ECHILD */
	int interrupted;
	struct conn **conns;
	uint32_t nr_conns, cap_conns;
	struct reaped *reaped;
	uint32_t nr_reaped, cap_reaped;
	uint32_t refused;
};

static void *grow(void *p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	q = realloc(p, (size_t)n * elem);
	if (!q) {
		fprintf(stderr, "grb record: out of memory\n");
		exit(1);
	}
	*cap = n;
	return q;
}

static void head_init(struct grb_session_head *h, uint16_t type, uint32_t size)
{
	memset(h, 0, sizeof(*h));
	h->magic = GRB_SESSION_MAGIC;
	h->version = GRB_SESSION_VERSION;
	h->type = type;
	h->size = size;
}

static void *waiter_main(void *arg)
{
	struct waiter *w = (struct waiter *)arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		uint32_t cancel;
		int ret;

		while (!w->armed && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		cancel = w->cancel;
		pthread_mutex_unlock(&w->lock);
		ret = grb_channel_wait(w->ch, &w->cancel, cancel, WAIT_NS);
		pthread_mutex_lock(&w->lock);
		if (ret == -ETIMEDOUT || ret == -EINTR)
			continue; /* still armed: look again */
		w->armed = 0;
		if (ret) {
			w->failed = 1; /* polled from now on */
			break;
		}
		if (w->stop)
			break;
		w->wakes++;
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow: the loop reads it. */
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static struct waiter *waiter_start(struct session *ss, struct grb_channel *ch)
{
	struct waiter *w = (struct waiter *)calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->ch = ch;
	w->efd = ss->efd;
	w->armed = 1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, waiter_main, w)) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return NULL;
	}
	return w;
}

/* Arm the waiter after a drain; 0 if it cannot wait (polled instead). */
static int waiter_arm(struct waiter *w)
{
	int ok;

	pthread_mutex_lock(&w->lock);
	ok = !w->failed;
	if (ok && !w->armed) {
		w->armed = 1;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static void waiter_stop(struct conn *c)
{
	struct waiter *w = c->w;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	w->cancel++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	syscall(SYS_futex, &w->cancel, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(w->thread, NULL);
	c->wakes = w->wakes;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	c->w = NULL;
}

static void conn_close(struct session *ss, struct conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(ss->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Answer HELLO with status 0 or a positive errno and why. */
static void send_welcome(struct session *ss, struct conn *c, int status, const char *why)
{
	struct grb_session_welcome *w = &c->welcome;

	memset(w, 0, sizeof(*w));
	head_init(&w->head, GRB_SESSION_WELCOME, sizeof(*w));
	w->status = status;
	if (!status) {
		w->subbuf_size = ss->o->subbuf_size;
		w->subbuf_count = ss->o->subbuf_count;
		w->nr_streams = ss->o->streams;
		w->switch_timer_us = 100000;
		/* What we asked for if offered; else what was (a program
		 * built with one configuration). */
		w->wakeup = c->hello.wakeups & (1u << ss->o->wakeup)   ? ss->o->wakeup :
			    c->hello.wakeups & (1u << GRB_WAKEUP_NONE) ? GRB_WAKEUP_NONE :
									 GRB_WAKEUP_WRITER;
	}
	snprintf(w->message, sizeof(w->message), "%s", why ? why : "");
	if (send(c->fd, w, sizeof(*w), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(*w) ||
	    status)
		conn_close(ss, c);
}

static void send_ack(struct session *ss, struct conn *c, int status, const char *why)
{
	struct grb_session_ack a;

	memset(&a, 0, sizeof(a));
	head_init(&a.head, GRB_SESSION_ACK, sizeof(a));
	a.status = status;
	snprintf(a.message, sizeof(a.message), "%s", why ? why : "");
	if (send(c->fd, &a, sizeof(a), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(a) || status)
		conn_close(ss, c);
}

static int str_in(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static int name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/* Is the connection's peer gone (its end of the socket closed)? */
static int conn_hung_up(const struct conn *c)
{
	struct pollfd p = { c->fd, POLLIN | POLLRDHUP, 0 };

	if (c->eof || c->fd < 0)
		return 1;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

static void on_hello(struct session *ss, struct conn *c, const void *buf, ssize_t n)
{
	const struct grb_session_hello *h = (const struct grb_session_hello *)buf;
	const struct grb_config *cfg = &session_cfg;
	char why[GRB_SESSION_MESSAGE_MAX];
	uint32_t i;

	if (n < (ssize_t)sizeof(struct grb_session_head) || h->head.magic != GRB_SESSION_MAGIC) {
		ss->refused++;
		conn_close(ss, c); /* not this protocol at all */
		return;
	}
	if (h->head.version != GRB_SESSION_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u, this recorder speaks %u",
			 h->head.version, GRB_SESSION_VERSION);
		ss->refused++;
		/* A welcome of this version: a client of another reads the
		 * version and gives up. */
		send_welcome(ss, c, EPROTONOSUPPORT, why);
		return;
	}
	if (n != (ssize_t)sizeof(*h) || h->head.type != GRB_SESSION_HELLO ||
	    h->head.size != sizeof(*h) || !str_in(h->config, sizeof(h->config)) ||
	    !str_in(h->name, sizeof(h->name)) || !str_in(h->program, sizeof(h->program))) {
		ss->refused++;
		send_welcome(ss, c, EPROTO, "malformed registration");
		return;
	}
	if (h->pid != c->peer) {
		snprintf(why, sizeof(why), "pid %d registers from process %d", h->pid,
			 (int)c->peer);
		ss->refused++;
		send_welcome(ss, c, EPERM, why);
		return;
	}
	if (strcmp(h->config, cfg->name) || h->alloc != (uint32_t)cfg->alloc ||
	    h->sync != (uint32_t)cfg->sync || h->mode != (uint32_t)cfg->mode ||
	    h->ts_bits != cfg->ts_bits || h->packet_header_size != cfg->packet_header_size ||
	    h->min_record_size != cfg->min_record_size || h->event_context != GRB_CTF_CONTEXT_IDS ||
	    !h->wakeups || (h->wakeups & ~((1u << GRB_WAKEUP_NONE) | (1u << GRB_WAKEUP_WRITER)))) {
		snprintf(why, sizeof(why),
			 "configuration \"%.20s\" (alloc %u, sync %u, mode %u, wake-ups %#x): "
			 "this recorder takes GRB_SESSION_CONFIG(_WAKE)",
			 h->config, h->alloc, h->sync, h->mode, h->wakeups);
		ss->refused++;
		send_welcome(ss, c, EPROTO, why);
		return;
	}
	if (!name_ok(h->name)) {
		ss->refused++;
		send_welcome(ss, c, EINVAL, "channel name: letters, digits, '_', '-', '.'");
		return;
	}
	if (ss->interrupted) {
		ss->refused++;
		send_welcome(ss, c, ECANCELED, "the recording is ending");
		return;
	}
	c->hello = *h;
	/* A process that registers again has called exec if its earlier
	 * connections ended (exec closed them before the new program ran):
	 * nothing writes their channels any more. */
	for (i = 0; i < ss->nr_conns; i++) {
		struct conn *o = ss->conns[i];

		if (o != c && o->src >= 0 && o->hello.pid == h->pid && conn_hung_up(o)) {
			o->eof = 1;
			conn_close(ss, o);
			grb_ctf_trace_source_end(ss->t, (uint32_t)o->src);
		}
	}
	c->state = WANT_CHANNEL;
	send_welcome(ss, c, 0, NULL);
}

static void on_channel(struct session *ss, struct conn *c, const unsigned char *buf, ssize_t n,
		       const int *fds, uint32_t nfd, int truncated)
{
	const struct grb_session_channel *m = (const struct grb_session_channel *)buf;
	const struct grb_ctf_event_desc *const *events = NULL;
	char why[GRB_SESSION_MESSAGE_MAX];
	int ret;

	if (truncated || n < (ssize_t)sizeof(*m) || m->head.magic != GRB_SESSION_MAGIC ||
	    m->head.version != GRB_SESSION_VERSION || m->head.type != GRB_SESSION_CHANNEL ||
	    m->head.size != (uint64_t)n || m->events_size > GRB_SESSION_EVENTS_MAX ||
	    (uint64_t)n != sizeof(*m) + (uint64_t)m->events_size) {
		ss->refused++;
		send_ack(ss, c, EPROTO, "malformed channel message");
		return;
	}
	if (m->nr_streams != nfd || nfd != c->welcome.nr_streams ||
	    m->subbuf_size != c->welcome.subbuf_size ||
	    m->subbuf_count != c->welcome.subbuf_count || m->wakeup != c->welcome.wakeup) {
		snprintf(why, sizeof(why),
			 "%u descriptors for %u streams of %u x %u bytes, wake-up %u; expected %u "
			 "of %u x %u, %u",
			 nfd, m->nr_streams, m->subbuf_count, m->subbuf_size, m->wakeup,
			 c->welcome.nr_streams, c->welcome.subbuf_count, c->welcome.subbuf_size,
			 c->welcome.wakeup);
		ss->refused++;
		send_ack(ss, c, EPROTO, why);
		return;
	}
	ret = grb_session_events_decode(buf + sizeof(*m), m->events_size, m->nr_events,
					m->subbuf_size, &events);
	if (ret) {
		ss->refused++;
		send_ack(ss, c, -ret, grb_last_error());
		return;
	}
	ret = grb_ctf_trace_attach(ss->t, fds, nfd, c->hello.name, c->hello.pid, events,
				   m->nr_events);
	if (ret < 0) {
		ss->refused++;
		send_ack(ss, c, -ret, grb_last_error());
		grb_session_events_free(events, m->nr_events);
		return;
	}
	c->src = ret;
	c->events = events;
	c->nr_events = m->nr_events;
	c->state = REGISTERED;
	/* Its writers wake us: a waiter sleeps on its streams.  (Without
	 * one, it is polled.) */
	if (m->wakeup == GRB_WAKEUP_WRITER)
		c->w = waiter_start(ss, grb_ctf_trace_source_channel(ss->t, (uint32_t)c->src));
	send_ack(ss, c, 0, NULL);
}

static void on_readable(struct session *ss, struct conn *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * (GRB_SESSION_MAX_STREAMS + 1))];
	} ctl;
	static unsigned char buf[sizeof(struct grb_session_channel) + GRB_SESSION_EVENTS_MAX + 1];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg;
	struct cmsghdr *cm;
	int fds[GRB_SESSION_MAX_STREAMS + 1];
	uint32_t nfd = 0, i;
	int too_many = 0;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		n = 0; /* a reset connection ends as a closed one */
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		uint32_t k, nr;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nr = (uint32_t)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (k = 0; k < nr; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (nfd < GRB_SESSION_MAX_STREAMS)
				fds[nfd++] = fd;
			else {
				close(fd);
				too_many = 1;
			}
		}
	}
	if (n == 0) {
		c->eof = 1;
		conn_close(ss, c);
	} else if (c->state == WANT_HELLO && !nfd) {
		on_hello(ss, c, buf, n);
	} else if (c->state == WANT_CHANNEL) {
		on_channel(ss, c, buf, n, fds, nfd,
			   too_many || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
	} else {
		/* Nothing else is ever sent. */
		ss->refused++;
		conn_close(ss, c);
	}
	for (i = 0; i < nfd; i++)
		close(fds[i]); /* the attached channel maps them */
}

static void on_accept(struct session *ss)
{
	for (;;) {
		int fd = accept4(ss->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct epoll_event ev;
		struct ucred cr;
		socklen_t len = sizeof(cr);
		struct conn *c;

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
			close(fd);
			continue;
		}
		c = (struct conn *)calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = cr.pid;
		c->src = -1;
		ss->conns = (struct conn **)grow(ss->conns, &ss->cap_conns, ss->nr_conns + 1,
						 sizeof(*ss->conns));
		ss->conns[ss->nr_conns++] = c;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ss->ep, EPOLL_CTL_ADD, fd, &ev))
			conn_close(ss, c);
	}
}

static void reap(struct session *ss)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0) {
			if (errno == ECHILD)
				ss->children_left = 0;
			return;
		}
		if (pid == 0)
			return;
		if (pid == ss->child) {
			ss->child_status = status;
			ss->child_reaped = 1;
		}
		ss->reaped = (struct reaped *)grow(ss->reaped, &ss->cap_reaped, ss->nr_reaped + 1,
						   sizeof(*ss->reaped));
		ss->reaped[ss->nr_reaped].pid = pid;
		ss->reaped[ss->nr_reaped].status = status;
		ss->nr_reaped++;
	}
}

static void on_signal(struct session *ss)
{
	struct signalfd_siginfo si;

	while (read(ss->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(ss);
		else if (!ss->interrupted)
			ss->interrupted = 1;
		else
			ss->interrupted = 2; /* twice: stop now */
	}
}

/* Ended connections whose process is gone: their sources end. */
static void check_ended(struct session *ss)
{
	uint64_t now = now_ns();
	uint32_t i;

	for (i = 0; i < ss->nr_conns; i++) {
		struct conn *c = ss->conns[i];
		struct grb_channel *ch;

		if (!c->eof || c->src < 0 || c->last_alive_check == UINT64_MAX ||
		    now - c->last_alive_check < ALIVE_CHECK_NS)
			continue;
		c->last_alive_check = now;
		ch = grb_ctf_trace_source_channel(ss->t, (uint32_t)c->src);
		if (ch && grb_channel_owner_alive(ch) == 0) {
			grb_ctf_trace_source_end(ss->t, (uint32_t)c->src);
			c->last_alive_check = UINT64_MAX;
		}
	}
}

/*
 * After a drain: stop the waiters of ended sources, arm the others.
 * Return 1 if a running source has no waiter (it is polled).
 */
static int waiters_arm(struct session *ss)
{
	uint32_t i;
	int polled = 0;

	for (i = 0; i < ss->nr_conns; i++) {
		struct conn *c = ss->conns[i];
		struct grb_ctf_source_stats st;

		if (c->src < 0 || grb_ctf_trace_source_stats(ss->t, (uint32_t)c->src, &st))
			continue;
		if (st.ended) {
			waiter_stop(c);
			continue;
		}
		if (c->w && !waiter_arm(c->w))
			waiter_stop(c);
		if (!c->w)
			polled = 1;
	}
	return polled;
}

static int all_ended(struct session *ss)
{
	uint32_t i;

	for (i = 0; i < ss->nr_conns; i++) {
		struct conn *c = ss->conns[i];
		struct grb_ctf_source_stats st;

		if (c->src < 0) {
			if (c->fd >= 0)
				return 0; /* a registration under way */
			continue;
		}
		if (grb_ctf_trace_source_stats(ss->t, (uint32_t)c->src, &st) || !st.ended)
			return 0;
	}
	return 1;
}

static const char *sig_name(int sig)
{
	static char buf[16];
	const char *s = sigabbrev_np(sig);

	if (s) {
		snprintf(buf, sizeof(buf), "SIG%s", s);
		return buf;
	}
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

static int was_reaped(const struct session *ss, pid_t pid)
{
	uint32_t i;

	for (i = 0; i < ss->nr_reaped; i++)
		if (ss->reaped[i].pid == pid)
			return 1;
	return 0;
}

static void describe_end(const struct session *ss, const struct conn *c, int ended, char *buf,
			 size_t size)
{
	uint32_t i;

	for (i = ss->nr_reaped; i-- > 0;) {
		int st = ss->reaped[i].status;

		if (ss->reaped[i].pid != c->hello.pid)
			continue;
		if (WIFSIGNALED(st))
			snprintf(buf, size, "killed by %s", sig_name(WTERMSIG(st)));
		else
			snprintf(buf, size, "exited %d", WEXITSTATUS(st));
		if (!c->eof && ended)
			snprintf(buf + strlen(buf), size - strlen(buf), " (channel closed)");
		return;
	}
	if (c->eof)
		snprintf(buf, size, "ended (exit status unknown: its parent reaped it)");
	else if (ss->interrupted || !ended)
		snprintf(buf, size, "still running when the recording stopped");
	else
		snprintf(buf, size, "closed its channel");
}

/* The per-process summary; return 1 if the accounting is exact. */
static int print_report(struct session *ss, const char *dir)
{
	uint64_t tw = 0, td = 0, tl = 0, tx = 0, files = 0;
	uint32_t i, procs = 0;
	int exact = 1, k;

	printf("\n");
	for (i = 0; i < ss->nr_conns; i++) {
		struct conn *c = ss->conns[i];
		struct grb_ctf_source_stats st;
		uint64_t written, extra;
		char end[96], causes[256];
		size_t o = 0;
		int ok, running;

		if (c->src < 0 || grb_ctf_trace_source_stats(ss->t, (uint32_t)c->src, &st))
			continue;
		procs++;
		written = st.committed + st.lost_total;
		extra = st.events_dropped + st.corrupt_records;
		ok = st.ended && st.committed == st.events + extra;
		/* Still running at a Ctrl-C: it goes on writing after what was
		 * drained, so its figures cannot balance. */
		running = !c->eof && ss->interrupted && !was_reaped(ss, c->hello.pid);
		causes[0] = 0;
		for (k = 0; k < GRB_LOST_NR; k++)
			if (st.lost[k] && o < sizeof(causes))
				o += (size_t)snprintf(causes + o, sizeof(causes) - o,
						      "%s%s %" PRIu64, o ? ", " : " (",
						      grb_lost_cause_name((enum grb_lost_cause)k),
						      st.lost[k]);
		if (o && o < sizeof(causes))
			snprintf(causes + o, sizeof(causes) - o, ")");
		describe_end(ss, c, (int)st.ended, end, sizeof(end));
		printf("process %d %s (%s): %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
		       " lost%s",
		       c->hello.pid, c->hello.program, c->hello.name, written, st.events,
		       st.lost_total, causes);
		if (st.events_dropped)
			printf(" + %" PRIu64 " dropped (I/O)", st.events_dropped);
		if (st.corrupt_records)
			printf(" + %" PRIu64 " corrupt", st.corrupt_records);
		printf(": %s; %u of %u streams written; %s\n",
		       running ? "partial" :
		       ok      ? "exact" :
				 "MISMATCH",
		       st.streams_written, st.nr_streams, end);
		if (c->welcome.wakeup == GRB_WAKEUP_WRITER)
			printf("  wake-up writer: %" PRIu64
			       " packets on disk, the recorder woken %" PRIu64 " times\n",
			       st.packets, c->wakes);
		exact &= ok || running;
		tw += written;
		td += st.events;
		tl += st.lost_total;
		tx += extra;
		files += st.streams_written;
	}
	printf("total: %u processes, %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
	       " lost%s in %" PRIu64 " stream files: %s\n",
	       procs, tw, td, tl, tx ? " + dropped or corrupt" : "", files,
	       exact ? "exact" : "MISMATCH");
	if (ss->refused)
		printf("refused registrations: %u\n", ss->refused);
	if (ss->child_reaped) {
		if (WIFSIGNALED(ss->child_status))
			printf("the program was killed by %s\n",
			       sig_name(WTERMSIG(ss->child_status)));
		else
			printf("the program exited with status %d\n",
			       WEXITSTATUS(ss->child_status));
	}
	for (i = 0; i < ss->nr_reaped; i++)
		if (WIFSIGNALED(ss->reaped[i].status) && ss->reaped[i].pid != ss->child)
			printf("process %d was killed by %s\n", ss->reaped[i].pid,
			       sig_name(WTERMSIG(ss->reaped[i].status)));
	printf("\nTrace written to %s\n", dir);
	printf("Open it with:  grb view %s\n", dir);
	return exact;
}

/* The preload library NAME: $GRB_PRELOAD_DIR, the build tree's when this
 * grb is the build tree's, else the installed one: beside this grb
 * (<bin>/../<libdir>/grb, for a tree installed elsewhere than its
 * prefix), then in the prefix's. */
int find_preload(const char *name, char *path, size_t size)
{
	const char *env = getenv("GRB_PRELOAD_DIR");
	char exe[PATH_MAX], beside[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *dirs[4];
	int nd = 0, i;

	if (env && env[0])
		dirs[nd++] = env;
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		if (!strncmp(exe, GRB_BUILD_DIR "/", strlen(GRB_BUILD_DIR "/")))
			dirs[nd++] = GRB_PRELOAD_BUILD_DIR;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(beside, sizeof(beside), "%s/../%s/grb", exe, GRB_INSTALL_LIBDIR);
			dirs[nd++] = beside;
		}
	}
	dirs[nd++] = GRB_PRELOAD_INSTALL_DIR;
	for (i = 0; i < nd; i++) {
		if (snprintf(path, size, "%s/libgrb-preload-%s.so", dirs[i], name) >= (int)size)
			continue;
		if (!access(path, R_OK))
			return 0;
	}
	fprintf(stderr, "grb: libgrb-preload-%s.so is in none of:", name);
	for (i = 0; i < nd; i++)
		fprintf(stderr, " %s", dirs[i]);
	fprintf(stderr, "\n");
	return -1;
}

static void start_program(struct session *ss, char **argv, const char *sock, const char *preload,
			  const sigset_t *old)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("grb record: fork");
		exit(1);
	}
	if (pid > 0) {
		ss->child = pid;
		return;
	}
	sigprocmask(SIG_SETMASK, old, NULL);
	if (setenv(GRB_SESSION_ENV, sock, 1))
		_exit(127);
	if (preload) {
		const char *cur = getenv("LD_PRELOAD");
		size_t len = strlen(preload) + (cur ? strlen(cur) : 0) + 2;
		char *v = (char *)malloc(len);

		if (!v)
			_exit(127);
		snprintf(v, len, "%s%s%s", preload, cur && cur[0] ? ":" : "", cur ? cur : "");
		if (setenv("LD_PRELOAD", v, 1))
			_exit(127);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "grb record: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int record_program(const struct program_opts *o, char **argv)
{
	struct session ss;
	struct grb_ctf_trace_attr attr;
	struct sockaddr_un sa;
	struct epoll_event ev;
	char sockdir[] = "/tmp/grb-session-XXXXXX", sock[64], preload[PATH_MAX];
	sigset_t mask, old;
	uint64_t stop_at = 0;
	int poll_ms = POLL_MIN_MS, exact, ret, status = 0, polled = 1;
	uint32_t i;

	memset(&ss, 0, sizeof(ss));
	ss.o = o;
	ss.children_left = 1;
	if (o->preload && find_preload(o->preload, preload, sizeof(preload)))
		return 2;
	if (!mkdtemp(sockdir)) {
		perror("grb record: mkdtemp");
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/socket", sockdir);
	ss.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (ss.lfd < 0 || bind(ss.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(ss.lfd, 128)) {
		perror("grb record: the session's socket");
		rmdir(sockdir);
		return 1;
	}

	grb_ctf_trace_attr_init(&attr);
	attr.path = o->dir;
	attr.event_context = GRB_CTF_CONTEXT_IDS;
	ss.t = grb_ctf_trace_create_fed(&session_cfg, &attr);
	if (!ss.t) {
		fprintf(stderr, "grb record: %s\n", grb_last_error());
		close(ss.lfd);
		unlink(sock);
		rmdir(sockdir);
		return 1;
	}
	/* Orphans of the program's processes become ours: we wait for them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	ss.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ss.ep = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &ss.lfd;
	epoll_ctl(ss.ep, EPOLL_CTL_ADD, ss.lfd, &ev);
	ev.data.ptr = &ss.sfd;
	epoll_ctl(ss.ep, EPOLL_CTL_ADD, ss.sfd, &ev);
	/* The waiters' (writer wake-up): readable when one found a packet. */
	ss.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.ptr = &ss.efd;
	if (ss.efd < 0 || epoll_ctl(ss.ep, EPOLL_CTL_ADD, ss.efd, &ev)) {
		perror("grb record: eventfd");
		return 1;
	}

	printf("grb %s: recording %s into %s (%u streams of %u x %u KiB a process, wake-up "
	       "%s%s%s)\n",
	       grb_version(), argv[0], o->dir, o->streams, o->subbuf_count, o->subbuf_size / 1024,
	       o->wakeup == GRB_WAKEUP_WRITER ? "writer" : "none", o->preload ? ", preload " : "",
	       o->preload ? o->preload : "");
	fflush(stdout);
	start_program(&ss, argv, sock, o->preload ? preload : NULL, &old);

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(ss.ep, evs, 32, polled ? poll_ms : POLL_MAX_MS), k, got;

		for (k = 0; k < n; k++) {
			if (evs[k].data.ptr == &ss.lfd) {
				on_accept(&ss);
			} else if (evs[k].data.ptr == &ss.sfd) {
				on_signal(&ss);
			} else if (evs[k].data.ptr == &ss.efd) {
				uint64_t v;

				if (read(ss.efd, &v, sizeof(v)) < 0) {
					/* EAGAIN: read by an earlier event */
				}
			} else
				on_readable(&ss, (struct conn *)evs[k].data.ptr);
		}
		reap(&ss);
		check_ended(&ss);
		got = grb_ctf_trace_poll(ss.t);
		poll_ms = got > 0		    ? POLL_MIN_MS :
			  poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS :
						      poll_ms * 2;
		/* Drained: the waiters sleep again (or say it is there). */
		polled = waiters_arm(&ss);
		if (grb_ctf_trace_error(ss.t)[0])
			break;
		if (!ss.children_left && all_ended(&ss))
			break;
		if (ss.interrupted && !stop_at)
			stop_at = now_ns() + GRACE_NS;
		if (ss.interrupted > 1 || (stop_at && now_ns() > stop_at))
			break;
	}
	if (ss.interrupted)
		printf("interrupted\n");
	for (i = 0; i < ss.nr_conns; i++)
		waiter_stop(ss.conns[i]);
	ret = grb_ctf_trace_stop(ss.t);
	exact = print_report(&ss, o->dir);
	if (ret) {
		fprintf(stderr, "grb record: %s\n", grb_ctf_trace_error(ss.t));
		status = 1;
	} else if (!exact) {
		status = 1;
	}
	grb_ctf_trace_destroy(ss.t); /* before the events its sources use */
	for (i = 0; i < ss.nr_conns; i++) {
		conn_close(&ss, ss.conns[i]);
		grb_session_events_free(ss.conns[i]->events, ss.conns[i]->nr_events);
		free(ss.conns[i]);
	}
	free(ss.conns);
	free(ss.reaped);
	close(ss.lfd);
	close(ss.sfd);
	close(ss.efd);
	close(ss.ep);
	unlink(sock);
	rmdir(sockdir);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
