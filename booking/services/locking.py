"""The lock protocol every seat change follows, and the ledger it writes (DESIGN.md inv. 3, 4).

One transaction per change, with a bounded lock wait (`lock_timeout`, turned into `SeatsBusy`).
Lock order, everywhere: the owner's advisory lock, then the order row, then `ShowSeat` rows in
primary-key order, so two transactions never wait on each other in a circle.
"""

import dataclasses
import re
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial

import psycopg.errors
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from booking.exceptions import InvalidSeat, SeatsBusy
from booking.models import LedgerEntry, Order, SeatStatus, ShowSeat
from booking.selectors import (
    SEAT_MAP_CHANGED,
    SEAT_MAP_TOKEN_SECONDS,
    seat_map_poll_memo_forget,
    seat_map_token_key,
)

SEAT_CODE_RE = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,2}$")
MAX_CODES_PER_REQUEST = 50


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who did it, for the ledger: `session:<token prefix>`, `staff:<username>`, `system:<job>`."""

    label: str
    user: object | None = None

    @classmethod
    def session(cls, owner_token: str) -> "Actor":
        return cls(f"session:{owner_token[:12]}")

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(f"staff:{user.get_username()}", user)

    @classmethod
    def system(cls, job: str) -> "Actor":
        return cls(f"system:{job}")


@contextmanager
def seat_transaction(codes: Iterable[str] = (), *, owner_key: str | None = None):
    """One atomic block with a bounded lock wait; a lock timeout becomes `SeatsBusy`, and so
    does a deadlock PostgreSQL broke by aborting this transaction (nothing of it was kept, so
    "busy, try again" is the truth; the lock order below makes one rare, not impossible).

    With `owner_key`, requests of one owner for one showtime are serialised by an advisory
    lock, so a double click cannot create two orders or interleave two baskets.
    """
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if owner_key is None:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)", [f"{settings.SEAT_LOCK_TIMEOUT_MS}ms"]
                    )
                else:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        [f"{settings.SEAT_LOCK_TIMEOUT_MS}ms", owner_key],
                    )
            yield
    except OperationalError as exc:
        if lock_conflict(exc):
            raise SeatsBusy(codes) from exc
        raise


def lock_conflict(exc: OperationalError) -> bool:
    """A lock wait that ran out, or a deadlock that PostgreSQL ended by rolling us back."""
    return isinstance(exc.__cause__, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected)


def seat_codes_parse(codes: Iterable[str]) -> list[str]:
    """Upper-case, de-duplicate, and reject anything that cannot be a seat code."""
    codes = list(codes)
    if len(codes) > MAX_CODES_PER_REQUEST:  # before any per-code work: a flood costs nothing
        raise InvalidSeat([], detail=_("Too many seats in one request."))
    cleaned: dict[str, None] = {}
    bad: list[str] = []
    for raw in codes:
        code = str(raw).strip().upper()
        if not SEAT_CODE_RE.match(code):
            bad.append(code[:12] or "''")
        else:
            cleaned[code] = None
    if bad:
        raise InvalidSeat(bad[:10])
    if not cleaned:
        raise InvalidSeat([], detail=_("Choose at least one seat."))
    return list(cleaned)


def seats_lock(showtime_id: int, codes: Iterable[str]) -> list[ShowSeat]:
    return list(
        ShowSeat.objects.select_for_update(of=("self",))
        .filter(showtime_id=showtime_id, code__in=list(codes))
        .order_by("pk")
    )


def seats_lock_known(showtime_id: int, codes: Iterable[str]) -> dict[str, ShowSeat]:
    """Lock the seats (pk order) and refuse codes that are not seats of this showtime."""
    codes = set(codes)
    seats = {s.code: s for s in seats_lock(showtime_id, codes)}
    unknown = codes - set(seats)
    if unknown:
        raise InvalidSeat(unknown)
    return seats


def order_seats_lock(order: Order) -> list[ShowSeat]:
    """The seats an order holds or bought, locked in pk order."""
    return list(
        ShowSeat.objects.select_for_update(of=("self",))
        .filter(order=order, status__in=[SeatStatus.HELD, SeatStatus.SOLD])
        .order_by("pk")
    )


def seat_is_free(seat: ShowSeat, now: datetime) -> bool:
    """Invariant 2: a hold whose time has passed is as good as no hold."""
    return seat.status == SeatStatus.AVAILABLE or (
        seat.status == SeatStatus.HELD and seat.held_until is not None and seat.held_until <= now
    )


# When this process last left the "changed" marker for a showtime (time.monotonic()). The
# marker lives SEAT_MAP_TOKEN_SECONDS, and nothing replaces it before that but another marker
# (polls keep their token with `add`): a commit within the first half of that time finds it
# there, and there it stays for at least the other half, longer than any poll takes between
# its read and its `add`. In a sale every hold commits; a cache write for each was a tenth of a
# hold's CPU (docs/benchmarks.md, 2026-12-06 sixth session), and one a second per process and
# showtime does the same. Should the marker vanish early all the same (the cache flushed or
# restarted), a poll may answer 304 on an old token for at most the token's lifetime, as it
# does for a hold that lapses.
SEAT_MAP_MARKER_REUSE_SECONDS = SEAT_MAP_TOKEN_SECONDS / 2
_marker_left: dict[int, float] = {}


def seat_map_changed(showtime_id: int) -> None:
    """After a commit that changed seats: polls of this showtime must look at the database
    again (they answer 304 without a query while the cache vouches for their token), and
    this process forgets the answers it kept for them (first: the cache may be down)."""
    seat_map_poll_memo_forget(showtime_id)
    started = time.monotonic()  # before the write: the marker outlives it by a little more
    if started - _marker_left.get(showtime_id, -SEAT_MAP_TOKEN_SECONDS) < SEAT_MAP_MARKER_REUSE_SECONDS:
        return
    cache.set(seat_map_token_key(showtime_id), SEAT_MAP_CHANGED, SEAT_MAP_TOKEN_SECONDS)
    if len(_marker_left) > 10_000:  # showtimes long past; a race here costs one more write
        _marker_left.clear()
    _marker_left[showtime_id] = started


def seats_update(seats: Sequence[ShowSeat], **values) -> None:
    """Every seat change bumps the seat's version (the seat map's ETag is built from them)."""
    if seats:
        ShowSeat.objects.filter(pk__in=[s.pk for s in seats]).update(version=F("version") + 1, **values)
        # Robust: the change is committed whatever the cache says; an unreachable cache only
        # delays the polls by the token's lifetime (logged by Django).
        for showtime_id in {s.showtime_id for s in seats}:
            transaction.on_commit(partial(seat_map_changed, showtime_id), robust=True)


def ledger_append(
    actor: Actor, action: str, *, showtime_id: int, order: Order | None = None, seats=(), reason="", **data
) -> None:
    LedgerEntry.objects.create(
        actor=actor.label,
        action=action,
        showtime_id=showtime_id,
        order=order,
        seats=sorted(seats),
        reason=reason,
        data=data,
    )
