// SPDX-License-Identifier: MIT
/*
 * ft_dat.c - the trace.dat writer.  Pages come in one at a time
 * (grb_ftrace_dat_add_page(), or grb_ftrace_dat_drain() from a channel's
 * consuming readers) and go to a spool per CPU (a memfd, or an unlinked
 * file in a directory); grb_ftrace_dat_write() then writes the file in
 * one sequential pass, so that it can go to a pipe:
 *
 *	"\x17\x08\x44tracing6\0", endianness, long size, page size
 *	header_page, header_event		(ft_format.c)
 *	ftrace event formats			(print, funcgraph_*)
 *	event systems				(grb: lost_events; the user's)
 *	kallsyms				(the addresses the records carry)
 *	printk formats				(none)
 *	saved_cmdlines				(the threads the records name)
 *	CPU count, "options  \0", TRACECLOCK, UNAME, CPUSTAT per CPU, end
 *	"flyrecord\0", per CPU {offset, size}, the trace_clock text
 *	zero padding to a page, then each CPU's pages
 *
 * The pages are walked once as they come in: the pids and addresses they
 * carry, and their figures for CPUSTAT.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/ftrace.h>

#include "ft_internal.h"

#define MAX_CPUS 4096u

struct dat_cpu {
	int fd; /* the spool, -1 until the first page */
	uint64_t size;
	struct grb_ftrace_cpu_stats st;
};

/* A consuming reader of one stream of a drained channel. */
struct dat_stream {
	struct grb_reader *r;
	uint32_t cpu;
	int started;
	uint64_t next_seq;
	uint64_t accounted; /* overwritten + corrupt records put before a page */
	uint64_t lost; /* lost otherwise, as the stream counted them */
};

/* A drained channel: a reader per stream. */
struct dat_source {
	struct grb_channel *ch;
	struct dat_stream *streams;
	uint32_t nr_streams;
};

/* Where a user event carries addresses (its ptr fields). */
struct ptr_fields {
	uint32_t nr;
	uint32_t off[8];
};

struct u64_set {
	uint64_t *v; /* open addressing; 0 is the empty slot (value + 1 stored) */
	size_t cap, n;
	int oom;
};

struct task_name {
	int32_t pid;
	char comm[16];
};

struct grb_ftrace_dat {
	struct grb_ftrace_dat_attr attr;
	const struct grb_ftrace_event **events;
	char *clock;
	char *spool_dir;
	struct dat_cpu *cpus;
	uint32_t nr_cpus; /* allocated */
	uint32_t used_cpus; /* highest CPU with a page + 1 */
	struct ptr_fields *ptrs; /* by event id */
	struct u64_set pids, addrs;
	struct task_name *tasks;
	size_t nr_tasks, cap_tasks;
	struct dat_source *srcs; /* the channels drained, in order of their first drain */
	uint32_t nr_srcs;
};

void grb_ftrace_dat_attr_init(struct grb_ftrace_dat_attr *attr)
{
	if (!attr)
		return;
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
}

static int set_add(struct u64_set *s, uint64_t v)
{
	size_t i, mask;

	v += 1; /* never 0 but for UINT64_MAX, which no pid or address is */
	if (!v)
		return 0;
	if (s->oom)
		return -ENOMEM;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256, j;
		uint64_t *nv = (uint64_t *)calloc(cap, sizeof(*nv));

		if (!nv) {
			s->oom = 1;
			return -ENOMEM;
		}
		for (j = 0; j < s->cap; j++) {
			uint64_t x = s->v[j];

			if (!x)
				continue;
			for (i = (size_t)(x * 0x9e3779b97f4a7c15ull) & (cap - 1); nv[i];
			     i = (i + 1) & (cap - 1))
				;
			nv[i] = x;
		}
		free(s->v);
		s->v = nv;
		s->cap = cap;
	}
	mask = s->cap - 1;
	for (i = (size_t)(v * 0x9e3779b97f4a7c15ull) & mask; s->v[i]; i = (i + 1) & mask)
		if (s->v[i] == v)
			return 0;
	s->v[i] = v;
	s->n++;
	return 0;
}

struct grb_ftrace_dat *grb_ftrace_dat_create(const struct grb_ftrace_dat_attr *attr)
{
	struct grb_ftrace_dat *d;
	uint32_t i, j;
	int ret;

	if (!attr || attr->size != sizeof(*attr)) {
		grb_error_set("ftrace dat attr.size: call grb_ftrace_dat_attr_init");
		errno = EINVAL;
		return NULL;
	}
	if (attr->nr_cpus > MAX_CPUS || (attr->nr_events && !attr->events)) {
		grb_error_set("ftrace dat attr: %u CPUs (at most %u), or no events array",
			      attr->nr_cpus, MAX_CPUS);
		errno = EINVAL;
		return NULL;
	}
	if (attr->clock) {
		size_t n = strlen(attr->clock);

		for (i = 0; i < n; i++)
			if (!((attr->clock[i] >= 'a' && attr->clock[i] <= 'z') ||
			      (attr->clock[i] >= '0' && attr->clock[i] <= '9') ||
			      attr->clock[i] == '-' || attr->clock[i] == '_'))
				break;
		if (!n || n > 32 || i < n) {
			grb_error_set("ftrace dat attr.clock \"%s\": not a trace_clock name",
				      attr->clock);
			errno = EINVAL;
			return NULL;
		}
	}
	for (i = 0; i < attr->nr_events; i++) {
		ret = ft_event_validate(attr->events[i]);
		if (ret) {
			errno = -ret;
			return NULL;
		}
		for (j = 0; j < i; j++)
			if (attr->events[j]->id == attr->events[i]->id ||
			    (!strcmp(attr->events[j]->system, attr->events[i]->system) &&
			     !strcmp(attr->events[j]->name, attr->events[i]->name))) {
				grb_error_set("ftrace events %s/%s and %s/%s: same id or name",
					      attr->events[j]->system, attr->events[j]->name,
					      attr->events[i]->system, attr->events[i]->name);
				errno = EINVAL;
				return NULL;
			}
	}
	d = (struct grb_ftrace_dat *)calloc(1, sizeof(*d));
	if (!d)
		goto oom;
	d->attr = *attr;
	d->events =
		(const struct grb_ftrace_event **)calloc(attr->nr_events + 1, sizeof(*d->events));
	d->clock = strdup(attr->clock ? attr->clock : "mono");
	d->spool_dir = attr->spool_dir ? strdup(attr->spool_dir) : NULL;
	d->ptrs = (struct ptr_fields *)calloc(GRB_FTRACE_MAX_ID + 1, sizeof(*d->ptrs));
	if (!d->events || !d->clock || (attr->spool_dir && !d->spool_dir) || !d->ptrs)
		goto oom;
	for (i = 0; i < attr->nr_events; i++) {
		const struct grb_ftrace_event *ev = attr->events[i];
		struct ptr_fields *p = &d->ptrs[ev->id];
		uint32_t off = GRB_FTRACE_COMMON_SIZE;

		d->events[i] = ev;
		for (j = 0; j < ev->nr_fields; j++) {
			const struct grb_ftrace_field *f = &ev->fields[j];
			uint32_t size = 8, align = 8, at;

			if (f->kind == GRB_FTRACE_U8 || f->kind == GRB_FTRACE_S8)
				size = align = 1;
			else if (f->kind == GRB_FTRACE_U16 || f->kind == GRB_FTRACE_S16)
				size = align = 2;
			else if (f->kind == GRB_FTRACE_U32 || f->kind == GRB_FTRACE_S32 ||
				 f->kind == GRB_FTRACE_STRING)
				size = align = 4;
			else if (f->kind == GRB_FTRACE_CHARS)
				size = f->len, align = 1;
			at = _grb_ftrace_place(&off, size, align);
			if (f->kind == GRB_FTRACE_PTR && p->nr < 8)
				p->off[p->nr++] = at;
		}
	}
	d->ptrs[GRB_FTRACE_ID_PRINT].nr = 1;
	d->ptrs[GRB_FTRACE_ID_PRINT].off[0] = 8;
	d->ptrs[GRB_FTRACE_ID_FUNCGRAPH_ENTRY].nr = 1;
	d->ptrs[GRB_FTRACE_ID_FUNCGRAPH_ENTRY].off[0] = 8;
	d->ptrs[GRB_FTRACE_ID_FUNCGRAPH_EXIT].nr = 1;
	d->ptrs[GRB_FTRACE_ID_FUNCGRAPH_EXIT].off[0] = 8;
	return d;
oom:
	grb_ftrace_dat_destroy(d);
	grb_error_set("ftrace dat: out of memory");
	errno = ENOMEM;
	return NULL;
}

void grb_ftrace_dat_destroy(struct grb_ftrace_dat *d)
{
	uint32_t i, k;

	if (!d)
		return;
	for (k = 0; k < d->nr_srcs; k++) {
		for (i = 0; i < d->srcs[k].nr_streams; i++)
			if (d->srcs[k].streams[i].r)
				grb_reader_destroy(d->srcs[k].streams[i].r);
		free(d->srcs[k].streams);
	}
	for (i = 0; i < d->nr_cpus; i++)
		if (d->cpus[i].fd >= 0)
			close(d->cpus[i].fd);
	free(d->srcs);
	free(d->cpus);
	free(d->ptrs);
	free(d->pids.v);
	free(d->addrs.v);
	free(d->tasks);
	free(d->events);
	free(d->clock);
	free(d->spool_dir);
	free(d);
}

static int cpu_get(struct grb_ftrace_dat *d, uint32_t cpu, struct dat_cpu **out)
{
	if (cpu >= MAX_CPUS)
		return -EINVAL;
	if (cpu >= d->nr_cpus) {
		uint32_t n = d->nr_cpus ? d->nr_cpus : 8, i;
		struct dat_cpu *c;

		while (n <= cpu)
			n *= 2;
		c = (struct dat_cpu *)realloc(d->cpus, n * sizeof(*c));
		if (!c)
			return -ENOMEM;
		for (i = d->nr_cpus; i < n; i++) {
			memset(&c[i], 0, sizeof(c[i]));
			c[i].fd = -1;
		}
		d->cpus = c;
		d->nr_cpus = n;
	}
	*out = &d->cpus[cpu];
	if ((*out)->fd < 0) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "grb-ftrace-cpu%u", cpu);
		if (d->spool_dir)
			fd = open(d->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		else
			fd = memfd_create(name, MFD_CLOEXEC);
		if (fd < 0) {
			int err = errno;

			grb_error_set("ftrace dat: spool of CPU %u in %s: %s", cpu,
				      d->spool_dir ? d->spool_dir : "memory", strerror(err));
			return -err;
		}
		(*out)->fd = fd;
	}
	if (cpu + 1 > d->used_cpus)
		d->used_cpus = cpu + 1;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len, int64_t off)
{
	const char *p = (const char *)buf;

	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Walks the records of a page's data (len bytes).  Counts the data
 * records, collects their pids and addresses, the first and last
 * timestamps, and, if first_end is not NULL, where the page's first data
 * record ends and the clock there.  Return 0 or -EINVAL (a record that
 * overruns the data, or an unknown length).
 */
static int walk(struct grb_ftrace_dat *d, const unsigned char *data, uint32_t len, uint64_t ts,
		struct grb_ftrace_cpu_stats *st, uint32_t *first_end, uint64_t *first_ts)
{
	uint32_t off = 0;
	int first = 1;

	while (off < len) {
		uint32_t w, type, a, hdr, plen;

		if (len - off < 4)
			return -EINVAL;
		w = rd32(data + off);
		type = w & 31u;
		if (type == GRB_FTRACE_TYPE_TIME_EXTEND || type == GRB_FTRACE_TYPE_TIME_STAMP) {
			uint64_t v;

			if (len - off < 8)
				return -EINVAL;
			v = (uint64_t)rd32(data + off + 4) << GRB_FTRACE_DELTA_BITS | (w >> 5);
			ts = type == GRB_FTRACE_TYPE_TIME_STAMP ? v : ts + v;
			off += 8;
			continue;
		}
		ts += w >> 5;
		if (type == GRB_FTRACE_TYPE_PADDING) {
			if (len - off < 8)
				return -EINVAL;
			a = rd32(data + off + 4);
			if (a > len - off - 4)
				return -EINVAL;
			off += 4 + a;
			continue;
		}
		if (type == 0) {
			if (len - off < 8)
				return -EINVAL;
			a = rd32(data + off + 4);
			if (a < 4)
				return -EINVAL;
			hdr = 8;
			plen = (a - 4 + 3) & ~3u;
		} else {
			hdr = 4;
			plen = type * 4;
		}
		if (plen > len - off - hdr)
			return -EINVAL;
		if (plen >= GRB_FTRACE_COMMON_SIZE) {
			const unsigned char *p = data + off + hdr;
			uint16_t id;
			int32_t pid;
			uint32_t i;

			memcpy(&id, p, 2);
			memcpy(&pid, p + 4, 4);
			set_add(&d->pids, (uint64_t)(uint32_t)pid);
			for (i = 0; i < d->ptrs[id].nr; i++) {
				uint64_t addr;

				if (d->ptrs[id].off[i] + 8 > plen)
					continue;
				memcpy(&addr, p + d->ptrs[id].off[i], 8);
				if (addr)
					set_add(&d->addrs, addr);
			}
		}
		off += hdr + plen;
		st->events++;
		if (!st->oldest_ts || ts < st->oldest_ts)
			st->oldest_ts = ts;
		if (ts > st->newest_ts)
			st->newest_ts = ts;
		if (first && first_end) {
			*first_end = off;
			*first_ts = ts;
		}
		first = 0;
	}
	return 0;
}

static int spool(struct dat_cpu *c, const void *page)
{
	int ret = write_all(c->fd, page, GRB_FTRACE_PAGE_SIZE, (int64_t)c->size);

	if (ret)
		return ret;
	c->size += GRB_FTRACE_PAGE_SIZE;
	c->st.pages++;
	return 0;
}

int grb_ftrace_dat_add_page(struct grb_ftrace_dat *d, uint32_t cpu, const void *page,
			    uint64_t missed)
{
	unsigned char out[GRB_FTRACE_PAGE_SIZE];
	struct grb_ftrace_cpu_stats st;
	struct dat_cpu *c;
	uint64_t commit, ts, first_ts = 0, missed_in = missed;
	uint32_t len, first_end = 0;
	int ret;

	if (!d || !page)
		return -EINVAL;
	memcpy(out, page, GRB_FTRACE_PAGE_SIZE);
	memcpy(&ts, out, 8);
	memcpy(&commit, out + 8, 8);
	len = (uint32_t)(commit & GRB_FTRACE_COMMIT_MASK);
	if (commit != len || len > GRB_FTRACE_DATA_SIZE) {
		grb_error_set("ftrace dat: CPU %u page: commit 0x%llx is not a data size", cpu,
			      (unsigned long long)commit);
		return -EINVAL;
	}
	ret = cpu_get(d, cpu, &c);
	if (ret)
		return ret;
	st = c->st;
	if (walk(d, out + GRB_FTRACE_PAGE_HEADER_SIZE, len, ts, &st, &first_end, &first_ts)) {
		grb_error_set("ftrace dat: CPU %u page at %llu: a record overruns its data", cpu,
			      (unsigned long long)ts);
		return -EINVAL;
	}
	if (d->pids.oom || d->addrs.oom) {
		grb_error_set("ftrace dat: out of memory");
		return -ENOMEM;
	}
	memset(out + GRB_FTRACE_PAGE_HEADER_SIZE + len, 0, GRB_FTRACE_DATA_SIZE - len);
	if (missed && missed != UINT64_MAX && len + 8 > GRB_FTRACE_DATA_SIZE && first_end &&
	    first_end + 8 <= GRB_FTRACE_DATA_SIZE) {
		/* No room for the count after the data: the first data record
		 * goes alone into a page of its own, which reports the loss;
		 * the rest keeps its deltas from the clock where that record
		 * ends. */
		unsigned char head[GRB_FTRACE_PAGE_SIZE];
		uint64_t w = first_end | GRB_FTRACE_MISSED_EVENTS | GRB_FTRACE_MISSED_STORED;

		memset(head, 0, sizeof(head));
		memcpy(head, &ts, 8);
		memcpy(head + 8, &w, 8);
		memcpy(head + GRB_FTRACE_PAGE_HEADER_SIZE, out + GRB_FTRACE_PAGE_HEADER_SIZE,
		       first_end);
		memcpy(head + GRB_FTRACE_PAGE_HEADER_SIZE + first_end, &missed, 8);
		ret = spool(c, head);
		if (ret)
			goto io;
		len -= first_end;
		memmove(out + GRB_FTRACE_PAGE_HEADER_SIZE,
			out + GRB_FTRACE_PAGE_HEADER_SIZE + first_end, len);
		memset(out + GRB_FTRACE_PAGE_HEADER_SIZE + len, 0, first_end);
		memcpy(out, &first_ts, 8);
		commit = len;
		memcpy(out + 8, &commit, 8);
		st.overrun += missed;
		missed = 0;
	}
	if (missed) {
		commit = len | GRB_FTRACE_MISSED_EVENTS;
		if (missed != UINT64_MAX && len + 8 <= GRB_FTRACE_DATA_SIZE) {
			memcpy(out + GRB_FTRACE_PAGE_HEADER_SIZE + len, &missed, 8);
			commit |= GRB_FTRACE_MISSED_STORED;
		}
		memcpy(out + 8, &commit, 8);
		st.overrun += missed == UINT64_MAX ? 0 : missed;
	}
	ret = spool(c, out);
	if (ret)
		goto io;
	st.pages = c->st.pages;
	st.bytes += len;
	c->st = st;
	if (d->attr.on_page)
		d->attr.on_page(d->attr.on_page_arg, cpu, page, missed_in);
	return 0;
io:
	grb_error_set("ftrace dat: spool of CPU %u: %s", cpu, strerror(-ret));
	return ret;
}

/* The source of ch: found, or added with a consuming reader per stream. */
static int source_get(struct grb_ftrace_dat *d, struct grb_channel *ch, struct dat_source **out)
{
	struct dat_source *srcs, *src;
	uint32_t i, n;
	int ret;

	for (i = 0; i < d->nr_srcs; i++)
		if (d->srcs[i].ch == ch) {
			*out = &d->srcs[i];
			return 0;
		}
	srcs = (struct dat_source *)realloc(d->srcs, (d->nr_srcs + 1) * sizeof(*srcs));
	if (!srcs) {
		grb_error_set("ftrace dat: out of memory");
		return -ENOMEM;
	}
	d->srcs = srcs;
	src = &srcs[d->nr_srcs];
	n = grb_channel_nr_streams(ch);
	src->streams = (struct dat_stream *)calloc(n ? n : 1, sizeof(*src->streams));
	if (!src->streams) {
		grb_error_set("ftrace dat: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct grb_stream_stats ss;

		src->streams[i].cpu = i;
		if (!grb_channel_read_stream_stats(ch, i, &ss) && ss.cpu != UINT32_MAX)
			src->streams[i].cpu = ss.cpu;
		src->streams[i].r = grb_reader_create(ch, i, 0);
		if (!src->streams[i].r) {
			ret = -errno;
			while (i--)
				grb_reader_destroy(src->streams[i].r);
			free(src->streams);
			return ret;
		}
	}
	src->ch = ch;
	src->nr_streams = n;
	d->nr_srcs++;
	*out = src;
	return 0;
}

int grb_ftrace_dat_drain(struct grb_ftrace_dat *d, struct grb_channel *ch)
{
	struct dat_source *src = NULL;
	uint32_t i, k;
	int ret;

	if (!d || !ch) {
		grb_error_set("ftrace dat drain: no writer or channel");
		return -EINVAL;
	}
	ret = source_get(d, ch, &src);
	if (ret)
		return ret;
	for (i = 0; i < src->nr_streams; i++) {
		struct dat_stream *s = &src->streams[i];
		struct grb_stream_stats ss;
		struct grb_packet pkt;
		struct dat_cpu *c;

		while ((ret = grb_reader_get_next(s->r, &pkt)) == 0 || ret == -EPROTO) {
			uint64_t missed = 0;

			if (ret == -EPROTO)
				continue; /* counted corrupt_records: the gap reports it */
			if (pkt.header_size != GRB_FTRACE_PAGE_HEADER_SIZE ||
			    pkt.info.packet_size != GRB_FTRACE_PAGE_SIZE) {
				grb_reader_put(s->r, &pkt);
				grb_error_set("ftrace dat drain: packets of %llu bytes with a "
					      "%u-byte header are not ftrace pages "
					      "(GRB_FTRACE_CONFIG, grb_ftrace_channel_attr_init)",
					      (unsigned long long)pkt.info.packet_size,
					      pkt.header_size);
				return -EINVAL;
			}
			if (pkt.info.seq != (s->started ? s->next_seq : 0)) {
				uint64_t lost;

				/* Packets overwritten (or skipped as corrupt) since
				 * the last one: their records, as the stream counted
				 * them so far (exact once the writers are done). */
				grb_channel_read_stream_stats(ch, i, &ss);
				lost = ss.lost[GRB_LOST_OVERWRITTEN] + ss.corrupt_records;
				missed = lost > s->accounted ? lost - s->accounted : UINT64_MAX;
				s->accounted = lost;
			}
			s->started = 1;
			s->next_seq = pkt.info.seq + 1;
			ret = grb_ftrace_dat_add_page(d, s->cpu, pkt.data, missed);
			grb_reader_put(s->r, &pkt);
			if (ret)
				return ret;
		}
		if (ret != -EAGAIN && ret != -ENODATA)
			return ret;
		if (!grb_channel_read_stream_stats(ch, i, &ss)) {
			int j;

			s->lost = 0;
			for (j = 0; j < GRB_LOST_NR; j++)
				if (j != GRB_LOST_OVERWRITTEN)
					s->lost += ss.lost[j];
		}
		/* A CPU's other losses: those of its streams in every channel. */
		if (!cpu_get(d, s->cpu, &c)) {
			uint32_t m, j;

			c->st.lost = 0;
			for (k = 0; k < d->nr_srcs; k++)
				for (m = 0; m < d->srcs[k].nr_streams; m++) {
					j = d->srcs[k].streams[m].cpu;
					if (j == s->cpu)
						c->st.lost += d->srcs[k].streams[m].lost;
				}
		}
	}
	return 0;
}

int grb_ftrace_dat_add_task(struct grb_ftrace_dat *d, int32_t pid, const char *comm)
{
	if (!d || !comm)
		return -EINVAL;
	if (d->nr_tasks == d->cap_tasks) {
		size_t cap = d->cap_tasks ? d->cap_tasks * 2 : 64;
		struct task_name *t = (struct task_name *)realloc(d->tasks, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		d->tasks = t;
		d->cap_tasks = cap;
	}
	d->tasks[d->nr_tasks].pid = pid;
	memset(d->tasks[d->nr_tasks].comm, 0, 16);
	strncpy(d->tasks[d->nr_tasks].comm, comm, 15);
	d->nr_tasks++;
	return 0;
}

int grb_ftrace_dat_cpu_stats(const struct grb_ftrace_dat *d, uint32_t cpu,
			     struct grb_ftrace_cpu_stats *st)
{
	if (!d || !st || cpu >= MAX_CPUS)
		return -EINVAL;
	if (cpu >= d->nr_cpus)
		memset(st, 0, sizeof(*st));
	else
		*st = d->cpus[cpu].st;
	return 0;
}

/* The file's headers. */

static void put16(struct ft_buf *b, uint16_t v)
{
	ft_buf_add(b, &v, 2);
}

static void put32(struct ft_buf *b, uint32_t v)
{
	ft_buf_add(b, &v, 4);
}

static void put64(struct ft_buf *b, uint64_t v)
{
	ft_buf_add(b, &v, 8);
}

static int set_has(const struct u64_set *s, uint64_t v)
{
	size_t i, mask = s->cap - 1;

	v += 1;
	if (!s->cap || !v)
		return 0;
	for (i = (size_t)(v * 0x9e3779b97f4a7c15ull) & mask; s->v[i]; i = (i + 1) & mask)
		if (s->v[i] == v)
			return 1;
	return 0;
}

struct sym {
	uint64_t start;
	char name[128];
};

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = (const struct sym *)a, *y = (const struct sym *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int symbolize_dladdr(void *arg, uint64_t addr, uint64_t *start, char *name, size_t size)
{
	Dl_info info;

	(void)arg;
	if (!dladdr((void *)(uintptr_t)addr, &info) || !info.dli_sname || !info.dli_saddr)
		return -1;
	*start = (uint64_t)(uintptr_t)info.dli_saddr;
	snprintf(name, size, "%s", info.dli_sname);
	return 0;
}

/* kallsyms lines ("%016llx T name\n") for every address the records
 * carry, one per function. */
static void put_kallsyms(struct grb_ftrace_dat *d, struct ft_buf *b)
{
	grb_ftrace_symbolize_fn fn = d->attr.symbolize ? d->attr.symbolize : symbolize_dladdr;
	struct ft_buf text = { 0 };
	struct sym *syms = NULL;
	size_t n = 0, i, j;

	if (d->addrs.n)
		syms = (struct sym *)calloc(d->addrs.n, sizeof(*syms));
	for (i = 0; syms && i < d->addrs.cap; i++) {
		uint64_t addr = d->addrs.v[i];

		if (!addr)
			continue;
		addr -= 1;
		if (fn(d->attr.symbolize_arg, addr, &syms[n].start, syms[n].name,
		       sizeof(syms[n].name)) == 0) {
			syms[n].name[sizeof(syms[n].name) - 1] = 0;
			/* A name with a blank would break the line. */
			for (j = 0; syms[n].name[j]; j++)
				if (syms[n].name[j] == ' ' || syms[n].name[j] == '\t' ||
				    syms[n].name[j] == '\n')
					syms[n].name[j] = '_';
			if (syms[n].name[0] && syms[n].start <= addr)
				n++;
		}
	}
	if (n)
		qsort(syms, n, sizeof(*syms), sym_cmp);
	for (i = 0; i < n; i++)
		if (!i || syms[i].start != syms[i - 1].start)
			ft_buf_printf(&text, "%016llx T %s\n", (unsigned long long)syms[i].start,
				      syms[i].name);
	free(syms);
	if (text.oom)
		b->oom = 1;
	put32(b, (uint32_t)text.len);
	ft_buf_add(b, text.p, text.len);
	ft_buf_free(&text);
}

static int task_seen(void *arg, int32_t tid, const char *comm)
{
	void **a = (void **)arg;
	struct grb_ftrace_dat *d = (struct grb_ftrace_dat *)a[0];
	struct ft_buf *b = (struct ft_buf *)a[1];

	if (set_has(&d->pids, (uint64_t)(uint32_t)tid))
		ft_buf_printf(b, "%d %s\n", tid, comm);
	return 0;
}

static void put_cmdlines(struct grb_ftrace_dat *d, struct ft_buf *b)
{
	struct ft_buf text = { 0 };
	void *arg[2] = { d, &text };
	size_t i;

	/* Registered threads first, then the names given: a reader keeps
	 * the last line of a pid. */
	ft_tasks_collect(task_seen, arg);
	for (i = 0; i < d->nr_tasks; i++)
		ft_buf_printf(&text, "%d %s\n", d->tasks[i].pid, d->tasks[i].comm);
	if (text.oom)
		b->oom = 1;
	put64(b, text.len);
	ft_buf_add(b, text.p, text.len);
	ft_buf_free(&text);
}

static void put_option(struct ft_buf *b, uint16_t id, const void *data, uint32_t len)
{
	put16(b, id);
	put32(b, len);
	ft_buf_add(b, data, len);
}

/* Whether user event i is the first of its system (grb's is written
 * first, with lost_events). */
static int first_of_system(const struct grb_ftrace_dat *d, uint32_t i)
{
	uint32_t j;

	if (!strcmp(d->events[i]->system, "grb"))
		return 0;
	for (j = 0; j < i; j++)
		if (!strcmp(d->events[j]->system, d->events[i]->system))
			return 0;
	return 1;
}

/* Everything before the page data, with the CPU table filled for data
 * starting at the first page boundary after it. */
static int build_header(struct grb_ftrace_dat *d, struct ft_buf *b, uint32_t cpus)
{
	static const char magic[] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g', '6', 0 };
	char clock_text[64];
	struct utsname u;
	uint32_t i, j, nsys = 1;
	uint64_t at;
	size_t table;
	uint8_t byte;

	ft_buf_add(b, magic, sizeof(magic));
	byte = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	ft_buf_add(b, &byte, 1);
	byte = 8; /* long: the page header's commit word is a u64 */
	ft_buf_add(b, &byte, 1);
	put32(b, GRB_FTRACE_PAGE_SIZE);
	ft_buf_add(b, "header_page", 12);
	put64(b, strlen(ft_header_page));
	ft_buf_add(b, ft_header_page, strlen(ft_header_page));
	ft_buf_add(b, "header_event", 13);
	put64(b, strlen(ft_header_event));
	ft_buf_add(b, ft_header_event, strlen(ft_header_event));

	/* ftrace's own events, then the systems: grb, then the user's. */
	put32(b, 3);
	for (i = 0; i < ft_nr_builtins; i++)
		if (!strcmp(ft_builtins[i].system, "ftrace")) {
			put64(b, strlen(ft_builtins[i].format));
			ft_buf_add(b, ft_builtins[i].format, strlen(ft_builtins[i].format));
		}
	for (i = 0; i < d->attr.nr_events; i++)
		if (first_of_system(d, i))
			nsys++;
	put32(b, nsys);
	for (i = 0; i <= d->attr.nr_events; i++) {
		const char *sys = i ? d->events[i - 1]->system : "grb";
		uint32_t count = !strcmp(sys, "grb");

		if (i && !first_of_system(d, i - 1))
			continue; /* written with the first event of its system */
		for (j = 0; j < d->attr.nr_events; j++)
			count += !strcmp(d->events[j]->system, sys);
		ft_buf_add(b, sys, strlen(sys) + 1);
		put32(b, count);
		if (!strcmp(sys, "grb")) {
			const char *f = ft_builtins[ft_nr_builtins - 1].format;

			put64(b, strlen(f));
			ft_buf_add(b, f, strlen(f));
		}
		for (j = 0; j < d->attr.nr_events; j++) {
			char *f;

			if (strcmp(d->events[j]->system, sys))
				continue;
			f = grb_ftrace_event_format(d->events[j]);
			if (!f)
				return -errno;
			put64(b, strlen(f));
			ft_buf_add(b, f, strlen(f));
			free(f);
		}
	}
	put_kallsyms(d, b);
	put32(b, 0); /* printk formats */
	put_cmdlines(d, b);
	put32(b, cpus);

	ft_buf_add(b, "options  ", 10);
	snprintf(clock_text, sizeof(clock_text), "[%s]\n", d->clock);
	put_option(b, 4, clock_text, (uint32_t)strlen(clock_text) + 1); /* TRACECLOCK */
	if (!uname(&u)) {
		struct ft_buf un = { 0 };

		ft_buf_printf(&un, "%s %s %s %s %s", u.sysname, u.nodename, u.release, u.version,
			      u.machine);
		ft_buf_add(&un, "", 1);
		if (!un.oom)
			put_option(b, 5, un.p, (uint32_t)un.len); /* UNAME */
		ft_buf_free(&un);
	}
	for (i = 0; i < cpus; i++) {
		const struct grb_ftrace_cpu_stats *st = &d->cpus[i].st;
		struct ft_buf s = { 0 };

		ft_buf_printf(&s,
			      "CPU: %u\nentries: %llu\noverrun: %llu\ncommit overrun: 0\n"
			      "bytes: %llu\noldest event ts: %llu.%06llu\nnow ts: %llu.%06llu\n"
			      "dropped events: %llu\nread events: %llu\n",
			      i, (unsigned long long)st->events, (unsigned long long)st->overrun,
			      (unsigned long long)st->bytes,
			      (unsigned long long)(st->oldest_ts / 1000000000u),
			      (unsigned long long)(st->oldest_ts % 1000000000u / 1000u),
			      (unsigned long long)(st->newest_ts / 1000000000u),
			      (unsigned long long)(st->newest_ts % 1000000000u / 1000u),
			      (unsigned long long)st->lost, (unsigned long long)st->events);
		ft_buf_add(&s, "", 1);
		if (!s.oom)
			put_option(b, 2, s.p, (uint32_t)s.len); /* CPUSTAT */
		ft_buf_free(&s);
	}
	put16(b, 0);
	ft_buf_add(b, "flyrecord", 10);
	table = b->len;
	for (i = 0; i < cpus; i++) {
		put64(b, 0);
		put64(b, 0);
	}
	/* The trace_clock text again (read when TRACECLOCK is present). */
	put64(b, strlen(clock_text));
	ft_buf_add(b, clock_text, strlen(clock_text));
	if (b->oom)
		return -ENOMEM;
	at = (b->len + GRB_FTRACE_PAGE_SIZE - 1) & ~(uint64_t)(GRB_FTRACE_PAGE_SIZE - 1);
	for (i = 0; i < cpus; i++) {
		uint64_t size = d->cpus[i].size;

		memcpy(b->p + table + 16 * i, &at, 8);
		memcpy(b->p + table + 16 * i + 8, &size, 8);
		at += size;
	}
	return 0;
}

int grb_ftrace_dat_write(struct grb_ftrace_dat *d, int fd)
{
	struct ft_buf b = { 0 };
	char zero[GRB_FTRACE_PAGE_SIZE], *buf = NULL;
	uint32_t cpus, i;
	int ret;

	if (!d || fd < 0)
		return -EINVAL;
	cpus = d->attr.nr_cpus ? d->attr.nr_cpus : d->used_cpus;
	if (cpus < d->used_cpus)
		cpus = d->used_cpus;
	if (!cpus)
		cpus = 1;
	if (cpus > d->nr_cpus) {
		struct dat_cpu *c;

		/* CPUs without pages: in the table with no data. */
		ret = cpu_get(d, cpus - 1, &c);
		if (ret)
			return ret;
		d->used_cpus = cpus;
	}
	ret = build_header(d, &b, cpus);
	if (ret) {
		ft_buf_free(&b);
		grb_error_set("ftrace dat: %s", strerror(-ret));
		return ret;
	}
	ret = write_all(fd, b.p, b.len, -1);
	memset(zero, 0, sizeof(zero));
	if (!ret && (b.len & (GRB_FTRACE_PAGE_SIZE - 1)))
		ret = write_all(fd, zero,
				GRB_FTRACE_PAGE_SIZE - (b.len & (GRB_FTRACE_PAGE_SIZE - 1)), -1);
	ft_buf_free(&b);
	buf = (char *)malloc(64 * GRB_FTRACE_PAGE_SIZE);
	if (!ret && !buf)
		ret = -ENOMEM;
	for (i = 0; !ret && i < cpus; i++) {
		struct dat_cpu *c = &d->cpus[i];
		uint64_t off = 0;

		while (!ret && off < c->size) {
			size_t want = c->size - off < 64 * GRB_FTRACE_PAGE_SIZE ?
					      (size_t)(c->size - off) :
					      64 * GRB_FTRACE_PAGE_SIZE;
			ssize_t n = pread(c->fd, buf, want, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ret = n < 0 ? -errno : -EIO;
				break;
			}
			ret = write_all(fd, buf, (size_t)n, -1);
			off += (uint64_t)n;
		}
	}
	free(buf);
	if (ret)
		grb_error_set("ftrace dat: writing the file: %s", strerror(-ret));
	return ret;
}

int grb_ftrace_dat_save(struct grb_ftrace_dat *d, const char *path)
{
	int fd, ret;

	if (!d || !path)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		grb_error_set("ftrace dat: creating %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = grb_ftrace_dat_write(d, fd);
	if (close(fd) && !ret) {
		ret = -errno;
		grb_error_set("ftrace dat: closing %s: %s", path, strerror(-ret));
	}
	return ret;
}
