// SPDX-License-Identifier: MIT
/*
 * kernrec.c - `grb record --kernel`: record the channels grb.ko's client
 * modules publish on /dev/grb (doc/kernel.md) with the code that records
 * another process's shared memory.  --format ctf (the default): the CTF
 * channels into one CTF trace, each channel's stream descriptors attached
 * to a fed trace (grb_ctf_trace_attach(), the checks of
 * grb_channel_attach()) with the events the module describes.  --format
 * ftrace: the ftrace client's channels into one trace.dat, each attached
 * (grb_channel_attach()) and drained by the trace.dat writer
 * (grb_ftrace_dat_drain(), as `grb ftrace record` drains a program's),
 * with the events the module describes as its format files.  Either is
 * drained when the device's poll says a sub-buffer was delivered, until
 * SIGINT, SIGTERM or --duration.  Then each channel is stopped (disabled,
 * its writers waited out, flushed), drained to its last record, and
 * accounted for: the records its writers committed while it recorded are
 * in the file, or lost by a counted cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/ftrace.h>
#include <grb/kdev.h>
#include <grb/session.h>

#include "grb_tool.h"
#include "relay.h"

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

/* The configurations of an ftrace channel of the kernel. */
static const struct grb_config kft_cfg[] = {
	GRB_FTRACE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD,
				 GRB_WAKEUP_WRITER),
	GRB_FTRACE_CONFIG_WAKEUP(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE,
				 GRB_WAKEUP_WRITER),
};

struct kchan {
	struct grb_kdev_channel_info ci;
	int cfd;
	int src; /* the CTF trace's source, -1 before */
	int hup; /* the module withdrew or finalized it */
	const struct grb_ctf_event_desc *const *events;
	struct grb_ctf_source_stats base; /* before it was started */
	/* ftrace: */
	const struct grb_ftrace_event *const *ft_events;
	struct grb_channel *ch; /* attached */
	uint64_t base_committed, base_lost[GRB_LOST_NR];
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

/* The configuration of the format's table that a channel has, or NULL. */
static const struct grb_config *config_of(const struct grb_kdev_channel_info *ci, int ftrace)
{
	const struct grb_config *t = ftrace ? kft_cfg : kcfg;
	size_t i,
		n = ftrace ? sizeof(kft_cfg) / sizeof(kft_cfg[0]) : sizeof(kcfg) / sizeof(kcfg[0]);

	for (i = 0; i < n; i++)
		if (t[i].alloc == (enum grb_alloc)ci->alloc &&
		    t[i].sync == (enum grb_sync)ci->sync && t[i].mode == (enum grb_mode)ci->mode &&
		    t[i].wakeup == (enum grb_wakeup)ci->wakeup && !strcmp(ci->client, t[i].name))
			return &t[i];
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

/* Open the channel and read its description (malloc'd into *desc).  0,
 * or -1 after saying why. */
static int open_channel(int dev, struct kchan *k, unsigned char **desc)
{
	struct grb_kdev_buf b;
	int ret;

	k->cfd = ioctl(dev, GRB_KDEV_CHANNEL_OPEN, &k->ci.id);
	if (k->cfd < 0) {
		fprintf(stderr, "grb record: channel %s: %s\n", k->ci.name,
			errno == EBUSY ? "another consumer is recording it" : strerror(errno));
		return -1;
	}
	if (k->ci.nr_streams < 1 || k->ci.nr_streams > GRB_SESSION_MAX_STREAMS ||
	    k->ci.desc_size > GRB_SESSION_EVENTS_MAX) {
		fprintf(stderr,
			"grb record: channel %s: %u streams, %u bytes of events: too many\n",
			k->ci.name, k->ci.nr_streams, k->ci.desc_size);
		return -1;
	}
	*desc = malloc(k->ci.desc_size ? k->ci.desc_size : 1);
	if (!*desc)
		return -1;
	b.addr = (uintptr_t)*desc;
	b.size = k->ci.desc_size;
	b._pad = 0;
	ret = ioctl(k->cfd, GRB_KDEV_DESC, &b);
	if (ret != (int)k->ci.desc_size) {
		fprintf(stderr, "grb record: channel %s: its events: %s\n", k->ci.name,
			ret < 0 ? strerror(errno) : "changed size");
		free(*desc);
		*desc = NULL;
		return -1;
	}
	return 0;
}

/* The channel's stream descriptors into fds.  0, or -1 after saying why. */
static int stream_fds(struct kchan *k, int *fds)
{
	uint32_t i;

	for (i = 0; i < k->ci.nr_streams; i++) {
		fds[i] = ioctl(k->cfd, GRB_KDEV_STREAM_OPEN, &i);
		if (fds[i] < 0) {
			fprintf(stderr, "grb record: channel %s: stream %u: %s\n", k->ci.name, i,
				strerror(errno));
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

/* CTF: open the channel, decode its events, attach its streams to the
 * fed trace.  0, or -1 after saying why. */
static int attach_channel(struct grb_ctf_trace *t, int dev, struct kchan *k)
{
	int fds[GRB_SESSION_MAX_STREAMS];
	unsigned char *desc;
	uint32_t i, n = k->ci.nr_streams;
	int ret;

	if (open_channel(dev, k, &desc))
		return -1;
	ret = grb_session_events_decode(desc, k->ci.desc_size, k->ci.nr_events, k->ci.subbuf_size,
					&k->events);
	free(desc);
	if (ret) {
		fprintf(stderr, "grb record: channel %s: its events: %s\n", k->ci.name,
			grb_last_error());
		return -1;
	}
	if (stream_fds(k, fds))
		return -1;
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

/* Records committed so far in an attached channel's streams. */
static uint64_t committed_of(struct grb_channel *ch, uint32_t n)
{
	struct grb_stream_stats ss;
	uint64_t c = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (!grb_channel_read_stream_stats(ch, i, &ss))
			c += ss.committed;
	return c;
}

/* ftrace: open the channel, decode its events, attach its streams.  0,
 * or -1 after saying why. */
static int attach_ftrace(const struct grb_config *cfg, int dev, struct kchan *k)
{
	int fds[GRB_SESSION_MAX_STREAMS];
	struct grb_channel_stats cs;
	unsigned char *desc;
	uint32_t i, n = k->ci.nr_streams;
	int ret, c;

	if (open_channel(dev, k, &desc))
		return -1;
	ret = grb_ftrace_events_decode(desc, k->ci.desc_size, k->ci.nr_events, &k->ft_events);
	free(desc);
	if (ret) {
		fprintf(stderr, "grb record: channel %s: its events: %s\n", k->ci.name,
			grb_last_error());
		return -1;
	}
	if (stream_fds(k, fds))
		return -1;
	k->ch = grb_channel_attach(cfg, fds, n, NULL);
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (!k->ch) {
		fprintf(stderr, "grb record: channel %s: %s\n", k->ci.name, grb_last_error());
		return -1;
	}
	k->base_committed = committed_of(k->ch, n);
	if (!grb_channel_read_stats(k->ch, &cs))
		for (c = 0; c < GRB_LOST_NR; c++)
			k->base_lost[c] = cs.lost[c];
	return 0;
}

/* The names of tasks, one per id. */
struct tnames {
	struct tname {
		int32_t pid;
		char comm[16];
	} * t;
	uint32_t n, cap;
};

/* Name pid comm (the latest name given wins when last is set). */
static void tname_set(struct tnames *tn, int32_t pid, const char *comm, int last)
{
	uint32_t i;

	for (i = 0; i < tn->n; i++)
		if (tn->t[i].pid == pid)
			break;
	if (i == tn->n) {
		if (tn->n == tn->cap) {
			uint32_t cap = tn->cap ? 2 * tn->cap : 256;
			struct tname *t = realloc(tn->t, cap * sizeof(*t));

			if (!t)
				return;
			tn->t = t;
			tn->cap = cap;
		}
		tn->n++;
	} else if (!last) {
		return;
	}
	tn->t[i].pid = pid;
	snprintf(tn->t[i].comm, sizeof(tn->t[i].comm), "%.15s", comm);
}

/* Every live thread, for the ids no record named. */
static void names_from_proc(struct tnames *tn)
{
	DIR *proc = opendir("/proc"), *task;
	struct dirent *p, *t;
	char path[64], comm[32];

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/task", p->d_name);
		task = opendir(path);
		if (!task)
			continue;
		while ((t = readdir(task))) {
			FILE *f;

			if (t->d_name[0] < '1' || t->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%.16s/task/%.16s/comm", p->d_name,
				 t->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(comm, sizeof(comm), f)) {
				comm[strcspn(comm, "\n")] = 0;
				tname_set(tn, (int32_t)atoi(t->d_name), comm, 0);
			}
			fclose(f);
		}
		closedir(task);
	}
	closedir(proc);
}

/*
 * The names the records give: ftrace's convention of a char array
 * X_comm beside an int X_pid (sched_switch's prev_ and next_) names task
 * X_pid, as ftrace's own saved_cmdlines takes it at each switch.  Read
 * from the file as the writer would write it now.
 */
static void names_from_records(struct grb_ftrace_dat *d, const struct grb_ftrace_event *const *ev,
			       uint32_t nev, struct tnames *tn)
{
	int fd = memfd_create("grb-names", MFD_CLOEXEC);
	struct grb_ftrace_file *f = NULL;
	struct grb_ftrace_entry e;
	off_t len;
	void *buf;
	int ret;

	if (fd < 0)
		return;
	if (grb_ftrace_dat_write(d, fd) || (len = lseek(fd, 0, SEEK_END)) <= 0) {
		close(fd);
		return;
	}
	buf = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return;
	if (!grb_ftrace_file_open(buf, (size_t)len, &f)) {
		while ((ret = grb_ftrace_file_next(f, &e)) != -ENODATA) {
			uint32_t i, j, k, off[128], size[128], align;
			const struct grb_ftrace_event *x = NULL;

			if (ret)
				continue;
			for (i = 0; i < nev && !x; i++)
				if (ev[i]->id == e.id)
					x = ev[i];
			if (!x || x->nr_fields > 128)
				continue;
			for (i = 0, k = GRB_FTRACE_COMMON_SIZE; i < x->nr_fields; i++) {
				_grb_ftrace_field_size(&x->fields[i], &size[i], &align);
				off[i] = _grb_ftrace_place(&k, size[i], align);
			}
			for (i = 0; i < x->nr_fields; i++) {
				const struct grb_ftrace_field *c = &x->fields[i];
				size_t n = strlen(c->name);

				if (c->kind != GRB_FTRACE_CHARS || n < 5 ||
				    strcmp(c->name + n - 5, "_comm") || off[i] + size[i] > e.size)
					continue;
				for (j = 0; j < x->nr_fields; j++) {
					const struct grb_ftrace_field *p = &x->fields[j];
					char comm[16];
					int32_t pid;

					if ((p->kind != GRB_FTRACE_S32 &&
					     p->kind != GRB_FTRACE_U32) ||
					    strlen(p->name) != n - 1 ||
					    strncmp(p->name, c->name, n - 4) ||
					    strcmp(p->name + n - 4, "pid") || off[j] + 4 > e.size)
						continue;
					memcpy(&pid, e.data + off[j], 4);
					memset(comm, 0, sizeof(comm));
					memcpy(comm, e.data + off[i], size[i] < 15 ? size[i] : 15);
					if (comm[0])
						tname_set(tn, pid, comm, 1);
				}
			}
		}
		grb_ftrace_file_close(f);
	}
	munmap(buf, (size_t)len);
}

/* The trace.dat read back: its data records are those committed while
 * it recorded (and not overwritten), its missed events those overwritten,
 * its grb/lost_events counts the other losses.  1 if exact. */
static int report_ftrace(const char *out, const struct kchan *ks, uint32_t nk)
{
	uint64_t committed = 0, lost[GRB_LOST_NR], other = 0;
	struct dat_tally t;
	uint32_t i;
	int c, exact;

	memset(lost, 0, sizeof(lost));
	for (i = 0; i < nk; i++) {
		struct grb_channel_stats cs;

		committed += committed_of(ks[i].ch, ks[i].ci.nr_streams) - ks[i].base_committed;
		if (!grb_channel_read_stats(ks[i].ch, &cs))
			for (c = 0; c < GRB_LOST_NR; c++)
				lost[c] += cs.lost[c] - ks[i].base_lost[c];
	}
	for (c = 0; c < GRB_LOST_NR; c++)
		if (c != GRB_LOST_OVERWRITTEN)
			other += lost[c];
	if (dat_tally("grb record", out, &t))
		return 0;
	exact = dat_tally_exact(&t, committed, lost, other);
	printf("total: %" PRIu64 " written = %" PRIu64 " in %s + %" PRIu64 " overwritten (%" PRIu64
	       "%s missed events in the file) + %" PRIu64 " lost (full %" PRIu64 "; %" PRIu64
	       " reported in band): %s\n",
	       committed + other, t.data, out, lost[GRB_LOST_OVERWRITTEN], t.missed,
	       t.unknown ? "+?" : "", other, lost[GRB_LOST_FULL], t.in_band,
	       exact ? "exact" : "MISMATCH");
	if (lost[GRB_LOST_FULL])
		printf("hint: %" PRIu64 " events found their ring full (the recorder was behind): "
		       "more pages keep them (grb_sched.ko's ftrace_pages)\n",
		       lost[GRB_LOST_FULL]);
	return exact;
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

/* Take what every channel delivered. */
static void drain(struct grb_ctf_trace *t, struct grb_ftrace_dat *d, struct kchan *ks, uint32_t nk)
{
	uint32_t i;

	if (t) {
		grb_ctf_trace_poll(t);
		return;
	}
	for (i = 0; i < nk; i++)
		if (grb_ftrace_dat_drain(d, ks[i].ch))
			fprintf(stderr, "grb record: channel %s: %s\n", ks[i].ci.name,
				grb_last_error());
}

/* ftrace: pages in the writer so far. */
static uint64_t dat_pages(const struct grb_ftrace_dat *d, uint32_t cpus)
{
	struct grb_ftrace_cpu_stats st;
	uint64_t n = 0;
	uint32_t c;

	for (c = 0; c < cpus; c++)
		if (!grb_ftrace_dat_cpu_stats(d, c, &st))
			n += st.pages;
	return n;
}

/* Every stream drained: nothing reserved that is not in the file. */
static int drained(struct grb_ctf_trace *t, const struct kchan *ks, uint32_t nk)
{
	uint32_t i, j, first = 0;

	if (!t) {
		/* After the stop every packet is delivered: the streams are
		 * drained once no delivered packet is left to take. */
		for (i = 0; i < nk; i++)
			for (j = 0; j < ks[i].ci.nr_streams; j++) {
				struct grb_stream_stats ss;

				if (grb_channel_read_stream_stats(ks[i].ch, j, &ss) ||
				    (ss.consumed_pos & ~(uint64_t)(ks[i].ci.subbuf_size - 1)) !=
					    (ss.write_pos & ~(uint64_t)(ks[i].ci.subbuf_size - 1)) +
						    ((ss.write_pos & (ks[i].ci.subbuf_size - 1)) ?
							     ks[i].ci.subbuf_size :
							     0))
					return 0;
			}
		return 1;
	}
	for (i = 0; i < nk; i++) {
		for (j = 0; j < ks[i].ci.nr_streams; j++)
			if (grb_ctf_trace_stream_idle(t, first + j, NULL) == 0)
				return 0;
		first += ks[i].ci.nr_streams;
	}
	return 1;
}

int record_kernel(const struct kernel_opts *o)
{
	struct kchan ks[MAX_CHANNELS];
	struct pollfd pfd[MAX_CHANNELS];
	struct grb_kdev_info info;
	struct grb_ctf_trace_attr attr;
	struct grb_ctf_source_stats sum;
	const struct grb_config *cfg = NULL;
	const struct grb_ftrace_event **fev = NULL;
	struct grb_ctf_trace *t = NULL;
	struct grb_ftrace_dat *d = NULL;
	struct relay *relay = NULL;
	struct sigaction sa;
	uint64_t t0, end, deadline;
	uint32_t i, nk = 0, skipped = 0, streams = 0, nfev = 0, cpus = 0;
	int dev, ret, exact = 1, status = 0, ftrace = o->ftrace, stopped = 0;
	int unreached = 0, relay_ok = 1, bad;
	const char *hostname;
	char host[256], err[512];

	t0 = mono_ms();
	/* From the start: a signal while the channels are set up stops the
	 * recording as soon as it runs. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
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
		c = config_of(&k->ci, ftrace);
		if (!c && strcmp(k->ci.client, ftrace ? "ftrace" : "ctf"))
			continue; /* the other format's */
		if (!c || (cfg && c != cfg)) {
			fprintf(stderr, "grb record: channel %s (client %s): %s: skipped\n",
				k->ci.name, k->ci.client,
				!c ? "a configuration this grb does not read" :
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
			"grb record: no %s channel to record on %s (%u published, %u skipped): load "
			"a probe module, such as grb_sched.ko\n",
			ftrace ? "ftrace" : "CTF", GRB_KDEV_PATH, info.nr_channels, skipped);
		close(dev);
		return 1;
	}

	if (ftrace) {
		struct grb_ftrace_dat_attr da;

		for (i = 0; i < nk; i++) {
			const struct grb_ftrace_event **more;

			if (attach_ftrace(cfg, dev, &ks[i])) {
				status = 1;
				goto out;
			}
			streams += ks[i].ci.nr_streams;
			if (ks[i].ci.nr_streams > cpus)
				cpus = ks[i].ci.nr_streams;
			more = realloc(fev, (nfev + ks[i].ci.nr_events + 1) * sizeof(*fev));
			if (!more) {
				status = 1;
				goto out;
			}
			fev = more;
			memcpy(fev + nfev, ks[i].ft_events, ks[i].ci.nr_events * sizeof(*fev));
			nfev += ks[i].ci.nr_events;
		}
		grb_ftrace_dat_attr_init(&da);
		da.events = fev;
		da.nr_events = nfev;
		d = grb_ftrace_dat_create(&da);
		if (!d) {
			fprintf(stderr, "grb record: %s\n", grb_last_error());
			status = 1;
			goto out;
		}
	} else {
		hostname = relay_cli_hostname(o->rc, host, sizeof(host), "grb record", &bad);
		if (bad) {
			close(dev);
			return 2;
		}
		grb_ctf_trace_attr_init(&attr);
		attr.path = o->dir;
		attr.hostname = hostname; /* NULL: the machine's */
		t = grb_ctf_trace_create_fed(cfg, &attr);
		if (!t) {
			fprintf(stderr, "grb record: %s\n", grb_last_error());
			close(dev);
			return 1;
		}
		/* The relay, a sink of the trace as for a program's recording:
		 * it sees the streams as they are attached.  The kernel's
		 * clock is CLOCK_MONOTONIC's (ktime_get_mono_fast_ns). */
		if (o->rc->url &&
		    !(relay = relay_cli_connect(o->rc, "grb record", o->dir, hostname, NULL,
						"recording", "recorded", &unreached)) &&
		    !unreached) {
			status = 1;
			goto out;
		}
		if (relay && relay_attach(relay, t, err, sizeof(err))) {
			fprintf(stderr, "grb record: relay %s: %s\n", o->rc->url, err);
			status = 1;
			goto out;
		}
		for (i = 0; i < nk; i++) {
			if (attach_channel(t, dev, &ks[i])) {
				status = 1;
				goto out;
			}
			streams += ks[i].ci.nr_streams;
		}
	}

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
	if (relay) {
		char url[512];

		relay_viewer_url(relay, url, sizeof(url));
		printf("grb: streaming live to %s (protocol 2.%u, a beacon every %" PRIu64
		       " ms) into %s; view it with\n     babeltrace2 -i lttng-live %s\n",
		       o->rc->url, relay_minor(relay), o->rc->live_timer_ms, relay_path(relay),
		       url);
	}
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
				if (t)
					grb_ctf_trace_source_end(t, (uint32_t)ks[i].src);
			}
			gone += (uint32_t)ks[i].hup;
		}
		drain(t, d, ks, nk);
		/* What the drain gave is on its way; the idle streams'
		 * beacons. */
		if (relay) {
			relay_tick(relay);
			relay_say_lost(relay, "grb record", "the recording goes on", o->dir);
		}
		if ((t && grb_ctf_trace_error(t)[0]) || gone == nk)
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
	stopped = 1;
	deadline = mono_ms() + STOP_DRAIN_MS;
	do
		drain(t, d, ks, nk);
	while (!drained(t, ks, nk) && mono_ms() < deadline && !(t && grb_ctf_trace_error(t)[0]));
	if (!drained(t, ks, nk))
		fprintf(stderr, "grb record: a stream did not drain within %u ms of the stop\n",
			STOP_DRAIN_MS);

out:
	if (t) {
		ret = grb_ctf_trace_stop(t);
		if (ret) {
			fprintf(stderr, "grb record: %s\n", grb_ctf_trace_error(t));
			status = 1;
		}
		/* The last packets are queued: the session ends on the relay. */
		if (relay && stopped) {
			relay_ok = !relay_finish(relay);
			relay_say_lost(relay, "grb record", "the recording went", o->dir);
		}
		if (streams) {
			memset(&sum, 0, sizeof(sum));
			printf("\n");
			for (i = 0; i < nk; i++)
				if (ks[i].src >= 0)
					exact &= report(t, &ks[i], &sum);
			printf("total: %" PRIu64 " written = %" PRIu64 " on disk + %" PRIu64
			       " lost in %.3f s: %s\n",
			       sum.committed, sum.events, sum.lost_total,
			       (double)(mono_ms() - t0) / 1000, exact ? "exact" : "MISMATCH");
			if (sum.lost[GRB_LOST_FULL])
				printf("hint: %" PRIu64
				       " events found their ring full (the recorder "
				       "was behind): bigger rings keep them (grb_sched.ko's "
				       "subbuf_size and subbuf_count)\n",
				       sum.lost[GRB_LOST_FULL]);
			if (relay)
				relay_report(relay, stdout);
			else if (unreached)
				printf("relay %s: out of reach at the start (--relay-fallback): "
				       "nothing sent\n",
				       o->rc->url);
			printf("\nTrace written to %s\nOpen it with:  grb view %s\n", o->dir,
			       o->dir);
		}
		if (status == 0 && exact && (unreached || (relay && !relay_ok)))
			status = 3; /* the local trace is whole, the relay's is not */
		grb_ctf_trace_destroy(t); /* before the events its sources use */
	} else if (d && stopped) {
		uint64_t pages = dat_pages(d, cpus);
		struct tnames tn = { NULL, 0, 0 };

		/* saved_cmdlines: the names the records give (the latest of
		 * each task), then the live threads for the others. */
		names_from_records(d, fev, nfev, &tn);
		names_from_proc(&tn);
		for (i = 0; i < tn.n; i++)
			grb_ftrace_dat_add_task(d, tn.t[i].pid, tn.t[i].comm);
		free(tn.t);
		ret = grb_ftrace_dat_save(d, o->dir);
		if (ret) {
			fprintf(stderr, "grb record: %s: %s\n", o->dir, grb_last_error());
			status = 1;
		} else {
			printf("\n%" PRIu64 " pages of %u channels in %.3f s\n", pages, nk,
			       (double)(mono_ms() - t0) / 1000);
			exact = report_ftrace(o->dir, ks, nk);
			printf("\nTrace written to %s\nOpen it with:  trace-cmd report %s\n",
			       o->dir, o->dir);
		}
	}
	if (!exact)
		status = 1;
	relay_free(relay);
	grb_ftrace_dat_destroy(d);
	free(fev);
	for (i = 0; i < nk; i++) {
		if (ks[i].events)
			grb_session_events_free(ks[i].events, ks[i].ci.nr_events);
		if (ks[i].ch)
			grb_channel_destroy(ks[i].ch);
		if (ks[i].ft_events)
			grb_ftrace_events_free(ks[i].ft_events, ks[i].ci.nr_events);
		if (ks[i].cfd > 0)
			close(ks[i].cfd); /* the device disables a channel left started */
	}
	close(dev);
	return status;
}
