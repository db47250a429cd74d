// SPDX-License-Identifier: MIT
/*
 * chanfile.c - the description files of `grb record --buffers`
 * (chanfile.h): written through a temporary name and renamed, so a reader
 * sees a whole file or none; read back with every field checked, the
 * event descriptions by grb_session_events_decode().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/session.h>

#include "chanfile.h"

uint64_t chanfile_proc_start(int32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* After the command name (in parentheses, which may hold anything):
	 * field 3 is the state; the start time is field 22. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	/* A zombie has exited: it writes nothing and drains nothing. */
	if (strrchr(buf, ')')[2] == 'Z')
		return 0;
	return start ? (uint64_t)start : 1;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = (const char *)buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int chanfile_write(const char *dir, const struct chanfile_head *h, const void *events)
{
	char tmp[4096], path[4096];
	int fd, ret;

	snprintf(tmp, sizeof(tmp), "%s/.%s%s.tmp", dir, h->prefix, CHANFILE_SUFFIX);
	snprintf(path, sizeof(path), "%s/%s%s", dir, h->prefix, CHANFILE_SUFFIX);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, h, sizeof(*h));
	if (!ret)
		ret = write_all(fd, events, h->events_size);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/* A NUL-terminated, non-empty file-name string of at most size bytes. */
static int name_ok(const char *s, size_t size, int dots)
{
	size_t i, n = strnlen(s, size);

	if (n == 0 || n == size || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		      (dots && s[i] == '.')))
			return 0;
	return 1;
}

/* A NUL-terminated string of printable bytes. */
static int text_ok(const char *s, size_t size)
{
	size_t i, n = strnlen(s, size);

	if (n == size)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

#define BAD(...)                                  \
	do {                                      \
		snprintf(why, size, __VA_ARGS__); \
		return -EPROTO;                   \
	} while (0)

int chanfile_parse(const void *buf, size_t len, struct chanfile *c, char *why, size_t size)
{
	const struct chanfile_head *h;
	char want[CHANFILE_PREFIX_MAX + 16];
	size_t head = sizeof(*h);
	int ret;

	memset(c, 0, sizeof(*c));
	if (len < CHANFILE_HEAD_V1_SIZE)
		BAD("%zu bytes, shorter than a description's head (%zu)", len,
		    (size_t)CHANFILE_HEAD_V1_SIZE);
	/* Version 1 ends before the mode: discard (what it could be). */
	memcpy(&c->h, buf, CHANFILE_HEAD_V1_SIZE);
	h = &c->h;
	if (memcmp(h->magic, CHANFILE_MAGIC, sizeof(h->magic)))
		BAD("not a channel description (magic)");
	if (h->version == 1) {
		head = CHANFILE_HEAD_V1_SIZE;
		c->h.mode = GRB_MODE_DISCARD;
	} else if (h->version == CHANFILE_VERSION) {
		if (len < sizeof(*h))
			BAD("%zu bytes, shorter than a description's head (%zu)", len, sizeof(*h));
		memcpy(&c->h, buf, sizeof(*h));
	} else {
		BAD("description version %u, this grb reads 1 and %u", h->version,
		    CHANFILE_VERSION);
	}
	if (h->events_size > GRB_SESSION_EVENTS_MAX || h->size != head + h->events_size ||
	    h->size != len)
		BAD("%zu bytes, the head says %u with %u of events (at most %u)", len, h->size,
		    h->events_size, GRB_SESSION_EVENTS_MAX);
	if (h->mode != GRB_MODE_DISCARD && h->mode != GRB_MODE_OVERWRITE)
		BAD("mode %u: not discard (%u) nor overwrite (%u)", h->mode, GRB_MODE_DISCARD,
		    GRB_MODE_OVERWRITE);
	if (h->pid <= 0 || h->recorder_pid <= 0)
		BAD("pid %d, recorder %d", h->pid, h->recorder_pid);
	if (!h->nr_streams || h->nr_streams > GRB_SESSION_MAX_STREAMS || !pow2(h->subbuf_size) ||
	    !pow2(h->subbuf_count) || h->subbuf_size < 4096 || h->subbuf_size > (1u << 30) ||
	    h->subbuf_count > (1u << 16) ||
	    (h->wakeup != GRB_WAKEUP_NONE && h->wakeup != GRB_WAKEUP_WRITER))
		BAD("geometry %u streams of %u x %u bytes, wake-up %u", h->nr_streams,
		    h->subbuf_count, h->subbuf_size, h->wakeup);
	if (!name_ok(h->name, sizeof(h->name), 1) || !name_ok(h->prefix, sizeof(h->prefix), 1))
		BAD("a name is empty, unterminated or not a file name");
	if (!text_ok(h->program, sizeof(h->program)))
		BAD("the program's name is unterminated or not text");
	/* The prefix is the channel's name and the pid, as the program
	 * names its files (doc/session.md). */
	snprintf(want, sizeof(want), "%s_%d", h->name, h->pid);
	if (strncmp(h->prefix, want, strlen(want)) ||
	    (h->prefix[strlen(want)] && h->prefix[strlen(want)] != '.'))
		BAD("stream files %s_* are not of channel %s of process %d", h->prefix, h->name,
		    h->pid);
	ret = grb_session_events_decode((const unsigned char *)buf + head, h->events_size,
					h->nr_events, h->subbuf_size, &c->events);
	if (ret) {
		snprintf(why, size, "event descriptions: %s", grb_last_error());
		c->events = NULL;
		return ret;
	}
	c->events_raw = malloc(h->events_size ? h->events_size : 1);
	if (!c->events_raw) {
		chanfile_free(c);
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	memcpy(c->events_raw, (const unsigned char *)buf + head, h->events_size);
	return 0;
}

int chanfile_read(const char *dir, const char *file, struct chanfile *c, char *why, size_t size)
{
	char path[4096];
	struct stat st;
	void *buf;
	ssize_t n;
	int fd, ret;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, size, "cannot open: %s", strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)(sizeof(struct chanfile_head) + GRB_SESSION_EVENTS_MAX)) {
		close(fd);
		snprintf(why, size, "not a regular file, or larger than a description");
		return -EPROTO;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		snprintf(why, size, "cannot read it");
		return -EIO;
	}
	ret = chanfile_parse(buf, (size_t)n, c, why, size);
	free(buf);
	return ret;
}

int chanfile_claim(const char *dir, struct chanfile *c)
{
	c->h.version = CHANFILE_VERSION;
	c->h.size = (uint32_t)sizeof(c->h) + c->h.events_size;
	c->h.recorder_pid = (int32_t)getpid();
	c->h.recorder_start = chanfile_proc_start(c->h.recorder_pid);
	c->h._pad = 0;
	return chanfile_write(dir, &c->h, c->events_raw);
}

void chanfile_free(struct chanfile *c)
{
	if (c->events)
		grb_session_events_free(c->events, c->h.nr_events);
	c->events = NULL;
	free(c->events_raw);
	c->events_raw = NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **chanfile_list_dir(const char *dir, uint32_t *nr)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **nv;
	uint32_t n = 0;

	*nr = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		nv = (char **)realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup(e->d_name);
		if (v[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), by_name);
	*nr = n;
	return v;
}

void chanfile_names_free(char **names, uint32_t nr)
{
	uint32_t i;

	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

int chanfile_is_desc(const char *name)
{
	size_t n = strlen(name), m = strlen(CHANFILE_SUFFIX);

	return n > m && !strcmp(name + n - m, CHANFILE_SUFFIX);
}

int chanfile_described(char *const *names, uint32_t nr, const char *name)
{
	uint32_t i;

	for (i = 0; i < nr; i++) {
		size_t n = strlen(names[i]), m = strlen(CHANFILE_SUFFIX);

		if (!chanfile_is_desc(names[i]))
			continue;
		n -= m;
		if (!strncmp(name, names[i], n) && name[n] == '_' && name[n + 1] &&
		    strspn(name + n + 1, "0123456789") == strlen(name + n + 1))
			return 1;
	}
	return 0;
}

void chanfile_problem(struct chanfile_problems *p, const char *fmt, ...)
{
	char buf[512], **nl;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nl = (char **)realloc(p->line, (p->nr + 1) * sizeof(*nl));
	if (!nl)
		return;
	p->line = nl;
	p->line[p->nr] = strdup(buf);
	if (p->line[p->nr])
		p->nr++;
}

void chanfile_problems_print(const struct chanfile_problems *p, const char *head)
{
	uint32_t i;

	if (!p->nr)
		return;
	printf("%s\n", head);
	for (i = 0; i < p->nr; i++)
		printf("  %s\n", p->line[i]);
}

void chanfile_problems_free(struct chanfile_problems *p)
{
	chanfile_names_free(p->line, p->nr);
	p->line = NULL;
	p->nr = 0;
}
