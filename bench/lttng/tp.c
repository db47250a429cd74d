// SPDX-License-Identifier: MIT
/* tp.c - builds the probes of the grb_bench tracepoint provider (tp.h). */
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "tp.h"
