// SPDX-License-Identifier: MIT
/*
 * header_cxx.cpp - the public headers compiled stand-alone as C++20 (they
 * provide their own extern "C" guards, so they are deliberately not
 * wrapped here) and linked with the shared libraries: the configuration
 * macros (designated initializers in declaration order, which C++ accepts
 * from C++20), the write fast path and a CTF event.
 */
#include <grb/grb.h>
#include <grb/native.h>
#include <grb/client.h>
#include <grb/ctf.h>
#include <grb/kdev.h>
#include <grb/version.h>

#include <cstring>

#include "check.h"

static const struct grb_config cfg_native =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_tsc = GRB_NATIVE_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE, grb_clock_tsc);
static const struct grb_config cfg_ctf =
	GRB_CTF_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_ctf_rt = GRB_CTF_CONFIG_CLOCK(
	GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING, grb_clock_realtime);

#define CXX_FIELDS(F) F(u32, x) F(string, s, 16)
GRB_CTF_EVENT(cxx_ev, "cxx:ev", 1, CXX_FIELDS)

static void test_macros()
{
	CHECK(cfg_native.abi == GRB_CONFIG_ABI);
	CHECK(cfg_native.alloc == GRB_ALLOC_PER_THREAD);
	CHECK(cfg_native.sync == GRB_SYNC_SINGLE_WRITER);
	CHECK(cfg_native.mode == GRB_MODE_DISCARD);
	CHECK(cfg_native.clock_read == grb_clock_monotonic);
	CHECK(cfg_native.record_discard == grb_native_record_discard);
	CHECK(std::strcmp(cfg_native.name, "native") == 0);
	CHECK(cfg_native.packet_published == nullptr);
	CHECK(cfg_tsc.clock_read == grb_clock_tsc && cfg_tsc.mode == GRB_MODE_OVERWRITE);
	CHECK(cfg_ctf.packet_header_size == GRB_CTF_PACKET_HEADER_SIZE);
	CHECK(cfg_ctf.record_decode == grb_ctf_record_decode);
	CHECK(std::strcmp(cfg_ctf.name, "ctf") == 0);
	CHECK(cfg_ctf.packet_published == nullptr);
	CHECK(cfg_ctf_rt.clock_read == grb_clock_realtime);
	CHECK(cfg_ctf_rt.mode == GRB_MODE_BLOCKING);
	CHECK(std::strcmp(grb_version(), GRB_VERSION_STRING) == 0);
}

static void test_native()
{
	struct grb_channel *ch = grb_channel_create(&cfg_native, nullptr);
	struct grb_record rec;
	struct grb_merge *m;
	uint64_t i, n = 0, sum = 0;

	CHECK(ch != nullptr);
	if (!ch)
		return;
	for (i = 1; i <= 10; i++)
		CHECK(grb_write_record(&cfg_native, ch, 0, &i, sizeof(i)) == 0);
	grb_channel_finalize(ch);
	m = grb_merge_create(ch, 0);
	CHECK(m != nullptr);
	while (m && grb_merge_next(m, &rec) == 0) {
		uint64_t v;

		std::memcpy(&v, rec.payload, sizeof(v));
		sum += v;
		n++;
	}
	CHECK(n == 10 && sum == 55);
	if (m)
		grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

static void test_ctf()
{
	static const struct grb_ctf_event_desc *const events[] = { &cxx_ev_event };
	struct grb_channel *ch;
	struct grb_channel_stats st;

	CHECK(grb_ctf_validate_events(events, 1, 4096) == 0);
	ch = grb_channel_create(&cfg_ctf, nullptr);
	CHECK(ch != nullptr);
	if (!ch)
		return;
	CHECK(cxx_ev_write(&cfg_ctf, ch, 7, "seven") == 0);
	CHECK(cxx_ev_write(&cfg_ctf, ch, 8, "more than sixteen bytes") == -E2BIG);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.lost[GRB_LOST_TOO_BIG] == 1 && st.lost_total == 1);
	grb_channel_destroy(ch);
}

int main()
{
	test_macros();
	test_native();
	test_ctf();
	return check_exit("header_cxx");
}
