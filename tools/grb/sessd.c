// SPDX-License-Identifier: MIT
/*
 * sessd.c - the recorder's side of a recording session, shared by the
 * three recorders of the grb tool (sessd.h, doc/session.md): the socket,
 * the registrations and their checks, the program's launch, reaping, and
 * the event loop.  What differs between recorders is in their
 * struct sessd_ops.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/session.h>

#include "grb_tool.h"
#include "sessd.h"

/* After Ctrl-C, how long the processes get to end before the recorder
 * stops without them. */
#define GRACE_NS 2000000000ull

static void *grow(const struct sessd *s, void *p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	q = realloc(p, (size_t)n * elem);
	if (!q) {
		fprintf(stderr, "%s: out of memory\n", s->cmd);
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

void sessd_conn_close(struct sessd *s, struct sessd_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Send a WELCOME or an ACK; a refusal (status not 0) is counted, and ends
 * the connection, as does a failed send.  A send that fails ends it as
 * its end of file would: the program hung up (it gave up waiting for the
 * answer) or its end cannot take the answer; a channel attached before it
 * then ends with the process, which /proc tells. */
static void send_msg(struct sessd *s, struct sessd_conn *c, const void *m, size_t n, int status)
{
	int sent = send(c->fd, m, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n;

	if (!sent || status) {
		s->refused += status != 0;
		c->eof |= !sent;
		sessd_conn_close(s, c);
	}
}

/* Answer HELLO with status 0 and the recorder's geometry, or a positive
 * errno and why. */
static void send_welcome(struct sessd *s, struct sessd_conn *c, int status, const char *why)
{
	struct grb_session_welcome *w = &c->welcome;

	memset(w, 0, sizeof(*w));
	head_init(&w->head, GRB_SESSION_WELCOME, sizeof(*w));
	w->status = status;
	if (!status)
		s->ops->welcome(s, c, w);
	snprintf(w->message, sizeof(w->message), "%s", why ? why : "");
	send_msg(s, c, w, sizeof(*w), status);
}

static void send_ack(struct sessd *s, struct sessd_conn *c, int status, const char *why)
{
	struct grb_session_ack a;

	memset(&a, 0, sizeof(a));
	head_init(&a.head, GRB_SESSION_ACK, sizeof(a));
	a.status = status;
	snprintf(a.message, sizeof(a.message), "%s", why ? why : "");
	send_msg(s, c, &a, sizeof(a), status);
}

static int str_in(const char *str, size_t size)
{
	return memchr(str, 0, size) != NULL;
}

static void on_hello(struct sessd *s, struct sessd_conn *c, const void *buf, ssize_t n)
{
	const struct grb_session_hello *h = (const struct grb_session_hello *)buf;
	char why[GRB_SESSION_MESSAGE_MAX];
	uint32_t i;
	int err;

	if (n < (ssize_t)sizeof(struct grb_session_head) || h->head.magic != GRB_SESSION_MAGIC) {
		s->refused++;
		sessd_conn_close(s, c); /* not this protocol at all */
		return;
	}
	if (h->head.version != GRB_SESSION_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u, this recorder speaks %u",
			 h->head.version, GRB_SESSION_VERSION);
		/* A welcome of this version: a client of another reads the
		 * version and gives up. */
		send_welcome(s, c, EPROTONOSUPPORT, why);
		return;
	}
	if (n != (ssize_t)sizeof(*h) || h->head.type != GRB_SESSION_HELLO ||
	    h->head.size != sizeof(*h) || !str_in(h->config, sizeof(h->config)) ||
	    !str_in(h->name, sizeof(h->name)) || !str_in(h->program, sizeof(h->program))) {
		send_welcome(s, c, EPROTO, "malformed registration");
		return;
	}
	if (h->pid != c->peer) {
		snprintf(why, sizeof(why), "pid %d registers from process %d", h->pid,
			 (int)c->peer);
		send_welcome(s, c, EPERM, why);
		return;
	}
	why[0] = 0;
	err = s->ops->hello(s, h, why, sizeof(why));
	if (err) {
		send_welcome(s, c, err, why);
		return;
	}
	if (s->interrupted) {
		send_welcome(s, c, ECANCELED, s->ops->ending);
		return;
	}
	c->hello = *h;
	/* The same pid registering again has called exec if its earlier
	 * connections ended (exec closed them before the new program ran):
	 * the recorder decides. */
	for (i = 0; i < s->nr_conns; i++) {
		struct sessd_conn *o = s->conns[i];

		if (o != c && o->state == SESSD_REGISTERED && o->hello.pid == h->pid)
			s->ops->exec(s, o);
	}
	c->state = SESSD_WANT_CHANNEL;
	send_welcome(s, c, 0, NULL);
}

static void on_channel(struct sessd *s, struct sessd_conn *c, const unsigned char *buf, ssize_t n,
		       const int *fds, uint32_t nfd, int truncated)
{
	const struct grb_session_channel *m = (const struct grb_session_channel *)buf;
	char why[GRB_SESSION_MESSAGE_MAX];
	int err;

	if (truncated || n < (ssize_t)sizeof(*m) || m->head.magic != GRB_SESSION_MAGIC ||
	    m->head.version != GRB_SESSION_VERSION || m->head.type != GRB_SESSION_CHANNEL ||
	    m->head.size != (uint64_t)n ||
	    (s->ops->events ? m->events_size > GRB_SESSION_EVENTS_MAX ||
				      (uint64_t)n != sizeof(*m) + (uint64_t)m->events_size :
			      n != (ssize_t)sizeof(*m) || m->nr_events || m->events_size)) {
		send_ack(s, c, EPROTO, s->ops->malformed_channel);
		return;
	}
	why[0] = 0;
	err = s->ops->channel(s, c, m, fds, nfd, why, sizeof(why));
	if (err) {
		send_ack(s, c, err, why);
		return;
	}
	c->state = SESSD_REGISTERED;
	send_ack(s, c, 0, NULL);
}

static void on_readable(struct sessd *s, struct sessd_conn *c)
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
			if (nfd < GRB_SESSION_MAX_STREAMS) {
				fds[nfd++] = fd;
			} else {
				close(fd);
				too_many = 1;
			}
		}
	}
	if (n == 0) {
		/* Exited or exec'ed: the recorder asks /proc which. */
		c->eof = 1;
		sessd_conn_close(s, c);
	} else if (c->state == SESSD_WANT_HELLO && !nfd) {
		on_hello(s, c, buf, n);
	} else if (c->state == SESSD_WANT_CHANNEL) {
		on_channel(s, c, buf, n, fds, nfd,
			   too_many || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
	} else {
		/* Nothing else is ever sent. */
		s->refused++;
		sessd_conn_close(s, c);
	}
	for (i = 0; i < nfd; i++)
		close(fds[i]); /* an attached channel maps them */
}

static void on_accept(struct sessd *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct epoll_event ev;
		struct ucred cr;
		socklen_t len = sizeof(cr);
		struct sessd_conn *c;

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
			close(fd);
			continue;
		}
		c = (struct sessd_conn *)calloc(1, s->ops->conn_size);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = cr.pid;
		if (s->ops->conn_init)
			s->ops->conn_init(s, c);
		s->conns = (struct sessd_conn **)grow(s, s->conns, &s->cap_conns, s->nr_conns + 1,
						      sizeof(*s->conns));
		s->conns[s->nr_conns++] = c;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev))
			sessd_conn_close(s, c);
	}
}

static void reap(struct sessd *s)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0) {
			if (errno == ECHILD)
				s->children_left = 0;
			return;
		}
		if (pid == 0)
			return;
		if (pid == s->child) {
			s->child_status = status;
			s->child_reaped = 1;
		}
		s->reaped = (struct sessd_reaped *)grow(s, s->reaped, &s->cap_reaped,
							s->nr_reaped + 1, sizeof(*s->reaped));
		s->reaped[s->nr_reaped].pid = pid;
		s->reaped[s->nr_reaped].status = status;
		s->nr_reaped++;
	}
}

static void on_signal(struct sessd *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else if (si.ssi_signo == SIGUSR1)
			s->usr1++;
		else if (!s->interrupted)
			s->interrupted = 1;
		else
			s->interrupted = 2; /* twice: stop now */
	}
}

uint32_t sessd_wakeup_polled(const struct sessd_conn *c)
{
	return c->hello.wakeups & (1u << GRB_WAKEUP_NONE) ? GRB_WAKEUP_NONE : GRB_WAKEUP_WRITER;
}

void sessd_exec_channel(struct sessd *s, struct sessd_conn *c, struct grb_channel *ch, int *gone)
{
	if (ch && !*gone) {
		grb_channel_owner_gone(ch);
		*gone = 1;
		sessd_conn_close(s, c);
	}
}

void sessd_new_threads(struct sessd_conn *c, void (*fn)(void *arg, uint32_t tid, const char *comm),
		       void *arg)
{
	char path[64], comm[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", c->hello.pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		uint32_t tid = (uint32_t)strtoul(de->d_name, NULL, 10), i;
		FILE *f;

		if (!tid)
			continue;
		for (i = 0; i < c->nr_tids && c->tids[i] != tid; i++)
			;
		if (i < c->nr_tids)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", c->hello.pid, tid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (c->nr_tids == c->cap_tids) {
			uint32_t cap = c->cap_tids ? 2 * c->cap_tids : 16;
			uint32_t *t = (uint32_t *)realloc(c->tids, cap * sizeof(*t));

			if (!t)
				break;
			c->tids = t;
			c->cap_tids = cap;
		}
		/* A thread's name may still change: the name given is the
		 * one it had when first seen. */
		c->tids[c->nr_tids++] = tid;
		fn(arg, tid, comm);
	}
	closedir(d);
}

int sessd_was_reaped(const struct sessd *s, pid_t pid)
{
	uint32_t i;

	for (i = 0; i < s->nr_reaped; i++)
		if (s->reaped[i].pid == pid)
			return 1;
	return 0;
}

int sessd_listen(struct sessd *s, const struct sessd_ops *ops, void *arg, const char *cmd,
		 const char *prefix)
{
	struct sockaddr_un sa;

	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->arg = arg;
	s->cmd = cmd;
	s->lfd = s->sfd = s->ep = s->wfd = -1;
	s->children_left = 1;
	s->timeout_ms = 10;
	sigprocmask(SIG_SETMASK, NULL, &s->old);
	snprintf(s->sockdir, sizeof(s->sockdir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(s->sockdir)) {
		fprintf(stderr, "%s: mkdtemp: %s\n", cmd, strerror(errno));
		return 1;
	}
	snprintf(s->sock, sizeof(s->sock), "%s/socket", s->sockdir);
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->sock);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(s->lfd, 128)) {
		fprintf(stderr, "%s: the session's socket: %s\n", cmd, strerror(errno));
		if (s->lfd >= 0)
			close(s->lfd);
		unlink(s->sock);
		rmdir(s->sockdir);
		return 1;
	}
	return 0;
}

int sessd_start(struct sessd *s)
{
	struct epoll_event ev;
	sigset_t mask;

	/* Orphans of the program's processes become ours: we wait for them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (s->catch_usr1)
		sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, &s->old);
	s->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &s->lfd;
	if (s->sfd < 0 || s->ep < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev)) {
		fprintf(stderr, "%s: the event loop: %s\n", s->cmd, strerror(errno));
		return 1;
	}
	ev.data.ptr = &s->sfd;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sfd, &ev)) {
		fprintf(stderr, "%s: the event loop: %s\n", s->cmd, strerror(errno));
		return 1;
	}
	return 0;
}

int sessd_watch(struct sessd *s, int fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &s->wfd;
	if (fd < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	s->wfd = fd;
	return 0;
}

void sessd_launch(struct sessd *s, char **argv, const char *preload, const char *const *env)
{
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", s->cmd, strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		s->child = pid;
		return;
	}
	sigprocmask(SIG_SETMASK, &s->old, NULL);
	if (setenv(GRB_SESSION_ENV, s->sock, 1))
		_exit(127);
	for (; env && env[0]; env += 2)
		if (setenv(env[0], env[1], 1))
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
	fprintf(stderr, "%s: %s: %s\n", s->cmd, argv[0], strerror(errno));
	_exit(127);
}

int sessd_run(struct sessd *s)
{
	uint64_t stop_at = 0;

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(s->ep, evs, 32, s->timeout_ms), k, all_ended;

		for (k = 0; k < n; k++) {
			if (evs[k].data.ptr == &s->lfd)
				on_accept(s);
			else if (evs[k].data.ptr == &s->sfd)
				on_signal(s);
			else if (evs[k].data.ptr == &s->wfd)
				s->ops->watched(s, s->wfd);
			else
				on_readable(s, (struct sessd_conn *)evs[k].data.ptr);
		}
		reap(s);
		all_ended = s->ops->tick(s);
		if (all_ended < 0)
			return -1;
		if (!s->children_left && all_ended)
			return 0;
		if (s->interrupted && !stop_at)
			stop_at = now_ns() + GRACE_NS;
		if (s->interrupted > 1 || (stop_at && now_ns() > stop_at))
			return 0;
	}
}

void sessd_close(struct sessd *s)
{
	uint32_t i;

	for (i = 0; i < s->nr_conns; i++) {
		sessd_conn_close(s, s->conns[i]);
		free(s->conns[i]->tids);
		free(s->conns[i]);
	}
	free(s->conns);
	free(s->reaped);
	s->conns = NULL;
	s->reaped = NULL;
	s->nr_conns = s->nr_reaped = 0;
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->ep >= 0)
		close(s->ep);
	unlink(s->sock);
	rmdir(s->sockdir);
	sigprocmask(SIG_SETMASK, &s->old, NULL);
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
