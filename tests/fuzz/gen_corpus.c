// SPDX-License-Identifier: MIT
/*
 * gen_corpus.c - writes the seed corpora of the fuzz targets from real
 * buffers (doc/fuzzing.md): gen_corpus DIR writes DIR/attach/ and
 * DIR/session/.
 *
 * attach: for each client of fuzz_configs.h (per-CPU, global and
 * per-thread streams; discard, overwrite and blocking modes) and each
 * scenario below, a channel of small sub-buffers in memory files is
 * written, and every stream's memory is dumped, in index order, into one
 * file: the input fuzz_attach reads.  Scenarios: a few records in an open
 * packet; a ring wrapped several times and finalized; records partly
 * consumed by a reader of this process (consumed = S + k, the spare
 * swapped); records nested by a signal handler inside a reservation; a
 * reservation not yet committed; and two reservations open, one nested in
 * the other, with a record committed behind each (the log of nested
 * writes of a per-thread stream).
 *
 * session: CHANNEL messages as a traced program sends them: the struct
 * and the encoded event descriptions (doc/session.md).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_configs.h"
#include <grb/session.h>

static const char *const cfg_names[FUZZ_NR_CFGS] = {
	"percpu-atomic-discard", "percpu-atomic-overwrite", "percpu-rseq-discard",
	"global-atomic-discard", "global-atomic-overwrite", "global-atomic-blocking",
	"thread-single-discard", "thread-single-overwrite",
};

static const struct grb_config *cur_cfg;
static struct grb_channel *cur_ch;
static uint64_t seq;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s (%s)\n", what, strerror(errno), grb_last_error());
	exit(1);
}

/* One record of 8 to 56 bytes of payload: its sequence number, repeated. */
static void write_one(void)
{
	uint64_t v[7], n = 1 + seq % 7, i;
	struct grb_ctx ctx;

	for (i = 0; i < n; i++)
		v[i] = seq;
	seq++;
	memset(&ctx, 0, sizeof(ctx));
	ctx.payload_len = (uint32_t)(n * sizeof(v[0]));
	if (grb_reserve(cur_cfg, cur_ch, &ctx) == 0) {
		grb_write(&ctx, v, ctx.payload_len);
		grb_commit(cur_cfg, &ctx);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	write_one();
}

/* n records, spread over the CPUs (per-CPU streams) in turns. */
static void write_n(uint32_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (cur_cfg->alloc == GRB_ALLOC_PER_CPU && cpus > 1 && i % 8 == 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET((int)((i / 8) % (uint32_t)(cpus > 2 ? 2 : cpus)), &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		write_one();
	}
}

static void *thread_main(void *arg)
{
	write_n((uint32_t)(uintptr_t)arg);
	return NULL;
}

/* Per-thread streams: a second thread writes too, into a stream of its own. */
static void write_threads(uint32_t n)
{
	pthread_t t;

	write_n(n);
	if (cur_cfg->alloc != GRB_ALLOC_PER_THREAD)
		return;
	if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)n))
		die("pthread_create");
	pthread_join(t, NULL);
}

static void dump(const char *dir, const char *name)
{
	char path[512];
	uint32_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		die(path);
	for (i = 0; i < cur_ch->nr_streams; i++) {
		struct grb_stream_shm shm;
		char *buf;

		if (grb_channel_stream_shm(cur_ch, i, &shm))
			die("grb_channel_stream_shm");
		buf = (char *)malloc(shm.size);
		if (!buf || pread(shm.fd, buf, shm.size, 0) != (ssize_t)shm.size ||
		    fwrite(buf, 1, shm.size, f) != shm.size)
			die(path);
		free(buf);
	}
	if (fclose(f))
		die(path);
}

enum scenario { FEW, WRAP, PARTIAL, NESTED, UNCOMMITTED, NESTED_OPEN, NR_SCENARIOS };
static const char *const scenario_names[NR_SCENARIOS] = { "few",    "wrap",	   "partial",
							  "nested", "uncommitted", "nested-open" };

static void run(const char *dir, uint32_t c, enum scenario sc)
{
	static const unsigned char cpus01 = 3;
	struct grb_channel_attr attr;
	struct grb_ctx ctx;
	struct grb_iter *it;
	struct grb_record rec;
	char name[128];
	int i;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = sc == WRAP ? 128 : 256;
	attr.subbuf_count = 4;
	attr.nr_streams = 2;
	attr.cpu_set = &cpus01; /* CPUs 0 and 1: two streams */
	attr.cpu_set_size = 1;
	attr.blocking_timeout_us = 100;
	attr.backing = GRB_BACKING_MEMFD;
	cur_cfg = &fuzz_cfgs[c];
	cur_ch = grb_channel_create(cur_cfg, &attr);
	if (!cur_ch)
		die("grb_channel_create");
	seq = 0;
	switch (sc) {
	case FEW:
		write_threads(5);
		break;
	case WRAP:
		write_threads(150);
		grb_channel_finalize(cur_ch);
		break;
	case PARTIAL:
		write_threads(12);
		for (i = 0; i < (int)cur_ch->nr_streams; i++) {
			int k;

			it = grb_iter_create(cur_ch, (uint32_t)i, 0);
			if (!it)
				die("grb_iter_create");
			for (k = 0; k < 3 + i; k++)
				grb_iter_next(it, &rec);
			grb_iter_destroy(it);
		}
		break;
	case NESTED:
		signal(SIGUSR1, on_signal);
		for (i = 0; i < 12; i++) {
			uint64_t v = seq++;

			memset(&ctx, 0, sizeof(ctx));
			ctx.payload_len = sizeof(v);
			if (grb_reserve(cur_cfg, cur_ch, &ctx) == 0) {
				raise(SIGUSR1); /* a record inside this one's reservation */
				grb_write(&ctx, &v, sizeof(v));
				grb_commit(cur_cfg, &ctx);
			}
		}
		signal(SIGUSR1, SIG_DFL);
		break;
	case UNCOMMITTED:
		write_threads(9);
		memset(&ctx, 0, sizeof(ctx));
		ctx.payload_len = 16;
		if (grb_reserve(cur_cfg, cur_ch, &ctx) == 0) {
			write_one(); /* committed after it, in the same stream */
			snprintf(name, sizeof(name), "%s-%s", cfg_names[c], scenario_names[sc]);
			dump(dir, name);
			grb_write(&ctx, "uncommitted....", 16);
			grb_commit(cur_cfg, &ctx);
			grb_channel_destroy(cur_ch);
			return;
		}
		break;
	case NESTED_OPEN:
		write_threads(9);
		memset(&ctx, 0, sizeof(ctx));
		ctx.payload_len = 16;
		if (grb_reserve(cur_cfg, cur_ch, &ctx) == 0) {
			struct grb_ctx in;

			write_one(); /* depth 2, committed behind it */
			memset(&in, 0, sizeof(in));
			in.payload_len = 24;
			if (grb_reserve(cur_cfg, cur_ch, &in) == 0) {
				write_one(); /* depth 3, committed behind both */
				snprintf(name, sizeof(name), "%s-%s", cfg_names[c],
					 scenario_names[sc]);
				dump(dir, name);
				grb_write(&in, "open at depth 2.........", 24);
				grb_commit(cur_cfg, &in);
			}
			grb_write(&ctx, "uncommitted....", 16);
			grb_commit(cur_cfg, &ctx);
		}
		grb_channel_destroy(cur_ch);
		return;
	default:
		break;
	}
	snprintf(name, sizeof(name), "%s-%s", cfg_names[c], scenario_names[sc]);
	dump(dir, name);
	grb_channel_destroy(cur_ch);
}

/* ------------------------------------------------------------------------ */
/* session: CHANNEL messages */

struct msg {
	unsigned char b[4096];
	uint32_t len;
};

static void put(struct msg *m, const void *v, uint32_t n)
{
	if (n > sizeof(m->b) - m->len) {
		fprintf(stderr, "gen_corpus: message too long\n");
		exit(1);
	}
	memcpy(m->b + m->len, v, n);
	m->len += n;
}

static void put_u8(struct msg *m, uint8_t v)
{
	put(m, &v, 1);
}

static void put_u32(struct msg *m, uint32_t v)
{
	put(m, &v, 4);
}

static void put_str(struct msg *m, const char *s)
{
	uint16_t l = (uint16_t)strlen(s);

	put(m, &l, 2);
	put(m, s, l);
}

/* A field: type, element type, length, enum entries (label, start, end). */
static void put_field(struct msg *m, uint8_t type, uint8_t elem, uint32_t len, const char *name,
		      uint32_t ne)
{
	uint32_t k;

	put_u8(m, type);
	put_u8(m, elem);
	put_u32(m, len);
	put_u32(m, ne);
	put_str(m, name);
	for (k = 0; k < ne; k++) {
		uint64_t v = k;
		char label[16];

		put(m, &v, 8);
		put(m, &v, 8);
		snprintf(label, sizeof(label), "L%u", k);
		put_str(m, label);
	}
}

static void put_event(struct msg *m, uint32_t id, uint32_t nf, const char *name)
{
	put_u32(m, id);
	put_u32(m, nf);
	put_str(m, name);
}

static void session_write(const char *dir, const char *name, const struct msg *ev, uint32_t nr)
{
	struct grb_session_channel c;
	char path[512];
	FILE *f;

	memset(&c, 0, sizeof(c));
	c.head.magic = GRB_SESSION_MAGIC;
	c.head.version = GRB_SESSION_VERSION;
	c.head.type = GRB_SESSION_CHANNEL;
	c.head.size = (uint32_t)sizeof(c) + ev->len;
	c.nr_streams = 4;
	c.subbuf_size = 65536;
	c.subbuf_count = 8;
	c.nr_events = nr;
	c.events_size = ev->len;
	c.wakeup = GRB_WAKEUP_WRITER;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&c, sizeof(c), 1, f) != 1 ||
	    (ev->len && fwrite(ev->b, ev->len, 1, f) != 1) || fclose(f))
		die(path);
}

static void session_corpus(const char *dir)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	session_write(dir, "none", &m, 0);

	memset(&m, 0, sizeof(m));
	put_event(&m, 0, 2, "app:tick");
	put_field(&m, GRB_CTF_U64, 0, 0, "n", 0);
	put_field(&m, GRB_CTF_STRING, 0, 0, "what", 0);
	session_write(dir, "tick", &m, 1);

	memset(&m, 0, sizeof(m));
	put_event(&m, 0, 3, "app:request");
	put_field(&m, GRB_CTF_ENUM, GRB_CTF_U8, 0, "method", 3);
	put_field(&m, GRB_CTF_ARRAY, GRB_CTF_U16, 4, "ports", 0);
	put_field(&m, GRB_CTF_SEQUENCE, GRB_CTF_U32, 16, "ids", 0);
	put_event(&m, 1, 1, "app:reply");
	put_field(&m, GRB_CTF_S32, 0, 0, "status", 0);
	put_event(&m, 40, 2, "app:sample");
	put_field(&m, GRB_CTF_F64, 0, 0, "value", 0);
	put_field(&m, GRB_CTF_F32, 0, 0, "weight", 0);
	session_write(dir, "server", &m, 3);

	memset(&m, 0, sizeof(m));
	put_event(&m, 7, 4, "libc:malloc");
	put_field(&m, GRB_CTF_U64, 0, 0, "size", 0);
	put_field(&m, GRB_CTF_U64, 0, 0, "ptr", 0);
	put_field(&m, GRB_CTF_S8, 0, 0, "arena", 0);
	put_field(&m, GRB_CTF_S16, 0, 0, "flags", 0);
	session_write(dir, "malloc", &m, 1);
}

static void mkdir_p(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		die(dir);
}

int main(int argc, char **argv)
{
	char sub[400];
	uint32_t c;
	int sc;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR (writes DIR/attach and DIR/session)\n");
		return 2;
	}
	mkdir_p(argv[1]);
	snprintf(sub, sizeof(sub), "%s/attach", argv[1]);
	mkdir_p(sub);
	for (c = 0; c < FUZZ_NR_CFGS; c++)
		for (sc = 0; sc < NR_SCENARIOS; sc++)
			run(sub, c, (enum scenario)sc);
	snprintf(sub, sizeof(sub), "%s/session", argv[1]);
	mkdir_p(sub);
	session_corpus(sub);
	return 0;
}
