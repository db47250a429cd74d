/* SPDX-License-Identifier: MIT */
/*
 * fuzz_configs.h - the clients whose streams fuzz_attach attaches and
 * gen_corpus writes: the native format in every alloc, sync and mode.
 * A stream's header names its client (mode, alloc, sync and fingerprint),
 * so the target attaches with the first entry whose checks pass.
 */
#ifndef GRB_FUZZ_CONFIGS_H
#define GRB_FUZZ_CONFIGS_H

#include <grb/grb.h>
#include <grb/native.h>

/* clang-format off */
static const struct grb_config fuzz_cfgs[] = {
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD),
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE),
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD),
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD),
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE),
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING),
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD),
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE),
};
/* clang-format on */

#define FUZZ_NR_CFGS (sizeof(fuzz_cfgs) / sizeof(fuzz_cfgs[0]))

/* The most streams of one input: the inputs hold every stream's mapping. */
#define FUZZ_MAX_STREAMS 8u

#endif /* GRB_FUZZ_CONFIGS_H */
