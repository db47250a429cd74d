// SPDX-License-Identifier: MIT
/*
 * kernrec.c - `grb record --kernel`: record the channels grb.ko's client
 * modules publish on /dev/grb (doc/kernel.md) into one CTF trace, with
 * the code that records another process's shared memory: each channel's
 * stream descriptors are attached to a fed trace (grb_ctf_trace_attach(),
 * the checks of grb_channel_attach()) with the events the module
 * describes, drained when the device's poll says a sub-buffer was
 * delivered, until SIGINT, SIGTERM or --duration.  Then each channel is
 * stopped (disabled, its writers waited out, flushed), drained to its
 * last record, and accounted for: the records its writers committed while
 * it recorded are on disk, or lost by a counted cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/kdev.h>
#include <grb/session.h>

#include "grb_tool.h"

#define MAX_CHANNELS 16
/* How long the drain after the stop may take: the stop delivered every
 * packet, so the streams are idle once they are taken. */
#define STOP_DRAIN_MS 5000

/* The configurations a CTF channel of the kernel may have: the record
 * format of GRB_CTF_CONFIG (the fingerprint is checked at attach), per-CPU
 * streams, the writer wake-up. */
static const struct grb_config kcfg[] = {
	GRB_CTF_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD,
			      GRB_WAKEUP_WRITER),
	GRB_CTF_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE,
			      GRB_WAKEUP_WRITER),
	GRB_CTF_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
			      GRB_WAKEUP_WRITER),
	GRB_CTF_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE,
			      GRB_WAKEUP_WRITER),
};

struct kchan {
	struct grb_kdev_channel_info ci;
	int cfd;
	int src; /* the trace's source, -1 before */
	int hup; /* the module withdrew or finalized it */
	const struct grb_ctf_event_desc *const *events;
	struct grb_ctf_source_stats base; /* before it was started */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const struct grb_config *config_of(const struct grb_kdev_channel_info *ci)
{
	size_t i;

	for (i = 0; i < sizeof(kcfg) / sizeof(kcfg[0]); i++)
		if (kcfg[i].alloc == (enum grb_alloc)ci->alloc &&
		    kcfg[i].sync == (enum grb_sync)ci->sync &&
		    kcfg[i].mode == (enum grb_mode)ci->mode &&
		    kcfg[i].wakeup == (enum grb_wakeup)ci->wakeup && !strcmp(ci->client, "ctf"))
			return &kcfg[i];
	return NULL;
}

/* /dev/grb, its versions checked; -1 after saying why. */
static int open_device(struct grb_kdev_info *info)
{
	int dev = open(GRB_KDEV_PATH, O_RDWR | O_CLOEXEC);

	if (dev < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			fprintf(stderr,
				"grb record: %s: %s: grb.ko not loaded (insmod grb.ko, then a "
				"probe module such as grb_sched.ko; doc/kernel.md)\n",
				GRB_KDEV_PATH, strerror(errno));
		else
			fprintf(stderr, "grb record: %s: %s\n", GRB_KDEV_PATH, strerror(errno));
		return -1;
	}
	if (ioctl(dev, GRB_KDEV_INFO, info)) {
		fprintf(stderr, "grb record: %s: not grb.ko's device (%s)\n", GRB_KDEV_PATH,
			strerror(errno));
		close(dev);
		return -1;
	}
	if (info->version != GRB_KDEV_VERSION || info->layout_version != GRB_LAYOUT_VERSION) {
		info->grb_version[sizeof(info->grb_version) - 1] = 0;
		fprintf(stderr,
			"grb record: grb.ko (grb %s) speaks device interface %u and writes layout "
			"version %u; this grb (%s) reads interface %u, layout version %u: use the "
			"grb tool of the module's version\n",
			info->grb_version, info->version, info->layout_version, grb_version(),
			GRB_KDEV_VERSION, GRB_LAYOUT_VERSION);
		close(dev);
		return -1;
	}
	return dev;
}

/* Open the channel, decode its events, attach its streams.  0, or -1
 * after saying why. */
static int attach_channel(struct grb_ctf_trace *t, int dev, struct kchan *k)
{
	struct grb_kdev_buf b;
	int fds[GRB_SESSION_MAX_STREAMS];
	unsigned char *desc;
	uint32_t i, n = k->ci.nr_streams;
	int ret;

	k->cfd = ioctl(dev, GRB_KDEV_CHANNEL_OPEN, &k->ci.id);
	if (k->cfd < 0) {
		fprintf(stderr, "grb record: channel %s: %s\n", k->ci.name,
			errno == EBUSY ? "another consumer is recording it" : strerror(errno));
		return -1;
	}
	if (n < 1 || n > GRB_SESSION_MAX_STREAMS || k->ci.desc_size > GRB_SESSION_EVENTS_MAX) {
		fprintf(stderr,
			"grb record: channel %s: %u streams, %u bytes of events: too many\n",
			k->ci.name, n, k->ci.desc_size);
		return -1;
	}
	desc = malloc(k->ci.desc_size ? k->ci.desc_size : 1);
	if (!desc)
		return -1;
	b.addr = (uintptr_t)desc;
	b.size = k->ci.desc_size;
	b._pad = 0;
	ret = ioctl(k->cfd, GRB_KDEV_DESC, &b);
	if (ret != (int)k->ci.desc_size) {
		fprintf(stderr, "grb record: channel %s: its events: %s\n", k->ci.name,
			ret < 0 ? strerror(errno) : "changed size");
		free(desc);
		return -1;
	}
	ret = grb_session_events_decode(desc, k->ci.desc_size, k->ci.nr_events, k->ci.subbuf_size,
					&k->events);
	free(desc);
	if (ret) {
		fprintf(stderr, "grb record: channel %s: its events: %s\n", k->ci.name,
			grb_last_error());
		return -1;
	}
	for (i = 0; i < n; i++) {
		fds[i] = ioctl(k->cfd, GRB_KDEV_STREAM_OPEN, &i);
		if (fds[i] < 0) {
			fprintf(stderr, "grb record: channel %s: stream %u: %s\n", k->ci.name, i,
				strerror(errno));
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	/* The trace's stream files: <name>_0_<stream> (the writer is the
	 * kernel, process 0). */
	k->src = grb_ctf_trace_attach(t, fds, n, k->ci.name, 0, k->events, k->ci.nr_events);
	/* The mappings hold the streams now. */
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (k->src < 0) {
		fprintf(stderr, "grb record: channel %s: %s\n", k->ci.name, grb_last_error());
		return -1;
	}
	grb_ctf_trace_source_stats(t, (uint32_t)k->src, &k->base);
	return 0;
}

/* Every stream of every channel holds nothing reserved that is not on
 * disk (or its source ended). */
static int all_idle(struct grb_ctf_trace *t, const struct kchan *ks, uint32_t nk)
{
	uint32_t i, j, first = 0;

	for (i = 0; i < nk; i++) {
		for (j = 0; j < ks[i].ci.nr_streams; j++)
			if (grb_ctf_trace_stream_idle(t, first + j, NULL) == 0)
				return 0;
		first += ks[i].ci.nr_streams;
	}
	return 1;
}

/* One channel's summary; return 1 if its accounting is exact. */
static int report(struct grb_ctf_trace *t, const struct kchan *k, struct grb_ctf_source_stats *sum)
{
	struct grb_ctf_source_stats st;
	uint64_t committed, lost, written, extra;
	char causes[256];
	size_t o = 0;
	int c, ok;

	if (grb_ctf_trace_source_stats(t, (uint32_t)k->src, &st))
		return 0;
	committed = st.committed - k->base.committed;
	lost = st.lost_total - k->base.lost_total;
	written = committed + lost;
	extra = st.events_dropped + st.corrupt_records - k->base.corrupt_records;
	causes[0] = 0;
	for (c = 0; c < GRB_LOST_NR; c++) {
		uint64_t n = st.lost[c] - k->base.lost[c];

		if (n && o < sizeof(causes))
			o += (size_t)snprintf(causes + o, sizeof(causes) - o, "%s%s %" PRIu64,
					      o ? ", " : " (",
					      grb_lost_cause_name((enum grb_lost_cause)c), n);
		sum->lost[c] += n;
	}
	if (o && o < sizeof(causes))
		snprintf(causes + o, sizeof(causes) - o, ")");
	ok = committed == st.events + extra;
	printf("channel %s: %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64 " lost%s",
	       k->ci.name, written, st.events, lost, causes);
	if (st.events_dropped)
		printf(" + %" PRIu64 " dropped (I/O)", st.events_dropped);
	if (st.corrupt_records - k->base.corrupt_records)
		printf(" + %" PRIu64 " corrupt", st.corrupt_records - k->base.corrupt_records);
	printf(": %s; %u of %u streams written, %" PRIu64 " packets%s\n", ok ? "exact" : "MISMATCH",
	       st.streams_written, st.nr_streams, st.packets,
	       k->hup ? "; the module withdrew it" : "");
	sum->committed += written;
	sum->events += st.events;
	sum->lost_total += lost;
	return ok;
}

int record_kernel(const struct kernel_opts *o)
{
	struct kchan ks[MAX_CHANNELS];
	struct pollfd pfd[MAX_CHANNELS];
	struct grb_kdev_info info;
	struct grb_ctf_trace_attr attr;
	struct grb_ctf_source_stats sum;
	const struct grb_config *cfg = NULL;
	struct grb_ctf_trace *t;
	struct sigaction sa;
	uint64_t t0, end, deadline;
	uint32_t i, nk = 0, skipped = 0, streams = 0;
	int dev, ret, exact = 1, status = 0;

	t0 = mono_ms();
	dev = open_device(&info);
	if (dev < 0)
		return 1;
	memset(ks, 0, sizeof(ks));
	for (i = 0; i < info.nr_channels && nk < MAX_CHANNELS; i++) {
		struct kchan *k = &ks[nk];
		const struct grb_config *c;

		k->ci.index = i;
		if (ioctl(dev, GRB_KDEV_CHANNEL_INFO, &k->ci))
			break; /* withdrawn meanwhile */
		k->ci.name[sizeof(k->ci.name) - 1] = 0;
		k->ci.client[sizeof(k->ci.client) - 1] = 0;
		c = config_of(&k->ci);
		if (!c || (cfg && c != cfg)) {
			fprintf(stderr, "grb record: channel %s (client %s): %s: skipped\n",
				k->ci.name, k->ci.client,
				!c ? "not a CTF channel of a configuration this grb reads" :
				     "another configuration than the first channel's");
			skipped++;
			continue;
		}
		if (k->ci.busy) {
			fprintf(stderr,
				"grb record: channel %s: another consumer is recording it: "
				"skipped\n",
				k->ci.name);
			skipped++;
			continue;
		}
		cfg = c;
		k->cfd = -1;
		k->src = -1;
		nk++;
	}
	if (!nk) {
		fprintf(stderr,
			"grb record: no CTF channel to record on %s (%u published, %u skipped): load "
			"a probe module, such as grb_sched.ko\n",
			GRB_KDEV_PATH, info.nr_channels, skipped);
		close(dev);
		return 1;
	}

	grb_ctf_trace_attr_init(&attr);
	attr.path = o->dir;
	t = grb_ctf_trace_create_fed(cfg, &attr);
	if (!t) {
		fprintf(stderr, "grb record: %s\n", grb_last_error());
		close(dev);
		return 1;
	}
	for (i = 0; i < nk; i++) {
		if (attach_channel(t, dev, &ks[i])) {
			status = 1;
			goto out;
		}
		streams += ks[i].ci.nr_streams;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	for (i = 0; i < nk; i++) {
		if (ioctl(ks[i].cfd, GRB_KDEV_START)) {
			fprintf(stderr, "grb record: channel %s: start: %s\n", ks[i].ci.name,
				strerror(errno));
			status = 1;
			goto out;
		}
		pfd[i].fd = ks[i].cfd;
		pfd[i].events = POLLIN;
	}
	printf("grb %s: recording the kernel's channels into %s (", grb_version(), o->dir);
	for (i = 0; i < nk; i++)
		printf("%s%s: %u streams of %u x %u KiB", i ? ", " : "", ks[i].ci.name,
		       ks[i].ci.nr_streams, ks[i].ci.subbuf_count, ks[i].ci.subbuf_size / 1024);
	printf(")%s\n", o->duration_ms ? "" : "; Ctrl-C stops");
	fflush(stdout);

	t0 = mono_ms();
	end = o->duration_ms ? t0 + o->duration_ms : UINT64_MAX;
	for (;;) {
		uint64_t now = mono_ms();
		uint32_t gone = 0;
		int wait = 100;

		if (stop_sig || now >= end)
			break;
		if (end - now < (uint64_t)wait)
			wait = (int)(end - now);
		/* A delivered sub-buffer wakes us (the writer's wake-up,
		 * deferred through grb.ko's irq_work); the timeout bounds
		 * the latency of a channel without it. */
		ret = poll(pfd, nk, wait);
		if (ret < 0 && errno != EINTR) {
			perror("grb record: poll");
			break;
		}
		for (i = 0; i < nk; i++) {
			if ((pfd[i].revents & POLLHUP) && !ks[i].hup) {
				/* Finalized or withdrawn: what it delivered is
				 * all there will be. */
				ks[i].hup = 1;
				pfd[i].events = 0;
				pfd[i].fd = -1;
				grb_ctf_trace_source_end(t, (uint32_t)ks[i].src);
			}
			gone += (uint32_t)ks[i].hup;
		}
		grb_ctf_trace_poll(t);
		if (grb_ctf_trace_error(t)[0] || gone == nk)
			break;
	}
	if (stop_sig)
		printf("interrupted (%s)\n", stop_sig == SIGINT ? "SIGINT" : "SIGTERM");

	/* Stop: nothing is written after, and every record is delivered. */
	for (i = 0; i < nk; i++)
		if (!ks[i].hup && ioctl(ks[i].cfd, GRB_KDEV_STOP) && errno != ENODEV) {
			fprintf(stderr, "grb record: channel %s: stop: %s\n", ks[i].ci.name,
				strerror(errno));
			status = 1;
		}
	deadline = mono_ms() + STOP_DRAIN_MS;
	do
		grb_ctf_trace_poll(t);
	while (!all_idle(t, ks, nk) && mono_ms() < deadline && !grb_ctf_trace_error(t)[0]);
	if (!all_idle(t, ks, nk))
		fprintf(stderr, "grb record: a stream did not drain within %u ms of the stop\n",
			STOP_DRAIN_MS);

out:
	ret = grb_ctf_trace_stop(t);
	if (ret) {
		fprintf(stderr, "grb record: %s\n", grb_ctf_trace_error(t));
		status = 1;
	}
	if (streams) {
		memset(&sum, 0, sizeof(sum));
		printf("\n");
		for (i = 0; i < nk; i++)
			if (ks[i].src >= 0)
				exact &= report(t, &ks[i], &sum);
		printf("total: %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
		       " lost in %.3f s: %s\n",
		       sum.committed, sum.events, sum.lost_total, (double)(mono_ms() - t0) / 1000,
		       exact ? "exact" : "MISMATCH");
		if (sum.lost[GRB_LOST_FULL])
			printf("hint: %" PRIu64 " events found their ring full (the recorder was "
			       "behind): bigger rings keep them (grb_sched.ko's subbuf_size and "
			       "subbuf_count)\n",
			       sum.lost[GRB_LOST_FULL]);
		printf("\nTrace written to %s\nOpen it with:  grb view %s\n", o->dir, o->dir);
		if (!exact)
			status = 1;
	}
	grb_ctf_trace_destroy(t); /* before the events its sources use */
	for (i = 0; i < nk; i++) {
		if (ks[i].events)
			grb_session_events_free(ks[i].events, ks[i].ci.nr_events);
		if (ks[i].cfd > 0)
			close(ks[i].cfd); /* the device disables a channel left started */
	}
	close(dev);
	return status;
}
