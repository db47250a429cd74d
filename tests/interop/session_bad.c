// SPDX-License-Identifier: MIT
/*
 * session_bad.c - a program that lies to the recorder (session_record.sh
 * refuse): run by `grb record -- session_bad`, it sends malformed or
 * dishonest registrations over GRB_SESSION and checks that each one is
 * refused with the expected errno (or the connection closed), then
 * registers honestly and writes 10 events, which must reach the trace.
 * A child of fork gives up its registration before the ACK and exits (the
 * recording must still end); another finds its copy of the honest channel
 * disabled.  Exit 0
 * when every answer was the expected one.  It prints the number of
 * refusals the recorder must report.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grb/session.h>

static const struct grb_config cfg = GRB_SESSION_CONFIG;

#define BAD_FIELDS(F) F(u32, n)
GRB_CTF_EVENT(bad_ok, "session_bad:ok", 1, BAD_FIELDS)
static const struct grb_ctf_event_desc *const events[] = { &bad_ok_event };

static int failures, refusals;

static int dial(void)
{
	struct sockaddr_un sa;
	struct timeval tv = { 5, 0 };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv(GRB_SESSION_ENV));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("session_bad: connect");
		exit(1);
	}
	return s;
}

static void head(struct grb_session_head *h, uint16_t type, uint32_t size)
{
	h->magic = GRB_SESSION_MAGIC;
	h->version = GRB_SESSION_VERSION;
	h->type = type;
	h->size = size;
	h->_pad = 0;
}

static void hello_init(struct grb_session_hello *h)
{
	memset(h, 0, sizeof(*h));
	head(&h->head, GRB_SESSION_HELLO, sizeof(*h));
	h->pid = getpid();
	h->ppid = getppid();
	h->alloc = cfg.alloc;
	h->sync = cfg.sync;
	h->mode = cfg.mode;
	h->ts_bits = cfg.ts_bits;
	h->packet_header_size = cfg.packet_header_size;
	h->min_record_size = cfg.min_record_size;
	h->event_context = GRB_CTF_CONTEXT_IDS;
	h->wakeups = 1u << GRB_WAKEUP_NONE; /* its channels poll */
	snprintf(h->config, sizeof(h->config), "%s", cfg.name);
	snprintf(h->name, sizeof(h->name), "bad");
	snprintf(h->program, sizeof(h->program), "session_bad");
}

/* The status of the answer (a WELCOME or an ACK), -1 for a closed
 * connection. */
static int answer(int s, struct grb_session_welcome *w)
{
	char buf[512];
	ssize_t n = recv(s, buf, sizeof(buf), 0);

	if (n <= 0)
		return -1;
	if ((size_t)n == sizeof(*w)) {
		memcpy(w, buf, sizeof(*w));
		return w->status;
	}
	if ((size_t)n == sizeof(struct grb_session_ack)) {
		struct grb_session_ack a;

		memcpy(&a, buf, sizeof(a));
		printf("session_bad:   (%s)\n", a.message);
		return a.status;
	}
	return -2;
}

static void expect(const char *what, int got, int want)
{
	printf("session_bad: %-44s %d (want %d)\n", what, got, want);
	if (got != want)
		failures++;
	else
		refusals++;
}

static int hello_case(const char *what, struct grb_session_hello *h, size_t len, int want)
{
	struct grb_session_welcome w;
	int s = dial(), st;

	if (send(s, h, len, 0) != (ssize_t)len)
		failures++;
	st = answer(s, &w);
	if (st > 0 && w.message[0])
		printf("session_bad:   (%s)\n", w.message);
	if (st == EPROTONOSUPPORT && w.head.version != GRB_SESSION_VERSION)
		failures++;
	expect(what, st, want);
	close(s);
	return st;
}

/* Send on s, after the WELCOME w, a CHANNEL with nfd descriptors fds and
 * the event bytes ev. */
static void send_channel(int s, const struct grb_session_welcome *w, const int *fds, uint32_t nfd,
			 const void *ev, uint32_t ev_size, uint32_t nr_events)
{
	unsigned char msg[sizeof(struct grb_session_channel) + 256];
	struct grb_session_channel c;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 64)];
	} ctl;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *cm;

	memset(&c, 0, sizeof(c));
	head(&c.head, GRB_SESSION_CHANNEL, (uint32_t)(sizeof(c) + ev_size));
	c.nr_streams = w->nr_streams;
	c.subbuf_size = w->subbuf_size;
	c.subbuf_count = w->subbuf_count;
	c.nr_events = nr_events;
	c.events_size = ev_size;
	c.wakeup = w->wakeup;
	memcpy(msg, &c, sizeof(c));
	memcpy(msg + sizeof(c), ev, ev_size);
	iov.iov_base = msg;
	iov.iov_len = sizeof(c) + ev_size;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	memset(&ctl, 0, sizeof(ctl));
	m.msg_control = ctl.buf;
	m.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfd);
	if (sendmsg(s, &m, 0) < 0)
		failures++;
}

/* A good HELLO on a new connection: 0 and its WELCOME, else -1. */
static int good_hello(const char *what, int s, struct grb_session_welcome *w)
{
	struct grb_session_hello h;

	hello_init(&h);
	if (send(s, &h, sizeof(h), 0) != sizeof(h) || answer(s, w) != 0) {
		printf("session_bad: %s: an honest HELLO was refused\n", what);
		failures++;
		return -1;
	}
	if (w->nr_streams > 64 || w->nr_streams < 2) {
		printf("session_bad: %u streams: run with --streams 2 to 64\n", w->nr_streams);
		failures++;
		return -1;
	}
	return 0;
}

/* A good HELLO, then a CHANNEL with the descriptors fds (missing fewer
 * than the streams) and the event bytes ev. */
static void channel_case(const char *what, const int *fds, uint32_t missing, const void *ev,
			 uint32_t ev_size, uint32_t nr_events, int want)
{
	struct grb_session_welcome w;
	int s = dial();

	if (good_hello(what, s, &w)) {
		close(s);
		return;
	}
	send_channel(s, &w, fds, w.nr_streams - missing, ev, ev_size, nr_events);
	expect(what, answer(s, &w), want);
	close(s);
}

/* Is process pid stopped (state T in /proc/<pid>/stat)? */
static int stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'T';
}

/*
 * A program that gives up before the ACK (as one whose recorder did not
 * answer within 2 s on a loaded machine): a child of fork sends a good
 * CHANNEL with a real channel's descriptors, hangs up and exits, the
 * recorder (stopped meanwhile, so that the hang-up comes first) reading
 * it afterwards.  The recorder's ACK then fails; it must still learn that
 * the child ended, or the recording would wait for it for ever.
 */
static void hangup_case(pid_t recorder)
{
	struct grb_session_welcome w;
	struct grb_channel_attr attr;
	struct grb_channel *ch;
	int fds[64], s, status;
	uint32_t i;
	pid_t pid = fork();

	if (pid == 0) {
		s = dial();
		if (good_hello("hang up before the ACK", s, &w))
			_exit(1);
		grb_channel_attr_init(&attr);
		attr.subbuf_size = w.subbuf_size;
		attr.subbuf_count = w.subbuf_count;
		attr.nr_streams = w.nr_streams;
		attr.backing = GRB_BACKING_MEMFD;
		attr.name = "bad";
		ch = grb_channel_create(&cfg, &attr);
		for (i = 0; ch && i < w.nr_streams; i++) {
			struct grb_stream_shm shm;

			if (grb_channel_stream_shm(ch, i, &shm))
				_exit(1);
			fds[i] = shm.fd;
		}
		if (!ch || kill(recorder, SIGSTOP))
			_exit(1);
		for (i = 0; i < 2000 && !stopped(recorder); i++)
			usleep(1000);
		send_channel(s, &w, fds, w.nr_streams, NULL, 0, 0);
		close(s);
		kill(recorder, SIGCONT);
		_exit(failures ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("session_bad: the child that hangs up before the ACK failed\n");
		failures++;
	}
}

int main(void)
{
	struct grb_session_hello h;
	struct grb_channel *ch;
	unsigned char ev[64];
	uint16_t long_name = 200;
	int fds[64], i, status;
	pid_t pid;
	uint32_t n;

	if (!getenv(GRB_SESSION_ENV)) {
		fprintf(stderr, "session_bad: run me under grb record\n");
		return 2;
	}
	hello_init(&h);
	h.head.magic = 0x12345678;
	hello_case("not the protocol: closed", &h, sizeof(h), -1);
	hello_init(&h);
	h.head.version = 99;
	hello_case("another version", &h, sizeof(h), EPROTONOSUPPORT);
	hello_init(&h);
	hello_case("a short HELLO", &h, sizeof(h) - 8, EPROTO);
	hello_init(&h);
	h.pid = getpid() + 1;
	hello_case("another process's pid", &h, sizeof(h), EPERM);
	hello_init(&h);
	h.mode = GRB_MODE_BLOCKING; /* discard and overwrite are taken */
	hello_case("another record format", &h, sizeof(h), EPROTO);
	hello_init(&h);
	snprintf(h.name, sizeof(h.name), "../x");
	hello_case("a name that is a path", &h, sizeof(h), EINVAL);
	hello_init(&h);
	memset(h.program, 'x', sizeof(h.program)); /* no NUL */
	hello_case("an unterminated program name", &h, sizeof(h), EPROTO);

	/* Channels: descriptors of memory that is no grb stream. */
	for (i = 0; i < 64; i++) {
		fds[i] = memfd_create("not-grb", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fds[i] < 0 || ftruncate(fds[i], 65536)) {
			perror("session_bad: memfd");
			return 1;
		}
	}
	channel_case("fewer descriptors than streams", fds, 1, NULL, 0, 0, EPROTO);
	/* An event (id 0, no field) whose name runs past the bytes. */
	memset(ev, 0, sizeof(ev));
	memcpy(ev + 8, &long_name, 2);
	channel_case("event descriptions that run short", fds, 0, ev, 12, 1, EPROTO);
	channel_case("memory that is no grb stream", fds, 0, NULL, 0, 0, EPROTO);
	for (i = 0; i < 64; i++)
		close(fds[i]);
	hangup_case(getppid()); /* grb record */

	/* Then an honest registration records. */
	ch = grb_session_channel(&cfg, "session_bad", events, 1);
	if (!ch) {
		printf("session_bad: the honest registration failed: %s\n", grb_last_error());
		return 1;
	}
	for (n = 0; n < 10; n++)
		if (bad_ok_write(&cfg, ch, n))
			failures++;
	/* A child of fork: its copy of the channel is disabled (nothing goes
	 * into the parent's streams) and it cannot close the parent's. */
	pid = fork();
	if (pid == 0)
		_exit(bad_ok_write(&cfg, ch, 99) == -EAGAIN && grb_session_close(ch) == -EINVAL ?
			      0 :
			      1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("session_bad: the child of fork could write or close its parent's channel\n");
		failures++;
	}
	if (grb_session_close(ch))
		failures++;
	printf("session_bad: %d refusals, %d failures\n", refusals, failures);
	return failures ? 1 : 0;
}
