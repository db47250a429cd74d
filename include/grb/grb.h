/* SPDX-License-Identifier: MIT */
/*
 * grb/grb.h - the Generic Ring Buffer core: configuration, channels, the
 * writer and the reader.  Formats are clients on top of it: grb's own
 * record format is the header-only <grb/native.h>; the CTF client is
 * <grb/ctf.h> in libgrb-ctf.
 */
#ifndef GRB_GRB_H
#define GRB_GRB_H

#include <grb/config.h>
#include <grb/channel.h>
#include <grb/writer.h>
#include <grb/reader.h>

#endif /* GRB_GRB_H */
