/* SPDX-License-Identifier: MIT */
/*
 * recover.pml - a Promela model of what a consumer may trust of a
 * single-writer (per-thread) stream whose writing process died, checked
 * exhaustively with spin by tests/model/run_spin.sh (CTest label "model").
 * README.md (next to this file) says what it covers and abstracts away;
 * doc/design.md, "A writer that exits or dies", is the rule.
 *
 * It follows, inline by inline, with the C names:
 *   include/grb/static/writer.h  grb_reserve, grb_commit, _grb_commit_slot,
 *                                _grb_publish_committed, _grb_publish_exact
 *   src/core/write.c             _grb_reserve_slow, reserve_slow,
 *                                check_next_free, close_with_padding,
 *                                _grb_deliver, advance_committed,
 *                                _grb_publish_behind, _grb_publish_again,
 *                                _grb_stream_flush
 *   src/core/reader.c            committed_pos, quiescent_pos,
 *                                next_in_place, take_by_copy,
 *                                nothing_delivered, dead_complete,
 *                                lap_committed, dead_tail
 *
 * One stream of COUNT = 2 sub-buffers of SB = 4 units, a packet header of
 * 1 unit, records of 1 or 2 units (min_record_size 1).  One writer thread
 * (process W) writes NREC records; a signal handler (process H) runs once,
 * at any step of the thread, at the thread's nesting depth plus one, and
 * writes NHREC records; while it runs the thread is stopped (the provided
 * clauses), as a handler stops its thread.  A timer flush (FLUSH) asks
 * the owner to flush (flush_req), which the next reservation of the thread
 * or of the handler does first.  The process dies (SIGKILL) at any step:
 * init sets dead, and W and H stop where they are (unless).  Then the
 * recovering reader, a consuming reader of another process that starts at
 * consumed 0, reads the stream as reader.c does once the writer is gone,
 * in one step (nothing moves any more): delivered packets whole (to their
 * content size), the open head packet's records in place up to the
 * committed position, then dead_tail() on what is left.
 *
 * Steps: every load or store of a shared word, every CAS or add, is one
 * step, where the C code has them; the death and the signal may come
 * between any two.  A few loads whose value the death cannot change are
 * folded into the step before (commented).  Memory is sequentially
 * consistent: a store that the C code orders with a signal fence comes
 * in program order, as the fence makes it for a handler and for a death
 * (the process's stores all reach the shared mapping).  No consumer runs
 * before the death, so consumed stays 0 and the writer loses records
 * (FULL) once both sub-buffers are used; ids, NOREF, the reader's spare,
 * timestamps, last_end/last_ts, the wake-ups and the loss report in
 * records are left out (grb.pml models them).
 *
 * The cells of the sub-buffers hold what was written: a packet header
 * (with packet_end's mark) or a record's start or continuation (which
 * record, its length), and ghost bits: committed (set by the add that
 * commits it) and the position it was written for.  Padding is never
 * written.
 *
 * Options (spin -DNAME):
 *   NREC=n        records of the thread (default 3)
 *   NHREC=n       records of the handler (default 1)
 *   NONDET_SIZE   every record 1 or 2 units (default: the thread's 2,1,2,
 *                 the handler's 1)
 *   FLUSH         a timer flush request at any moment
 * The code before the model found its two holes (README.md), each must
 * fail:
 *   OLD_DEAD_DELIVERY    no dead_complete(): the records of a packet whose
 *                        delivery died are not read
 *   OLD_FLUSH_NEST       a flush at nesting depth 2 (a handler's
 *                        reservation doing what flush_req asked) stores
 *                        no nest_pos: its padding, committed or not,
 *                        lies behind the record its thread was writing
 * Coverage probes (must fail, showing a complete run that did it):
 *   REACH=1       the rule counted a record died
 *   REACH=2       the rule counted a flush's padding, no record (FLUSH)
 *   REACH=3       the reader claimed a packet whose delivery died
 *   REACH=4       the rule declined for a nested reservation, records
 *                 whose add was made left unread (the documented limit)
 *   REACH=5       NLOG: the counts told that an entry not done was
 *                 added (its record returned)
 *   REACH=6       NLOG: two records counted died (one a depth)
 * The design for nested records, which the code implements since layout
 * version 8 (without it, the rule of layout version 7, nest_pos):
 *   NLOG          the log of nested writes and the rule that reads it
 *                 (README.md, "The nested case, designed"): the nested
 *                 case recovered exactly; (2) and (4) hold with no
 *                 exception
 *   NLOG_BUG_NO_PUBLISH    a nested write does not publish first what is
 *                          committed below the offset
 *   NLOG_BUG_LOG_AFTER_CAS the entry appended after the CAS
 *   NLOG_BUG_DONE_BEFORE_ADD  the entry marked done before the add
 *   NLOG_BUG_NO_COUNTS     the rule takes an entry not done for open,
 *                          without the counts
 * Weakened rules and writers (the model must fail with them):
 *   BUG_NO_NEST_CHECK    dead_tail without the nest_pos test
 *   BUG_NO_COUNT_CHECK   dead_tail without the commit-count tests
 *   BUG_NO_FLUSH_CHECK   dead_tail takes a flush's padding for a record
 *   BUG_NEST_AFTER_CAS   the nested slow path stores nest_pos after its
 *                        CAS instead of before
 *
 * Properties, checked after the death:
 *   (1) every record the reader returns was committed (its add made) and
 *       is whole: it is decoded only at a cell that is a record's start,
 *       written for that position, every cell of it written and
 *       committed; never padding, a header or an empty cell; never twice;
 *   (2) every record whose commit returned before the death, and every
 *       record whose commit's add was made, is returned, except when the
 *       rule declined because a nested reservation was tried in the tail
 *       (nest_pos at or past it: the documented limit);
 *   (3) the rule counts at most one record died, and only when it is
 *       true: when it counts (died_at set) the tail holds exactly the
 *       counted number of reservations open (reserved, not committed),
 *       none of them a flush's padding, and no committed record that was
 *       not returned;
 *   (4) outside the documented limit (nest_pos before the tail) the
 *       accounting is exact: returned + died == the records reserved (the
 *       rule is complete, not only sound).
 * Trails: `spin -t [-D...] recover.pml | grep MSC:` prints the events.
 */

#ifndef NREC
#define NREC 3
#endif
#ifndef NHREC
#define NHREC 1
#endif
#define NR (NREC + NHREC)	/* records: the thread's 0.., then the handler's */
#define COUNT 2
#define SB 4
#define BUF (SB * COUNT)
#define PHDR 1
#define MINREC 1
#define NOPOS (-1)		/* GRB_NO_POS */

#define SLOT(p) (((p) / SB) % COUNT)
#define LAP(p) ((p) / BUF)
#define HEAD(p) ((p) - (p) % SB)

/*
 * A cell: kind in bits 0-1 (0 empty, 1 record start, 2 continuation, 3
 * packet header); record cells: length - 1 in bit 2, the record in bits
 * 3-5; a header: packet_end's mark in bit 2.  Ghost bits: 64 committed,
 * and from bit 7 the position the cell was written for.
 */
#define K_START 1
#define K_CONT 2
#define K_HDR 3
#define KIND(v) ((v) & 3)
#define C_START(r, n) (K_START | (((n) - 1) << 2) | ((r) << 3))
#define C_CONT(r) (K_CONT | ((r) << 3))
#define C_LEN(v) ((((v) >> 2) & 1) + 1)
#define C_REC(v) (((v) >> 3) & 7)
#define C_ENDED 4
#define GCOM 64
#define PTAG(p) ((p) << 7)
#define CPOSOF(v) ((v) >> 7)

#ifdef NONDET_SIZE
#define PICK_SIZE(r, n) if :: n = 1 :: n = 2 fi
#else
#define PICK_SIZE(r, n) n = ((r) >= NREC -> 1 : 2 - (r) % 2)
#endif

/* ---- shared memory: struct grb_shm_stream, grb_shm_slot, the data ---- */
short offset;			/* write position */
short commit_pos;		/* the committed position */
short nest_pos = NOPOS;		/* offset before a CAS at depth 2 or more */
short flush_pos = NOPOS;	/* offset before a flush's CAS */
bit flush_req;			/* a flush asked by another thread */
byte cc_b[COUNT];		/* cc, bits 0-39: bytes */
byte cc_r[COUNT];		/* cc, bits 40-63: records */
byte last_cc[COUNT];		/* records part of last_cc */
byte records[COUNT];		/* records of the last delivered packet */
short done[COUNT];		/* end position of the last delivered packet */
byte data_end[COUNT];		/* content size, stored by the closer */
short cells[COUNT * SB];	/* the sub-buffers (no reader swaps one) */
byte lost_full;
/* the thread's nesting depth (_grb_tls_nesting): its own word, which its
 * handler reads and moves */
byte nest;

#ifdef NLOG
/*
 * NLOG (the design for nested records, the code since layout version 8:
 * nlog in struct grb_shm_stream): the writer's log of nested writes.  Each write at nesting depth 2 or more (a reservation,
 * or a flush for flush_req) appends [start, end) before its CAS and marks
 * it done after its commit's add; the log restarts when every entry in it
 * is below commit_pos.
 */
#define NLOGMAX 4
byte nlog_n;			/* entries */
short nlog_s[NLOGMAX];		/* start: the offset before the CAS */
short nlog_e[NLOGMAX];		/* end: the offset the CAS stores */
bit nlog_f[NLOGMAX];		/* a flush: padding only */
bit nlog_d[NLOGMAX];		/* done: its add made (marked after it) */
#endif

/* ---- the consumer page and the reader (after the death) ---- */
byte died_records;
short died_at = NOPOS;

/* ---- ghost state ---- */
bit dead;			/* SIGKILL: nothing moves any more */
bit hsent, hrun;		/* the signal was sent / its handler runs */
bit wdone;			/* the thread wrote its records */
/* per record: 0 none, 1 its reservation began (depth taken), 2 reserved
 * (its CAS), 3 its commit's add made, 4 its commit returned, 5 lost */
byte st[NR];
bit ret[NR];			/* returned by the reader */
bit g_nestdecl;			/* the rule declined: nest_pos in the tail */
/* REACH: the rule counted a record died, a flush's padding (0 died), the
 * reader claimed a packet whose delivery died */
bit g_died, g_flush0, g_claim;
#ifdef NLOG
bit g_resolved;			/* NLOG: the counts said an entry not done was added */
#endif

/* Locals of the inlines below, declared by every process that uses them. */
#define W_LOCALS \
	short o, begin, endp, rec_pos, cr, ccp, cat, fo; \
	byte n, in_sb, dep, cx, ccb, ccr, lend, fin, ci, li; \
	bit open_new, close_old, exact_end, cok

/*
 * _grb_commit_slot(): [C1] the add of cadd bytes and crec records to the
 * slot of cpos (the single writer's local xadd); the commit that
 * completes the lap delivers.  cout: the single writer's commit at
 * nesting depth 1 (_grb_publish_exact after the delivery), else [Q1]
 * (_grb_publish_committed before it).  crid: the record (ghost), or -1
 * for padding and headers; chdr: the header at cpos is committed.
 */
inline commit_bytes(cpos, cadd, crec, cout, crid, chdr)
{
	atomic {	/* [C1] local xadd */
		cx = SLOT(cpos);
		cc_b[cx] = cc_b[cx] + cadd;
		cc_r[cx] = cc_r[cx] + crec;
		ccb = cc_b[cx];
		ccr = cc_r[cx];
		lend = (LAP(cpos) + 1) * SB;
		/* ghost: the cells it commits */
		ci = 0;
		do
		:: (crid >= 0 || chdr) && ci < cadd ->
			cells[cx * SB + cpos % SB + ci] = cells[cx * SB + cpos % SB + ci] | GCOM;
			ci++
		:: else -> break
		od;
		ci = 0;
		if
		:: crid >= 0 -> st[crid] = 3
		:: else
		fi;
		printf("MSC: p%d [C1] commit [%d,%d) records +%d: slot %d cc bytes %d\n",
		       _pid, cpos, cpos + cadd, crec, cx, ccb)
	}
	if
	:: cout ->
		if
		:: ccb == lend -> deliver(cpos, ccr)
		:: else
		fi;
		publish_exact()
	:: else ->
		publish_committed(cpos, ccb);
		if
		:: ccb == lend -> deliver(cpos, ccr)
		:: else
		fi
	fi;
	atomic { cx = 0; ccb = 0; ccr = 0; lend = 0 }
}

/* _grb_publish_exact(): [Q1] store of the offset, [Q7] reload after a
 * signal fence, again while it moved (_grb_publish_again). */
inline publish_exact()
{
	cr = offset;	/* relaxed load */
	do
	:: atomic {	/* [Q1] release store */
		commit_pos = cr;
		printf("MSC: p%d [Q1] commit_pos = %d (depth 1)\n", _pid, cr)
	   }
	   atomic {	/* [Q7] reload after the signal fence */
		if
		:: offset == cr -> break
		:: else -> cr = offset
		fi
	   }
	od;
	cr = 0
}

/*
 * _grb_publish_committed(), single writer: [Q1] relaxed loads of the
 * offset and commit_pos after the add; the offset equal to the packet's
 * start plus its lap's bytes: store it if commit_pos reached the packet,
 * else _grb_publish_behind ([Q6]).
 */
inline publish_committed(ppos, pbytes)
{
	cr = offset;		/* [Q1] relaxed load */
	ccp = commit_pos;	/* [Q1] relaxed load */
	if
	:: cr == HEAD(ppos) + pbytes % SB && pbytes % SB != 0 ->
		if
		:: ccp >= HEAD(ppos) ->
			atomic {	/* [Q1] release store */
				commit_pos = cr;
				printf("MSC: p%d [Q1] commit_pos = %d\n", _pid, cr)
			}
		:: else -> publish_behind(ppos)
		fi
	:: else
	fi;
	atomic { cr = 0; ccp = 0 }
}

/* _grb_publish_behind(): [Q6] every packet from commit_pos to ours
 * delivered (one step: a delivered packet stays so, and the thread's own
 * handler cannot deliver a packet of it while it is stopped), then a CAS
 * that never moves commit_pos back. */
inline publish_behind(ppos)
{
	atomic {	/* [Q6] acquire loads of commit_pos and the packets' done */
		ccp = commit_pos;
		cat = ccp;
		if
		:: HEAD(ppos) + SB - BUF > cat -> cat = HEAD(ppos) + SB - BUF
		:: else
		fi;
		cok = 1;
		do
		:: cat < HEAD(ppos) ->
			if
			:: done[SLOT(cat)] < HEAD(cat) + SB -> cok = 0; break
			:: else -> cat = HEAD(cat) + SB
			fi
		:: else -> break
		od;
		printf("MSC: p%d [Q6] from %d: every packet delivered %d\n", _pid, ccp, cok)
	}
	do
	:: cok && cr > ccp ->
		atomic {	/* [Q6] CAS */
			if
			:: commit_pos == ccp ->
				commit_pos = cr;
				printf("MSC: p%d [Q6] CAS commit_pos %d -> %d\n", _pid, ccp, cr);
				break
			:: else -> ccp = commit_pos
			fi
		}
	:: else -> break
	od;
	atomic { cat = 0; cok = 0 }
}

/*
 * _grb_deliver(): the add that completed the lap of the packet at dpos.
 * last_cc and records, packet_end's mark on the header, [D3] done, then
 * advance_committed ([Q3]).
 */
inline deliver(dpos, dccr)
{
	atomic {	/* relaxed stores of last_cc and records */
		records[SLOT(dpos)] = dccr - last_cc[SLOT(dpos)];
		last_cc[SLOT(dpos)] = dccr
	}
	atomic {	/* packet_end(): the header's mark */
		cells[SLOT(dpos) * SB] = cells[SLOT(dpos) * SB] | C_ENDED
	}
	atomic {	/* [D3] seq_cst store */
		done[SLOT(dpos)] = HEAD(dpos) + SB;
		printf("MSC: p%d [D3] deliver packet [%d,%d): records %d\n",
		       _pid, HEAD(dpos), HEAD(dpos) + SB, records[SLOT(dpos)])
	}
	/* advance_committed(): [Q3] from where commit_pos is (at least the
	 * floor), a CAS over each delivered packet */
	ccp = commit_pos;	/* [Q3] seq_cst load */
	do
	:: atomic {	/* [Q3] load of done, then the CAS (one step: see [Q6]) */
		cat = ccp;
		if
		:: HEAD(dpos) + SB - BUF > cat -> cat = HEAD(dpos) + SB - BUF
		:: else
		fi;
		cat = HEAD(cat);
		if
		:: done[SLOT(cat)] < cat + SB -> break
		:: done[SLOT(cat)] >= cat + SB && commit_pos == ccp ->
			commit_pos = cat + SB;
			ccp = cat + SB;
			printf("MSC: p%d [Q3] commit_pos = %d\n", _pid, ccp)
		:: done[SLOT(cat)] >= cat + SB && commit_pos != ccp -> ccp = commit_pos
		fi
	   }
	od;
	atomic { ccp = 0; cat = 0 }
}

#ifdef NLOG
/*
 * NLOG: a nested write of [ns0, ne0) (nfl: a flush) begins, before its CAS.
 * First, when every byte below the offset is committed (the [Q1] test,
 * the lap's bytes equal to the offset's place in its packet, commit_pos
 * at or past the packet), publish the offset: a thread's record whose add
 * was made is then never in a tail with a nested write behind it.  Then
 * restart the log if every entry is below commit_pos, and append.  li:
 * the entry, for nest_done.
 */
inline nest_begin(ns0, ne0, nfl)
{
#ifndef NLOG_BUG_NO_PUBLISH
	atomic {	/* relaxed loads of the offset, the count, commit_pos */
		cr = offset;
		if
		:: cr % SB != 0 && cc_b[SLOT(cr)] - LAP(cr) * SB == cr % SB &&
		   commit_pos >= HEAD(cr) && commit_pos < cr ->
			ccp = 1
		:: else -> ccp = 0
		fi
	}
	if
	:: ccp ->
		atomic {	/* [Q1] release store */
			commit_pos = cr;
			printf("MSC: p%d [Q1] commit_pos = %d (before a nested write)\n", _pid, cr)
		}
	:: else
	fi;
	atomic { cr = 0; ccp = 0 }
#endif
	atomic {	/* the thread's own words: every entry below commit_pos */
		if
		:: nlog_n > 0 && nlog_e[nlog_n - 1] <= commit_pos -> nlog_n = 0
		:: else
		fi;
		assert(nlog_n < NLOGMAX);	/* (the code: a mark that says overflow) */
		li = nlog_n;
		nlog_s[li] = ns0;
		nlog_e[li] = ne0;
		nlog_f[li] = nfl;
		nlog_d[li] = 0
	}
	atomic {	/* the count after the entry (a signal fence between) */
		nlog_n = li + 1;
		printf("MSC: p%d nested log %d: [%d,%d) flush %d\n", _pid, li, ns0, ne0, nfl)
	}
}

/* NLOG: after the add of the nested write li. */
inline nest_done()
{
	atomic {
		nlog_d[li] = 1;
		printf("MSC: p%d nested log %d done\n", _pid, li)
	}
}
#endif

/*
 * _grb_stream_flush() by the owner (flush_req): [W1] load of the offset
 * (the C code's two loads folded: the thread is the only writer), the
 * store of flush_pos before the [W8] CAS, then close_with_padding(): the
 * content size, the padding's commit.
 */
inline stream_flush()
{
	fo = offset;	/* [W1] */
	do
	:: fin = fo % SB;
		if
		:: fin == 0 -> break
		:: else
		fi;
		atomic {	/* relaxed store, then a signal fence */
			flush_pos = fo;
			printf("MSC: p%d flush_pos = %d\n", _pid, fo)
		}
#ifdef NLOG
		if
		:: dep > 1 -> nest_begin(fo, fo + SB - fin, 1)
		:: else
		fi;
#endif
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
			atomic {
				data_end[SLOT(fo)] = fin;
				printf("MSC: p%d flush: data_end[%d] = %d\n", _pid, SLOT(fo), fin)
			}
			commit_bytes(fo, SB - fin, 0, 0, -1, 0);
#ifdef NLOG
			if
			:: dep > 1 -> nest_done()
			:: else
			fi;
#endif
			break
		:: else
		fi
	od;
	atomic { fo = 0; fin = 0; cok = 0 }
}

/*
 * grb_reserve() + grb_write() + grb_commit() of record rid (the fast path
 * is the slow path's "fits, not at a boundary, does not end the
 * sub-buffer" case at depth 1, with the same shared accesses).
 */
inline write_record(rid)
{
	PICK_SIZE(rid, n);
	atomic {	/* grb_reserve(): the depth, before anything */
		nest++;
		dep = nest;
		st[rid] = 1;
		printf("MSC: p%d record %d (%d units): depth %d\n", _pid, rid, n, dep)
	}
#ifdef FLUSH
	if
	:: flush_req ->	/* relaxed load: a remote flush asked the owner */
		flush_req = 0;
#if !defined(OLD_FLUSH_NEST) && !defined(NLOG)
		if
		:: dep > 1 ->
			atomic {	/* relaxed store, then a signal fence */
				nest_pos = offset;
				printf("MSC: p%d nest_pos = %d (a nested flush)\n", _pid, nest_pos)
			}
		:: else
		fi;
#endif
		stream_flush()
	:: else
	fi;
#endif
retry:
	atomic {	/* [W1] */
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
		/* check_next_free(): [W3] consumed (0: no consumer before
		 * the death) and [W4] done, folded into one step */
		atomic {
			if
			:: begin >= BUF || done[SLOT(begin)] != begin + SB - BUF ->
				if
				:: offset != o -> goto retry
				:: else ->
					lost_full++;
					st[rid] = 5;
					nest--;
					printf("MSC: p%d record %d lost FULL\n", _pid, rid);
					goto next
				fi
			:: else
			fi
		}
	:: else
	fi;
#if defined(NLOG) && !defined(NLOG_BUG_LOG_AFTER_CAS)
	if
	:: dep > 1 -> nest_begin(o, endp, 0)
	:: else
	fi;
#elif !defined(BUG_NEST_AFTER_CAS) && !defined(NLOG)
	if
	:: dep > 1 ->
		atomic {	/* relaxed store, then a signal fence */
			nest_pos = o;
			printf("MSC: p%d nest_pos = %d\n", _pid, o)
		}
	:: else
	fi;
#endif
	atomic {	/* [W2] / [W5] local CAS */
		if
		:: offset == o ->
			offset = endp;
			st[rid] = 2;
			printf("MSC: p%d record %d: offset %d -> %d (close %d, open %d)\n",
			       _pid, rid, o, endp, close_old, open_new)
		:: else -> goto retry
		fi
	}
#ifdef NLOG_BUG_LOG_AFTER_CAS
	if
	:: dep > 1 -> nest_begin(o, endp, 0)
	:: else
	fi;
#endif
#ifdef BUG_NEST_AFTER_CAS
	if
	:: dep > 1 ->
		atomic {
			nest_pos = o;
			printf("MSC: p%d nest_pos = %d (after the CAS)\n", _pid, o)
		}
	:: else
	fi;
#endif
	if
	:: close_old ->	/* close_with_padding() */
		atomic {
			data_end[SLOT(o)] = in_sb;
			printf("MSC: p%d close: data_end[%d] = %d\n", _pid, SLOT(o), in_sb)
		}
		commit_bytes(o, SB - in_sb, 0, 0, -1, 0)
	:: else
	fi;
	if
	:: open_new ->
		atomic {	/* packet_begin(): the packet header */
			cells[SLOT(begin) * SB] = K_HDR | PTAG(begin)
		}
		commit_bytes(begin, PHDR, 0, 0, -1, 1);
		rec_pos = begin + PHDR
	:: else -> rec_pos = o
	fi;
	if
	:: exact_end ->
		atomic {	/* set_packet_end() */
			data_end[SLOT(rec_pos)] = SB;
			printf("MSC: p%d exact end: data_end[%d] = %d\n", _pid, SLOT(rec_pos), SB)
		}
	:: else
	fi;
	atomic {	/* record_header_write() */
		cells[SLOT(rec_pos) * SB + rec_pos % SB] = C_START(rid, n) | PTAG(rec_pos)
	}
	if
	:: n == 2 ->
		atomic {	/* grb_write(): the payload */
			cells[SLOT(rec_pos) * SB + rec_pos % SB + 1] = C_CONT(rid) | PTAG(rec_pos + 1)
		}
	:: else
	fi;
	/* grb_commit() */
#ifdef NLOG_BUG_DONE_BEFORE_ADD
	if
	:: dep > 1 -> nest_done()
	:: else
	fi;
#endif
	commit_bytes(rec_pos, n, 1, dep == 1, rid, 0);
#if defined(NLOG) && !defined(NLOG_BUG_DONE_BEFORE_ADD)
	if
	:: dep > 1 -> nest_done()
	:: else
	fi;
#endif
	atomic {	/* the depth given back: grb_commit() returns */
		nest--;
		st[rid] = 4;
		printf("MSC: p%d record %d: commit returned\n", _pid, rid)
	}
next:
	atomic {
		o = 0; begin = 0; endp = 0; rec_pos = 0; n = 0; in_sb = 0; dep = 0;
		open_new = 0; close_old = 0; exact_end = 0
	}
}

/* The writer thread: stopped while its handler runs. */
proctype thread() provided (!hrun || dead)
{
	byte i;
	W_LOCALS;

	{
		do
		:: i < NREC -> write_record(i); i++
		:: else -> break
		od;
		wdone = 1
	} unless { dead }
}

/* The signal handler: runs once the signal came, to its end. */
proctype handler() provided (hrun || dead)
{
	byte i;
	W_LOCALS;

	{
		do
		:: i < NHREC -> write_record(NREC + i); i++
		:: else -> break
		od;
		hrun = 0
	} unless { dead }
}

/* ---- the recovering reader ---- */

/*
 * Decode the record at cell position p (the record must end at or below
 * lim): (1) it is a committed record's start written for p, whole,
 * returned once.  Returns its length in rl.
 */
inline decode(p, lim)
{
	rv = cells[SLOT(p) * SB + p % SB];
	/* "a record decoded where no committed record starts" */
	assert(KIND(rv) == K_START && CPOSOF(rv) == p && (rv & GCOM));
	rl = C_LEN(rv);
	rr = C_REC(rv);
	/* "a record decoded past the bytes it may read" */
	assert(p + rl <= lim);
	if
	:: rl == 2 ->
		rw = cells[SLOT(p) * SB + p % SB + 1];
		/* "a torn record" */
		assert(KIND(rw) == K_CONT && C_REC(rw) == rr && CPOSOF(rw) == p + 1 && (rw & GCOM))
	:: else
	fi;
	/* "a record returned twice" */
	assert(!ret[rr]);
	ret[rr] = 1;
	printf("MSC: reader returns record %d at [%d,%d)\n", rr, p, p + rl)
}

/* lap_committed(): the bytes the slot of p counts for p's lap (more than
 * SB when not of this lap). */
#define LAPC(p) (cc_b[SLOT(p)] - LAP(p) * SB)

#ifdef NLOG
/* The parts of a write [ws, we) (wf: a flush): padding to the packet's end
 * when it closes one, a packet header when it opens one, its record.  Sets
 * wpad (length), whdr (position, or -1), wrs (record start, or -1) and wnp
 * (the number of parts). */
inline write_parts(ws, we, wf)
{
	wpad = 0;
	whdr = -1;
	wrs = -1;
	if
	:: ws % SB != 0 && (wf || we > HEAD(ws) + SB) -> wpad = HEAD(ws) + SB - ws
	:: else
	fi;
	if
	:: !wf && ws % SB == 0 -> whdr = ws
	:: !wf && ws % SB != 0 && we > HEAD(ws) + SB -> whdr = HEAD(ws) + SB
	:: else
	fi;
	if
	:: !wf && whdr >= 0 -> wrs = whdr + PHDR
	:: !wf && whdr < 0 -> wrs = ws
	:: else
	fi;
	wnp = (wpad > 0 -> 1 : 0) + (whdr >= 0 -> 1 : 0) + (wrs >= 0 -> 1 : 0)
}

/* Adds to the expected counts the first wk parts of the write whose parts
 * write_parts() computed, ending at we. */
inline count_parts(wk, ws, we)
{
	wi = 0;
	if
	:: wpad > 0 && wi < wk ->
		if
		:: ws >= rS -> qb[SLOT(ws)] = qb[SLOT(ws)] + wpad
		:: else	/* in a packet before the tail's, read already */
		fi;
		wi++
	:: else
	fi;
	if
	:: whdr >= 0 && wi < wk -> qb[SLOT(whdr)] = qb[SLOT(whdr)] + PHDR; wi++
	:: else
	fi;
	if
	:: wrs >= 0 && wi < wk ->
		qb[SLOT(wrs)] = qb[SLOT(wrs)] + we - wrs;
		qr[SLOT(wrs)] = qr[SLOT(wrs)] + 1;
		wi++
	:: else
	fi
}

/* The packet at p counts the expected bytes and, unless every byte of its
 * lap is committed (then so is every record, and a delivery that died may
 * have stored last_cc already), the expected records. */
#define PKT_OK(p) \
	(qb[SLOT(p)] == LAPC(p) && \
	 (LAPC(p) == SB || qr[SLOT(p)] == cc_r[SLOT(p)] - last_cc[SLOT(p)]))

/*
 * NLOG: the rule with the log of nested writes.  The tail from the
 * committed position (start when t is the packet's first record) is the
 * thread's write in flight, if any (a record, or its flush when flush_pos
 * says so), up to the first entry, then the entries, which must tile it
 * to the offset.  A done entry is committed; the thread's record never
 * is (nest_begin published it otherwise); of the entry not done, and of
 * the parts of the thread's write, the commit counts of the packets
 * (bytes and records) must tell exactly whether a record's add was made.
 * Then the committed records are returned, decoded where their write
 * puts them, and the records not committed counted died.  rlog: 0 no
 * nested write in the tail, 1 counted, 2 declined.
 */
inline log_tail(start, t)
{
	rlog = 0;
	rS = start;
	rT = t;
	if
	:: t == start + PHDR -> rT = start
	:: else
	fi;
	rf = 0;
	do
	:: rf < nlog_n && nlog_e[rf] <= rT -> rf++
	:: else -> break
	od;
	rle = nlog_n;
	if
	:: rle > rf && nlog_s[rle - 1] == offset -> rle--	/* its CAS not made */
	:: else
	fi;
	if
	:: rf >= rle -> rwhy = 1; goto log_none
	:: else
	fi;
	rlog = 2;
	/* The entries and at most one gap between them, or before or after
	 * them, tile [rT, offset): the gap is the thread's write in flight (a
	 * record, or its flush when flush_pos says so).  One entry not done
	 * at most (depth 2). */
	ru = NLOGMAX;
	r0s = rT;
	r0e = rT;
	rp = rT;
	j = rf;
	do
	:: j < rle ->
		if
		:: nlog_s[j] < rp && !(j == rf && nlog_s[j] < start) -> rwhy = 2; goto log_none
		:: nlog_s[j] > rp && r0e > r0s -> rwhy = 2; goto log_none
		:: nlog_s[j] > rp -> r0s = rp; r0e = nlog_s[j]
		:: else	/* contiguous, or began in an earlier packet */
		fi;
		if
		:: !nlog_d[j] && ru != NLOGMAX -> rwhy = 3; goto log_none
		:: !nlog_d[j] -> ru = j
		:: else
		fi;
		rp = nlog_e[j];
		j++
	:: else -> break
	od;
	if
	:: rp < offset && r0e > r0s -> rwhy = 4; goto log_none
	:: rp < offset -> r0s = rp; r0e = offset
	:: rp > offset -> rwhy = 4; goto log_none
	:: else
	fi;
	r0f = (flush_pos == r0s && r0s % SB != 0 && r0e == HEAD(r0s) + SB);
	/* every phase of the unknown writes; kk0 of the thread's (never its
	 * record's add), kk1 of the entry not done */
	rmatch = 0;
	radd = 0;
	kk0 = 0;
	do
	:: kk0 <= 3 ->
		kk1 = 0;
		do
		:: kk1 <= 3 ->
			qb[0] = 0; qb[1] = 0; qr[0] = 0; qr[1] = 0;
			qb[SLOT(start)] = rT - start;
			qr[SLOT(start)] = rfrom_k;
			rok = 1;
			if
			:: r0e > r0s ->
				write_parts(r0s, r0e, r0f);
				if
				:: kk0 > wnp || (wrs >= 0 && kk0 == wnp) -> rok = 0
				:: else -> count_parts(kk0, r0s, r0e)
				fi
			:: kk0 > 0 -> rok = 0
			:: else
			fi;
			j = rf;
			do
			:: j < rle ->
				write_parts(nlog_s[j], nlog_e[j], nlog_f[j]);
				if
				:: j == ru && kk1 > wnp -> rok = 0
				:: j == ru -> count_parts(kk1, nlog_s[j], nlog_e[j])
				:: else -> count_parts(wnp, nlog_s[j], nlog_e[j])
				fi;
				j++
			:: else -> break
			od;
			if
			:: ru == NLOGMAX && kk1 > 0 -> rok = 0
			:: else
			fi;
			if
			:: rok && PKT_OK(start) && (offset <= rnext || PKT_OK(rnext)) ->
				/* consistent: does it say the entry's record was added? */
				radd1 = 0;
				if
				:: ru != NLOGMAX ->
					write_parts(nlog_s[ru], nlog_e[ru], nlog_f[ru]);
					radd1 = (wrs >= 0 && kk1 == wnp)
				:: else
				fi;
				if
				:: rmatch == 0 -> radd = radd1
				:: rmatch > 0 && radd != radd1 -> radd = 2	/* two answers */
				:: else
				fi;
				rmatch++
			:: else
			fi;
			kk1++
		:: else -> break
		od;
		kk0++
	:: else -> break
	od;
#ifndef NLOG_BUG_NO_COUNTS
	if
	:: rmatch == 0 || radd == 2 -> rwhy = 5; goto log_none	/* declined */
	:: else
	fi;
#else
	radd = 0;	/* the bug: an entry not done is open */
#endif
	/* return the committed records, count the others */
	rdied = 0;
	if
	:: r0e > r0s ->
		write_parts(r0s, r0e, r0f);
		if
		:: wrs >= 0 -> rdied++
		:: else
		fi
	:: else
	fi;
	j = rf;
	do
	:: j < rle ->
		write_parts(nlog_s[j], nlog_e[j], nlog_f[j]);
		if
		:: wrs >= 0 && (nlog_d[j] || (j == ru && radd == 1)) ->
			decode(wrs, nlog_e[j])
		:: wrs >= 0 && !(nlog_d[j] || (j == ru && radd == 1)) -> rdied++
		:: else
		fi;
		j++
	:: else -> break
	od;
	died_at = offset;
	died_records = died_records + rdied;
	g_died = (rdied > 0);
	g_resolved = (radd == 1);
	rlog = 1;
	printf("MSC: reader: tail [%d,%d) with the nested log: %d died\n", rT, offset, rdied);
log_none:
	printf("MSC: reader: the nested log: %d (0 none in the tail, 1 read, 2 declined: step %d)\n", rlog, rwhy)
}
#endif

/*
 * dead_tail(start, t): the writer is gone, every record below t is read,
 * the offset is past it.  As reader.c, step by step.
 */
inline dead_tail(start, t)
{
	rnext = start + SB;
	if
	:: offset <= t || start > t || rnext <= t || offset > rnext + SB -> goto tail_done
	:: else
	fi;
	if
	:: died_at == offset -> goto tail_done	/* counted already */
	:: else
	fi;
#ifndef BUG_NO_NEST_CHECK
	if
	:: nest_pos != NOPOS && nest_pos >= t -> goto tail_done
	:: else
	fi;
#endif
#ifdef NLOG
	log_tail(start, t);
	if
	:: rlog == 1 -> goto tail_end	/* counted */
	:: rlog == 2 -> goto tail_done	/* declined */
	:: else		/* no nested write in the tail: the rule below */
	fi;
#endif
	rb = LAPC(start);
	if
	:: offset > rnext ->
#ifndef BUG_NO_COUNT_CHECK
		if
		:: rb != t - start && (rb != SB || data_end[SLOT(start)] != t - start) -> goto tail_done
		:: else
		fi;
		if
		:: LAPC(rnext) != 0 && LAPC(rnext) != PHDR -> goto tail_done
		:: else
		fi;
#endif
		rdied = 1
#ifndef BUG_NO_COUNT_CHECK
	:: offset <= rnext && rb != t - start && !(t == start + PHDR && rb == 0) -> goto tail_done
#endif
#ifndef BUG_NO_FLUSH_CHECK
	:: else -> if
		:: offset == rnext && flush_pos == t -> rdied = 0
		:: else ->
			if
			:: offset - t < MINREC -> goto tail_done
			:: else
			fi;
			rdied = 1
		fi
#else
	:: else ->
		if
		:: offset - t < MINREC -> goto tail_done
		:: else
		fi;
		rdied = 1
#endif
	fi;
	died_at = offset;
	died_records = died_records + rdied;
	g_died = rdied;
	g_flush0 = 1 - rdied;
	printf("MSC: reader: tail [%d,%d) counted, %d died\n", t, offset, rdied);
	goto tail_end;
tail_done:
	/* ghost: it declined with a nested reservation tried in the tail,
	 * which begins at the committed position (the packet's start when t
	 * is its first record's) */
	g_nestdecl = (nest_pos != NOPOS &&
		      (nest_pos >= t || (t == start + PHDR && nest_pos >= start)));
	printf("MSC: reader: tail [%d,%d) not counted (nest_pos %d)\n", t, offset, nest_pos);
tail_end:
	skip
}

/*
 * The consuming reader once the writer is gone: committed_pos() (its
 * cp_max, commit_pos, quiescent_pos()), the delivered packets taken whole
 * (take_by_copy), the head packet's records in place up to the committed
 * position (next_in_place); then nothing_delivered(): dead_complete() and
 * dead_tail().
 */
inline recover()
{
	rc = 0;		/* consumed: its packet's start (no k: rfrom says) */
	rfrom = PHDR;	/* read_from(): after the records returned in place */
	rcp = 0;	/* cp_max */
	do
	:: rc > offset - offset % SB -> assert(0)	/* consumed past the offset */
	:: rc <= offset - offset % SB && done[SLOT(rc)] == rc + SB && rc + SB <= offset ->
		/* delivered: taken whole, its records from rfrom (those
		 * returned in place skipped) to the content size */
		rde = data_end[SLOT(rc)];
		/* packet_fill()'s checks: a delivered packet of this model
		 * always passes them */
		assert(rde >= PHDR && rde <= SB);
		assert(cells[SLOT(rc) * SB] == (K_HDR | C_ENDED | GCOM | PTAG(rc)));
		rp = rfrom;
		rn = 0;
		do
		:: rp < rc + rde -> decode(rp, rc + rde); rp = rp + rl; rn++
		:: else -> break
		od;
		/* "the records read are not the ones the slot counts" */
		assert(rp == rc + rde && rn + rfrom_k == records[SLOT(rc)]);
		rc = rc + SB;
		rfrom = rc + PHDR;
		rfrom_k = 0;
		printf("MSC: reader takes packet [%d,%d)\n", rc - SB, rc)
	:: else ->
		/* committed_pos(): commit_pos if not past the offset, then
		 * quiescent_pos() once the reader read up to its view */
		if
		:: commit_pos > rcp && commit_pos <= offset -> rcp = commit_pos
		:: else
		fi;
		if
		:: rcp <= rfrom ->
			rq = offset - offset % SB;	/* the open packet */
			rok = (rc <= offset);
			rp = rc;
			do
			:: rok && rp < rq ->
				rok = (done[SLOT(rp)] == rp + SB);
				rp = rp + SB
			:: else -> break
			od;
			if
			:: rok && offset != rq && cc_b[SLOT(rq)] % SB != offset - rq -> rok = 0
			:: else
			fi;
			if
			:: rok && offset > rcp -> rcp = offset
			:: else
			fi
		:: else
		fi;
		/* dead_complete(): the packet was closed and its count says
		 * its lap is complete, but no delivery marks it (the writer
		 * died delivering it): its content is committed */
		rdd = 0;
#ifndef OLD_DEAD_DELIVERY
		if
		:: offset >= rc + SB && LAPC(rc) == SB && data_end[SLOT(rc)] >= PHDR &&
		   data_end[SLOT(rc)] <= SB ->
			rdd = rc + data_end[SLOT(rc)]
		:: else
		fi;
#endif
		/* next_in_place(): committed past a packet that is not
		 * delivered (nor complete, its delivery died) is a position
		 * that lies (consumed_move) */
		assert(rcp < rc + SB || (rdd != 0 && rcp <= rdd));
		if
		:: rcp > rfrom ->
			decode(rfrom, rcp);
			rfrom = rfrom + rl;
			rfrom_k++
		:: rcp <= rfrom && rdd != 0 && rdd > rfrom ->
			/* nothing_delivered(), dead_complete(): read on to its
			 * content size */
			rcp = rdd;
			printf("MSC: reader: packet [%d,%d) complete, its delivery died\n", rc, rc + SB)
		:: rcp <= rfrom && rdd != 0 && rdd <= rfrom ->
			/* dead_complete(): all of it read: claim it, go on
			 * with the next packet */
			printf("MSC: reader claims packet [%d,%d)\n", rc, rc + SB);
			g_claim = 1;
			rc = rc + SB;
			rfrom = rc + PHDR;
			rfrom_k = 0
		:: rcp <= rfrom && rdd == 0 ->
			/* nothing_delivered(): every record below the
			 * committed position is read: dead_tail() */
			dead_tail(rc, rfrom);
			break
		fi
	od
}

init
{
	short rc, rfrom, rcp, rq, rp, rnext, rde, rdd;
	byte rn, rl, rr, rb, rdied, rfrom_k, j, nres, nopen, nlive;
#ifdef NLOG
	short rS, rT, r0s, r0e, whdr, wrs, qb[COUNT];
	byte rf, rle, ru, rlog, rmatch, radd, radd1, kk0, kk1, wpad, wnp, wi, qr[COUNT];
	bit r0f;
	byte rwhy;
#endif
	short rv, rw;
	bit rok;

	atomic {
		j = 0;
		do
		:: j < COUNT ->
			done[j] = j * SB + SB - BUF;	/* lap -1 delivered */
			j++
		:: else -> break
		od;
		j = 0;
		run thread();
		run handler()
	}
	do
	:: atomic {
		!hsent ->
		hsent = 1;
		hrun = 1;
		printf("MSC: signal: the thread (depth %d) stops, its handler runs\n", nest)
	   }
#ifdef FLUSH
	:: atomic {
		!flush_req && !j ->
		flush_req = 1;
		j = 1;
		printf("MSC: a timer asks the owner to flush\n")
	   }
#endif
	:: atomic { dead = 1; printf("MSC: SIGKILL\n"); break }
	od;
	(_nr_pr == 1);	/* the thread and the handler stopped where they were */
	d_step {
		printf("MSC: dead: offset %d, commit_pos %d, nest_pos %d, flush_pos %d\n",
		       offset, commit_pos, nest_pos, flush_pos);
		recover();
		/* The records: reserved (nres), of them open (reserved, no
		 * add: nopen), and those whose add was made that were not
		 * returned (nlive). */
		j = 0;
		do
		:: j < NR ->
			if
			:: st[j] >= 2 && st[j] <= 4 -> nres++
			:: else
			fi;
			if
			:: st[j] == 2 -> nopen++
			:: else
			fi;
			if
			:: (st[j] == 3 || st[j] == 4) && !ret[j] -> nlive++
			:: else
			fi;
			/* (1) "a record returned that was not committed" */
			assert(!ret[j] || st[j] == 3 || st[j] == 4);
			j++
		:: else -> break
		od;
		printf("MSC: end: reserved %d, open %d, committed not returned %d, died %d, full %d\n",
		       nres, nopen, nlive, died_records, lost_full);
		/* (3) "the rule counted what the tail does not hold" */
		assert(died_at == NOPOS || (died_records == nopen && nlive == 0));
#ifdef NLOG
		assert(died_records <= 2);	/* one a depth */
#else
		assert(died_records <= 1);
#endif
		/* (2) "a record whose add was made is not returned, and the
		 * rule did not decline for a nested reservation" (NLOG: not
		 * returned) */
#ifdef NLOG
		assert(nlive == 0);
#else
		assert(nlive == 0 || g_nestdecl);
#endif
		/* (4) "outside the nested case the accounting is not exact" */
#ifdef NLOG
		assert(died_records + nres - nopen - nlive == nres);
#else
		assert(g_nestdecl || died_records + nres - nopen - nlive == nres);
#endif
#if REACH == 1
		assert(!g_died)
#elif REACH == 2
		assert(!g_flush0)
#elif REACH == 3
		assert(!g_claim)
#elif REACH == 4
		assert(!(g_nestdecl && nlive > 0))
#elif REACH == 5
		assert(!g_resolved)
#elif REACH == 6
		assert(died_records < 2)
#else
		skip
#endif
	}
}
