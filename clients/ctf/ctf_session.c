// SPDX-License-Identifier: MIT
/*
 * ctf_session.c - a program's side of a recording session (doc/session.md):
 * register a CTF channel with the recorder over the UNIX socket named by
 * GRB_SESSION, and the encoding of event descriptions both sides use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <grb/client.h>
#include <grb/session.h>

#include "ctf_internal.h"

/* How long the program waits for each answer of the recorder. */
#define ANSWER_TIMEOUT_S 2

/* The channels this process registered, for the fork handler and close. */
struct registration {
	struct registration *next;
	struct grb_channel *ch;
	int sock;
	pid_t pid; /* the process that registered it */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registration *regs;

/* ------------------------------------------------------------------------ */
/* The encoding of event descriptions (doc/session.md, "Event descriptions") */

struct rbuf {
	const unsigned char *p;
	uint32_t len, off;
};

static int get(struct rbuf *b, void *v, size_t n)
{
	if (n > b->len - b->off)
		return -1;
	memcpy(v, b->p + b->off, n);
	b->off += (uint32_t)n;
	return 0;
}

/* A malloc'd NUL-terminated copy of the next string; NULL if short. */
static char *get_str(struct rbuf *b, int *oom)
{
	uint16_t l;
	char *s;

	if (get(b, &l, 2) || l > b->len - b->off)
		return NULL;
	s = (char *)malloc((size_t)l + 1);
	if (!s) {
		*oom = 1;
		return NULL;
	}
	memcpy(s, b->p + b->off, l);
	s[l] = 0;
	b->off += l;
	if (strlen(s) != l) { /* a NUL inside */
		free(s);
		return NULL;
	}
	return s;
}

static void event_free(struct grb_ctf_event_desc *e)
{
	uint32_t j, k;

	if (!e)
		return;
	for (j = 0; e->fields && j < e->nr_fields; j++) {
		struct grb_ctf_field_desc *f = (struct grb_ctf_field_desc *)&e->fields[j];

		free((char *)f->name);
		if (f->enm) {
			for (k = 0; k < f->enm->nr_entries; k++)
				free((char *)f->enm->entries[k].label);
			free((void *)f->enm->entries);
			free((void *)f->enm);
		}
	}
	free((void *)e->fields);
	free((char *)e->name);
	free(e);
}

void grb_session_events_free(const struct grb_ctf_event_desc *const *events, uint32_t nr_events)
{
	uint32_t i;

	if (!events)
		return;
	for (i = 0; i < nr_events; i++)
		event_free((struct grb_ctf_event_desc *)events[i]);
	free((void *)events);
}

#define BAD(...)                               \
	do {                                   \
		grb_error_set(__VA_ARGS__);    \
		ret = oom ? -ENOMEM : -EPROTO; \
		goto out;                      \
	} while (0)

int grb_session_events_decode(const void *buf, uint32_t size, uint32_t nr_events,
			      uint32_t subbuf_size, const struct grb_ctf_event_desc *const **out)
{
	struct rbuf b = { (const unsigned char *)buf, size, 0 };
	struct grb_ctf_event_desc **ev = NULL;
	uint32_t i, j, k;
	int ret = 0, oom = 0;

	if (!out || (!buf && size) || nr_events > GRB_CTF_MAX_EVENT_ID + 1) {
		grb_error_set("session events: bad arguments");
		return -EINVAL;
	}
	*out = NULL;
	ev = (struct grb_ctf_event_desc **)calloc(nr_events + 1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	for (i = 0; i < nr_events; i++) {
		struct grb_ctf_event_desc *e = (struct grb_ctf_event_desc *)calloc(1, sizeof(*e));
		struct grb_ctf_field_desc *fields;
		uint32_t nf;

		if (!e) {
			oom = 1;
			BAD("session events: out of memory");
		}
		ev[i] = e;
		if (get(&b, &e->id, 4) || get(&b, &nf, 4))
			BAD("session events: event %u: truncated", i);
		if (nf > GRB_CTF_MAX_FIELDS)
			BAD("session events: event %u: %u fields", i, nf);
		e->name = get_str(&b, &oom);
		if (!e->name)
			BAD("session events: event %u: bad name", i);
		fields = (struct grb_ctf_field_desc *)calloc(nf + 1, sizeof(*fields));
		if (!fields) {
			oom = 1;
			BAD("session events: out of memory");
		}
		e->fields = fields;
		e->nr_fields = nf;
		for (j = 0; j < nf; j++) {
			struct grb_ctf_field_desc *f = &fields[j];
			struct grb_ctf_enum_entry *x;
			struct grb_ctf_enum_desc *d;
			uint8_t type, elem;
			uint32_t ne;

			if (get(&b, &type, 1) || get(&b, &elem, 1) || get(&b, &f->len, 4) ||
			    get(&b, &ne, 4))
				BAD("session events: %s: field %u truncated", e->name, j);
			f->type = (enum grb_ctf_type)type;
			f->elem = (enum grb_ctf_type)elem;
			f->name = get_str(&b, &oom);
			if (!f->name)
				BAD("session events: %s: field %u: bad name", e->name, j);
			if (type != GRB_CTF_ENUM) {
				if (ne)
					BAD("session events: %s.%s: enum entries in a %u", e->name,
					    f->name, type);
				continue;
			}
			if (!ne || ne > 65536 || ne > (b.len - b.off) / 18)
				BAD("session events: %s.%s: %u enum entries", e->name, f->name, ne);
			d = (struct grb_ctf_enum_desc *)calloc(1, sizeof(*d));
			x = (struct grb_ctf_enum_entry *)calloc(ne, sizeof(*x));
			if (!d || !x) {
				free(d);
				free(x);
				oom = 1;
				BAD("session events: out of memory");
			}
			d->entries = x;
			f->enm = d;
			for (k = 0; k < ne; k++) {
				if (get(&b, &x[k].start, 8) || get(&b, &x[k].end, 8))
					BAD("session events: %s.%s: entry %u truncated", e->name,
					    f->name, k);
				x[k].label = get_str(&b, &oom);
				d->nr_entries = k + 1;
				if (!x[k].label)
					BAD("session events: %s.%s: entry %u: bad label", e->name,
					    f->name, k);
			}
		}
	}
	if (b.off != b.len)
		BAD("session events: %u bytes after the last event", b.len - b.off);
	ret = grb_ctf_validate_events((const struct grb_ctf_event_desc *const *)ev, nr_events,
				      subbuf_size);
	if (ret)
		goto out;
	*out = (const struct grb_ctf_event_desc *const *)ev;
	return 0;
out:
	grb_session_events_free((const struct grb_ctf_event_desc *const *)ev, nr_events);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* The program's side */

static void head_init(struct grb_session_head *h, uint16_t type, uint32_t size)
{
	h->magic = GRB_SESSION_MAGIC;
	h->version = GRB_SESSION_VERSION;
	h->type = type;
	h->size = size;
	h->_pad = 0;
}

static int send_all(int sock, const void *buf, size_t len, const int *fds, uint32_t nfd)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * GRB_SESSION_MAX_STREAMS)];
	} c;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfd) {
		struct cmsghdr *cm;

		memset(&c, 0, sizeof(c));
		msg.msg_control = c.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfd);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPROTO;
}

/* Receive one answer of type and exactly size bytes into buf. */
static int recv_answer(int sock, void *buf, uint32_t size, uint16_t type)
{
	struct grb_session_head *h = (struct grb_session_head *)buf;
	ssize_t n;

	do
		n = recv(sock, buf, size, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET;
	/* The version first: another version's messages may differ in size. */
	if ((size_t)n >= sizeof(*h) && h->magic == GRB_SESSION_MAGIC &&
	    h->version != GRB_SESSION_VERSION)
		return -EPROTONOSUPPORT;
	if ((size_t)n != size || h->magic != GRB_SESSION_MAGIC || h->type != type ||
	    h->size != size)
		return -EPROTO;
	return 0;
}

static int session_fail(int sock, int err, const char *what, const char *msg)
{
	if (sock >= 0)
		close(sock);
	if (msg)
		grb_error_set("session: %s: %s", what, msg);
	else
		grb_error_set("session: %s: %s", what, strerror(-err));
	errno = -err;
	return err;
}

static void copy_name(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static int name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (!n || n >= GRB_SESSION_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

extern char *program_invocation_short_name;

struct grb_channel *grb_session_channel(const struct grb_config *cfg, const char *name,
					const struct grb_ctf_event_desc *const *events,
					uint32_t nr_events)
{
	return grb_session_channel_pick(cfg, NULL, name, events, nr_events, NULL);
}

static int wakeup_ok(const struct grb_config *cfg)
{
	return cfg->wakeup == GRB_WAKEUP_NONE || cfg->wakeup == GRB_WAKEUP_WRITER;
}
/* The channel, in memory files, or in files of the directory the WELCOME
 * names: <name>_<pid>, or the first free <name>_<pid>.<n> (a program that
 * the same process executed left its files there). */
static struct grb_channel *create_channel(const struct grb_config *cfg,
					  const struct grb_channel_attr *attr, const char *name,
					  struct grb_session_welcome *wel)
{
	struct grb_channel_attr a = *attr;
	char file[64];
	struct grb_channel *ch;
	unsigned int n;

	a.backing = GRB_BACKING_MEMFD;
	a.name = name;
	if (!wel->buffers[0])
		return grb_channel_create(cfg, &a);
	wel->buffers[sizeof(wel->buffers) - 1] = 0;
	a.backing = GRB_BACKING_DIR;
	a.shm_path = wel->buffers;
	a.name = file;
	for (n = 0; n < 100; n++) {
		if (n)
			snprintf(file, sizeof(file), "%s_%d.%u", name, (int)getpid(), n);
		else
			snprintf(file, sizeof(file), "%s_%d", name, (int)getpid());
		ch = grb_channel_create(cfg, &a);
		if (ch || errno != EEXIST)
			return ch;
	}
	return NULL;
}

struct grb_channel *grb_session_channel_pick(const struct grb_config *cfg,
					     const struct grb_config *cfg_wake, const char *name,
					     const struct grb_ctf_event_desc *const *events,
					     uint32_t nr_events, const struct grb_config **used)
{
	const struct grb_config *chosen;
	const char *path = getenv(GRB_SESSION_ENV);
	struct sockaddr_un sa;
	struct grb_session_hello hello;
	struct grb_session_welcome wel;
	struct grb_session_ack ack;
	struct grb_channel_attr attr;
	struct grb_channel *ch;
	struct registration *reg;
	struct timeval tv = { ANSWER_TIMEOUT_S, 0 };
	uint32_t elen;
	unsigned char *msg;
	int fds[GRB_SESSION_MAX_STREAMS];
	uint32_t i, n;
	int sock, ret;

	if (!path || !path[0]) {
		grb_error_set("session: %s is not set", GRB_SESSION_ENV);
		errno = ENOENT;
		return NULL;
	}
	if (!cfg || !name_ok(name) || (nr_events && !events) || !wakeup_ok(cfg) ||
	    (cfg_wake && (cfg_wake->wakeup != GRB_WAKEUP_WRITER || cfg->wakeup != GRB_WAKEUP_NONE ||
			  cfg_wake->mode != cfg->mode || strcmp(cfg_wake->name, cfg->name)))) {
		grb_error_set("session: bad arguments (NULL configuration, a wake-up that is not "
			      "none or writer, two configurations of different modes, or a "
			      "channel name not of 1 to %u letters, digits, '_', '-', '.')",
			      GRB_SESSION_NAME_MAX - 1);
		errno = EINVAL;
		return NULL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		session_fail(-1, -ENAMETOOLONG, path, NULL);
		return NULL;
	}
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		session_fail(-1, -errno, "socket", NULL);
		return NULL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa))) {
		session_fail(sock, -errno, path, NULL);
		return NULL;
	}

	memset(&hello, 0, sizeof(hello));
	head_init(&hello.head, GRB_SESSION_HELLO, sizeof(hello));
	hello.pid = (int32_t)getpid();
	hello.ppid = (int32_t)getppid();
	hello.alloc = (uint32_t)cfg->alloc;
	hello.sync = (uint32_t)cfg->sync;
	hello.mode = (uint32_t)cfg->mode;
	hello.ts_bits = cfg->ts_bits;
	hello.packet_header_size = cfg->packet_header_size;
	hello.min_record_size = cfg->min_record_size;
	hello.wakeups = (1u << cfg->wakeup) | (cfg_wake ? 1u << GRB_WAKEUP_WRITER : 0);
	hello.event_context =
		cfg->record_decode == grb_ctf_record_decode_ids ? GRB_CTF_CONTEXT_IDS : 0;
	copy_name(hello.config, sizeof(hello.config), cfg->name);
	copy_name(hello.name, sizeof(hello.name), name);
	copy_name(hello.program, sizeof(hello.program), program_invocation_short_name);
	ret = send_all(sock, &hello, sizeof(hello), NULL, 0);
	if (!ret)
		ret = recv_answer(sock, &wel, sizeof(wel), GRB_SESSION_WELCOME);
	if (ret) {
		session_fail(sock, ret, "registering", NULL);
		return NULL;
	}
	if (wel.status) {
		wel.message[sizeof(wel.message) - 1] = 0;
		session_fail(sock, wel.status > 0 ? -wel.status : -EPROTO, "refused", wel.message);
		return NULL;
	}

	if (wel.wakeup >= 32 || !(hello.wakeups & (1u << wel.wakeup))) {
		session_fail(sock, -EPROTO, "registering",
			     "the recorder chose a wake-up not offered");
		return NULL;
	}
	chosen = wel.wakeup == cfg->wakeup ? cfg : cfg_wake;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = wel.subbuf_size;
	attr.subbuf_count = wel.subbuf_count;
	attr.nr_streams = wel.nr_streams;
	attr.switch_timer_us = wel.switch_timer_us;
	ch = create_channel(chosen, &attr, name, &wel);
	if (!ch) {
		session_fail(sock, -errno, "creating the channel", grb_last_error());
		return NULL;
	}
	n = grb_channel_nr_streams(ch);
	if (n > GRB_SESSION_MAX_STREAMS) {
		grb_channel_destroy(ch);
		session_fail(sock, -E2BIG, "streams", "more than one message can pass");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct grb_stream_shm shm;

		if (grb_channel_stream_shm(ch, i, &shm)) {
			grb_channel_destroy(ch);
			session_fail(sock, -EPROTO, "stream", "no descriptor");
			return NULL;
		}
		fds[i] = shm.fd;
	}
	msg = (unsigned char *)malloc(sizeof(struct grb_session_channel) + GRB_SESSION_EVENTS_MAX);
	if (!msg) {
		grb_channel_destroy(ch);
		session_fail(sock, -ENOMEM, "registering", NULL);
		return NULL;
	}
	ret = _grb_ctf_events_encode(events, nr_events, msg + sizeof(struct grb_session_channel),
				     GRB_SESSION_EVENTS_MAX, &elen);
	if (!ret) {
		struct grb_session_channel c;

		memset(&c, 0, sizeof(c));
		head_init(&c.head, GRB_SESSION_CHANNEL, (uint32_t)sizeof(c) + elen);
		c.nr_streams = n;
		c.subbuf_size = wel.subbuf_size;
		c.subbuf_count = wel.subbuf_count;
		c.nr_events = nr_events;
		c.events_size = elen;
		c.wakeup = wel.wakeup;
		memcpy(msg, &c, sizeof(c));
		ret = send_all(sock, msg, sizeof(c) + elen, fds, n);
	}
	free(msg);
	if (!ret)
		ret = recv_answer(sock, &ack, sizeof(ack), GRB_SESSION_ACK);
	if (!ret && ack.status) {
		ack.message[sizeof(ack.message) - 1] = 0;
		grb_channel_destroy(ch);
		session_fail(sock, ack.status > 0 ? -ack.status : -EPROTO, "refused", ack.message);
		return NULL;
	}
	if (ret) {
		grb_channel_destroy(ch);
		session_fail(sock, ret, "registering the channel",
			     ret == -E2BIG ? "event descriptions too large" : NULL);
		return NULL;
	}
	reg = (struct registration *)calloc(1, sizeof(*reg));
	if (!reg) {
		grb_channel_destroy(ch);
		session_fail(sock, -ENOMEM, "registering", NULL);
		return NULL;
	}
	reg->ch = ch;
	reg->sock = sock;
	reg->pid = getpid();
	pthread_mutex_lock(&reg_lock);
	reg->next = regs;
	regs = reg;
	pthread_mutex_unlock(&reg_lock);
	if (used)
		*used = chosen;
	return ch;
}

int grb_session_close(struct grb_channel *ch)
{
	struct registration **p, *reg = NULL;
	pid_t me = getpid();

	pthread_mutex_lock(&reg_lock);
	for (p = &regs; *p; p = &(*p)->next)
		if ((*p)->ch == ch && (*p)->pid == me) {
			reg = *p;
			*p = reg->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	if (!reg)
		return -EINVAL;
	/* Finalized first: the recorder then drains every record and sees
	 * the end of each stream, then the end of the connection. */
	grb_channel_finalize(ch);
	if (reg->sock >= 0)
		close(reg->sock);
	grb_channel_destroy(ch);
	free(reg);
	return 0;
}

/*
 * fork: the child's copy of each registered channel is disabled (the flag
 * is in the child's private memory: the parent's recording goes on) and
 * its copy of the connection closed, so that the recorder sees the
 * parent's end when the parent ends.  The channels are kept (never
 * destroyed in the child: destroying would wait for the switch timer's
 * thread, which the child does not have); the child may register anew.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&reg_lock);
}

static void fork_child(void)
{
	struct registration *r;

	for (r = regs; r; r = r->next) {
		grb_channel_disable(r->ch);
		if (r->sock >= 0)
			close(r->sock);
		r->sock = -1;
	}
	pthread_mutex_unlock(&reg_lock);
}

__attribute__((constructor)) static void session_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
