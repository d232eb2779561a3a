"""Choosing seats well: the stranded-seat rule, companion seats, and best-available groups.

The rules are enforced inside the hold and release functions (migration 0009), under the same
locks as the seats; this module holds what Python decides before and after the call:

* which extra seats the call must lock (the wanted seats' neighbours and linked seats),
* whether the rule applies to this call (the cinema's switch, the channel, the free share),
* the same rules as plain functions over a set of free seats, for the box office's warnings, a
  refusal's suggestion, best-available's ranking and the tests.

"Free" means available or held past its time. A seat is *alone* when it is free and neither of
its row neighbours (seats whose grid positions are one apart) is free; gaps, aisles and row ends
count as taken. Wheelchair spaces and companion seats are never counted as stranded.
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

from booking.models import Channel, Showtime
from halls.layout import HallGeometry, SeatSpec

NEVER_STRANDED = ("wheelchair", "companion")
# Seats best-available offers: wheelchair spaces and companion seats are chosen on purpose.
CHOOSABLE = ("regular", "couple-left", "couple-right")


@dataclass(frozen=True)
class CallRules:
    """What a hold or release call needs beyond the wanted seats."""

    lock_codes: tuple[str, ...]
    companions: dict[str, str]
    orphan_min_free: int | None


def orphan_min_free(showtime: Showtime, *, channel: str) -> int | None:
    """The free-seat count from which the stranded-seat rule applies to this call, or None when it
    does not (switched off, for the cinema, or at the box office, where staff are warned).
    Load the showtime with select_related("hall__cinema")."""
    if not settings.ORPHAN_RULE or channel != Channel.ONLINE or not showtime.hall.cinema.orphan_rule:
        return None
    return math.ceil(showtime.hall.geometry.seat_count * settings.ORPHAN_RULE_MIN_FREE_PERCENT / 100)


def call_rules(
    geometry: HallGeometry, wanted: Iterable[str], *, release: bool, min_free: int | None
) -> CallRules:
    wanted = set(wanted)
    lock: set[str] = set()
    companions: dict[str, str] = {}
    for code in wanted:
        seat = geometry.by_code[code]
        if min_free is not None:
            lock.update(n.code for n in geometry.neighbours(code) if n is not None)
        # A companion seat is held, and a wheelchair space released, only with its partner in mind.
        checked_kind = "wheelchair" if release else "companion"
        if seat.companion and seat.companion not in wanted and seat.kind == checked_kind:
            companions[code] = seat.companion
            lock.add(seat.companion)
    return CallRules(tuple(sorted(lock - wanted)), companions, min_free)


# --- the rules over a set of free seats ------------------------------------------------------


def _free_beside(geometry: HallGeometry, code: str, free: set[str]) -> bool:
    return any(n is not None and n.code in free for n in geometry.neighbours(code))


def lone_seats(geometry: HallGeometry, free: set[str], codes: Iterable[str]) -> list[str]:
    """Of `codes`, the free seats with no free neighbour (a wheelchair space or companion seat
    is never one), in row order: the one definition of a seat left alone."""
    lone = {
        code
        for code in codes
        if code in free
        and geometry.by_code[code].kind not in NEVER_STRANDED
        and not _free_beside(geometry, code, free)
    }
    return sorted(lone, key=lambda c: geometry.by_code[c].pos)


def beside(geometry: HallGeometry, codes: Iterable[str]) -> set[str]:
    """The row neighbours of `codes` (seats of the hall only)."""
    return {n.code for c in codes if c in geometry.by_code for n in geometry.neighbours(c) if n is not None}


def strands(geometry: HallGeometry, free: set[str], taking: Iterable[str]) -> list[str]:
    """The free seats that taking `taking` would leave alone (none of them alone before: each
    had a free neighbour among `taking`)."""
    taking = set(taking)
    return lone_seats(geometry, free - taking, beside(geometry, taking))


def free_blocks(
    geometry: HallGeometry, free: set[str], kinds: tuple[str, ...] = CHOOSABLE
) -> Iterator[list[SeatSpec]]:
    """Runs of free seats side by side, row by row."""
    for row in geometry.rows:
        block: list[SeatSpec] = []
        for seat in row.seats:
            if seat.code in free and seat.kind in kinds and (not block or block[-1].pos == seat.pos - 1):
                block.append(seat)
                continue
            if block:
                yield block
            block = [seat] if seat.code in free and seat.kind in kinds else []
        if block:
            yield block


def rule_holds(geometry: HallGeometry, free: set[str], min_free: int, count: int | None) -> bool:
    """booking_orphan_rule_holds() of migration 0009: enough seats free and, for a hold of
    `count` seats, some block could take them without leaving one alone."""
    if len(free) < min_free:
        return False
    if count is None:
        return True
    return any(len(b) == count or len(b) >= count + 2 for b in free_blocks(geometry, free))


# --- best available ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Group:
    """A candidate for best-available: lower `rank` is better."""

    rank: tuple
    codes: tuple[str, ...]
    strands: bool


def _distance(geometry: HallGeometry, seats: list[SeatSpec]) -> float:
    line = sum(s.line for s in seats) / len(seats)
    col = sum(s.col for s in seats) / len(seats)
    focus_line, focus_col = geometry.focus
    return math.hypot(line - focus_line, col - focus_col)


def _windows(
    geometry: HallGeometry, free: set[str], count: int, zone: str | None
) -> Iterator[list[SeatSpec]]:
    """`count` free seats side by side in one row, never half a couple seat."""
    allowed = {c for c in free if zone is None or geometry.by_code[c].zone == zone}
    for block in free_blocks(geometry, allowed):
        for start in range(len(block) - count + 1):
            window = block[start : start + count]
            codes = {s.code for s in window}
            if all(s.partner is None or s.partner in codes for s in window):
                yield window


def best_groups(
    geometry: HallGeometry,
    free: set[str],
    count: int,
    *,
    zone: str | None = None,
    avoid_stranding: bool = True,
) -> list[Group]:
    """Every candidate group of `count` free seats, best first: side by side in one row leaving no
    seat alone, nearest the hall's focus; then side by side leaving one; then split over two
    consecutive rows, the back part directly behind the front part."""
    groups: list[Group] = []
    for window in _windows(geometry, free, count, zone):
        codes = tuple(s.code for s in window)
        lone = bool(strands(geometry, free, codes)) if avoid_stranding else False
        groups.append(Group((int(lone), _distance(geometry, window), window[0].pos), codes, lone))
    if count >= 2:
        front_size = math.ceil(count / 2)
        row_index = {row.label: index for index, row in enumerate(geometry.rows)}
        back: dict[int, list] = {}
        for window in _windows(geometry, free, count - front_size, zone):
            back.setdefault(row_index[window[0].row], []).append(window)
        for front in _windows(geometry, free, front_size, zone):
            cols = {s.col for s in front}
            index = row_index[front[0].row]
            for behind in back.get(index + 1, []) + back.get(index - 1, []):
                if not {s.col for s in behind} <= cols:
                    continue
                seats = front + behind
                codes = tuple(s.code for s in seats)
                lone = bool(strands(geometry, free, codes)) if avoid_stranding else False
                groups.append(Group((2 + int(lone), _distance(geometry, seats), front[0].pos), codes, lone))
    groups.sort()
    return groups


def suggestion(geometry: HallGeometry, free: set[str], wanted: Iterable[str]) -> tuple[str, ...]:
    """For a refused hold: the nearest group of as many seats in the same row that strands
    nothing, or nothing."""
    wanted = [geometry.by_code[c] for c in wanted]
    rows = {s.row for s in wanted}
    if len(rows) != 1:
        return ()
    centre = sum(s.col for s in wanted) / len(wanted)
    options = [
        w
        for w in _windows(geometry, free, len(wanted), None)
        if w[0].row in rows and not strands(geometry, free, [s.code for s in w])
    ]
    if not options:
        return ()
    best = min(options, key=lambda w: abs(sum(s.col for s in w) / len(w) - centre))
    return tuple(s.code for s in best)
