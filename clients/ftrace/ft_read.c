// SPDX-License-Identifier: MIT
/*
 * ft_read.c - reading a trace.dat (version 6) back: the headers, the
 * event formats, kallsyms, saved_cmdlines, the options and the per-CPU
 * pages, then the events of every CPU merged by time, printed as ftrace's
 * trace file prints them or as its function_graph tracer does.
 *
 * The file is untrusted input: every length and offset is checked against
 * what is left, every text is parsed with bounds, and an error names what
 * is wrong and where (grb_last_error()).  Nothing is read past the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/ftrace.h>

#include "ft_internal.h"

#define MAX_NAME 64
#define MAX_FIELDS 256
#define MAX_EVENTS 65536u
#define MAX_CPUS 4096u
#define MAX_TEXT (64u << 20)

enum { ARG_FIELD = 1, ARG_STR };

struct rd_field {
	char name[MAX_NAME];
	uint32_t offset, size;
	int is_signed;
	int data_loc; /* __data_loc: u32 (len << 16 | offset) */
	int chars; /* a char array: a string of at most size bytes, or to the end */
};

struct rd_arg {
	int kind;
	int field; /* index */
};

struct rd_event {
	char system[MAX_NAME];
	char name[MAX_NAME];
	uint32_t id;
	uint32_t nr_fields;
	struct rd_field *fields;
	char *fmt; /* the format string, unescaped; NULL: print the fields */
	uint32_t nr_args;
	struct rd_arg *args;
};

struct rd_sym {
	uint64_t addr;
	char *name;
};

struct rd_comm {
	int32_t pid;
	char *comm;
};

struct rd_cpu {
	const unsigned char *data;
	uint64_t size;
	uint64_t page; /* the next page to load */
	const unsigned char *pg; /* the page loaded, or NULL */
	uint32_t off, end; /* in the page's data */
	uint64_t ts;
	uint64_t missed; /* reported with the next event */
	int have; /* next is valid */
	struct grb_ftrace_entry next;
};

struct grb_ftrace_file {
	const unsigned char *buf;
	size_t len;
	void *owned; /* grb_ftrace_file_load's copy */
	int swap; /* the file's byte order is not the host's */
	int big; /* the file is big-endian */
	uint32_t long_size, page_size, data_start;
	struct rd_event *events;
	uint32_t nr_events;
	int32_t *by_id; /* MAX_EVENTS entries: index + 1, 0 none */
	struct rd_sym *syms;
	size_t nr_syms;
	struct rd_comm *comms;
	size_t nr_comms;
	char *texts; /* the kallsyms and cmdlines copies the above point into */
	char *texts2;
	char clock[32];
	uint32_t nr_cpus;
	struct rd_cpu *cpus;
};

/* Reading the buffer. */

struct cur {
	const struct grb_ftrace_file *f;
	size_t off;
	int err;
};

static uint16_t sw16(const struct grb_ftrace_file *f, uint16_t v)
{
	return f->swap ? (uint16_t)(v >> 8 | v << 8) : v;
}

static uint32_t sw32(const struct grb_ftrace_file *f, uint32_t v)
{
	return f->swap ? __builtin_bswap32(v) : v;
}

static uint64_t sw64(const struct grb_ftrace_file *f, uint64_t v)
{
	return f->swap ? __builtin_bswap64(v) : v;
}

static int fail(const struct cur *c, const char *what)
{
	grb_error_set("trace.dat: offset %zu: %s", c->off, what);
	return -EPROTO;
}

/* Take n bytes; NULL (and c->err) when fewer are left. */
static const unsigned char *take(struct cur *c, uint64_t n, const char *what)
{
	const unsigned char *p;

	if (c->err)
		return NULL;
	if (n > c->f->len - c->off) {
		c->err = fail(c, what);
		return NULL;
	}
	p = c->f->buf + c->off;
	c->off += (size_t)n;
	return p;
}

static uint16_t get16(struct cur *c, const char *what)
{
	const unsigned char *p = take(c, 2, what);
	uint16_t v = 0;

	if (p)
		memcpy(&v, p, 2);
	return sw16(c->f, v);
}

static uint32_t get32(struct cur *c, const char *what)
{
	const unsigned char *p = take(c, 4, what);
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, 4);
	return sw32(c->f, v);
}

static uint64_t get64(struct cur *c, const char *what)
{
	const unsigned char *p = take(c, 8, what);
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, 8);
	return sw64(c->f, v);
}

static uint64_t rd_word(const struct grb_ftrace_file *f, const unsigned char *p, uint32_t size)
{
	uint64_t v = 0;

	if (size == 8) {
		memcpy(&v, p, 8);
		return sw64(f, v);
	}
	{
		uint32_t w;

		memcpy(&w, p, 4);
		return sw32(f, w);
	}
}

/* A NUL-terminated copy of n bytes (NULL: out of memory). */
static char *dup_text(const unsigned char *p, size_t n)
{
	char *s = (char *)malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Text parsing: lines of a NUL-terminated copy. */

static const char *skip_blank(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int is_ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* The number after key (e.g. "offset:") in line; -1 when absent or not a
 * number below 2^31. */
static long num_after(const char *line, const char *eol, const char *key)
{
	size_t kl = strlen(key);
	const char *p;
	long v = 0;
	int digits = 0;

	for (p = line; p + kl <= eol; p++)
		if (!strncmp(p, key, kl))
			break;
	if (p + kl > eol)
		return -1;
	for (p += kl; p < eol && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 0x7fffffffL)
			return -1;
		digits++;
	}
	return digits ? v : -1;
}

/* "\tfield:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:G;" */
static int parse_field(const char *line, const char *eol, struct rd_field *fd)
{
	const char *semi = memchr(line, ';', (size_t)(eol - line));
	const char *e, *b;
	long off, size, sign;

	memset(fd, 0, sizeof(*fd));
	if (!semi)
		return -1;
	e = semi;
	while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e > line && e[-1] == ']') {
		/* An array: "name[N]" or "name[]". */
		while (e > line && e[-1] != '[')
			e--;
		if (e == line)
			return -1;
		e--;
	}
	b = e;
	while (b > line && is_ident_char(b[-1]))
		b--;
	if (b == e || (size_t)(e - b) >= MAX_NAME)
		return -1;
	memcpy(fd->name, b, (size_t)(e - b));
	off = num_after(semi, eol, "offset:");
	size = num_after(semi, eol, "size:");
	sign = num_after(semi, eol, "signed:");
	if (off < 0 || size < 0 || off > 65536 || size > 65536)
		return -1;
	fd->offset = (uint32_t)off;
	fd->size = (uint32_t)size;
	fd->is_signed = sign > 0;
	{
		const char *t = skip_blank(line);

		fd->data_loc = !strncmp(t, "__data_loc", 10);
		fd->chars = !fd->data_loc && memchr(b, '[', (size_t)(semi - b)) &&
			    ((size_t)(b - t) >= 4 && strstr(t, "char") && strstr(t, "char") < b);
	}
	return 0;
}

/* Parses the print fmt text after "print fmt: ": a C string, then
 * ", arg" items of the forms REC->f, (cast)REC->f, __get_str(f).
 * Anything else leaves ev->fmt NULL (the fields are printed instead). */
static void parse_print_fmt(struct rd_event *ev, const char *s, const char *eol)
{
	char *fmt;
	size_t n = 0;
	uint32_t cap = 16;

	s = skip_blank(s);
	if (s >= eol || *s != '"')
		return;
	fmt = (char *)malloc((size_t)(eol - s) + 1);
	if (!fmt)
		return;
	for (s++; s < eol && *s != '"'; s++) {
		if (*s == '\\' && s + 1 < eol) {
			s++;
			fmt[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
		} else {
			fmt[n++] = *s;
		}
	}
	fmt[n] = 0;
	if (s >= eol) {
		free(fmt);
		return;
	}
	ev->args = (struct rd_arg *)calloc(cap, sizeof(*ev->args));
	if (!ev->args) {
		free(fmt);
		return;
	}
	for (s++;;) {
		const char *a, *ae, *name;
		size_t nl;
		uint32_t i;
		int kind = ARG_FIELD;

		s = skip_blank(s);
		if (s >= eol)
			break;
		if (*s != ',')
			goto bad;
		a = skip_blank(s + 1);
		ae = a;
		{
			int depth = 0;

			while (ae < eol && (depth || *ae != ',')) {
				if (*ae == '(')
					depth++;
				else if (*ae == ')')
					depth--;
				ae++;
			}
		}
		s = ae;
		while (ae > a && (ae[-1] == ' ' || ae[-1] == '\t'))
			ae--;
		if (ae - a > 10 && !strncmp(a, "__get_str(", 10) && ae[-1] == ')') {
			kind = ARG_STR;
			name = a + 10;
			nl = (size_t)(ae - 1 - name);
		} else {
			if (*a == '(') {
				const char *close = memchr(a, ')', (size_t)(ae - a));

				if (!close)
					goto bad;
				a = skip_blank(close + 1);
			}
			if (ae - a < 6 || strncmp(a, "REC->", 5))
				goto bad;
			name = a + 5;
			nl = (size_t)(ae - name);
		}
		for (i = 0; i < ev->nr_fields; i++)
			if (strlen(ev->fields[i].name) == nl &&
			    !strncmp(ev->fields[i].name, name, nl))
				break;
		if (i == ev->nr_fields || nl == 0)
			goto bad;
		if (ev->nr_args == cap) {
			struct rd_arg *na =
				(struct rd_arg *)realloc(ev->args, 2 * cap * sizeof(*ev->args));

			if (!na)
				goto bad;
			ev->args = na;
			cap *= 2;
		}
		ev->args[ev->nr_args].kind = kind;
		ev->args[ev->nr_args].field = (int)i;
		ev->nr_args++;
	}
	ev->fmt = fmt;
	return;
bad:
	free(fmt);
	free(ev->args);
	ev->args = NULL;
	ev->nr_args = 0;
}

/* One format file (n bytes at p) of system sys. */
static int parse_event(struct grb_ftrace_file *f, struct cur *c, const char *sys,
		       const unsigned char *p, uint64_t n)
{
	struct rd_event ev;
	char *text, *line, *end;
	long id = -1;
	int ret = 0;

	if (n > MAX_TEXT)
		return fail(c, "an event format larger than 64 MiB");
	text = dup_text(p, (size_t)n);
	if (!text)
		return -ENOMEM;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.system, sizeof(ev.system), "%s", sys);
	ev.fields = (struct rd_field *)calloc(MAX_FIELDS, sizeof(*ev.fields));
	if (!ev.fields) {
		free(text);
		return -ENOMEM;
	}
	end = text + strlen(text);
	for (line = text; line < end;) {
		char *eol = strchr(line, '\n');
		const char *t;

		if (!eol)
			eol = end;
		t = skip_blank(line);
		if (!strncmp(t, "name:", 5)) {
			const char *v = skip_blank(t + 5);
			size_t l = 0;

			while (v + l < eol && is_ident_char(v[l]))
				l++;
			if (!l || l >= MAX_NAME) {
				ret = fail(c, "an event format without a valid name");
				goto out;
			}
			memcpy(ev.name, v, l);
		} else if (!strncmp(t, "ID:", 3)) {
			id = num_after(t, eol, "ID: ");
			if (id < 0)
				id = num_after(t, eol, "ID:");
		} else if (!strncmp(t, "field:", 6)) {
			if (ev.nr_fields == MAX_FIELDS) {
				ret = fail(c, "an event with more than 256 fields");
				goto out;
			}
			if (parse_field(t + 6, eol, &ev.fields[ev.nr_fields])) {
				ret = fail(c, "a malformed field line in an event format");
				goto out;
			}
			ev.nr_fields++;
		} else if (!strncmp(t, "print fmt:", 10)) {
			parse_print_fmt(&ev, t + 10, eol);
		}
		line = eol + (eol < end);
	}
	if (!ev.name[0] || id < 0 || id >= (long)MAX_EVENTS) {
		ret = fail(c, "an event format without a name or an ID below 65536");
		goto out;
	}
	ev.id = (uint32_t)id;
	if (f->by_id[ev.id]) {
		ret = fail(c, "two event formats with the same ID");
		goto out;
	}
	f->events[f->nr_events] = ev;
	f->by_id[ev.id] = (int32_t)++f->nr_events;
	free(text);
	return 0;
out:
	free(ev.fields);
	free(ev.fmt);
	free(ev.args);
	free(text);
	return ret;
}

static int grow_events(struct grb_ftrace_file *f, uint64_t more)
{
	struct rd_event *e;

	if (more > MAX_EVENTS || f->nr_events + more > MAX_EVENTS)
		return -EPROTO;
	e = (struct rd_event *)realloc(f->events, (f->nr_events + more + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	f->events = e;
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct rd_sym *x = (const struct rd_sym *)a, *y = (const struct rd_sym *)b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* "%016llx T name [module]\n" lines. */
static int parse_kallsyms(struct grb_ftrace_file *f, const unsigned char *p, size_t n)
{
	char *text = dup_text(p, n), *line, *end;
	size_t cap = 0;

	if (!text)
		return -ENOMEM;
	f->texts = text;
	end = text + n;
	for (line = text; line < end;) {
		char *eol = memchr(line, '\n', (size_t)(end - line)), *q, *name;
		uint64_t addr = 0;
		int digits = 0;

		if (!eol)
			eol = end;
		*eol = 0;
		for (q = line;
		     digits < 16 && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
				     (*q >= 'A' && *q <= 'F'));
		     q++, digits++)
			addr = addr << 4 |
			       (uint64_t)(*q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10);
		if (digits && *q == ' ' && q[1] && q[2] == ' ' && q[3]) {
			name = q + 3;
			q = name;
			while (*q && *q != ' ' && *q != '\t')
				q++;
			*q = 0;
			if (f->nr_syms == cap) {
				struct rd_sym *s;

				cap = cap ? 2 * cap : 64;
				s = (struct rd_sym *)realloc(f->syms, cap * sizeof(*s));
				if (!s)
					return -ENOMEM;
				f->syms = s;
			}
			f->syms[f->nr_syms].addr = addr;
			f->syms[f->nr_syms].name = name;
			f->nr_syms++;
		}
		line = eol + 1;
	}
	if (f->nr_syms)
		qsort(f->syms, f->nr_syms, sizeof(*f->syms), sym_cmp);
	return 0;
}

static int comm_cmp(const void *a, const void *b)
{
	const struct rd_comm *x = (const struct rd_comm *)a, *y = (const struct rd_comm *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x < y ? -1 : x > y; /* keep the file's order: the last line wins */
}

/* "pid comm\n" lines. */
static int parse_cmdlines(struct grb_ftrace_file *f, const unsigned char *p, size_t n)
{
	char *text = dup_text(p, n), *line, *end;
	size_t cap = 0;

	if (!text)
		return -ENOMEM;
	f->texts2 = text;
	end = text + n;
	for (line = text; line < end;) {
		char *eol = memchr(line, '\n', (size_t)(end - line)), *q = line;
		long pid = 0;
		int neg = 0, digits = 0;

		if (!eol)
			eol = end;
		*eol = 0;
		if (*q == '-')
			neg = 1, q++;
		for (; *q >= '0' && *q <= '9' && digits < 10; q++, digits++)
			pid = pid * 10 + (*q - '0');
		if (digits && *q == ' ' && q[1] && pid <= 0x7fffffffL) {
			if (f->nr_comms == cap) {
				struct rd_comm *cm;

				cap = cap ? 2 * cap : 64;
				cm = (struct rd_comm *)realloc(f->comms, cap * sizeof(*cm));
				if (!cm)
					return -ENOMEM;
				f->comms = cm;
			}
			f->comms[f->nr_comms].pid = (int32_t)(neg ? -pid : pid);
			f->comms[f->nr_comms].comm = q + 1;
			f->nr_comms++;
		}
		line = eol + 1;
	}
	if (f->nr_comms)
		qsort(f->comms, f->nr_comms, sizeof(*f->comms), comm_cmp);
	return 0;
}

const char *grb_ftrace_file_comm(const struct grb_ftrace_file *f, int32_t pid)
{
	size_t lo = 0, hi = f ? f->nr_comms : 0;
	const char *found = "<...>";

	/* The last of the lines of pid. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->comms[mid].pid <= pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && f->comms[lo - 1].pid == pid)
		found = f->comms[lo - 1].comm;
	return found;
}

const char *grb_ftrace_file_symbol(const struct grb_ftrace_file *f, uint64_t addr)
{
	size_t lo = 0, hi = f ? f->nr_syms : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? f->syms[lo - 1].name : NULL;
}

void grb_ftrace_file_close(struct grb_ftrace_file *f)
{
	uint32_t i;

	if (!f)
		return;
	for (i = 0; i < f->nr_events; i++) {
		free(f->events[i].fields);
		free(f->events[i].fmt);
		free(f->events[i].args);
	}
	free(f->events);
	free(f->by_id);
	free(f->syms);
	free(f->comms);
	free(f->texts);
	free(f->texts2);
	free(f->cpus);
	free(f->owned);
	free(f);
}

/* Check the header_page text: the commit field's size is the long size. */
static int parse_header_page(struct grb_ftrace_file *f, struct cur *c, const unsigned char *p,
			     uint64_t n)
{
	char *text, *line, *end;
	long commit = -1, ts = -1;

	if (n > 65536)
		return fail(c, "a header_page larger than 64 KiB");
	text = dup_text(p, (size_t)n);
	if (!text)
		return -ENOMEM;
	end = text + strlen(text);
	for (line = text; line < end;) {
		char *eol = strchr(line, '\n');
		struct rd_field fd;
		const char *t;

		if (!eol)
			eol = end;
		t = skip_blank(line);
		if (!strncmp(t, "field:", 6) && !parse_field(t + 6, eol, &fd)) {
			if (!strcmp(fd.name, "commit"))
				commit = fd.size;
			else if (!strcmp(fd.name, "timestamp") && fd.offset == 0)
				ts = fd.size;
		}
		line = eol + (eol < end);
	}
	free(text);
	if (ts != 8 || (commit != 4 && commit != 8))
		return fail(c, "header_page: no 8-byte timestamp at 0 and 4- or 8-byte commit");
	f->long_size = (uint32_t)commit;
	f->data_start = 8 + f->long_size;
	return 0;
}

static int parse(struct grb_ftrace_file *f)
{
	static const unsigned char magic[10] = {
		0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'
	};
	struct cur c = { f, 0, 0 };
	const unsigned char *p;
	uint64_t n;
	uint32_t i, j, count, nsys;
	int ret, have_clock = 0;

	p = take(&c, 10, "shorter than the magic");
	if (!p || memcmp(p, magic, 10))
		return c.err ? c.err : fail(&c, "not a trace.dat (bad magic)");
	p = take(&c, 2, "no version");
	if (!p)
		return c.err;
	if (p[0] != '6' || p[1] != 0) {
		grb_error_set("trace.dat: version \"%.*s\": only version 6 is read", p[1] ? 2 : 1,
			      (const char *)p);
		return -EPROTONOSUPPORT;
	}
	p = take(&c, 2, "no byte order and long size");
	if (!p)
		return c.err;
	if (p[0] > 1)
		return fail(&c, "byte order is neither 0 nor 1");
	f->big = p[0];
	f->swap = f->big != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
	f->page_size = get32(&c, "no page size");
	if (c.err)
		return c.err;
	if (f->page_size < 64 || f->page_size > (1u << 24) || (f->page_size & (f->page_size - 1)))
		return fail(&c, "a page size that is not a power of two from 64 to 16 MiB");
	p = take(&c, 12, "no header_page");
	if (!p || memcmp(p, "header_page", 12))
		return c.err ? c.err : fail(&c, "no header_page");
	n = get64(&c, "no header_page size");
	p = take(&c, n, "header_page runs past the end");
	if (!p)
		return c.err;
	ret = parse_header_page(f, &c, p, n);
	if (ret)
		return ret;
	if (f->data_start + 8 > f->page_size)
		return fail(&c, "a page smaller than its header");
	p = take(&c, 13, "no header_event");
	if (!p || memcmp(p, "header_event", 13))
		return c.err ? c.err : fail(&c, "no header_event");
	n = get64(&c, "no header_event size");
	if (!take(&c, n, "header_event runs past the end"))
		return c.err;

	f->by_id = (int32_t *)calloc(MAX_EVENTS, sizeof(*f->by_id));
	if (!f->by_id)
		return -ENOMEM;
	count = get32(&c, "no ftrace event count");
	if (c.err)
		return c.err;
	if (grow_events(f, count))
		return fail(&c, "too many ftrace events");
	for (i = 0; i < count; i++) {
		n = get64(&c, "no event format size");
		p = take(&c, n, "an event format runs past the end");
		if (!p)
			return c.err;
		ret = parse_event(f, &c, "ftrace", p, n);
		if (ret)
			return ret;
	}
	nsys = get32(&c, "no system count");
	for (i = 0; !c.err && i < nsys; i++) {
		char sys[MAX_NAME];
		size_t k;

		for (k = 0; k < sizeof(sys); k++) {
			p = take(&c, 1, "a system name runs past the end");
			if (!p)
				return c.err;
			sys[k] = (char)*p;
			if (!*p)
				break;
		}
		if (k == sizeof(sys))
			return fail(&c, "a system name longer than 63 bytes");
		count = get32(&c, "no event count");
		if (c.err)
			return c.err;
		if (grow_events(f, count))
			return fail(&c, "too many events");
		for (j = 0; j < count; j++) {
			n = get64(&c, "no event format size");
			p = take(&c, n, "an event format runs past the end");
			if (!p)
				return c.err;
			ret = parse_event(f, &c, sys, p, n);
			if (ret)
				return ret;
		}
	}
	n = get32(&c, "no kallsyms size");
	p = take(&c, n, "kallsyms runs past the end");
	if (!p)
		return c.err;
	ret = parse_kallsyms(f, p, (size_t)n);
	if (ret)
		return ret;
	n = get32(&c, "no printk formats size");
	if (!take(&c, n, "printk formats run past the end"))
		return c.err;
	n = get64(&c, "no saved_cmdlines size");
	p = take(&c, n, "saved_cmdlines runs past the end");
	if (!p)
		return c.err;
	ret = parse_cmdlines(f, p, (size_t)n);
	if (ret)
		return ret;
	f->nr_cpus = get32(&c, "no CPU count");
	if (c.err)
		return c.err;
	if (f->nr_cpus == 0 || f->nr_cpus > MAX_CPUS)
		return fail(&c, "a CPU count that is 0 or over 4096");
	p = take(&c, 10, "nothing after the CPU count");
	if (!p)
		return c.err;
	if (!memcmp(p, "options  ", 10)) {
		for (;;) {
			uint16_t id = get16(&c, "the options run past the end");
			uint32_t size;

			if (c.err)
				return c.err;
			if (!id)
				break;
			size = get32(&c, "an option without a size");
			p = take(&c, size, "an option runs past the end");
			if (!p)
				return c.err;
			if (id == 4) { /* TRACECLOCK: "... [name] ..." */
				const unsigned char *b = memchr(p, '[', size), *e;

				if (b && (e = memchr(b, ']', size - (size_t)(b - p))) &&
				    (size_t)(e - b) < sizeof(f->clock)) {
					memcpy(f->clock, b + 1, (size_t)(e - b - 1));
					f->clock[e - b - 1] = 0;
					have_clock = 1;
				}
			}
		}
		p = take(&c, 10, "nothing after the options");
		if (!p)
			return c.err;
	}
	if (!memcmp(p, "latency  ", 10)) {
		grb_error_set("trace.dat: latency (text) data is not read");
		return -EPROTONOSUPPORT;
	}
	if (memcmp(p, "flyrecord", 10))
		return fail(&c, "neither flyrecord nor latency data");
	f->cpus = (struct rd_cpu *)calloc(f->nr_cpus, sizeof(*f->cpus));
	if (!f->cpus)
		return -ENOMEM;
	for (i = 0; i < f->nr_cpus; i++) {
		uint64_t off = get64(&c, "the CPU table runs past the end");
		uint64_t size = get64(&c, "the CPU table runs past the end");

		if (c.err)
			return c.err;
		if (off > f->len || size > f->len - off || (size % f->page_size)) {
			grb_error_set("trace.dat: CPU %u: data at %llu of %llu bytes is not whole "
				      "pages inside the file of %zu bytes",
				      i, (unsigned long long)off, (unsigned long long)size, f->len);
			return -EPROTO;
		}
		f->cpus[i].data = f->buf + off;
		f->cpus[i].size = size;
	}
	(void)have_clock;
	return 0;
}

/* Whether the clock counts nanoseconds (the times print as seconds). */
static int clock_is_ns(const struct grb_ftrace_file *f)
{
	static const char *const ns[] = {
		"local", "global", "uptime", "perf", "x86-tsc-nsec", "tai"
	};
	size_t i;

	if (!f->clock[0] || !strncmp(f->clock, "mono", 4))
		return 1;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (!strcmp(f->clock, ns[i]))
			return 1;
	return 0;
}

int grb_ftrace_file_open(const void *buf, size_t len, struct grb_ftrace_file **out)
{
	struct grb_ftrace_file *f;
	int ret;

	if (!out || (!buf && len)) {
		grb_error_set("trace.dat: no buffer");
		return -EINVAL;
	}
	*out = NULL;
	f = (struct grb_ftrace_file *)calloc(1, sizeof(*f));
	if (!f)
		goto oom;
	f->buf = (const unsigned char *)buf;
	f->len = len;
	ret = parse(f);
	if (ret) {
		grb_ftrace_file_close(f);
		if (ret == -ENOMEM)
			goto oom;
		return ret;
	}
	*out = f;
	return 0;
oom:
	grb_error_set("trace.dat: out of memory");
	return -ENOMEM;
}

int grb_ftrace_file_load(const char *path, struct grb_ftrace_file **out)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, ret;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		grb_error_set("%s: %s", path, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX / 2) {
		close(fd);
		grb_error_set("%s: not a regular file", path);
		return -EINVAL;
	}
	buf = (char *)malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		grb_error_set("%s: out of memory", path);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	ret = grb_ftrace_file_open(buf, got, out);
	if (ret) {
		free(buf);
		return ret;
	}
	(*out)->owned = buf;
	return 0;
}

uint32_t grb_ftrace_file_cpus(const struct grb_ftrace_file *f)
{
	return f ? f->nr_cpus : 0;
}

/* Events of one CPU. */

static int page_error(struct rd_cpu *c, uint32_t cpu, const char *what)
{
	grb_error_set("trace.dat: CPU %u page %llu: %s", cpu, (unsigned long long)(c->page - 1),
		      what);
	c->pg = NULL; /* the rest of the page is skipped */
	return -EPROTO;
}

/* Loads the next event of CPU i into c->next.  Return 0 (c->have says
 * whether there is one) or -EPROTO. */
static int cpu_advance(struct grb_ftrace_file *f, uint32_t i)
{
	struct rd_cpu *c = &f->cpus[i];

	c->have = 0;
	for (;;) {
		const unsigned char *d;
		uint32_t w, type, delta, hdr, plen;
		uint64_t a;

		if (!c->pg) {
			uint64_t commit;

			if (c->page * f->page_size >= c->size)
				return 0;
			c->pg = c->data + c->page * f->page_size;
			c->page++;
			memcpy(&c->ts, c->pg, 8);
			c->ts = sw64(f, c->ts);
			commit = rd_word(f, c->pg + 8, f->long_size);
			c->off = 0;
			c->end = (uint32_t)(commit & GRB_FTRACE_COMMIT_MASK);
			if (c->end > f->page_size - f->data_start)
				return page_error(c, i, "commit larger than the page");
			if (commit & GRB_FTRACE_MISSED_EVENTS) {
				uint64_t m = UINT64_MAX;

				if ((commit & GRB_FTRACE_MISSED_STORED) &&
				    c->end + f->long_size <= f->page_size - f->data_start)
					m = rd_word(f, c->pg + f->data_start + c->end,
						    f->long_size);
				if (c->missed == UINT64_MAX || m == UINT64_MAX)
					c->missed = UINT64_MAX;
				else
					c->missed += m;
			}
		}
		if (c->off >= c->end) {
			c->pg = NULL;
			continue;
		}
		d = c->pg + f->data_start;
		if (c->end - c->off < 4)
			return page_error(c, i, "a record header cut by the end of the data");
		memcpy(&w, d + c->off, 4);
		w = sw32(f, w);
		if (f->big) {
			type = w >> 27;
			delta = w & GRB_FTRACE_DELTA_MAX;
		} else {
			type = w & 31u;
			delta = w >> 5;
		}
		if (type >= GRB_FTRACE_TYPE_PADDING || type == 0) {
			uint32_t x;

			if (c->end - c->off < 8)
				return page_error(c, i, "a record cut by the end of the data");
			memcpy(&x, d + c->off + 4, 4);
			a = sw32(f, x);
		} else {
			a = 0;
		}
		if (type == GRB_FTRACE_TYPE_TIME_EXTEND) {
			c->ts += a << GRB_FTRACE_DELTA_BITS | delta;
			c->off += 8;
			continue;
		}
		if (type == GRB_FTRACE_TYPE_TIME_STAMP) {
			c->ts = (a << GRB_FTRACE_DELTA_BITS | delta) | (c->ts & (0x1full << 59));
			c->off += 8;
			continue;
		}
		if (type == GRB_FTRACE_TYPE_PADDING) {
			if (a > c->end - c->off - 4)
				return page_error(c, i, "a padding record longer than the data");
			c->ts += delta;
			c->off += 4 + (uint32_t)a;
			continue;
		}
		if (type == 0) {
			if (a < 4)
				return page_error(c, i, "a record length below 4");
			hdr = 8;
			plen = (uint32_t)((a - 4 + 3) & ~3ull);
			if (a - 4 > c->end - c->off - 8)
				return page_error(c, i, "a record longer than the data");
		} else {
			hdr = 4;
			plen = type * 4;
		}
		if (plen > c->end - c->off - hdr)
			return page_error(c, i, "a record longer than the data");
		if (plen < GRB_FTRACE_COMMON_SIZE)
			return page_error(c, i, "a record without its common fields");
		c->ts += delta;
		c->next.ts = c->ts;
		c->next.cpu = i;
		c->next.data = d + c->off + hdr;
		c->next.size = plen;
		{
			uint16_t id;
			int32_t pid;

			memcpy(&id, c->next.data, 2);
			memcpy(&pid, c->next.data + 4, 4);
			c->next.id = sw16(f, id);
			c->next.pid = (int32_t)sw32(f, (uint32_t)pid);
		}
		c->next.missed = c->missed;
		c->missed = 0;
		c->off += hdr + plen;
		c->have = 1;
		return 0;
	}
}

int grb_ftrace_file_next(struct grb_ftrace_file *f, struct grb_ftrace_entry *e)
{
	uint32_t i, best = UINT32_MAX;

	if (!f || !e)
		return -EINVAL;
	for (i = 0; i < f->nr_cpus; i++) {
		struct rd_cpu *c = &f->cpus[i];

		if (!c->have) {
			int ret = cpu_advance(f, i);

			if (ret)
				return ret;
		}
		if (c->have && (best == UINT32_MAX || c->next.ts < f->cpus[best].next.ts))
			best = i;
	}
	if (best == UINT32_MAX)
		return -ENODATA;
	*e = f->cpus[best].next;
	f->cpus[best].have = 0;
	return 0;
}

/* Formatting. */

static const struct rd_event *event_of(const struct grb_ftrace_file *f, uint32_t id)
{
	if (id >= MAX_EVENTS || !f->by_id[id])
		return NULL;
	return &f->events[f->by_id[id] - 1];
}

/* The field's value, sign-extended; 0 when it is outside the record. */
static uint64_t field_val(const struct grb_ftrace_file *f, const struct rd_field *fd,
			  const struct grb_ftrace_entry *e)
{
	const unsigned char *p = e->data + fd->offset;
	uint64_t v = 0;

	if (fd->offset > e->size || fd->size > e->size - fd->offset)
		return 0;
	switch (fd->size) {
	case 1:
		v = *p;
		if (fd->is_signed)
			v = (uint64_t)(int64_t)(int8_t)v;
		break;
	case 2: {
		uint16_t x;

		memcpy(&x, p, 2);
		v = sw16(f, x);
		if (fd->is_signed)
			v = (uint64_t)(int64_t)(int16_t)v;
		break;
	}
	case 4: {
		uint32_t x;

		memcpy(&x, p, 4);
		v = sw32(f, x);
		if (fd->is_signed)
			v = (uint64_t)(int64_t)(int32_t)v;
		break;
	}
	case 8:
		memcpy(&v, p, 8);
		v = sw64(f, v);
		break;
	default:
		break;
	}
	return v;
}

/* The text of a string field: its bytes up to a NUL or its end. */
static void field_str(const struct grb_ftrace_file *f, const struct rd_field *fd,
		      const struct grb_ftrace_entry *e, const char **s, size_t *n)
{
	uint32_t off = fd->offset, len = fd->size;
	const unsigned char *nul;

	*s = "";
	*n = 0;
	if (fd->data_loc) {
		uint64_t v = field_val(f, fd, e);

		off = (uint32_t)(v & 0xffff);
		len = (uint32_t)(v >> 16 & 0xffff);
	} else if (fd->size == 0) {
		len = off <= e->size ? e->size - off : 0; /* char buf[]: to the end */
	}
	if (off > e->size || len > e->size - off)
		return;
	nul = memchr(e->data + off, 0, len);
	*s = (const char *)e->data + off;
	*n = nul ? (size_t)(nul - (e->data + off)) : len;
}

struct out {
	char *buf;
	size_t size, len;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t k = o->size - o->len - 1 < n ? o->size - o->len - 1 : n;

		memcpy(o->buf + o->len, s, k);
		o->buf[o->len + k] = 0;
	}
	o->len += n;
}

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_add(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void print_symbol(const struct grb_ftrace_file *f, struct out *o, uint64_t v, int offset)
{
	const char *name = grb_ftrace_file_symbol(f, v);

	if (!name) {
		out_printf(o, "0x%llx", (unsigned long long)v);
		return;
	}
	out_add(o, name, strlen(name));
	if (offset) {
		size_t lo = 0, hi = f->nr_syms;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (f->syms[mid].addr <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		out_printf(o, "+0x%llx", (unsigned long long)(v - f->syms[lo - 1].addr));
	}
}

/* The fields as name=value, when the print fmt is beyond this reader. */
static void print_fields(const struct grb_ftrace_file *f, const struct rd_event *ev,
			 const struct grb_ftrace_entry *e, struct out *o)
{
	uint32_t i, shown = 0;

	for (i = 0; i < ev->nr_fields; i++) {
		const struct rd_field *fd = &ev->fields[i];
		uint64_t v;

		if (!strncmp(fd->name, "common_", 7))
			continue;
		out_printf(o, "%s%s=", shown++ ? " " : "", fd->name);
		if (fd->data_loc || fd->chars) {
			const char *s;
			size_t n;

			field_str(f, fd, e, &s, &n);
			out_add(o, s, n);
			continue;
		}
		v = field_val(f, fd, e);
		if (fd->is_signed)
			out_printf(o, "%lld", (long long)v);
		else
			out_printf(o, "%llu", (unsigned long long)v);
	}
}

/* Prints through ev's format; returns -1 where the format is beyond this
 * reader (then nothing is to be kept). */
static int print_fmt(const struct grb_ftrace_file *f, const struct rd_event *ev,
		     const struct grb_ftrace_entry *e, struct out *o)
{
	const char *p = ev->fmt;
	uint32_t argi = 0;

	while (*p) {
		char spec[32];
		size_t sl = 0;
		int lmod = 0;
		char conv;
		const struct rd_field *fd;
		const struct rd_arg *arg;

		if (*p != '%') {
			const char *q = strchr(p, '%');
			size_t n = q ? (size_t)(q - p) : strlen(p);

			out_add(o, p, n);
			p += n;
			continue;
		}
		if (p[1] == '%') {
			out_add(o, "%", 1);
			p += 2;
			continue;
		}
		spec[sl++] = *p++;
		while (*p && strchr("-+ #0", *p) && sl < 8)
			spec[sl++] = *p++;
		while (*p >= '0' && *p <= '9' && sl < 16)
			spec[sl++] = *p++;
		if (*p == '.') {
			spec[sl++] = *p++;
			while (*p >= '0' && *p <= '9' && sl < 24)
				spec[sl++] = *p++;
		}
		while (*p == 'l' || *p == 'h' || *p == 'z') {
			lmod += *p == 'h' ? -1 : 1;
			p++;
		}
		conv = *p;
		if (!conv || !strchr("diuxXcsp", conv) || argi >= ev->nr_args)
			return -1;
		p++;
		arg = &ev->args[argi++];
		fd = &ev->fields[arg->field];
		if (conv == 's') {
			const char *s;
			size_t n;

			if (arg->kind == ARG_FIELD && !fd->chars && !fd->data_loc)
				return -1;
			field_str(f, fd, e, &s, &n);
			spec[sl++] = '.';
			spec[sl++] = '*';
			spec[sl++] = 's';
			spec[sl] = 0;
			{
				char tmp[4096];
				int k = snprintf(tmp, sizeof(tmp), spec, (int)n, s);

				if (k > 0)
					out_add(o, tmp,
						(size_t)k < sizeof(tmp) ? (size_t)k :
									  sizeof(tmp) - 1);
			}
			continue;
		}
		if (arg->kind != ARG_FIELD || fd->data_loc || fd->chars)
			return -1;
		if (conv == 'p') {
			uint64_t v = field_val(f, fd, e);

			if (*p == 's' || *p == 'S' || *p == 'f' || *p == 'F') {
				print_symbol(f, o, v, *p == 'S' || *p == 'F');
				p++;
			} else {
				out_printf(o, "0x%llx", (unsigned long long)v);
			}
			continue;
		}
		{
			uint64_t v = field_val(f, fd, e);
			int is_signed = conv == 'd' || conv == 'i';

			spec[sl++] = 'l';
			spec[sl++] = 'l';
			spec[sl++] = conv == 'i' ? 'd' : conv;
			spec[sl] = 0;
			if (conv == 'c') {
				char ch = (char)v;

				out_add(o, &ch, 1);
				continue;
			}
			/* The length modifier's width, as printf would take it. */
			if (lmod <= -2)
				v = is_signed ? (uint64_t)(int64_t)(int8_t)v : (uint8_t)v;
			else if (lmod == -1)
				v = is_signed ? (uint64_t)(int64_t)(int16_t)v : (uint16_t)v;
			else if (lmod == 0)
				v = is_signed ? (uint64_t)(int64_t)(int32_t)v : (uint32_t)v;
			if (is_signed)
				out_printf(o, spec, (long long)v);
			else
				out_printf(o, spec, (unsigned long long)v);
		}
	}
	return argi == ev->nr_args ? 0 : -1;
}

size_t grb_ftrace_file_format(const struct grb_ftrace_file *f, const struct grb_ftrace_entry *e,
			      char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	const struct rd_event *ev;

	if (size)
		buf[0] = 0;
	if (!f || !e)
		return 0;
	ev = event_of(f, e->id);
	if (!ev) {
		out_printf(&o, "[UNKNOWN EVENT %u]", e->id);
		return o.len;
	}
	out_add(&o, ev->name, strlen(ev->name));
	out_add(&o, ": ", 2);
	if (ev->fmt) {
		size_t start = o.len;

		if (print_fmt(f, ev, e, &o) == 0)
			return o.len;
		o.len = start;
		if (size && start < size)
			buf[start] = 0;
	}
	print_fields(f, ev, e, &o);
	return o.len;
}

/* The views. */

static void print_time(FILE *out, uint64_t ts, unsigned int flags, int ns_clock)
{
	if (!ns_clock)
		fprintf(out, "%12llu", (unsigned long long)ts);
	else if (flags & GRB_FTRACE_SHOW_NS)
		fprintf(out, "%5llu.%09llu", (unsigned long long)(ts / 1000000000u),
			(unsigned long long)(ts % 1000000000u));
	else {
		uint64_t us = (ts + 500) / 1000; /* to the nearest microsecond */

		fprintf(out, "%5llu.%06llu", (unsigned long long)(us / 1000000u),
			(unsigned long long)(us % 1000000u));
	}
}

static void print_missed(FILE *out, const struct grb_ftrace_entry *e)
{
	if (e->missed == UINT64_MAX)
		fprintf(out, "CPU:%u [EVENTS DROPPED]\n", e->cpu);
	else if (e->missed)
		fprintf(out, "CPU:%u [%llu EVENTS DROPPED]\n", e->cpu,
			(unsigned long long)e->missed);
}

static void show_line(struct grb_ftrace_file *f, const struct grb_ftrace_entry *e, FILE *out,
		      unsigned int flags, char *text, size_t size)
{
	const char *colon;
	size_t name_len;

	grb_ftrace_file_format(f, e, text, size);
	fprintf(out, "%16s-%-5d [%03u] ", grb_ftrace_file_comm(f, e->pid), e->pid, e->cpu);
	print_time(out, e->ts, flags, clock_is_ns(f));
	/* "name: " padded to 20 columns, then the fields. */
	colon = strstr(text, ": ");
	name_len = colon ? (size_t)(colon - text) : strlen(text);
	fprintf(out, ": %.*s:", (int)name_len, text);
	fprintf(out, "%*s", name_len < 20 ? (int)(20 - name_len) : 0, "");
	fprintf(out, " %s\n", colon ? colon + 2 : "");
}

/* The function graph: funcgraph_entry and funcgraph_exit as ftrace's
 * function_graph tracer prints them, a leaf (an entry whose next event is
 * its own exit, on the same CPU and thread) on one line. */
struct graph_ids {
	uint32_t entry, exit;
	const struct rd_field *func, *depth, *xfunc, *xdepth, *calltime, *rettime;
};

static const struct rd_field *find_field(const struct rd_event *ev, const char *name)
{
	uint32_t i;

	for (i = 0; ev && i < ev->nr_fields; i++)
		if (!strcmp(ev->fields[i].name, name))
			return &ev->fields[i];
	return NULL;
}

static const struct rd_event *find_event(const struct grb_ftrace_file *f, const char *sys,
					 const char *name)
{
	uint32_t i;

	for (i = 0; i < f->nr_events; i++)
		if (!strcmp(f->events[i].system, sys) && !strcmp(f->events[i].name, name))
			return &f->events[i];
	return NULL;
}

static void graph_duration(FILE *out, uint64_t d)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu.%03llu us", (unsigned long long)(d / 1000),
		 (unsigned long long)(d % 1000));
	fprintf(out, "%c %12s  |  ",
		d > 1000000000ull ? '$' :
		d > 1000000ull	  ? '#' :
		d > 100000ull	  ? '!' :
		d > 10000ull	  ? '+' :
				    ' ',
		num);
}

static void graph_prefix(struct grb_ftrace_file *f, const struct grb_ftrace_entry *e, FILE *out)
{
	char task[40];

	snprintf(task, sizeof(task), "%s-%d", grb_ftrace_file_comm(f, e->pid), e->pid);
	fprintf(out, "%3u) %16s | ", e->cpu, task);
}

static void graph_func(struct grb_ftrace_file *f, FILE *out, uint64_t func)
{
	const char *name = grb_ftrace_file_symbol(f, func);

	if (name)
		fputs(name, out);
	else
		fprintf(out, "0x%llx", (unsigned long long)func);
}

static int show_graph(struct grb_ftrace_file *f, FILE *out, char *text, size_t size)
{
	const struct rd_event *ent = find_event(f, "ftrace", "funcgraph_entry");
	const struct rd_event *ext = find_event(f, "ftrace", "funcgraph_exit");
	struct graph_ids g = { 0 };
	struct grb_ftrace_entry e, nx;
	int have_next = 0, ret = 0, first_err = 0;

	g.entry = ent ? ent->id : UINT32_MAX;
	g.exit = ext ? ext->id : UINT32_MAX;
	g.func = find_field(ent, "func");
	g.depth = find_field(ent, "depth");
	g.xfunc = find_field(ext, "func");
	g.xdepth = find_field(ext, "depth");
	g.calltime = find_field(ext, "calltime");
	g.rettime = find_field(ext, "rettime");
	if (ent && (!g.func || !g.depth))
		g.entry = UINT32_MAX;
	if (ext && (!g.xfunc || !g.xdepth || !g.calltime || !g.rettime))
		g.exit = UINT32_MAX;
	fprintf(out, "# CPU  TASK/PID             DURATION                  FUNCTION CALLS\n"
		     "# |     |    |               |   |                     |   |   |   |\n");
	for (;;) {
		uint64_t depth, i;

		if (have_next) {
			e = nx;
			have_next = 0;
		} else {
			ret = grb_ftrace_file_next(f, &e);
			if (ret == -EPROTO) {
				fprintf(out, "# %s\n", grb_last_error());
				if (!first_err)
					first_err = ret;
				continue;
			}
			if (ret)
				break;
		}
		if (e.missed) {
			graph_prefix(f, &e, out);
			if (e.missed == UINT64_MAX)
				fprintf(out, "/* [EVENTS DROPPED] */\n");
			else
				fprintf(out, "/* [%llu EVENTS DROPPED] */\n",
					(unsigned long long)e.missed);
		}
		graph_prefix(f, &e, out);
		if (e.id == g.entry) {
			uint64_t func = field_val(f, g.func, &e);

			depth = field_val(f, g.depth, &e);
			ret = grb_ftrace_file_next(f, &nx);
			if (ret == 0) {
				have_next = 1;
			} else if (ret == -EPROTO) {
				fprintf(out, "# %s\n", grb_last_error());
				if (!first_err)
					first_err = ret;
			}
			if (have_next && nx.id == g.exit && nx.cpu == e.cpu && nx.pid == e.pid &&
			    field_val(f, g.xfunc, &nx) == func && !nx.missed) {
				graph_duration(out, field_val(f, g.rettime, &nx) -
							    field_val(f, g.calltime, &nx));
				for (i = 0; i < depth && i < 256; i++)
					fputs("  ", out);
				graph_func(f, out, func);
				fputs("();\n", out);
				have_next = 0;
			} else {
				fprintf(out, "%16s|  ", "");
				for (i = 0; i < depth && i < 256; i++)
					fputs("  ", out);
				graph_func(f, out, func);
				fputs("() {\n", out);
			}
		} else if (e.id == g.exit) {
			graph_duration(out,
				       field_val(f, g.rettime, &e) - field_val(f, g.calltime, &e));
			depth = field_val(f, g.xdepth, &e);
			for (i = 0; i < depth && i < 256; i++)
				fputs("  ", out);
			fputs("} /* ", out);
			graph_func(f, out, field_val(f, g.xfunc, &e));
			fputs(" */\n", out);
		} else {
			grb_ftrace_file_format(f, &e, text, size);
			fprintf(out, "%16s|  /* %s */\n", "", text);
		}
	}
	return first_err ? first_err : ret == -ENODATA ? 0 : ret;
}

int grb_ftrace_show(const void *buf, size_t len, FILE *out, unsigned int flags)
{
	struct grb_ftrace_file *f;
	struct grb_ftrace_entry e;
	size_t size = 65536;
	char *text;
	int ret, first_err = 0;

	if (!out)
		return -EINVAL;
	ret = grb_ftrace_file_open(buf, len, &f);
	if (ret)
		return ret;
	text = (char *)malloc(size);
	if (!text) {
		grb_ftrace_file_close(f);
		grb_error_set("trace.dat: out of memory");
		return -ENOMEM;
	}
	if (flags & GRB_FTRACE_SHOW_GRAPH) {
		ret = show_graph(f, out, text, size);
	} else {
		if (!(flags & GRB_FTRACE_SHOW_BODY))
			fprintf(out, "cpus=%u\n", f->nr_cpus);
		while ((ret = grb_ftrace_file_next(f, &e)) != -ENODATA) {
			if (ret) {
				/* A corrupt page: said, skipped; go on. */
				fprintf(out, "# %s\n", grb_last_error());
				if (!first_err)
					first_err = ret;
				continue;
			}
			print_missed(out, &e);
			show_line(f, &e, out, flags, text, size);
		}
		ret = first_err;
	}
	free(text);
	grb_ftrace_file_close(f);
	return ret;
}
