/* SPDX-License-Identifier: MIT */
/*
 * grb.pml - a Promela model of grb's write/read protocol, checked
 * exhaustively with spin by tests/model/run_spin.sh (CTest label "model").
 * README.md (next to this file) says what it covers and abstracts away.
 *
 * It follows, inline by inline, with the C names:
 *   include/grb/static/writer.h  grb_reserve, grb_commit, _grb_commit_bytes
 *   src/core/write.c             _grb_reserve_slow, check_next_free,
 *                                push_reader, _grb_clear_noref, _grb_deliver,
 *                                _grb_discard_slow, _grb_stream_flush
 *   src/core/reader.c            get_consuming, packet_fill, swap_in_spare,
 *                                grb_reader_put, grb_packet_record_next
 *   src/core/stream.c, channel.c stream init, grb_channel_finalize
 * as they are at dce3e62, that is since 771f555 ("Fix races found by a
 * review of the ordering protocol", doc/ordering.md K2 and K3): a closer
 * clears the slot's NOREF before storing its packet fields (close_old,
 * flush), and with the atomic sync a discarded record is never given back.
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
 *   DISCARD            writer 1 may discard its record 1 after reserving it
 *                      (marked discarded, its bytes committed)
 *   GIVE_BACK          with DISCARD: first try the rollback CAS [W7] (what
 *                      the single-writer sync does; before 771f555 any
 *                      sync)
 *   FLUSHER            a timer flush runs once, concurrently with the writers
 *   REACH_OFFSET=p     coverage probe: asserts that the final offset is
 *                      below p, so that a violation shows a complete run
 *                      that went that far (2 laps: p = 2 * BUF = 16)
 * Bugs (the model must fail with them):
 *   K2_CLOSE_WITHOUT_REF     the closer stores the packet fields without
 *                            clearing NOREF (before 771f555: the K2
 *                            race of doc/ordering.md)
 *   BUG_NO_NOREF_CHECK       swap_in_spare does not check NOREF
 *   BUG_COMMIT_BEFORE_WRITE  a writer commits its record, then writes it
 *   BUG_NO_CONSUMED_CHECK    discard mode: the opener ignores consumed
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
 *     that is never delivered shows as a deadlock, not as a livelock.
 * Trails: `spin -t [-D...] grb.pml | grep MSC:` prints the events.
 */

#define NW 2			/* writer processes */
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

#ifdef NONDET_SIZE
#define PICK_SIZE(w, s, n) if :: n = 1 :: n = 2 fi
#else
#define PICK_SIZE(w, s, n) n = ((w) == 0 -> 2 - (s) % 2 : ((s) == 2 -> 1 : 2))
#endif

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
byte phys[NPHYS * SB];		/* the cells of the physical sub-buffers */
bit finalized;
byte lost_full, lost_wrap, lost_over;

/* ---- ghost state, not in the C code ---- */
byte rown;			/* physical sub-buffer the reader owns */
byte writers_done;
byte ncommitted, ndiscarded;
bit deliv[NW * NREC];		/* record (writer, seq) delivered */

/* Locals of the inlines below, declared by every process that uses them. */
#define COMMIT_LOCALS \
	short lend, dstart; \
	byte cid, did, cx, dx, ccb, ccr, drec; \
	bit cok

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
		assert(IDX(did) != rown);	/* never into the reader's memory */
		phys[IDX(did) * SB] = phys[IDX(did) * SB] | C_ENDED;
		drec = 0
	}
	idw[dx] = MKID(LAP(dstart), 1, IDX(did));	/* [D2] */
	atomic {
		done[dx] = dstart + SB;			/* [D3] */
		dx = 0; dstart = 0; did = 0
	}
}

/* _grb_commit_bytes(pos, add): one fetch-add [C1]; the add that brings the
 * slot's bytes to the end of the lap of pos delivers. */
inline commit_bytes(cpos, cadd, crec)
{
	atomic {
		cx = SLOT(cpos);
		cc_b[cx] = cc_b[cx] + cadd;
		cc_r[cx] = cc_r[cx] + crec;
		ncommitted = ncommitted + crec;	/* ghost */
		ccb = cc_b[cx];
		ccr = cc_r[cx];
		lend = (LAP(cpos) + 1) * SB;
		printf("MSC: p%d commit [%d,%d) records +%d: slot %d cc bytes %d\n",
		       _pid, cpos, cpos + cadd, crec, cx, ccb)
	}
	if
	:: ccb == lend -> deliver(cpos, ccr)
	:: else
	fi;
	atomic { cx = 0; ccb = 0; ccr = 0; lend = 0 }
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
			clear_noref(SLOT(fo), cid);
#endif
			atomic {
				data_end[SLOT(fo)] = fin;
				printf("MSC: p%d flush: data_end[%d] = %d\n", _pid, SLOT(fo), fin)
			}
			commit_bytes(fo, SB - fin, 0);
			break
		:: else
		fi
	od;
	atomic { fo = 0; fin = 0; cid = 0; cok = 0 }
}

/* push_reader(begin), overwrite mode: move consumed past every sub-buffer
 * the opener of begin overwrites, counting their records. */
inline push_reader(pb)
{
	do
	:: pc = consumed;		/* [P1] */
		if
		:: pb - pc >= 0 && pb - pc < BUF -> break	/* unsigned < buf */
		:: else
		fi;
		atomic { px = SLOT(pc); pd = done[px] }	/* [P2] */
		pr = records[px];
		if
		:: pd != pc + SB ->
			if
			:: consumed != pc	/* raced with the reader or a pusher */
			:: else -> assert(0)	/* "overwritten sub-buffer was never delivered" */
			fi
		:: else ->
			atomic {	/* [P3] CAS */
				if
				:: consumed == pc ->
					consumed = pc + SB;
					/* the relaxed add that follows the CAS in C:
					 * the counters are read only at the end */
					lost_over = lost_over + pr;
					printf("MSC: p%d push consumed %d -> %d: %d records overwritten\n",
					       _pid, pc, consumed, pr)
				:: else	/* the reader or another pusher moved it */
				fi
			}
		fi
	od;
	atomic { pc = 0; px = 0; pd = 0; pr = 0 }
}

proctype writer(byte w)
{
	short o, begin, endp, c, d, rec_pos, pc, pd;
	byte seq, n, in_sb, id, idx, px, pr;
	bit open_new, close_old, exact_end, discard;
	COMMIT_LOCALS;

	do
	:: seq < NREC ->
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
			:: begin - c < 0 || begin - c >= BUF ->	/* unsigned >= buf */
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
			clear_noref(SLOT(o), id);
#endif
			atomic {
				data_end[SLOT(o)] = in_sb;
				printf("MSC: p%d W%d close: data_end[%d] = %d\n", _pid, w, SLOT(o), in_sb)
			}
			commit_bytes(o, SB - in_sb, 0)
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
				assert(idx != rown);	/* never into the reader's memory */
				phys[idx * SB] = C_HDR(begin / SB)
			}
			commit_bytes(begin, PHDR, 0);
			rec_pos = begin + PHDR
		:: else ->
			id = idw[SLOT(o)];
			if
			:: NOREF(id) -> clear_noref(SLOT(o), id)
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
		:: w == 1 && seq == 1 -> discard = 1
		:: true
		fi;
#endif
#ifdef BUG_COMMIT_BEFORE_WRITE
		if
		:: !discard -> commit_bytes(rec_pos, n, 1)
		:: else
		fi;
#endif
		atomic {	/* record_header_write() + grb_write() */
			idx = IDX(id);
			assert(idx != rown);	/* never into the reader's memory */
			phys[idx * SB + rec_pos % SB] = C_START(w, seq, n);
			if
			:: n == 2 -> phys[idx * SB + rec_pos % SB + 1] = C_CONT(w, seq)
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
					assert(idx != rown);
					phys[idx * SB + rec_pos % SB] = C_START(w, seq, n) | C_DISC;
					ndiscarded++;	/* ghost */
					printf("MSC: p%d W%d record %d discarded in place\n", _pid, w, seq)
				}
				commit_bytes(rec_pos, n, 0)
			:: else
			fi
		:: else ->
#ifndef BUG_COMMIT_BEFORE_WRITE
			commit_bytes(rec_pos, n, 1)
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
	writers_done++
}

#ifdef FLUSHER
/* A timer's grb_channel_flush() (atomic sync: _grb_stream_flush from any
 * thread), once, at any time. */
proctype flusher()
{
	short fo;
	byte fin;
	COMMIT_LOCALS;

	stream_flush()
}
#endif

/* The consuming reader: get_consuming(), decode, put; until the stream is
 * finalized and drained (-ENODATA).  rown plays reader_spare: the reader
 * owns its spare, and after a swap the packet it took, which becomes its
 * spare (it is the only user of reader_spare). */
proctype reader()
{
	short c, d;
	byte x, ids, de, nrec, off, v, u, rw, rs, rl, ndec, j;

again:
	atomic { c = consumed; x = SLOT(c) }	/* [R0] */
	d = done[x];				/* [R1] */
	if
	:: d != c + SB ->
		if
		:: consumed != c -> goto again
		:: else
		fi;
		if
		:: finalized && offset == c -> goto finish	/* -ENODATA */
		:: else
		fi;
		/* -EAGAIN, then grb_reader_wait(): a retry can only answer
		 * otherwise once one of these has changed. */
		(done[x] != d || consumed != c || (finalized && offset == c));
		goto again
	:: else -> d = 0
	fi;
	/* packet_fill(): what the slot says of the packet */
	de = data_end[x];
	nrec = records[x];
	/* swap_in_spare() */
	ids = idw[x];				/* [R2] */
#ifdef BUG_NO_NOREF_CHECK
	if
	:: TAG(ids) != LAP(c) ->
#else
	if
	:: TAG(ids) != LAP(c) || !NOREF(ids) ->
#endif
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
		:: else -> goto again
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
			consumed = c + SB;
			printf("MSC: p%d reader consumed %d -> %d: data_end %d, records %d\n",
			       _pid, c, consumed, de, nrec);
			assert(de >= PHDR && de <= SB);	/* packet_fill's check */
			assert(phys[rown * SB] == (C_HDR(c / SB) | C_ENDED));	/* this packet, ended */
			off = PHDR;
			ndec = 0;
			do
			:: off < de ->
				v = phys[rown * SB + off];
				assert(KIND(v) == K_START);	/* not empty, stale or torn */
				rl = C_LEN(v);
				rw = C_W(v);
				rs = C_S(v);
				assert(off + rl <= de && rw < NW && rs < NREC);
				if
				:: rl == 2 ->
					u = phys[rown * SB + off + 1];
					assert(u == C_CONT(rw, rs))	/* not torn */
				:: else
				fi;
				if
				:: !(v & C_DISC) ->
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
		rw = 0; rs = 0; rl = 0; ndec = 0; j = 0
	}
	goto again;
finish:
	atomic {
		/* Exact accounting: every attempt delivered, lost or discarded. */
		ndec = 0;
		j = 0;
		do
		:: j < NW * NREC -> ndec = ndec + deliv[j]; j++
		:: else -> break
		od;
		printf("MSC: end: delivered %d, full %d, wrap %d, overwritten %d, discarded %d, committed %d\n",
		       ndec, lost_full, lost_wrap, lost_over, ndiscarded, ncommitted);
		assert(ndec + lost_full + lost_wrap + lost_over + ndiscarded == NW * NREC);
		assert(ndec + lost_over == ncommitted);
#ifdef REACH_OFFSET
		/* Coverage: a violation proves a complete run wrote that far. */
		assert(offset < REACH_OFFSET);
#endif
#ifndef OVERWRITE
		/* Discard mode: the reader got every committed record. */
		assert(lost_over == 0 && ndec == ncommitted)
#endif
	}
}

init
{
	short fo;
	byte fin, i;
	COMMIT_LOCALS;

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
		run writer(0);
		run writer(1);
		run reader();
#ifdef FLUSHER
		run flusher()
#endif
	}
	/* grb_channel_finalize(): writers done; flush, then finalized. */
	(writers_done == NW);
	stream_flush();
	finalized = 1
}
