// SPDX-License-Identifier: MIT
/*
 * bench_xproc.c - writers and their consumer in different processes.
 *
 * The same writers (per-thread single-writer streams, discard mode, the
 * CLOCK_MONOTONIC clock, a 16-byte payload: grb_reserve + grb_write +
 * grb_commit, as bench_write's perthread-single-discard case) write into a
 * channel whose streams are memory files (GRB_BACKING_MEMFD), drained
 * either
 *
 *   inproc: by a consumer thread of the writers' process, whose take swaps
 *           its spare sub-buffer into the ring (doc/design.md, reader rule 2);
 *   xproc:  by a consumer process that gets the stream descriptors over a
 *           UNIX socket (SCM_RIGHTS), attaches them (grb_channel_attach) and
 *           takes every packet by copy (doc/design.md, "Sharing streams
 *           between processes").
 *
 * Both consumers run the same loop: grb_reader_get_next, count the
 * packet's records, grb_reader_put, sleep --poll-us when every stream is
 * empty, until every stream says -ENODATA after grb_channel_finalize().
 * Same geometry, same writer loop, same CPU placement: with 1 writer, the
 * writer and the consumer each get a CPU of their own when there are 2;
 * with 2 writers on 2 CPUs the consumer is not pinned.  The consumer
 * process is forked before the channel exists, so it holds nothing of the
 * writers' process but what it attaches.
 *
 * Each repetition runs every thread count in both placements, their order
 * alternating from one repetition to the next, so that a slow phase of a
 * shared machine hits both; medians and min/max are taken over the
 * repetitions.  Every run checks its accounting: written == delivered +
 * lost, every refused reservation counted lost, no corrupt packet, and
 * (xproc) the loss counters the consumer reads through its attached
 * mapping equal the writers' own.  Exit status 1 if a check failed, 2 on
 * a usage error, 3 on a hang or a library error.
 *
 * --smoke: a few thousand events in small rings, one repetition, checks
 * only (what the test bench_xproc_smoke runs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#define BENCH_PROG "bench_xproc"
#include "harness.h"

#define HEADER_SIZE 8u /* compact native record header */
#define PAYLOAD 16u
#define MAX_THREADS 8
#define MAX_STREAMS MAX_THREADS
#define NR_PLACES 2

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);

enum place { INPROC, XPROC };
static const char *const place_names[NR_PLACES] = { "inproc", "xproc" };

static struct {
	uint64_t events;
	uint64_t warmup;
	int warmup_set;
	int runs;
	uint32_t subbuf_size;
	uint32_t subbufs;
	uint64_t poll_us;
	uint64_t timeout_s;
	int threads[MAX_THREADS];
	int nr_threads;
	int pin;
	int smoke;
} opt = {
	.events = 2000000,
	.runs = 5,
	.subbuf_size = 256 * 1024,
	.subbufs = 32,
	.poll_us = 1000,
	.timeout_s = 120,
	.pin = 1,
};

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------------- */
/* The writers                                                             */
/* ---------------------------------------------------------------------- */

static __attribute__((noinline)) uint64_t write_loop(struct grb_channel *ch, uint64_t n,
						     uint64_t seed)
{
	uint64_t payload[PAYLOAD / 8], i, rejected = 0;

	payload_init(payload, PAYLOAD / 8);
	for (i = 0; i < n; i++) {
		struct grb_ctx ctx;

		payload_set(payload, PAYLOAD / 8, seed, i);
		ctx.event_id = 0;
		ctx.payload_len = sizeof(payload);
		if (__builtin_expect(grb_reserve(&cfg, ch, &ctx) != 0, 0)) {
			rejected++;
			continue;
		}
		grb_write(&ctx, payload, sizeof(payload));
		grb_commit(&cfg, &ctx);
	}
	return rejected;
}

struct writer {
	struct grb_channel *ch;
	pthread_barrier_t *start;
	pthread_t tid;
	uint64_t seed;
	uint64_t ns;
	uint64_t rejected;
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	uint64_t t0;

	if (opt.warmup)
		w->rejected += write_loop(w->ch, opt.warmup, w->seed);
	pthread_barrier_wait(w->start);
	t0 = now_ns();
	w->rejected += write_loop(w->ch, opt.events, w->seed + opt.warmup);
	w->ns = now_ns() - t0;
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* The consumer (a thread of the writers' process, or a process)          */
/* ---------------------------------------------------------------------- */

struct consumer {
	struct grb_channel *ch;
	int stop; /* inproc: set (release) after grb_channel_finalize() */
	uint64_t deadline_ns;
	/* results */
	uint64_t delivered;
	uint64_t packets;
	uint64_t eproto;
	uint64_t cpu_ns; /* the consumer's CPU time */
	uint64_t lost_seen; /* xproc: the writers' losses read through the mapping */
	int error; /* an unexpected return code, or -ETIMEDOUT */
};

static uint64_t cpu_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void drain(struct consumer *c)
{
	struct grb_reader *r[MAX_STREAMS];
	int finished[MAX_STREAMS] = { 0 };
	uint32_t i, nr = grb_channel_nr_streams(c->ch), left = nr;
	uint64_t t0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);

	if (nr > MAX_STREAMS) {
		c->error = -E2BIG;
		return;
	}
	for (i = 0; i < nr; i++) {
		r[i] = grb_reader_create(c->ch, i, 0);
		if (!r[i]) {
			c->error = -errno;
			nr = i;
			goto out;
		}
	}
	while (left) {
		int progress = 0;

		for (i = 0; i < nr; i++) {
			struct grb_packet pkt;
			int ret;

			if (finished[i])
				continue;
			ret = grb_reader_get_next(r[i], &pkt);
			if (ret == 0) {
				c->delivered += pkt.info.records;
				c->packets++;
				ret = grb_reader_put(r[i], &pkt);
				if (ret) {
					c->error = ret;
					goto out;
				}
				progress = 1;
			} else if (ret == -ENODATA) {
				finished[i] = 1;
				left--;
				progress = 1;
			} else if (ret == -EPROTO) {
				c->eproto++;
				progress = 1;
			} else if (ret != -EAGAIN) {
				c->error = ret;
				goto out;
			}
		}
		if (progress)
			continue;
		if (now_ns() > c->deadline_ns) {
			c->error = -ETIMEDOUT;
			goto out;
		}
		/* acquire: pairs with the release store of stop in run_once
		 * (after grb_channel_finalize): the readers then end soon. */
		sleep_ns(__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) ? 10000 : opt.poll_us * 1000);
	}
out:
	c->cpu_ns = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	for (i = 0; i < nr; i++)
		grb_reader_destroy(r[i]);
}

static void *consumer_thread(void *p)
{
	drain(p);
	return NULL;
}

static int send_fds(int sock, const int *fds, uint32_t n)
{
	char ctl[CMSG_SPACE(sizeof(int) * MAX_STREAMS)];
	struct iovec iov = { &n, sizeof(n) };
	struct msghdr msg;
	struct cmsghdr *cm;

	memset(&msg, 0, sizeof(msg));
	memset(ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(n) ? 0 : -1;
}

/* The descriptors sent by send_fds: their count, or -1. */
static int recv_fds(int sock, int *fds)
{
	char ctl[CMSG_SPACE(sizeof(int) * MAX_STREAMS)];
	uint32_t n = 0;
	struct iovec iov = { &n, sizeof(n) };
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t r;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	cm = CMSG_FIRSTHDR(&msg);
	if (r != (ssize_t)sizeof(n) || !cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS || n > MAX_STREAMS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int) * n))
		return -1;
	memcpy(fds, CMSG_DATA(cm), sizeof(int) * n);
	return (int)n;
}

/* The consumer process: attach what comes over sock, say so, drain, send
 * the struct consumer back, exit. */
static void __attribute__((noreturn)) consumer_process(int sock, int cpu)
{
	struct consumer c;
	struct grb_channel_stats st;
	int fds[MAX_STREAMS], n, i;
	char ok = 1;

	memset(&c, 0, sizeof(c));
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	n = recv_fds(sock, fds);
	if (n <= 0)
		_exit(4);
	c.ch = grb_channel_attach(&cfg, fds, (uint32_t)n, NULL);
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (!c.ch) {
		fprintf(stderr, "bench_xproc: grb_channel_attach: %s\n", grb_last_error());
		ok = 0;
	}
	if (write(sock, &ok, 1) != 1 || !ok)
		_exit(5);
	c.deadline_ns = now_ns() + opt.timeout_s * 1000000000u;
	drain(&c);
	/* The writers finalized (the readers said -ENODATA): their loss
	 * counters are final, as this process reads them. */
	grb_channel_read_stats(c.ch, &st);
	c.lost_seen = st.lost_total;
	c.ch = NULL;
	if (write(sock, &c, sizeof(c)) != (ssize_t)sizeof(c))
		_exit(6);
	_exit(0);
}

/* ---------------------------------------------------------------------- */
/* One run                                                                 */
/* ---------------------------------------------------------------------- */

struct result {
	double ns; /* per writer thread, mean over the threads */
	double mevents_s; /* all writers together over the slowest one's time */
	double consumer_cpu_ms;
	uint64_t written, delivered, lost, rejected, packets;
	int ok;
	char why[160];
};

static void die(const char *what)
{
	fprintf(stderr, "bench_xproc: %s\n", what);
	exit(3);
}

/* Reads exactly n bytes before the deadline: 0, or -1. */
static int read_full(int fd, void *buf, size_t n, uint64_t deadline_ns)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = now_ns();
		ssize_t r;

		if (now >= deadline_ns)
			return -1;
		if (poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return -1;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void run_once(int threads, enum place place, struct result *res)
{
	struct writer w[MAX_THREADS];
	struct consumer c;
	struct grb_channel_attr attr;
	struct grb_channel_stats st;
	struct grb_channel *ch;
	pthread_barrier_t start;
	pthread_t ctid;
	uint64_t sum_ns = 0, max_ns = 0, deadline;
	int t, err, sv[2] = { -1, -1 }, pin = opt.pin && nr_cpus >= threads;
	int ccpu = pin && nr_cpus > threads ? cpus[nr_cpus - 1] : -1;
	pid_t pid = -1;
	char ok;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	if (place == XPROC) {
		/* Fork first: the consumer holds nothing of the channel but
		 * what it attaches. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die("socketpair failed");
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			die("fork failed");
		if (pid == 0) {
			close(sv[0]);
			consumer_process(sv[1], ccpu);
		}
		close(sv[1]);
	}

	grb_channel_attr_init(&attr);
	attr.subbuf_size = opt.subbuf_size;
	attr.subbuf_count = opt.subbufs;
	attr.nr_streams = (uint32_t)threads;
	attr.backing = GRB_BACKING_MEMFD;
	attr.name = "bench_xproc";
	ch = grb_channel_create(&cfg, &attr);
	if (!ch) {
		fprintf(stderr, "bench_xproc: grb_channel_create: %s\n", grb_last_error());
		exit(3);
	}
	deadline = now_ns() + opt.timeout_s * 1000000000u;
	if (place == XPROC) {
		int fds[MAX_STREAMS];
		uint32_t i, n = grb_channel_nr_streams(ch);

		for (i = 0; i < n; i++) {
			struct grb_stream_shm d;

			if (grb_channel_stream_shm(ch, i, &d))
				die("grb_channel_stream_shm failed");
			fds[i] = d.fd;
		}
		if (send_fds(sv[0], fds, n) || read_full(sv[0], &ok, 1, deadline) || !ok)
			die("the consumer process did not attach");
	} else {
		c.ch = ch;
		c.deadline_ns = deadline;
		err = pthread_create(&ctid, NULL, consumer_thread, &c);
		if (err)
			die("pthread_create failed");
		if (ccpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(ccpu, &set);
			pthread_setaffinity_np(ctid, sizeof(set), &set);
		}
	}

	pthread_barrier_init(&start, NULL, (unsigned int)threads);
	for (t = 0; t < threads; t++) {
		pthread_attr_t pa;

		memset(&w[t], 0, sizeof(w[t]));
		w[t].ch = ch;
		w[t].start = &start;
		w[t].seed = (uint64_t)t << 48;
		pthread_attr_init(&pa);
		if (pin) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpus[t], &set);
			pthread_attr_setaffinity_np(&pa, sizeof(set), &set);
		}
		err = pthread_create(&w[t].tid, &pa, writer_main, &w[t]);
		pthread_attr_destroy(&pa);
		if (err)
			die("pthread_create failed");
	}
	for (t = 0; t < threads; t++) {
		pthread_join(w[t].tid, NULL);
		sum_ns += w[t].ns;
		if (w[t].ns > max_ns)
			max_ns = w[t].ns;
		res->rejected += w[t].rejected;
	}
	pthread_barrier_destroy(&start);
	grb_channel_finalize(ch);

	if (place == XPROC) {
		int status;

		if (read_full(sv[0], &c, sizeof(c), deadline)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			die("the consumer process sent no result (hang or crash)");
		}
		waitpid(pid, &status, 0);
		close(sv[0]);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			die("the consumer process failed");
	} else {
		/* release: pairs with the acquire load of stop in drain() */
		__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
		pthread_join(ctid, NULL);
	}
	if (c.error) {
		fprintf(stderr, "bench_xproc: %s consumer: %s\n", place_names[place],
			strerror(-c.error));
		exit(3);
	}

	grb_channel_read_stats(ch, &st);
	res->written = (opt.events + opt.warmup) * (uint64_t)threads;
	res->delivered = c.delivered;
	res->packets = c.packets;
	res->lost = st.lost_total;
	res->ns = (double)sum_ns / threads / (double)opt.events;
	res->mevents_s = (double)opt.events * threads * 1e3 / (double)max_ns;
	res->consumer_cpu_ms = (double)c.cpu_ns / 1e6;
	res->ok = 1;
	if (res->delivered + res->lost != res->written) {
		res->ok = 0;
		snprintf(res->why, sizeof(res->why), "delivered + lost = %llu != written %llu",
			 (unsigned long long)(res->delivered + res->lost),
			 (unsigned long long)res->written);
	} else if (res->rejected != res->lost) {
		res->ok = 0;
		snprintf(res->why, sizeof(res->why), "rejected %llu != lost %llu",
			 (unsigned long long)res->rejected, (unsigned long long)res->lost);
	} else if (c.eproto || st.corrupt_packets || st.invariant_failures) {
		res->ok = 0;
		snprintf(res->why, sizeof(res->why),
			 "%llu corrupt packets, %llu invariant failures",
			 (unsigned long long)(c.eproto + st.corrupt_packets),
			 (unsigned long long)st.invariant_failures);
	} else if (place == XPROC && c.lost_seen != res->lost) {
		res->ok = 0;
		snprintf(res->why, sizeof(res->why),
			 "the consumer read %llu lost, the writers counted %llu",
			 (unsigned long long)c.lost_seen, (unsigned long long)res->lost);
	} else if (!res->delivered) {
		res->ok = 0;
		snprintf(res->why, sizeof(res->why), "nothing delivered");
	}
	grb_channel_destroy(ch);
}

/* ---------------------------------------------------------------------- */
/* Options, repetitions, report                                            */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_xproc [options]\n"
		   "\n"
		   "Events/s and losses of per-thread writers (16-byte payload, discard,\n"
		   "memfd streams) drained by a consumer thread of their process (inproc)\n"
		   "and by a consumer process that attaches and takes by copy (xproc).\n"
		   "\n"
		   "  --events N       events per writer thread and run (default 2,000,000)\n"
		   "  --runs R         repetitions (default 5), both placements in each\n"
		   "  --threads T      writer threads: a number or a list, e.g. 1,2 (default)\n"
		   "  --warmup N       untimed events per thread first (default one ring's worth)\n"
		   "  --subbuf-size B  sub-buffer bytes (default 262144)\n"
		   "  --subbufs N      sub-buffers per stream (default 32)\n"
		   "  --poll-us U      consumer sleep when every stream is empty (default 1000)\n"
		   "  --no-pin         pin nothing\n"
		   "  --timeout S      a run that takes longer is a hang (default 120)\n"
		   "  --smoke          5,000 events, 8 x 4 KiB sub-buffers, 1 repetition: the\n"
		   "                   checks only, no timing judged\n"
		   "\n"
		   "Output: a RUN line per run, a table of medians, a SUMMARY line per thread\n"
		   "count and placement.  Exit 1 if an accounting check failed.\n");
}

static void parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--smoke")) {
			opt.smoke = 1;
		} else if (!strcmp(a, "--no-pin")) {
			opt.pin = 0;
		} else if (!v) {
			fprintf(stderr, "bench_xproc: unknown option or missing value: '%s'\n", a);
			usage(stderr);
			exit(2);
		} else if (i++, !strcmp(a, "--events")) {
			opt.events = parse_u64(v, a);
		} else if (!strcmp(a, "--runs")) {
			opt.runs = (int)parse_u64(v, a);
		} else if (!strcmp(a, "--warmup")) {
			opt.warmup = parse_u64(v, a);
			opt.warmup_set = 1;
		} else if (!strcmp(a, "--subbuf-size")) {
			opt.subbuf_size = (uint32_t)parse_u64(v, a);
		} else if (!strcmp(a, "--subbufs")) {
			opt.subbufs = (uint32_t)parse_u64(v, a);
		} else if (!strcmp(a, "--poll-us")) {
			opt.poll_us = parse_u64(v, a);
		} else if (!strcmp(a, "--timeout")) {
			opt.timeout_s = parse_u64(v, a);
		} else if (!strcmp(a, "--threads")) {
			char *list = argv[i], *save = NULL, *tok;

			opt.nr_threads = 0;
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				uint64_t n = parse_u64(tok, a);

				if (n < 1 || n > MAX_THREADS || opt.nr_threads == MAX_THREADS) {
					fprintf(stderr, "bench_xproc: --threads: 1 to %d\n",
						MAX_THREADS);
					exit(2);
				}
				opt.threads[opt.nr_threads++] = (int)n;
			}
		} else {
			fprintf(stderr, "bench_xproc: unknown option '%s'\n", a);
			usage(stderr);
			exit(2);
		}
	}
	if (opt.smoke) {
		opt.events = 5000;
		opt.runs = 1;
		opt.subbuf_size = 4096;
		opt.subbufs = 8;
		opt.poll_us = 100;
	}
	if (opt.runs < 1 || opt.runs > MAX_RUNS || !opt.events) {
		fprintf(stderr, "bench_xproc: --runs 1 to %d, --events at least 1\n", MAX_RUNS);
		exit(2);
	}
	if (!opt.nr_threads) {
		opt.threads[0] = 1;
		opt.threads[1] = 2;
		opt.nr_threads = 2;
	}
	if (!opt.warmup_set)
		opt.warmup =
			(uint64_t)opt.subbuf_size * (opt.subbufs + 1) / (HEADER_SIZE + PAYLOAD);
}

static double vmin(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static void loadavg(const char *when)
{
	char buf[128] = "unknown";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			strcpy(buf, "unknown\n");
		fclose(f);
	}
	printf("bench_xproc: load average %s: %s", when, buf);
}

int main(int argc, char **argv)
{
	static double ns[MAX_THREADS][NR_PLACES][MAX_RUNS], mev[MAX_THREADS][NR_PLACES][MAX_RUNS],
		lost_pct[MAX_THREADS][NR_PLACES][MAX_RUNS], cms[MAX_THREADS][NR_PLACES][MAX_RUNS];
	int rep, k, p, failures = 0;

	parse_args(argc, argv);
	init_cpus();
	signal(SIGPIPE, SIG_IGN);
	printf("bench_xproc: grb %s, per-thread streams (single writer, discard, mono clock, "
	       "memfd), payload %u bytes, %llu events/thread/run (+%llu warm-up), "
	       "%u x %u-byte sub-buffers, %d repetitions, %d CPUs\n",
	       grb_version(), PAYLOAD, (unsigned long long)opt.events,
	       (unsigned long long)opt.warmup, opt.subbufs, opt.subbuf_size, opt.runs, nr_cpus);
	loadavg("at start");
	for (rep = 0; rep < opt.runs; rep++) {
		for (k = 0; k < opt.nr_threads; k++) {
			for (p = 0; p < NR_PLACES; p++) {
				/* alternate the order: inproc first in even repetitions */
				enum place place = (enum place)((p + rep) % NR_PLACES);
				struct result r;

				run_once(opt.threads[k], place, &r);
				ns[k][place][rep] = r.ns;
				mev[k][place][rep] = r.mevents_s;
				lost_pct[k][place][rep] =
					100.0 * (double)r.lost / (double)r.written;
				cms[k][place][rep] = r.consumer_cpu_ms;
				printf("RUN rep=%d threads=%d consumer=%s ns=%.2f mevents_s=%.2f "
				       "written=%llu delivered=%llu lost=%llu packets=%llu "
				       "consumer_cpu_ms=%.1f accounting=%s%s%s\n",
				       rep + 1, opt.threads[k], place_names[place], r.ns,
				       r.mevents_s, (unsigned long long)r.written,
				       (unsigned long long)r.delivered, (unsigned long long)r.lost,
				       (unsigned long long)r.packets, r.consumer_cpu_ms,
				       r.ok ? "ok" : "FAIL", r.ok ? "" : " why=", r.why);
				fflush(stdout);
				failures += !r.ok;
			}
		}
	}
	loadavg("at end");
	printf("\n%-8s %3s %9s %17s %8s %17s %8s %10s\n", "consumer", "thr", "ns/ev", "[min - max]",
	       "Mev/s", "[min - max]", "lost %", "cons CPU ms");
	for (k = 0; k < opt.nr_threads; k++)
		for (p = 0; p < NR_PLACES; p++) {
			char s1[40], s2[40];

			snprintf(s1, sizeof(s1), "[%.2f - %.2f]", vmin(ns[k][p], opt.runs),
				 vmax(ns[k][p], opt.runs));
			snprintf(s2, sizeof(s2), "[%.2f - %.2f]", vmin(mev[k][p], opt.runs),
				 vmax(mev[k][p], opt.runs));
			printf("%-8s %3d %9.2f %17s %8.2f %17s %8.3f %10.1f\n", place_names[p],
			       opt.threads[k], median(ns[k][p], opt.runs), s1,
			       median(mev[k][p], opt.runs), s2, median(lost_pct[k][p], opt.runs),
			       median(cms[k][p], opt.runs));
		}
	printf("\n(medians of %d repetitions; ns/ev per writer thread; Mev/s all writers "
	       "together; lost %% of written; cons CPU ms: the consumer's CPU time)\n",
	       opt.runs);
	for (k = 0; k < opt.nr_threads; k++)
		for (p = 0; p < NR_PLACES; p++)
			printf("SUMMARY bench=xproc threads=%d consumer=%s ns_median=%.2f ns_min=%.2f "
			       "ns_max=%.2f mevents_s=%.2f mevents_s_min=%.2f mevents_s_max=%.2f "
			       "lost_pct_median=%.4f lost_pct_max=%.4f consumer_cpu_ms=%.1f "
			       "runs=%d\n",
			       opt.threads[k], place_names[p], median(ns[k][p], opt.runs),
			       vmin(ns[k][p], opt.runs), vmax(ns[k][p], opt.runs),
			       median(mev[k][p], opt.runs), vmin(mev[k][p], opt.runs),
			       vmax(mev[k][p], opt.runs), median(lost_pct[k][p], opt.runs),
			       vmax(lost_pct[k][p], opt.runs), median(cms[k][p], opt.runs),
			       opt.runs);
	printf("SUMMARY bench=xproc done failures=%d\n", failures);
	return failures ? 1 : 0;
}
