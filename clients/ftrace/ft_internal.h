/* SPDX-License-Identifier: MIT */
/*
 * ft_internal.h - what the files of libgrb-ftrace share; not installed.
 */
#ifndef GRB_FT_INTERNAL_H
#define GRB_FT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <grb/ftrace.h>

/* ft_client.c: the threads that wrote events. */
#define FT_TASKS_MAX 8192u
struct ft_task {
	int32_t tid;
	char comm[16];
	uint32_t ready; /* published by [T1] */
};

/* Calls fn for each thread registered so far; stops at the first non-zero
 * return, which it returns. */
int ft_tasks_collect(int (*fn)(void *arg, int32_t tid, const char *comm), void *arg);

/* ft_format.c: the texts of a trace.dat's headers and formats. */
extern const char ft_header_page[];
extern const char ft_header_event[];

/* The client's own events: the ftrace system's and grb/lost_events. */
struct ft_builtin {
	const char *system;
	const char *name;
	uint32_t id;
	const char *format; /* the format file text */
};
extern const struct ft_builtin ft_builtins[];
extern const uint32_t ft_nr_builtins;

/* Validates ev (id range, names, fields); 0 or -EINVAL with the message set. */
int ft_event_validate(const struct grb_ftrace_event *ev);

/* A growing byte buffer. */
struct ft_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void ft_buf_add(struct ft_buf *b, const void *data, size_t n);
void ft_buf_printf(struct ft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ft_buf_free(struct ft_buf *b);

#endif /* GRB_FT_INTERNAL_H */
