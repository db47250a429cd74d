/* SPDX-License-Identifier: MIT */
/*
 * grb/client.h - what a client library (a trace format on top of the core:
 * libgrb-ctf, and any other) needs beyond the core's API: error reporting
 * that grb_last_error() returns to the application, and the clocks.
 *
 * A client includes this header and <grb/grb.h>, never a private header of
 * the core.  The callbacks a client provides (record header, packet begin
 * and end, decode, discard) are the fields of struct grb_config
 * (<grb/config.h>); the clocks it may name there are in <grb/clock.h>.
 *
 * | function               | signal-safe | progress  | system call |
 * |------------------------|-------------|-----------|-------------|
 * | grb_error_set          | no          | wait-free | no          |
 * | grb_clock_monotonic    | yes         | wait-free | no (vDSO)   |
 * | grb_clock_realtime     | yes         | wait-free | no (vDSO)   |
 * | grb_clock_tsc          | yes         | wait-free | no          |
 */
#ifndef GRB_CLIENT_H
#define GRB_CLIENT_H

#include <grb/grb.h>
#include <grb/clock.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/**
 * grb_error_set() - set the calling thread's message for grb_last_error(),
 * printf-style (truncated to 255 bytes).  A client calls it before it
 * returns an error from one of its functions, as the core does.
 * Not async-signal-safe (vsnprintf).
 */
void grb_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_CLIENT_H */
