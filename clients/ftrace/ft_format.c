// SPDX-License-Identifier: MIT
/*
 * ft_format.c - the texts a trace.dat carries about its records: the page
 * header and event header descriptions (as the kernel's tracefs shows
 * events/header_page and events/header_event for 64-bit longs), the
 * format files of the client's own events, and those generated from a
 * user event's description.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/client.h>
#include <grb/ftrace.h>

#include "ft_internal.h"

const char ft_header_page[] = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
			      "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
			      "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
			      "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;\n";

const char ft_header_event[] = "# compressed entry header\n"
			       "\ttype_len    :    5 bits\n"
			       "\ttime_delta  :   27 bits\n"
			       "\tarray       :   32 bits\n"
			       "\n"
			       "\tpadding     : type == 29\n"
			       "\ttime_extend : type == 30\n"
			       "\ttime_stamp : type == 31\n"
			       "\tdata max type_len  == 28\n";

#define COMMON_FIELDS                                                                  \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"         \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"         \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n" \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"

/* The layouts grb_ftrace_print(), grb_ftrace_func_entry(),
 * grb_ftrace_func_exit() and the record header's lost_events write. */
const struct ft_builtin ft_builtins[] = {
	{ "ftrace", "print", GRB_FTRACE_ID_PRINT,
	  "name: print\nID: 5\nformat:\n" COMMON_FIELDS "\n"
	  "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n"
	  "\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:1;\n"
	  "\nprint fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n" },
	{ "ftrace", "funcgraph_exit", GRB_FTRACE_ID_FUNCGRAPH_EXIT,
	  "name: funcgraph_exit\nID: 10\nformat:\n" COMMON_FIELDS "\n"
	  "\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n"
	  "\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n"
	  "\tfield:unsigned int overrun;\toffset:20;\tsize:4;\tsigned:0;\n"
	  "\tfield:unsigned long long calltime;\toffset:24;\tsize:8;\tsigned:0;\n"
	  "\tfield:unsigned long long rettime;\toffset:32;\tsize:8;\tsigned:0;\n"
	  "\nprint fmt: \"<-- %ps (%d) (start: %llx  end: %llx) over: %u\", (void *)REC->func, "
	  "REC->depth, REC->calltime, REC->rettime, REC->overrun\n" },
	{ "ftrace", "funcgraph_entry", GRB_FTRACE_ID_FUNCGRAPH_ENTRY,
	  "name: funcgraph_entry\nID: 11\nformat:\n" COMMON_FIELDS "\n"
	  "\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n"
	  "\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n"
	  "\nprint fmt: \"--> %ps (%d)\", (void *)REC->func, REC->depth\n" },
	{ "grb", "lost_events", GRB_FTRACE_ID_LOST,
	  "name: lost_events\nID: 30\nformat:\n" COMMON_FIELDS "\n"
	  "\tfield:u64 count;\toffset:8;\tsize:8;\tsigned:0;\n"
	  "\nprint fmt: \"%llu events lost\", REC->count\n" },
};
const uint32_t ft_nr_builtins = sizeof(ft_builtins) / sizeof(ft_builtins[0]);

void ft_buf_add(struct ft_buf *b, const void *data, size_t n)
{
	if (b->oom || !n)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = (char *)realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

void ft_buf_printf(struct ft_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		ft_buf_add(b, small, (size_t)n);
		return;
	}
	{
		char *big = (char *)malloc((size_t)n + 1);

		if (!big) {
			b->oom = 1;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		ft_buf_add(b, big, (size_t)n);
		free(big);
	}
}

void ft_buf_free(struct ft_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int is_ident(const char *s, size_t max)
{
	size_t i, n = s ? strlen(s) : 0;

	if (!n || n > max || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int ft_event_validate(const struct grb_ftrace_event *ev)
{
	uint32_t i, j, off = GRB_FTRACE_COMMON_SIZE;

	if (!ev) {
		grb_error_set("ftrace event: NULL");
		return -EINVAL;
	}
	if (!is_ident(ev->system, 64) || !is_ident(ev->name, 64)) {
		grb_error_set("ftrace event \"%s/%s\": a system and a name of 1 to 64 letters, "
			      "digits or '_' are needed",
			      ev->system ? ev->system : "(null)", ev->name ? ev->name : "(null)");
		return -EINVAL;
	}
	if (ev->id < GRB_FTRACE_MIN_USER_ID || ev->id > GRB_FTRACE_MAX_ID) {
		grb_error_set("ftrace event %s/%s: id %u is outside %u..%u", ev->system, ev->name,
			      ev->id, GRB_FTRACE_MIN_USER_ID, GRB_FTRACE_MAX_ID);
		return -EINVAL;
	}
	if (ev->nr_fields > 128 || (ev->nr_fields && !ev->fields)) {
		grb_error_set("ftrace event %s/%s: %u fields (at most 128)", ev->system, ev->name,
			      ev->nr_fields);
		return -EINVAL;
	}
	if (ev->print_fmt && strchr(ev->print_fmt, '\n')) {
		grb_error_set("ftrace event %s/%s: its print fmt has a newline", ev->system,
			      ev->name);
		return -EINVAL;
	}
	for (i = 0; i < ev->nr_fields; i++) {
		const struct grb_ftrace_field *f = &ev->fields[i];
		uint32_t size, align;

		if (!is_ident(f->name, 64) || !strncmp(f->name, "common_", 7)) {
			grb_error_set(
				"ftrace event %s/%s: field %u \"%s\" is not a name of 1 to 64 "
				"letters, digits or '_' (nor common_*)",
				ev->system, ev->name, i, f->name ? f->name : "(null)");
			return -EINVAL;
		}
		if (f->kind < GRB_FTRACE_U8 || f->kind > GRB_FTRACE_STRING ||
		    (f->kind == GRB_FTRACE_CHARS && (f->len < 1 || f->len > 2048))) {
			grb_error_set("ftrace event %s/%s: field %s has a bad kind or length",
				      ev->system, ev->name, f->name);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(ev->fields[j].name, f->name)) {
				grb_error_set("ftrace event %s/%s: field %s twice", ev->system,
					      ev->name, f->name);
				return -EINVAL;
			}
		_grb_ftrace_field_size(f, &size, &align);
		_grb_ftrace_place(&off, size, align);
	}
	if (off > GRB_FTRACE_DATA_SIZE - 16) {
		grb_error_set("ftrace event %s/%s: %u bytes of fields do not fit a page",
			      ev->system, ev->name, off);
		return -EINVAL;
	}
	return 0;
}

char *grb_ftrace_event_format(const struct grb_ftrace_event *ev)
{
	struct ft_buf b = { 0 };
	uint32_t i, off = GRB_FTRACE_COMMON_SIZE;
	int ret = ft_event_validate(ev);

	if (ret) {
		errno = -ret;
		return NULL;
	}
	ft_buf_printf(&b, "name: %s\nID: %u\nformat:\n%s\n", ev->name, ev->id, COMMON_FIELDS);
	for (i = 0; i < ev->nr_fields; i++) {
		const struct grb_ftrace_field *f = &ev->fields[i];
		static const char *const types[] = {
			[GRB_FTRACE_U8] = "u8",	  [GRB_FTRACE_U16] = "u16",
			[GRB_FTRACE_U32] = "u32", [GRB_FTRACE_U64] = "u64",
			[GRB_FTRACE_S8] = "s8",	  [GRB_FTRACE_S16] = "s16",
			[GRB_FTRACE_S32] = "s32", [GRB_FTRACE_S64] = "s64",
			[GRB_FTRACE_X64] = "u64", [GRB_FTRACE_PTR] = "unsigned long",
		};
		uint32_t size, align, at;
		int sign = f->kind >= GRB_FTRACE_S8 && f->kind <= GRB_FTRACE_S64;

		_grb_ftrace_field_size(f, &size, &align);
		at = _grb_ftrace_place(&off, size, align);
		if (f->kind == GRB_FTRACE_CHARS)
			ft_buf_printf(&b, "\tfield:char %s[%u];\toffset:%u;\tsize:%u;\tsigned:1;\n",
				      f->name, f->len, at, size);
		else if (f->kind == GRB_FTRACE_STRING)
			ft_buf_printf(
				&b,
				"\tfield:__data_loc char[] %s;\toffset:%u;\tsize:4;\tsigned:0;\n",
				f->name, at);
		else
			ft_buf_printf(&b, "\tfield:%s %s;\toffset:%u;\tsize:%u;\tsigned:%d;\n",
				      types[f->kind], f->name, at, size, sign);
	}
	ft_buf_printf(&b, "\nprint fmt: ");
	if (ev->print_fmt) {
		ft_buf_printf(&b, "%s", ev->print_fmt);
	} else {
		ft_buf_printf(&b, "\"");
		for (i = 0; i < ev->nr_fields; i++) {
			static const char *const conv[] = {
				[GRB_FTRACE_U8] = "%u",	     [GRB_FTRACE_U16] = "%u",
				[GRB_FTRACE_U32] = "%u",     [GRB_FTRACE_U64] = "%llu",
				[GRB_FTRACE_S8] = "%hhd",    [GRB_FTRACE_S16] = "%hd",
				[GRB_FTRACE_S32] = "%d",     [GRB_FTRACE_S64] = "%lld",
				[GRB_FTRACE_X64] = "0x%llx", [GRB_FTRACE_PTR] = "%ps",
				[GRB_FTRACE_CHARS] = "%s",   [GRB_FTRACE_STRING] = "%s",
			};

			ft_buf_printf(&b, "%s%s=%s", i ? " " : "", ev->fields[i].name,
				      conv[ev->fields[i].kind]);
		}
		ft_buf_printf(&b, "\"");
		for (i = 0; i < ev->nr_fields; i++) {
			const struct grb_ftrace_field *f = &ev->fields[i];

			if (f->kind == GRB_FTRACE_STRING)
				ft_buf_printf(&b, ", __get_str(%s)", f->name);
			else if (f->kind == GRB_FTRACE_PTR)
				ft_buf_printf(&b, ", (void *)REC->%s", f->name);

			else
				ft_buf_printf(&b, ", REC->%s", f->name);
		}
	}
	ft_buf_printf(&b, "\n");
	ft_buf_add(&b, "", 1);
	if (b.oom) {
		ft_buf_free(&b);
		grb_error_set("ftrace event format: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}
