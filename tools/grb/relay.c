// SPDX-License-Identifier: MIT
/*
 * relay.c - grb record --relay: stream a fed CTF trace to an unmodified
 * lttng-relayd, live (doc/relay.md).
 *
 * The relay daemon takes a producer on two TCP connections: control
 * (commands, each answered but SEND_METADATA) and data (packets).  Every
 * integer is big-endian and every structure packed; the CTF packets and
 * metadata go as they are.  The producer announces its protocol version,
 * creates a session (and, from 2.11 on, a trace chunk), adds a stream per
 * file (the one named "metadata" is the metadata), sends the metadata in
 * CTF metadata packets (a viewer decodes each fetch on its own), each data
 * packet with its index entry, and a beacon (an index entry without a
 * packet: "nothing in this stream before T") for each stream that has
 * nothing new in a live-timer period.  At the end it rotates the streams
 * to no chunk, closes the chunk and the streams, so that an attached
 * viewer gets the last packet.
 *
 * Three parts:
 *   - connecting (relay_connect): synchronous, in the recorder's thread,
 *     before anything is traced;
 *   - the sink (grb_ctf_trace_set_sink) and the live timer (relay_tick):
 *     in the recorder's thread, they only copy into a queue of bounded
 *     size, under a mutex; what does not fit, or comes after the relay
 *     was lost, is counted;
 *   - the sender thread: everything that touches the sockets.  A failed
 *     send or reply loses the relay: the sockets close, and what is
 *     queued and what comes later is counted as not sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#include "grb_tool.h"
#include "relay.h"

/* Commands (lttng-tools' enum lttcomm_relayd_command). */
#define CMD_ADD_STREAM 1
#define CMD_CREATE_SESSION 2
#define CMD_VERSION 5
#define CMD_SEND_METADATA 6
#define CMD_CLOSE_STREAM 7
#define CMD_DATA_PENDING 8
#define CMD_SEND_INDEX 13
#define CMD_STREAMS_SENT 16
#define CMD_ROTATE_STREAMS 18
#define CMD_CREATE_TRACE_CHUNK 19
#define CMD_CLOSE_TRACE_CHUNK 20

#define LTTNG_OK 10 /* enum lttng_error_code */
#define CHUNK_CLOSE_NO_OPERATION 1 /* enum lttng_trace_chunk_command_type */

#define CTRL_HEADER 24 /* u64 circuit, u64 size, u32 cmd, u32 version */
#define DATA_HEADER 32 /* u64 circuit, u64 stream, u64 seq, u32 size, u32 pad */
#define INDEX_SIZE 80 /* from 2.8; 64 before */
/* The fixed-size names of protocols 2.4 to 2.10. */
#define OLD_SESSION_NAME 255
#define OLD_HOSTNAME 64
#define OLD_CHANNEL_NAME 264
#define OLD_PATHNAME 4096

/* CTF metadata packets: a 37-byte header, then the text. */
#define META_MAGIC 0x75D11D57u
#define META_HEADER 37
#define META_PACKET 4096

#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 10
/* How long the session stays open once everything is on the relay: a live
 * viewer that has not asked for a stream's last packets when the session
 * ends stops there (babeltrace2 2.0 polls an idle stream every 100 ms). */
#define VIEWER_GRACE_MS 500
/* Where the streams' files go in the session's directory on the relay. */
#define STREAM_PATH "grb"

enum qtype { Q_META, Q_STREAM, Q_PACKET, Q_BEACON, Q_END };

/* What the recorder's thread queues for the sender. */
struct qent {
	struct qent *next;
	enum qtype type;
	uint32_t stream; /* Q_STREAM, Q_PACKET, Q_BEACON */
	int opening; /* Q_PACKET: the relay's own empty first packet */
	uint64_t len; /* bytes at data */
	uint64_t records; /* Q_PACKET */
	uint64_t ts; /* Q_BEACON: timestamp_end */
	struct grb_ctf_index_entry e; /* Q_PACKET, its packet_seq_num the relay's */
	char *name; /* Q_STREAM */
	unsigned char data[]; /* Q_META: metadata packets; Q_PACKET: the packet */
};

/* A stream as the sender knows it. */
struct tx_stream {
	uint64_t id; /* the relay's */
	uint64_t net_seq; /* the next packet's on the data connection */
	uint64_t pkt_seq; /* the next CTF packet_seq_num */
	uint64_t cls; /* its stream class (the index's stream_id) */
};

/* A stream as the recorder's thread knows it (the live timer). */
struct rec_stream {
	uint64_t last_ts; /* the latest end queued: a packet's, a beacon's */
	uint64_t reserved; /* at the last look */
	uint64_t looked; /* the clock just before the last look */
	uint64_t cls, instance;
	int seen; /* reserved was read at the last look */
	int opened; /* its empty first packet is queued */
	unsigned char open_hdr[GRB_CTF_PACKET_HEADER_SIZE]; /* that packet */
};

struct relay {
	/* The options, and the URL's parts. */
	char url[512], hostname[RELAY_HOSTNAME_MAX + 1], session[RELAY_SESSION_MAX + 1];
	char host[256], ctrl_port[8], data_port[8], base_path[256];
	int family;
	uint64_t live_timer_us;
	uint32_t announce;
	uint64_t (*clock)(void); /* the trace's: the beacons' times */

	int cfd, dfd; /* -1 once closed */
	uint32_t minor; /* negotiated */
	uint64_t session_id;
	char path[512]; /* the session's directory on the relay */
	char stream_path[OLD_PATHNAME]; /* the streams' pathname */
	uint8_t uuid[16]; /* the trace's */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qent *head, *tail; /* under lock */
	uint64_t queued; /* bytes of packets queued, under lock */
	int failed; /* under lock: the relay is lost */
	char err[256]; /* why, under lock */
	int thread_started;
	pthread_t thread;
	/* Under lock: the trace's packets (not the relay's opening ones). */
	uint64_t sent_packets, sent_events, sent_bytes, beacons;
	uint64_t full_packets, full_events; /* dropped: the queue was full */
	uint64_t lost_packets, lost_events; /* not sent: the relay was lost */
	int finished; /* the teardown went through */
	struct qent *end; /* the last entry, made before it is needed */

	/* The recorder's thread's. */
	int predate; /* the records are older than their streams (recovered) */
	struct grb_ctf_trace *t;
	struct rec_stream *rs;
	uint32_t nr_rs, cap_rs;
	uint64_t next_round;
	int reported;

	/* The sender's. */
	struct tx_stream *tx;
	uint32_t nr_tx, cap_tx;
	uint64_t meta_id;
	int meta_added, unannounced; /* streams added since STREAMS_SENT */
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static uint64_t hdr64(const void *hdr, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)hdr + off, 8);
	return v;
}

static uint32_t hdr32(const void *hdr, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)hdr + off, 4);
	return v;
}

const char *relay_name_error(const char *name, size_t max)
{
	size_t i, n = strlen(name);

	if (!n)
		return "empty";
	if (n > max)
		return "too long";
	if (name[0] == '.')
		return "starts with '.'";
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/')
			return "has a '/'";
		if (c <= ' ' || c >= 0x7f)
			return "has a space, a control or a non-ASCII character";
	}
	return NULL;
}

static int parse_port(const char *s, size_t n, char *out)
{
	unsigned long v = 0;
	size_t i;

	if (!n || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -1;
	snprintf(out, 8, "%lu", v);
	return 0;
}

/* net://HOST[:CTRL[:DATA]][/PATH] or net6://HOST-or-[ADDR][...]. */
static int parse_url(struct relay *r, const char *url, char *err, size_t size)
{
	const char *p, *host, *end;
	size_t n;

	if (!strncmp(url, "net://", 6)) {
		r->family = AF_INET;
		p = url + 6;
	} else if (!strncmp(url, "net6://", 7)) {
		r->family = AF_INET6;
		p = url + 7;
	} else {
		snprintf(err, size, "%s: expected net://HOST[:CTRL_PORT[:DATA_PORT]] (or net6://)",
			 url);
		return -1;
	}
	if (*p == '[') {
		host = ++p;
		end = strchr(p, ']');
		if (!end) {
			snprintf(err, size, "%s: no ']' after the address", url);
			return -1;
		}
		n = (size_t)(end - host);
		p = end + 1;
	} else {
		host = p;
		n = strcspn(p, ":/");
		p += n;
	}
	if (!n || n >= sizeof(r->host)) {
		snprintf(err, size, "%s: no host, or a host name too long", url);
		return -1;
	}
	memcpy(r->host, host, n);
	r->host[n] = 0;
	snprintf(r->ctrl_port, sizeof(r->ctrl_port), "5342");
	snprintf(r->data_port, sizeof(r->data_port), "5343");
	if (*p == ':') {
		p++;
		n = strcspn(p, ":/");
		if (parse_port(p, n, r->ctrl_port)) {
			snprintf(err, size, "%s: the control port is not 1 to 65535", url);
			return -1;
		}
		p += n;
		if (*p == ':') {
			p++;
			n = strcspn(p, "/");
			if (parse_port(p, n, r->data_port)) {
				snprintf(err, size, "%s: the data port is not 1 to 65535", url);
				return -1;
			}
			p += n;
		}
	}
	r->base_path[0] = 0;
	if (*p == '/') {
		const char *c;

		p++;
		n = strlen(p);
		while (n && p[n - 1] == '/')
			n--;
		if (n >= sizeof(r->base_path)) {
			snprintf(err, size, "%s: the path is too long", url);
			return -1;
		}
		memcpy(r->base_path, p, n);
		r->base_path[n] = 0;
		/* Each component a name the relay takes: no "..", no hidden. */
		for (c = r->base_path; *c;) {
			size_t len = strcspn(c, "/");

			if (!len || c[0] == '.') {
				snprintf(
					err, size,
					"%s: the path's components must be names not starting with "
					"'.'",
					url);
				return -1;
			}
			c += len;
			if (*c)
				c++;
		}
	} else if (*p) {
		snprintf(err, size, "%s: unexpected \"%s\"", url, p);
		return -1;
	}
	return 0;
}

int relay_check_url(const char *url, char *err, size_t size)
{
	struct relay r;

	memset(&r, 0, sizeof(r));
	return parse_url(&r, url, err, size);
}

/* A connected TCP socket with send and receive timeouts, or -1 with why. */
static int tcp_connect(struct relay *r, const char *port, const char *what, char *err, size_t size)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int fd = -1, ret, one = 1, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = r->family;
	hints.ai_socktype = SOCK_STREAM;
	ret = getaddrinfo(r->host, port, &hints, &res);
	if (ret) {
		snprintf(err, size, "%s: %s", r->host, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(saved);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			saved = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			ret = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
		while (ret < 0 && errno == EINTR);
		if (ret == 0)
			saved = ETIMEDOUT;
		else if (ret < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &saved, &len))
			saved = errno;
		if (!saved)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, size, "connecting to the %s port %s:%s: %s", what, r->host, port,
			 strerror(saved ? saved : ECONNREFUSED));
		return -1;
	}
	/* Blocking from now on, but never for ever: a relay that takes or
	 * answers nothing for IO_TIMEOUT_S is lost. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		snprintf(err, size, "the %s connection: %s", what, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Why a send or receive failed (errno e; 0: the relay closed it). */
static void io_error(int e, const char *what, char *err, size_t size)
{
	if (!e)
		snprintf(err, size, "%s: the relay closed the connection", what);
	else if (e == EAGAIN || e == EWOULDBLOCK)
		snprintf(err, size, "%s: nothing moved for %d s", what, IO_TIMEOUT_S);
	else
		snprintf(err, size, "%s: %s", what, strerror(e));
}

/* Send every byte of the vector; 0, or -1 with why. */
static int send_all(int fd, struct iovec *iov, int n, const char *what, char *err, size_t size)
{
	struct msghdr m;

	memset(&m, 0, sizeof(m));
	while (n) {
		ssize_t w;

		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			io_error(errno, what, err, size);
			return -1;
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len, const char *what, char *err, size_t size)
{
	char *p = (char *)buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			io_error(n ? errno : 0, what, err, size);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A control command: its header and payload (and more bytes after). */
static int ctrl_send(struct relay *r, uint32_t cmd, const void *payload, size_t len,
		     const void *more, size_t more_len, const char *what, char *err, size_t size)
{
	unsigned char h[CTRL_HEADER];
	struct iovec iov[3];

	memset(h, 0, sizeof(h));
	put64(h + 8, len + more_len);
	put32(h + 16, cmd);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)more;
	iov[2].iov_len = more_len;
	return send_all(r->cfd, iov, more_len ? 3 : len ? 2 : 1, what, err, size);
}

/* A reply of one u32 status: 0 if LTTNG_OK, else -1 with why. */
static int ctrl_status(struct relay *r, const char *what, char *err, size_t size)
{
	unsigned char b[4];
	uint32_t v;

	if (recv_all(r->cfd, b, sizeof(b), what, err, size))
		return -1;
	v = get32(b);
	if (v != LTTNG_OK) {
		snprintf(err, size, "%s: the relay refused it (error %u)", what, v);
		return -1;
	}
	return 0;
}

static uint64_t realtime_s(void)
{
	return (uint64_t)time(NULL);
}

static int do_version(struct relay *r, char *err, size_t size)
{
	unsigned char b[8];
	uint32_t major, minor;

	put32(b, 2);
	put32(b + 4, r->announce);
	if (ctrl_send(r, CMD_VERSION, b, sizeof(b), NULL, 0, "version", err, size) ||
	    recv_all(r->cfd, b, sizeof(b), "version", err, size))
		return -1;
	major = get32(b);
	minor = get32(b + 4);
	if (major != 2) {
		snprintf(err, size, "the relay speaks protocol %u.%u; this grb speaks 2.x", major,
			 minor);
		return -1;
	}
	/* Each side uses the older of the two. */
	r->minor = minor < r->announce ? minor : r->announce;
	if (r->minor < 4) {
		snprintf(err, size,
			 "the relay speaks protocol 2.%u: live streaming needs 2.4 or later",
			 minor);
		return -1;
	}
	return 0;
}

static int do_create_session(struct relay *r, char *err, size_t size)
{
	unsigned char b[64], reply[16];

	if (r->minor >= 11) {
		size_t ns = strlen(r->session) + 1, nh = strlen(r->hostname) + 1;
		size_t nb = strlen(r->base_path) + 1, len = 59 + ns + nh + nb, off = 59;
		unsigned char *p = (unsigned char *)calloc(1, len);
		uint8_t uuid[16];
		uint32_t plen;
		int ret;

		if (!p) {
			snprintf(err, size, "out of memory");
			return -1;
		}
		/* Any UUID but the nil one names this producer. */
		if (getrandom(uuid, sizeof(uuid), 0) != (ssize_t)sizeof(uuid)) {
			snprintf(err, size, "getrandom: %s", strerror(errno));
			free(p);
			return -1;
		}
		uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
		uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
		put32(p, (uint32_t)ns);
		put32(p + 4, (uint32_t)nh);
		put32(p + 8, (uint32_t)nb);
		put32(p + 12, (uint32_t)r->live_timer_us); /* non-zero: a live session */
		p[16] = 0; /* not a snapshot */
		p[17] = 0; /* the relay adds the date to the directory */
		memcpy(p + 18, uuid, 16);
		put64(p + 34, (uint64_t)getpid()); /* the producer's session id */
		put64(p + 42, realtime_s());
		p[50] = 0; /* no current chunk: we create it */
		memcpy(p + off, r->session, ns);
		off += ns;
		memcpy(p + off, r->hostname, nh);
		off += nh;
		memcpy(p + off, r->base_path, nb);
		ret = ctrl_send(r, CMD_CREATE_SESSION, p, len, NULL, 0, "creating the session", err,
				size);
		free(p);
		if (ret || recv_all(r->cfd, reply, 16, "creating the session", err, size))
			return -1;
		r->session_id = get64(reply);
		plen = get32(reply + 12);
		if (get32(reply + 8) != LTTNG_OK || plen > sizeof(r->path) || !plen) {
			snprintf(err, size, "creating the session: the relay refused it (error %u)",
				 get32(reply + 8));
			return -1;
		}
		if (recv_all(r->cfd, r->path, plen, "creating the session", err, size))
			return -1;
		r->path[plen - 1] = 0;
		/* The first chunk of a session never rotated is its directory. */
		put64(b, 0);
		put64(b + 8, realtime_s());
		put32(b + 16, 0); /* no name */
		if (ctrl_send(r, CMD_CREATE_TRACE_CHUNK, b, 20, NULL, 0, "creating the trace chunk",
			      err, size) ||
		    ctrl_status(r, "creating the trace chunk", err, size))
			return -1;
		snprintf(r->stream_path, sizeof(r->stream_path), "%s", STREAM_PATH);
	} else {
		unsigned char p[OLD_SESSION_NAME + OLD_HOSTNAME + 8];
		char date[32];
		time_t now = time(NULL);
		struct tm tm;

		memset(p, 0, sizeof(p));
		memcpy(p, r->session, strlen(r->session));
		memcpy(p + OLD_SESSION_NAME, r->hostname, strlen(r->hostname));
		put32(p + OLD_SESSION_NAME + OLD_HOSTNAME, (uint32_t)r->live_timer_us);
		put32(p + OLD_SESSION_NAME + OLD_HOSTNAME + 4, 0);
		if (ctrl_send(r, CMD_CREATE_SESSION, p, sizeof(p), NULL, 0, "creating the session",
			      err, size) ||
		    recv_all(r->cfd, reply, 12, "creating the session", err, size))
			return -1;
		r->session_id = get64(reply);
		if (get32(reply + 8) != LTTNG_OK) {
			snprintf(err, size, "creating the session: the relay refused it (error %u)",
				 get32(reply + 8));
			return -1;
		}
		/* Before 2.11 the producer names the directory, relative to the
		 * relay's output, as a session daemon would. */
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y%m%d-%H%M%S", &tm);
		if (r->base_path[0])
			snprintf(r->path, sizeof(r->path), "%s/%s", r->hostname, r->base_path);
		else
			snprintf(r->path, sizeof(r->path), "%s/%s-%s", r->hostname, r->session,
				 date);
		snprintf(r->stream_path, sizeof(r->stream_path), "%s/%s", r->path, STREAM_PATH);
	}
	return 0;
}

static void close_fds(struct relay *r)
{
	if (r->cfd >= 0)
		close(r->cfd);
	if (r->dfd >= 0)
		close(r->dfd);
	r->cfd = r->dfd = -1;
}

struct relay *relay_connect(const struct relay_opts *o, char *err, size_t size)
{
	struct relay *r = (struct relay *)calloc(1, sizeof(*r));
	const char *why;

	if (!r) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	r->cfd = r->dfd = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	snprintf(r->url, sizeof(r->url), "%s", o->url);
	if ((why = relay_name_error(o->hostname, RELAY_HOSTNAME_MAX))) {
		snprintf(err, size,
			 "host name \"%s\": %s (the relay's viewers take at most %u bytes"
			 ", no '/', not starting with '.')",
			 o->hostname, why, RELAY_HOSTNAME_MAX);
		goto fail;
	}
	if ((why = relay_name_error(o->session, RELAY_SESSION_MAX))) {
		snprintf(err, size, "session name \"%s\": %s", o->session, why);
		goto fail;
	}
	snprintf(r->hostname, sizeof(r->hostname), "%s", o->hostname);
	snprintf(r->session, sizeof(r->session), "%s", o->session);
	r->live_timer_us = o->live_timer_us;
	r->announce = o->minor;
	r->clock = o->clock ? o->clock : grb_clock_monotonic;
	if (parse_url(r, o->url, err, size))
		goto fail;
	r->cfd = tcp_connect(r, r->ctrl_port, "control", err, size);
	if (r->cfd < 0)
		goto fail;
	r->dfd = tcp_connect(r, r->data_port, "data", err, size);
	if (r->dfd < 0 || do_version(r, err, size) || do_create_session(r, err, size))
		goto fail;
	return r;
fail:
	relay_free(r);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The options of the commands that stream. */

void relay_cli_init(struct relay_cli *c)
{
	memset(c, 0, sizeof(*c));
	c->live_timer_ms = 1000;
	c->minor = 13;
}

/* A whole number from 1 to max: 1, or 0. */
static int cli_number(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !v || v > max)
		return 0;
	*out = v;
	return 1;
}

int relay_cli_option(struct relay_cli *c, int opt, const char *arg, const char *prog)
{
	char err[256];
	const char *why;

	switch (opt) {
	case RELAY_OPT_HOSTNAME:
		why = relay_name_error(arg, RELAY_HOSTNAME_MAX);
		if (why) {
			fprintf(stderr,
				"%s: --hostname %s: %s (at most %u bytes, no '/', no space, not "
				"starting with '.': what lttng-relayd and its viewers take)\n",
				prog, arg, why, RELAY_HOSTNAME_MAX);
			return 2;
		}
		c->hostname = arg;
		return 0;
	case RELAY_OPT_RELAY:
		if (relay_check_url(arg, err, sizeof(err))) {
			fprintf(stderr, "%s: --relay %s\n", prog, err);
			return 2;
		}
		c->url = arg;
		return 0;
	case RELAY_OPT_LIVE_TIMER:
		if (!cli_number(arg, 3600000, &c->live_timer_ms)) {
			fprintf(stderr,
				"%s: --live-timer %s: expected milliseconds, 1 to 3600000\n", prog,
				arg);
			return 2;
		}
		c->relay_only = 1;
		return 0;
	case RELAY_OPT_FALLBACK:
		c->fallback = 1;
		c->relay_only = 1;
		return 0;
	case RELAY_OPT_PROTOCOL:
		if (strncmp(arg, "2.", 2) || !cli_number(arg + 2, 13, &c->minor) || c->minor < 4) {
			fprintf(stderr, "%s: --relay-protocol %s: expected 2.4 to 2.13\n", prog,
				arg);
			return 2;
		}
		c->relay_only = 1;
		return 0;
	}
	return -1;
}

int relay_cli_check(const struct relay_cli *c, const char *prog)
{
	if (c->relay_only && !c->url) {
		fprintf(stderr,
			"%s: --live-timer, --relay-fallback and --relay-protocol go with --relay "
			"URL\n",
			prog);
		return 2;
	}
	return 0;
}

const char *relay_cli_hostname(const struct relay_cli *c, char *buf, size_t size, const char *prog,
			       int *bad)
{
	const char *why;

	*bad = 0;
	if (c->hostname || !c->url)
		return c->hostname;
	if (gethostname(buf, size))
		snprintf(buf, size, "localhost");
	buf[size - 1] = 0;
	why = relay_name_error(buf, RELAY_HOSTNAME_MAX);
	if (why) {
		fprintf(stderr,
			"%s: --relay: this machine's name \"%s\" %s for the relay (at most %u "
			"bytes): give one with --hostname NAME\n",
			prog, buf, why, RELAY_HOSTNAME_MAX);
		*bad = 1;
		return NULL;
	}
	return buf;
}

struct relay *relay_cli_connect(const struct relay_cli *c, const char *prog, const char *dir,
				const char *hostname, uint64_t (*clock)(void), const char *doing,
				const char *done, int *unreached)
{
	const char *base = strrchr(dir, '/'), *why;
	struct relay_opts ro;
	struct relay *r;
	char err[512];

	*unreached = 0;
	base = base && base[1] ? base + 1 : dir;
	why = relay_name_error(base, RELAY_SESSION_MAX);
	if (why) {
		fprintf(stderr,
			"%s: --relay: the session is named after the trace directory, and \"%s\" "
			"%s: choose another with -o DIR\n",
			prog, base, why);
		return NULL;
	}
	memset(&ro, 0, sizeof(ro));
	ro.url = c->url;
	ro.hostname = hostname;
	ro.session = base;
	ro.live_timer_us = c->live_timer_ms * 1000;
	ro.minor = (uint32_t)c->minor;
	ro.clock = clock;
	r = relay_connect(&ro, err, sizeof(err));
	if (r)
		return r;
	fprintf(stderr, "%s: relay %s: %s\n", prog, c->url, err);
	if (!c->fallback) {
		fprintf(stderr,
			"%s: nothing %s (--relay-fallback writes %s alone when the relay is out of "
			"reach)\n",
			prog, done, dir);
		return NULL;
	}
	fprintf(stderr, "%s: --relay-fallback: %s into %s only\n", prog, doing, dir);
	*unreached = 1;
	return NULL;
}

uint32_t relay_minor(const struct relay *r)
{
	return r->minor;
}

const char *relay_path(const struct relay *r)
{
	return r->path;
}

void relay_viewer_url(const struct relay *r, char *buf, size_t size)
{
	int v6 = r->family == AF_INET6;

	snprintf(buf, size, "net%s://%s%s%s/host/%s/%s", v6 ? "6" : "", v6 ? "[" : "", r->host,
		 v6 ? "]" : "", r->hostname, r->session);
}

/* ------------------------------------------------------------------------ */
/* The sender thread. */

static struct tx_stream *tx_at(struct relay *r, uint32_t i)
{
	return i < r->nr_tx ? &r->tx[i] : NULL;
}

static int add_stream(struct relay *r, const char *name, uint64_t *id, char *err, size_t size)
{
	unsigned char reply[12];
	int ret;

	if (r->minor >= 11) {
		size_t nn = strlen(name) + 1, np = strlen(r->stream_path) + 1;
		unsigned char p[32];

		put32(p, (uint32_t)nn);
		put32(p + 4, (uint32_t)np);
		put64(p + 8, 0); /* one file, unbounded */
		put64(p + 16, 0);
		put64(p + 24, 0); /* the chunk: the current one */
		{
			unsigned char *names = (unsigned char *)malloc(nn + np);

			if (!names) {
				snprintf(err, size, "out of memory");
				return -1;
			}
			memcpy(names, name, nn);
			memcpy(names + nn, r->stream_path, np);
			ret = ctrl_send(r, CMD_ADD_STREAM, p, sizeof(p), names, nn + np,
					"adding a stream", err, size);
			free(names);
		}
	} else {
		unsigned char *p = (unsigned char *)calloc(1, OLD_CHANNEL_NAME + OLD_PATHNAME + 16);

		if (!p) {
			snprintf(err, size, "out of memory");
			return -1;
		}
		snprintf((char *)p, OLD_CHANNEL_NAME, "%s", name);
		snprintf((char *)p + OLD_CHANNEL_NAME, OLD_PATHNAME, "%s", r->stream_path);
		ret = ctrl_send(r, CMD_ADD_STREAM, p, OLD_CHANNEL_NAME + OLD_PATHNAME + 16, NULL, 0,
				"adding a stream", err, size);
		free(p);
	}
	if (ret || recv_all(r->cfd, reply, sizeof(reply), "adding a stream", err, size))
		return -1;
	if (get32(reply + 8) != LTTNG_OK) {
		snprintf(err, size, "adding stream %s: the relay refused it (error %u)", name,
			 get32(reply + 8));
		return -1;
	}
	*id = get64(reply);
	return 0;
}

static int streams_sent(struct relay *r, char *err, size_t size)
{
	if (!r->unannounced)
		return 0;
	r->unannounced = 0;
	return ctrl_send(r, CMD_STREAMS_SENT, NULL, 0, NULL, 0, "announcing the streams", err,
			 size) ||
	       ctrl_status(r, "announcing the streams", err, size);
}

/* SEND_INDEX: a packet's entry, or a beacon (packet_size 0). */
static int send_index(struct relay *r, const struct tx_stream *s, uint64_t net_seq,
		      const struct grb_ctf_index_entry *e, const char *what, char *err, size_t size)
{
	unsigned char p[INDEX_SIZE];

	put64(p, s->id);
	put64(p + 8, net_seq);
	put64(p + 16, e->packet_size);
	put64(p + 24, e->content_size);
	put64(p + 32, e->timestamp_begin);
	put64(p + 40, e->timestamp_end);
	put64(p + 48, e->events_discarded);
	put64(p + 56, e->stream_id);
	put64(p + 64, e->stream_instance_id);
	put64(p + 72, e->packet_seq_num);
	/* Before 2.8 the entry ends at stream_id. */
	return ctrl_send(r, CMD_SEND_INDEX, p, r->minor >= 8 ? INDEX_SIZE : 64, NULL, 0, what, err,
			 size) ||
	       ctrl_status(r, what, err, size);
}

static int send_beacon(struct relay *r, const struct tx_stream *s, uint64_t ts, char *err,
		       size_t size)
{
	struct grb_ctf_index_entry e;

	memset(&e, 0, sizeof(e));
	e.timestamp_end = ts;
	e.stream_id = s->cls;
	/* The last packet's number, as LTTng sends (the relay reads none). */
	return send_index(r, s, s->net_seq - 1, &e, "sending a beacon", err, size);
}

static int send_packet(struct relay *r, struct tx_stream *s, const struct qent *q, char *err,
		       size_t size)
{
	unsigned char h[DATA_HEADER];
	struct iovec iov[2];
	/* What the packet holds; the relay writes the rest of packet_size
	 * as zeros (this client's packets have none). */
	uint64_t data = (q->e.content_size + 7) / 8, pad = q->e.packet_size / 8;

	if (data > q->len || pad < data || pad - data > UINT32_MAX) {
		snprintf(err, size,
			 "a packet of %" PRIu64 " bytes with sizes %" PRIu64 "/%" PRIu64 " bits",
			 q->len, q->e.content_size, q->e.packet_size);
		return -1;
	}
	pad -= data;
	memset(h, 0, sizeof(h));
	put64(h + 8, s->id);
	put64(h + 16, s->net_seq);
	put32(h + 24, (uint32_t)data);
	put32(h + 28, (uint32_t)pad);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)q->data;
	iov[1].iov_len = (size_t)data;
	if (send_all(r->dfd, iov, 2, "sending a packet", err, size) ||
	    send_index(r, s, s->net_seq, &q->e, "sending a packet's index", err, size))
		return -1;
	s->net_seq++;
	s->pkt_seq = q->e.packet_seq_num + 1;
	return 0;
}

/* Until the relay wrote every packet sent (it reads the data connection
 * apart from the control one): as `lttng stop`, DATA_PENDING for each
 * stream's last packet, again every 10 ms, for at most IO_TIMEOUT_S. */
static int wait_received(struct relay *r, char *err, size_t size)
{
	uint64_t deadline = now_ns() + IO_TIMEOUT_S * 1000000000ull;
	struct timespec ts = { 0, 10000000 };
	uint32_t i, pending;

	for (;;) {
		pending = 0;
		for (i = 0; i < r->nr_tx; i++) {
			unsigned char p[16], b[4];
			uint32_t v;

			if (!r->tx[i].net_seq)
				continue;
			put64(p, r->tx[i].id);
			put64(p + 8, r->tx[i].net_seq - 1);
			if (ctrl_send(r, CMD_DATA_PENDING, p, sizeof(p), NULL, 0,
				      "asking for the data pending", err, size) ||
			    recv_all(r->cfd, b, sizeof(b), "asking for the data pending", err,
				     size))
				return -1;
			v = get32(b);
			if (v > 1) {
				snprintf(
					err, size,
					"asking for the data pending: the relay refused it (error %u)",
					v);
				return -1;
			}
			pending += v;
		}
		if (!pending)
			return 0;
		if (now_ns() > deadline) {
			snprintf(
				err, size,
				"the relay did not write the last packets of %u streams within %d s",
				pending, IO_TIMEOUT_S);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

/* The summary's beacons: those the sender sends itself, at the end. */
static void count_beacons(struct relay *r, uint32_t n)
{
	pthread_mutex_lock(&r->lock);
	r->beacons += n;
	pthread_mutex_unlock(&r->lock);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* What `lttng stop` and `lttng destroy` do: wait until the relay wrote
 * every packet; a last beacon for each stream (every one ended: nothing
 * comes after now), without which a viewer waits on a stream that got
 * none yet (its first beacon comes two periods after it was added); the
 * streams rotate to no chunk (the relay keeps each until its last packet
 * arrived, and a viewer reads to it), the chunk closes as it is; the
 * session stays open for VIEWER_GRACE_MS, so that an attached viewer asks
 * for the last packets before it learns that it ended; then the streams
 * close. */
static int teardown(struct relay *r, char *err, size_t size)
{
	unsigned char b[21];
	uint32_t i;

	if (streams_sent(r, err, size) || wait_received(r, err, size))
		return -1;
	for (i = 0; i < r->nr_tx; i++)
		if (send_beacon(r, &r->tx[i], r->clock(), err, size))
			return -1;
	count_beacons(r, r->nr_tx);
	if (r->minor >= 11) {
		size_t len = 13 + 16 * ((size_t)r->nr_tx + 1);
		unsigned char *p = (unsigned char *)calloc(1, len), reply[8];
		uint32_t plen;
		char path[512];
		int ret;

		if (!p) {
			snprintf(err, size, "out of memory");
			return -1;
		}
		put32(p, r->nr_tx + 1);
		p[4] = 0; /* to no chunk */
		put64(p + 5, 0);
		for (i = 0; i < r->nr_tx; i++) {
			put64(p + 13 + 16 * i, r->tx[i].id);
			put64(p + 13 + 16 * i + 8, r->tx[i].pkt_seq);
		}
		put64(p + 13 + 16 * i, r->meta_id);
		put64(p + 13 + 16 * i + 8, 0);
		ret = ctrl_send(r, CMD_ROTATE_STREAMS, p, len, NULL, 0, "rotating the streams", err,
				size) ||
		      ctrl_status(r, "rotating the streams", err, size);
		free(p);
		if (ret)
			return -1;
		put64(b, 0);
		put64(b + 8, realtime_s());
		b[16] = 1;
		put32(b + 17, CHUNK_CLOSE_NO_OPERATION);
		if (ctrl_send(r, CMD_CLOSE_TRACE_CHUNK, b, 21, NULL, 0, "closing the trace chunk",
			      err, size) ||
		    recv_all(r->cfd, reply, 8, "closing the trace chunk", err, size))
			return -1;
		plen = get32(reply + 4);
		if (get32(reply) != LTTNG_OK || plen > sizeof(path)) {
			snprintf(err, size,
				 "closing the trace chunk: the relay refused it (error %u)",
				 get32(reply));
			return -1;
		}
		if (plen && recv_all(r->cfd, path, plen, "closing the trace chunk", err, size))
			return -1;
		sleep_ms(VIEWER_GRACE_MS);
	} else {
		/* No rotation before 2.11: beacons for three periods (at least
		 * a third of the grace each, at most 1 s) let a viewer read to
		 * the end before the streams close. */
		uint64_t period = r->live_timer_us / 1000;
		int k;

		if (period > 1000)
			period = 1000;
		if (period < VIEWER_GRACE_MS / 3)
			period = VIEWER_GRACE_MS / 3;
		for (k = 0; k < 3; k++) {
			for (i = 0; i < r->nr_tx; i++)
				if (send_beacon(r, &r->tx[i], r->clock(), err, size))
					return -1;
			count_beacons(r, r->nr_tx);
			sleep_ms(period);
		}
	}
	for (i = 0; i <= r->nr_tx; i++) {
		unsigned char p[16];
		int meta = i == r->nr_tx;

		put64(p, meta ? r->meta_id : r->tx[i].id);
		put64(p + 8, meta ? UINT64_MAX : r->tx[i].net_seq - 1);
		if (ctrl_send(r, CMD_CLOSE_STREAM, p, sizeof(p), NULL, 0, "closing a stream", err,
			      size) ||
		    ctrl_status(r, "closing a stream", err, size))
			return -1;
	}
	return 0;
}

static int tx_stream_new(struct relay *r, const struct qent *q, char *err, size_t size)
{
	struct tx_stream *s;

	if (q->stream != r->nr_tx) {
		snprintf(err, size, "stream %u out of order", q->stream);
		return -1;
	}
	if (r->nr_tx == r->cap_tx) {
		uint32_t cap = r->cap_tx ? r->cap_tx * 2 : 64;
		struct tx_stream *n = (struct tx_stream *)realloc(r->tx, cap * sizeof(*n));

		if (!n) {
			snprintf(err, size, "out of memory");
			return -1;
		}
		r->tx = n;
		r->cap_tx = cap;
	}
	s = &r->tx[r->nr_tx];
	memset(s, 0, sizeof(*s));
	if (add_stream(r, q->name, &s->id, err, size))
		return -1;
	r->nr_tx++;
	r->unannounced = 1;
	return 0;
}

/* Send one entry: 0, or -1 with why (the relay is lost). */
static int tx(struct relay *r, const struct qent *q, char *err, size_t size)
{
	struct tx_stream *s;

	switch (q->type) {
	case Q_META:
		if (!r->meta_added) {
			if (add_stream(r, "metadata", &r->meta_id, err, size))
				return -1;
			r->meta_added = 1;
			r->unannounced = 1;
		}
		{
			unsigned char p[12];

			/* No reply to this one. */
			put64(p, r->meta_id);
			put32(p + 8, 0);
			return ctrl_send(r, CMD_SEND_METADATA, p, sizeof(p), q->data, q->len,
					 "sending the metadata", err, size);
		}
	case Q_STREAM:
		return tx_stream_new(r, q, err, size);
	case Q_PACKET:
	case Q_BEACON:
		s = tx_at(r, q->stream);
		if (!s) {
			snprintf(err, size, "no stream %u", q->stream);
			return -1;
		}
		/* Viewers see the streams added so far. */
		if (streams_sent(r, err, size))
			return -1;
		if (q->type == Q_BEACON)
			return send_beacon(r, s, q->ts, err, size);
		s->cls = q->e.stream_id;
		return send_packet(r, s, q, err, size);
	case Q_END:
		return teardown(r, err, size);
	}
	return 0;
}

static void *sender_main(void *arg)
{
	struct relay *r = (struct relay *)arg;
	char err[sizeof(r->err)];

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct qent *q;
		int failed, end, ret = 0;

		while (!r->head)
			pthread_cond_wait(&r->cond, &r->lock);
		q = r->head;
		r->head = q->next;
		if (!r->head)
			r->tail = NULL;
		if (q->type == Q_PACKET)
			r->queued -= q->len;
		failed = r->failed;
		pthread_mutex_unlock(&r->lock);

		if (!failed)
			ret = tx(r, q, err, sizeof(err));
		end = q->type == Q_END;

		pthread_mutex_lock(&r->lock);
		if (ret) {
			/* Lost: the sockets close now, so that the relay does
			 * not wait on a half-sent command. */
			r->failed = 1;
			snprintf(r->err, sizeof(r->err), "%s", err);
			close_fds(r);
		}
		if (q->type == Q_PACKET && !q->opening) {
			if (r->failed) {
				r->lost_packets++;
				r->lost_events += q->records;
			} else {
				r->sent_packets++;
				r->sent_events += q->records;
				r->sent_bytes += q->len;
			}
		} else if (q->type == Q_BEACON && !r->failed) {
			r->beacons++;
		} else if (end && !r->failed) {
			r->finished = 1;
		}
		free(q->name);
		free(q);
		if (end)
			break;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The recorder's side: the sink's callbacks and the live timer. */

/* Queue q, or count it if it cannot go: the relay is lost, or a packet
 * does not fit. */
static void enqueue(struct relay *r, struct qent *q)
{
	pthread_mutex_lock(&r->lock);
	/* Only the trace's packets are dropped: the metadata, the streams,
	 * their tiny first packets and the beacons always go. */
	if (q->type == Q_PACKET && !q->opening && !r->failed &&
	    r->queued + q->len > RELAY_QUEUE_MAX) {
		r->full_packets++;
		r->full_events += q->records;
		pthread_mutex_unlock(&r->lock);
		free(q->name);
		free(q);
		return;
	}
	if (r->failed && q->type != Q_END) {
		if (q->type == Q_PACKET && !q->opening) {
			r->lost_packets++;
			r->lost_events += q->records;
		}
		pthread_mutex_unlock(&r->lock);
		free(q->name);
		free(q);
		return;
	}
	if (q->type == Q_PACKET)
		r->queued += q->len;
	q->next = NULL;
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* The recorder's thread cannot go on with the relay: it is lost (the
 * sender sends nothing more, and closes it at the end). */
static void give_up(struct relay *r, const char *why)
{
	pthread_mutex_lock(&r->lock);
	if (!r->failed) {
		r->failed = 1;
		snprintf(r->err, sizeof(r->err), "%s", why);
	}
	pthread_mutex_unlock(&r->lock);
}

static struct qent *qent_new(struct relay *r, enum qtype type, size_t len)
{
	struct qent *q = (struct qent *)calloc(1, sizeof(*q) + len);

	if (!q) {
		give_up(r, "out of memory");
		return NULL;
	}
	q->type = type;
	q->len = len;
	return q;
}

/* The metadata in CTF metadata packets, each a header and up to
 * META_PACKET - META_HEADER bytes of the text, no padding. */
static void sink_metadata(void *arg, const uint8_t uuid[16], const char *text, size_t len)
{
	struct relay *r = (struct relay *)arg;
	size_t per = META_PACKET - META_HEADER, n = (len + per - 1) / per, i, off = 0;
	struct qent *q;

	memcpy(r->uuid, uuid, 16);
	if (!len)
		return;
	q = qent_new(r, Q_META, len + n * META_HEADER);
	if (!q)
		return;
	for (i = 0; i < n; i++) {
		unsigned char *h = q->data + off + i * META_HEADER;
		size_t chunk = len - off < per ? len - off : per;
		uint32_t magic = META_MAGIC, bits = (uint32_t)((META_HEADER + chunk) * 8);

		/* In the host's byte order, as the trace: readers tell it
		 * from the magic. */
		memcpy(h, &magic, 4);
		memcpy(h + 4, uuid, 16);
		memset(h + 20, 0, 4); /* no checksum */
		memcpy(h + 24, &bits, 4); /* content size */
		memcpy(h + 28, &bits, 4); /* packet size */
		h[32] = 0; /* no compression, encryption, checksum */
		h[33] = 0;
		h[34] = 0;
		h[35] = 1; /* CTF 1.8 */
		h[36] = 8;
		memcpy(h + META_HEADER, text + off, chunk);
		off += chunk;
	}
	enqueue(r, q);
}

/* Queue stream i's empty first packet, stamped ts (begin = end): a live
 * viewer waits for every stream to have something. */
static void open_stream(struct relay *r, uint32_t i, uint64_t ts)
{
	struct rec_stream *rs = &r->rs[i];
	struct qent *p;

	rs->opened = 1;
	p = qent_new(r, Q_PACKET, GRB_CTF_PACKET_HEADER_SIZE);
	if (!p)
		return;
	memcpy(rs->open_hdr + GRB_CTF_OFF_TS_BEGIN, &ts, 8);
	memcpy(rs->open_hdr + GRB_CTF_OFF_TS_END, &ts, 8);
	p->stream = i;
	p->opening = 1;
	memcpy(p->data, rs->open_hdr, GRB_CTF_PACKET_HEADER_SIZE);
	p->e.packet_size = GRB_CTF_PACKET_HEADER_SIZE * 8;
	p->e.content_size = GRB_CTF_PACKET_HEADER_SIZE * 8;
	p->e.timestamp_begin = ts;
	p->e.timestamp_end = ts;
	p->e.stream_id = rs->cls;
	p->e.stream_instance_id = rs->instance;
	p->e.packet_seq_num = 0;
	if (ts > rs->last_ts)
		rs->last_ts = ts;
	enqueue(r, p);
}

/* Stream i opened before its first packet or beacon at ts: with records
 * older than the stream (recovered), its empty first packet goes now,
 * stamped no later than them. */
static void open_before(struct relay *r, uint32_t i, uint64_t ts)
{
	uint64_t open_ts;

	if (r->rs[i].opened)
		return;
	memcpy(&open_ts, r->rs[i].open_hdr + GRB_CTF_OFF_TS_BEGIN, 8);
	open_stream(r, i, ts < open_ts ? ts : open_ts);
}

static void sink_stream(void *arg, uint32_t stream, const char *name, const void *open_packet)
{
	struct relay *r = (struct relay *)arg;
	struct rec_stream *rs;
	struct qent *q;

	if (stream != r->nr_rs) {
		give_up(r, "streams out of order");
		return;
	}
	if (r->nr_rs == r->cap_rs) {
		uint32_t cap = r->cap_rs ? r->cap_rs * 2 : 64;
		struct rec_stream *n = (struct rec_stream *)realloc(r->rs, cap * sizeof(*n));

		if (!n) {
			give_up(r, "out of memory");
			return;
		}
		r->rs = n;
		r->cap_rs = cap;
	}
	rs = &r->rs[r->nr_rs++];
	memset(rs, 0, sizeof(*rs));
	rs->cls = hdr32(open_packet, GRB_CTF_OFF_STREAM_ID);
	rs->instance = hdr64(open_packet, GRB_CTF_OFF_INSTANCE);
	memcpy(rs->open_hdr, open_packet, GRB_CTF_PACKET_HEADER_SIZE);
	q = qent_new(r, Q_STREAM, 0);
	if (q)
		q->name = strdup(name);
	if (!q || !q->name) {
		give_up(r, "out of memory");
		free(q);
		return;
	}
	q->stream = stream;
	enqueue(r, q);
	/* Its records come after the time of the empty packet, unless they
	 * are older than the stream (r->predate): then it waits for them. */
	if (!r->predate)
		open_stream(r, stream, hdr64(open_packet, GRB_CTF_OFF_TS_END));
}

static void sink_packet(void *arg, uint32_t stream, const void *header, const void *body,
			uint64_t len, const struct grb_ctf_index_entry *e, uint64_t records)
{
	struct relay *r = (struct relay *)arg;
	struct qent *q;
	uint64_t seq;

	if (stream >= r->nr_rs || len < GRB_CTF_PACKET_HEADER_SIZE)
		return;
	open_before(r, stream, e->timestamp_begin);
	q = qent_new(r, Q_PACKET, (size_t)len);
	if (!q) {
		pthread_mutex_lock(&r->lock);
		r->lost_packets++;
		r->lost_events += records;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	q->stream = stream;
	q->records = records;
	q->e = *e;
	memcpy(q->data, header, GRB_CTF_PACKET_HEADER_SIZE);
	if (len > GRB_CTF_PACKET_HEADER_SIZE)
		memcpy(q->data + GRB_CTF_PACKET_HEADER_SIZE, body,
		       (size_t)(len - GRB_CTF_PACKET_HEADER_SIZE));
	/* The relay's stream has its own packet first: each packet of the
	 * file is one more there. */
	seq = e->packet_seq_num + 1;
	memcpy(q->data + GRB_CTF_OFF_SEQ, &seq, 8);
	q->e.packet_seq_num = seq;
	if (e->timestamp_end > r->rs[stream].last_ts)
		r->rs[stream].last_ts = e->timestamp_end;
	enqueue(r, q);
}

int relay_attach(struct relay *r, struct grb_ctf_trace *t, char *err, size_t size)
{
	struct grb_ctf_sink sink;
	sigset_t all, old;
	int ret;

	memset(&sink, 0, sizeof(sink));
	sink.size = sizeof(sink);
	sink.arg = r;
	sink.metadata = sink_metadata;
	sink.stream = sink_stream;
	sink.packet = sink_packet;
	r->t = t;
	r->end = (struct qent *)calloc(1, sizeof(*r->end));
	if (!r->end) {
		snprintf(err, size, "out of memory");
		return -1;
	}
	r->end->type = Q_END;
	ret = grb_ctf_trace_set_sink(t, &sink);
	if (ret) {
		snprintf(err, size, "the trace takes no sink: %s", strerror(-ret));
		return -1;
	}
	/* The sender takes no signal meant for the recorder's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&r->thread, NULL, sender_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(err, size, "starting the sender thread: %s", strerror(ret));
		return -1;
	}
	r->thread_started = 1;
	r->next_round = now_ns();
	return 0;
}

void relay_records_predate(struct relay *r)
{
	r->predate = 1;
}

const char *relay_error(const struct relay *r)
{
	return r->err;
}

/*
 * A beacon tells the viewer that a stream has nothing before its time, so
 * that it may show what the other streams have up to there.  It must be
 * true: a packet that comes later with an earlier event stops the viewer.
 * A record's timestamp is read before its reservation is published, so a
 * stream that looks empty now may still publish a record of a moment ago.
 * Hence, each round, for each stream, the clock read just before a look at
 * it:
 *  - ended (its writers are gone, all written): that time;
 *  - idle and owned by no thread (a per-thread stream of a thread that
 *    exited, or one that none ever wrote): that time too.  A thread
 *    claims a stream before it reads its clock for a record there, and
 *    the claim comes after the look (grb_ctf_trace_stream_quiet, [O4]);
 *  - idle (everything reserved is in packets written) and with the same
 *    reserved count as at the previous look: the previous look's time.
 *    A record older than that would have been reserved before the
 *    previous look and published after this one: its writer stopped for
 *    a whole period between reading the clock and publishing (doc/relay.md);
 *  - else nothing: its next packet tells the viewer.
 * Each stream's beacon has a time of its own: a viewer warns of streams
 * whose next messages are the same.
 */
static void beacon_round(struct relay *r)
{
	uint32_t i;

	for (i = 0; i < r->nr_rs; i++) {
		struct rec_stream *rs = &r->rs[i];
		uint64_t reserved = 0, ts = 0, now = r->clock();
		int idle = grb_ctf_trace_stream_quiet(r->t, i, &reserved);
		struct qent *q;

		/* Its writer keeps a packet open and reserved nothing for a
		 * whole period (a thread that waits): what it committed goes
		 * now, and the stream is idle if that is all it reserved. */
		if (!idle && rs->seen && reserved == rs->reserved &&
		    grb_ctf_trace_stream_take(r->t, i) > 0)
			idle = grb_ctf_trace_stream_quiet(r->t, i, &reserved);

		if (idle == 2 || idle == 3)
			ts = now;
		else if (idle == 1 && rs->seen && reserved == rs->reserved)
			ts = rs->looked;
		rs->seen = idle >= 0;
		rs->reserved = reserved;
		rs->looked = now;
		if (ts <= rs->last_ts)
			continue;
		open_before(r, i, ts); /* the relay ignores a beacon before it */
		q = qent_new(r, Q_BEACON, 0);
		if (!q)
			return;
		q->stream = i;
		q->ts = ts;
		rs->last_ts = ts;
		enqueue(r, q);
	}
}

void relay_say_lost(struct relay *r, const char *prog, const char *how, const char *dir)
{
	int failed;

	pthread_mutex_lock(&r->lock);
	failed = r->failed;
	pthread_mutex_unlock(&r->lock);
	if (!failed || r->reported)
		return;
	r->reported = 1;
	fprintf(stderr, "%s: the relay %s is lost (%s): %s into %s only\n", prog, r->url,
		relay_error(r), how, dir);
}

void relay_tick(struct relay *r)
{
	uint64_t now = now_ns();
	int failed;

	pthread_mutex_lock(&r->lock);
	failed = r->failed;
	pthread_mutex_unlock(&r->lock);
	if (failed || now < r->next_round)
		return;
	r->next_round = now + r->live_timer_us * 1000;
	beacon_round(r);
}

int relay_finish(struct relay *r)
{
	uint32_t i;
	int ok;

	if (!r->thread_started)
		return -1;
	/* The streams that got neither a packet nor a beacon (recovered):
	 * the last beacons need an index before them. */
	for (i = 0; i < r->nr_rs; i++)
		open_before(r, i, UINT64_MAX);
	enqueue(r, r->end);
	r->end = NULL; /* the sender frees it */
	pthread_join(r->thread, NULL);
	r->thread_started = 0;
	close_fds(r);
	pthread_mutex_lock(&r->lock);
	ok = r->finished && !r->failed && !r->full_packets && !r->lost_packets;
	pthread_mutex_unlock(&r->lock);
	return ok ? 0 : -1;
}

void relay_report(const struct relay *r, FILE *f)
{
	struct relay *m = (struct relay *)r; /* the lock only */
	uint64_t sp, se, sb, fp, fe, lp, le, nb;
	int failed, finished;
	char err[sizeof(r->err)];

	pthread_mutex_lock(&m->lock);
	sp = r->sent_packets;
	se = r->sent_events;
	sb = r->sent_bytes;
	nb = r->beacons;
	fp = r->full_packets;
	fe = r->full_events;
	lp = r->lost_packets;
	le = r->lost_events;
	failed = r->failed;
	finished = r->finished;
	snprintf(err, sizeof(err), "%s", r->err);
	pthread_mutex_unlock(&m->lock);

	fprintf(f,
		"relay %s (protocol 2.%u, %s/%s): %" PRIu64 " packets (%" PRIu64 " events, %" PRIu64
		" bytes) sent, %" PRIu64 " beacons",
		r->url, r->minor, r->path, STREAM_PATH, sp, se, sb, nb);
	if (fp)
		fprintf(f, "; %" PRIu64 " packets (%" PRIu64 " events) dropped: the queue was full",
			fp, fe);
	if (failed)
		fprintf(f,
			"; the relay was lost (%s): %" PRIu64 " packets (%" PRIu64
			" events) not sent",
			err, lp, le);
	fprintf(f, ": %s\n", !failed && finished && !fp ? "complete" : "INCOMPLETE");
}

void relay_free(struct relay *r)
{
	struct qent *q;

	if (!r)
		return;
	if (r->thread_started) {
		pthread_mutex_lock(&r->lock);
		r->failed = 1;
		pthread_mutex_unlock(&r->lock);
		relay_finish(r);
	}
	close_fds(r);
	while ((q = r->head)) {
		r->head = q->next;
		free(q->name);
		free(q);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->end);
	free(r->tx);
	free(r->rs);
	free(r);
}
