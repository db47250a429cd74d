/* SPDX-License-Identifier: MIT */
/*
 * deadpush.pml - a Promela model of the consuming reader that finishes
 * the push of an overwrite-mode opener whose process died, checked
 * exhaustively with spin by tests/model/run_spin.sh (CTest label "model").
 * README.md (next to this file) says what it covers and abstracts away;
 * doc/design.md, "A writer that exits or dies", is the rule.
 *
 * It follows, inline by inline, with the C names:
 *   src/core/write.c     _grb_reserve_slow (overwrite mode, one writer),
 *                        push_reader, close_with_padding, _grb_deliver
 *   src/core/reader.c    consumed_check, dead_push, consumed_move,
 *                        next_in_place, take_by_copy
 *
 * One stream of COUNT = 2 sub-buffers of SB = 4 units, a packet header of
 * 1 unit, records of 1 and 2 units (min_record_size 1), overwrite mode.
 * One writer writes NREC records (sizes 1, 2, 1, 2, ...: every packet
 * is filled exactly, close_with_padding is not reached); the opener of a
 * packet of the ring's next lap moves the offset into it, then pushes
 * consumed past the packet it overwrites (push_reader, [P3]) and counts
 * its records but the k returned in place (lost_over).  A consuming
 * reader runs beside it: it takes delivered packets by copy (take_by_copy:
 * the copy, [R12]'s offset check, the [R13] CAS) and reads the head
 * packet's committed records before its delivery (next_in_place: up to
 * commit_pos, the copy, [R12], the [R9] CAS).  The writing process dies
 * (SIGKILL) at any step: init sets dead and the writer stops where it is
 * (unless).  The reader sees the writer gone at its next [R0] and drains
 * as reader.c does then: consumed_check() with writer_gone(), so a
 * consumed over a ring behind the offset goes to dead_push(), delivered
 * packets, the head packet in place up to commit_pos; it ends at a head
 * packet that is not delivered.  What a dead writer left in that packet
 * (dead_complete(), dead_tail()) is recover.pml's part: here the records
 * committed there and not returned are the tail, allowed only at or
 * after the final consumed.
 *
 * Steps: every load or store of a shared word, every CAS or add, is one
 * step; the death may come between any two.  A copy of a packet's cells
 * is one step, as in grb.pml (a copy the [R12] check would drop is never
 * asserted on).  Memory is sequentially consistent.  The single writer's
 * [W4] load (the packet's previous lap delivered: always so for one
 * writer) and its offset CAS (nobody else moves the offset) are not
 * tested; commit_pos is the single writer's publication of its record's
 * end after the commit and the delivery (_grb_publish_exact).  Ids, NOREF,
 * the reader's spare and swap (the reader copies, as a consumer of
 * another process does), timestamps and wake-ups are left out (grb.pml
 * models them).
 *
 * The cells hold what was written: a packet header, or a record's start
 * or continuation (which record, its length), and as a ghost the position
 * the cell was written for.
 *
 * Options (spin -DNAME):
 *   NREC=n        records of the writer (default 8, at most 8: two
 *                 laps, two openers that push)
 * The rule weakened (the model must fail with it):
 *   OLD_RULE      the code before 5191b49: every lag over a ring behind
 *                 the offset, once the writer is gone, is skipped as a
 *                 corrupt packet (consumed_move() to the oldest packet)
 *   BUG_DEAD_ALL  dead_push() counts all the packet's records, not the
 *                 records less the k returned in place
 * Coverage probe (must fail):
 *   REACH         asserts at the end that dead_push() did not count
 *                 records of a packet some of whose records the reader
 *                 had returned in place (k > 0)
 *
 * Properties:
 *   - every record returned is committed (its add made when it was
 *     copied), whole (its cells carry its start and continuation), from
 *     the packet's lap (every cell written for the position it is read
 *     at: not the next lap's), returned once; a delivered packet's
 *     records are the slot's count;
 *   - the writer never finds a packet to push undelivered (push_reader's
 *     invariant);
 *   - at the end: returned + overwritten (the writer's lost_over and the
 *     reader's overwritten_dead) + the tail == committed (records whose
 *     commit add was made), and no corrupt packet counted;
 *   - no invalid end state: the reader ends.
 */

#ifndef NREC
#define NREC 8
#endif
#if NREC > 8
#error "NREC: at most 8 (3 bits of record number in a cell)"
#endif
#define COUNT 2
#define SB 4
#define BUF (SB * COUNT)
#define PHDR 1
#define KMAX ((SB - PHDR) / 1)	/* (sb - header) / min_record_size */
#define SLOT(p) (((p) / SB) % COUNT)
#define HEAD(p) ((p) - (p) % SB)
#define SIZE(s) ((s) % 2 + 1)

/* A cell: kind, length, record number; the ghost position above. */
#define K_START 1
#define K_CONT 2
#define K_HDR 3
#define KIND(v) ((v) & 3)
#define C_START(s, n) (K_START | (((n) - 1) << 2) | ((s) << 3))
#define C_CONT(s) (K_CONT | ((s) << 3))
#define C_LEN(v) ((((v) >> 2) & 1) + 1)
#define C_S(v) (((v) >> 3) & 7)
#define PTAG(p) ((p) << 8)
#define CPOSOF(v) ((v) >> 8)

/* The stream */
short offset;			/* shm->offset */
short consumed;			/* cons->consumed: packet start + k */
short commit_pos;		/* the single writer's published position */
short done[COUNT];		/* slot->done: the end of its last delivered lap */
byte records[COUNT];		/* slot->records of that lap */
byte data_end[COUNT];		/* the content size of the lap being closed */
short cc[COUNT];		/* the commit count: units committed */
byte cr[COUNT];			/* the records of the lap (with cc in the C word) */
short phys[COUNT * SB];		/* the sub-buffers' cells */
byte lost_over;			/* shm->lost[GRB_LOST_OVERWRITTEN] */
byte over_dead;			/* cons->overwritten_dead */
byte corrupt;			/* cons->corrupt_packets */
bit dead;			/* SIGKILL: the writer stops */

/* Ghosts */
bit committed[NREC];		/* the record's commit add was made */
bit returned[NREC];
short rpos[NREC];		/* the record's position */
byte ncommitted, nret;
bit g_dpk;			/* dead_push counted a packet with k > 0 */

/* _grb_commit_bytes(): the add; the delivery if it completed the lap
 * (packet fields, then [D3]). */
inline commit_bytes(p, cn, isrec)
{
	atomic {
		cx = SLOT(p);
		cc[cx] = cc[cx] + cn;
		if
		:: isrec ->
			cr[cx]++;
			committed[seq] = 1;
			ncommitted++
		:: else
		fi;
		ended = (cc[cx] % SB == 0)
	}
	if
	:: ended ->
		/* the lap's count: cr is the deliverer's, folded */
		atomic { records[cx] = cr[cx]; cr[cx] = 0 }
		atomic {	/* [D3] */
			done[cx] = HEAD(p) + SB;
			printf("MSC: deliver packet [%d,%d): records %d\n", HEAD(p), HEAD(p) + SB, records[cx])
		}
	:: else
	fi;
	atomic { cx = 0; ended = 0 }
}

/* push_reader(begin): consumed past every packet of the lap before the
 * one that begins at pb, counting its records but the k taken. */
inline push_reader(pb)
{
	do
	:: pc = consumed;		/* [P1] */
		if
		:: pb - HEAD(pc) < BUF -> break
		:: else
		fi;
		pd = done[SLOT(pc)];	/* [P2] */
		pr = records[SLOT(pc)];
		if
		:: pd != HEAD(pc) + SB || pc % SB > pr ->
			/* "overwritten sub-buffer was never delivered" */
			assert(consumed != pc)
		:: else ->
			atomic {	/* [P3] CAS */
				if
				:: consumed == pc ->
					consumed = HEAD(pc) + SB;
					lost_over = lost_over + pr - pc % SB;
					printf("MSC: push consumed %d -> %d: %d overwritten\n",
					       pc, consumed, pr - pc % SB)
				:: else
				fi
			}
		fi
	od;
	atomic { pc = 0; pd = 0; pr = 0 }
}

proctype writer()
{
	short o, begin, endp, rec_pos, pc, pd;
	byte seq, n, in_sb, cx, pr;
	bit open_new, close_old, exact_end, ended;

	{
	do
	:: seq < NREC ->
		atomic {	/* [W1] */
			n = SIZE(seq);
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
			fi;
			/* check_next_free(): one writer delivered the lap before */
			assert(!open_new || done[SLOT(begin)] == begin + SB - BUF)
		}
		atomic {	/* [W2]/[W5] CAS: nobody else moves the offset */
			offset = endp;
			printf("MSC: W record %d (%d units): offset %d -> %d (close %d, open %d)\n",
			       seq, n, o, endp, close_old, open_new)
		}
		if
		:: close_old ->
			data_end[SLOT(o)] = in_sb;
			commit_bytes(o, SB - in_sb, 0)
		:: else
		fi;
		if
		:: open_new ->
			push_reader(begin);
			phys[SLOT(begin) * SB] = K_HDR | PTAG(begin);	/* packet_begin() */
			commit_bytes(begin, PHDR, 0);
			rec_pos = begin + PHDR
		:: else -> rec_pos = o
		fi;
		if
		:: exact_end -> data_end[SLOT(rec_pos)] = SB
		:: else
		fi;
		atomic {	/* record_header_write() + grb_write() */
			rpos[seq] = rec_pos;
			phys[SLOT(rec_pos) * SB + rec_pos % SB] = C_START(seq, n) | PTAG(rec_pos);
			if
			:: n == 2 ->
				phys[SLOT(rec_pos) * SB + rec_pos % SB + 1] = C_CONT(seq) | PTAG(rec_pos + 1)
			:: else
			fi
		}
		commit_bytes(rec_pos, n, 1);
		commit_pos = rec_pos + n;	/* _grb_publish_exact() */
		atomic {
			seq++;
			o = 0; begin = 0; endp = 0; rec_pos = 0; n = 0; in_sb = 0;
			open_new = 0; close_old = 0; exact_end = 0
		}
	:: else -> break
	od
	} unless { dead }
}

/* consumed_move(): consumed from c to a position past a lie, one corrupt
 * packet counted. */
inline consumed_move(to)
{
	atomic {	/* [R14] CAS */
		if
		:: consumed == c ->
			consumed = to;
			corrupt++;
			printf("MSC: reader consumed %d -> %d: corrupt\n", c, to)
		:: else
		fi
	}
}

/* The copy of the packet at hs (slot x) from its first record to the
 * content end `to`: the first k records are skipped (returned in place
 * before), the others decoded into rmask (n records); okc says that
 * each is committed, whole and written for the position it is read at. */
inline copy(to)
{
	atomic {
		off = PHDR; j = 0; n = 0; rmask = 0; okc = 1;
		do
		:: off < to && okc ->
			v = phys[x * SB + off];
			if
			:: KIND(v) != K_START || CPOSOF(v) != hs + off || off + C_LEN(v) > to ->
				okc = 0
			:: else ->
				rs = C_S(v);
				if
				:: C_LEN(v) == 2 ->
					okc = (phys[x * SB + off + 1] == (C_CONT(rs) | PTAG(hs + off + 1)))
				:: else
				fi;
				if
				:: j < k -> j++
				:: else ->
					okc = okc && committed[rs];
					rmask = rmask | (1 << rs);
					n++
				fi;
				off = off + C_LEN(v)
			fi
		:: else -> break
		od;
		printf("MSC: reader copies packet %d [%d,%d) after %d: %d records, intact %d\n",
		       hs, PHDR, to, k, n, okc)
	}
}

/* The consuming reader: before the death beside the writer, after it
 * (gone) the drain. */
proctype reader()
{
	short c, o, hs, oldest, lcp, d;
	short v;
	byte x, k, de, nr, n, off, rs, j, tail, rmask;
	bit gone, okc, dlv;

again:
	atomic {	/* [R0]; writer_gone(): the death seen */
		c = consumed;
		x = SLOT(c);
		hs = HEAD(c);
		k = c % SB;
		gone = dead;
		o = 0; oldest = 0; lcp = 0; d = 0; de = 0; nr = 0; n = 0;
		rmask = 0; okc = 0; dlv = 0
	}
	/* consumed_check() */
	atomic {	/* [R14] */
		o = offset;
		oldest = ((o + SB - 1) / SB) * SB - BUF
	}
	if
	:: hs > HEAD(o) -> consumed_move(HEAD(o)); goto again
	:: else
	fi;
	if
	:: oldest > hs && gone ->
		/* dead_push(); relaxed loads: the writer is gone */
		atomic { d = done[x]; nr = records[x] }
#ifndef OLD_RULE
		if
		:: d != hs + SB || k > nr || oldest - hs > BUF -> consumed_move(oldest)
		:: else ->
			atomic {	/* [R14] CAS */
				if
				:: consumed == c ->
					consumed = hs + SB;
#ifndef BUG_DEAD_ALL
					over_dead = over_dead + nr - k;
#else
					over_dead = over_dead + nr;
#endif
					g_dpk = g_dpk || (k > 0 && nr > k);
					printf("MSC: reader finishes the push: consumed %d -> %d, %d overwritten\n",
					       c, consumed, nr - k)
				:: else
				fi
			}
		fi;
#else
		consumed_move(oldest);
#endif
		goto again
	:: else
	fi;
	if
	:: k > KMAX -> consumed_move(hs); goto again
	:: else
	fi;
	d = done[x];	/* [R1] */
	if
	:: d == hs + SB && hs + SB <= o ->
		/* take_by_copy(): packet_fill(), the copy */
		atomic { de = data_end[x]; nr = records[x]; dlv = 1 }
		copy(de)
	:: else ->
		lcp = commit_pos;	/* [Q2] */
		if
		:: hs < lcp && lcp < hs + SB -> copy(lcp - hs)	/* next_in_place() */
		:: else
		fi;
		if
		:: n == 0 && gone -> goto finish
		:: n == 0 ->	/* -EAGAIN, then a wait for a change */
			(done[x] != d || consumed != c || commit_pos != lcp || dead);
			goto again
		:: else
		fi
	fi;
	/* [R12] fence(acquire), then the offset: a copy made once the next
	 * lap of the packet was reserved is dropped (the pusher counts it) */
	if
	:: atomic {
		offset > hs + BUF ->
		printf("MSC: reader drops its copy of %d: offset %d\n", hs, offset)
	   };
		(consumed != c || dead);
		goto again
	:: else
	fi;
	atomic {	/* [R13] (delivered) or [R9] (in place) CAS */
		if
		:: consumed == c ->
			consumed = (dlv -> hs + SB : c + n);
			/* "a copy validated by the CAS is not intact" */
			assert(okc);
			assert(!dlv || k + n == nr);	/* the slot's count */
			j = 0;
			do
			:: j < NREC ->
				if
				:: rmask & (1 << j) ->
					assert(!returned[j]);	/* "returned twice" */
					returned[j] = 1;
					nret++
				:: else
				fi;
				j++
			:: else -> break
			od;
			printf("MSC: reader consumed %d -> %d: %d records returned\n", c, consumed, n)
		:: else
		fi
	}
	goto again;
finish:
	atomic {
		/* the tail: committed, neither returned nor counted, in the
		 * undelivered head packet (recover.pml's part) */
		j = 0;
		tail = 0;
		do
		:: j < NREC ->
			if
			:: committed[j] && !returned[j] && rpos[j] >= HEAD(consumed) -> tail++
			:: else
			fi;
			j++
		:: else -> break
		od;
		printf("MSC: end: committed %d, returned %d, overwritten %d + %d (dead), tail %d, corrupt %d\n",
		       ncommitted, nret, lost_over, over_dead, tail, corrupt);
		/* "the accounting is not exact" */
		assert(nret + lost_over + over_dead + tail == ncommitted);
		/* "a corrupt packet in a legitimate run" */
		assert(corrupt == 0);
#ifdef REACH
		/* Coverage: a violation is a run in which dead_push() counted
		 * a packet the reader had read in part. */
		assert(!g_dpk);
#endif
		skip
	}
}

init
{
	byte i;

	atomic {
		/* stream.c: lap -1 of every slot is delivered and empty */
		i = 0;
		do
		:: i < COUNT ->
			done[i] = i * SB + SB - BUF;
			i++
		:: else -> break
		od;
		i = 0;
		run writer();
		run reader()
	}
	/* SIGKILL, at any step of the writer or after its last */
	dead = 1;
	printf("MSC: the writer dies\n")
}
