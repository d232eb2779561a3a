"""Holding and releasing seats: the hot path of a sale.

A hold is one call of the database function `booking_seat_hold` (migration 0007): under the
owner's advisory lock it finds the owner's open order (and expires it first if its clock ran
out), locks the wanted seats in pk order, checks, updates and logs — one statement, so in
autocommit mode one round trip and one transaction. Python validates the codes against the hall,
checks the sales window, maps the result row to the order or a domain error, and does what must
not run under the locks (closing a payment page at Stripe, scheduling the expiry task).

`holds_reference.py` is the same protocol as ORM statements; the tests hold both to the same
outcomes.
"""

import dataclasses
import json
import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import hooks
from booking.exceptions import (
    BookingError,
    CompanionNeeded,
    HoldLimitReached,
    InvalidChoice,
    InvalidSeat,
    NoSeatsTogether,
    NotYourHold,
    OrderAtPayment,
    SalesClosed,
    SeatsBusy,
    SeatStranded,
    SeatUnavailable,
    TooManyOrders,
)
from booking.models import OPEN_STATUSES, Channel, Order, Showtime, new_reference
from booking.services import choosing
from booking.services.locking import (
    Actor,
    lock_conflict,
    seat_codes_parse,
    seat_map_changed,
    seat_transaction,
)
from booking.services.orders import order_expired_email

logger = logging.getLogger("booking.services.orders")  # the lazy expiry logs as the expiry does


def _showtime_of(showtime_id: int, showtime: Showtime | None) -> Showtime:
    """The caller's showtime when it passed the right one, else read (with hall and cinema: the
    geometry and the stranded-seat switch come from them)."""
    if showtime is None or showtime.pk != showtime_id:
        showtime = Showtime.objects.select_related("hall__cinema").defer("hall__layout").get(pk=showtime_id)
    return showtime


def _requested_seats(
    showtime_id: int, codes: Iterable[str], showtime: Showtime | None = None
) -> tuple[Showtime, frozenset[str]]:
    """The showtime and the real seats asked for, couple partners added; unknown codes refused."""
    codes = seat_codes_parse(codes)
    showtime = _showtime_of(showtime_id, showtime)
    geometry = showtime.hall.geometry
    unknown = [c for c in codes if c not in geometry.by_code]
    if unknown:
        raise InvalidSeat(unknown)
    return showtime, geometry.with_partners(codes)


class _PaymentMayBeOpen(Exception):
    """The owner's lapsed order is at payment: its payment page must close before its seats go."""

    def __init__(self, order_id: int):
        super().__init__(order_id)
        self.order_id = order_id


def _changed(showtime_id: int) -> None:
    """Seats of this showtime changed (the call has committed, or commits with the caller):
    polls must look at the database again. In autocommit, on_commit runs at once."""
    transaction.on_commit(partial(seat_map_changed, showtime_id), robust=True)


_ORDER_FIELDS = Order._meta.concrete_fields

# Last column of both calls (migration 0011): the rows of the seats the caller will redraw, as
# the call left them, read in the same statement; NULL when the caller asked for none.
_SEAT_ROWS_SQL = """,
       CASE WHEN %(show)s::text[] IS NOT NULL THEN
         booking_seat_rows(%(showtime_id)s, %(show)s::text[] || r.outcome_seats, (r.owner_order).id)
       END AS seat_rows"""

# Named arguments: the call reads like the function's signature in 0007_hold_function.sql.
_HOLD_SQL = (
    """
SELECT r.outcome, r.outcome_seats, r.opened, r.expired_reference, r.expired_seats,
       r.expired_late_seconds, row_to_json(r.owner_order)::text AS owner_order"""
    + _SEAT_ROWS_SQL
    + """
  FROM booking_seat_hold(
    p_showtime_id => %(showtime_id)s, p_codes => %(codes)s::text[], p_owner_token => %(owner_token)s,
    p_actor => %(actor)s, p_channel => %(channel)s, p_staff_user_id => %(staff_user_id)s::bigint,
    p_client_ip => %(client_ip)s::inet, p_now => %(now)s, p_expires_at => %(expires_at)s,
    p_expires_iso => %(expires_iso)s, p_reference => %(reference)s, p_currency => %(currency)s,
    p_max_seats => %(max_seats)s, p_max_orders_per_ip => %(max_orders_per_ip)s,
    p_lock_timeout => %(lock_timeout)s, p_payment_closed => %(payment_closed)s::bigint,
    p_lock_codes => %(lock_codes)s::text[], p_companions => %(companions)s::jsonb,
    p_orphan_min_free => %(orphan_min_free)s::integer
  ) AS r
"""
)

_RELEASE_SQL = (
    """
SELECT r.outcome, r.outcome_seats, row_to_json(r.owner_order)::text AS owner_order"""
    + _SEAT_ROWS_SQL
    + """
  FROM booking_seat_release(
    p_showtime_id => %(showtime_id)s, p_codes => %(codes)s::text[], p_owner_token => %(owner_token)s,
    p_actor => %(actor)s, p_lock_timeout => %(lock_timeout)s, p_now => %(now)s,
    p_lock_codes => %(lock_codes)s::text[], p_companions => %(companions)s::jsonb,
    p_orphan_min_free => %(orphan_min_free)s::integer
  ) AS r
"""
)


@dataclasses.dataclass(frozen=True)
class _Result:
    outcome: str
    seats: tuple[str, ...]
    order: Order | None
    opened: bool = False
    expired: tuple[str, list[str], float] | None = None  # reference, released seats, late seconds
    seat_rows: list[tuple] | None = None


def _call(sql: str, params: dict, head: int) -> tuple[tuple, Order | None, list[tuple] | None]:
    """One statement. In autocommit mode (a request) it is its own transaction: no BEGIN, no
    savepoint, no COMMIT from Django — one round trip. Inside a caller's atomic block it joins
    that transaction; a refusal never aborts it (the function rolls back to its own block)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except OperationalError as exc:
        # The function answers its own lock timeouts (`busy`); a deadlock aborts the statement
        # (and a caller's transaction) whole, so nothing was changed: busy, try again.
        if lock_conflict(exc):
            raise SeatsBusy(()) from exc
        raise
    return row[:head], _order(row[head]), _seat_rows(row[head + 1])


# The order comes back as one JSON column, not one column per field: psycopg prepares a loader
# and a description entry for every column of every result, which for the order's twenty
# fields cost more than parsing the JSON (docs/benchmarks.md, 2026-12-06 third session).
_ORDER_ATTNAMES = [f.attname for f in _ORDER_FIELDS]
_ORDER_COLUMNS = [(f.column, isinstance(f, models.DateTimeField)) for f in _ORDER_FIELDS]


def _order(text: str | None) -> Order | None:
    """The owner's order from the call's `row_to_json` (None when the call found none)."""
    values = json.loads(text) if text is not None else None
    if not values or values["id"] is None:
        return None
    return Order.from_db(
        connection.alias,
        _ORDER_ATTNAMES,
        [
            datetime.fromisoformat(values[column]) if is_time and values[column] else values[column]
            for column, is_time in _ORDER_COLUMNS
        ],
    )


def _seat_rows(text: str | None) -> list[tuple] | None:
    """booking_seat_rows' JSON (Django has psycopg hand jsonb over as text) as the rows
    booking.selectors.seat_states reads."""
    if text is None:
        return None
    return [
        (code, status, order_id, datetime.fromisoformat(held_until) if held_until else None, price, zone)
        for code, status, order_id, held_until, price, zone in json.loads(text)
    ]


def _show(codes: Iterable[str] | None) -> str | None:
    return None if codes is None else _text_array(sorted(codes))


def _text_array(codes: Iterable[str]) -> str:
    """A `text[]` literal for a call's seat codes. Handed a list, psycopg looks at its items to
    choose a dumper on every call: a tenth of a hold's Python cost spent on the call's
    parameters (py-spy), for arrays the statement casts to `text[]` anyway."""
    return "{" + ",".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in codes) + "}"


def _lock_timeout() -> str:
    return f"{settings.SEAT_LOCK_TIMEOUT_MS}ms"


def seat_cap(channel: str) -> int:
    """Seats one order may hold: the counter sells groups, so staff have their own cap; the
    channel is set by the caller (only the box-office views pass it), never by a client."""
    if channel == Channel.BOX_OFFICE:
        return settings.BOX_OFFICE_MAX_SEATS_PER_ORDER
    return settings.MAX_SEATS_PER_ORDER


def seat_hold(
    *,
    showtime_id: int,
    codes: Iterable[str],
    owner_token: str,
    actor: Actor,
    channel: str = Channel.ONLINE,
    staff_user=None,
    client_ip: str | None = None,
    now: datetime | None = None,
    showtime: Showtime | None = None,
    show: Iterable[str] | None = None,
) -> Order:
    """Hold all of `codes` (and the other half of any couple seat) for this owner, or none.

    Pass `showtime` when the caller has loaded it already (with its hall): it is not read again.
    Pass `show` (seat codes) when the caller will draw seats after the call: the returned order,
    or the refusal if it `order_seen`, carries `seat_rows` — the rows of those seats, of the
    seats the refusal names and of the order's held seats, as the call left them, read in the
    call's own statement (booking.selectors.seat_states takes them instead of a query).
    """
    now = now or timezone.now()
    showtime, wanted = _requested_seats(showtime_id, codes, showtime)
    if not showtime.sales_open(now):
        raise SalesClosed(wanted)
    rules = choosing.call_rules(
        showtime.hall.geometry,
        wanted,
        release=False,
        min_free=choosing.orphan_min_free(showtime, channel=channel),
    )
    params = {
        **_hold_params(showtime, owner_token, actor, channel, staff_user, client_ip, now),
        "codes": _text_array(sorted(wanted)),
        **_rule_params(rules),
        "show": _show(show),
    }
    result = _hold_call(params)
    if result.outcome == "payment_open":
        # Stripe is called outside the seat transaction (no locks held while it answers), then
        # the hold runs again and expires the lapsed order for real.
        if not hooks.payment_close(order_id=result.order.pk):
            raise OrderAtPayment(result.order.reference)
        result = _hold_call({**params, "payment_closed": result.order.pk})
        if result.outcome == "payment_open":  # another lapsed order at payment: as the reference
            raise _PaymentMayBeOpen(result.order.pk)
    return _outcome(result, wanted, now, showtime=showtime, cap=params["max_seats"])


def _outcome(
    result: _Result, wanted: frozenset[str], now: datetime, *, showtime: Showtime, cap: int
) -> Order:
    """After a hold call, for a hold and for best-available alike: what it did on the way (a
    lapsed order expired: its email and log line), what must follow its commit (polls told,
    expiry scheduled), and the order — or the refusal as a domain error."""
    if result.expired is not None:
        reference, released, late = result.expired
        _expired_email(reference, released)
        logger.info(
            "expired order %s: released %s, %.1fs after its hold ended (%s)",
            reference,
            ",".join(released) or "no seats",
            late,
            "lapsed before the owner's next hold",
        )
    if result.outcome == "held":
        _changed(showtime.pk)
        if result.opened:
            _schedule_expiry(result.order)
        return _with_rows(result.order, result)
    if result.outcome == "unchanged":
        return _with_rows(result.order, result)
    raise _refusal(result, wanted, now, showtime=showtime, cap=cap)


def _with_rows(order: Order | None, result: _Result) -> Order | None:
    """The order, carrying the call's `seat_rows` when the caller asked to be shown seats."""
    if order is not None and result.seat_rows is not None:
        order.seat_rows = result.seat_rows
    return order


def _hold_params(
    showtime: Showtime, owner_token, actor, channel, staff_user, client_ip, now, payment_closed=None
) -> dict:
    """The hold function's arguments but the seats and the rules (see _HOLD_SQL)."""
    expires_at = now + timedelta(seconds=settings.HOLD_SECONDS)
    return {
        "showtime_id": showtime.pk,
        "owner_token": owner_token,
        "actor": actor.label,
        "channel": channel,
        "staff_user_id": staff_user.pk if staff_user is not None else None,
        "client_ip": client_ip or None,
        "now": now,
        "expires_at": expires_at,
        "expires_iso": expires_at.isoformat(),
        "reference": new_reference(),
        "currency": showtime.currency,
        "max_seats": seat_cap(channel),
        "max_orders_per_ip": settings.MAX_OPEN_ORDERS_PER_IP,
        "lock_timeout": _lock_timeout(),
        "payment_closed": payment_closed,
        "show": None,
    }


def _rule_params(rules: choosing.CallRules) -> dict:
    return {
        "lock_codes": _text_array(rules.lock_codes),
        "companions": json.dumps(rules.companions),
        "orphan_min_free": rules.orphan_min_free,
    }


def _hold_call(params: dict) -> _Result:
    (outcome, seats, opened, ref, released, late), order, rows = _call(_HOLD_SQL, params, 6)
    expired = (ref, released, float(late)) if ref is not None else None
    return _Result(outcome, tuple(seats or ()), order, opened, expired, rows)


def _refusal(
    result: _Result,
    wanted: frozenset[str],
    now: datetime,
    *,
    showtime: Showtime,
    release: bool = False,
    cap: int | None = None,
) -> BookingError:
    """The domain error for a refused call; it carries the owner's open order as the call saw it,
    so the view redraws the basket without asking the database again."""
    order = result.order
    if result.outcome == "unavailable":
        error = SeatUnavailable(result.seats)
    elif result.outcome == "limit":
        error = HoldLimitReached(wanted, cap or settings.MAX_SEATS_PER_ORDER)
    elif result.outcome == "too_many_orders":
        error = TooManyOrders(settings.MAX_OPEN_ORDERS_PER_IP)
    elif result.outcome == "at_payment":
        error = OrderAtPayment(order.reference, order.get_status_display(), "holding")
    elif result.outcome == "not_yours":
        error = NotYourHold(result.seats)
    elif result.outcome == "companion":
        error = CompanionNeeded(result.seats, release=release)
    elif result.outcome == "stranded":
        error = SeatStranded(
            result.seats,
            release=release,
            suggestion=() if release else _suggestion(showtime, wanted),
        )
    elif result.outcome == "busy":
        return SeatsBusy(wanted)  # the call saw nothing: the view asks for the order itself
    else:
        raise ValueError(f"unknown outcome {result.outcome!r}")
    error.order_seen = True
    error.seat_rows = result.seat_rows
    if order is not None and order.status in OPEN_STATUSES and order.expires_at > now:
        error.order = order
    return error


def _suggestion(showtime: Showtime, wanted: frozenset[str]) -> tuple[str, ...]:
    """Seats in the same row that would not strand one (a read after the refusal: a hint only)."""
    from booking.selectors import free_seat_codes

    return choosing.suggestion(showtime.hall.geometry, free_seat_codes(showtime_id=showtime.pk), wanted)


def _schedule_expiry(order: Order) -> None:
    # booking.tasks imports the services at module level; importing it here breaks that cycle.
    from booking.tasks import schedule_order_expiry

    order_id, eta = order.pk, order.expires_at
    # Right away in autocommit mode (the call has committed); after the caller's transaction
    # otherwise, so the task never sees an order that does not exist yet.
    transaction.on_commit(lambda: schedule_order_expiry(order_id=order_id, eta=eta))


def _expired_email(reference: str, released: Iterable[str]) -> None:
    """The call expired the owner's lapsed order on its way (order_expire_locked in SQL): its
    buyer hears of it as from any expiry. One read, on this rare path only."""
    order = Order.objects.filter(reference=reference).only("pk", "email", "seat_codes").first()
    if order is not None:
        order_expired_email(order, list(released))


def seat_release(
    *,
    showtime_id: int,
    codes: Iterable[str],
    owner_token: str,
    actor: Actor,
    now=None,
    showtime: Showtime | None = None,
    channel: str = Channel.ONLINE,
    show: Iterable[str] | None = None,
) -> Order:
    """Give back some of the owner's held seats (couples go back as a pair). `show`: as for
    seat_hold."""
    now = now or timezone.now()
    showtime, wanted = _requested_seats(showtime_id, codes, showtime)
    rules = choosing.call_rules(
        showtime.hall.geometry,
        wanted,
        release=True,
        min_free=choosing.orphan_min_free(showtime, channel=channel),
    )
    params = {
        "showtime_id": showtime.pk,
        "codes": _text_array(sorted(wanted)),
        "owner_token": owner_token,
        "actor": actor.label,
        "lock_timeout": _lock_timeout(),
        "now": now,
        **_rule_params(rules),
        "show": _show(show),
    }
    (outcome, seats), order, rows = _call(_RELEASE_SQL, params, 2)
    result = _Result(outcome, tuple(seats or ()), order, seat_rows=rows)
    if outcome == "released":
        _changed(showtime.pk)
        return _with_rows(order, result)
    raise _refusal(result, wanted, now, showtime=showtime, release=True)


_BEST_CANDIDATES = 20  # groups tried before giving up: each is one locked read
_BEST_ATTEMPTS = 6  # fresh reads when groups were skipped as busy (then SeatsBusy: 503, retry)


class _LapsedAtPayment(Exception):
    def __init__(self, order: Order):
        super().__init__(order.pk)
        self.order = order


def seat_hold_best(
    *,
    showtime_id: int,
    count: int,
    owner_token: str,
    actor: Actor,
    zone: str | None = None,
    channel: str = Channel.ONLINE,
    staff_user=None,
    client_ip: str | None = None,
    now: datetime | None = None,
    showtime: Showtime | None = None,
) -> Order:
    """Hold the best `count` free seats (optionally in one zone), all or none.

    Choosing and locking happen in one transaction under the owner's lock: read the free seats,
    rank the groups (booking.services.choosing.best_groups), lock a group `FOR UPDATE SKIP
    LOCKED` in pk order, check it is still free and hold it through the same database function as
    any hold (so every invariant and rule applies); a group someone else is busy with, or that
    no longer fits, is skipped for the next. A partial group is never held.
    """
    now = now or timezone.now()
    showtime = _showtime_of(showtime_id, showtime)
    geometry = showtime.hall.geometry
    zones = {z.key: z.label for z in geometry.zones}
    if not isinstance(count, int) or not 1 <= count <= seat_cap(channel):
        raise InvalidChoice(_("Choose between 1 and %(limit)d seats.") % {"limit": seat_cap(channel)})
    if zone is not None and zone not in zones:
        raise InvalidChoice(
            _("There is no zone %(zone)s in this hall; choose one of %(zones)s.")
            % {"zone": zone, "zones": ", ".join(zones)}
        )
    if not showtime.sales_open(now):
        raise SalesClosed()
    payment_closed = None
    for attempt in range(_BEST_ATTEMPTS):
        try:
            result, wanted, busy = _best_attempt(
                showtime, count, zone, owner_token, actor, channel, staff_user, client_ip, now, payment_closed
            )
        except _LapsedAtPayment as pending:
            if not hooks.payment_close(order_id=pending.order.pk):
                raise OrderAtPayment(pending.order.reference) from None
            payment_closed = pending.order.pk
            continue
        if result is not None:
            return _outcome(result, wanted, now, showtime=showtime, cap=seat_cap(channel))
        if not busy:
            raise NoSeatsTogether(count, zones[zone] if zone else "")
        # Groups were skipped because other buyers were holding seats in them at that instant:
        # once those commit, a fresh read knows which are gone. "No seats together" would be
        # untrue while one of those groups may still come free. Their transactions take
        # milliseconds; a random pause keeps requests that collided from colliding again.
        time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
    raise SeatsBusy(())


def _best_attempt(
    showtime, count, zone, owner_token, actor, channel, staff_user, client_ip, now, payment_closed
):
    """One transaction: (the hold call's result, the group, _) or (None, empty, busy) when no
    group could be held, `busy` when some were skipped only because another request had them
    locked."""
    geometry = showtime.hall.geometry
    min_free = choosing.orphan_min_free(showtime, channel=channel)
    base = _hold_params(showtime, owner_token, actor, channel, staff_user, client_ip, now, payment_closed)
    # The hold function's lock order: the owner's advisory lock, the open order, then seats.
    with seat_transaction(owner_key=f"{showtime.pk}:{owner_token}"), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM booking_order WHERE showtime_id = %s AND owner_token = %s"
            " AND status IN ('holding', 'paying') FOR UPDATE",
            [showtime.pk, owner_token],
        )
        from booking.selectors import free_seat_codes

        free = free_seat_codes(showtime_id=showtime.pk, now=now)
        groups = choosing.best_groups(geometry, free, count, zone=zone)
        busy = False
        for group in groups[:_BEST_CANDIDATES]:
            wanted = frozenset(group.codes)
            # A group chosen as leaving no seat alone is held under the rule (a neighbour that
            # changed since the read makes it refuse, and the next group is tried); a group
            # that leaves one was chosen knowingly, for want of better.
            rule_on = min_free is not None and not group.strands
            rules = choosing.call_rules(geometry, wanted, release=False, min_free=0 if rule_on else None)
            # Every seat the hold function will lock (the group, its neighbours, a companion's
            # wheelchair space) is locked here first, in pk order and without waiting: the call
            # then re-locks rows this transaction has, and never waits while holding seats taken
            # out of pk order (a group, then a neighbour of lower id: two requests choosing
            # side by side would deadlock). A row someone else has: the next group.
            locking = sorted(wanted | set(rules.lock_codes))
            cursor.execute(
                "SELECT code, status = 'available' OR (status = 'held' AND held_until <= %s)"
                " FROM booking_showseat WHERE showtime_id = %s AND code = ANY(%s)"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                [now, showtime.pk, locking],
            )
            got = dict(cursor.fetchall())
            if len(got) < len(locking):
                busy = True  # another request is busy with one of them: the next group
                continue
            if not all(got[code] for code in wanted):
                continue  # taken since the read: the next group
            result = _hold_call({**base, "codes": _text_array(sorted(wanted)), **_rule_params(rules)})
            if result.outcome == "payment_open":
                raise _LapsedAtPayment(result.order)
            if result.outcome in ("stranded", "unavailable", "companion"):
                continue
            return result, wanted, busy
    return None, frozenset(), busy
