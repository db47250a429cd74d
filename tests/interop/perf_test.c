// SPDX-License-Identifier: MIT
/*
 * perf_test.c - writes perf.data files through libgrb-perf for
 * run_perf.sh, which reads them with perf report and perf script.
 *
 *   perf_test known FILE EXPECTED
 *	Samples with known instruction pointers (inside this program's
 *	known_* functions), thread ids, call chains and periods, written from
 *	two threads; their times are the ones grb_perf_write_sample() gave.
 *	EXPECTED gets one block per sample, in time order, as
 *	`perf script -F tid,time,period,ip,sym,symoff --ns` prints it.
 *   perf_test hot FILE FOLDED [SECONDS]
 *	Two threads burn CPU in hot_spin() (about 80%) and warm_spin() (20%)
 *	while the sampler samples them; FOLDED gets the folded stacks.
 *   perf_test lost FILE COUNTS
 *	A small ring, a writer at full speed and a consumer that drains
 *	slowly: COUNTS gets grb's counters (written, committed, lost) and
 *	what the writer put in the file.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/clock.h>
#include <grb/perf.h>

#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "perf_test:%d: %s failed (%s)\n", __LINE__, #c, \
				grb_last_error());                                      \
			exit(1);                                                        \
		}                                                                       \
	} while (0)

/* The known functions: addresses inside them are the samples' ips. */
#define KNOWN_FN(name)                                      \
	__attribute__((noinline, used)) int name(int x);    \
	__attribute__((noinline, used)) int name(int x)     \
	{                                                   \
		int i;                                      \
                                                            \
		for (i = 0; i < x; i++)                     \
			__asm__ __volatile__("" : "+r"(x)); \
		return x * 3 + 1;                           \
	}
KNOWN_FN(known_alpha)
KNOWN_FN(known_beta)
KNOWN_FN(known_gamma)
KNOWN_FN(known_delta)

struct known_fn {
	const char *name;
	uint64_t addr;
};

static struct known_fn fns[4];

static void known_init(void)
{
	fns[0] = (struct known_fn){ "known_alpha", (uint64_t)(uintptr_t)&known_alpha };
	fns[1] = (struct known_fn){ "known_beta", (uint64_t)(uintptr_t)&known_beta };
	fns[2] = (struct known_fn){ "known_gamma", (uint64_t)(uintptr_t)&known_gamma };
	fns[3] = (struct known_fn){ "known_delta", (uint64_t)(uintptr_t)&known_delta };
}

#define KNOWN_PER_THREAD 200
#define KNOWN_TIDS 3

struct known_sample {
	uint64_t ts, ip, period;
	uint32_t tid, nr;
	uint64_t callers[3];
	int fn[4]; /* the function of ip, then of each caller */
	uint32_t off[4];
};

struct known_arg {
	struct grb_channel *ch;
	int id;
	struct known_sample *out;
};

static uint32_t known_pid;
static const uint32_t known_tids[KNOWN_TIDS] = { 100001, 100002, 100003 };

static void *known_thread(void *p)
{
	struct known_arg *a = (struct known_arg *)p;
	int i, k;

	for (i = 0; i < KNOWN_PER_THREAD; i++) {
		struct known_sample *s = &a->out[i];
		struct grb_perf_sample smp;

		s->nr = (uint32_t)((i + a->id) % 4);
		for (k = 0; k < 4; k++) {
			s->fn[k] = (i * 7 + k * 3 + a->id) % 4;
			/* Offsets inside the function (its first bytes). */
			s->off[k] = (uint32_t)((i + k) % 5) + (k ? 1u : 0u);
		}
		s->ip = fns[s->fn[0]].addr + s->off[0];
		for (k = 0; k < (int)s->nr; k++)
			s->callers[k] = fns[s->fn[k + 1]].addr + s->off[k + 1];
		s->tid = known_tids[(i + a->id) % KNOWN_TIDS];
		s->period = 1000u + (uint64_t)i * 10u + (uint64_t)a->id;
		smp.ip = s->ip;
		smp.pid = known_pid;
		smp.tid = s->tid;
		smp.period = s->period;
		smp.nr_callers = s->nr;
		smp._pad = 0;
		smp.callers = s->callers;
		CHECK(grb_perf_write_sample(a->ch, &smp, &s->ts) == 0);
		/* Let the other thread's samples interleave in time. */
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static int cmp_ts(const void *a, const void *b)
{
	const struct known_sample *x = (const struct known_sample *)a;
	const struct known_sample *y = (const struct known_sample *)b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

/* The address as perf script prints a user address it resolved: its
 * offset in the mapped file (address - mapping start + file offset). */
static uint64_t file_address(uint64_t a)
{
	unsigned long long start, end, off;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx %*s %llx", &start, &end, &off) == 3 && a >= start &&
		    a < end) {
			fclose(f);
			return a - start + off;
		}
	fclose(f);
	CHECK(!"address in a mapping");
	return 0;
}

static void print_addr(FILE *f, uint64_t a, int fn, uint32_t off)
{
	/* perf script: the address, then symbol+offset. */
	fprintf(f, "%" PRIx64 " %s+0x%x\n", file_address(a), fns[fn].name, off);
}

static int run_known(const char *file, const char *expected)
{
	struct known_sample *all = calloc(2 * KNOWN_PER_THREAD, sizeof(*all));
	struct grb_perf_data_stats st;
	struct grb_perf_data_attr wa;
	struct known_arg args[2];
	struct grb_perf_data *w;
	struct grb_channel *ch;
	pthread_t th[2];
	uint64_t start;
	FILE *f;
	int i, k;

	CHECK(all);
	known_init();
	known_pid = (uint32_t)getpid();
	start = grb_clock_monotonic();
	ch = grb_perf_channel_create(NULL);
	CHECK(ch);
	for (i = 0; i < 2; i++) {
		args[i] = (struct known_arg){ ch, i, all + i * KNOWN_PER_THREAD };
		CHECK(pthread_create(&th[i], NULL, known_thread, &args[i]) == 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(grb_channel_finalize(ch) == 0);
	grb_perf_data_attr_init(&wa);
	wa.sample_freq = 0;
	wa.sample_period = 1000;
	wa.start_ts = start;
	w = grb_perf_data_create(file, ch, &wa);
	CHECK(w);
	CHECK(grb_perf_data_add_comm(w, known_pid, known_pid, "perf_test") == 0);
	for (i = 0; i < KNOWN_TIDS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "known-%d", i);
		CHECK(grb_perf_data_add_comm(w, known_pid, known_tids[i], name) == 0);
	}
	CHECK(grb_perf_data_add_maps(w, known_pid) > 0);
	CHECK(grb_perf_data_close(w, &st) == 0);
	CHECK(st.samples == 2 * KNOWN_PER_THREAD);
	CHECK(st.lost_samples == 0);
	grb_channel_destroy(ch);

	qsort(all, 2 * KNOWN_PER_THREAD, sizeof(*all), cmp_ts);
	f = fopen(expected, "w");
	CHECK(f);
	for (i = 0; i < 2 * KNOWN_PER_THREAD; i++) {
		const struct known_sample *s = &all[i];

		fprintf(f, "sample known-%d %u %" PRIu64 ".%09" PRIu64 " %" PRIu64 "\n",
			(int)(s->tid - known_tids[0]), s->tid, s->ts / 1000000000u,
			s->ts % 1000000000u, s->period);
		print_addr(f, s->ip, s->fn[0], s->off[0]);
		for (k = 0; k < (int)s->nr; k++)
			print_addr(f, s->callers[k], s->fn[k + 1], s->off[k + 1]);
	}
	CHECK(fclose(f) == 0);
	free(all);
	printf("known: %d samples from 2 threads\n", 2 * KNOWN_PER_THREAD);
	return 0;
}

/* ---------------------------------------------------------------------
 * hot: a CPU-bound program that samples itself.
 */
static volatile uint64_t sink;

__attribute__((noinline)) uint64_t hot_spin(uint64_t n);
__attribute__((noinline)) uint64_t hot_spin(uint64_t n)
{
	uint64_t x = n, i;

	/* Not affine (the shift), so no compiler folds iterations. */
	for (i = 0; i < n; i++)
		x = x * 6364136223846793005ull + (x >> 17);
	return x;
}

__attribute__((noinline)) uint64_t warm_spin(uint64_t n);
__attribute__((noinline)) uint64_t warm_spin(uint64_t n)
{
	uint64_t x = n, i;

	for (i = 0; i < n; i++)
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return x;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct hot_arg {
	struct grb_perf_sampler *s;
	double seconds;
};

__attribute__((noinline)) void *hot_worker(void *p);
__attribute__((noinline)) void *hot_worker(void *p)
{
	struct hot_arg *a = (struct hot_arg *)p;
	uint64_t end, round;

	CHECK(grb_perf_sampler_thread_start(a->s) == 0);
	end = thread_cpu_ns() + (uint64_t)(a->seconds * 1e9);
	/* Arguments that change, so that no compiler hoists the calls. */
	for (round = 0; thread_cpu_ns() < end; round++) {
		sink += hot_spin(400000 + (round & 1));
		sink += warm_spin(100000 + (round & 1));
	}
	CHECK(grb_perf_sampler_thread_stop(a->s) == 0);
	return NULL;
}

static int run_hot(const char *file, const char *folded, double seconds)
{
	struct grb_perf_sampler_attr sa;
	struct grb_perf_sampler_stats ss;
	struct grb_perf_data_stats st;
	struct grb_perf_data_attr wa;
	struct grb_channel_stats cs;
	struct grb_perf_sampler *s;
	struct grb_perf_data *w;
	struct grb_channel *ch;
	struct hot_arg arg;
	pthread_t th[2];
	int i;

	ch = grb_perf_channel_create(NULL);
	CHECK(ch);
	grb_perf_sampler_attr_init(&sa);
	sa.freq_hz = 999;
	s = grb_perf_sampler_create(ch, &sa);
	CHECK(s);
	grb_perf_data_attr_init(&wa);
	wa.sample_freq = sa.freq_hz;
	wa.folded_path = folded;
	w = grb_perf_data_create(file, ch, &wa);
	CHECK(w);
	CHECK(grb_perf_data_add_maps(w, (uint32_t)getpid()) > 0);
	arg.s = s;
	arg.seconds = seconds;
	for (i = 0; i < 2; i++)
		CHECK(pthread_create(&th[i], NULL, hot_worker, &arg) == 0);
	/* The consumer drains while the threads run. */
	for (;;) {
		long r = grb_perf_data_drain(w);

		CHECK(r >= 0 || r == -ENODATA);
		if (pthread_tryjoin_np(th[0], NULL) == 0) {
			pthread_join(th[1], NULL);
			break;
		}
		grb_perf_data_wait(w, 50 * 1000 * 1000);
	}
	CHECK(grb_channel_finalize(ch) == 0);
	CHECK(grb_perf_data_add_sampler_threads(w, s) == 0);
	CHECK(grb_perf_data_close(w, &st) == 0);
	CHECK(grb_perf_sampler_stats(s, &ss) == 0);
	CHECK(grb_channel_read_stats(ch, &cs) == 0);
	printf("hot: %" PRIu64 " samples written, %" PRIu64 " committed, %" PRIu64
	       " refused; file: %" PRIu64 " samples, %" PRIu64 " lost\n",
	       ss.written, ss.committed, ss.refused, st.samples, st.lost_samples);
	CHECK(ss.threads == 2);
	CHECK(ss.written == ss.committed + ss.refused);
	CHECK(st.samples == ss.committed);
	CHECK(st.lost_samples == cs.lost_total);
	CHECK(ss.refused == cs.lost_total);
	/* Enough that an 80/20 split names the top symbol. */
	CHECK(ss.committed >= 50);
	CHECK(grb_perf_sampler_destroy(s) == 0);
	grb_channel_destroy(ch);
	return 0;
}

/* ---------------------------------------------------------------------
 * lost: a small ring, a fast writer, a slow consumer.
 */
struct lost_arg {
	struct grb_channel *ch;
	uint64_t written, committed, refused;
	/* Runs of refused samples a committed one ends (each must come out
	 * as one LOST_SAMPLES record in band), and the run at the end (the
	 * one the writer reports at close). */
	uint64_t runs, trailing;
	volatile int done;
};

static void *lost_writer(void *p)
{
	struct lost_arg *a = (struct lost_arg *)p;
	uint64_t callers[2] = { (uint64_t)(uintptr_t)&known_beta + 2,
				(uint64_t)(uintptr_t)&known_gamma + 3 };
	struct grb_perf_sample smp = { (uint64_t)(uintptr_t)&known_alpha + 1,
				       (uint32_t)getpid(),
				       (uint32_t)syscall(SYS_gettid),
				       1000,
				       2,
				       0,
				       callers };
	uint64_t run = 0;
	int i;

	for (i = 0; i < 200000; i++) {
		a->written++;
		if (grb_perf_write_sample(a->ch, &smp, NULL) == 0) {
			a->committed++;
			a->runs += run != 0;
			run = 0;
		} else {
			a->refused++;
			run++;
		}
		if (i % 1000 == 999)
			usleep(200);
	}
	a->trailing = run;
	return NULL;
}

static int run_lost(const char *file, const char *counts)
{
	struct grb_channel_attr attr;
	struct grb_perf_data_stats st;
	struct grb_perf_data_attr wa;
	struct grb_channel_stats cs;
	struct grb_perf_data *w;
	struct lost_arg a;
	pthread_t th;
	FILE *f;

	memset(&a, 0, sizeof(a));
	grb_perf_channel_attr_init(&attr, 0, 0);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 2;
	attr.nr_streams = 2;
	a.ch = grb_perf_channel_create(&attr);
	CHECK(a.ch);
	grb_perf_data_attr_init(&wa);
	w = grb_perf_data_create(file, a.ch, &wa);
	CHECK(w);
	CHECK(grb_perf_data_add_maps(w, (uint32_t)getpid()) > 0);
	CHECK(pthread_create(&th, NULL, lost_writer, &a) == 0);
	while (pthread_tryjoin_np(th, NULL) != 0) {
		long r = grb_perf_data_drain(w);

		CHECK(r >= 0);
		usleep(3000);
	}
	CHECK(grb_channel_finalize(a.ch) == 0);
	CHECK(grb_perf_data_close(w, &st) == 0);
	CHECK(grb_channel_read_stats(a.ch, &cs) == 0);
	f = fopen(counts, "w");
	CHECK(f);
	fprintf(f,
		"written %" PRIu64 "\ncommitted %" PRIu64 "\nrefused %" PRIu64 "\ngrb_lost %" PRIu64
		"\nfile_samples %" PRIu64 "\nfile_lost %" PRIu64 "\nfile_lost_records %" PRIu64
		"\nlost_at_close %" PRIu64 "\nruns %" PRIu64 "\ntrailing %" PRIu64 "\n",
		a.written, a.committed, a.refused, cs.lost_total, st.samples, st.lost_samples,
		st.lost_records, st.lost_at_close, a.runs, a.trailing);
	CHECK(fclose(f) == 0);
	printf("lost: written %" PRIu64 " committed %" PRIu64 " lost %" PRIu64 " (in %" PRIu64
	       " LOST_SAMPLES records, %" PRIu64 " reported at close)\n",
	       a.written, a.committed, cs.lost_total, st.lost_records, st.lost_at_close);
	CHECK(a.written == a.committed + a.refused);
	CHECK(a.refused == cs.lost_total);
	CHECK(st.samples == a.committed);
	CHECK(st.lost_samples == cs.lost_total);
	/* Each run in one record where it ended, the last one at close. */
	CHECK(st.lost_at_close == a.trailing);
	CHECK(st.lost_records == a.runs + (a.trailing != 0));
	CHECK(cs.lost_total > 0 && a.runs > 1);
	grb_channel_destroy(a.ch);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "known"))
		return run_known(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "hot"))
		return run_hot(argv[2], argv[3], argc > 4 ? atof(argv[4]) : 1.0);
	if (argc >= 4 && !strcmp(argv[1], "lost"))
		return run_lost(argv[2], argv[3]);
	fprintf(stderr, "usage: perf_test known|hot|lost FILE OUT [SECONDS]\n");
	return 2;
}
