// SPDX-License-Identifier: MIT
/*
 * config.c - the library's version, the names of the loss causes, and the
 * validation of a client's configuration and a channel's attributes.
 */
#include "core.h"

#include <grb/version.h>

const char *grb_version(void)
{
	return GRB_VERSION_STRING;
}

const char *grb_lost_cause_name(enum grb_lost_cause cause)
{
	static const char *const names[GRB_LOST_NR] = {
		"full", "overwritten", "too_big",   "nested", "timeout",
		"wrap", "disabled",    "no_stream", "died",
	};

	return (unsigned)cause < GRB_LOST_NR ? names[cause] : "unknown";
}

void grb_channel_attr_init(struct grb_channel_attr *attr)
{
	if (!attr)
		return;
	_grb_memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->subbuf_size = 64 * 1024;
	attr->subbuf_count = 8;
	attr->nr_streams = 64;
	attr->read_timer_us = 100 * 1000;
	attr->blocking_timeout_us = 100 * 1000;
	attr->backing = GRB_BACKING_ANON;
}

int _grb_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint32_t _grb_log2(uint64_t v)
{
	uint32_t r = 0;

	while (v >>= 1)
		r++;
	return r;
}

#define BAD(...)                                 \
	do {                                     \
		_grb_env_set_error(__VA_ARGS__); \
		return -EINVAL;                  \
	} while (0)

/* The client's record header for a record with these flags and event id. */
static uint32_t header_size(const struct grb_config *c, uint32_t flags, uint32_t event_id)
{
	struct grb_ctx ctx;

	_grb_memset(&ctx, 0, sizeof(ctx));
	ctx.flags = flags;
	ctx.event_id = event_id;
	return c->record_header_size(c, &ctx);
}

/* The smallest slot a record can take: the header of a record with no
 * flags, event id 0 and no payload, aligned to record_align. */
static uint32_t min_record(const struct grb_config *c)
{
	return (uint32_t)_grb_align(header_size(c, 0, 0), c->record_align);
}

static uint64_t fnv1a(uint64_t h, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ull;
	return h;
}

/*
 * What a consumer's decoding depends on: the configuration ABI (not the
 * emulated-sequences bit, a property of the build), the timestamp bits, the
 * alignment and the packet header, and the record header's size over a
 * grid of contexts (flags, event ids, client words, payload sizes, deltas
 * and losses), which tells one record format from another of the same
 * geometry, and the client's name.  Nothing of the build (addresses, the
 * emulated-sequences bit): two builds of one client agree.
 */
uint64_t _grb_config_hash(const struct grb_config *c)
{
	static const uint32_t ids[] = { 0, 1, 30, 31, 255, 256, 65535, 65536, 0xffffffffu };
	static const uint32_t lens[] = { 0, 1, 8, 100, 65536 };
	static const uint64_t deltas[] = { 0, 1, 1ull << 27, 1ull << 32, ~0ull };
	uint64_t h = 0xcbf29ce484222325ull;
	struct grb_ctx ctx;
	uint32_t f, i, j, k;

	h = fnv1a(h, c->abi & ~GRB_CONFIG_ABI_EMULATED);
	h = fnv1a(h, c->ts_bits);
	h = fnv1a(h, c->record_align);
	h = fnv1a(h, c->packet_header_size);
	h = fnv1a(h, c->min_record_size);
	for (i = 0; c->name && c->name[i] && i < 256; i++)
		h = fnv1a(h, (uint8_t)c->name[i]);
	for (f = 0; f < 4; f++)
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
			for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
				for (k = 0; k < sizeof(deltas) / sizeof(deltas[0]); k++) {
					_grb_memset(&ctx, 0, sizeof(ctx));
					ctx.flags = f;
					ctx.event_id = ids[i];
					ctx.client_word = ids[i];
					ctx.payload_len = lens[j];
					ctx.ts = deltas[k];
					ctx.lost = deltas[k] >> 1;
					h = fnv1a(h, c->record_header_size(c, &ctx));
				}
	return h;
}

int _grb_config_validate(const struct grb_config *c)
{
	uint32_t smallest;

	if (!c)
		BAD("config: NULL");
	if ((c->abi & ~GRB_CONFIG_ABI_EMULATED) != GRB_CONFIG_ABI_VERSION)
		BAD("config.abi: %u, this library speaks %u", c->abi & ~GRB_CONFIG_ABI_EMULATED,
		    GRB_CONFIG_ABI_VERSION);
	if (c->alloc < GRB_ALLOC_GLOBAL || c->alloc > GRB_ALLOC_PER_THREAD)
		BAD("config.alloc: unknown value %d", (int)c->alloc);
	if (c->sync < GRB_SYNC_ATOMIC || c->sync > GRB_SYNC_PER_CPU_RSEQ)
		BAD("config.sync: unknown value %d", (int)c->sync);
	if (c->sync == GRB_SYNC_PER_CPU_RSEQ && c->alloc != GRB_ALLOC_PER_CPU)
		BAD("config.sync: per-CPU restartable sequences need alloc per-CPU");
	if (c->sync == GRB_SYNC_PER_CPU_RSEQ &&
	    (c->abi & GRB_CONFIG_ABI_EMULATED) != (GRB_CONFIG_ABI & GRB_CONFIG_ABI_EMULATED))
		BAD("config.sync: the caller's restartable sequences are %s, the library's %s: "
		    "build both with the same sanitizer and GRB_NO_LOCAL_ASM setting",
		    (c->abi & GRB_CONFIG_ABI_EMULATED) ? "emulated with atomics" : "native",
		    (GRB_CONFIG_ABI & GRB_CONFIG_ABI_EMULATED) ? "emulated with atomics" :
								 "native");
	if (c->sync == GRB_SYNC_SINGLE_WRITER && c->alloc != GRB_ALLOC_PER_THREAD)
		BAD("config.sync: single writer needs alloc per-thread");
	if (c->mode < GRB_MODE_DISCARD || c->mode > GRB_MODE_BLOCKING)
		BAD("config.mode: unknown value %d", (int)c->mode);
	if (c->wakeup < GRB_WAKEUP_NONE || c->wakeup > GRB_WAKEUP_WRITER)
		BAD("config.wakeup: unknown value %d", (int)c->wakeup);
	if (c->ts_bits < 1 || c->ts_bits > 64)
		BAD("config.ts_bits: %u, must be 1 to 64", c->ts_bits);
	if (c->max_nesting < 1 || c->max_nesting > 16)
		BAD("config.max_nesting: %u, must be 1 to 16", c->max_nesting);
	if (!_grb_is_pow2(c->record_align) || c->record_align > 64)
		BAD("config.record_align: %u, must be a power of two up to 64", c->record_align);
	if (c->min_record_size < 1)
		BAD("config.min_record_size: must be at least 1");
	if (!c->clock_read)
		BAD("config.clock_read: NULL");
	if (!c->record_header_size || !c->record_header_write)
		BAD("config.record_header_size/record_header_write: NULL");
	if (!c->packet_begin || !c->packet_end)
		BAD("config.packet_begin/packet_end: NULL");
	if (!c->record_decode || !c->record_discard)
		BAD("config.record_decode/record_discard: NULL");
	if (c->packet_header_size & (c->record_align - 1))
		BAD("config.packet_header_size: %u, not a multiple of record_align %u: every "
		    "record would be misaligned",
		    c->packet_header_size, c->record_align);
	smallest = min_record(c);
	/* The reader bounds a packet's record count by its content divided by
	 * min_record_size: a larger value makes a sound packet look corrupt. */
	if (c->min_record_size > smallest)
		BAD("config.min_record_size: %u, larger than the smallest record the client "
		    "writes (%u bytes: the header of an empty record, aligned to record_align)",
		    c->min_record_size, smallest);
	return 0;
}

/* The largest record header the client may write: every flag, and the
 * other inputs of its header at their largest. */
uint32_t _grb_max_header(const struct grb_config *c)
{
	struct grb_ctx ctx;

	_grb_memset(&ctx, 0, sizeof(ctx));
	ctx.flags = GRB_RFLAG_FULL_TS | GRB_RFLAG_PACKET_START;
	ctx.event_id = UINT32_MAX;
	ctx.client_word = UINT32_MAX;
	ctx.lost = UINT64_MAX;
	ctx.ts = UINT64_MAX;
	return c->record_header_size(c, &ctx);
}

int _grb_attr_validate(const struct grb_config *c, const struct grb_channel_attr *a)
{
	uint64_t hdr = _grb_max_header(c);

	if (a->size != sizeof(*a))
		BAD("attr.size: %u, expected %zu (call grb_channel_attr_init)", a->size,
		    sizeof(*a));
	if (!_grb_is_pow2(a->subbuf_size) || a->subbuf_size < 128 || a->subbuf_size > (1u << 30))
		BAD("attr.subbuf_size: %u, must be a power of two from 128 to 2^30",
		    a->subbuf_size);
	if (!_grb_is_pow2(a->subbuf_count) || a->subbuf_count < 2 || a->subbuf_count > (1u << 20))
		BAD("attr.subbuf_count: %u, must be a power of two from 2 to 2^20",
		    a->subbuf_count);
	if (c->packet_header_size + _grb_align(hdr, c->record_align) >= a->subbuf_size)
		BAD("attr.subbuf_size: %u leaves no room for a record after the %u-byte packet header",
		    a->subbuf_size, c->packet_header_size);
	if (a->subbuf_size / c->min_record_size >= GRB_CC_MAX_RECORDS)
		BAD("attr.subbuf_size: %u holds 2^24 or more records of min_record_size %u",
		    a->subbuf_size, c->min_record_size);
	if (c->alloc == GRB_ALLOC_PER_THREAD && (a->nr_streams < 1 || a->nr_streams > 4096))
		BAD("attr.nr_streams: %u, must be 1 to 4096", a->nr_streams);
	/* The microsecond times take any value: those whose ns do not fit
	 * saturate (_grb_us_to_ns, channel.h). */
	if (c->mode == GRB_MODE_BLOCKING && a->blocking_timeout_us == 0)
		BAD("attr.blocking_timeout_us: 0 in blocking mode (use discard mode)");
	if (c->wakeup == GRB_WAKEUP_TIMER && a->read_timer_us == 0)
		BAD("attr.read_timer_us: 0 with the timer wake-up");
	if (a->backing > GRB_BACKING_DIR)
		BAD("attr.backing: %u, not a grb_backing", a->backing);
	if (a->backing == GRB_BACKING_DIR && (!a->shm_path || !a->shm_path[0]))
		BAD("attr.shm_path: a directory is needed with GRB_BACKING_DIR");
	if (a->backing == GRB_BACKING_DIR && _grb_strnlen(a->shm_path, 256) >= 256)
		BAD("attr.shm_path: 255 bytes at most");
	if (a->wake_policy > GRB_WAKE_BYTES)
		BAD("attr.wake_policy: %u, not a grb_wake_policy", a->wake_policy);
	if (a->wake_policy != GRB_WAKE_PACKET && c->wakeup != GRB_WAKEUP_WRITER)
		BAD("attr.wake_policy: %u needs the writer wake-up (config.wakeup)",
		    a->wake_policy);
	if (a->wake_policy == GRB_WAKE_RECORDS &&
	    (!_grb_is_pow2(a->wake_every) || a->wake_every >= GRB_CC_MAX_RECORDS))
		BAD("attr.wake_every: %u records, must be a power of two below 2^24",
		    a->wake_every);
	if (a->wake_policy == GRB_WAKE_BYTES &&
	    (!_grb_is_pow2(a->wake_every) || a->wake_every > a->subbuf_size))
		BAD("attr.wake_every: %u bytes, must be a power of two up to the sub-buffer size",
		    a->wake_every);
	if (a->cpu_set && !a->cpu_set_size)
		BAD("attr.cpu_set_size: 0 with a cpu_set");
	return 0;
}
