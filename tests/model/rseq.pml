/* SPDX-License-Identifier: MIT */
/*
 * rseq.pml - a Promela model of the per-CPU restartable-sequence sync
 * (GRB_SYNC_PER_CPU_RSEQ) on x86-TSO, checked exhaustively with spin by
 * tests/model/run_spin.sh (CTest label "model").  doc/ordering.md, section
 * "Per-CPU streams with restartable sequences", describes the protocol;
 * README.md (next to this file) says what the model proves.
 *
 * It follows the C code:
 *   include/grb/arch/x86_64.h    _grb_rseq_add, _grb_rseq_cas_pair,
 *                                _grb_rseq_cas_pair_locked (the asm
 *                                sequences; their stores of last_end and
 *                                last_ts, [W13], are not modelled)
 *   include/grb/static/writer.h  _grb_commit_bytes [C4] [C5],
 *                                _grb_reserve_rseq [W1] [W10]
 *   src/core/write.c             _grb_commit_rseq_slow [C2] [C3] [C5],
 *                                _grb_deliver [D5], offset_cas [W11],
 *                                reserve_slow's loop, _grb_stream_flush
 *                                [F1] [F2] [W8] [F3]
 *
 * Three protocols, one per run (they share no word):
 *   default  commit counting: cc (restartable adds on the stream's CPU)
 *            plus cc_remote (locked adds from other CPUs), delivery claimed
 *            by a CAS on claimed;
 *   OFFSET   the offset: restartable compare-and-store [W10] that tests
 *            the fence flush_req, the locked slow path [W11], and a remote
 *            flusher holding the fence;
 *   CPOS     the committed position commit_pos: every commit (the packet
 *            header's, each record's) stores the offset it loads after its
 *            count if the count covers every byte up to it ([Q1]); a
 *            reader on a third CPU loads it ([Q2]) or computes it ([Q4]).
 *
 * Memory model: x86-TSO, explicit.  Each CPU has a FIFO store buffer of
 * SBN entries; a plain store appends to it, a drain process moves its
 * oldest entry to memory at any moment; a load reads the newest entry for
 * its address in its own CPU's buffer, else memory.  A locked instruction
 * (lock xadd, lock cmpxchg) runs only with its CPU's buffer empty, as one
 * step on memory.  membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
 * FLAG_CPU, X) is one step taken when the buffers of X and of the caller
 * are empty (the IPI's smp_mb on X, the syscall's on the caller) that
 * aborts the sequence in progress on X.
 *
 * CPUs and threads: X is the stream's CPU (rseq_cpu), Y another one.
 * Threads 0 and 1 run on X, one at a time: any step of one of them
 * preempts the other, which aborts the other's sequence if it is inside
 * one (xseq below).  A sequence may also abort spontaneously (a signal or
 * an interrupt) before its final store.  An abort undoes nothing because
 * nothing happened: the sequence's only shared store is its last
 * instruction.  A preemption does not drain X's buffer here (the
 * scheduler's locked instructions would): fewer constraints, more
 * executions.  Thread 2 is the remote committer, on Y, or the flusher, on
 * X or Y.  The writers of the OFFSET model do not migrate: one that does
 * picks another CPU's stream (offset_cas returns -1), which for this
 * stream is a writer that stops.
 *
 * Granularity: every load, plain store, locked instruction and membarrier
 * is a step; register computation rides with the access before it.
 *
 * Options (spin -DNAME):
 *   OFFSET             the offset protocol (default: commit counting)
 *   CPOS               the committed position (default: commit counting)
 *   MIGRATE            commit counting: threads 0 and 1 may migrate to Y
 *                      at any point (a sequence in progress aborts; the
 *                      thread's own stores on X drain first, as a switch
 *                      out of X does), then commit remotely
 *   NRES=n             OFFSET: reservations per writer (default 2)
 *   NFLUSH=n           OFFSET: flushes by thread 2 (default 2), each on
 *                      X or Y, either way
 *   FLUSH_ON_Y         OFFSET: every flush on Y (shorter traces)
 *   REACH              coverage probe: asserts at the end that a complete
 *                      run did NOT do the interesting things (commit: a
 *                      membarrier restarted a [C4] in progress, both a
 *                      local and a remote committer saw the lap complete
 *                      and, with MIGRATE, a thread migrated; OFFSET: [F2]
 *                      restarted a [W10] in progress, a writer reserved
 *                      by the locked cmpxchg, a flush found nothing to
 *                      close; CPOS: a stale [Q1] store landed last, a
 *                      remote commit published and the reader's [Q4]
 *                      raised its view), so a violation shows one that did
 *   NWR=n              CPOS: writers (default 3; thread 1 may migrate)
 *   MIGRATE_ALL        CPOS: every writer may migrate (default: writer 1)
 *   NLOOK=n            CPOS: the reader's looks (default 2), each [Q2] or
 *                      [Q4], at any moment
 *   NO_LIVE            CPOS: no end-state checks (LASTPUB, LIVE), for a
 *                      search of a Q1 violation that they would stop first
 * Bugs (the model must fail with them):
 *   BUG_CP_NO_CCR            CPOS: the local commit's bytes without [C5]'s
 *                            cc_remote
 *   BUG_CP_NO_CHECK          CPOS: publish the commit's end, unchecked
 *   BUG_CP_LOAD_BEFORE_ADD   CPOS: load offset before the add
 *   BUG_CP_NO_Q4             CPOS: the reader without [Q4]
 *   BUG_NO_MEMBARRIER        remote commit without [C3]: the store-buffer
 *                            race, nobody sees the lap complete
 *   BUG_NO_CLAIM             delivery without the [D5] CAS: delivered twice
 *   BUG_PLAIN_REMOTE_ADD     the remote commit is a plain load/add/store
 *                            on cc instead of a locked add on cc_remote:
 *                            a lost update
 *   BUG_FLUSH_NO_MEMBARRIER  OFFSET: the flusher without [F2]
 *   BUG_NO_FENCE_TEST        OFFSET: _grb_rseq_cas_pair does not test the fence
 *
 * Properties:
 *   commit counting: the lap is delivered exactly once (asserted at each
 *     delivery: never twice; at the end: not zero times); the delivery
 *     counts every record (records part of cc + cc_remote) and sees every
 *     record's payload; at the end cc + cc_remote is the sum of the
 *     commits (no update lost);
 *   OFFSET: every successful reservation's range [o, end) and every
 *     flush's padding [o, o + pad) is disjoint from all others (asserted
 *     at the instruction that makes it); at the end offset is the start
 *     plus the sum of all of them (nothing lost), they tile the stream,
 *     and the fence is free;
 *   CPOS: Q1, every value of commit_pos covers committed records only
 *     (each record and the packet header below it committed and its
 *     bytes visible), checked at every store of commit_pos in the
 *     storer's view, whenever one reaches memory, and for every value the
 *     reader loads or computes (in memory); at the end, LASTPUB, the
 *     commit whose add came last published, and LIVE, the reader's view
 *     (the highest value it saw, commit_pos, and [Q4] now) is the offset;
 *   all: no invalid end state (every thread terminates).
 * Trails: `spin -t [-D...] rseq.pml | grep MSC:` prints the events; "mem[a]"
 * is cc, cc_remote, claimed, payloads 0-2 for a = 0, 1, 2, 3-5, and offset,
 * flush_req for a = 0, 1 (OFFSET), and cc, cc_remote, offset, commit_pos,
 * the packet header, payloads 0-2 for a = 0, 1, 2, 3, 4, 5-7 (CPOS).
 */

#define X 0			/* the stream's CPU */
#define Y 1			/* another CPU */
#define NCPU 2
#define SBN 4			/* store buffer entries per CPU */
#define NT 3			/* threads 0, 1 on X; thread 2 on Y */

/* ---- x86-TSO: memory and the store buffers ---- */
#if defined(CPOS)
#define A_CC 0			/* slot cc (bytes only here) */
#define A_CCR 1			/* slot cc_remote */
#define A_OFF 2			/* offset */
#define A_CP 3			/* commit_pos */
#define A_HDR 4			/* the packet header */
#define A_DATA 5		/* A_DATA + t: the payload of thread t's record */
#define NA 8
#elif defined(OFFSET)
#define A_OFF 0			/* offset */
#define A_FENCE 1		/* flush_req, the fence */
#define NA 2
#else
#define A_CC 0			/* slot cc */
#define A_CCR 1			/* slot cc_remote */
#define A_CLAIMED 2		/* slot claimed: 0, or 1 once this lap is claimed */
#define A_DATA 3		/* A_DATA + t: the payload of thread t's record */
#define NA 6
#endif

byte mem[NA];
byte sba[NCPU * SBN];		/* buffered stores: address */
byte sbv[NCPU * SBN];		/*                  value */
byte sbo[NCPU * SBN];		/*                  storing thread */
byte sbn[NCPU];			/* entries in use */
byte pendx[NT];			/* a thread's stores still in X's buffer */
byte sk;			/* loop index of the inlines, 0 between steps */

/* ---- coverage probes (REACH): what a complete run did ---- */
#ifdef REACH
#define GHOST(x) x
bit g_mb_abort;			/* a membarrier restarted a sequence in progress */
bit g_lost_claim;		/* a second committer saw the lap complete */
bit g_migrated;			/* a committer migrated */
bit g_locked;			/* a reservation by the locked cmpxchg [W11] */
bit g_skip;			/* a flush found a packet boundary */
#else
#define GHOST(x) skip
#endif

/* ---- the CPUs: where each thread runs, the sequence in progress on X ---- */
byte cpu[NT];
byte xseq;			/* 1 + thread whose sequence runs on X, or 0 */
byte nfin;			/* threads that finished */

/* A step of thread t: on X, it preempts whichever other thread was inside
 * a sequence there, which will abort. */
#define ONX(t) xseq = ((cpu[t] != X || xseq == (t) + 1) -> xseq : 0)

/* r = the value a load of address a by CPU c returns. */
inline load(c, a, r)
{
	r = mem[a];
	sk = 0;
	do
	:: sk < sbn[c] ->
		if
		:: sba[c * SBN + sk] == a -> r = sbv[c * SBN + sk]
		:: else
		fi;
		sk++
	:: else -> break
	od;
	sk = 0
}

/* A plain store by thread t on CPU c (guard sbn[c] < SBN first). */
inline store(c, a, v, t)
{
	assert(sbn[c] < SBN);
	sba[c * SBN + sbn[c]] = a;
	sbv[c * SBN + sbn[c]] = v;
	sbo[c * SBN + sbn[c]] = t;
	sbn[c]++;
	if
	:: c == X -> pendx[t]++
	:: else
	fi
}

#ifdef CPOS
/* ---- CPOS ghost state: what the records are, which are committed ---- */
#define SB 8			/* sub-buffer size: one lap of one slot here */
#define PHDR 1			/* packet header */
#define LEN(t) ((t) + 1)	/* thread t's record: t + 1 bytes */
bit gres[NT];			/* thread t reserved its record ... */
byte gpos[NT];			/* ... at gpos[t] */
bit gcom[NT];			/* its commit's add happened */
bit ghcom;			/* the packet header's commit's add happened */
byte qk, qv;			/* q1's index and value, 0 between steps */

/* r = what CPU c loads at a, or memory for c == NCPU (a reader elsewhere) */
inline viewload(c, a, r)
{
	if
	:: c < NCPU -> load(c, a, r)
	:: else -> r = mem[a]
	fi
}

/* Q1 for a commit_pos value qr seen by CPU c (NCPU: memory): the packet
 * header and every record below qr are committed and their bytes are
 * visible there. */
inline q1(c, qr)
{
	if
	:: qr > 0 ->
		assert(ghcom);		/* "commit_pos covers an uncommitted header" */
		viewload(c, A_HDR, qv);
		assert(qv == 1)
	:: else
	fi;
	qk = 0;
	do
	:: qk < NT ->
		if
		:: gres[qk] && gpos[qk] < qr ->
			/* "commit_pos covers an uncommitted record" */
			assert(gcom[qk]);
			viewload(c, A_DATA + qk, qv);
			assert(qv == 1)
		:: else
		fi;
		qk++
	:: else -> break
	od;
	qk = 0;
	qv = 0
}
#endif

/* The oldest buffered store of CPU c reaches memory. */
inline drain1(c)
{
	mem[sba[c * SBN]] = sbv[c * SBN];
	printf("MSC: CPU %d's buffer: mem[%d] := %d\n", c, sba[c * SBN], sbv[c * SBN]);
#ifdef CPOS
	if
	:: sba[c * SBN] == A_CP -> q1(NCPU, sbv[c * SBN])
	:: else
	fi;
#endif
	if
	:: c == X -> pendx[sbo[c * SBN]]--
	:: else
	fi;
	sk = 0;
	do
	:: sk + 1 < sbn[c] ->
		sba[c * SBN + sk] = sba[c * SBN + sk + 1];
		sbv[c * SBN + sk] = sbv[c * SBN + sk + 1];
		sbo[c * SBN + sk] = sbo[c * SBN + sk + 1];
		sk++
	:: else -> break
	od;
	sbn[c]--;
	sba[c * SBN + sbn[c]] = 0;
	sbv[c * SBN + sbn[c]] = 0;
	sbo[c * SBN + sbn[c]] = 0;
	sk = 0
}

active proctype drain()
{
end:	do
	:: d_step { sbn[X] > 0 -> drain1(X) }
	:: d_step { sbn[Y] > 0 -> drain1(Y) }
	od
}

/* membarrier(PRIVATE_EXPEDITED_RSEQ, FLAG_CPU, X): the IPI's full barrier
 * on X and the caller's own, and the sequence running on X (if any)
 * restarts.  A preempted one has already aborted; a caller on X is itself
 * the thread running there. */
#define MEMBARRIER_X(who) \
	d_step { \
		sbn[X] == 0 && sbn[Y] == 0 -> \
		GHOST(if :: xseq != 0 -> g_mb_abort = 1 :: else fi); \
		xseq = 0; \
		printf("MSC: thread %d: membarrier on CPU X\n", who) \
	}

#if defined(CPOS)
/* ==================== the committed position [Q1] [Q2] [Q4] ==================== */

/*
 * Three writers start on X: each reserves its record (the first one, at
 * offset 0, opens the packet: header and record), writes the header (the
 * opener) and its payload, then commits the header (the opener) and its
 * record, each commit followed by [Q1].  A commit on X is [C4] + [C5]; one
 * after a migration to Y is [C2] + [C3] + the seq_cst loads of cc and
 * cc_remote.  b, the bytes the commit saw, is cc + cc_remote (one lap from
 * 0 here, never complete: 7 of 8 bytes).  The reservation is [W10] as one
 * step (the OFFSET model checks it; its only store is its last
 * instruction, so an aborted one did nothing).
 *
 * [Q1] as _grb_publish_committed() has it: a relaxed load of offset o
 * (a plain load, on the thread's CPU), and if o == S + b a release store
 * of commit_pos = o (a plain store, buffered on that CPU), outside any
 * restartable sequence: a preemption or a migration between the load and
 * the store, or the store waiting in a buffer, lets it land after a later
 * commit's.  With one packet commit_pos is always at or past its start
 * S = 0, so [Q1]'s test of it holds and [Q6] is never taken: the relaxed
 * load of commit_pos is left out.  The reader, on a third CPU (loads from
 * memory, no stores), looks at any moment while the writers run: the
 * [Q2] load of commit_pos, or [Q4] (acquire loads of offset, cc and
 * cc_remote, then offset again; equal offsets and cc + cc_remote == o give
 * o); it keeps the highest value.
 */
#ifdef MIGRATE_ALL
#define MAYMIG(t) true
#else
#define MAYMIG(t) ((t) == 1)
#endif
#ifndef NWR
#define NWR 3			/* writers: threads 0 .. NWR - 1 */
#endif

byte rcp;			/* the reader's view: the highest value it saw */
byte glast;			/* ghost: 1 + the thread of the latest add */
bit gpub[NT];			/* ghost: its latest commit's [Q1] published */
#ifdef REACH
bit g_remote_pub;		/* a remote commit published */
bit g_q4;			/* the reader's [Q4] raised its view */
#endif

/* The scheduler moves thread t from X to Y (see the commit model). */
#define MIGRATE_STEP(t) \
	d_step { \
		MAYMIG(t) && cpu[t] == X && pendx[t] == 0 -> \
		cpu[t] = Y; \
		xseq = (xseq == (t) + 1 -> 0 : xseq); \
		printf("MSC: W%d migrates to CPU %d\n", t, Y) \
	}

/* The ghost of an add: committed, and the latest one. */
#define ADDED(t) \
	if \
	:: hdr -> ghcom = 1 \
	:: else -> gcom[t] = 1 \
	fi; \
	glast = (t) + 1

proctype writer(byte t)
{
	byte o, v, r, b, cr, add;
	bit op, hdr;

	/* [W10] the reservation, on X */
	d_step {
		sbn[X] < SBN ->
		ONX(t);
		load(X, A_OFF, o);
		op = (o % SB == 0);
		v = o + (op -> PHDR : 0) + LEN(t);
		store(X, A_OFF, v, t);
		gres[t] = 1;
		gpos[t] = v - LEN(t);
		printf("MSC: W%d reserves [%d,%d), opener %d\n", t, o, v, op);
		v = 0
	};
	if
	:: op ->	/* packet_begin: the header */
		d_step { sbn[X] < SBN -> ONX(t); store(X, A_HDR, 1, t) };
		hdr = 1
	:: else
	fi;
next:
	if
	:: !hdr ->	/* grb_write: the payload */
		d_step { sbn[cpu[t]] < SBN -> ONX(t); store(cpu[t], A_DATA + t, 1, t) }
	:: else
	fi;
	add = (hdr -> PHDR : LEN(t));
#ifdef BUG_CP_LOAD_BEFORE_ADD
	d_step {
		ONX(t);
		load(cpu[t], A_OFF, cr);
		printf("MSC: W%d [Q1] offset = %d, loaded before the add\n", t, cr)
	};
#endif
c4:
	if
	:: cpu[t] == Y -> goto remote
	:: else
	fi;
	/* [C4] the restartable add on cc */
	if
	:: d_step {
		cpu[t] == X ->
		ONX(t);
		xseq = t + 1;
		load(X, A_CC, v);
		v = v + add
	   }
	:: MIGRATE_STEP(t); goto remote
	fi;
	if
	:: d_step {
		xseq == t + 1 && sbn[X] < SBN ->
		store(X, A_CC, v, t);
		xseq = 0;
		ADDED(t);
		printf("MSC: W%d [C4] cc := %d (+%d, buffered on X)\n", t, v, add)
	   }
	:: d_step { cpu[t] == X -> ONX(t); xseq = 0; v = 0 };
		goto c4
	:: MIGRATE_STEP(t); v = 0; goto remote
	fi;
	/* [C5] seq_cst load of cc_remote (the sum uses the value stored) */
	d_step {
		ONX(t);
		load(cpu[t], A_CCR, r);
#ifndef BUG_CP_NO_CCR
		b = v + r;
#else
		b = v;
#endif
		printf("MSC: W%d [C5] cc_remote = %d: b = %d\n", t, r, b);
		v = 0; r = 0
	};
	goto pub;
remote:
	/* [C2] seq_cst add on cc_remote: lock xadd */
	atomic {
		sbn[Y] == 0 ->
		mem[A_CCR] = mem[A_CCR] + add;
		ADDED(t);
		printf("MSC: W%d [C2] cc_remote := %d (+%d)\n", t, mem[A_CCR], add)
	};
	MEMBARRIER_X(t);	/* [C3] */
	d_step { load(Y, A_CC, v) };
	d_step {
		load(Y, A_CCR, r);
		b = v + r;
		printf("MSC: W%d remote: cc = %d, cc_remote = %d: b = %d\n", t, v, r, b);
		v = 0; r = 0
	};
pub:
	/* [Q1]: a relaxed load of offset o; publish o if o == S + b (S = 0).
	 * BUG_CP_NO_CHECK: o = the end of what this commit counted, always
	 * published. */
	atomic {
		ONX(t);
#ifdef BUG_CP_NO_CHECK
		cr = (hdr -> PHDR : gpos[t] + LEN(t));
		b = cr;
#elif !defined(BUG_CP_LOAD_BEFORE_ADD)
		load(cpu[t], A_OFF, cr);
#endif
		gpub[t] = (cr == b);
		printf("MSC: W%d [Q1] offset = %d, b = %d\n", t, cr, b)
	};
	if
	:: cr == b ->
		/* a migration between the load and the store */
		if
		:: skip
		:: MIGRATE_STEP(t)
		fi;
		/* [Q1] release store: a plain mov */
		d_step {
			sbn[cpu[t]] < SBN ->
			ONX(t);
			store(cpu[t], A_CP, cr, t);
			q1(cpu[t], cr);
			GHOST(g_remote_pub = (g_remote_pub || cpu[t] == Y));
			printf("MSC: W%d [Q1] commit_pos := %d (buffered on CPU %d)\n", t, cr, cpu[t])
		}
	:: else
	fi;
	if
	:: hdr -> hdr = 0; cr = 0; b = 0; goto next
	:: else
	fi;
	atomic { o = 0; cr = 0; b = 0; add = 0; op = 0; nfin++ }
}

/* The reader: NLOOK looks, each [Q2] or [Q4] (not with BUG_CP_NO_Q4), at
 * any moment until the writers are done. */
#ifndef NLOOK
#define NLOOK 2
#endif
proctype reader()
{
	byte v, o, cc, ccr, n;

	do
	:: nfin == NWR || n == NLOOK -> break
	:: n < NLOOK -> n++;
		d_step {	/* [Q2] acquire load of commit_pos */
		v = mem[A_CP];
		q1(NCPU, v);
		rcp = (v > rcp -> v : rcp);
		printf("MSC: reader [Q2] commit_pos = %d: its view %d\n", v, rcp);
		v = 0
	   }
#ifndef BUG_CP_NO_Q4
	:: n < NLOOK -> n++;
		d_step { o = mem[A_OFF] };	/* [W1] acquire */
		d_step { cc = mem[A_CC] };	/* [Q4] acquire */
		d_step { ccr = mem[A_CCR] };	/* seq_cst */
		d_step {			/* seq_cst reload of offset */
			if
			:: cc + ccr == o && mem[A_OFF] == o ->
				q1(NCPU, o);
				GHOST(g_q4 = (g_q4 || o > rcp));
				rcp = (o > rcp -> o : rcp);
				printf("MSC: reader [Q4] quiescent at %d: its view %d\n", o, rcp)
			:: else
			fi;
			o = 0; cc = 0; ccr = 0
		}
#endif
	od
}

init
{
	atomic {
		run writer(0);
		run writer(1);
#if NWR > 2
		run writer(2);
#endif
		run reader()
	}
	(nfin == NWR && sbn[X] == 0 && sbn[Y] == 0);
	printf("MSC: end: offset %d, commit_pos %d, the reader's view %d\n",
	       mem[A_OFF], mem[A_CP], rcp);
#ifndef NO_LIVE
	/* LASTPUB: the latest add's commit saw every byte and published. */
	assert(gpub[glast - 1]);
	/* LIVE: the reader's view reaches the offset, with [Q4] now */
	d_step {
		rcp = (mem[A_CP] > rcp -> mem[A_CP] : rcp);
#ifndef BUG_CP_NO_Q4
		rcp = (mem[A_CC] + mem[A_CCR] == mem[A_OFF] -> mem[A_OFF] : rcp);
#endif
		assert(rcp == mem[A_OFF])
	};
#endif
#ifdef REACH
	/* Coverage: a complete run in which a stale store of commit_pos
	 * landed last, a remote commit published, and the reader's [Q4]
	 * raised its view above what it had loaded. */
	assert(!(mem[A_CP] < mem[A_OFF] && g_remote_pub && g_q4))
#endif
}

#elif !defined(OFFSET)
/* ==================== commit counting [C2]-[C5], [D5] ==================== */

/* cc packs bytes (bits 0-2 here, 0-39 in C) and records (bits 3-7 here,
 * 40-63 in C).  The three records of the lap: 1, 2 and 3 bytes. */
#define RONE 8
#define BMASK 7
#define LEN(t) ((t) + 1)
#define ADD(t) (LEN(t) + RONE)
#define LAPEND 6		/* _grb_lap_end: the bytes of the lap */
#define NCOMMIT 3
#define TOTAL (LAPEND + NCOMMIT * RONE)

byte ndeliv;			/* ghost: deliveries of the lap */

/* The check of _grb_commit_bytes / _grb_commit_rseq_slow on the sum s,
 * then _grb_deliver's claim [D5] and the delivery. */
inline check_deliver(t, s)
{
	if
	:: (s & BMASK) == LAPEND ->
#ifndef BUG_NO_CLAIM
		/* [D5] acq_rel CAS claimed: a locked cmpxchg */
		d_step {
			sbn[cpu[t]] == 0 ->
			ONX(t);
			if
			:: mem[A_CLAIMED] == 0 -> mem[A_CLAIMED] = 1; won = 1
			:: else -> won = 0; GHOST(g_lost_claim = 1)
			fi
		};
#else
		won = 1;
#endif
		if
		:: won ->
			d_step {
				ONX(t);
				printf("MSC: T%d on CPU %d delivers: cc + cc_remote = %d bytes %d records\n",
				       t, cpu[t], s & BMASK, s / RONE);
				assert(ndeliv == 0);		/* never twice */
				ndeliv++;
				assert(s / RONE == NCOMMIT);	/* every record counted */
				/* and every record's payload is visible */
				load(cpu[t], A_DATA, v);
				load(cpu[t], A_DATA + 1, r);
				load(cpu[t], A_DATA + 2, w);
				assert(v + r + w == NCOMMIT);
				v = 0; r = 0; w = 0
			}
		:: else ->
			printf("MSC: T%d lost the claim\n", t)
		fi
	:: else
	fi;
	won = 0
}

#ifdef MIGRATE
/* The scheduler moves thread t from X to Y.  Its switch out of X ran
 * locked instructions, so its own stores there are in memory; a sequence
 * of its own in progress aborts. */
#define MIGRATE_STEP(t) \
	d_step { \
		cpu[t] == X && pendx[t] == 0 -> \
		cpu[t] = Y; \
		GHOST(g_migrated = 1); \
		xseq = (xseq == (t) + 1 -> 0 : xseq); \
		printf("MSC: T%d migrates to CPU %d\n", t, Y) \
	}
#endif

/*
 * A thread that commits one record of LEN(t) bytes: it writes the payload,
 * then grb_commit() -> _grb_commit_bytes: [C4] the restartable add on the
 * stream's CPU, retried after an abort while the thread is still there
 * (_grb_commit_rseq_slow's loop), then [C5]; from another CPU the remote
 * path [C2] [C3] [C5].
 */
proctype committer(byte t)
{
	byte v, r, w, s;
	bit won;

	/* the record's payload (a plain store) */
	d_step {
		sbn[cpu[t]] < SBN ->
		ONX(t);
		store(cpu[t], A_DATA + t, 1, t)
	};
c4:
	if
	:: cpu[t] == Y -> goto remote
	:: else
	fi;
	/* [C4] _grb_rseq_add: the sequence starts (cmpl cpu_id: on X), then
	 * movq cc -> tmp; addq */
	if
	:: d_step {
		cpu[t] == X ->
		ONX(t);
		xseq = t + 1;
		load(X, A_CC, v);
		printf("MSC: T%d [C4] sequence: cc = %d\n", t, v);
		v = v + ADD(t)
	   }
#ifdef MIGRATE
	:: MIGRATE_STEP(t); goto remote
#endif
	fi;
	/* movq tmp -> cc, the final instruction, or the abort handler */
	if
	:: d_step {
		xseq == t + 1 && sbn[X] < SBN ->
		store(X, A_CC, v, t);
		xseq = 0;
		printf("MSC: T%d [C4] cc := %d (buffered on X)\n", t, v)
	   }
	:: d_step {
		cpu[t] == X ->
		ONX(t);
		xseq = 0;
		v = 0;
		printf("MSC: T%d [C4] aborted\n", t)
	   };
		goto c4
#ifdef MIGRATE
	:: MIGRATE_STEP(t); v = 0; goto remote
#endif
	fi;
#ifdef MIGRATE
	/* after the sequence, before [C5] */
	if
	:: skip
	:: MIGRATE_STEP(t)
	fi;
#endif
	/* [C5] seq_cst load of cc_remote (plain on x86-64); the sum uses the
	 * value the sequence stored */
	d_step {
		ONX(t);
		load(cpu[t], A_CCR, r);
		s = v + r;
		printf("MSC: T%d [C5] cc_remote = %d: sum %d\n", t, r, s);
		v = 0; r = 0
	};
	check_deliver(t, s);
	goto finish;

remote:
	/* _grb_commit_rseq_slow on another CPU than the stream's */
#ifndef BUG_PLAIN_REMOTE_ADD
	/* [C2] seq_cst add on cc_remote: lock xadd */
	atomic {
		sbn[Y] == 0 ->
		mem[A_CCR] = mem[A_CCR] + ADD(t);
		printf("MSC: T%d [C2] cc_remote := %d\n", t, mem[A_CCR])
	};
#else
	/* the bug: a plain add on cc from Y (load, then buffered store) */
	atomic {
		load(Y, A_CC, v);
		printf("MSC: T%d plain load: cc = %d\n", t, v)
	};
	d_step {
		sbn[Y] < SBN ->
		store(Y, A_CC, v + ADD(t), t);
		printf("MSC: T%d plain cc := %d (buffered on Y)\n", t, v + ADD(t));
		v = 0
	};
#endif
#ifndef BUG_NO_MEMBARRIER
	MEMBARRIER_X(t);	/* [C3] */
#endif
	/* seq_cst loads of cc, then cc_remote */
	d_step { load(Y, A_CC, v) };
	d_step {
		load(Y, A_CCR, r);
		s = v + r;
		printf("MSC: T%d remote: cc = %d, cc_remote = %d: sum %d\n", t, v, r, s);
		v = 0; r = 0
	};
	check_deliver(t, s);
finish:
	atomic { s = 0; nfin++ }
}

init
{
	atomic {
		cpu[2] = Y;
		run committer(0);
		run committer(1);
		run committer(2)
	}
	(nfin == NT && sbn[X] == 0 && sbn[Y] == 0);
	printf("MSC: end: cc = %d, cc_remote = %d, deliveries %d\n",
	       mem[A_CC], mem[A_CCR], ndeliv);
	assert(mem[A_CC] + mem[A_CCR] == TOTAL);	/* no lost update */
	assert(ndeliv == 1);				/* delivered, once */
#ifdef REACH
	/* Coverage: a violation is a complete, correct run in which a
	 * membarrier restarted a local [C4], both sides saw the lap complete
	 * (one lost the claim), and (MIGRATE) a thread migrated. */
#ifdef MIGRATE
	assert(!(g_mb_abort && g_lost_claim && g_migrated))
#else
	assert(!(g_mb_abort && g_lost_claim))
#endif
#endif
}

#else
/* ==================== offset [W10] [W11] [F1]-[F3] ==================== */

#ifndef NRES
#define NRES 2			/* reservations per writer */
#endif
#ifndef NFLUSH
#define NFLUSH 2		/* flushes by thread 2 */
#endif
#define SB 8			/* sub-buffer size */
#define PHDR 1			/* packet header */
#define OFF0 1			/* the stream starts with packet 0 open */
#define LEN(t) ((t) + 1)	/* writer 0: 1 unit, writer 1: 2 units */
/* reserve_slow's end for a reservation of n at o: open a packet at a
 * boundary, close with padding and open when the record does not fit */
#define SLOW_END(o, n) \
	((o) % SB == 0 -> (o) + PHDR + (n) : \
	 ((o) % SB + (n) <= SB -> (o) + (n) : (o) + SB - (o) % SB + PHDR + (n)))
#define RANGE(lo, hi) ((1 << (hi)) - (1 << (lo)))

#define R_NONE 0
#define R_DONE 1		/* GRB_RSEQ_DONE */
#define R_CHANGED 2		/* GRB_RSEQ_CHANGED */
#define R_ABORTED 3		/* GRB_RSEQ_ABORTED */

int used;			/* ghost: stream positions reserved so far */
byte total;			/* ghost: their number */

/* Ghost: [lo, hi) is now ours; nobody else's. */
inline claim(who, lo, hi)
{
	printf("MSC: thread %d claims [%d,%d)\n", who, lo, hi);
	assert((used & RANGE(lo, hi)) == 0);
	used = used | RANGE(lo, hi);
	total = total + (hi) - (lo)
}

/* _grb_rseq_cas_pair(&offset, o, end, &flush_req) by writer t on X: result in
 * res.  The sequence: cmpl cpu_id; cmpl $0, fence; cmpq o, offset; movq
 * end, offset (the final instruction).  An abort (preemption, membarrier,
 * signal) sends it to the abort handler: GRB_RSEQ_ABORTED. */
inline rseq_cas(t)
{
	d_step {
		ONX(t);
		xseq = t + 1;
#ifndef BUG_NO_FENCE_TEST
		load(X, A_FENCE, f);
		printf("MSC: W%d [W10] sequence: fence = %d\n", t, f);
		if
		:: f != 0 -> res = R_ABORTED; xseq = 0	/* the fence is held */
		:: else
		fi;
#else
		printf("MSC: W%d [W10] sequence (no fence test)\n", t);
#endif
		f = 0
	};
	if
	:: res == R_NONE ->
		if
		:: d_step {
			xseq == t + 1 ->
			load(X, A_OFF, cur);
			printf("MSC: W%d [W10] offset = %d (expects %d)\n", t, cur, o);
			if
			:: cur != o -> res = R_CHANGED; xseq = 0
			:: else
			fi;
			cur = 0
		   }
		:: d_step {
			ONX(t);
			xseq = 0;
			res = R_ABORTED;
			printf("MSC: W%d [W10] aborted\n", t)
		   }
		fi
	:: else
	fi;
	if
	:: res == R_NONE ->
		if
		:: d_step {
			xseq == t + 1 && sbn[X] < SBN ->
			store(X, A_OFF, end, t);
			xseq = 0;
			res = R_DONE;
			printf("MSC: W%d [W10] offset %d -> %d (buffered on X)\n", t, o, end);
			claim(t, o, end)
		   }
		:: d_step {
			ONX(t);
			xseq = 0;
			res = R_ABORTED;
			printf("MSC: W%d [W10] aborted\n", t)
		   }
		fi
	:: else
	fi
}

/* A writer on X: NRES reservations of LEN(t) units each. */
proctype writer(byte t)
{
	byte o, end, cur, f, res, n;

next:
	if
	:: n == NRES -> goto finish
	:: else
	fi;
fast:
	/* _grb_reserve_rseq: [W1] acquire load of offset (outside) */
	atomic {
		ONX(t);
		load(X, A_OFF, o);
		printf("MSC: W%d [W1] offset = %d\n", t, o);
		if
		:: o % SB == 0 || o % SB + LEN(t) >= SB ->
			res = R_ABORTED	/* not strictly inside: slow path */
		:: else -> end = o + LEN(t)
		fi
	};
	if
	:: res == R_NONE ->
		rseq_cas(t);		/* [W10] */
		if
		:: res == R_DONE -> goto reserved
		:: res == R_CHANGED -> res = R_NONE; goto fast
		:: else
		fi
	:: else
	fi;
	/* _grb_reserve_slow_rseq -> reserve_slow's loop -> offset_cas */
slow:
	atomic {
		ONX(t);
		res = R_NONE;
		load(X, A_OFF, o);	/* [W1] */
		printf("MSC: W%d slow path: [W1] offset = %d\n", t, o);
		end = SLOW_END(o, LEN(t))
	};
	d_step {
		ONX(t);
		load(X, A_FENCE, f);	/* [W11] acquire */
		printf("MSC: W%d [W11] fence = %d\n", t, f)
	};
	if
	:: f != 0 ->
		/* _grb_rseq_cas_pair_locked: the sequence's only shared access is
		 * its final instruction, lock cmpxchg; an abort before it is a
		 * retry, like a failed CAS */
		d_step {
			sbn[X] == 0 ->
			ONX(t);
			f = 0;
			if
			:: mem[A_OFF] == o ->
				mem[A_OFF] = end;
				res = R_DONE;
				GHOST(g_locked = 1);
				printf("MSC: W%d [W11] locked offset %d -> %d\n", t, o, end);
				claim(t, o, end)
			:: else -> res = R_CHANGED
			fi
		}
	:: else ->
		rseq_cas(t)
	fi;
	if
	:: res == R_DONE
	:: else -> goto slow	/* changed, or aborted still on X: retry */
	fi;
reserved:
	atomic { n++; o = 0; end = 0; res = R_NONE };
	goto next;
finish:
	atomic { n = 0; nfin++ }
}

/* _grb_stream_flush by thread 2, NFLUSH times, each on CPU X or Y (the
 * consumer's flush, the switch timer, finalize: any CPU). */
#define FC cpu[2]
proctype flusher()
{
	byte o, k;
	bit closed;

again:
	if
	:: k == NFLUSH -> goto finish
	:: else
	fi;
#ifndef FLUSH_ON_Y
	/* Where this flush runs.  A thread leaves a CPU after its stores
	 * there reached memory (the switch out runs locked instructions);
	 * on Y this thread is alone. */
	if
	:: d_step {
		FC == X || sbn[Y] == 0 ->
		FC = X;
		printf("MSC: F runs on CPU X\n")
	   }
	:: d_step {
		FC == Y || pendx[2] == 0 ->
		FC = Y;
		printf("MSC: F runs on CPU Y\n")
	   }
	fi;
#endif
	/* [W1] acquire: at a packet boundary there is nothing to flush */
	atomic {
		ONX(2);
		load(FC, A_OFF, o);
		printf("MSC: F [W1] offset = %d\n", o);
		if
		:: o % SB == 0 ->
			printf("MSC: F at a boundary: nothing to flush\n");
			k++;
			o = 0;
			GHOST(g_skip = 1);
			goto again
		:: else -> o = 0
		fi
	};
	/* [F1] acq_rel CAS flush_req 0 -> 1 (lock cmpxchg), retried while
	 * another flusher holds the fence */
	d_step {
		sbn[FC] == 0 && mem[A_FENCE] == 0 ->
		ONX(2);
		mem[A_FENCE] = 1;
		printf("MSC: F [F1] fence := 1\n")
	};
#ifndef BUG_FLUSH_NO_MEMBARRIER
	MEMBARRIER_X(2);	/* [F2] */
#endif
	d_step {
		ONX(2);
		load(FC, A_OFF, o);		/* [W1] */
		printf("MSC: F [W1] offset = %d\n", o)
	};
	do
	:: o % SB == 0 -> break		/* at a boundary: nothing to close */
	:: else ->
		/* [W8] acq_rel CAS offset o -> o + padding: lock cmpxchg */
		d_step {
			sbn[FC] == 0 ->
			ONX(2);
			if
			:: mem[A_OFF] == o ->
				mem[A_OFF] = o + SB - o % SB;
				printf("MSC: F [W8] offset %d -> %d\n", o, mem[A_OFF]);
				claim(2, o, mem[A_OFF]);
				closed = 1
			:: else -> o = mem[A_OFF]
			fi
		};
		if
		:: closed -> break
		:: else
		fi
	od;
	/* [F3] release store flush_req = 0: a plain store */
	atomic {
		sbn[FC] < SBN ->
		ONX(2);
		store(FC, A_FENCE, 0, 2);
		printf("MSC: F [F3] fence := 0 (buffered on CPU %d)\n", FC);
		o = 0;
		closed = 0;
		k++
	};
	goto again;
finish:
	atomic { k = 0; nfin++ }
}

init
{
	atomic {
		cpu[2] = Y;
		mem[A_OFF] = OFF0;
		used = RANGE(0, OFF0);
		run writer(0);
		run writer(1);
		run flusher()
	}
	(nfin == NT && sbn[X] == 0 && sbn[Y] == 0);
	printf("MSC: end: offset %d, reserved %d units from %d\n", mem[A_OFF], total, OFF0);
	assert(mem[A_OFF] == OFF0 + total);		/* nothing lost */
	assert(used == RANGE(0, mem[A_OFF]));		/* no hole */
	assert(mem[A_FENCE] == 0);
#ifdef REACH
	/* Coverage: a violation is a complete, correct run in which [F2]
	 * restarted a sequence in progress, a writer reserved by the locked
	 * cmpxchg while the fence was held, and a flush found nothing to
	 * close. */
	assert(!(g_mb_abort && g_locked && g_skip))
#endif
}
#endif
