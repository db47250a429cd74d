// SPDX-License-Identifier: MIT
/*
 * ctf_read.c - reading a trace back: the clock its metadata describes, and
 * the packet index of each stream (the format of ctf_index.h, which the
 * trace writer writes).
 *
 * The metadata is TSDL text.  Rather than search it for "freq = ", the
 * clock reader tokenizes it the way a TSDL parser does (comments, string
 * and character literals, nested blocks) and reads the assignments of the
 * one top-level clock block, so that text inside a comment, a description
 * or another block is never taken for the clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/ctf.h>

#include "ctf_index.h"

#define IDX_BUF_SIZE 4096u
_Static_assert(IDX_BUF_SIZE >= CTF_IDX_ENTRY_MAX, "a whole entry fits in the buffer");

/* The magic of a packetized metadata packet, as LTTng and babeltrace2 have
 * it, read in the host's byte order (either order is possible). */
#define METADATA_PACKET_MAGIC 0x75D11D57u
#define METADATA_PACKET_MAGIC_SWAPPED 0x571DD175u

/* read() until len bytes or the end of the file: the bytes read, or -errno. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* dir/<sub><name><suffix>, malloc'd; NULL with the message set. */
static char *path_in(const char *dir, const char *sub, const char *name, const char *suffix)
{
	char *p;

	if (asprintf(&p, "%s/%s%s%s", dir, sub, name, suffix) < 0) {
		grb_error_set("ctf read: out of memory");
		return NULL;
	}
	return p;
}

/* ------------------------------------------------------------------------ */
/* The clock */

/* The whole file at path, NUL-terminated, in *text (malloc'd), its length
 * in *len.  0 or -errno with the message set. */
static int read_text(const char *path, char **text, size_t *len)
{
	const size_t max = GRB_CTF_METADATA_MAX;
	struct stat sb;
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		grb_error_set("opening %s: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			/* The size is only a hint (the file may change): read to
			 * the end, one byte past the limit at most. */
			size_t want = cap ? cap * 2 : 4096;
			char *nb;

			if (!cap && !fstat(fd, &sb) && sb.st_size >= 0 &&
			    (uint64_t)sb.st_size >= want)
				want = (uint64_t)sb.st_size <= max ? (size_t)sb.st_size + 1 :
								     max + 1;
			if (want > max + 1)
				want = max + 1;
			if (n == want || (!cap && want > max)) {
				r = -EFBIG;
				grb_error_set("%s: larger than %zu MiB: not metadata", path,
					      max >> 20);
				break;
			}
			nb = (char *)realloc(buf, want + 1);
			if (!nb) {
				r = -ENOMEM;
				grb_error_set("ctf read: out of memory");
				break;
			}
			buf = nb;
			cap = want;
		}
		got = read_full(fd, buf + n, cap - n);
		if (got < 0) {
			r = (int)got;
			grb_error_set("reading %s: %s", path, strerror(-r));
			break;
		}
		n += (size_t)got;
		if (n < cap)
			break; /* the end of the file */
	}
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	buf[n] = 0;
	*text = buf;
	*len = n;
	return 0;
}

enum tok_type { TOK_END, TOK_IDENT, TOK_NUM, TOK_STRING, TOK_PUNCT };

struct tok {
	enum tok_type type;
	const char *s;
	size_t len;
	unsigned line;
};

struct lex {
	const char *p, *end;
	unsigned line;
	const char *path;
};

static int syntax_error(const struct lex *lx, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int syntax_error(const struct lex *lx, unsigned line, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	grb_error_set("%s:%u: %s", lx->path, line, what);
	return -EPROTO;
}

static int is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* The next token (comments skipped): 0, or -EPROTO with the message set. */
static int next_tok(struct lex *lx, struct tok *t)
{
	const char *p = lx->p, *end = lx->end;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
				   *p == '\f' || *p == '\v')) {
			if (*p == '\n')
				lx->line++;
			p++;
		}
		if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
			unsigned start = lx->line;

			for (p += 2; end - p >= 2 && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					lx->line++;
			if (end - p < 2)
				return syntax_error(lx, start, "unterminated comment");
			p += 2;
		} else if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
			while (p < end && *p != '\n')
				p++;
		} else {
			break;
		}
	}
	t->s = p;
	t->line = lx->line;
	if (p == end) {
		t->type = TOK_END;
	} else if (is_ident_start(*p) || (*p >= '0' && *p <= '9')) {
		/* A number takes its base prefix and suffixes along. */
		t->type = is_ident_start(*p) ? TOK_IDENT : TOK_NUM;
		while (p < end && is_ident_char(*p))
			p++;
	} else if (*p == '"' || *p == '\'') {
		char q = *p++;

		while (p < end && *p != q) {
			if (*p == '\\' && end - p >= 2)
				p++;
			if (*p == '\n')
				lx->line++;
			p++;
		}
		if (p >= end)
			return syntax_error(lx, t->line, "unterminated %s literal",
					    q == '"' ? "string" : "character");
		p++;
		t->type = TOK_STRING;
	} else {
		p++;
		t->type = TOK_PUNCT;
	}
	t->len = (size_t)(p - t->s);
	lx->p = p;
	return 0;
}

static int is_punct(const struct tok *t, char c)
{
	return t->type == TOK_PUNCT && t->s[0] == c;
}

static int is_word(const struct tok *t, const char *w)
{
	return t->type == TOK_IDENT && t->len == strlen(w) && !memcmp(t->s, w, t->len);
}

/*
 * After "<key> =": an integer literal (C syntax: decimal, 0x hex or 0
 * octal, u/l suffixes; a leading '-' when neg_ok) and the ';'.  The value
 * is returned as a sign and a magnitude.
 */
static int parse_int(struct lex *lx, const struct tok *key, int neg_ok, int *neg, uint64_t *mag)
{
	struct tok t;
	char buf[32], *endp;
	unsigned long long v;
	size_t n;
	int r;

	*neg = 0;
	r = next_tok(lx, &t);
	if (r)
		return r;
	if (neg_ok && is_punct(&t, '-')) {
		*neg = 1;
		r = next_tok(lx, &t);
		if (r)
			return r;
	}
	if (t.type != TOK_NUM || t.len >= sizeof(buf))
		return syntax_error(lx, t.line, "clock %.*s: expected an integer", (int)key->len,
				    key->s);
	n = t.len;
	while (n > 1 &&
	       (t.s[n - 1] == 'u' || t.s[n - 1] == 'U' || t.s[n - 1] == 'l' || t.s[n - 1] == 'L'))
		n--;
	memcpy(buf, t.s, n);
	buf[n] = 0;
	errno = 0;
	v = strtoull(buf, &endp, 0);
	if (*endp || endp == buf)
		return syntax_error(lx, t.line, "clock %.*s: expected an integer", (int)key->len,
				    key->s);
	if (errno == ERANGE)
		return syntax_error(lx, t.line, "clock %.*s: out of range", (int)key->len, key->s);
	r = next_tok(lx, &t);
	if (r)
		return r;
	if (!is_punct(&t, ';'))
		return syntax_error(lx, t.line, "clock %.*s: expected ';' after the value",
				    (int)key->len, key->s);
	*mag = v;
	return 0;
}

/* Skip the rest of a statement: to its ';' outside nested braces. */
static int skip_statement(struct lex *lx, const struct tok *key)
{
	struct tok t;
	int depth = 0, r;

	for (;;) {
		r = next_tok(lx, &t);
		if (r)
			return r;
		if (t.type == TOK_END)
			return syntax_error(lx, key->line, "clock %.*s: no ';' before the end",
					    (int)key->len, key->s);
		if (is_punct(&t, '{')) {
			depth++;
		} else if (is_punct(&t, '}')) {
			if (!depth)
				return syntax_error(lx, t.line, "clock %.*s: no ';' before '}'",
						    (int)key->len, key->s);
			depth--;
		} else if (!depth && is_punct(&t, ';')) {
			return 0;
		}
	}
}

/* The body of a clock block, after its '{', up to and with the "};". */
static int parse_clock(struct lex *lx, unsigned start, struct grb_ctf_clock_info *clk)
{
	int have_freq = 0, have_offset_s = 0, have_offset = 0, r;

	clk->freq = 1000000000u;
	clk->offset_s = 0;
	clk->offset = 0;
	for (;;) {
		struct tok t, eq;
		uint64_t mag;
		int neg;

		r = next_tok(lx, &t);
		if (r)
			return r;
		if (t.type == TOK_END)
			return syntax_error(lx, start, "clock block not closed");
		if (is_punct(&t, ';'))
			continue;
		if (is_punct(&t, '}')) {
			r = next_tok(lx, &t);
			if (r)
				return r;
			if (!is_punct(&t, ';'))
				return syntax_error(lx, t.line,
						    "expected ';' after the clock block");
			return 0;
		}
		if (t.type != TOK_IDENT)
			return syntax_error(lx, t.line, "clock block: '%.*s' is not a field name",
					    (int)t.len, t.s);
		r = next_tok(lx, &eq);
		if (r)
			return r;
		if (!is_punct(&eq, '='))
			return syntax_error(lx, eq.line, "clock %.*s: expected '='", (int)t.len,
					    t.s);
		if (is_word(&t, "freq")) {
			if (have_freq++)
				return syntax_error(lx, t.line, "clock %.*s given twice",
						    (int)t.len, t.s);
			r = parse_int(lx, &t, 0, &neg, &mag);
			if (r)
				return r;
			if (!mag)
				return syntax_error(lx, t.line,
						    "clock %.*s = 0: no clock ticks at 0 Hz",
						    (int)t.len, t.s);
			clk->freq = mag;
		} else if (is_word(&t, "offset_s")) {
			if (have_offset_s++)
				return syntax_error(lx, t.line, "clock %.*s given twice",
						    (int)t.len, t.s);
			r = parse_int(lx, &t, 1, &neg, &mag);
			if (r)
				return r;
			if (mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
				return syntax_error(lx, t.line, "clock %.*s: out of range",
						    (int)t.len, t.s);
			clk->offset_s = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		} else if (is_word(&t, "offset")) {
			if (have_offset++)
				return syntax_error(lx, t.line, "clock %.*s given twice",
						    (int)t.len, t.s);
			r = parse_int(lx, &t, 0, &neg, &mag);
			if (r)
				return r;
			clk->offset = mag;
		} else {
			r = skip_statement(lx, &t);
			if (r)
				return r;
		}
	}
}

int grb_ctf_read_clock(const char *dir, struct grb_ctf_clock_info *clk)
{
	struct grb_ctf_clock_info found;
	unsigned found_line = 0, depth = 0;
	struct lex lx;
	struct tok t;
	char *path, *text = NULL;
	size_t len = 0;
	uint32_t magic;
	int r;

	if (!dir || !clk) {
		grb_error_set("grb_ctf_read_clock: NULL %s", dir ? "clk" : "dir");
		return -EINVAL;
	}
	path = path_in(dir, "", "metadata", "");
	if (!path)
		return -ENOMEM;
	r = read_text(path, &text, &len);
	if (r) {
		free(path);
		return r;
	}
	if (len >= 4) {
		memcpy(&magic, text, 4);
		if (magic == METADATA_PACKET_MAGIC || magic == METADATA_PACKET_MAGIC_SWAPPED) {
			grb_error_set("%s: packetized metadata, only text metadata is read", path);
			r = -EPROTONOSUPPORT;
			goto out;
		}
	}
	if (strlen(text) != len) {
		lx.path = path;
		lx.line = 1;
		for (lx.p = text; *lx.p; lx.p++)
			lx.line += *lx.p == '\n';
		r = syntax_error(&lx, lx.line, "a NUL byte: not TSDL text");
		goto out;
	}
	lx.p = text;
	lx.end = text + len;
	lx.line = 1;
	lx.path = path;
	for (;;) {
		r = next_tok(&lx, &t);
		if (r)
			goto out;
		if (t.type == TOK_END)
			break;
		if (is_punct(&t, '{')) {
			depth++;
		} else if (is_punct(&t, '}')) {
			if (!depth) {
				r = syntax_error(&lx, t.line, "'}' closes no block");
				goto out;
			}
			depth--;
		} else if (!depth && is_word(&t, "clock")) {
			struct lex saved = lx;
			struct tok brace;

			r = next_tok(&lx, &brace);
			if (r)
				goto out;
			if (!is_punct(&brace, '{')) {
				lx = saved; /* not a block: read that token again */
				continue;
			}
			if (found_line) {
				r = syntax_error(&lx, t.line,
						 "a second clock block (the first is at line %u)",
						 found_line);
				goto out;
			}
			found_line = t.line;
			r = parse_clock(&lx, t.line, &found);
			if (r)
				goto out;
		}
	}
	if (depth) {
		r = syntax_error(&lx, lx.line, "a block is not closed at the end");
		goto out;
	}
	if (!found_line) {
		grb_error_set("%s: no clock block", path);
		r = -ENODATA;
		goto out;
	}
	*clk = found;
	r = 0;
out:
	free(text);
	free(path);
	return r;
}

/* ------------------------------------------------------------------------ */
/* The packet index */

struct grb_ctf_index {
	int fd;
	int status; /* 0; or -ENODATA, -errno: what every later next() returns */
	int eof; /* the last read reached the end of the file */
	uint32_t entry_size;
	uint64_t nr; /* entries returned */
	size_t pos, len; /* the unread bytes are buf[pos, len) */
	char *path;
	char msg[256]; /* the message of status, for later calls */
	unsigned char buf[IDX_BUF_SIZE];
};

int grb_ctf_index_open(const char *dir, const char *stream, struct grb_ctf_index **idx)
{
	unsigned char h[CTF_IDX_HEADER_SIZE];
	struct grb_ctf_index *x;
	uint32_t magic, major, minor, esize;
	ssize_t n;
	int r;

	if (idx)
		*idx = NULL;
	if (!dir || !stream || !idx) {
		grb_error_set("grb_ctf_index_open: NULL %s", !dir    ? "dir" :
							     !stream ? "stream" :
								       "idx");
		return -EINVAL;
	}
	if (!stream[0] || strchr(stream, '/') || stream[0] == '.') {
		grb_error_set("grb_ctf_index_open: stream \"%s\": not a stream file name", stream);
		return -EINVAL;
	}
	x = (struct grb_ctf_index *)calloc(1, sizeof(*x));
	if (!x) {
		grb_error_set("ctf read: out of memory");
		return -ENOMEM;
	}
	x->fd = -1;
	x->path = path_in(dir, "index/", stream, ".idx");
	if (!x->path) {
		free(x);
		return -ENOMEM;
	}
	x->fd = open(x->path, O_RDONLY | O_CLOEXEC);
	if (x->fd < 0) {
		r = -errno;
		grb_error_set("opening %s: %s", x->path, strerror(-r));
		goto fail;
	}
	n = read_full(x->fd, h, sizeof(h));
	if (n < 0) {
		r = (int)n;
		grb_error_set("reading %s: %s", x->path, strerror(-r));
		goto fail;
	}
	if ((size_t)n < sizeof(h)) {
		grb_error_set("%s: truncated: the header has %zd of its %u bytes", x->path, n,
			      CTF_IDX_HEADER_SIZE);
		r = -EBADMSG;
		goto fail;
	}
	magic = ctf_idx_get32(h + CTF_IDX_OFF_MAGIC);
	major = ctf_idx_get32(h + CTF_IDX_OFF_MAJOR);
	minor = ctf_idx_get32(h + CTF_IDX_OFF_MINOR);
	esize = ctf_idx_get32(h + CTF_IDX_OFF_ENTRY_SIZE);
	if (magic != CTF_IDX_MAGIC) {
		grb_error_set("%s: not a CTF packet index (magic 0x%08" PRIx32 ", not 0x%08x)",
			      x->path, magic, CTF_IDX_MAGIC);
		r = -EPROTO;
		goto fail;
	}
	if (major != CTF_IDX_MAJOR || minor < CTF_IDX_MINOR) {
		grb_error_set("%s: packet index version %" PRIu32 ".%" PRIu32
			      " (this reader reads %u.%u to %u.x)",
			      x->path, major, minor, CTF_IDX_MAJOR, CTF_IDX_MINOR, CTF_IDX_MAJOR);
		r = -EPROTONOSUPPORT;
		goto fail;
	}
	if (esize < CTF_IDX_ENTRY_SIZE || esize > CTF_IDX_ENTRY_MAX) {
		grb_error_set("%s: entry size %" PRIu32 " (a version %" PRIu32 ".%" PRIu32
			      " entry has %u to %u bytes)",
			      x->path, esize, major, minor, CTF_IDX_ENTRY_SIZE, CTF_IDX_ENTRY_MAX);
		r = -EPROTO;
		goto fail;
	}
	x->entry_size = esize;
	*idx = x;
	return 0;
fail:
	grb_ctf_index_close(x);
	return r;
}

/* Make status sticky, with its message. */
static int index_fail(struct grb_ctf_index *x, int status)
{
	x->status = status;
	snprintf(x->msg, sizeof(x->msg), "%s", grb_last_error());
	return status;
}

int grb_ctf_index_next(struct grb_ctf_index *x, struct grb_ctf_index_entry *e)
{
	size_t avail;

	if (!x || !e) {
		grb_error_set("grb_ctf_index_next: NULL %s", x ? "e" : "idx");
		return -EINVAL;
	}
	if (x->status) {
		if (x->status != -ENODATA)
			grb_error_set("%s", x->msg);
		return x->status;
	}
	avail = x->len - x->pos;
	if (avail < x->entry_size && !x->eof) {
		ssize_t n;

		memmove(x->buf, x->buf + x->pos, avail);
		x->pos = 0;
		x->len = avail;
		n = read_full(x->fd, x->buf + x->len, sizeof(x->buf) - x->len);
		if (n < 0) {
			grb_error_set("reading %s: %s", x->path, strerror((int)-n));
			return index_fail(x, (int)n);
		}
		if ((size_t)n < sizeof(x->buf) - x->len)
			x->eof = 1;
		x->len += (size_t)n;
		avail = x->len;
	}
	if (!avail) {
		x->status = -ENODATA;
		return -ENODATA;
	}
	if (avail < x->entry_size) {
		grb_error_set("%s: truncated: entry %" PRIu64 " (from 0) has %zu of its %" PRIu32
			      " bytes",
			      x->path, x->nr, avail, x->entry_size);
		return index_fail(x, -EBADMSG);
	}
	ctf_idx_get_entry(x->buf + x->pos, e);
	x->pos += x->entry_size;
	x->nr++;
	return 0;
}

void grb_ctf_index_close(struct grb_ctf_index *x)
{
	if (!x)
		return;
	if (x->fd >= 0)
		close(x->fd);
	free(x->path);
	free(x);
}
