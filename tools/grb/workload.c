// SPDX-License-Identifier: MIT
/*
 * workload.c - the demo workload of `grb record`: a simulated
 * request-processing server.  Its writer threads write typed CTF events
 * (every field kind between them) into a per-CPU channel as fast as they
 * can, with a little computation between events, until told to stop.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#include "grb_tool.h"

/* ------------------------------------------------------------------------ */
/* The workload's events: together they use every CTF field kind. */

GRB_CTF_ENUM(demo_methods, { "GET", 0, 0 }, { "POST", 1, 1 }, { "PUT", 2, 2 }, { "DELETE", 3, 3 })
GRB_CTF_ENUM(demo_states, { "IDLE", 0, 0 }, { "PARSING", 1, 1 }, { "WORKING", 2, 2 },
	     { "WAITING_IO", 3, 3 }, { "REPLYING", 4, 4 }, { "ERROR", 5, 255 })

#define REQUEST_START_FIELDS(F)          \
	F(u64, req_id)                   \
	F(u32, client_ip)                \
	F(u16, port)                     \
	F(enum_u8, method, demo_methods) \
	F(string, path, 48)
GRB_CTF_EVENT(request_start, "grb_demo:request_start", 1, REQUEST_START_FIELDS)

#define REQUEST_END_FIELDS(F) \
	F(u64, req_id)        \
	F(u16, status)        \
	F(s64, latency_ns)    \
	F(u32, bytes_out)     \
	F(f32, cpu_share)
GRB_CTF_EVENT(request_end, "grb_demo:request_end", 2, REQUEST_END_FIELDS)

#define WORKER_STATE_FIELDS(F)         \
	F(u8, worker)                  \
	F(enum_u8, state, demo_states) \
	F(s32, queue_delta)
GRB_CTF_EVENT(worker_state, "grb_demo:worker_state", 3, WORKER_STATE_FIELDS)

#define LOG_FIELDS(F) \
	F(s8, level)  \
	F(s16, code)  \
	F(string, msg, 96)
GRB_CTF_EVENT(log_msg, "grb_demo:log", 4, LOG_FIELDS)

#define LATENCY_HIST_FIELDS(F)          \
	F(u8, worker)                   \
	F(seq_u32, buckets, 16)         \
	F(array_u16, percentiles_ns, 4) \
	F(f64, mean_us)
GRB_CTF_EVENT(latency_hist, "grb_demo:latency_histogram", 5, LATENCY_HIST_FIELDS)

/* Rare, and its id above 28 takes the extended event header. */
#define CONFIG_RELOAD_FIELDS(F) \
	F(u32, generation)      \
	F(array_s32, limits, 4) \
	F(s64, since_last_ns)   \
	F(string, reason, 32)
GRB_CTF_EVENT(config_reload, "grb_demo:config_reload", 40, CONFIG_RELOAD_FIELDS)

const struct grb_ctf_event_desc *const workload_events[] = {
	&request_start_event, &request_end_event,  &worker_state_event,
	&log_msg_event,	      &latency_hist_event, &config_reload_event,
};

const uint32_t workload_nr_events = sizeof(workload_events) / sizeof(workload_events[0]);

/* Per-CPU streams written with restartable sequences (atomics where they
 * cannot run: the banner says which). */
static const struct grb_config cfg_discard =
	GRB_CTF_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config cfg_overwrite =
	GRB_CTF_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_discard_tsc = GRB_CTF_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, grb_clock_tsc);
static const struct grb_config cfg_overwrite_tsc = GRB_CTF_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE, grb_clock_tsc);

static const char *const paths[] = {
	"/",
	"/index.html",
	"/api/v1/users",
	"/api/v1/orders/42",
	"/static/app.js",
	"/api/v1/search?q=ring+buffer",
	"/healthz",
	"/api/v1/cart",
};

static const char *const messages[] = {
	"cache miss, fetching from the backing store",
	"slow client, response buffered",
	"retrying upstream connection",
	"request body larger than 64 KiB, streaming",
	"rate limit close for this client",
};

/* Relaxed: the flag orders nothing; the writers' results reach the main
 * thread through pthread_join. */
static int stop_writers;

/* A little computation between events, as a server would do. */
static uint32_t busy_work(uint32_t *seed, unsigned n)
{
	uint32_t x = *seed;
	unsigned i;

	for (i = 0; i < n; i++)
		x = x * 1664525u + 1013904223u;
	*seed = x;
	return x;
}

#define COUNT(w, call)            \
	do {                      \
		if ((call) == 0)  \
			ok++;     \
		else              \
			failed++; \
	} while (0)

static inline __attribute__((always_inline)) void workload(const struct grb_config *cfg,
							   struct grb_channel *ch, struct worker *w)
{
	uint32_t seed = 0x9e3779b9u * (w->id + 1), generation = 0;
	uint32_t hist[16] = { 0 };
	uint64_t req = (uint64_t)w->id << 48, ok = 0, failed = 0, lat_sum = 0, last_reload = 0;
	uint8_t wid = (uint8_t)w->id;

	while (!__atomic_load_n(&stop_writers, __ATOMIC_RELAXED)) {
		uint32_t r = busy_work(&seed, 4);
		uint64_t t0 = now_ns(), lat;
		float share;

		req++;
		COUNT(w, request_start_write(cfg, ch, req, 0x0a000000u | (r >> 8), 443,
					     (uint8_t)(r & 3), paths[(r >> 4) & 7]));
		COUNT(w, worker_state_write(cfg, ch, wid, 2, 1));
		r = busy_work(&seed, 16 + (r & 31));
		if ((r & 15) == 0) {
			COUNT(w, worker_state_write(cfg, ch, wid, 3, 0));
			r = busy_work(&seed, 32);
		}
		if ((r & 63) == 1)
			COUNT(w, log_msg_write(cfg, ch, (int8_t)((r >> 6) % 5), (int16_t)(r >> 16),
					       messages[(r >> 8) % 5]));
		COUNT(w, worker_state_write(cfg, ch, wid, 4, 0));
		lat = now_ns() - t0;
		share = (float)(r & 0xffff) / 65536.0f;
		COUNT(w, request_end_write(cfg, ch, req, (r & 127) ? 200 : 503, (int64_t)lat,
					   512 + (r & 0x3fff), share));
		COUNT(w, worker_state_write(cfg, ch, wid, 0, -1));
		hist[lat < 1024 ? lat >> 6 : 15]++;
		lat_sum += lat;
		if ((req & 1023) == 0) {
			uint16_t pct[4] = { 0 };
			uint32_t i, acc = 0, nb = 16;
			const uint16_t marks[4] = { 512, 922, 1014, 1023 };

			for (i = 0; i < 16; i++) {
				uint32_t k;

				acc += hist[i];
				for (k = 0; k < 4; k++)
					if (!pct[k] && acc > marks[k])
						pct[k] = (uint16_t)((i + 1) * 64);
			}
			while (nb > 1 && !hist[nb - 1])
				nb--;
			COUNT(w, latency_hist_write(cfg, ch, wid, hist, nb, pct,
						    (double)lat_sum / 1024.0 / 1000.0));
			memset(hist, 0, sizeof(hist));
			lat_sum = 0;
		}
		if ((req & 0xfffff) == 0) {
			const int32_t limits[4] = { 1024, -1, 30000, (int32_t)generation };
			uint64_t now = now_ns();

			COUNT(w, config_reload_write(cfg, ch, ++generation, limits,
						     last_reload ? (int64_t)(now - last_reload) : 0,
						     "periodic reload"));
			last_reload = now;
		}
	}
	w->ok = ok;
	w->failed = failed;
}

static void *writer_discard(void *arg)
{
	struct worker *w = (struct worker *)arg;

	workload(&cfg_discard, w->ch, w);
	return NULL;
}

static void *writer_overwrite(void *arg)
{
	struct worker *w = (struct worker *)arg;

	workload(&cfg_overwrite, w->ch, w);
	return NULL;
}

static void *writer_discard_tsc(void *arg)
{
	struct worker *w = (struct worker *)arg;

	workload(&cfg_discard_tsc, w->ch, w);
	return NULL;
}

static void *writer_overwrite_tsc(void *arg)
{
	struct worker *w = (struct worker *)arg;

	workload(&cfg_overwrite_tsc, w->ch, w);
	return NULL;
}

static const struct workload workloads[2][2] = {
	{ { &cfg_discard, writer_discard }, { &cfg_discard_tsc, writer_discard_tsc } },
	{ { &cfg_overwrite, writer_overwrite }, { &cfg_overwrite_tsc, writer_overwrite_tsc } },
};

const struct workload *workload_select(int overwrite, int tsc)
{
	return &workloads[!!overwrite][!!tsc];
}

void workload_stop(void)
{
	__atomic_store_n(&stop_writers, 1, __ATOMIC_RELAXED);
}
