// SPDX-License-Identifier: MIT
/*
 * takeover.c - `grb record --attach BUFFERS_DIR [-o DIR] [--duration S]`:
 * take over the buffers of a `grb record --buffers BUFFERS_DIR` whose
 * recorder died, while its programs write on.  For each description
 * <prefix>.chan (chanfile.h) whose recorder is gone, the stream files
 * <prefix>_<i> are attached in place (no copy: the writers are live), the
 * dead recorder's claim on them is released (grb_channel_consumer_gone),
 * what it took is counted (grb_channel_consumed_records: "taken before"),
 * the description is written again naming this recorder, and the streams
 * are drained into a new fed CTF trace, as the recorder drains them: the
 * packets delivered during the gap first, then live, until every process
 * has ended (or Ctrl-C, or --duration).  The summary accounts for each
 * process: written = on disk + taken before + lost by cause (+ corrupt).
 *
 * Refused, and said why: a process whose recorder still runs, a
 * description that fails its checks, stream files missing or with a bad
 * header, a process whose streams a live reader consumes (a process that
 * maps them read-only, as an attached consumer does), and a directory
 * another take-over drains (it holds BUFFERS_DIR/.grb-attach.lock).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/session.h>

#include "chanfile.h"
#include "grb_tool.h"

static const struct grb_config attach_cfg = GRB_SESSION_CONFIG;
static const struct grb_config attach_cfg_overwrite = GRB_SESSION_CONFIG_OVERWRITE;

#define LOCK_NAME ".grb-attach.lock"
/* The drain: every 1 ms while packets come, backing off to 20 ms. */
#define POLL_MIN_MS 1
#define POLL_MAX_MS 20
/* How often a running writer is looked up in /proc: alive, and still
 * mapping its streams (a process that called exec, or closed its
 * channel, does not). */
#define ALIVE_CHECK_NS 20000000ull
#define MAPS_CHECK_NS 200000000ull
/* How long a count of what the dead recorder took may keep meeting
 * moving writers (-EAGAIN) before the process is given up. */
#define COUNT_TIMEOUT_NS 5000000000ull

/* A process whose buffers are taken over. */
struct tproc {
	struct chanfile cf;
	const struct grb_config *cfg;
	int fds[GRB_SESSION_MAX_STREAMS]; /* its stream files, until attached */
	dev_t dev; /* of stream file 0, to find its mappings */
	ino_t ino;
	struct grb_channel *view; /* the first look, before the trace's */
	int src; /* the trace's source, -1: not taken over */
	int32_t dead_recorder; /* the recorder it was taken over from */
	int ended_at_start; /* its writer had ended when taken over */
	int gone; /* the trace was told its writer is gone */
	int removed; /* its files are removed */
	uint64_t taken_before, corrupt_before;
	struct grb_channel_stats lost_then; /* its losses when taken over */
	uint64_t last_alive, last_maps;
};

struct takeover {
	const char *bufdir;
	struct grb_ctf_trace *t;
	struct tproc *p;
	uint32_t nr;
	struct chanfile_problems problems;
	int lock_fd;
	int recorder_alive; /* a description's recorder still runs */
	int interrupted;
};

/*
 * One take-over of a directory at a time: an exclusive lock on
 * BUFFERS_DIR/.grb-attach.lock, held until the end (the kernel releases it
 * when this process dies), with this process's pid in it.  0; or 1 after
 * saying why (another take-over holds it, or an error).
 */
static int lock_dir(struct takeover *r)
{
	char path[PATH_MAX], buf[32];
	struct stat a, b;
	int tries;

	snprintf(path, sizeof(path), "%s/%s", r->bufdir, LOCK_NAME);
	for (tries = 0; tries < 100; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		ssize_t n;

		if (fd < 0) {
			fprintf(stderr, "grb record --attach: %s: %s\n", path, strerror(errno));
			return 1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int err = errno;

			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = 0;
			close(fd);
			if (err == EWOULDBLOCK) {
				fprintf(stderr,
					"grb record --attach: %s: another take-over (pid %s) drains "
					"these buffers: nothing taken over\n",
					r->bufdir, buf[0] ? buf : "unknown");
				return 1;
			}
			fprintf(stderr, "grb record --attach: %s: %s\n", path, strerror(err));
			return 1;
		}
		/* A take-over that ended removes the file after its unlock:
		 * the lock must be on the file the name still gives. */
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
			if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n) {
				/* The pid is for messages only. */
			}
			r->lock_fd = fd;
			return 0;
		}
		close(fd);
	}
	fprintf(stderr, "grb record --attach: %s: cannot hold it\n", path);
	return 1;
}

static void unlock_dir(struct takeover *r)
{
	char path[PATH_MAX];

	if (r->lock_fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", r->bufdir, LOCK_NAME);
	unlink(path);
	close(r->lock_fd);
	r->lock_fd = -1;
}

/* A line of /proc/PID/maps, "start-end perms offset major:minor inode
 * path": 1 if it maps the file (dev, ino), with *ro set when read-only. */
static int maps_line(const char *line, dev_t dev, ino_t ino, int *ro)
{
	char perms[8];
	unsigned int maj, min;
	unsigned long long in;

	if (sscanf(line, "%*s %7s %*s %x:%x %llu", perms, &maj, &min, &in) != 4)
		return 0;
	if (maj != major(dev) || min != minor(dev) || in != (unsigned long long)ino)
		return 0;
	*ro = perms[1] != 'w';
	return 1;
}

/*
 * The processes that map the file (dev, ino) read-only, as a consumer that
 * attached it does (its consumer page aside): a live reader.  The writer
 * and the children it forked map it read-write; this process is left out.
 * Return the first such pid, 0 for none.
 */
static pid_t live_reader(dev_t dev, ino_t ino)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid(), found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[64], line[1024];
		pid_t pid;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid = (pid_t)atoi(e->d_name);
		if (pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			int ro;

			if (maps_line(line, dev, ino, &ro) && ro) {
				found = pid;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Does process pid still map the file (dev, ino)?  1, 0, or -1 (not
 * known: the process is gone or its maps cannot be read). */
static int maps_file(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], line[1024];
	FILE *f;
	int found = 0, ro;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = maps_line(line, dev, ino, &ro);
	fclose(f);
	return found;
}

static void close_fds(struct tproc *p)
{
	uint32_t i;

	for (i = 0; i < GRB_SESSION_MAX_STREAMS; i++)
		if (p->fds[i] >= 0) {
			close(p->fds[i]);
			p->fds[i] = -1;
		}
}

/*
 * The first look at a process, before anything changes: its recorder is
 * gone, its stream files open and pass the checks, and no live reader
 * consumes them.  0 (p->view attached), or -1 with the problem recorded.
 */
static int look(struct takeover *r, struct tproc *p)
{
	const struct chanfile_head *h = &p->cf.h;
	char path[PATH_MAX];
	struct grb_reader *rd;
	struct stat st;
	uint32_t i;
	pid_t reader;

	if (chanfile_proc_start(h->recorder_pid) == h->recorder_start) {
		chanfile_problem(
			&r->problems,
			"process %d %s (%s_*): its recorder (pid %d) still runs and drains it: not "
			"taken over",
			h->pid, h->program, h->prefix, h->recorder_pid);
		r->recorder_alive = 1;
		return -1;
	}
	for (i = 0; i < h->nr_streams; i++) {
		snprintf(path, sizeof(path), "%s/%s_%u", r->bufdir, h->prefix, i);
		p->fds[i] = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (p->fds[i] < 0 || fstat(p->fds[i], &st) || !S_ISREG(st.st_mode)) {
			chanfile_problem(&r->problems,
					 "process %d %s (%s_*): %s_%u: %s: not taken over", h->pid,
					 h->program, h->prefix, h->prefix, i,
					 p->fds[i] < 0 ? strerror(errno) : "not a regular file");
			close_fds(p);
			return -1;
		}
		if (!i) {
			p->dev = st.st_dev;
			p->ino = st.st_ino;
		}
	}
	p->view = grb_channel_attach(p->cfg, p->fds, h->nr_streams, NULL);
	if (!p->view) {
		chanfile_problem(&r->problems,
				 "process %d %s (%s_*): a bad stream: %s: not taken over", h->pid,
				 h->program, h->prefix, grb_last_error());
		close_fds(p);
		return -1;
	}
	if (grb_channel_nr_streams(p->view) != h->nr_streams) {
		chanfile_problem(&r->problems,
				 "process %d %s (%s_*): %u streams, its description says %u",
				 h->pid, h->program, h->prefix, grb_channel_nr_streams(p->view),
				 h->nr_streams);
		goto refuse;
	}
	/* A consuming reader's claim: the dead recorder's, or a live
	 * reader's (an attached consumer maps the streams read-only). */
	for (i = 0; i < h->nr_streams; i++) {
		rd = grb_reader_create(p->view, i, 0);
		if (rd) {
			grb_reader_destroy(rd);
			continue;
		}
		if (errno != EBUSY) {
			chanfile_problem(&r->problems, "process %d %s (%s_%u): %s: not taken over",
					 h->pid, h->program, h->prefix, i, grb_last_error());
			goto refuse;
		}
		if (!fstat(p->fds[i], &st) && (reader = live_reader(st.st_dev, st.st_ino))) {
			chanfile_problem(
				&r->problems,
				"process %d %s (%s_%u): a live reader (pid %d) consumes its "
				"streams: not taken over",
				h->pid, h->program, h->prefix, i, (int)reader);
			goto refuse;
		}
	}
	return 0;
refuse:
	grb_channel_destroy(p->view);
	p->view = NULL;
	close_fds(p);
	return -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Take a process over: release the dead recorder's claim, count what it
 * took (while the writers run: looked at again while they move), attach
 * the streams to the trace, and name this recorder in the description.
 * 0, or -1 with the problem recorded.
 */
static int take(struct takeover *r, struct tproc *p)
{
	const struct chanfile_head *h = &p->cf.h;
	uint64_t deadline = now_ns() + COUNT_TIMEOUT_NS;
	char why[256];
	uint32_t i;
	int ret, alive;

	/* Its recorder is gone: its readers' claim goes. */
	grb_channel_consumer_gone(p->view);
	alive = grb_channel_owner_alive(p->view);
	p->taken_before = p->corrupt_before = 0;
	for (i = 0; i < h->nr_streams; i++) {
		struct grb_stream_stats st;
		uint64_t n = 0;

		while ((ret = grb_channel_consumed_records(p->view, i, &n)) == -EAGAIN &&
		       now_ns() < deadline) {
			/* A writer that died meanwhile leaves a reservation
			 * open for ever: the count then follows the rules of a
			 * writer gone (grb_channel_owner_alive() says so). */
			if (alive && grb_channel_owner_alive(p->view) == 0)
				alive = 0;
			sleep_ms(1);
		}
		if (!ret)
			ret = grb_channel_read_stream_stats(p->view, i, &st);
		if (ret || st.corrupt_records > n) {
			chanfile_problem(
				&r->problems,
				"process %d %s (%s_%u): what its recorder took is not known (%s): "
				"not taken over",
				h->pid, h->program, h->prefix, i,
				ret ? grb_last_error() : "more corrupt records than consumed");
			goto fail;
		}
		p->taken_before += n - st.corrupt_records;
		p->corrupt_before += st.corrupt_records;
	}
	grb_channel_read_stats(p->view, &p->lost_then);
	grb_channel_destroy(p->view);
	p->view = NULL;
	ret = grb_ctf_trace_attach_cfg(r->t, p->cfg, p->fds, h->nr_streams, h->name, h->pid,
				       p->cf.events, h->nr_events);
	close_fds(p);
	if (ret < 0) {
		chanfile_problem(&r->problems, "process %d %s (%s_*): %s: not taken over", h->pid,
				 h->program, h->prefix, grb_last_error());
		return -1;
	}
	p->src = ret;
	p->dead_recorder = h->recorder_pid;
	/* From now on a take-over or a recovery finds this recorder. */
	ret = chanfile_claim(r->bufdir, &p->cf);
	if (ret) {
		snprintf(why, sizeof(why), "%s", strerror(-ret));
		fprintf(stderr, "grb record --attach: cannot write %s/%s%s again: %s\n", r->bufdir,
			h->prefix, CHANFILE_SUFFIX, why);
	}
	if (alive == 0) {
		p->ended_at_start = 1;
		p->gone = 1;
		grb_ctf_trace_source_end(r->t, (uint32_t)p->src);
	}
	return 0;
fail:
	grb_channel_destroy(p->view);
	p->view = NULL;
	close_fds(p);
	return -1;
}

/* A process whose events are all in the trace: its files go. */
static void remove_files(struct takeover *r, struct tproc *p)
{
	const struct chanfile_head *h = &p->cf.h;
	char path[PATH_MAX];
	uint32_t i;

	for (i = 0; i < h->nr_streams; i++) {
		snprintf(path, sizeof(path), "%s/%s_%u", r->bufdir, h->prefix, i);
		if (unlink(path) && errno != ENOENT)
			fprintf(stderr, "grb record --attach: cannot remove %s: %s\n", path,
				strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/%s%s", r->bufdir, h->prefix, CHANFILE_SUFFIX);
	if (unlink(path) && errno != ENOENT)
		fprintf(stderr, "grb record --attach: cannot remove %s: %s\n", path,
			strerror(errno));
	p->removed = 1;
}

/* The writers of running sources that ended: exited or died (/proc), or
 * no longer mapping their streams (exec).  (One that closed its channel
 * finalized it: its streams end by themselves, all_ended().) */
static void check_ended(struct takeover *r)
{
	uint64_t now = now_ns();
	uint32_t i;

	for (i = 0; i < r->nr; i++) {
		struct tproc *p = &r->p[i];
		struct grb_channel *ch;
		int gone = 0;

		if (p->src < 0 || p->gone || now - p->last_alive < ALIVE_CHECK_NS)
			continue;
		p->last_alive = now;
		ch = grb_ctf_trace_source_channel(r->t, (uint32_t)p->src);
		if (ch && grb_channel_owner_alive(ch) == 0)
			gone = 1;
		if (!gone && now - p->last_maps >= MAPS_CHECK_NS) {
			p->last_maps = now;
			/* Mapped no more while it runs: its channel has no
			 * writer any more (it called exec).  An unreadable maps
			 * file says nothing. */
			gone = maps_file(p->cf.h.pid, p->dev, p->ino) == 0 &&
			       grb_channel_owner_alive(ch) == 1;
		}
		if (gone) {
			p->gone = 1;
			grb_ctf_trace_source_end(r->t, (uint32_t)p->src);
		}
	}
}

/* 1 once every source ended; their files removed.  A source also ends
 * by itself when its writers finalized their channel (grb_session_close():
 * its streams say so, and it will write no more). */
static int all_ended(struct takeover *r)
{
	uint32_t i;
	int all = 1;

	for (i = 0; i < r->nr; i++) {
		struct tproc *p = &r->p[i];
		struct grb_ctf_source_stats st;

		if (p->src < 0)
			continue;
		if (grb_ctf_trace_source_stats(r->t, (uint32_t)p->src, &st) || !st.ended) {
			all = 0;
			continue;
		}
		p->gone = 1;
		if (!p->removed)
			remove_files(r, p);
	}
	return all;
}

static void causes_text(const uint64_t *lost, char *buf, size_t size)
{
	size_t o = 0;
	int k;

	buf[0] = 0;
	for (k = 0; k < GRB_LOST_NR; k++)
		if (lost[k] && o < size)
			o += (size_t)snprintf(buf + o, size - o, "%s%s %" PRIu64, o ? ", " : " (",
					      grb_lost_cause_name((enum grb_lost_cause)k), lost[k]);
	if (o && o < size)
		snprintf(buf + o, size - o, ")");
}

/* The summary line of a process; 1 if its accounting is exact (or it
 * still runs: partial). */
static int report_one(struct takeover *r, const struct tproc *p, uint64_t *tot)
{
	const struct chanfile_head *h = &p->cf.h;
	struct grb_ctf_source_stats st;
	uint64_t written, extra, ov;
	char causes[256];
	int ok, running, lost_mem;

	if (grb_ctf_trace_source_stats(r->t, (uint32_t)p->src, &st))
		return 0;
	ov = st.lost[GRB_LOST_OVERWRITTEN];
	/* committed counts the records overwritten since (overwrite mode):
	 * they are among the losses. */
	written = st.committed + st.lost_total - ov;
	extra = st.events_dropped + st.corrupt_records;
	lost_mem = grb_channel_lost_memory(grb_ctf_trace_source_channel(r->t, (uint32_t)p->src));
	running = !p->gone;
	ok = st.ended && !lost_mem && st.committed == st.events + p->taken_before + extra + ov;
	causes_text(st.lost, causes, sizeof(causes));
	if (lost_mem) {
		printf("process %d %s (%s): %" PRIu64 " on disk; written and lost unknown: %d of "
		       "its stream files shrank under the recorder (truncated by another "
		       "process)\n",
		       h->pid, h->program, h->name, st.events, lost_mem);
	} else {
		printf("process %d %s (%s): %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
		       " taken before + %" PRIu64 " lost%s",
		       h->pid, h->program, h->name, written, st.events, p->taken_before,
		       st.lost_total, causes);
		if (st.events_dropped)
			printf(" + %" PRIu64 " dropped (I/O)", st.events_dropped);
		if (st.corrupt_records)
			printf(" + %" PRIu64 " corrupt", st.corrupt_records);
		printf(": %s; %u of %u streams written; %s\n",
		       running ? "partial" :
		       ok      ? "exact" :
				 "MISMATCH",
		       st.streams_written, st.nr_streams,
		       running		 ? "still running when the take-over stopped" :
		       p->ended_at_start ? "had ended before the take-over" :
					   "ended");
	}
	causes_text(p->lost_then.lost, causes, sizeof(causes));
	printf("  taken over from recorder %d: %" PRIu64 " taken before, %" PRIu64
	       " lost by then%s\n",
	       p->dead_recorder, p->taken_before, p->lost_then.lost_total, causes);
	tot[0] += written;
	tot[1] += st.events;
	tot[2] += p->taken_before;
	tot[3] += st.lost_total;
	tot[4] += extra;
	tot[5] += st.streams_written;
	return ok || (running && !lost_mem);
}

/* Block Ctrl-C (SIGINT, SIGTERM) into a descriptor; -1 on failure. */
static int signals_fd(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, old))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Drain until every source ended, Ctrl-C or the duration; -1 if the trace
 * failed. */
static int run(struct takeover *r, double duration)
{
	uint64_t stop_at = duration > 0 ? now_ns() + (uint64_t)(duration * 1e9) : 0;
	sigset_t old;
	int sfd = signals_fd(&old), poll_ms = POLL_MIN_MS, ret = 0;

	for (;;) {
		struct pollfd pfd = { sfd, POLLIN, 0 };
		int got;

		if (sfd >= 0 && poll(&pfd, 1, poll_ms) > 0) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				r->interrupted = 1;
		} else if (sfd < 0) {
			sleep_ms(poll_ms);
		}
		check_ended(r);
		got = grb_ctf_trace_poll(r->t);
		if (got < 0 || grb_ctf_trace_error(r->t)[0]) {
			ret = -1;
			break;
		}
		poll_ms = got > 0		    ? POLL_MIN_MS :
			  poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS :
						      poll_ms * 2;
		if (all_ended(r) || r->interrupted || (stop_at && now_ns() >= stop_at))
			break;
	}
	if (sfd >= 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return ret;
}

static void free_all(struct takeover *r, char **names, uint32_t nr_names)
{
	uint32_t i;

	for (i = 0; i < r->nr; i++) {
		if (r->p[i].view)
			grb_channel_destroy(r->p[i].view);
		close_fds(&r->p[i]);
		chanfile_free(&r->p[i].cf);
	}
	chanfile_problems_free(&r->problems);
	chanfile_names_free(names, nr_names);
	free(r->p);
}

int record_attach(const char *bufdir, const char *out, double duration)
{
	struct grb_ctf_trace_attr attr;
	struct takeover r;
	char **names, why[384];
	uint64_t tot[6] = { 0 };
	uint32_t i, j, nr_names, ok = 0, procs = 0, unrecovered;
	int exact = 1, status, ran, running = 0;

	memset(&r, 0, sizeof(r));
	r.bufdir = bufdir;
	r.lock_fd = -1;
	names = chanfile_list_dir(bufdir, &nr_names);
	if (!names && access(bufdir, R_OK | X_OK)) {
		fprintf(stderr, "grb record --attach: %s: %s\n", bufdir, strerror(errno));
		return 2;
	}
	if (lock_dir(&r)) {
		chanfile_names_free(names, nr_names);
		return 2;
	}
	r.p = (struct tproc *)calloc(nr_names ? nr_names : 1, sizeof(*r.p));
	if (!r.p) {
		fprintf(stderr, "grb record --attach: out of memory\n");
		unlock_dir(&r);
		return 1;
	}
	for (i = 0; i < nr_names; i++) {
		struct tproc *p = &r.p[r.nr];

		if (!chanfile_is_desc(names[i]))
			continue;
		for (j = 0; j < GRB_SESSION_MAX_STREAMS; j++)
			p->fds[j] = -1;
		p->src = -1;
		if (chanfile_read(bufdir, names[i], &p->cf, why, sizeof(why))) {
			chanfile_problem(&r.problems, "%s: %s: its streams are not taken over",
					 names[i], why);
			continue;
		}
		p->cfg = p->cf.h.mode == GRB_MODE_OVERWRITE ? &attach_cfg_overwrite : &attach_cfg;
		r.nr++;
		if (!look(&r, p))
			ok++;
	}
	/* Stream files no description covers: not decodable. */
	for (i = 0; i < nr_names; i++)
		if (!chanfile_is_desc(names[i]) && !chanfile_described(names, nr_names, names[i]))
			chanfile_problem(&r.problems,
					 "%s: no description (.chan) for it: not taken over",
					 names[i]);
	if (!ok) {
		if (r.recorder_alive)
			fprintf(stderr,
				"grb record --attach: %s: its recorder still runs and drains it: "
				"nothing taken over\n",
				bufdir);
		else
			fprintf(stderr, "grb record --attach: %s: nothing to take over\n", bufdir);
		chanfile_problems_print(&r.problems, "not taken over:");
		free_all(&r, names, nr_names);
		unlock_dir(&r);
		return 2;
	}

	grb_ctf_trace_attr_init(&attr);
	attr.path = out;
	attr.event_context = GRB_CTF_CONTEXT_IDS;
	r.t = grb_ctf_trace_create_fed(&attach_cfg, &attr);
	if (!r.t) {
		fprintf(stderr, "grb record --attach: %s\n", grb_last_error());
		free_all(&r, names, nr_names);
		unlock_dir(&r);
		return 1;
	}
	ok = 0;
	for (i = 0; i < r.nr; i++)
		if (r.p[i].view && !take(&r, &r.p[i]))
			ok++;
	printf("grb %s: taking over %s into %s (%u of %u processes described)\n", grb_version(),
	       bufdir, out, ok, r.nr);
	for (i = 0; i < r.nr; i++)
		if (r.p[i].src >= 0)
			printf("process %d %s (%s_*): taken over from recorder %d, %s\n",
			       r.p[i].cf.h.pid, r.p[i].cf.h.program, r.p[i].cf.h.prefix,
			       r.p[i].dead_recorder, r.p[i].ended_at_start ? "ended" : "running");
	fflush(stdout);
	ran = run(&r, duration);
	if (r.interrupted)
		printf("interrupted\n");
	status = grb_ctf_trace_stop(r.t);
	/* What ended with the stop's last reads goes too; a process still
	 * running keeps its files for a later take-over. */
	for (i = 0; i < r.nr; i++) {
		struct grb_ctf_source_stats st;

		if (r.p[i].src >= 0 && r.p[i].gone && !r.p[i].removed &&
		    !grb_ctf_trace_source_stats(r.t, (uint32_t)r.p[i].src, &st) && st.ended)
			remove_files(&r, &r.p[i]);
	}
	printf("\n");
	for (i = 0; i < r.nr; i++) {
		if (r.p[i].src < 0)
			continue;
		procs++;
		exact &= report_one(&r, &r.p[i], tot);
		running += !r.p[i].gone;
	}
	printf("total: %u processes, %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
	       " taken before + %" PRIu64 " lost%s in %" PRIu64 " stream files: %s\n",
	       procs, tot[0], tot[1], tot[2], tot[3], tot[4] ? " + dropped or corrupt" : "", tot[5],
	       running ? "partial" :
	       exact   ? "exact" :
			 "MISMATCH");
	for (i = 0; i < r.nr; i++)
		if (r.p[i].src >= 0 && !r.p[i].gone)
			printf("process %d: its buffers stay in %s (%s_*, described in %s%s)\n",
			       r.p[i].cf.h.pid, bufdir, r.p[i].cf.h.prefix, r.p[i].cf.h.prefix,
			       CHANFILE_SUFFIX);
	chanfile_problems_print(&r.problems, "not taken over:");
	if (status || ran)
		fprintf(stderr, "grb record --attach: %s\n", grb_ctf_trace_error(r.t));
	printf("\nTrace written to %s\n", out);
	grb_ctf_trace_destroy(r.t);
	unrecovered = r.problems.nr;
	free_all(&r, names, nr_names);
	unlock_dir(&r);
	if (status || ran || !exact)
		return 1;
	return unrecovered ? 3 : 0;
}
