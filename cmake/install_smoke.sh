#!/bin/sh
# SPDX-License-Identifier: MIT
#
# install_smoke.sh <build-dir> [<libdir>]
#
# Installs <build-dir> into a temporary prefix and builds, links and runs
# four consumers against it, as an application would: one of libgrb alone
# (grb_version() against <grb/version.h>), one of libgrb-ctf (a CTF trace
# of 100 events written to a temporary directory), one of libgrb-ftrace (a
# trace.dat of 100 events, read back), one of libgrb-perf (a perf.data
# file of 100 samples); and it loads the installed preload
# library into a program.  Each consumer is built with a CMake project
# using find_package(grb) (grb::grb, grb::grb_ctf, grb::grb_ftrace,
# grb::grb_perf) and with pkg-config (grb.pc, grb-ctf.pc, grb-ftrace.pc,
# grb-perf.pc), linked with the shared
# libraries and with the static ones; a static program must not load any
# libgrb*.so, a shared one must.  <libdir> is CMAKE_INSTALL_LIBDIR (default:
# lib).  Honours $CC, $CMAKE and $GRB_SMOKE_FLAGS (extra compile and link
# flags, e.g. the sanitizer flags of a sanitizer build).
#
# Without readelf (binutils), or pkg-config (not in a minimal Debian):
# installed as root, else the test is skipped (exit 77), after the
# find_package half for pkg-config, by grb_need (test_tools.sh beside this
# file).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/test_tools.sh"

build=${1:?usage: install_smoke.sh <build-dir> [<libdir>]}
libdir=${2:-lib}
cc=${CC:-cc}
cmake=${CMAKE:-cmake}
flags=${GRB_SMOKE_FLAGS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-install-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix"

cat >"$tmp/smoke.c" <<'EOC'
#include <grb/grb.h>
#include <grb/version.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	const char *v = grb_version();

	if (!v || strcmp(v, GRB_VERSION_STRING) != 0) {
		fprintf(stderr, "grb_version() %s, <grb/version.h> %s\n", v ? v : "(null)",
			GRB_VERSION_STRING);
		return 1;
	}
	printf("grb_version() = %s\n", v);
	return 0;
}
EOC

cat >"$tmp/smoke_ctf.c" <<'EOC'
#include <grb/grb.h>
#include <grb/ctf.h>
#include <stdio.h>

#define SMOKE_FIELDS(F) F(u32, n) F(string, msg, 16)
GRB_CTF_EVENT(smoke_ev, "smoke:tick", 1, SMOKE_FIELDS)

static const struct grb_config cfg =
	GRB_CTF_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

int main(int argc, char **argv)
{
	static const struct grb_ctf_event_desc *const events[] = { &smoke_ev_event };
	struct grb_ctf_trace_attr attr;
	struct grb_ctf_stream_stats st;
	struct grb_ctf_trace *t;
	uint32_t i;
	int ret;

	if (argc != 2)
		return 2;
	grb_ctf_trace_attr_init(&attr);
	attr.path = argv[1];
	attr.events = events;
	attr.nr_events = 1;
	t = grb_ctf_trace_create(&cfg, &attr);
	if (!t) {
		fprintf(stderr, "grb_ctf_trace_create: %s\n", grb_last_error());
		return 1;
	}
	for (i = 0; i < 100; i++) {
		ret = smoke_ev_write(&cfg, grb_ctf_trace_channel(t), i, "smoke");
		if (ret) {
			fprintf(stderr, "event %u: %d\n", i, ret);
			return 1;
		}
	}
	ret = grb_ctf_trace_stop(t);
	if (ret || grb_ctf_trace_stream_stats(t, 0, &st) || st.events != 100) {
		fprintf(stderr, "trace: stop %d (%s), %llu events\n", ret, grb_ctf_trace_error(t),
			(unsigned long long)st.events);
		return 1;
	}
	grb_ctf_trace_destroy(t);
	printf("grb %s: %llu events in %s\n", grb_version(), (unsigned long long)st.events,
	       argv[1]);
	return 0;
}
EOC

cat >"$tmp/smoke_ftrace.c" <<'EOC'
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <grb/grb.h>
#include <grb/ftrace.h>

static const struct grb_config cfg = GRB_FTRACE_CONFIG_DEFAULT;

int main(int argc, char **argv)
{
	struct grb_ftrace_dat_attr da;
	struct grb_channel_attr attr;
	struct grb_ftrace_file *f;
	struct grb_ftrace_entry e;
	struct grb_ftrace_dat *d;
	struct grb_channel *ch;
	unsigned int i, n = 0;
	int ret;

	if (argc != 2)
		return 2;
	grb_ftrace_channel_attr_init(&attr);
	ch = grb_channel_create(&cfg, &attr);
	if (!ch) {
		fprintf(stderr, "grb_channel_create: %s\n", grb_last_error());
		return 1;
	}
	for (i = 0; i < 100; i++) {
		ret = grb_ftrace_print(&cfg, ch, (uint64_t)(uintptr_t)&main, "smoke");
		if (ret) {
			fprintf(stderr, "print %u: %d\n", i, ret);
			return 1;
		}
	}
	grb_channel_finalize(ch);
	grb_ftrace_dat_attr_init(&da);
	d = grb_ftrace_dat_create(&da);
	if (!d || grb_ftrace_dat_drain(d, ch) || grb_ftrace_dat_save(d, argv[1])) {
		fprintf(stderr, "trace.dat: %s\n", grb_last_error());
		return 1;
	}
	grb_ftrace_dat_destroy(d);
	grb_channel_destroy(ch);
	ret = grb_ftrace_file_load(argv[1], &f);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[1], grb_last_error());
		return 1;
	}
	while ((ret = grb_ftrace_file_next(f, &e)) == 0)
		n += e.id == GRB_FTRACE_ID_PRINT;
	grb_ftrace_file_close(f);
	if (ret != -ENODATA || n != 100) {
		fprintf(stderr, "%s: %u print events read back (%d)\n", argv[1], n, ret);
		return 1;
	}
	printf("grb %s: %u events in %s\n", grb_version(), n, argv[1]);
	return 0;
}
EOC

cat >"$tmp/smoke_perf.c" <<'EOC'
#include <grb/grb.h>
#include <grb/perf.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct grb_channel *ch = grb_perf_channel_create(NULL);
	struct grb_perf_sample s = { 0 };
	struct grb_perf_data_stats st;
	struct grb_perf_data *w;
	int i, ret;

	if (argc < 2 || !ch)
		return 1;
	s.ip = (unsigned long)&main;
	s.pid = s.tid = (unsigned)getpid();
	s.period = 1000;
	for (i = 0; i < 100; i++)
		if (grb_perf_write_sample(ch, &s, NULL))
			return 1;
	grb_channel_finalize(ch);
	w = grb_perf_data_create(argv[1], ch, NULL);
	if (!w || grb_perf_data_add_maps(w, (unsigned)getpid()) < 0)
		return 1;
	ret = grb_perf_data_close(w, &st);
	if (ret || st.samples != 100) {
		fprintf(stderr, "perf.data: close %d, %llu samples\n", ret,
			(unsigned long long)st.samples);
		return 1;
	}
	grb_channel_destroy(ch);
	printf("grb %s: %llu samples in %s\n", grb_version(), (unsigned long long)st.samples,
	       argv[1]);
	return 0;
}
EOC

# check <program> shared|static [ctf|ftrace|perf]: run it (a CTF program
# writes a trace into a new directory, which must then hold its metadata;
# an ftrace program a trace.dat it reads back; a perf program a perf.data
# file) and check which grb libraries it loads.
check()
{
	prog=$1 kind=$2 what=${3:-}
	if [ "$what" = ctf ]; then
		out=$tmp/trace.$(basename "$prog")
		"$prog" "$out"
		[ -s "$out/metadata" ] || { echo "$prog: no $out/metadata" >&2; exit 1; }
	elif [ "$what" = ftrace ]; then
		"$prog" "$tmp/$(basename "$prog").dat"
	elif [ "$what" = perf ]; then
		out=$tmp/perf.$(basename "$prog").data
		"$prog" "$out"
		[ "$(head -c 8 "$out")" = PERFILE2 ] || { echo "$prog: no perf.data in $out" >&2; exit 1; }
	else
		"$prog"
	fi
	needed=$(readelf -d "$prog" | sed -n 's/.*(NEEDED).*\[\(libgrb[^]]*\)\].*/\1/p' | sort | tr '\n' ' ')
	if [ "$kind" = static ]; then
		want=""
	elif [ "$what" = ctf ]; then
		want="libgrb-ctf.so.0 libgrb.so.0 "
	elif [ "$what" = ftrace ]; then
		want="libgrb-ftrace.so.0 libgrb.so.0 "
	elif [ "$what" = perf ]; then
		want="libgrb-perf.so.0 libgrb.so.0 "
	else
		want="libgrb.so.0 "
	fi
	if [ "$needed" != "$want" ]; then
		echo "$prog ($kind): loads '$needed', expected '$want'" >&2
		exit 1
	fi
	echo "$(basename "$prog"): $kind, loads '${needed% }'"
}

grb_need binutils

# The preload libraries: installed in <libdir>/grb, and loadable from
# there (their RUNPATH finds libgrb and libgrb-ctf one level up, and
# libgrb-preload.so beside them).  Without a session (GRB_SESSION unset) a
# preloaded program runs as usual.  Not in a sanitizer build: its runtime
# must be loaded first.
echo "== preload libraries"
for name in libc pthread cyg-profile; do
	preload=$prefix/$libdir/grb/libgrb-preload-$name.so
	[ -f "$preload" ] || { echo "install_smoke: $preload is not installed"; exit 1; }
	[ -n "$flags" ] && continue
	# The loader only warns about a preload it cannot load: look at the
	# program's mappings.
	out=$(env -u GRB_SESSION LD_PRELOAD="$preload" sh -c \
		'grep -o "libgrb-preload[-a-z]*\.so" /proc/$$/maps | sort | uniq -c | tr -s " \n" " "' 2>&1)
	case $out in
	*" libgrb-preload-$name.so "*" libgrb-preload.so "*) ;;
	*) echo "install_smoke: $preload: not loaded with libgrb-preload.so: $out"; exit 1 ;;
	esac
	echo "$preload: loaded into a program, mappings:$out"
done
if [ -z "$flags" ]; then
	# The installed grb finds it beside itself and records a program.
	if [ -x "$prefix/bin/grb" ]; then
		"$prefix/bin/grb" record -o "$tmp/trace" --preload libc -- sh -c 'echo recorded' \
			>"$tmp/record.txt" 2>&1 || { cat "$tmp/record.txt"; exit 1; }
		grep -q '^total: 1 processes, [1-9][0-9]* written .*: exact$' "$tmp/record.txt" ||
			{ cat "$tmp/record.txt"; echo "install_smoke: the installed grb did not record"; exit 1; }
		grep '^total:' "$tmp/record.txt"
	fi
fi

echo "== find_package(grb)"
mkdir -p "$tmp/cmk"
cat >"$tmp/cmk/CMakeLists.txt" <<'EOC'
cmake_minimum_required(VERSION 3.16)
project(grb_install_smoke LANGUAGES C)
find_package(grb 0.1 REQUIRED)
message(STATUS "grb ${grb_VERSION}")
add_executable(smoke_shared smoke.c)
target_link_libraries(smoke_shared PRIVATE grb::grb)
add_executable(smoke_static smoke.c)
target_link_libraries(smoke_static PRIVATE grb::grb_static)
add_executable(smoke_ctf_shared smoke_ctf.c)
target_link_libraries(smoke_ctf_shared PRIVATE grb::grb_ctf)
add_executable(smoke_ctf_static smoke_ctf.c)
target_link_libraries(smoke_ctf_static PRIVATE grb::grb_ctf_static)
add_executable(smoke_ftrace_shared smoke_ftrace.c)
target_link_libraries(smoke_ftrace_shared PRIVATE grb::grb_ftrace)
add_executable(smoke_ftrace_static smoke_ftrace.c)
target_link_libraries(smoke_ftrace_static PRIVATE grb::grb_ftrace_static)
add_executable(smoke_perf_shared smoke_perf.c)
target_link_libraries(smoke_perf_shared PRIVATE grb::grb_perf)
add_executable(smoke_perf_static smoke_perf.c)
target_link_libraries(smoke_perf_static PRIVATE grb::grb_perf_static)
EOC
cp "$tmp/smoke.c" "$tmp/smoke_ctf.c" "$tmp/smoke_ftrace.c" "$tmp/smoke_perf.c" "$tmp/cmk/"
"$cmake" -S "$tmp/cmk" -B "$tmp/cmk/build" \
	-DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
	-DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$flags" >"$tmp/cmk.log" 2>&1 ||
	{ cat "$tmp/cmk.log"; exit 1; }
"$cmake" --build "$tmp/cmk/build" >>"$tmp/cmk.log" 2>&1 ||
	{ cat "$tmp/cmk.log"; exit 1; }
check "$tmp/cmk/build/smoke_shared" shared
check "$tmp/cmk/build/smoke_static" static
check "$tmp/cmk/build/smoke_ctf_shared" shared ctf
check "$tmp/cmk/build/smoke_ctf_static" static ctf
check "$tmp/cmk/build/smoke_ftrace_shared" shared ftrace
check "$tmp/cmk/build/smoke_ftrace_static" static ftrace
check "$tmp/cmk/build/smoke_perf_shared" shared perf
check "$tmp/cmk/build/smoke_perf_static" static perf

echo "== pkg-config"
grb_need pkg-config
PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
export PKG_CONFIG_PATH
pkg-config --exists --print-errors grb grb-ctf grb-ftrace grb-perf
for pc in grb grb-ctf grb-ftrace grb-perf; do echo "$pc.pc version: $(pkg-config --modversion $pc)"; done
pc_libdir=$(pkg-config --variable=libdir grb)
for pc in grb grb-ctf grb-ftrace grb-perf; do
	case $pc in
	grb) src=$tmp/smoke.c what="" ;;
	grb-ctf) src=$tmp/smoke_ctf.c what=ctf ;;
	grb-ftrace) src=$tmp/smoke_ftrace.c what=ftrace ;;
	grb-perf) src=$tmp/smoke_perf.c what=perf ;;
	esac
	pc_cflags=$(pkg-config --cflags "$pc")
	pc_libs=$(pkg-config --libs "$pc")
	echo "pkg-config --cflags --libs $pc: $pc_cflags $pc_libs"
	# shellcheck disable=SC2086
	"$cc" $flags -o "$tmp/${pc}_pc_shared" "$src" $pc_cflags $pc_libs -Wl,-rpath,"$pc_libdir"
	check "$tmp/${pc}_pc_shared" shared $what
	# Static: the archives named by --static --libs, in its order (a
	# library before those it needs); the C library stays shared.
	pc_static=$(pkg-config --static --libs "$pc")
	echo "pkg-config --static --libs $pc: $pc_static"
	# shellcheck disable=SC2086
	"$cc" $flags -o "$tmp/${pc}_pc_static" "$src" $pc_cflags \
		-Wl,-Bstatic $pc_static -Wl,-Bdynamic
	check "$tmp/${pc}_pc_static" static $what
done

echo "install_smoke: OK"
