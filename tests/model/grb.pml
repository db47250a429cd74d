/* SPDX-License-Identifier: MIT */
/*
 * grb.pml - a Promela model of grb's write/read protocol, checked
 * exhaustively with spin by tests/model/run_spin.sh (CTest label "model").
 * README.md (next to this file) says what it covers and abstracts away.
 *
 * It follows, inline by inline, with the C names:
 *   include/grb/static/writer.h  grb_reserve, grb_commit, _grb_commit_bytes,
 *                                _grb_publish_committed, _grb_publish_exact,
 *                                _grb_wake_if
 *   src/core/write.c             _grb_reserve_slow, check_next_free,
 *                                push_reader, _grb_clear_noref, _grb_deliver,
 *                                advance_committed, _grb_publish_behind,
 *                                _grb_publish_again, _grb_wake_later,
 *                                _grb_wake_stream, _grb_discard_slow,
 *                                _grb_stream_flush
 *   src/core/reader.c            get_consuming, packet_fill, swap_in_spare,
 *                                grb_reader_put, grb_packet_record_next,
 *                                committed_pos, quiescent_pos, next_in_place
 *   src/core/stream.c, channel.c stream init, grb_channel_finalize
 * as they are at 59ab3b4: since 771f555 ("Fix races found by a review of
 * the ordering protocol", doc/ordering.md K2 and K3) a closer clears the
 * slot's NOREF before storing its packet fields (close_old, flush), and
 * with the atomic sync a discarded record is never given back.
 *
 * Geometry: COUNT = 2 sub-buffers of SB = 4 units, a packet header of 1
 * unit, records of 1 or 2 units, NW = 2 writers, one consuming reader.
 * Positions are free-running ints as in C.  The COUNT + 1 physical
 * sub-buffers are arrays of cells that record who wrote them.
 *
 * Granularity: every load or store of a shared word is one step; a CAS or a
 * fetch-add is one atomic step.  Local computation is folded into the step
 * of the shared access it follows, and so are the few accesses nobody can
 * observe at that moment (commented where they are: loss counters, ghost
 * counts, last_cc, packet_end's write, the reader's decode).  Memory is
 * sequentially consistent: the model checks the protocol's logic, not its
 * memory orders.
 *
 * Options (spin -DNAME):
 *   OVERWRITE          overwrite mode (default: discard mode)
 *   NREC=n             records per writer (default 3, at most 4); sizes:
 *                      writer 0: 2,1,2,1  writer 1: 2,2,1,2
 *   NONDET_SIZE        every record is 1 or 2 units, either way
 *   SIZES2             every writer's first record is 2 units, the others 1
 *   NREC1=n            records of writer 1 (default NREC)
 *   DISCARD            writer NW - 1 may discard its record 1 after
 *                      reserving it (marked discarded, its bytes committed)
 *   GIVE_BACK          with DISCARD: first try the rollback CAS [W7] (what
 *                      the single-writer sync does; before 771f555 any
 *                      sync)
 *   FLUSHER            a timer flush runs once, concurrently with the writers
 *   NW=n               writers (default 2; 1 is the single-writer sync)
 *   NESTED             writer 0 takes one signal at any moment: a handler
 *                      that reserves, writes and commits a record of 1 unit
 *                      (writer NW, seq 0) while writer 0 is stopped
 * The committed position and the record-granularity read, as the code has
 * them (doc/ordering.md, "The committed position"; the labels [Q1]-[Q6],
 * [R9], [R12] are its table's):
 *   CPOS               commit_pos: after its add, every commit makes [Q1]'s
 *                      relaxed loads of offset o and commit_pos cp (with
 *                      the atomic sync, NW > 1, only when the lap's bytes
 *                      reach its own end: none below it in flight); if
 *                      o - S == the lap's bytes in the returned cc and
 *                      cp >= S (S: the commit's packet), a plain release
 *                      store commit_pos = o (it may step back: a store that
 *                      lands after a later one); if cp < S, [Q6] (every
 *                      packet from cp to S delivered: a CAS that never
 *                      moves it back).  A delivery moves it over the
 *                      delivered packets from where it is ([Q3]).  While
 *                      its head packet is not delivered the consuming
 *                      reader loads it ([Q2]), keeps the highest value, and
 *                      once it read up to that computes it itself ([Q4])
 *   NO_LOOK            CPOS (not INPLACE): the consuming reader does not
 *                      look at commit_pos (the end checks still compute
 *                      its view), for the runs about the writers' side
 *   NO_LIVE            CPOS: no end-state check LIVE, for a search of a Q1
 *                      violation that a LIVE one would stop first
 *   CP_EXACT           CPOS NESTED NW=1: assert that commit_pos is the
 *                      offset after every outermost commit of writer 0
 *                      (doc/ordering.md's claim for the single writer)
 *   CP_DLV             CPOS: assert at the end that commit_pos is not
 *                      behind a delivered packet ([Q3]'s claim)
 *   WAKE               CPOS: the writer wake-up policy GRB_WAKE_BYTES with
 *                      wake_every = WAKE_UNIT (default 2): a commit whose add
 *                      crossed a unit wakes after its [Q1] publication, or
 *                      asks for a wake-up and looks again ([Q5]); a commit
 *                      that publishes, and a delivery, wake while a request
 *                      is pending.  Alone, the code before design revision
 *                      8: the request is one flag, wake_pending, which any
 *                      wake-up clears (_grb_wake_stream); the code is WAKE
 *                      FIX_WAKE WAKE_POS
 *   WAKE_ONCE          WAKE: check at the end that there were no more
 *                      wake-ups than crossed units (ghost counters)
 * The code since design revision 8 (59ab3b4); without the option, the model
 * is the code before it (README.md, "Found in the code, and fixed"):
 *   FIX_SW_EXACT       NW=1: writer 0's commits at nesting depth 1 (not its
 *                      handler's: SW_OUT) skip [Q1]; after the delivery, if
 *                      their add completed the lap, they store the offset
 *                      into commit_pos, and again while a reload after a
 *                      signal fence ([Q7]) finds the offset moved
 *                      (_grb_publish_exact, _grb_publish_again); then they
 *                      wake as _grb_wake_if does
 *   FIX_WAKE           WAKE: wake_pending becomes two positions that only
 *                      grow.  wake_req: raised by [Q5] to the offset it
 *                      loads first, at most the end of the commit's
 *                      packet.  wake_done: the claim, raised by a CAS
 *                      before [D4] to what the caller published (its own
 *                      unit) or to the requests up to that; only the
 *                      caller that raises it wakes, and an own unit
 *                      another claim covers wakes nobody.  A commit wakes
 *                      for a request once it published up to it, a
 *                      delivery also below it; nothing is cleared
 *   WAKE_POS           FIX_WAKE: a wake-up raises wake_pos to what its
 *                      caller published before [D4] ([Q8]); the reader's
 *                      view is also at least wake_pos (its [Q8] load
 *                      beside [Q2])
 * Not the code (alternatives):
 *   CP_MAX             CPOS: [Q1] keeps the larger value (a CAS loop); with
 *                      FIX_WAKE it also prevents the early wake-up that
 *                      WAKE_POS prevents, at the price of a locked
 *                      instruction on every [Q1] store
 *   FIX_WAKE_DELIVER   WAKE: a delivery also wakes when its own add crossed
 *                      a unit (not enough: see README.md)
 * The reads before the delivery and the snapshots, as the code has them, a
 * design alternative, and coverage probes:
 *   INPLACE            (implies CPOS) the consuming reader also reads the
 *                      committed records of the head packet before its
 *                      delivery (next_in_place: up to its view of the
 *                      committed position; consumed = S + k): in place in
 *                      discard mode, by a copy in overwrite mode, dropped
 *                      if offset is past S + buf after it ([R12]) and
 *                      validated by the CAS on consumed ([R9]); the pusher
 *                      counts records - k
 *   CP_JOIN_PUSH       INPLACE OVERWRITE: the design text's other fix of
 *                      the copy instead of [R12]: every writer that clears
 *                      NOREF pushes first (push_reader), not only the
 *                      opener; every write into the memory then follows a
 *                      push (LAPCHECK)
 *   SNAPSHOT           (implies CPOS) a snapshot reader beside the
 *                      consuming one: it copies the head packet or the
 *                      next one, delivered or its committed prefix ([Q2]
 *                      load), and validates the copy with taking, consumed,
 *                      id and offset; the consuming reader announces its
 *                      swap in taking
 *   NSNAP=n            SNAPSHOT: copies the snapshot reader makes (default 2)
 *   REACH_OFFSET=p     coverage probe: asserts that the final offset is
 *                      below p, so that a violation shows a complete run
 *                      that went that far (2 laps: p = 2 * BUF = 16)
 *   REACH_CP           coverage probe (INPLACE): asserts at the end that a
 *                      complete run did NOT do the interesting things: a
 *                      [Q1] store set commit_pos back, records were
 *                      returned before the packet's delivery and, in
 *                      overwrite mode, a copy was dropped
 *   REACH_Q=n          coverage probe (CPOS), likewise: 1, a [Q1] store set
 *                      commit_pos back, [Q6] published, [Q6] gave up and
 *                      [Q3] moved it; 2, the reader's [Q4] raised its view
 *                      and a [Q1] store set commit_pos back; 3 (WAKE), a
 *                      crossed unit was left pending, [Q6] gave up and
 *                      [Q3] moved commit_pos
 * Bugs (the model must fail with them):
 *   K2_CLOSE_WITHOUT_REF     the closer stores the packet fields without
 *                            clearing NOREF (before 771f555: the K2
 *                            race of doc/ordering.md)
 *   BUG_NO_NOREF_CHECK       swap_in_spare does not check NOREF
 *   BUG_COMMIT_BEFORE_WRITE  a writer commits its record, then writes it
 *   BUG_NO_CONSUMED_CHECK    discard mode: the opener ignores consumed
 *   BUG_CP_NO_CHECK          CPOS: publish the commit's end, unchecked
 *   BUG_CP_LOAD_BEFORE_ADD   CPOS: load offset before the add
 *   BUG_CP_NO_START          CPOS: [Q1] without the test cp >= S
 *   BUG_CP_NO_ADVANCE        CPOS: the delivery without [Q3]
 *   BUG_CP_NO_BEHIND         CPOS: a commit behind its packet returns ([Q6]
 *                            and its wake-up left out)
 *   BUG_CP_NO_Q4             CPOS: the reader without [Q4]
 *   BUG_WAKE_NO_RECHECK      WAKE: [Q5] sets the flag (FIX_WAKE: raises
 *                            wake_req) and returns
 *   BUG_CP_NO_FLOOR          CPOS: [Q3] and [Q6] walk from commit_pos
 *                            however far behind (no floor)
 *   BUG_WAKE_OWN_ALWAYS      FIX_WAKE: an own wake-up wakes even when
 *                            another claim covers its unit
 *   BUG_SW_NO_RELOAD         FIX_SW_EXACT: one store of the offset into
 *                            commit_pos, without [Q7]'s reload
 *   BUG_CLAIM_BEFORE_COPY    INPLACE OVERWRITE: CAS consumed, then copy
 *   BUG_PUSH_IGNORES_K       INPLACE OVERWRITE: the pusher counts all the
 *                            records of the packet it pushes
 *   BUG_NO_OFFSET_CHECK      INPLACE OVERWRITE: the copy without [R12]
 *   BUG_CP_ANY_PACKET        INPLACE: read in place with commit_pos beyond
 *                            the head packet (no cp < S + sb test)
 *   BUG_SNAP_NO_TAKING, BUG_SNAP_NO_CONSUMED, BUG_SNAP_NO_ID,
 *   BUG_SNAP_NO_OFFSET       SNAPSHOT: the validation without that check
 *
 * Properties:
 *   - a writer never writes a cell of the physical sub-buffer the reader
 *     owns (its spare, or the packet it took): asserted at every write;
 *   - every packet the reader takes carries its own, ended packet header;
 *     every record decoded from it is intact (all its cells carry the same
 *     writer and seq), never an empty, stale or padding cell; per writer
 *     the seqs strictly increase; no record is delivered twice; the
 *     records decoded are the records the slot counted;
 *   - at the end (writers done, final flush, reader drained): delivered +
 *     lost (full, wrap, overwritten) + discarded == attempted, and
 *     delivered + overwritten == committed; in discard mode nothing is
 *     overwritten, so the reader got every committed record;
 *   - no invalid end state: every process terminates.  The reader's waits
 *     block until a word that can change its answer changes, so a packet
 *     that is never delivered shows as a deadlock, not as a livelock;
 *   - CPOS, Q1: every value a writer or a delivery stores into commit_pos,
 *     every value the reader loads and every value its [Q4] computes is
 *     true: every record below it is committed and holds its final
 *     content.  In its own packet, every cell below it was written for
 *     that position of that lap and is committed (ghost bits in the cells;
 *     checked while the packet is not delivered); every earlier packet has
 *     its lap complete;
 *   - CPOS, LIVE: when the writers (and the timer flush) are done, and
 *     after the final flush, the reader's view (the highest value it
 *     loaded or computed, commit_pos, and [Q4] now) reaches the offset,
 *     or the offset is at a boundary whose packet is delivered;
 *   - CP_EXACT, CP_DLV: the claims above;
 *   - WAKE: a wake-up for a unit its caller's add crossed comes after the
 *     unit's records are readable by the reader (its view, or the packets
 *     delivered from its head); when the writers are done, every crossed
 *     unit was followed by a wake-up at which its records were readable
 *     (none lost);
 *   - INPLACE: every record returned in place (discard mode) or from a
 *     copy whose CAS succeeded (overwrite mode) is committed, of the head
 *     packet's lap, at its position; no writer writes the cells the client
 *     holds in place; the delivered path returns the records after the
 *     first k, and the first k were returned in place; the accounting
 *     above stays exact (a record returned in place is counted once); with
 *     CP_JOIN_PUSH, every write of a packet header or record comes after
 *     consumed passed the previous lap of its packet (LAPCHECK);
 *   - SNAPSHOT: an accepted copy is the packet's content: its header and
 *     every record written for that position of that lap and committed.
 * Trails: `spin -t [-D...] grb.pml | grep MSC:` prints the events.
 */

#ifndef NW
#define NW 2			/* writer processes */
#endif
#ifdef NESTED
#define NH 1			/* the handler: one record, as writer NW */
#else
#define NH 0
#endif
#define HW NW			/* the handler's writer number */
#if defined(INPLACE) || defined(SNAPSHOT)
#define CPOS
#endif
#ifndef NREC
#define NREC 3			/* records per writer */
#endif
#define COUNT 2			/* sub-buffers in the ring */
#define SB 4			/* units per sub-buffer */
#define BUF (SB * COUNT)
#define PHDR 1			/* packet header units */
#define NPHYS (COUNT + 1)	/* physical sub-buffers: ring + reader spare */

#define SLOT(p) (((p) / SB) % COUNT)
#define LAP(p) ((p) / BUF)

/* Slot id: (tag + 1) << 3 | NOREF << 2 | physical index (tag -1 at start). */
#define MKID(tag, noref, idx) ((((tag) + 1) << 3) | ((noref) << 2) | (idx))
#define TAG(id) (((id) >> 3) - 1)
#define NOREF(id) (((id) >> 2) & 1)
#define IDX(id) ((id) & 3)
#define NOREF_BIT 4

/*
 * Cell: kind in bits 0-1 (0 empty, 1 record start, 2 continuation, 3 packet
 * header).  Record cells: len - 1 in bit 2, writer in bits 3-4, seq in bits
 * 5-6, discarded in bit 7 (start cell).  Header: packet number (position /
 * SB) in bits 2-6, packet_end's mark in bit 7.
 */
#define K_START 1
#define K_CONT 2
#define K_HDR 3
#define KIND(v) ((v) & 3)
#define C_START(w, s, n) (K_START | (((n) - 1) << 2) | ((w) << 3) | ((s) << 5))
#define C_CONT(w, s) (K_CONT | ((w) << 3) | ((s) << 5))
#define C_LEN(v) ((((v) >> 2) & 1) + 1)
#define C_W(v) (((v) >> 3) & 3)
#define C_S(v) (((v) >> 5) & 3)
#define C_DISC 128
#define C_HDR(p) (K_HDR | ((p) << 2))
#define C_ENDED 128
/*
 * CPOS: a cell also carries ghost bits: GCOM once the commit of its record
 * or header happened, and the position it was written for (its lap), so
 * that a stale or next-lap cell never passes for a committed one.
 */
#ifdef CPOS
#define CELL short
#define GCOM 256
#define PTAG(p) ((p) << 9)
#define CPOSOF(v) ((v) >> 9)
#else
#define CELL byte
#define PTAG(p) 0
#endif
#define CVAL(v) ((v) & 255)
#define HEAD(p) ((p) - (p) % SB)	/* consumed & ~(sb - 1) */

#ifdef NONDET_SIZE
#define PICK_SIZE(w, s, n) if :: n = 1 :: n = 2 fi
#elif defined(SIZES2)
#define PICK_SIZE(w, s, n) n = ((w) == HW || (s) > 0 -> 1 : 2)
#else
#define PICK_SIZE(w, s, n) \
	n = ((w) == HW -> 1 : ((w) == 0 -> 2 - (s) % 2 : ((s) == 2 -> 1 : 2)))
#endif
#ifndef NREC1
#define NREC1 NREC
#elif NREC1 > NREC
#error "NREC1 > NREC"
#endif
/* records of writer w */
#define NRECW(w) ((w) == HW -> 1 : ((w) == 1 -> NREC1 : NREC))

/* ---- shared memory: struct grb_shm_stream, grb_shm_slot, the data ---- */
short offset;			/* write position */
short consumed;			/* read position */
byte cc_b[COUNT];		/* cc, bits 0-39: bytes */
byte cc_r[COUNT];		/* cc, bits 40-63: records */
byte last_cc[COUNT];		/* records part of last_cc */
byte records[COUNT];		/* records of the last delivered packet */
byte idw[COUNT];		/* id: MKID(tag, NOREF, index) */
short done[COUNT];		/* end position of the last delivered packet */
byte data_end[COUNT];		/* content size, stored by the closer */
CELL phys[NPHYS * SB];		/* the cells of the physical sub-buffers */
bit finalized;
byte lost_full, lost_wrap, lost_over;
#ifdef CPOS
short commit_pos;		/* writers' line: the committed position */
#if defined(WAKE) && !defined(FIX_WAKE)
bit wake_pending;		/* a crossed wake-up unit waits for a publication */
#elif defined(WAKE)
short wake_req, wake_done;	/* FIX_WAKE: the farthest offset a crossed unit
				 * asked a wake-up for, and the farthest position
				 * one was issued for */
#ifdef WAKE_POS
short wake_pos;			/* the farthest position a wake-up published */
#endif
#endif
#endif

/* ---- ghost state, not in the C code ---- */
byte rown;			/* physical sub-buffer the reader owns */
byte writers_done;
byte ncommitted, ndiscarded;
bit deliv[(NW + NH) * NREC];	/* record (writer, seq) delivered */
#ifdef INPLACE
/* Cells [hold_lo, hold_hi) of physical sub-buffer hold_i: records the
 * reader returned in place, which the client may still be reading. */
byte hold_i, hold_lo, hold_hi;
#endif
#ifdef SNAPSHOT
short taking = -1;		/* reader line: the packet being swapped, or ~0 */
byte nvalid;			/* ghost: copies the snapshot reader accepted */
/* the reader gives up a swap it announced (brings its own semicolon) */
#define TAKEN taking = -1;
#else
#define TAKEN
#endif
#ifdef CPOS
short rcp;			/* the reader's cp_max: the highest position it saw */
#endif
#ifdef WAKE
byte g_nwake, g_ncross;		/* ghost: wake-ups, crossed units */
short gwake;			/* the farthest target of the crossed units not yet
				 * woken for (0: none), see wake_stream */
short gmaxend[COUNT];		/* per slot: the end of the farthest commit counted */
#endif
#ifdef CPOS
short gv, gp;			/* scratch of reader_sees, 0 between steps */
#endif
#ifdef CPOS
/* The offset is reached: by p, or the offset is at a boundary whose packet
 * is delivered (the reader takes it whole). */
#define REACHED(p) ((p) == offset || (offset % SB == 0 && done[SLOT(offset - 1)] == offset))
#endif
#if defined(REACH_CP) || defined(REACH_Q)
/* see REACH_CP and REACH_Q */
bit g_stale, g_inplace, g_drop, g_behind, g_bail, g_adv, g_q4, g_pend;
#define GHOST(x) x
#else
#define GHOST(x) skip
#endif
#ifdef NESTED
bit hrun, hsent;		/* the signal is being handled / was raised */
pid w0pid, hpid;		/* writer 0, the handler */
#endif
#ifdef CPOS
#ifdef FLUSHER
#define NFL 1
#else
#define NFL 0
#endif
byte flushers_done;
#endif

/* A writer's write into cell i of physical sub-buffer p: never into the
 * reader's memory, nor into cells the client holds in place. */
#ifdef INPLACE
#define WCHECK(p, i) assert((p) != rown && !((p) == hold_i && (i) >= hold_lo && (i) < hold_hi))
#else
#define WCHECK(p, i) assert((p) != rown)
#endif
/* INPLACE OVERWRITE CP_JOIN_PUSH: a write for position q (a packet header
 * or a record) comes after consumed passed the previous lap of q's packet:
 * the push that the reader's CAS races with precedes every write into that
 * memory.  (It brings its own semicolon.) */
#if defined(INPLACE) && defined(OVERWRITE) && defined(CP_JOIN_PUSH)
#define LAPCHECK(q) assert(HEAD(consumed) > HEAD(q) - BUF);
#else
#define LAPCHECK(q)
#endif

/* INPLACE OVERWRITE CP_JOIN_PUSH: a writer that clears NOREF of the
 * packet at p pushes the reader out of the packet it overwrites first, so
 * that no write into that memory precedes the push that the reader's CAS
 * races with.  Both macros bring their own semicolon (nothing, hence no
 * step, otherwise). */
#if defined(INPLACE) && defined(OVERWRITE) && defined(CP_JOIN_PUSH)
#define JOIN_PUSH(p) push_reader(p);
#define PUSH_LOCALS short pc, pd; byte px, pr;
#else
#define JOIN_PUSH(p)
#define PUSH_LOCALS
#endif

/* Locals of the inlines below, declared by every process that uses them. */
#ifdef CPOS
#define Q1_LOCALS \
	short qs; \
	byte qx, qi, qj; \
	CELL qv
#ifdef WAKE
#define WAKE_LOCALS ; bit ccross, wpend, cwi, cwl; byte wcc; short cwt, wreq, wbound
#else
#define WAKE_LOCALS
#endif
#define COMMIT_LOCALS \
	short lend, dstart, cr, ccp, cat, cfl, cflr; \
	byte cid, did, cx, dx, ccb, ccr, drec, cn; \
	bit cok, cq, cbad; \
	Q1_LOCALS WAKE_LOCALS
#else
#define COMMIT_LOCALS \
	short lend, dstart; \
	byte cid, did, cx, dx, ccb, ccr, drec; \
	bit cok
#endif

/* _grb_clear_noref(slot): the slot's id, NOREF cleared, in res. */
inline clear_noref(slot, res)
{
	res = idw[slot];
	do
	:: NOREF(res) ->
		atomic {	/* [W6] CAS; a failed CAS returns the current id */
			if
			:: idw[slot] == res ->
				idw[slot] = res - NOREF_BIT;
				res = res - NOREF_BIT;
				cok = 1;
				printf("MSC: p%d clear NOREF slot %d: writers use phys %d\n",
				       _pid, slot, IDX(res))
			:: else -> res = idw[slot]; cok = 0
			fi
		}
		if
		:: cok -> break
		:: else
		fi
	:: else -> break
	od;
	cok = 0
}

#ifdef CPOS
/*
 * Q1 for a committed position qr: every record below qr is committed and
 * holds its final content.  The packets before qr's have their lap
 * complete (all bytes committed; a delivered one was); in qr's own packet
 * every cell of [S(qr), qr) was written for that position (this lap) and
 * its record or header is committed.  The cells are checked while the
 * packet is not delivered: until then its memory is the slot's (only the
 * reader's swap of a delivered lap changes the index, and only after a
 * delivery can the next lap write).  A slot's laps complete in order and
 * cc_b only grows, so the COUNT packets before qr's cover all earlier ones.
 */
inline q1_check(qr)
{
	qs = HEAD(qr);
	qj = 1;
	do
	:: qj <= COUNT && qs - qj * SB >= 0 ->
		/* "the committed position covers an incomplete packet" */
		assert(cc_b[SLOT(qs - qj * SB)] >= LAP(qs - qj * SB) * SB + SB);
		qj++
	:: else -> break
	od;
	qx = SLOT(qs);
	if
	:: qr != qs && done[qx] < qs + SB ->
		qi = IDX(idw[qx]);
		qj = 0;
		do
		:: qs + qj < qr ->
			qv = phys[qi * SB + qj];
			/* "the committed position covers a cell not committed for it" */
			assert((qv & GCOM) && CPOSOF(qv) == qs + qj);
			qj++
		:: else -> break
		od
	:: else
	fi;
	qs = 0; qx = 0; qi = 0; qj = 0; qv = 0
}

/* [Q1] release store of commit_pos = v, Q1 checked for the value stored.
 * CP_MAX: keep the larger value (a CAS loop in C), not the code. */
inline cp_store(v)
{
	d_step {
		q1_check(v);
#ifdef CP_MAX
		if
		:: v > commit_pos -> commit_pos = v
		:: else
		fi;
#else
		GHOST(g_stale = (g_stale || v < commit_pos));
		commit_pos = v;
#endif
		printf("MSC: p%d [Q1] stores %d: commit_pos %d\n", _pid, v, commit_pos)
	}
}

/*
 * Ghost: gv = the position a reader that looked now would read up to: the
 * highest of commit_pos, of what the reader already saw (rcp), and of what
 * [Q4] would compute now from its head packet (every packet from it to
 * the offset delivered, the open slot's committed bytes equal to the
 * offset); with dlv, also the end of the packets delivered from its head
 * (get_consuming takes them whole).  One step, nothing stored but gv and
 * gp (the caller clears both).
 */
inline reader_sees(dlv)
{
	gv = commit_pos;
	if
	:: rcp > gv -> gv = rcp
	:: else
	fi;
#ifdef WAKE_POS
	if
	:: wake_pos > gv -> gv = wake_pos
	:: else
	fi;
#endif
	gp = HEAD(consumed);
	do
	:: done[SLOT(gp)] == gp + SB -> gp = gp + SB
	:: else -> break
	od;
	if
	:: dlv && gp > gv -> gv = gp
	:: else
	fi;
#ifndef BUG_CP_NO_Q4
	if
	:: gp == HEAD(offset) && cc_b[SLOT(gp)] % SB == offset - gp && offset > gv -> gv = offset
	:: else
	fi
#endif
}

#ifdef WAKE
#ifndef WAKE_UNIT
#define WAKE_UNIT 2		/* GRB_WAKE_BYTES, wake_every 2 */
#endif
/*
 * _grb_wake_stream(), before revision 8: the relaxed load of wake_pending,
 * its exchange to 0 if set, then [D4] (the seq_cst add on deliver_seq: the
 * wake-up; the reader_waiting handshake is doc/ordering.md's, not
 * modelled).  Ghost, at [D4]: a wake-up for the caller's own crossed unit
 * (own, its target wt) comes after that unit's records are readable (wt <=
 * the reader's view); every crossed unit whose records are readable now is
 * woken for (gwake, the farthest target not woken for, is cleared once the
 * view reaches it).  FIX_WAKE (the code now): no flag to clear; first the
 * claim on wake_done (below), and only a caller that raises it wakes.
 * WAKE_POS (the code now): before [D4], wake_pos = max(wake_pos, wp), wp
 * what the caller published ([Q8]).
 */
inline wake_stream(own, wt, wx, wp)
{
#ifdef FIX_WAKE
	wreq = wake_req;
	atomic {	/* the claim: a CAS loop raising wake_done to wp (own),
			 * else to min(wake_req, wp); only a raise wakes.  An own
			 * wake-up whose unit (ending at or below wx) another
			 * claim covers neither raises nor wakes. */
		if
		:: own || wreq > wp -> wreq = wp
		:: else
		fi;
		if
#ifndef BUG_WAKE_OWN_ALWAYS
		:: own && wake_done >= wx -> wpend = 0
#endif
		:: else ->
			if
			:: wake_done < wreq -> wake_done = wreq; wpend = 1
#ifdef BUG_WAKE_OWN_ALWAYS
			:: else -> wpend = own
#else
			:: else -> wpend = 0
#endif
			fi
		fi;
		printf("MSC: p%d claims to %d: wake_done %d, wakes %d\n", _pid, wreq, wake_done, wpend)
	};
	if
	:: wpend ->
#endif
#ifdef WAKE_POS
	atomic {	/* CAS loop: the maximum, before [D4] */
		if
		:: wake_pos < wp -> wake_pos = wp
		:: else
		fi
	};
#endif
#ifndef FIX_WAKE
	wpend = wake_pending;
	if
	:: wpend -> wake_pending = 0; wpend = 0	/* relaxed exchange */
	:: else
	fi;
#endif
	d_step {
		reader_sees(1);
		printf("MSC: p%d wakes the reader: readable to %d, unit to %d, pending to %d\n",
		       _pid, gv, (own -> wt : -1), gwake);
		g_nwake++;
		/* "a wake-up before the crossed unit's records are readable" */
		assert(!own || wt <= gv);
		if
		:: gwake <= gv -> gwake = 0
		:: else
		fi;
		gv = 0; gp = 0
	}
#ifdef FIX_WAKE
	:: else
	fi;
	wreq = 0; wpend = 0
#endif
}

/* After a publication of wp: wake for a unit crossed by this commit (own)
 * or one left pending.  FIX_WAKE: relaxed loads of wake_req and wake_done;
 * wake for a request not claimed (req > done) once wp reaches it (part, a
 * delivery: also below it); wake_stream makes the claim.  bnd: for own,
 * where the unit's records end at most. */
inline wake_if(own, wp, part, bnd)
{
#ifndef FIX_WAKE
	if
	:: own -> wpend = 1
	:: else -> wpend = wake_pending	/* relaxed */
	fi;
	if
	:: wpend -> wake_stream(own, cwt, 0, wp)
	:: else
	fi
#else
	wreq = wake_req;
	atomic {
		wpend = (wreq > wake_done) && (part || wp >= wreq)
	};
	if
	:: own || wpend -> wpend = 0; wake_stream(own, cwt, bnd, wp)
	:: else
	fi;
	wreq = 0; wpend = 0
#endif
}

/* _grb_wake_later(pos): [Q5] the seq_cst exchange wake_pending = 1 before
 * revision 8 (FIX_WAKE, the code now: a load of the offset, at most the
 * end of the packet of pos, every record the add counted below it, then a
 * CAS loop raising wake_req to it), then
 * seq_cst loads of cc, offset and commit_pos; if they show this packet
 * quiescent and commit_pos at it, publish and wake (in the commit's
 * locals: cr, ccp, cq). */
inline wake_later(wpos)
{
#ifndef FIX_WAKE
	wake_pending = 1;
	printf("MSC: p%d [Q5] wake_pending = 1\n", _pid);
#else
	cr = offset;
	atomic {
		/* every byte the lap's count holds is in the packet of wpos */
		if
		:: cr > HEAD(wpos) + SB -> cr = HEAD(wpos) + SB
		:: else
		fi;
		wbound = cr;
		if
		:: wake_req < cr -> wake_req = cr
		:: else
		fi;
		printf("MSC: p%d [Q5] wake_req = max(.., %d) = %d\n", _pid, cr, wake_req)
	};
#endif
	GHOST(g_pend = 1);
#ifndef BUG_WAKE_NO_RECHECK
	wcc = cc_b[SLOT(wpos)];
	cr = offset;
	atomic {
		ccp = commit_pos;
		cq = (cr - HEAD(wpos) == wcc % SB && ccp >= HEAD(wpos));
		printf("MSC: p%d [Q5] looks: cc bytes %d, offset %d, commit_pos %d: publish %d\n",
		       _pid, wcc % SB, cr, ccp, cq);
		wcc = 0; ccp = 0
	};
	if
	:: cq ->
		cp_store(cr);
		wake_if(1, cr, 0, wbound)
	:: else
	fi;
	cr = 0; cq = 0
#endif
}
#endif

/*
 * _grb_publish_behind(pos, o, crossed), o in cr: [Q6] acquire loads of
 * commit_pos and of the done of every packet from it to pos's packet; all
 * delivered (at most COUNT of them): a CAS loop that never moves
 * commit_pos back.  Otherwise give up (a crossed unit: _grb_wake_later).
 * The loads of done share the step of the first CAS: a packet delivered
 * stays delivered, so loading them there is one of the schedules of the C
 * code (all the loads late), and every other schedule gives the same
 * decision (a packet found undelivered earlier is found so again, unless
 * one before it was not, which stops the walk at the same point).
 */
inline publish_behind(ppos)
{
	ccp = commit_pos;
	cat = ccp;
#ifndef BUG_CP_NO_FLOOR
	/* the floor: the packet a ring behind ours is delivered (ours was
	 * opened), and so is every packet before it */
	if
	:: cat < HEAD(ppos) + SB - COUNT * SB -> cat = HEAD(ppos) + SB - COUNT * SB
	:: else
	fi;
#endif
	cq = 1;		/* the walk is still to do */
	do
	:: d_step {
		cq || cr > ccp ->
		if
		:: cq ->	/* the walk, then the first CAS */
			cq = 0;
			do
			:: cat < HEAD(ppos) && !cbad ->
				cbad = (cn >= COUNT || done[SLOT(cat)] < HEAD(cat) + SB);
				cat = HEAD(cat) + SB;
				cn++
			:: else -> break
			od;
			printf("MSC: p%d [Q6] from %d: every packet delivered %d\n", _pid, ccp, !cbad);
			cat = 0; cn = 0
		:: else
		fi;
		if
		:: cbad -> ccp = cr	/* gives up: ends the loop */
		:: !cbad && cr > ccp && commit_pos == ccp ->
			q1_check(cr);
			commit_pos = cr;
			GHOST(g_behind = 1);
			printf("MSC: p%d [Q6] CAS commit_pos %d -> %d\n", _pid, ccp, cr);
			ccp = cr
		:: !cbad && cr > ccp && commit_pos != ccp -> ccp = commit_pos
		:: else
		fi
	   }
	:: else -> break
	od;
#ifdef WAKE
	/* the wake-up after the publication, or _grb_wake_later: the caller */
	cwi = !cbad;
	cwl = cbad && ccross;
#endif
	GHOST(g_bail = (g_bail || cbad));
	ccp = 0; cbad = 0
}

/*
 * _grb_publish_committed(pos, mask, bytes, cc, add), after the add (ccb:
 * the slot's bytes it returned): [Q1] relaxed loads of offset (into cr)
 * and commit_pos; if offset - S == the lap's bytes (ccb mod SB; never for
 * a complete lap, which its delivery publishes) and commit_pos reached S,
 * a plain release store of the offset; if commit_pos is behind S, [Q6].
 * With the atomic sync (NW > 1) a commit whose lap's bytes are fewer than
 * its own end minus S (a record below it in flight, or the lap complete)
 * makes neither load.  A crossed unit: wake after the publication, or
 * _grb_wake_later.
 */
inline publish_committed(ppos, padd)
{
#if NW > 1
	cq = !(ccb % SB < ppos + padd - HEAD(ppos));
#else
	cq = 1;
#endif
	if
	:: cq ->
#ifndef BUG_CP_LOAD_BEFORE_ADD
		cr = offset;
#endif
		d_step {
			ccp = commit_pos;
			cq = (cr - HEAD(ppos) == ccb % SB);
			printf("MSC: p%d [Q1] offset %d, commit_pos %d, lap bytes %d\n",
			       _pid, cr, ccp, ccb % SB)
		}
	:: else
	fi;
	if
#ifndef BUG_CP_NO_START
	:: cq && ccp >= HEAD(ppos) ->
#else
	:: cq ->
#endif
		ccp = 0;
		cp_store(cr);
#ifdef WAKE
		cwi = 1
#else
		skip
#endif
#ifndef BUG_CP_NO_START
	:: cq && ccp < HEAD(ppos) ->
#ifndef BUG_CP_NO_BEHIND
		publish_behind(ppos)
#else
		skip
#endif
#endif
	:: !cq ->
#ifdef WAKE
		cwl = ccross
#else
		skip
#endif
	fi;
#ifdef WAKE
	/* after a publication: wake for a crossed unit or a pending one;
	 * none, and a unit crossed: _grb_wake_later */
	if
	:: cwi -> wake_if(ccross, cr, 0, cr)
	:: cwl -> wake_later(ppos)
	:: else
	fi;
	cwi = 0; cwl = 0;
#endif
	cr = 0; ccp = 0; cq = 0
}

/*
 * advance_committed(), after [D3]: [Q3] a seq_cst load of commit_pos;
 * then, at most COUNT + 1 times, the done of its packet (a later lap's
 * counts) and, delivered, a CAS to the packet's end (a failure reloads).
 * Each load of done shares the step of the CAS after it: the schedule of
 * the C code with the load just before the CAS, equivalent to the others
 * (a delivered packet stays delivered; a CAS that fails reloads).
 */
inline advance_committed()
{
	ccp = commit_pos;
	cn = 0;
	do
	:: cn <= COUNT ->
		d_step {
			/* The walk starts at the floor (cflr, set by the
			 * delivery) if the position is behind it: the end of the
			 * packet a ring behind the one delivered, delivered, as
			 * every packet before it (their next laps were opened).
			 * A late store may set the position back by more than
			 * the walk's reach. */
#ifndef BUG_CP_NO_FLOOR
			cfl = (ccp < cflr -> cflr : ccp);
#else
			cfl = ccp;
#endif
			cat = HEAD(cfl) + SB;
			cbad = (done[SLOT(HEAD(cfl))] < cat);
			if
			:: cbad
			:: !cbad && commit_pos == ccp ->
				q1_check(cat);
				commit_pos = cat;
				GHOST(g_adv = 1);
				printf("MSC: p%d [Q3] CAS commit_pos %d -> %d\n", _pid, ccp, cat);
				ccp = cat
			:: !cbad && commit_pos != ccp -> ccp = commit_pos
			fi;
			cat = 0; cfl = 0;
			cn++
		};
		if
		:: cbad -> break
		:: else
		fi
	:: else -> break
	od;
	cr = ccp;	/* for the wake-up: the position it leaves */
	ccp = 0; cn = 0; cbad = 0
}
#endif

/* _grb_deliver(pos, cc), by the one commit that completed the lap. */
inline deliver(dpos, dccr)
{
	atomic {
		dx = SLOT(dpos);
		dstart = dpos - dpos % SB;
		did = idw[dx];
		/* "delivery of a sub-buffer no writer opened" */
		assert(!NOREF(did) && IDX(did) <= COUNT);
		/* last_cc: only the deliverers of the slot use it, one lap
		 * after the other, so its accesses need no steps of their own */
		drec = dccr - last_cc[dx];
		last_cc[dx] = dccr
	}
	atomic {
		records[dx] = drec;
		printf("MSC: p%d deliver slot %d packet [%d,%d) records %d phys %d\n",
		       _pid, dx, dstart, dstart + SB, drec, IDX(did));
		/* packet_end() completes the packet header: nobody else may
		 * use this memory now (asserted), so it shares the step */
		WCHECK(IDX(did), 0);	/* never into the reader's memory */
		phys[IDX(did) * SB] = phys[IDX(did) * SB] | C_ENDED;
		drec = 0
	}
	idw[dx] = MKID(LAP(dstart), 1, IDX(did));	/* [D2] */
	atomic {
		done[dx] = dstart + SB;			/* [D3] */
#ifdef CPOS
		cflr = dstart + SB - COUNT * SB;	/* [Q3]'s floor */
#endif
		dx = 0; dstart = 0; did = 0
	}
#ifdef CPOS
#ifndef BUG_CP_NO_ADVANCE
	advance_committed();
#endif
	cflr = 0;
#ifdef WAKE
	/* a unit crossed: the delivery wakes (the packet policy's wake at
	 * every delivery is not modelled).  FIX_WAKE_DELIVER: also when the
	 * completing add crossed one itself, whatever wake_pending says. */
#ifdef FIX_WAKE_DELIVER
	if
	:: ccross -> wake_stream(0, 0, 0, cr)
	:: else -> wake_if(0, cr, 1, cr)
	fi;
#else
	wake_if(0, cr, 1, cr);
#endif
#endif
	cr = 0
#endif
}

#ifdef FIX_SW_EXACT
#if NW != 1
#error "FIX_SW_EXACT is the single-writer sync: NW=1"
#endif
/*
 * The single writer's commit at nesting depth 1 (writer 0, not its handler:
 * SW_OUT): no [Q1] after the add; after the delivery, a relaxed load of
 * offset and a release store of it into commit_pos, until a reload after a
 * signal fence ([Q7]) finds the offset unchanged (no handler reserved in
 * between).  The value published stays in cr.  Brings its own semicolon.
 */
#define SW_OUT(w) ((w) == 0)
#ifdef BUG_SW_NO_RELOAD
#define SW_NO_RELOAD 1	/* the bug: one store, no reload */
#else
#define SW_NO_RELOAD 0
#endif
#define SW_EXACT_STORE \
	do \
	:: cr = offset; \
		cp_store(cr); \
		atomic { cq = (offset == cr) || SW_NO_RELOAD }; \
		if \
		:: cq -> cq = 0; break \
		:: else \
		fi \
	od;
#else
#define SW_OUT(w) 0
#endif

/* _grb_commit_bytes(pos, add): one fetch-add [C1]; the add that brings the
 * slot's bytes to the end of the lap of pos delivers.  With CPOS, cmark: the
 * commit of the cells [pos, pos + add) (a record or a header; 0: padding),
 * marked in the cells (ghost, same step); then _grb_publish_committed.
 * WAKE: the add crossed a wake-up unit if it changed cc's bytes divided by
 * WAKE_UNIT (wake_mask); the unit's target is the end of the farthest
 * commit of the slot's lap counted so far: its records are readable once
 * a reader reads up to it. */
inline commit_bytes(cpos, cadd, crec, cmark, cout)
{
#if defined(CPOS) && defined(BUG_CP_LOAD_BEFORE_ADD)
	atomic {
		cr = offset;
		printf("MSC: p%d [Q1] offset = %d, loaded before the add\n", _pid, cr)
	}
#endif
	atomic {
		cx = SLOT(cpos);
		cc_b[cx] = cc_b[cx] + cadd;
		cc_r[cx] = cc_r[cx] + crec;
		ncommitted = ncommitted + crec;	/* ghost */
		ccb = cc_b[cx];
		ccr = cc_r[cx];
		lend = (LAP(cpos) + 1) * SB;
#ifdef CPOS
		if
		:: cmark ->
			did = IDX(idw[cx]);
			WCHECK(did, cpos % SB);
			phys[did * SB + cpos % SB] = phys[did * SB + cpos % SB] | GCOM;
			if
			:: cadd == 2 ->
				phys[did * SB + cpos % SB + 1] = phys[did * SB + cpos % SB + 1] | GCOM
			:: else
			fi;
			did = 0
		:: else
		fi;
#endif
#ifdef WAKE
		if
		:: cpos + cadd > gmaxend[cx] -> gmaxend[cx] = cpos + cadd
		:: else
		fi;
		ccross = ((ccb - cadd) / WAKE_UNIT != ccb / WAKE_UNIT);
		if
		:: ccross ->
			g_ncross++;
			cwt = gmaxend[cx];
			if
			:: cwt > gwake -> gwake = cwt
			:: else
			fi
		:: else
		fi;
#endif
		printf("MSC: p%d commit [%d,%d) records +%d: slot %d cc bytes %d\n",
		       _pid, cpos, cpos + cadd, crec, cx, ccb)
	}
#ifdef CPOS
#ifdef BUG_CP_NO_CHECK
	/* the bug: publish the commit's end, unchecked */
	cr = cpos + cadd;
	cp_store(cr);
	cr = 0;
#else
	if
	:: cout -> skip	/* published after the delivery, below */
	:: else -> publish_committed(cpos, cadd)
	fi;
#endif
#endif
	if
	:: ccb == lend -> deliver(cpos, ccr)
	:: else
	fi;
#ifdef FIX_SW_EXACT
	if
	:: cout ->
		SW_EXACT_STORE
#ifdef WAKE
		wake_if(ccross, cr, 0, cr);
#endif
		cr = 0
	:: else
	fi;
#endif
	atomic {
		cx = 0; ccb = 0; ccr = 0; lend = 0;
#ifdef WAKE
		ccross = 0; cwt = 0;
#endif
		skip
	}
}

/* _grb_stream_flush(): close the current sub-buffer with padding. */
inline stream_flush()
{
	fo = offset;
	do
	:: fin = fo % SB;
		if
		:: fin == 0 -> break
		:: else
		fi;
		atomic {	/* [W8] CAS */
			if
			:: offset == fo ->
				offset = fo + SB - fin;
				cok = 1;
				printf("MSC: p%d flush: offset %d -> %d\n", _pid, fo, offset)
			:: else -> fo = offset; cok = 0
			fi
		}
		if
		:: cok ->
#ifndef K2_CLOSE_WITHOUT_REF
			/* the reader may still take the previous lap */
			JOIN_PUSH(HEAD(fo))
			clear_noref(SLOT(fo), cid);
#endif
			atomic {
				data_end[SLOT(fo)] = fin;
				printf("MSC: p%d flush: data_end[%d] = %d\n", _pid, SLOT(fo), fin)
			}
			commit_bytes(fo, SB - fin, 0, 0, 0);
			break
		:: else
		fi
	od;
	atomic { fo = 0; fin = 0; cid = 0; cok = 0 }
}

/* push_reader(begin), overwrite mode: move consumed past every sub-buffer
 * the opener of begin overwrites, counting their records.  consumed = S + k:
 * the reader already returned k records of the packet at S (INPLACE; k is
 * 0 otherwise), so the pusher counts records - k. */
inline push_reader(pb)
{
	do
	:: pc = consumed;		/* [P1] */
		if
		:: pb - HEAD(pc) >= 0 && pb - HEAD(pc) < BUF -> break	/* unsigned < buf */
		:: else
		fi;
		atomic { px = SLOT(pc); pd = done[px] }	/* [P2] */
		pr = records[px];
		if
		:: pd != HEAD(pc) + SB ->
			if
			:: consumed != pc	/* raced with the reader or a pusher */
			:: else -> assert(0)	/* "overwritten sub-buffer was never delivered" */
			fi
		:: else ->
			atomic {	/* [P3] CAS */
				if
				:: consumed == pc ->
					consumed = HEAD(pc) + SB;
					/* the relaxed add that follows the CAS in C:
					 * the counters are read only at the end */
					assert(pc % SB <= pr);
#ifndef BUG_PUSH_IGNORES_K
					lost_over = lost_over + pr - pc % SB;
#else
					lost_over = lost_over + pr;
#endif
					printf("MSC: p%d push consumed %d -> %d: %d records overwritten\n",
					       _pid, pc, consumed, pr - pc % SB)
				:: else	/* the reader or another pusher moved it */
				fi
			}
		fi
	od;
	atomic { pc = 0; px = 0; pd = 0; pr = 0 }
}

#ifdef CP_EXACT
/*
 * CP_EXACT (NW=1 NESTED): writer 0's grb_commit() or grb_discard() (nesting
 * depth 1) returned; its handler's records, if it ran, are committed too.
 * Brings its own semicolon.
 */
#define OUTERMOST \
	if \
	:: w == 0 -> \
		/* "commit_pos is not the offset after the outermost commit" */ \
		assert(REACHED(commit_pos)) \
	:: else \
	fi;
#else
#define OUTERMOST
#endif

/* A writer, or with NESTED (w == HW) the signal handler of writer 0: it
 * runs once the signal is raised, and writer 0 is stopped while it runs
 * (hrun; the handler's last step clears it, after which the handler only
 * terminates). */
#ifdef NESTED
proctype writer(byte w) provided ((_pid == hpid && hsent) || (_pid != hpid && (_pid != w0pid || !hrun)))
#else
proctype writer(byte w)
#endif
{
	short o, begin, endp, c, d, rec_pos, pc, pd;
	byte seq, n, in_sb, id, idx, px, pr;
	bit open_new, close_old, exact_end, discard;
	COMMIT_LOCALS;

	do
	:: seq < NRECW(w) ->
		PICK_SIZE(w, seq, n);
retry:
		/* [W1] grb_reserve's fast path and _grb_reserve_slow read the
		 * offset and decide alike: the fast path is the slow path's
		 * "fits, not at a boundary, does not end the sub-buffer" case. */
		atomic {
			o = offset;
			in_sb = o % SB;
			begin = o;
			open_new = 0;
			close_old = 0;
			exact_end = 0;
			if
			:: in_sb > 0 && in_sb + n <= SB ->
				endp = o + n;
				exact_end = (in_sb + n == SB)
			:: in_sb > 0 && in_sb + n > SB ->
				close_old = 1;
				open_new = 1;
				begin = o + SB - in_sb
			:: in_sb == 0 -> open_new = 1
			fi;
			if
			:: open_new ->
				endp = begin + PHDR + n;
				exact_end = (PHDR + n == SB)
			:: else
			fi
		}
		if
		:: open_new ->
			/* check_next_free() */
#if !defined(OVERWRITE) && !defined(BUG_NO_CONSUMED_CHECK)
			c = consumed;		/* [W3] */
			if
			:: begin - HEAD(c) < 0 || begin - HEAD(c) >= BUF ->	/* unsigned >= buf */
				atomic {	/* the offset re-check; the counter */
					if
					:: offset != o -> c = 0; goto retry
					:: else ->
						lost_full++;
						printf("MSC: p%d W%d record %d lost FULL\n", _pid, w, seq);
						goto next
					fi
				}
			:: else -> c = 0
			fi;
#endif
			d = done[SLOT(begin)];	/* [W4] */
			if
			:: d != begin + SB - BUF ->
				atomic {	/* the offset re-check; the counter */
					if
					:: offset != o -> d = 0; goto retry
					:: else ->
						lost_wrap++;
						printf("MSC: p%d W%d record %d lost WRAP\n", _pid, w, seq);
						goto next
					fi
				}
			:: else -> d = 0
			fi
		:: else
		fi;
		atomic {	/* [W2] / [W5] CAS */
			if
			:: offset == o ->
				offset = endp;
				printf("MSC: p%d W%d record %d (%d units): offset %d -> %d (close %d, open %d)\n",
				       _pid, w, seq, n, o, endp, close_old, open_new)
			:: else -> goto retry
			fi
		}
		if
		:: close_old ->
#ifndef K2_CLOSE_WITHOUT_REF
			/* the reader may still take the previous lap */
			JOIN_PUSH(HEAD(o))
			clear_noref(SLOT(o), id);
#endif
			atomic {
				data_end[SLOT(o)] = in_sb;
				printf("MSC: p%d W%d close: data_end[%d] = %d\n", _pid, w, SLOT(o), in_sb)
			}
			commit_bytes(o, SB - in_sb, 0, 0, 0)
		:: else
		fi;
		if
		:: open_new ->
#ifdef OVERWRITE
			push_reader(begin);
#endif
			clear_noref(SLOT(begin), id);
			atomic {	/* packet_begin(): the packet header */
				idx = IDX(id);
				WCHECK(idx, 0);	/* never into the reader's memory */
				LAPCHECK(begin)
				phys[idx * SB] = C_HDR(begin / SB) | PTAG(begin)
			}
			commit_bytes(begin, PHDR, 0, 1, 0);
			rec_pos = begin + PHDR
		:: else ->
			id = idw[SLOT(o)];
			if
			:: NOREF(id) ->
				JOIN_PUSH(HEAD(o))
				clear_noref(SLOT(o), id)
			:: else
			fi;
			rec_pos = o
		fi;
		if
		:: exact_end ->
			atomic {
				data_end[SLOT(rec_pos)] = SB;
				printf("MSC: p%d W%d exact end: data_end[%d] = %d\n",
				       _pid, w, SLOT(rec_pos), SB)
			}
		:: else
		fi;
#ifdef DISCARD
		if
		:: w == NW - 1 && seq == 1 -> discard = 1
		:: true
		fi;
#endif
#ifdef BUG_COMMIT_BEFORE_WRITE
		if
		:: !discard -> commit_bytes(rec_pos, n, 1, 1, 0)
		:: else
		fi;
#endif
		atomic {	/* record_header_write() + grb_write() */
			idx = IDX(id);
			WCHECK(idx, rec_pos % SB);	/* never into the reader's memory */
			LAPCHECK(rec_pos)
			phys[idx * SB + rec_pos % SB] = C_START(w, seq, n) | PTAG(rec_pos);
			if
			:: n == 2 ->
				WCHECK(idx, rec_pos % SB + 1);
				phys[idx * SB + rec_pos % SB + 1] = C_CONT(w, seq) | PTAG(rec_pos + 1)
			:: else
			fi
		}
		if
		:: discard ->
			/* grb_discard(): _grb_discard_slow() */
#ifdef GIVE_BACK
			if
			:: !open_new ->
				atomic {	/* [W7] CAS: give the space back */
					if
					:: offset == rec_pos + n ->
						offset = rec_pos;
						cok = 1;
						ndiscarded++;	/* ghost */
						printf("MSC: p%d W%d record %d discarded: offset %d -> %d\n",
						       _pid, w, seq, rec_pos + n, rec_pos)
					:: else -> cok = 0
					fi
				}
			:: else -> cok = 0
			fi;
#endif
			if
			:: !cok ->
				atomic {	/* record_discard() */
					idx = IDX(id);
					WCHECK(idx, rec_pos % SB);
					phys[idx * SB + rec_pos % SB] = C_START(w, seq, n) | C_DISC | PTAG(rec_pos);
					ndiscarded++;	/* ghost */
					printf("MSC: p%d W%d record %d discarded in place\n", _pid, w, seq)
				}
				commit_bytes(rec_pos, n, 0, 1, SW_OUT(w));
				OUTERMOST
			:: else
			fi
		:: else ->
#ifndef BUG_COMMIT_BEFORE_WRITE
			commit_bytes(rec_pos, n, 1, 1, SW_OUT(w));
			OUTERMOST
#else
			skip
#endif
		fi;
next:
		atomic {
			seq++;
			o = 0; begin = 0; endp = 0; c = 0; d = 0; rec_pos = 0; id = 0; n = 0;
			in_sb = 0; idx = 0; open_new = 0; close_old = 0;
			exact_end = 0; discard = 0; cok = 0
		}
	:: else -> break
	od;
	atomic {
		writers_done++;
#ifdef NESTED
		if
		:: w == HW -> hrun = 0	/* the handler returns */
		:: else
		fi
#endif
	}
}

#ifdef FLUSHER
/* A timer's grb_channel_flush() (atomic sync: _grb_stream_flush from any
 * thread), once, at any time. */
proctype flusher()
{
	short fo;
	byte fin;
	COMMIT_LOCALS;
	PUSH_LOCALS

	stream_flush();
#ifdef CPOS
	flushers_done++
#endif
}
#endif

#if defined(INPLACE) || defined(SNAPSHOT)
/*
 * Decode cells [dlo, dhi) of physical sub-buffer di, the packet at hs (the
 * in-place read or the copy): okc = 1 iff every cell is a record cell
 * written for its position of this lap and committed, and the records end
 * at dhi; n counts the records (not discarded), rmask has their bits
 * (writer * NREC + seq).  Stops at the first bad cell.
 */
inline decode_range(di, dlo, dhi)
{
	okc = 1;
	n = 0;
	rmask = 0;
	off = dlo;
	do
	:: off < dhi ->
		cv = phys[di * SB + off];
		v = CVAL(cv);
		if
		:: !((cv & GCOM) && CPOSOF(cv) == hs + off && KIND(v) == K_START) ->
			okc = 0;
			break
		:: else
		fi;
		rl = C_LEN(v);
		rw = C_W(v);
		rs = C_S(v);
		if
		:: off + rl > dhi || rw >= NW + NH || rs >= NRECW(rw) ->
			okc = 0;
			break
		:: else
		fi;
		if
		:: rl == 2 ->
			cv = phys[di * SB + off + 1];
			if
			:: CVAL(cv) != C_CONT(rw, rs) || CPOSOF(cv) != hs + off + 1 || !(cv & GCOM) ->
				okc = 0;
				break
			:: else
			fi
		:: else
		fi;
		if
		:: !(v & C_DISC) ->
			rmask = rmask | (1 << (rw * NREC + rs));
			n++
		:: else
		fi;
		off = off + rl
	:: else -> break
	od;
	cv = 0; v = 0; rl = 0; rw = 0; rs = 0; off = 0
}

#endif

#ifdef INPLACE
/* The records of rmask are returned to the client: never twice, and per
 * writer in increasing seq order. */
inline return_mask()
{
	j = 0;
	do
	:: j < (NW + NH) * NREC ->
		if
		:: rmask & (1 << j) ->
			assert(!deliv[j]);		/* not twice */
			u = j + 1;			/* in order: no later seq yet */
			do
			:: u < (j / NREC + 1) * NREC -> assert(!deliv[u]); u++
			:: else -> break
			od;
			deliv[j] = 1;
			GHOST(g_inplace = 1);
			printf("MSC: p%d reader returns W%d record %d in place\n", _pid, j / NREC, j % NREC)
		:: else
		fi;
		j++
	:: else -> break
	od;
	j = 0; u = 0
}
#endif

#ifdef CPOS
/* The reader's [Q4] gave v: true (Q1), kept if higher. */
inline q4_got(v)
{
	q1_check(v);
	if
	:: v > rcp -> rcp = v; GHOST(g_q4 = 1)
	:: else
	fi;
	printf("MSC: p%d reader [Q4] quiescent at %d: its view %d\n", _pid, v, rcp)
}

/*
 * quiescent_pos(start): [W1] acquire load of offset o; every packet from
 * start to o's delivered ([R1] acquire loads of done, in one step: a
 * delivered packet stays delivered, so the walk decides as it would with
 * its loads at the time of the last one, a schedule of the C code); at a
 * boundary o is the answer, else [Q4] acquire load of the open slot's cc
 * and a seq_cst reload of offset: the lap's bytes == o - open and the same
 * offset give o.
 */
inline quiescent_pos(rs)
{
	d_step {
		qo = offset;
		qp = rs;
		qok = !(rs > qo || HEAD(qo) - rs > BUF);
		if
		:: qok && qp == qo -> q4_got(qo)
		:: else
		fi
	};
	if
	:: qok && qp != HEAD(qo) ->
		d_step {
			do
			:: qok && qp != HEAD(qo) ->
				qok = (done[SLOT(qp)] == qp + SB);
				qp = qp + SB
			:: else -> break
			od;
			if
			:: qok && qp == qo -> q4_got(qo)
			:: else
			fi
		}
	:: else
	fi;
	if
	:: qok && qo != HEAD(qo) ->
		qcc = cc_b[SLOT(qo)];
		d_step {
			if
			:: qcc % SB == qo - HEAD(qo) && offset == qo -> q4_got(qo)
			:: else
			fi
		}
	:: else
	fi;
	qo = 0; qp = 0; qok = 0; qcc = 0
}

/*
 * committed_pos(start, from): [Q2] acquire load of commit_pos (Q1 checked
 * for the value loaded); the reader keeps the highest value it saw (rcp,
 * its cp_max); when that is not past from, where its reading of the head
 * packet at start is, quiescent_pos().
 */
inline reader_look(rs, rfrom)
{
	d_step {
		lcp = commit_pos;
		q1_check(lcp);
		if
		:: lcp > rcp -> rcp = lcp
		:: else
		fi;
		printf("MSC: p%d reader [Q2] commit_pos %d: its view %d, head %d\n", _pid, lcp, rcp, rs)
	}
#ifdef WAKE_POS
	d_step {	/* acquire load of wake_pos, as [Q2] */
		lcp = wake_pos;
		q1_check(lcp);
		if
		:: lcp > rcp -> rcp = lcp
		:: else
		fi
	}
#endif
#ifndef BUG_CP_NO_Q4
	if
	:: rcp <= rfrom -> quiescent_pos(rs)
	:: else
	fi
#endif
}
#endif

/* The consuming reader: get_consuming(), decode, put; until the stream is
 * finalized and drained (-ENODATA).  rown plays reader_spare: the reader
 * owns its spare, and after a swap the packet it took, which becomes its
 * spare (it is the only user of reader_spare).
 *
 * CPOS: while the head packet is not delivered the reader looks at the
 * committed position (committed_pos(): _grb_reader_ready(),
 * next_in_place()).  INPLACE: consumed = S + k, k the records of the head
 * packet S already returned in place; offk, the cell after them, is the
 * reader's own.  Before the packet is delivered, the reader's view rcp in
 * (S, S + sb) makes [S + offk, rcp) readable: in place in discard mode
 * (nobody else reuses the packet before consumed passes S), copied and
 * validated by the CAS on consumed in overwrite mode.  Once delivered, the
 * packet is taken as before and its records after the first k are
 * returned. */
proctype reader()
{
	short c, d;
	byte x, ids, de, nrec, off, v, u, rw, rs, rl, ndec, j, k;
#ifdef CPOS
	short lcp, qo, qp;
	byte qcc;
	bit qok;
	Q1_LOCALS;
#endif
#ifdef INPLACE
	short hs, cp, rhead;
	byte kk, n, ri, offk = PHDR;
	CELL cv;
	int rmask;
	bit okc;
#endif

again:
#ifdef INPLACE
	atomic {	/* [R0] */
		c = consumed;
		x = SLOT(c);
		hs = HEAD(c);
		k = c % SB;
		/* a new get: the client is done with what we returned */
		hold_i = 0; hold_lo = 0; hold_hi = 0;
		if
		:: hs != rhead ->	/* a new head packet */
			assert(k == 0);
			rhead = hs;
			offk = PHDR;
			kk = 0
		:: else -> assert(k == kk)	/* only we add to k */
		fi
	}
#else
	atomic { c = consumed; x = SLOT(c) }	/* [R0] */
#endif
	d = done[x];				/* [R1] */
	if
	:: d != HEAD(c) + SB ->
		if
		:: consumed != c -> goto again
		:: else
		fi;
		if
		:: finalized && offset == c -> goto finish	/* -ENODATA */
		:: else
		fi;
#ifdef INPLACE
		reader_look(hs, hs + offk);
		if
#ifndef BUG_CP_ANY_PACKET
		:: hs < rcp && rcp < hs + SB && rcp > hs + offk -> cp = rcp; goto inplace
#else
		:: hs < rcp && rcp > hs + offk ->
			cp = (rcp > hs + SB -> hs + SB : rcp);	/* read up to the end */
			goto inplace
#endif
		:: else
		fi;
#elif defined(CPOS) && !defined(NO_LOOK)
		reader_look(HEAD(c), HEAD(c) + PHDR);
#endif
#if defined(CPOS) && !defined(NO_LOOK)
		/* -EAGAIN, then grb_reader_wait(): the reader looks again after
		 * a wake-up's causes, a publication or a delivery (a polling
		 * reader would also look after other changes of the offset or
		 * of cc, which [Q4] reads; not modelled). */
		(done[x] != d || consumed != c || commit_pos != lcp || (finalized && offset == c));
		lcp = 0;
#else
		/* -EAGAIN, then grb_reader_wait(): a retry can only answer
		 * otherwise once one of these has changed. */
		(done[x] != d || consumed != c || (finalized && offset == c));
#endif
		goto again
	:: else -> d = 0
	fi;
	/* packet_fill(): what the slot says of the packet */
	de = data_end[x];
	nrec = records[x];
#ifdef SNAPSHOT
	taking = HEAD(c);	/* seq_cst: the snapshot readers' warning */
#endif
	/* swap_in_spare() */
	ids = idw[x];				/* [R2] */
#ifdef BUG_NO_NOREF_CHECK
	if
	:: TAG(ids) != LAP(c) ->
#else
	if
	:: TAG(ids) != LAP(c) || !NOREF(ids) ->
#endif
		TAKEN
		(idw[x] != ids || consumed != c);
		goto again
	:: else
	fi;
	atomic {	/* [R2] CAS: swap the spare in; the reader owns the packet */
		assert(IDX(ids) <= COUNT);	/* "sub-buffer index out of range" */
		if
		:: idw[x] == ids ->
			idw[x] = ids - IDX(ids) + rown;
			printf("MSC: p%d reader swap slot %d: takes phys %d, gives phys %d\n",
			       _pid, x, IDX(ids), rown);
			rown = IDX(ids)
		:: else -> TAKEN goto again
		fi
	}
	/* [R3] CAS.  On success, grb_packet_record_next() over [PHDR,
	 * content_size) and the put share its step: a writer that wrote into
	 * this memory meanwhile would fail its own assertion, so reading
	 * later hides nothing. */
	atomic {
		if
		:: consumed != c ->
			/* Overwritten while we took it, counted by the
			 * pusher.  The memory is our spare. */
			printf("MSC: p%d reader lost the CAS on consumed %d\n", _pid, c)
		:: else ->
			consumed = HEAD(c) + SB;
			printf("MSC: p%d reader consumed %d -> %d: data_end %d, records %d, %d returned before\n",
			       _pid, c, consumed, de, nrec, k);
			assert(de >= PHDR && de <= SB);	/* packet_fill's check */
			/* this packet, ended */
			assert(CVAL(phys[rown * SB]) == (C_HDR(HEAD(c) / SB) | C_ENDED));
			off = PHDR;
			ndec = 0;
			do
			:: off < de ->
				v = CVAL(phys[rown * SB + off]);
				assert(KIND(v) == K_START);	/* not empty, stale or torn */
				rl = C_LEN(v);
				rw = C_W(v);
				rs = C_S(v);
				assert(off + rl <= de && rw < NW + NH && rs < NRECW(rw));
				if
				:: rl == 2 ->
					u = CVAL(phys[rown * SB + off + 1]);
					assert(u == C_CONT(rw, rs))	/* not torn */
				:: else
				fi;
				if
				:: !(v & C_DISC) && ndec < k ->
					/* returned in place before the delivery */
					assert(deliv[rw * NREC + rs]);
					ndec++
				:: !(v & C_DISC) && ndec >= k ->
					assert(!deliv[rw * NREC + rs]);	/* not twice */
					j = rs + 1;		/* in order: no later seq yet */
					do
					:: j < NREC -> assert(!deliv[rw * NREC + j]); j++
					:: else -> break
					od;
					deliv[rw * NREC + rs] = 1;
					ndec++;
					printf("MSC: p%d reader delivers W%d record %d\n", _pid, rw, rs)
				:: else
				fi;
				off = off + rl
			:: else -> break
			od;
			assert(ndec == nrec)		/* what the slot counted */
		fi;
		/* put: the memory is our spare again; wipe it (ghost) */
		j = 0;
		do
		:: j < SB -> phys[rown * SB + j] = 0; j++
		:: else -> break
		od;
		c = 0; x = 0; ids = 0; de = 0; nrec = 0; off = 0; v = 0; u = 0;
		rw = 0; rs = 0; rl = 0; ndec = 0; j = 0; k = 0
	}
#ifdef SNAPSHOT
	taking = -1;
#endif
	goto again;
#ifdef INPLACE
inplace:
#ifndef OVERWRITE
	atomic {	/* the slot's id (acquire): the index; the records in place */
		ri = IDX(idw[x]);
		decode_range(ri, offk, cp - hs);
		printf("MSC: p%d reader reads [%d,%d) in phys %d: %d records, intact %d\n",
		       _pid, hs + offk, cp, ri, n, okc);
		/* "read in place a cell not committed for this lap" */
		assert(okc);
		hold_i = ri; hold_lo = offk; hold_hi = cp - hs;
		return_mask()
	}
	atomic {	/* [R3] CAS consumed S + k -> S + k + n */
		assert(consumed == c);	/* discard mode: nobody else moves it */
		consumed = c + n;
		printf("MSC: p%d reader in place [%d,%d): consumed %d -> %d\n",
		       _pid, hs + offk, cp, c, consumed);
		kk = kk + n;
		offk = cp - hs;
		ri = 0; n = 0; rmask = 0; okc = 0
	}
#elif !defined(BUG_CLAIM_BEFORE_COPY)
	atomic {	/* the slot's id (acquire): the index; the copy */
		ri = IDX(idw[x]);
		decode_range(ri, offk, cp - hs);
		printf("MSC: p%d reader copies [%d,%d) from phys %d: %d records, intact %d\n",
		       _pid, hs + offk, cp, ri, n, okc)
	}
#if !defined(CP_JOIN_PUSH) && !defined(BUG_NO_OFFSET_CHECK)
	/* [R12] fence(acquire), seq_cst load of offset: a copy made once the
	 * slot's next lap was reserved is dropped (the pusher counts it) */
	if
	:: atomic {
		offset > hs + BUF ->
		GHOST(g_drop = 1);
		printf("MSC: p%d reader drops its copy: offset %d is past %d\n", _pid, offset, hs + BUF);
		ri = 0; n = 0; rmask = 0; okc = 0; cp = 0
	   };
		goto again
	:: else
	fi;
#endif
	atomic {	/* [R3] acq_rel CAS consumed S + k -> S + k + n */
		if
		:: consumed == c ->
			consumed = c + n;
			/* "a copy validated by the CAS is not intact" */
			assert(okc);
			return_mask();
			kk = kk + n;
			offk = cp - hs;
			printf("MSC: p%d reader copy to %d: consumed %d -> %d\n", _pid, cp, c, consumed)
		:: else ->	/* pushed: the pusher counted them */
			GHOST(g_drop = 1);
			printf("MSC: p%d reader drops its copy: consumed %d moved\n", _pid, c)
		fi;
		ri = 0; n = 0; rmask = 0; okc = 0
	}
#else
	atomic {	/* the id, the record headers: n */
		ri = IDX(idw[x]);
		decode_range(ri, offk, cp - hs)
	}
	atomic {	/* the bug: the CAS first */
		if
		:: consumed == c -> consumed = c + n; okc = 1
		:: else -> okc = 0
		fi;
		printf("MSC: p%d reader CAS consumed %d -> %d: %d\n", _pid, c, c + n, okc)
	}
	if
	:: okc ->
		atomic {	/* then the copy */
			decode_range(ri, offk, cp - hs);
			printf("MSC: p%d reader copies [%d,%d) from phys %d: intact %d\n",
			       _pid, hs + offk, cp, ri, okc);
			assert(okc);
			return_mask();
			kk = kk + n;
			offk = cp - hs
		}
	:: else
	fi;
	atomic { ri = 0; n = 0; rmask = 0; okc = 0 }
#endif
	cp = 0;
	goto again;
#endif
finish:
	atomic {
		/* Exact accounting: every attempt delivered, lost or discarded. */
		ndec = 0;
		j = 0;
		do
		:: j < (NW + NH) * NREC -> ndec = ndec + deliv[j]; j++
		:: else -> break
		od;
		printf("MSC: end: delivered %d, full %d, wrap %d, overwritten %d, discarded %d, committed %d\n",
		       ndec, lost_full, lost_wrap, lost_over, ndiscarded, ncommitted);
		assert(ndec + lost_full + lost_wrap + lost_over + ndiscarded == NRECW(0) + NRECW(1) * (NW - 1) + NH);
		assert(ndec + lost_over == ncommitted);
#ifdef REACH_OFFSET
		/* Coverage: a violation proves a complete run wrote that far. */
		assert(offset < REACH_OFFSET);
#endif
#ifdef REACH_CP
		/* Coverage: a violation is a complete run that did all this. */
#if defined(INPLACE) && defined(OVERWRITE)
		assert(!(g_stale && g_inplace && g_drop));
#elif defined(INPLACE)
		assert(!(g_stale && g_inplace));
#else
		assert(!g_stale);
#endif
#endif
#if REACH_Q == 1
		/* Coverage: a violation is a complete run that did all this. */
		assert(!(g_stale && g_behind && g_bail && g_adv));
#elif REACH_Q == 2
		assert(!(g_q4 && g_stale));
#elif REACH_Q == 3
		assert(!(g_pend && g_bail && g_adv));
#endif
#ifndef OVERWRITE
		/* Discard mode: the reader got every committed record. */
		assert(lost_over == 0 && ndec == ncommitted)
#endif
	}
}

#ifdef SNAPSHOT
#ifndef NSNAP
#define NSNAP 2
#endif
/*
 * A snapshot reader beside the consuming one: NSNAP times, it picks the
 * head packet S (from consumed) or the next one, and copies it if it is
 * delivered (up to data_end) or the committed prefix [S, cp) of the open
 * one: id0 = the slot's id (acquire), the copy from its physical index,
 * fence(acquire), then seq_cst loads of taking, consumed, id and offset.
 * The copy is accepted iff taking != S, consumed & ~(sb - 1) <= S,
 * id == id0 and offset <= S + buf; an accepted copy must be the packet's
 * content: its header and every record written for that position of that
 * lap and committed.  BUG_SNAP_NO_<check> leaves one check out.  cp is a
 * [Q2] load of commit_pos (snapshot_sample() also keeps its highest value
 * and tries [Q4], as the consuming reader does: every value is true, and
 * the copy's checks do not depend on which one).
 */
proctype snapshot()
{
	short hs, c, cp, d, o2, tk;
	byte x, id0, id1, hi, ns, n, off, v, rl, rw, rs;
	CELL cv;
	int rmask;
	bit okc, valid;

	do
	:: ns < NSNAP ->
		atomic {	/* snapshot_sample: consumed (acquire) */
			c = consumed;
			if
			:: hs = HEAD(c)
			:: hs = HEAD(c) + SB
			fi;
			x = SLOT(hs)
		}
		d = done[x];			/* [R1] */
		if
		:: d == hs + SB ->
			hi = data_end[x]	/* packet_fill: delivered */
		:: d != hs + SB ->
			atomic {		/* [Q2]: the committed prefix */
				cp = commit_pos;
				hi = (hs < cp && cp < hs + SB -> cp - hs : 0)
			}
		fi;
		if
		:: hi > 0 ->
			id0 = idw[x];		/* acquire */
			atomic {		/* the copy */
				decode_range(IDX(id0), PHDR, hi);
				cv = phys[IDX(id0) * SB];	/* the header */
				okc = okc && (cv & GCOM) && CPOSOF(cv) == hs && KIND(CVAL(cv)) == K_HDR;
				cv = 0;
				printf("MSC: p%d snapshot copies [%d,%d) from phys %d: intact %d\n",
				       _pid, hs, hs + hi, IDX(id0), okc)
			}
			/* fence(acquire), then the seq_cst loads */
			tk = taking;
			c = consumed;
			id1 = idw[x];
			atomic {
				o2 = offset;
				valid = 1;
#ifndef BUG_SNAP_NO_TAKING
				valid = valid && tk != hs;
#endif
#ifndef BUG_SNAP_NO_CONSUMED
				valid = valid && HEAD(c) <= hs;
#endif
#ifndef BUG_SNAP_NO_ID
				valid = valid && id1 == id0;
#endif
#ifndef BUG_SNAP_NO_OFFSET
				valid = valid && o2 <= hs + BUF;
#endif
				printf("MSC: p%d snapshot of %d: taking %d, consumed %d, id %d/%d, offset %d: valid %d\n",
				       _pid, hs, tk, c, id0, id1, o2, valid);
				/* "an accepted snapshot is not the packet's content" */
				assert(!valid || okc);
				nvalid = nvalid + valid
			}
		:: else
		fi;
		atomic {
			ns++;
			hs = 0; c = 0; cp = 0; d = 0; o2 = 0; tk = 0; x = 0; id0 = 0; id1 = 0;
			hi = 0; n = 0; rmask = 0; okc = 0; valid = 0
		}
	:: else -> break
	od
}
#endif

#ifdef CPOS
/* LIVE, once the writers stop: the reader's view (the highest position it
 * loaded, commit_pos now, and [Q4] now) reaches the offset.  The reader
 * tries [Q4] once it read up to its view, so a reader that looks now gets
 * this.  One step: nothing else runs then. */
inline live_check()
{
	d_step {
		reader_sees(0);
		printf("MSC: offset %d, commit_pos %d, the reader's view %d\n", offset, commit_pos, gv);
		/* "the reader's view stays below the offset" */
		assert(REACHED(gv));
		gv = 0; gp = 0
	}
}
#endif

init
{
	short fo;
	byte fin, i;
	COMMIT_LOCALS;
	PUSH_LOCALS

	atomic {
		/* stream.c: lap -1 of every slot is delivered and empty */
		i = 0;
		do
		:: i < COUNT ->
			idw[i] = MKID(-1, 1, i);
			done[i] = i * SB + SB - BUF;
			i++
		:: else -> break
		od;
		i = 0;
		rown = COUNT;		/* reader_spare = count */
#ifdef NESTED
		w0pid = run writer(0);
		hpid = run writer(HW);
#else
		run writer(0);
#endif
#if NW > 1
		run writer(1);
#endif
		run reader();
#ifdef SNAPSHOT
		run snapshot();
#endif
#ifdef FLUSHER
		run flusher()
#endif
	}
#ifdef NESTED
	/* The signal: once, at any moment of writer 0's run (or after it). */
	do
	:: atomic { !hsent -> hsent = 1; hrun = 1; printf("MSC: signal: writer 0 stops, its handler runs\n") }
	:: writers_done == NW + NH -> break
	od;
#endif
	/* grb_channel_finalize(): writers done; flush, then finalized. */
#ifdef CPOS
	(writers_done == NW + NH && flushers_done == NFL);
	printf("MSC: writers done: offset %d, commit_pos %d\n", offset, commit_pos);
#ifndef NO_LIVE
	live_check();
#endif
#ifdef CP_EXACT
	/* "commit_pos is not the offset after the last commit" */
	assert(REACHED(commit_pos));
#endif
#ifdef CP_DLV
	/* "commit_pos is left behind a delivered packet" */
	d_step {
		reader_sees(1);
		assert(commit_pos >= gp);
		gv = 0; gp = 0
	}
#endif
#ifdef WAKE
	/* "a crossed unit was never woken for once readable" */
	assert(gwake == 0);
#ifdef WAKE_ONCE
	/* "more wake-ups than crossed units" */
	assert(g_nwake <= g_ncross);
#endif
#endif
#else
	(writers_done == NW);
#endif
	stream_flush();
#if defined(CPOS) && !defined(NO_LIVE)
	live_check();
#endif
	finalized = 1
}
