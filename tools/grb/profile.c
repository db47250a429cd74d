// SPDX-License-Identifier: MIT
/*
 * profile.c - `grb profile -- PROGRAM`: a sampling profiler for unmodified
 * programs.  Start the program with the session's socket (GRB_SESSION),
 * libgrb-preload-profile.so in LD_PRELOAD and the frequency in
 * GRB_PROFILE_FREQ; accept the perf channel each of its processes
 * registers (doc/session.md, with grb_perf_config() instead of the CTF
 * configuration), attach it and drain it into one perf.data with
 * libgrb-perf's writer; add each process's COMM and MMAP2 records (its
 * threads and executable mappings, looked up in /proc while it runs); end
 * when the program and all its children have exited, or on Ctrl-C.  Then
 * account for every sample of every process.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
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
#include <grb/perf.h>
#include <grb/session.h>

#include "grb_tool.h"

#define POLL_MS 10
#define GRACE_NS 2000000000ull
/* How often the live processes' threads and mappings are looked up. */
#define PROC_SCAN_NS 50000000ull
#define PROFILE_STREAMS 64u
#define PROFILE_SUBBUF_SIZE (64u * 1024u)
#define PROFILE_SUBBUF_COUNT 8u

const char profile_usage[] =
	"usage: grb profile [-F HZ] [-o FILE] [--folded FILE] -- PROGRAM [ARGS...]\n"
	"\n"
	"Sample PROGRAM, and every process it starts that calls exec, on the CPU\n"
	"time of each of its threads (as perf record -e cpu-clock), with a\n"
	"frame-pointer call chain, and write perf.data for perf report and perf\n"
	"script.  The program is not rebuilt: a preload library samples it.\n"
	"\n"
	"  -F, --freq HZ         samples per second of a thread's CPU time, 1 to\n"
	"                        100000 (default 999; the kernel's tick caps it)\n"
	"  -o, --output FILE     the perf.data to write (default perf.data)\n"
	"  -f, --folded FILE     also write folded stacks (flame graph input)\n"
	"  -h, --help            this help\n";

enum conn_state { WANT_HELLO, WANT_CHANNEL, REGISTERED };

struct pconn {
	int fd; /* -1 once closed */
	enum conn_state state;
	pid_t peer;
	struct grb_session_hello hello;
	struct grb_session_welcome welcome;
	struct grb_channel *ch; /* attached */
	int src; /* the writer's channel index, -1 before */
	int gone; /* its process will write no more */
	struct grb_perf_data_stats st; /* its records in perf.data, before close */
	uint32_t *tids; /* threads whose COMM was added */
	uint32_t nr_tids, cap_tids;
};

struct profiler {
	const char *out, *folded;
	uint32_t freq;
	char cmdline[1024];
	struct grb_perf_data *w;
	int lfd, sfd, ep;
	pid_t child;
	int child_status, child_reaped, children_left, interrupted;
	struct pconn **conns;
	uint32_t nr_conns;
	uint32_t refused;
};

static void head_init(struct grb_session_head *h, uint16_t type, uint32_t size)
{
	memset(h, 0, sizeof(*h));
	h->magic = GRB_SESSION_MAGIC;
	h->version = GRB_SESSION_VERSION;
	h->type = type;
	h->size = size;
}

static void conn_close(struct profiler *p, struct pconn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void send_welcome(struct profiler *p, struct pconn *c, int status, const char *why)
{
	struct grb_session_welcome *w = &c->welcome;

	memset(w, 0, sizeof(*w));
	head_init(&w->head, GRB_SESSION_WELCOME, sizeof(*w));
	w->status = status;
	if (!status) {
		w->subbuf_size = PROFILE_SUBBUF_SIZE;
		w->subbuf_count = PROFILE_SUBBUF_COUNT;
		w->nr_streams = PROFILE_STREAMS;
		w->switch_timer_us = 100000;
		/* The profiler drains on its timer and never waits: no wake-up
		 * if the program offers none, else the one it offers (a writer
		 * wake-up makes no system call while nobody waits). */
		w->wakeup = c->hello.wakeups & (1u << GRB_WAKEUP_NONE) ? GRB_WAKEUP_NONE :
									 GRB_WAKEUP_WRITER;
	}
	snprintf(w->message, sizeof(w->message), "%s", why ? why : "");
	if (send(c->fd, w, sizeof(*w), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(*w) ||
	    status) {
		p->refused += status != 0;
		conn_close(p, c);
	}
}

static void send_ack(struct profiler *p, struct pconn *c, int status, const char *why)
{
	struct grb_session_ack a;

	memset(&a, 0, sizeof(a));
	head_init(&a.head, GRB_SESSION_ACK, sizeof(a));
	a.status = status;
	snprintf(a.message, sizeof(a.message), "%s", why ? why : "");
	if (send(c->fd, &a, sizeof(a), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(a) ||
	    status) {
		p->refused += status != 0;
		conn_close(p, c);
	}
}

/* The threads of a live process: a COMM record for each one new. */
static void scan_threads(struct profiler *p, struct pconn *c)
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
		c->tids[c->nr_tids++] = tid;
		grb_perf_data_add_comm(p->w, (uint32_t)c->hello.pid, tid, comm);
	}
	closedir(d);
}

static void scan_process(struct profiler *p, struct pconn *c)
{
	scan_threads(p, c);
	/* The mappings the writer has are not added again. */
	grb_perf_data_add_maps(p->w, (uint32_t)c->hello.pid);
}

static void on_hello(struct profiler *p, struct pconn *c, const void *buf, ssize_t n)
{
	const struct grb_session_hello *h = (const struct grb_session_hello *)buf;
	const struct grb_config *cfg = grb_perf_config();
	uint32_t i;

	if (n != (ssize_t)sizeof(*h) || h->head.magic != GRB_SESSION_MAGIC ||
	    h->head.version != GRB_SESSION_VERSION || h->head.type != GRB_SESSION_HELLO ||
	    h->head.size != sizeof(*h) || !memchr(h->config, 0, sizeof(h->config)) ||
	    !memchr(h->name, 0, sizeof(h->name)) || !memchr(h->program, 0, sizeof(h->program))) {
		send_welcome(p, c, EPROTO, "malformed registration");
		return;
	}
	if (h->pid != c->peer) {
		send_welcome(p, c, EPERM, "registers for another process");
		return;
	}
	if (strcmp(h->config, cfg->name) || h->alloc != (uint32_t)cfg->alloc ||
	    h->sync != (uint32_t)cfg->sync || h->mode != (uint32_t)cfg->mode ||
	    h->ts_bits != cfg->ts_bits || h->packet_header_size != cfg->packet_header_size) {
		send_welcome(p, c, EPROTO, "grb profile attaches the perf client's channels only");
		return;
	}
	if (p->interrupted) {
		send_welcome(p, c, ECANCELED, "the profile is ending");
		return;
	}
	c->hello = *h;
	/* The same pid registering again has called exec: its earlier
	 * channels have no writer any more. */
	for (i = 0; i < p->nr_conns; i++) {
		struct pconn *o = p->conns[i];

		if (o != c && o->ch && !o->gone && o->hello.pid == h->pid) {
			grb_channel_owner_gone(o->ch);
			o->gone = 1;
			conn_close(p, o);
		}
	}
	c->state = WANT_CHANNEL;
	send_welcome(p, c, 0, NULL);
}

static void on_channel(struct profiler *p, struct pconn *c, const unsigned char *buf, ssize_t n,
		       const int *fds, uint32_t nfd, int truncated)
{
	const struct grb_session_channel *m = (const struct grb_session_channel *)buf;

	if (truncated || n != (ssize_t)sizeof(*m) || m->head.magic != GRB_SESSION_MAGIC ||
	    m->head.version != GRB_SESSION_VERSION || m->head.type != GRB_SESSION_CHANNEL ||
	    m->head.size != (uint64_t)n || m->nr_events || m->events_size) {
		send_ack(p, c, EPROTO, "malformed channel message (a perf channel has no events)");
		return;
	}
	if (m->nr_streams != nfd || nfd != c->welcome.nr_streams ||
	    m->subbuf_size != c->welcome.subbuf_size ||
	    m->subbuf_count != c->welcome.subbuf_count) {
		send_ack(p, c, EPROTO, "not the geometry of the welcome");
		return;
	}
	c->ch = grb_channel_attach(grb_perf_config(), fds, nfd, NULL);
	if (!c->ch) {
		send_ack(p, c, errno ? errno : EPROTO, grb_last_error());
		return;
	}
	if (!p->w) {
		struct grb_perf_data_attr a;

		grb_perf_data_attr_init(&a);
		a.sample_freq = p->freq;
		a.pid = (uint32_t)c->hello.pid;
		a.cmdline = p->cmdline;
		a.folded_path = p->folded;
		p->w = grb_perf_data_create(p->out, c->ch, &a);
		if (!p->w) {
			fprintf(stderr, "grb profile: %s: %s\n", p->out, grb_last_error());
			exit(1);
		}
		c->src = 0;
	} else {
		c->src = grb_perf_data_add_channel(p->w, c->ch, (uint32_t)c->hello.pid);
		if (c->src < 0) {
			grb_channel_destroy(c->ch);
			c->ch = NULL;
			send_ack(p, c, -c->src, "the profiler cannot add the channel");
			return;
		}
	}
	grb_perf_data_add_comm(p->w, (uint32_t)c->hello.pid, (uint32_t)c->hello.pid,
			       c->hello.program);
	scan_process(p, c);
	c->state = REGISTERED;
	send_ack(p, c, 0, NULL);
}

static void on_readable(struct profiler *p, struct pconn *c)
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
		n = 0;
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
	if (n == 0)
		conn_close(p, c); /* exited or exec'ed: /proc says which */
	else if (c->state == WANT_HELLO && !nfd)
		on_hello(p, c, buf, n);
	else if (c->state == WANT_CHANNEL)
		on_channel(p, c, buf, n, fds, nfd,
			   too_many || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
	else {
		p->refused++;
		conn_close(p, c);
	}
	for (i = 0; i < nfd; i++)
		close(fds[i]);
}

static void on_accept(struct profiler *p)
{
	for (;;) {
		int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct epoll_event ev;
		struct ucred cr;
		socklen_t len = sizeof(cr);
		struct pconn *c, **cs;

		if (fd < 0)
			return;
		c = (struct pconn *)calloc(1, sizeof(*c));
		cs = (struct pconn **)realloc(p->conns, (p->nr_conns + 1) * sizeof(*cs));
		if (!c || !cs || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
			free(c);
			if (cs)
				p->conns = cs;
			close(fd);
			continue;
		}
		p->conns = cs;
		c->fd = fd;
		c->peer = cr.pid;
		c->src = -1;
		p->conns[p->nr_conns++] = c;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev))
			conn_close(p, c);
	}
}

static void reap(struct profiler *p)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0) {
			if (errno == ECHILD)
				p->children_left = 0;
			return;
		}
		if (pid == 0)
			return;
		if (pid == p->child) {
			p->child_status = status;
			p->child_reaped = 1;
		}
	}
}

/* Look at the registered processes: new threads and mappings of the live
 * ones; those whose channel has no writer any more are gone.  Return: 1
 * if every registered process is gone. */
static int scan(struct profiler *p, int look_up)
{
	uint32_t i;
	int all = 1;

	for (i = 0; i < p->nr_conns; i++) {
		struct pconn *c = p->conns[i];

		if (!c->ch) {
			if (c->fd >= 0)
				all = 0; /* a registration under way */
			continue;
		}
		if (c->gone)
			continue;
		if (c->fd < 0 && grb_channel_owner_alive(c->ch) == 0) {
			c->gone = 1;
			continue;
		}
		all = 0;
		if (look_up)
			scan_process(p, c);
	}
	return all;
}

static void start_program(struct profiler *p, char **argv, const char *sock, const char *preload,
			  const sigset_t *old)
{
	char freq[16];
	pid_t pid = fork();

	if (pid < 0) {
		perror("grb profile: fork");
		exit(1);
	}
	if (pid > 0) {
		p->child = pid;
		return;
	}
	sigprocmask(SIG_SETMASK, old, NULL);
	snprintf(freq, sizeof(freq), "%u", p->freq);
	if (setenv(GRB_SESSION_ENV, sock, 1) || setenv("GRB_PROFILE_FREQ", freq, 1))
		_exit(127);
	{
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
	fprintf(stderr, "grb profile: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The summary: every sample of every process accounted for.  Return 1 if
 * exact. */
static int report(struct profiler *p, const struct grb_perf_data_stats *tot)
{
	uint64_t tw = 0, tc = 0, tl = 0;
	uint32_t i, procs = 0, idle = 0;
	int exact = 1;

	printf("\n");
	for (i = 0; i < p->nr_conns; i++) {
		struct pconn *c = p->conns[i];
		const struct grb_perf_data_stats *st = &c->st;
		struct grb_channel_stats cs;
		uint64_t committed = 0, lost, written;
		uint32_t s, threads = 0;
		int ok;

		if (!c->ch || c->src < 0 || grb_channel_read_stats(c->ch, &cs))
			continue;
		for (s = 0; s < cs.nr_streams; s++) {
			struct grb_stream_stats ss;

			if (!grb_channel_read_stream_stats(c->ch, s, &ss)) {
				committed += ss.committed;
				threads += ss.committed || ss.lost_total;
			}
		}
		lost = cs.lost_total - cs.lost[GRB_LOST_OVERWRITTEN];
		written = committed + lost;
		procs++;
		if (!written && !st->samples && !st->lost_samples && !st->corrupt) {
			idle++; /* ran too briefly for a sample: one line for all */
			continue;
		}
		/* Each committed record holds one SAMPLE (a loss rides in the
		 * record of the next sample of its thread); the losses no
		 * record carried are written at close. */
		ok = st->samples == committed && st->lost_samples <= lost && !st->corrupt;
		printf("process %d %s: %" PRIu64 " samples written = %" PRIu64
		       " in perf.data + %" PRIu64 " lost",
		       c->hello.pid, c->hello.program, written, st->samples, lost);
		if (lost)
			printf(" (full %" PRIu64 ", no stream %" PRIu64 ", other %" PRIu64
			       "; %" PRIu64 " reported in band)",
			       cs.lost[GRB_LOST_FULL], cs.lost[GRB_LOST_NO_STREAM],
			       lost - cs.lost[GRB_LOST_FULL] - cs.lost[GRB_LOST_NO_STREAM],
			       st->lost_samples);
		if (st->corrupt)
			printf(" + %" PRIu64 " corrupt", st->corrupt);
		printf(": %s; %u threads sampled%s\n", ok ? "exact" : "MISMATCH", threads,
		       c->gone ? "" : "; still running");
		exact &= ok;
		tw += written;
		tc += committed;
		tl += lost;
	}
	if (idle)
		printf("%u processes ran too briefly for a sample\n", idle);
	/* The file's own figures, as perf counts them. */
	exact &= tot->samples == tc && tot->lost_samples == tl;
	printf("total: %u processes, %" PRIu64 " samples written = %" PRIu64
	       " in perf.data + %" PRIu64 " lost: %s\n",
	       procs, tw, tot->samples, tot->lost_samples, exact ? "exact" : "MISMATCH");
	if (p->refused)
		printf("refused registrations: %u\n", p->refused);
	if (p->child_reaped) {
		if (WIFSIGNALED(p->child_status))
			printf("the program was killed by signal %d\n", WTERMSIG(p->child_status));
		else
			printf("the program exited with status %d\n", WEXITSTATUS(p->child_status));
	}
	return exact;
}

int cmd_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "freq", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "folded", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct profiler p;
	struct sockaddr_un sa;
	struct epoll_event ev;
	struct grb_perf_data_stats tot;
	char sockdir[] = "/tmp/grb-profile-XXXXXX", sock[64], preload[PATH_MAX];
	sigset_t mask, old;
	uint64_t stop_at = 0, last_scan = 0;
	size_t o = 0;
	int c, i, exact, ret, status;
	uint32_t k;

	memset(&p, 0, sizeof(p));
	p.out = "perf.data";
	p.freq = 999;
	p.children_left = 1;
	argv[0] = (char *)"grb profile";
	optind = 1;
	while ((c = getopt_long(argc, argv, "+F:o:f:h", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'F':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !v || v > 100000) {
				fprintf(stderr, "grb profile: -F %s: expected 1 to 100000 Hz\n",
					optarg);
				return 2;
			}
			p.freq = (uint32_t)v;
			break;
		case 'o':
			p.out = optarg;
			break;
		case 'f':
			p.folded = optarg;
			break;
		case 'h':
			fputs(profile_usage, stdout);
			return 0;
		default:
			fputs(profile_usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(profile_usage, stderr);
		return 2;
	}
	for (i = optind; i < argc && o + 1 < sizeof(p.cmdline); i++)
		o += (size_t)snprintf(p.cmdline + o, sizeof(p.cmdline) - o, "%s%s",
				      i > optind ? " " : "", argv[i]);
	if (find_preload("profile", preload, sizeof(preload)))
		return 2;
	if (!mkdtemp(sockdir)) {
		perror("grb profile: mkdtemp");
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/socket", sockdir);
	p.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (p.lfd < 0 || bind(p.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(p.lfd, 128)) {
		perror("grb profile: the session's socket");
		rmdir(sockdir);
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	p.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	p.ep = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &p.lfd;
	epoll_ctl(p.ep, EPOLL_CTL_ADD, p.lfd, &ev);
	ev.data.ptr = &p.sfd;
	epoll_ctl(p.ep, EPOLL_CTL_ADD, p.sfd, &ev);

	printf("grb %s: profiling %s at %u Hz into %s\n", grb_version(), argv[optind], p.freq,
	       p.out);
	fflush(stdout);
	start_program(&p, argv + optind, sock, preload, &old);

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(p.ep, evs, 32, POLL_MS), all_gone;
		uint64_t now;

		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &p.lfd) {
				on_accept(&p);
			} else if (evs[i].data.ptr == &p.sfd) {
				struct signalfd_siginfo si;

				while (read(p.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					if (si.ssi_signo != SIGCHLD)
						p.interrupted++;
			} else {
				on_readable(&p, (struct pconn *)evs[i].data.ptr);
			}
		}
		reap(&p);
		now = now_ns();
		all_gone = scan(&p, now - last_scan >= PROC_SCAN_NS);
		if (now - last_scan >= PROC_SCAN_NS)
			last_scan = now;
		if (p.w) {
			long r = grb_perf_data_drain(p.w);

			if (r < 0 && r != -EAGAIN && r != -ENODATA) {
				fprintf(stderr, "grb profile: writing %s: %s\n", p.out,
					strerror((int)-r));
				break;
			}
		}
		if (!p.children_left && all_gone)
			break;
		if (p.interrupted && !stop_at)
			stop_at = now + GRACE_NS;
		if (p.interrupted > 1 || (stop_at && now > stop_at))
			break;
	}
	if (p.interrupted)
		printf("interrupted\n");
	status = 0;
	if (!p.w) {
		printf("no process registered: nothing was sampled (is %s a dynamically "
		       "linked program?)\n",
		       argv[optind]);
		status = 1;
		memset(&tot, 0, sizeof(tot));
	} else {
		/* The last records, the figures of each channel, then
		 * close (which writes the losses no record carried). */
		long r;

		do
			r = grb_perf_data_drain(p.w);
		while (r > 0);
		for (k = 0; k < p.nr_conns; k++)
			if (p.conns[k]->src >= 0)
				grb_perf_data_channel_stats(p.w, (uint32_t)p.conns[k]->src,
							    &p.conns[k]->st);
		ret = grb_perf_data_close(p.w, &tot);
		exact = report(&p, &tot);
		if (ret) {
			fprintf(stderr, "grb profile: %s: %s\n", p.out, strerror(-ret));
			status = 1;
		} else if (!exact) {
			status = 1;
		}
		printf("\nperf.data written to %s", p.out);
		if (p.folded)
			printf(", folded stacks to %s", p.folded);
		printf("\nOpen it with:  perf report -i %s\n", p.out);
	}
	for (k = 0; k < p.nr_conns; k++) {
		conn_close(&p, p.conns[k]);
		if (p.conns[k]->ch)
			grb_channel_destroy(p.conns[k]->ch);
		free(p.conns[k]->tids);
		free(p.conns[k]);
	}
	free(p.conns);
	close(p.lfd);
	close(p.sfd);
	close(p.ep);
	unlink(sock);
	rmdir(sockdir);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
