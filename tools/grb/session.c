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
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/session.h>

#include "chanfile.h"
#include "grb_tool.h"
#include "relay.h"
#include "sessd.h"

static const struct grb_config session_cfg = GRB_SESSION_CONFIG;
static const struct grb_config session_cfg_overwrite = GRB_SESSION_CONFIG_OVERWRITE;

/* The configuration a HELLO's mode registers with (the trace's record
 * format in each). */
static const struct grb_config *mode_cfg(uint32_t mode)
{
	return mode == GRB_MODE_OVERWRITE ? &session_cfg_overwrite : &session_cfg;
}

/* The drain timer: a channel of GRB_WAKEUP_NONE is polled every 1 ms
 * while packets come, backing off to 20 ms when idle; when every channel
 * has a waiter, the timer only looks for ended processes, every 20 ms. */
#define POLL_MIN_MS 1
#define POLL_MAX_MS 20
/* A waiter's longest sleep before it looks again (a writer wakes it). */
#define WAIT_NS 1000000000ull
/* How often an ended connection's process is looked up in /proc. */
#define ALIVE_CHECK_NS 20000000ull

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
	struct sessd_conn sc; /* first */
	int src; /* the trace's source, -1 before */
	uint64_t last_alive_check;
	const struct grb_ctf_event_desc *const *events;
	uint32_t nr_events;
	struct waiter *w; /* the writer wake-up's, or NULL: polled */
	uint64_t wakes; /* its waiter's, kept when it stops */
	char (*files)[64]; /* --buffers: its streams' files in the directory */
	uint32_t nr_files;
	char chanfile[CHANFILE_PREFIX_MAX + 8]; /* --buffers: its description */
};

struct session {
	struct grb_ctf_trace *t;
	struct relay *relay; /* --relay, or NULL */
	const struct program_opts *o;
	int efd;
	int poll_ms, polled;
	struct sessd sd;
};

static struct conn *conn_at(const struct session *ss, uint32_t i)
{
	return (struct conn *)ss->sd.conns[i];
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
	struct pollfd p = { c->sc.fd, POLLIN | POLLRDHUP, 0 };

	if (c->sc.eof || c->sc.fd < 0)
		return 1;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

static void on_conn_init(struct sessd *sd, struct sessd_conn *sc)
{
	(void)sd;
	((struct conn *)sc)->src = -1;
}

static int on_hello(struct sessd *sd, const struct grb_session_hello *h, char *why, size_t size)
{
	const struct grb_config *cfg = mode_cfg(h->mode);

	(void)sd;
	if (strcmp(h->config, cfg->name) || h->alloc != (uint32_t)cfg->alloc ||
	    h->sync != (uint32_t)cfg->sync || h->mode != (uint32_t)cfg->mode ||
	    h->ts_bits != cfg->ts_bits || h->packet_header_size != cfg->packet_header_size ||
	    h->min_record_size != cfg->min_record_size || h->event_context != GRB_CTF_CONTEXT_IDS ||
	    !h->wakeups || (h->wakeups & ~((1u << GRB_WAKEUP_NONE) | (1u << GRB_WAKEUP_WRITER)))) {
		snprintf(why, size,
			 "configuration \"%.20s\" (alloc %u, sync %u, mode %u, wake-ups %#x): "
			 "this recorder takes GRB_SESSION_CONFIG(_WAKE) and "
			 "GRB_SESSION_CONFIG_OVERWRITE(_WAKE)",
			 h->config, h->alloc, h->sync, h->mode, h->wakeups);
		return EPROTO;
	}
	if (!name_ok(h->name)) {
		snprintf(why, size, "channel name: letters, digits, '_', '-', '.'");
		return EINVAL;
	}
	return 0;
}

static void on_welcome(struct sessd *sd, struct sessd_conn *c, struct grb_session_welcome *w)
{
	const struct program_opts *o = ((struct session *)sd->arg)->o;

	w->subbuf_size = o->subbuf_size;
	w->subbuf_count = o->subbuf_count;
	w->nr_streams = o->streams;
	w->switch_timer_us = 100000;
	if (o->buffers)
		snprintf(w->buffers, sizeof(w->buffers), "%s", o->buffers);
	/* What we asked for if offered; else what was (a program built
	 * with one configuration). */
	w->wakeup = c->hello.wakeups & (1u << o->wakeup)       ? o->wakeup :
		    c->hello.wakeups & (1u << GRB_WAKEUP_NONE) ? GRB_WAKEUP_NONE :
								 GRB_WAKEUP_WRITER;
}

/* A registered connection of a pid that registers again: if it ended,
 * the process called exec (which closed it before the new program ran),
 * and nothing writes its channel any more. */
static void on_exec(struct sessd *sd, struct sessd_conn *sc)
{
	struct session *ss = (struct session *)sd->arg;
	struct conn *o = (struct conn *)sc;

	if (o->src >= 0 && conn_hung_up(o)) {
		o->sc.eof = 1;
		sessd_conn_close(sd, &o->sc);
		grb_ctf_trace_source_end(ss->t, (uint32_t)o->src);
	}
}

/*
 * --buffers: each descriptor must be a file of the directory (what the
 * WELCOME asked for: files that outlive both ends); keep their names, to
 * remove them once their events are in the trace.  0, or a positive errno
 * and why.
 */
static int buffer_files(struct session *ss, struct conn *c, const int *fds, uint32_t nfd, char *why,
			size_t size)
{
	const char *dir = ss->o->buffers;
	size_t dl = strlen(dir);
	char link[64], path[PATH_MAX];
	uint32_t i;

	c->files = (char(*)[64])calloc(nfd ? nfd : 1, sizeof(*c->files));
	if (!c->files) {
		snprintf(why, size, "out of memory");
		return ENOMEM;
	}
	for (i = 0; i < nfd; i++) {
		struct stat st;
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		n = readlink(link, path, sizeof(path) - 1);
		if (n < 0 || fstat(fds[i], &st) || !S_ISREG(st.st_mode))
			n = 0;
		path[n] = 0;
		if ((size_t)n <= dl + 1 || memcmp(path, dir, dl) || path[dl] != '/' ||
		    strchr(path + dl + 1, '/') || strlen(path + dl + 1) >= sizeof(*c->files)) {
			snprintf(why, size, "stream %u: not a file of the buffers directory", i);
			free(c->files);
			c->files = NULL;
			return EPROTO;
		}
		memcpy(c->files[i], path + dl + 1, strlen(path + dl + 1) + 1);
	}
	c->nr_files = nfd;
	return 0;
}

/* --buffers: a process's files go once every event of them is written. */
static void buffer_files_remove(struct session *ss, struct conn *c)
{
	char path[PATH_MAX];
	uint32_t i;

	for (i = 0; i < c->nr_files; i++) {
		snprintf(path, sizeof(path), "%s/%s", ss->o->buffers, c->files[i]);
		if (unlink(path) && errno != ENOENT)
			fprintf(stderr, "grb record: cannot remove %s: %s\n", path,
				strerror(errno));
	}
	if (c->chanfile[0]) {
		snprintf(path, sizeof(path), "%s/%s", ss->o->buffers, c->chanfile);
		if (unlink(path) && errno != ENOENT)
			fprintf(stderr, "grb record: cannot remove %s: %s\n", path,
				strerror(errno));
		c->chanfile[0] = 0;
	}
	free(c->files);
	c->files = NULL;
	c->nr_files = 0;
}

/*
 * --buffers: beside the stream files <prefix>_<i>, <prefix>.chan says what
 * the CHANNEL carried and which recorder drains them, for `grb recover`
 * once this recorder and the process are gone.
 */
static void chanfile_save(struct session *ss, struct conn *c, const struct grb_session_channel *m)
{
	struct chanfile_head h;
	size_t n = strlen(c->files[0]);
	int ret;

	memset(&h, 0, sizeof(h));
	if (n < 3 || strcmp(c->files[0] + n - 2, "_0") || n - 2 >= sizeof(h.prefix))
		return;
	memcpy(h.magic, CHANFILE_MAGIC, sizeof(h.magic));
	h.version = CHANFILE_VERSION;
	h.size = (uint32_t)sizeof(h) + m->events_size;
	h.pid = c->sc.hello.pid;
	h.recorder_pid = (int32_t)getpid();
	h.recorder_start = chanfile_proc_start(h.recorder_pid);
	h.nr_streams = m->nr_streams;
	h.subbuf_size = m->subbuf_size;
	h.subbuf_count = m->subbuf_count;
	h.wakeup = m->wakeup;
	h.mode = c->sc.hello.mode;
	h.nr_events = m->nr_events;
	h.events_size = m->events_size;
	memcpy(h.name, c->sc.hello.name, sizeof(h.name));
	memcpy(h.program, c->sc.hello.program, sizeof(h.program));
	memcpy(h.prefix, c->files[0], n - 2);
	ret = chanfile_write(ss->o->buffers, &h, m + 1);
	if (ret) {
		fprintf(stderr, "grb record: cannot write %s/%s%s: %s\n", ss->o->buffers, h.prefix,
			CHANFILE_SUFFIX, strerror(-ret));
		return;
	}
	snprintf(c->chanfile, sizeof(c->chanfile), "%s%s", h.prefix, CHANFILE_SUFFIX);
}

static int on_channel(struct sessd *sd, struct sessd_conn *sc, const struct grb_session_channel *m,
		      const int *fds, uint32_t nfd, char *why, size_t size)
{
	struct session *ss = (struct session *)sd->arg;
	struct conn *c = (struct conn *)sc;
	const struct grb_session_welcome *w = &sc->welcome;
	const struct grb_ctf_event_desc *const *events = NULL;
	int ret;

	if (m->nr_streams != nfd || nfd != w->nr_streams || m->subbuf_size != w->subbuf_size ||
	    m->subbuf_count != w->subbuf_count || m->wakeup != w->wakeup) {
		snprintf(why, size,
			 "%u descriptors for %u streams of %u x %u bytes, wake-up %u; expected %u "
			 "of %u x %u, %u",
			 nfd, m->nr_streams, m->subbuf_count, m->subbuf_size, m->wakeup,
			 w->nr_streams, w->subbuf_count, w->subbuf_size, w->wakeup);
		return EPROTO;
	}
	if (ss->o->buffers) {
		ret = buffer_files(ss, c, fds, nfd, why, size);
		if (ret)
			return ret;
	}
	ret = grb_session_events_decode((const unsigned char *)(m + 1), m->events_size,
					m->nr_events, m->subbuf_size, &events);
	if (!ret) {
		ret = grb_ctf_trace_attach_cfg(ss->t, mode_cfg(sc->hello.mode), fds, nfd,
					       sc->hello.name, sc->hello.pid, events, m->nr_events);
		if (ret < 0)
			grb_session_events_free(events, m->nr_events);
	}
	if (ret < 0) {
		/* Refused: the program removes its files. */
		snprintf(why, size, "%s", grb_last_error());
		free(c->files);
		c->files = NULL;
		c->nr_files = 0;
		return -ret;
	}
	c->src = ret;
	c->events = events;
	c->nr_events = m->nr_events;
	if (c->nr_files)
		chanfile_save(ss, c, m);
	/* Its writers wake us: a waiter sleeps on its streams.  (Without
	 * one, it is polled.) */
	if (m->wakeup == GRB_WAKEUP_WRITER)
		c->w = waiter_start(ss, grb_ctf_trace_source_channel(ss->t, (uint32_t)c->src));
	return 0;
}

/* The waiters' eventfd: a waiter found a packet (the tick drains). */
static void on_watched(struct sessd *sd, int fd)
{
	uint64_t v;

	(void)sd;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: read by an earlier event */
	}
}

static void check_ended(struct session *ss)
{
	uint64_t now = now_ns();
	uint32_t i;

	for (i = 0; i < ss->sd.nr_conns; i++) {
		struct conn *c = conn_at(ss, i);
		struct grb_channel *ch;

		if (!c->sc.eof || c->src < 0 || c->last_alive_check == UINT64_MAX ||
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

	for (i = 0; i < ss->sd.nr_conns; i++) {
		struct conn *c = conn_at(ss, i);
		struct grb_ctf_source_stats st;

		if (c->src < 0 || grb_ctf_trace_source_stats(ss->t, (uint32_t)c->src, &st))
			continue;
		if (st.ended) {
			waiter_stop(c);
			buffer_files_remove(ss, c);
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

	for (i = 0; i < ss->sd.nr_conns; i++) {
		struct conn *c = conn_at(ss, i);
		struct grb_ctf_source_stats st;

		if (c->src < 0) {
			if (c->sc.fd >= 0)
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

static void describe_end(const struct session *ss, const struct conn *c, int ended, char *buf,
			 size_t size)
{
	uint32_t i;

	for (i = ss->sd.nr_reaped; i-- > 0;) {
		int st = ss->sd.reaped[i].status;

		if (ss->sd.reaped[i].pid != c->sc.hello.pid)
			continue;
		if (WIFSIGNALED(st))
			snprintf(buf, size, "killed by %s", sig_name(WTERMSIG(st)));
		else
			snprintf(buf, size, "exited %d", WEXITSTATUS(st));
		if (!c->sc.eof && ended)
			snprintf(buf + strlen(buf), size - strlen(buf), " (channel closed)");
		return;
	}
	if (c->sc.eof)
		snprintf(buf, size, "ended (exit status unknown: its parent reaped it)");
	else if (ss->sd.interrupted || !ended)
		snprintf(buf, size, "still running when the recording stopped");
	else
		snprintf(buf, size, "closed its channel");
}

/* What to change when events were lost for want of room or of streams. */
static void print_hints(const struct program_opts *o, uint64_t full, uint64_t nostream)
{
	if (full)
		printf("hint: %" PRIu64 " events found their ring full (the recorder was"
		       " behind): bigger rings keep them (now %u x %u KiB a stream:"
		       " --subbuf-count, --subbuf-size), as does a less loaded machine\n",
		       full, o->subbuf_count, o->subbuf_size / 1024);
	if (nostream)
		printf("hint: %" PRIu64 " events came from threads beyond the %u streams"
		       " of their process: raise --streams\n",
		       nostream, o->streams);
}

/* --buffers, at the end: the files of a process whose events are all in
 * the trace go; those of one still running (Ctrl-C) stay, and are named. */
static void buffers_at_end(struct session *ss, struct conn *c)
{
	struct grb_ctf_source_stats st;

	if (!c->nr_files)
		return;
	if (c->src >= 0 && !grb_ctf_trace_source_stats(ss->t, (uint32_t)c->src, &st) && st.ended) {
		buffer_files_remove(ss, c);
		return;
	}
	printf("process %d: its buffers stay in %s (%s to _%u, described in %s)\n", c->sc.hello.pid,
	       ss->o->buffers, c->files[0], c->nr_files - 1,
	       c->chanfile[0] ? c->chanfile : "no file");
	free(c->files);
	c->files = NULL;
	c->nr_files = 0;
}

/* The per-process summary; return 1 if the accounting is exact. */
static int print_report(struct session *ss, const char *dir)
{
	uint64_t tw = 0, td = 0, tl = 0, tx = 0, files = 0, full = 0, nostream = 0;
	uint32_t i, procs = 0;
	int exact = 1, k;

	printf("\n");
	for (i = 0; i < ss->sd.nr_conns; i++) {
		struct conn *c = conn_at(ss, i);
		struct grb_ctf_source_stats st;
		uint64_t written, extra;
		char end[96], causes[256];
		size_t o = 0;
		int ok, running, lost_mem;

		if (c->src < 0 || grb_ctf_trace_source_stats(ss->t, (uint32_t)c->src, &st))
			continue;
		procs++;
		/* committed counts the records overwritten since (overwrite
		 * mode): they are among the losses. */
		written = st.committed + st.lost_total - st.lost[GRB_LOST_OVERWRITTEN];
		extra = st.events_dropped + st.corrupt_records;
		/* A file that shrank: the rest of its figures are zeros. */
		lost_mem = grb_channel_lost_memory(
			grb_ctf_trace_source_channel(ss->t, (uint32_t)c->src));
		ok = st.ended &&
		     st.committed == st.events + extra + st.lost[GRB_LOST_OVERWRITTEN] && !lost_mem;
		/* Still running at a Ctrl-C: it goes on writing after what was
		 * drained, so its figures cannot balance. */
		running = !c->sc.eof && ss->sd.interrupted &&
			  !sessd_was_reaped(&ss->sd, c->sc.hello.pid);
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
		if (lost_mem) {
			/* Its counters read zeros now: only the disk is known. */
			printf("process %d %s (%s): %" PRIu64 " on disk; written and lost "
			       "unknown: %d of its stream files shrank under the recorder "
			       "(truncated by another process), what they held after that is "
			       "lost and uncounted; %s\n",
			       c->sc.hello.pid, c->sc.hello.program, c->sc.hello.name, st.events,
			       lost_mem, end);
			written = st.events;
			st.lost_total = 0;
			memset(st.lost, 0, sizeof(st.lost));
		} else {
			printf("process %d %s (%s): %" PRIu64 " written = %" PRIu64
			       " on disk + %" PRIu64 " lost%s",
			       c->sc.hello.pid, c->sc.hello.program, c->sc.hello.name, written,
			       st.events, st.lost_total, causes);
			if (st.events_dropped)
				printf(" + %" PRIu64 " dropped (I/O)", st.events_dropped);
			if (st.corrupt_records)
				printf(" + %" PRIu64 " corrupt", st.corrupt_records);
			printf(": %s; %u of %u streams written; %s\n",
			       running ? "partial" :
			       ok      ? "exact" :
					 "MISMATCH",
			       st.streams_written, st.nr_streams, end);
		}
		if (c->sc.welcome.wakeup == GRB_WAKEUP_WRITER)
			printf("  wake-up writer: %" PRIu64
			       " packets on disk, the recorder woken %" PRIu64 " times\n",
			       st.packets, c->wakes);
		exact &= ok || running;
		tw += written;
		td += st.events;
		tl += st.lost_total;
		tx += extra;
		files += st.streams_written;
		full += st.lost[GRB_LOST_FULL];
		/* Only a process that used every stream can have wanted
		 * more; the others lost records of a thread that had given its
		 * stream back (the C library frees after a thread's exit
		 * hook), which more streams would not keep. */
		if (st.streams_written >= st.nr_streams)
			nostream += st.lost[GRB_LOST_NO_STREAM];
	}
	printf("total: %u processes, %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
	       " lost%s in %" PRIu64 " stream files: %s\n",
	       procs, tw, td, tl, tx ? " + dropped or corrupt" : "", files,
	       exact ? "exact" : "MISMATCH");
	print_hints(ss->o, full, nostream);
	if (ss->sd.refused)
		printf("refused registrations: %u\n", ss->sd.refused);
	if (ss->sd.child_reaped) {
		if (WIFSIGNALED(ss->sd.child_status))
			printf("the program was killed by %s\n",
			       sig_name(WTERMSIG(ss->sd.child_status)));
		else
			printf("the program exited with status %d\n",
			       WEXITSTATUS(ss->sd.child_status));
	}
	for (i = 0; i < ss->sd.nr_reaped; i++)
		if (WIFSIGNALED(ss->sd.reaped[i].status) && ss->sd.reaped[i].pid != ss->sd.child)
			printf("process %d was killed by %s\n", ss->sd.reaped[i].pid,
			       sig_name(WTERMSIG(ss->sd.reaped[i].status)));
	printf("\nTrace written to %s\n", dir);
	printf("Open it with:  grb view %s\n", dir);
	return exact;
}

/* The paths of the preload libraries of a comma-separated list (checked
 * by grb record), separated by colons for LD_PRELOAD. */
static int preload_paths(const char *list, char *paths, size_t size)
{
	size_t used = 0;

	for (;;) {
		size_t len = strcspn(list, ",");
		char name[32], path[PATH_MAX];

		if (len >= sizeof(name))
			return -1;
		memcpy(name, list, len);
		name[len] = 0;
		if (find_preload(name, path, sizeof(path)))
			return -1;
		if (used + strlen(path) + 2 > size)
			return -1;
		used += (size_t)sprintf(paths + used, "%s%s", used ? ":" : "", path);
		if (!list[len])
			return 0;
		list += len + 1;
	}
}

/* After each round of events: sources of ended processes end, drain,
 * then the waiters sleep again.  1 once every source ended, -1 if the
 * trace failed. */
static int on_tick(struct sessd *sd)
{
	struct session *ss = (struct session *)sd->arg;
	int got;

	check_ended(ss);
	got = grb_ctf_trace_poll(ss->t);
	ss->poll_ms = got > 0			    ? POLL_MIN_MS :
		      ss->poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS :
						      ss->poll_ms * 2;
	/* What the drain gave is on its way; the idle streams' beacons. */
	if (ss->relay) {
		relay_tick(ss->relay);
		relay_say_lost(ss->relay, "grb record", "the recording goes on", ss->o->dir);
	}
	/* Drained: the waiters sleep again (or say it is there). */
	ss->polled = waiters_arm(ss);
	sd->timeout_ms = ss->polled ? ss->poll_ms : POLL_MAX_MS;
	if (grb_ctf_trace_error(ss->t)[0])
		return -1;
	return all_ended(ss);
}

static const struct sessd_ops session_ops = {
	.conn_size = sizeof(struct conn),
	.conn_init = on_conn_init,
	.hello = on_hello,
	.welcome = on_welcome,
	.exec = on_exec,
	.channel = on_channel,
	.tick = on_tick,
	.watched = on_watched,
	.events = 1,
	.malformed_channel = "malformed channel message",
	.ending = "the recording is ending",
};

/* A fed trace that no source fed: what creating it made goes (the
 * metadata, index/, and the directory unless it existed, empty). */
static void remove_empty_trace(const char *dir, int existed)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/metadata", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/index", dir);
	rmdir(path);
	if (!existed)
		rmdir(dir);
}

int record_program(const struct program_opts *o, char **argv)
{
	struct session ss;
	struct grb_ctf_trace_attr attr;
	char preload[4 * PATH_MAX], host[256], err[512];
	const char *hostname;
	int exact, ret, status = 0, unreached = 0, relay_ok = 1, existed, bad;
	struct stat st;
	uint32_t i;

	memset(&ss, 0, sizeof(ss));
	ss.o = o;
	ss.efd = -1;
	ss.poll_ms = POLL_MIN_MS;
	if (o->preload && preload_paths(o->preload, preload, sizeof(preload)))
		return 2;
	hostname = relay_cli_hostname(o->rc, host, sizeof(host), "grb record", &bad);
	if (bad)
		return 2;
	if (sessd_listen(&ss.sd, &session_ops, &ss, "grb record", "grb-session"))
		return 1;
	ss.sd.timeout_ms = POLL_MIN_MS;

	grb_ctf_trace_attr_init(&attr);
	attr.path = o->dir;
	attr.event_context = GRB_CTF_CONTEXT_IDS;
	attr.hostname = hostname; /* NULL: the machine's */
	existed = !stat(o->dir, &st);
	ss.t = grb_ctf_trace_create_fed(&session_cfg, &attr);
	if (!ss.t) {
		fprintf(stderr, "grb record: %s\n", grb_last_error());
		sessd_close(&ss.sd);
		return 1;
	}
	/* After the trace, which may refuse its directory: the relay then
	 * never saw the session. */
	if (o->rc->url &&
	    !(ss.relay = relay_cli_connect(o->rc, "grb record", o->dir, hostname, NULL, "recording",
					   "recorded", &unreached)) &&
	    !unreached) {
		grb_ctf_trace_destroy(ss.t);
		remove_empty_trace(o->dir, existed);
		sessd_close(&ss.sd);
		return 1;
	}
	if (ss.relay && relay_attach(ss.relay, ss.t, err, sizeof(err))) {
		fprintf(stderr, "grb record: relay %s: %s\n", o->rc->url, err);
		relay_free(ss.relay);
		grb_ctf_trace_destroy(ss.t);
		sessd_close(&ss.sd);
		return 1;
	}
	if (sessd_start(&ss.sd)) {
		relay_free(ss.relay);
		grb_ctf_trace_destroy(ss.t);
		sessd_close(&ss.sd);
		return 1;
	}
	/* The waiters' (writer wake-up): readable when one found a packet. */
	ss.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ss.efd < 0 || sessd_watch(&ss.sd, ss.efd)) {
		perror("grb record: eventfd");
		return 1;
	}

	printf("grb %s: recording %s into %s (%u streams of %u x %u KiB a process, wake-up "
	       "%s%s%s%s%s)\n",
	       grb_version(), argv[0], o->dir, o->streams, o->subbuf_count, o->subbuf_size / 1024,
	       o->wakeup == GRB_WAKEUP_WRITER ? "writer" : "none", o->preload ? ", preload " : "",
	       o->preload ? o->preload : "", o->buffers ? ", buffers in " : "",
	       o->buffers ? o->buffers : "");
	if (ss.relay) {
		char url[512];

		relay_viewer_url(ss.relay, url, sizeof(url));
		printf("grb: streaming live to %s (protocol 2.%u, a beacon every %" PRIu64
		       " ms) into %s; view it with\n     babeltrace2 -i lttng-live %s\n",
		       o->rc->url, relay_minor(ss.relay), o->rc->live_timer_ms,
		       relay_path(ss.relay), url);
	}
	fflush(stdout);
	sessd_launch(&ss.sd, argv, o->preload ? preload : NULL, NULL);

	sessd_run(&ss.sd); /* a failed trace says why when it stops */
	if (ss.sd.interrupted)
		printf("interrupted\n");
	for (i = 0; i < ss.sd.nr_conns; i++)
		waiter_stop(conn_at(&ss, i));
	ret = grb_ctf_trace_stop(ss.t);
	/* The last packets are queued: the session ends on the relay. */
	if (ss.relay) {
		relay_ok = !relay_finish(ss.relay);
		relay_say_lost(ss.relay, "grb record", "the recording went", o->dir);
	}
	exact = print_report(&ss, o->dir);
	if (ss.relay)
		relay_report(ss.relay, stdout);
	else if (unreached)
		printf("relay %s: out of reach at the start (--relay-fallback): nothing sent\n",
		       o->rc->url);
	if (unreached)
		relay_ok = 0;
	if (ret) {
		fprintf(stderr, "grb record: %s\n", grb_ctf_trace_error(ss.t));
		status = 1;
	} else if (!exact) {
		status = 1;
	} else if (!relay_ok) {
		status = 3; /* the local trace is whole, the relay's is not */
	}
	for (i = 0; i < ss.sd.nr_conns; i++)
		buffers_at_end(&ss, conn_at(&ss, i));
	relay_free(ss.relay);
	grb_ctf_trace_destroy(ss.t); /* before the events its sources use */
	for (i = 0; i < ss.sd.nr_conns; i++)
		grb_session_events_free(conn_at(&ss, i)->events, conn_at(&ss, i)->nr_events);
	close(ss.efd);
	sessd_close(&ss.sd);
	return status;
}
