// SPDX-License-Identifier: MIT
/*
 * perf_data.c - the perf.data writer: file header, one cpu-clock
 * attribute, a data section (COMM and MMAP2 records, then the channel's
 * records in time order, copied as they are), the feature sections, and
 * optionally folded stacks.  doc/perf.md gives the layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/perf.h>

#include "perf_internal.h"

#define FILE_HEADER_SIZE 104u
#define ATTR_SIZE 128u
#define ATTR_ENTRY_SIZE (ATTR_SIZE + 16u)
#define DATA_OFFSET (FILE_HEADER_SIZE + ATTR_ENTRY_SIZE)
#define WBUF_SIZE (256u * 1024u)

/* Header feature bits (perf's header.h). */
#define FEAT_HOSTNAME 3
#define FEAT_OSRELEASE 4
#define FEAT_ARCH 6
#define FEAT_CMDLINE 11
#define FEAT_SAMPLE_TIME 21

/* perf_event_attr flag bits. */
#define ATTR_DISABLED (1ull << 0)
#define ATTR_MMAP (1ull << 8)
#define ATTR_COMM (1ull << 9)
#define ATTR_FREQ (1ull << 10)
#define ATTR_TASK (1ull << 13)
#define ATTR_SAMPLE_ID_ALL (1ull << 18)
#define ATTR_EXCLUDE_GUEST (1ull << 20)
#define ATTR_MMAP2 (1ull << 23)
#define ATTR_COMM_EXEC (1ull << 24)

/* The kernel's text, as perf record names it: perf then does not warn
 * that the kernel maps were restricted. */
#define KERNEL_START 0xffffffff81000000ull
#define KERNEL_LEN 0x1000000ull

struct map_ent {
	uint64_t start, len, pgoff, ino;
	uint32_t pid, maj, min, prot, flags;
	char *path;
};

struct comm_ent {
	uint32_t pid, tid;
	char comm[16];
};

/* Folded stacks: one entry per distinct (pid, chain). */
struct stack_ent {
	uint64_t hash, count;
	uint32_t pid, nr;
	uint64_t *ips; /* innermost first */
};

/* A channel whose records the writer drains: the one it was created on,
 * and those of grb_perf_data_add_channel() (other processes'). */
struct data_src {
	struct grb_channel *ch;
	struct grb_merge *merge;
	uint32_t pid; /* who writes it: the losses at close are its */
	int ended; /* its merge said -ENODATA */
	struct grb_perf_data_stats st; /* samples, lost_* of its records */
};

struct grb_perf_data {
	int fd;
	int err; /* first error (negative errno) */
	struct grb_channel *ch;
	struct grb_merge *merge; /* srcs[0].merge */
	struct data_src *srcs;
	uint32_t nr_srcs, cap_srcs;
	struct grb_perf_data_attr attr;
	char *cmdline;
	char *folded_path;
	uint64_t create_ts, synth_ts, first_ts, last_ts;
	int synth_written, have_ts;
	char *wbuf;
	size_t wlen;
	uint64_t file_pos; /* where wbuf's bytes go */
	struct map_ent *maps;
	uint32_t nr_maps, cap_maps;
	struct comm_ent *comms;
	uint32_t nr_comms, cap_comms;
	struct stack_ent *stacks;
	uint32_t nr_stacks, cap_stacks; /* cap: a power of two */
	struct grb_perf_data_stats st;
};

static void set_err(struct grb_perf_data *w, int e)
{
	if (!w->err)
		w->err = e;
}

static int flush_buf(struct grb_perf_data *w)
{
	size_t off = 0;

	while (off < w->wlen) {
		ssize_t n = pwrite(w->fd, w->wbuf + off, w->wlen - off, (off_t)(w->file_pos + off));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_err(w, -errno);
			break;
		}
		off += (size_t)n;
	}
	w->file_pos += w->wlen;
	w->wlen = 0;
	return w->err;
}

static void out(struct grb_perf_data *w, const void *p, size_t len)
{
	const char *b = (const char *)p;

	while (len) {
		size_t n = WBUF_SIZE - w->wlen < len ? WBUF_SIZE - w->wlen : len;

		memcpy(w->wbuf + w->wlen, b, n);
		w->wlen += n;
		b += n;
		len -= n;
		if (w->wlen == WBUF_SIZE)
			flush_buf(w);
	}
}

static void out_data(struct grb_perf_data *w, const void *p, size_t len)
{
	out(w, p, len);
	w->st.data_size += len;
}

static void hdr(char *p, uint32_t type, uint32_t misc, uint32_t size)
{
	struct grb_perf_event_header h = { type, (uint16_t)misc, (uint16_t)size };

	memcpy(p, &h, sizeof(h));
}

static size_t pad8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/* sample_id_all's trailer for sample_type GRB_PERF_SAMPLE_TYPE. */
static void trailer(char *p, uint32_t pid, uint32_t tid, uint64_t ts)
{
	memcpy(p, &pid, 4);
	memcpy(p + 4, &tid, 4);
	memcpy(p + 8, &ts, 8);
}

static void write_comm(struct grb_perf_data *w, const struct comm_ent *c)
{
	char rec[8 + 8 + 16 + 16];
	size_t n = strnlen(c->comm, 15) + 1, size = 16 + pad8(n) + 16;

	memset(rec, 0, sizeof(rec));
	hdr(rec, GRB_PERF_RECORD_COMM, 0, (uint32_t)size);
	memcpy(rec + 8, &c->pid, 4);
	memcpy(rec + 12, &c->tid, 4);
	memcpy(rec + 16, c->comm, n - 1);
	trailer(rec + size - 16, c->pid, c->tid, w->synth_ts);
	out_data(w, rec, size);
	w->st.comms++;
}

static void write_mmap2(struct grb_perf_data *w, const struct map_ent *m)
{
	size_t n = strlen(m->path) + 1, size = 72 + pad8(n) + 16;
	char *rec;

	if (size > 65535u)
		return;
	rec = calloc(1, size);
	if (!rec) {
		set_err(w, -ENOMEM);
		return;
	}
	hdr(rec, GRB_PERF_RECORD_MMAP2, GRB_PERF_MISC_USER, (uint32_t)size);
	memcpy(rec + 8, &m->pid, 4);
	memcpy(rec + 12, &m->pid, 4);
	memcpy(rec + 16, &m->start, 8);
	memcpy(rec + 24, &m->len, 8);
	memcpy(rec + 32, &m->pgoff, 8);
	memcpy(rec + 40, &m->maj, 4);
	memcpy(rec + 44, &m->min, 4);
	memcpy(rec + 48, &m->ino, 8);
	/* ino_generation 0 at 56 */
	memcpy(rec + 64, &m->prot, 4);
	memcpy(rec + 68, &m->flags, 4);
	memcpy(rec + 72, m->path, n);
	trailer(rec + size - 16, m->pid, m->pid, w->synth_ts);
	out_data(w, rec, size);
	free(rec);
	w->st.mmaps++;
}

static void write_kernel_map(struct grb_perf_data *w)
{
	static const char name[] = "[kernel.kallsyms]_text";
	char rec[40 + 24 + 16];
	size_t size = 40 + pad8(sizeof(name)) + 16;
	uint32_t pid = UINT32_MAX, tid = 0;
	uint64_t start = KERNEL_START, len = KERNEL_LEN;

	memset(rec, 0, sizeof(rec));
	hdr(rec, GRB_PERF_RECORD_MMAP, GRB_PERF_MISC_KERNEL, (uint32_t)size);
	memcpy(rec + 8, &pid, 4);
	memcpy(rec + 12, &tid, 4);
	memcpy(rec + 16, &start, 8);
	memcpy(rec + 24, &len, 8);
	memcpy(rec + 32, &start, 8);
	memcpy(rec + 40, name, sizeof(name));
	trailer(rec + size - 16, pid, tid, w->synth_ts);
	out_data(w, rec, size);
}

/* The COMM and MMAP2 records, once, before the first drained record. */
static void write_synth(struct grb_perf_data *w, uint64_t first_ts)
{
	uint32_t i;

	if (w->synth_written)
		return;
	w->synth_ts = w->attr.start_ts ? w->attr.start_ts :
					 (first_ts < w->create_ts ? first_ts : w->create_ts);
	w->synth_written = 1;
	write_kernel_map(w);
	for (i = 0; i < w->nr_comms; i++)
		write_comm(w, &w->comms[i]);
	for (i = 0; i < w->nr_maps; i++)
		write_mmap2(w, &w->maps[i]);
}

void grb_perf_data_attr_init(struct grb_perf_data_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->sample_freq = 999;
}

static char *read_small_file(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n + 4096 + 1 > cap) {
			char *b = realloc(buf, cap ? 2 * cap : 8192);

			if (!b) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = b;
			cap = cap ? 2 * cap : 8192;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*len = n;
	return buf;
}

struct grb_perf_data *grb_perf_data_create(const char *path, struct grb_channel *ch,
					   const struct grb_perf_data_attr *attr)
{
	struct grb_perf_data_attr a;
	struct grb_perf_data *w;

	if (!attr) {
		grb_perf_data_attr_init(&a);
		attr = &a;
	}
	if (!path || !ch || attr->size < sizeof(*attr) ||
	    (!attr->sample_freq && !attr->sample_period)) {
		grb_error_set("grb_perf_data_create: no path, no channel, or neither "
			      "sample_freq nor sample_period");
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->attr = *attr;
	w->ch = ch;
	w->create_ts = grb_clock_monotonic();
	w->wbuf = malloc(WBUF_SIZE);
	w->cmdline = attr->cmdline ? strdup(attr->cmdline) : NULL;
	w->folded_path = attr->folded_path ? strdup(attr->folded_path) : NULL;
	w->attr.cmdline = NULL;
	w->attr.folded_path = NULL;
	if (!w->cmdline) {
		size_t n = 0, i;

		w->cmdline = read_small_file("/proc/self/cmdline", &n);
		for (i = 0; w->cmdline && n && i + 1 < n; i++)
			if (!w->cmdline[i])
				w->cmdline[i] = ' ';
	}
	w->merge = grb_merge_create(ch, 0);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!w->wbuf || !w->cmdline || (attr->folded_path && !w->folded_path) || !w->merge ||
	    w->fd < 0) {
		int e = errno ? errno : ENOMEM;

		if (w->fd < 0)
			grb_error_set("grb_perf_data_create: %s: %s", path, strerror(e));
		if (w->merge)
			grb_merge_destroy(w->merge);
		if (w->fd >= 0)
			close(w->fd);
		free(w->wbuf);
		free(w->cmdline);
		free(w->folded_path);
		free(w);
		errno = e;
		return NULL;
	}
	w->srcs = calloc(4, sizeof(*w->srcs));
	if (!w->srcs) {
		close(w->fd);
		grb_merge_destroy(w->merge);
		free(w->wbuf);
		free(w->cmdline);
		free(w->folded_path);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->cap_srcs = 4;
	w->nr_srcs = 1;
	w->srcs[0].ch = ch;
	w->srcs[0].merge = w->merge;
	w->srcs[0].pid = attr->pid ? attr->pid : (uint32_t)getpid();
	w->file_pos = DATA_OFFSET;
	return w;
}

int grb_perf_data_add_channel(struct grb_perf_data *w, struct grb_channel *ch, uint32_t pid)
{
	struct data_src *src;

	if (!w || !ch)
		return -EINVAL;
	if (w->nr_srcs == w->cap_srcs) {
		src = realloc(w->srcs, 2 * w->cap_srcs * sizeof(*src));
		if (!src)
			return -ENOMEM;
		w->srcs = src;
		w->cap_srcs *= 2;
	}
	src = &w->srcs[w->nr_srcs];
	memset(src, 0, sizeof(*src));
	src->merge = grb_merge_create(ch, 0);
	if (!src->merge)
		return errno ? -errno : -ENOMEM;
	src->ch = ch;
	src->pid = pid;
	return (int)w->nr_srcs++;
}

int grb_perf_data_channel_stats(const struct grb_perf_data *w, uint32_t idx,
				struct grb_perf_data_stats *st)
{
	if (!w || !st || idx >= w->nr_srcs)
		return -EINVAL;
	*st = w->srcs[idx].st;
	return 0;
}

int grb_perf_data_add_comm(struct grb_perf_data *w, uint32_t pid, uint32_t tid, const char *comm)
{
	struct comm_ent *c;

	if (!w || !comm)
		return -EINVAL;
	if (w->nr_comms == w->cap_comms) {
		uint32_t cap = w->cap_comms ? 2 * w->cap_comms : 16;

		c = realloc(w->comms, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		w->comms = c;
		w->cap_comms = cap;
	}
	c = &w->comms[w->nr_comms++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->tid = tid;
	/* At most 15 bytes, as the kernel's comm; memset ended it. */
	memcpy(c->comm, comm, strnlen(comm, sizeof(c->comm) - 1));
	if (w->synth_written)
		write_comm(w, c);
	return 0;
}

int grb_perf_data_add_sampler_threads(struct grb_perf_data *w, struct grb_perf_sampler *s)
{
	struct _grb_perf_task *t;
	uint32_t n, i, pid = (uint32_t)getpid();
	size_t len;
	char *comm;
	int r = 0;

	if (!w || !s)
		return -EINVAL;
	comm = read_small_file("/proc/self/comm", &len);
	if (comm) {
		comm[strcspn(comm, "\n")] = 0;
		r = grb_perf_data_add_comm(w, pid, pid, comm);
		free(comm);
	}
	if (!r)
		r = _grb_perf_sampler_tasks(s, &t, &n);
	if (r)
		return r;
	for (i = 0; i < n && !r; i++)
		if (t[i].tid != pid)
			r = grb_perf_data_add_comm(w, t[i].pid, t[i].tid, t[i].comm);
	free(t);
	return r;
}

static int have_map(const struct grb_perf_data *w, uint32_t pid, uint64_t start, uint64_t len,
		    uint64_t pgoff, uint64_t ino)
{
	uint32_t i;

	for (i = 0; i < w->nr_maps; i++)
		if (w->maps[i].pid == pid && w->maps[i].start == start && w->maps[i].len == len &&
		    w->maps[i].pgoff == pgoff && w->maps[i].ino == ino)
			return 1;
	return 0;
}

int grb_perf_data_add_maps(struct grb_perf_data *w, uint32_t pid)
{
	char path[64], *text, *line, *save = NULL;
	size_t len;
	int added = 0;

	if (!w)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	text = read_small_file(path, &len);
	if (!text)
		return -errno;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end, off, ino;
		unsigned int maj, min;
		char perms[5];
		int at = 0;
		struct map_ent *m;
		const char *file;

		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &maj, &min, &ino, &at) < 7 ||
		    !at)
			continue;
		file = line + at;
		/* Executable file mappings only: perf resolves symbols in
		 * files; [vdso], anonymous and deleted ones it cannot open. */
		if (perms[2] != 'x' || file[0] != '/' || strstr(file, " (deleted)"))
			continue;
		if (have_map(w, pid, start, end - start, off, ino))
			continue; /* added by an earlier call */
		if (w->nr_maps == w->cap_maps) {
			uint32_t cap = w->cap_maps ? 2 * w->cap_maps : 32;

			m = realloc(w->maps, cap * sizeof(*m));
			if (!m) {
				free(text);
				return -ENOMEM;
			}
			w->maps = m;
			w->cap_maps = cap;
		}
		m = &w->maps[w->nr_maps];
		m->path = strdup(file);
		if (!m->path) {
			free(text);
			return -ENOMEM;
		}
		m->start = start;
		m->len = end - start;
		m->pgoff = off;
		m->ino = ino;
		m->pid = pid;
		m->maj = maj;
		m->min = min;
		m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			  PROT_EXEC;
		m->flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
		w->nr_maps++;
		added++;
		if (w->synth_written)
			write_mmap2(w, m);
	}
	free(text);
	return added;
}

/* ---------------------------------------------------------------------
 * Folded stacks: counted per distinct chain, resolved at close.
 */
static uint64_t chain_hash(uint32_t pid, const uint64_t *ips, uint32_t nr)
{
	uint64_t h = 0xcbf29ce484222325ull ^ pid;
	uint32_t i;

	for (i = 0; i < nr; i++) {
		h ^= ips[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h | 1; /* 0 marks an empty slot */
}

static int stacks_grow(struct grb_perf_data *w)
{
	uint32_t cap = w->cap_stacks ? 2 * w->cap_stacks : 1024, i;
	struct stack_ent *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (i = 0; i < w->cap_stacks; i++) {
		struct stack_ent *e = &w->stacks[i];
		uint32_t j;

		if (!e->hash)
			continue;
		for (j = (uint32_t)e->hash & (cap - 1); n[j].hash; j = (j + 1) & (cap - 1))
			;
		n[j] = *e;
	}
	free(w->stacks);
	w->stacks = n;
	w->cap_stacks = cap;
	return 0;
}

static void stack_add(struct grb_perf_data *w, uint32_t pid, const uint64_t *ips, uint32_t nr)
{
	uint64_t h = chain_hash(pid, ips, nr);
	struct stack_ent *e;
	uint32_t j;

	if (2 * (w->nr_stacks + 1) > w->cap_stacks && stacks_grow(w)) {
		set_err(w, -ENOMEM);
		return;
	}
	for (j = (uint32_t)h & (w->cap_stacks - 1);; j = (j + 1) & (w->cap_stacks - 1)) {
		e = &w->stacks[j];
		if (!e->hash)
			break;
		if (e->hash == h && e->pid == pid && e->nr == nr &&
		    !memcmp(e->ips, ips, nr * sizeof(*ips))) {
			e->count++;
			return;
		}
	}
	e->ips = malloc((nr ? nr : 1) * sizeof(*ips));
	if (!e->ips) {
		set_err(w, -ENOMEM);
		return;
	}
	memcpy(e->ips, ips, nr * sizeof(*ips));
	e->hash = h;
	e->pid = pid;
	e->nr = nr;
	e->count = 1;
	w->nr_stacks++;
}

/* A sample's chain without perf's context markers. */
static void fold_sample(struct grb_perf_data *w, const unsigned char *p, uint32_t size)
{
	uint64_t ips[GRB_PERF_MAX_CALLERS + 2], nr, v;
	uint32_t pid, n = 0, i;

	memcpy(&pid, p + 16, 4);
	memcpy(&nr, p + 40, 8);
	if (GRB_PERF_SAMPLE_FIXED + 8u * nr > size)
		return;
	for (i = 0; i < nr && n < GRB_PERF_MAX_CALLERS + 2; i++) {
		memcpy(&v, p + GRB_PERF_SAMPLE_FIXED + 8u * i, 8);
		if (v >= (uint64_t)-4095) /* PERF_CONTEXT_* */
			continue;
		ips[n++] = v;
	}
	if (!n)
		memcpy(&ips[n++], p + 8, 8);
	stack_add(w, pid, ips, n);
}

/* One drained record: one or two perf records, copied as they are. */
static void emit(struct grb_perf_data *w, struct data_src *src, const struct grb_record *rec)
{
	const unsigned char *p = (const unsigned char *)rec->data, *end = p + rec->len;

	write_synth(w, rec->ts);
	if (!w->have_ts) {
		w->first_ts = rec->ts;
		w->have_ts = 1;
	}
	if (rec->ts > w->last_ts)
		w->last_ts = rec->ts;
	while (p + GRB_PERF_HEADER_SIZE <= end) {
		struct grb_perf_event_header h;

		memcpy(&h, p, sizeof(h));
		if (h.size < GRB_PERF_HEADER_SIZE || p + h.size > end)
			break;
		if (h.type == GRB_PERF_RECORD_LOST_SAMPLES) {
			uint64_t lost;

			memcpy(&lost, p + 8, 8);
			w->st.lost_samples += lost;
			w->st.lost_records++;
			src->st.lost_samples += lost;
			src->st.lost_records++;
		} else if (h.type == GRB_PERF_RECORD_SAMPLE) {
			w->st.samples++;
			src->st.samples++;
			if (w->folded_path)
				fold_sample(w, p, h.size);
		}
		p += h.size;
	}
	out_data(w, rec->data, rec->len);
}

long grb_perf_data_drain(struct grb_perf_data *w)
{
	struct grb_record rec;
	uint32_t i, ended = 0;
	long n = 0;
	int ret;

	if (!w)
		return -EINVAL;
	/* Each channel in turn: the records of one process are in time
	 * order, those of different processes interleave in the file (perf
	 * sorts them all, no FINISHED_ROUND being written). */
	for (i = 0; i < w->nr_srcs; i++) {
		struct data_src *src = &w->srcs[i];

		if (src->ended) {
			ended++;
			continue;
		}
		for (;;) {
			ret = grb_merge_next(src->merge, &rec);
			if (ret == -EPROTO) {
				w->st.corrupt++;
				src->st.corrupt++;
				continue;
			}
			if (ret)
				break;
			emit(w, src, &rec);
			n++;
		}
		if (ret == -ENODATA) {
			src->ended = 1;
			ended++;
		} else if (ret != -EAGAIN) {
			set_err(w, ret);
		}
	}
	if (w->err)
		return w->err;
	if (n)
		return n;
	return ended == w->nr_srcs ? -ENODATA : 0;
}

int grb_perf_data_wait(struct grb_perf_data *w, uint64_t timeout_ns)
{
	if (!w)
		return -EINVAL;
	return grb_merge_wait(w->merge, timeout_ns);
}

/* ---------------------------------------------------------------------
 * Close: the losses no record reported, features, header.
 */
static void write_lost_rest(struct grb_perf_data *w)
{
	uint32_t i;

	for (i = 0; i < w->nr_srcs; i++) {
		struct data_src *src = &w->srcs[i];
		struct grb_channel_stats cs;
		uint64_t total, rest;
		char rec[GRB_PERF_LOST_SIZE];

		if (grb_channel_read_stats(src->ch, &cs))
			continue;
		total = cs.lost_total - cs.lost[GRB_LOST_OVERWRITTEN];
		if (total <= src->st.lost_samples)
			continue;
		rest = total - src->st.lost_samples;
		write_synth(w, w->create_ts);
		hdr(rec, GRB_PERF_RECORD_LOST_SAMPLES, 0, GRB_PERF_LOST_SIZE);
		memcpy(rec + 8, &rest, 8);
		trailer(rec + 16, src->pid, src->pid, w->have_ts ? w->last_ts : w->synth_ts);
		out_data(w, rec, sizeof(rec));
		src->st.lost_at_close = rest;
		src->st.lost_samples += rest;
		src->st.lost_records++;
		w->st.lost_at_close += rest;
		w->st.lost_samples += rest;
		w->st.lost_records++;
	}
}

/* A feature string: u32 len (a multiple of 64, NUL included), bytes. */
static uint64_t put_string(struct grb_perf_data *w, const char *s)
{
	size_t n = strlen(s) + 1, len = (n + 63u) & ~(size_t)63u;
	uint32_t l = (uint32_t)len;
	char zero[64] = { 0 };

	out(w, &l, 4);
	out(w, s, n);
	out(w, zero, len - n);
	return 4 + len;
}

struct feat {
	int bit;
	uint64_t off, size;
};

static void write_features(struct grb_perf_data *w, uint64_t *bitmap)
{
	struct feat f[5] = { { FEAT_HOSTNAME, 0, 0 },
			     { FEAT_OSRELEASE, 0, 0 },
			     { FEAT_ARCH, 0, 0 },
			     { FEAT_CMDLINE, 0, 0 },
			     { FEAT_SAMPLE_TIME, 0, 0 } };
	const uint32_t nf = 5;
	uint64_t index_pos, pos, zero[2 * 5] = { 0 };
	struct utsname u;
	uint32_t i;

	if (uname(&u)) {
		strcpy(u.nodename, "unknown");
		strcpy(u.release, "unknown");
		strcpy(u.machine, "unknown");
	}
	flush_buf(w);
	/* The index follows the data section: perf finds it there. */
	index_pos = w->file_pos;
	out(w, zero, sizeof(zero));
	pos = index_pos + sizeof(zero);
	for (i = 0; i < nf; i++) {
		f[i].off = pos;
		switch (f[i].bit) {
		case FEAT_HOSTNAME:
			f[i].size = put_string(w, u.nodename);
			break;
		case FEAT_OSRELEASE:
			f[i].size = put_string(w, u.release);
			break;
		case FEAT_ARCH:
			f[i].size = put_string(w, u.machine);
			break;
		case FEAT_CMDLINE: {
			uint32_t one = 1;

			out(w, &one, 4);
			f[i].size = 4 + put_string(w, w->cmdline);
			break;
		}
		case FEAT_SAMPLE_TIME: {
			uint64_t t[2] = { w->first_ts, w->last_ts };

			out(w, t, sizeof(t));
			f[i].size = sizeof(t);
			break;
		}
		}
		pos += f[i].size;
		bitmap[f[i].bit / 64] |= 1ull << (f[i].bit % 64);
	}
	flush_buf(w);
	for (i = 0; i < nf; i++) {
		zero[2 * i] = f[i].off;
		zero[2 * i + 1] = f[i].size;
	}
	if (pwrite(w->fd, zero, sizeof(zero), (off_t)index_pos) != (ssize_t)sizeof(zero))
		set_err(w, errno ? -errno : -EIO);
}

static void write_header(struct grb_perf_data *w, const uint64_t *bitmap)
{
	unsigned char h[FILE_HEADER_SIZE + ATTR_ENTRY_SIZE];
	uint64_t v, flags;
	uint32_t u;

	memset(h, 0, sizeof(h));
	memcpy(h, "PERFILE2", 8);
	v = FILE_HEADER_SIZE;
	memcpy(h + 8, &v, 8);
	v = ATTR_ENTRY_SIZE;
	memcpy(h + 16, &v, 8);
	v = FILE_HEADER_SIZE;
	memcpy(h + 24, &v, 8);
	v = ATTR_ENTRY_SIZE;
	memcpy(h + 32, &v, 8);
	v = DATA_OFFSET;
	memcpy(h + 40, &v, 8);
	memcpy(h + 48, &w->st.data_size, 8);
	memcpy(h + 72, bitmap, 32);
	/* The attribute: cpu-clock, software. */
	u = 1; /* PERF_TYPE_SOFTWARE */
	memcpy(h + FILE_HEADER_SIZE, &u, 4);
	u = ATTR_SIZE;
	memcpy(h + FILE_HEADER_SIZE + 4, &u, 4);
	/* config 0: PERF_COUNT_SW_CPU_CLOCK */
	v = w->attr.sample_freq ? w->attr.sample_freq : w->attr.sample_period;
	memcpy(h + FILE_HEADER_SIZE + 16, &v, 8);
	v = GRB_PERF_SAMPLE_TYPE;
	memcpy(h + FILE_HEADER_SIZE + 24, &v, 8);
	flags = ATTR_DISABLED | ATTR_MMAP | ATTR_COMM | ATTR_TASK | ATTR_SAMPLE_ID_ALL |
		ATTR_EXCLUDE_GUEST | ATTR_MMAP2 | ATTR_COMM_EXEC;
	if (w->attr.sample_freq)
		flags |= ATTR_FREQ;
	memcpy(h + FILE_HEADER_SIZE + 40, &flags, 8);
	/* The attribute's ids: none (one event). */
	if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		set_err(w, errno ? -errno : -EIO);
}

static void free_writer(struct grb_perf_data *w)
{
	uint32_t i;

	for (i = 0; i < w->nr_maps; i++)
		free(w->maps[i].path);
	for (i = 0; i < w->cap_stacks; i++)
		free(w->stacks[i].ips);
	free(w->maps);
	free(w->comms);
	free(w->stacks);
	free(w->wbuf);
	free(w->cmdline);
	free(w->folded_path);
	for (i = 0; i < w->nr_srcs; i++)
		grb_merge_destroy(w->srcs[i].merge);
	if (!w->nr_srcs && w->merge)
		grb_merge_destroy(w->merge);
	free(w->srcs);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/* ---------------------------------------------------------------------
 * Folded output: "frame;frame;...;leaf count", outermost first.
 */
struct sym_cache {
	const char *path;
	struct grb_perf_symtab *tab;
	int tried;
};

static const struct map_ent *find_map(const struct grb_perf_data *w, uint32_t pid, uint64_t a)
{
	uint32_t i;

	for (i = 0; i < w->nr_maps; i++)
		if (w->maps[i].pid == pid && a >= w->maps[i].start &&
		    a - w->maps[i].start < w->maps[i].len)
			return &w->maps[i];
	return NULL;
}

/* The name of the function at a (a return address: its call, at a - 1). */
static void symbolize(const struct grb_perf_data *w, struct sym_cache *cache, uint32_t pid,
		      uint64_t a, char *buf, size_t len)
{
	const struct map_ent *m = find_map(w, pid, a);
	const char *name = NULL;
	uint64_t vaddr;

	if (m) {
		struct sym_cache *c = &cache[m - w->maps];

		if (!c->tried) {
			uint32_t i;

			/* One table per path: the maps of a file share it. */
			for (i = 0; i < (uint32_t)(m - w->maps); i++)
				if (cache[i].tried && !strcmp(w->maps[i].path, m->path)) {
					c->tab = cache[i].tab;
					c->path = cache[i].path;
					break;
				}
			if (!c->path) {
				c->tab = _grb_perf_symtab_load(m->path);
				c->path = m->path;
			}
			c->tried = 1;
		}
		if (c->tab && !_grb_perf_symtab_vaddr(c->tab, a - m->start + m->pgoff, &vaddr))
			name = _grb_perf_symtab_lookup(c->tab, vaddr, NULL);
	}
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "[unknown]");
}

struct folded_line {
	char *text;
	uint64_t count;
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->text, ((const struct folded_line *)b)->text);
}

/* Each distinct chain as its symbols; chains whose addresses differ but
 * whose symbols do not are one line. */
static int write_folded(struct grb_perf_data *w)
{
	struct sym_cache *cache = calloc(w->nr_maps ? w->nr_maps : 1, sizeof(*cache));
	struct folded_line *lines = calloc(w->nr_stacks ? w->nr_stacks : 1, sizeof(*lines));
	FILE *f = fopen(w->folded_path, "we");
	uint32_t i, j, k, n = 0;
	char name[256];
	int ret = 0;

	if (!cache || !lines || !f) {
		ret = -errno;
		goto done;
	}
	for (i = 0; i < w->cap_stacks; i++) {
		const struct stack_ent *e = &w->stacks[i];
		char *text = NULL;
		size_t len = 0;
		FILE *m;

		if (!e->hash)
			continue;
		m = open_memstream(&text, &len);
		if (!m) {
			ret = -ENOMEM;
			goto done;
		}
		for (k = 0; k < e->nr; k++) {
			j = e->nr - 1 - k;
			symbolize(w, cache, e->pid, j ? e->ips[j] - 1 : e->ips[j], name,
				  sizeof(name));
			fprintf(m, "%s%s", k ? ";" : "", name);
		}
		if (fclose(m) || !text) {
			free(text);
			ret = -ENOMEM;
			goto done;
		}
		lines[n].text = text;
		lines[n].count = e->count;
		n++;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (i = 0; i < n; i = j) {
		uint64_t count = 0;

		for (j = i; j < n && !strcmp(lines[j].text, lines[i].text); j++)
			count += lines[j].count;
		fprintf(f, "%s %" PRIu64 "\n", lines[i].text, count);
	}
	if (ferror(f))
		ret = -EIO;
done:
	if (f && fclose(f) && !ret)
		ret = -errno;
	for (i = 0; lines && i < n; i++)
		free(lines[i].text);
	free(lines);
	if (cache) {
		for (i = 0; i < w->nr_maps; i++) {
			uint32_t first = 1;

			for (j = 0; j < i; j++)
				if (cache[j].tab == cache[i].tab)
					first = 0;
			if (first && cache[i].tab)
				_grb_perf_symtab_free(cache[i].tab);
		}
		free(cache);
	}
	return ret;
}

int grb_perf_data_close(struct grb_perf_data *w, struct grb_perf_data_stats *st)
{
	uint64_t bitmap[4] = { 0 };
	long r;
	int ret;

	if (!w)
		return -EINVAL;
	do
		r = grb_perf_data_drain(w);
	while (r > 0);
	if (r < 0 && r != -ENODATA)
		set_err(w, (int)r);
	write_lost_rest(w);
	write_synth(w, w->create_ts);
	if (!w->have_ts)
		w->first_ts = w->last_ts = w->synth_ts;
	flush_buf(w);
	write_features(w, bitmap);
	write_header(w, bitmap);
	if (w->folded_path) {
		int e = write_folded(w);

		if (e)
			set_err(w, e);
	}
	if (fsync(w->fd) && errno != EINVAL)
		set_err(w, -errno);
	if (st)
		*st = w->st;
	ret = w->err;
	free_writer(w);
	return ret;
}
