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
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from booking import hooks
from booking.exceptions import (
    BookingError,
    HoldLimitReached,
    InvalidSeat,
    NotYourHold,
    OrderAtPayment,
    SalesClosed,
    SeatsBusy,
    SeatUnavailable,
    TooManyOrders,
)
from booking.models import OPEN_STATUSES, Channel, Order, Showtime, new_reference
from booking.services.locking import Actor, seat_codes_parse, seat_map_changed
from booking.services.orders import order_expired_email

logger = logging.getLogger("booking.services.orders")  # the lazy expiry logs as the expiry does


def _requested_seats(
    showtime_id: int, codes: Iterable[str], showtime: Showtime | None = None
) -> tuple[Showtime, frozenset[str]]:
    """The showtime and the real seats asked for, couple partners added; unknown codes refused."""
    codes = seat_codes_parse(codes)
    if showtime is None or showtime.pk != showtime_id:
        showtime = Showtime.objects.select_related("hall").defer("hall__layout").get(pk=showtime_id)
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

# Named arguments: the call reads like the function's signature in 0007_hold_function.sql.
_HOLD_SQL = """
SELECT r.outcome, r.outcome_seats, r.opened, r.expired_reference, r.expired_seats,
       r.expired_late_seconds, (r.owner_order).*
  FROM booking_seat_hold(
    p_showtime_id => %(showtime_id)s, p_codes => %(codes)s::text[], p_owner_token => %(owner_token)s,
    p_actor => %(actor)s, p_channel => %(channel)s, p_staff_user_id => %(staff_user_id)s::bigint,
    p_client_ip => %(client_ip)s::inet, p_now => %(now)s, p_expires_at => %(expires_at)s,
    p_expires_iso => %(expires_iso)s, p_reference => %(reference)s, p_currency => %(currency)s,
    p_max_seats => %(max_seats)s, p_max_orders_per_ip => %(max_orders_per_ip)s,
    p_lock_timeout => %(lock_timeout)s, p_payment_closed => %(payment_closed)s::bigint
  ) AS r
"""

_RELEASE_SQL = """
SELECT r.outcome, r.outcome_seats, (r.owner_order).*
  FROM booking_seat_release(
    p_showtime_id => %(showtime_id)s, p_codes => %(codes)s::text[], p_owner_token => %(owner_token)s,
    p_actor => %(actor)s, p_lock_timeout => %(lock_timeout)s
  ) AS r
"""


@dataclasses.dataclass(frozen=True)
class _Result:
    outcome: str
    seats: tuple[str, ...]
    order: Order | None
    opened: bool = False
    expired: tuple[str, list[str], float] | None = None  # reference, released seats, late seconds


def _call(sql: str, params: dict, head: int) -> tuple[tuple, Order | None]:
    """One statement. In autocommit mode (a request) it is its own transaction: no BEGIN, no
    savepoint, no COMMIT from Django — one round trip. Inside a caller's atomic block it joins
    that transaction; a refusal never aborts it (the function rolls back to its own block)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        columns = [c.name for c in cursor.description[head:]]
    values = dict(zip(columns, row[head:], strict=True))
    order = None
    if values["id"] is not None:
        order = Order.from_db(
            connection.alias, [f.attname for f in _ORDER_FIELDS], [values[f.column] for f in _ORDER_FIELDS]
        )
    return row[:head], order


def _lock_timeout() -> str:
    return f"{settings.SEAT_LOCK_TIMEOUT_MS}ms"


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
) -> Order:
    """Hold all of `codes` (and the other half of any couple seat) for this owner, or none.

    Pass `showtime` when the caller has loaded it already (with its hall): it is not read again.
    """
    now = now or timezone.now()
    showtime, wanted = _requested_seats(showtime_id, codes, showtime)
    if not showtime.sales_open(now):
        raise SalesClosed(wanted)
    expires_at = now + timedelta(seconds=settings.HOLD_SECONDS)
    params = {
        "showtime_id": showtime.pk,
        "codes": sorted(wanted),
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
        "max_seats": settings.MAX_SEATS_PER_ORDER,
        "max_orders_per_ip": settings.MAX_OPEN_ORDERS_PER_IP,
        "lock_timeout": _lock_timeout(),
        "payment_closed": None,
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
        return result.order
    if result.outcome == "unchanged":
        return result.order
    raise _refusal(result, wanted, now)


def _hold_call(params: dict) -> _Result:
    (outcome, seats, opened, ref, released, late), order = _call(_HOLD_SQL, params, 6)
    expired = (ref, released, float(late)) if ref is not None else None
    return _Result(outcome, tuple(seats or ()), order, opened, expired)


def _refusal(result: _Result, wanted: frozenset[str], now: datetime) -> BookingError:
    """The domain error for a refused call; it carries the owner's open order as the call saw it,
    so the view redraws the basket without asking the database again."""
    order = result.order
    if result.outcome == "unavailable":
        error = SeatUnavailable(result.seats)
    elif result.outcome == "limit":
        error = HoldLimitReached(wanted, settings.MAX_SEATS_PER_ORDER)
    elif result.outcome == "too_many_orders":
        error = TooManyOrders(settings.MAX_OPEN_ORDERS_PER_IP)
    elif result.outcome == "at_payment":
        error = OrderAtPayment(order.reference, order.get_status_display(), "holding")
    elif result.outcome == "not_yours":
        error = NotYourHold(result.seats)
    elif result.outcome == "busy":
        return SeatsBusy(wanted)  # the call saw nothing: the view asks for the order itself
    else:
        raise ValueError(f"unknown outcome {result.outcome!r}")
    error.order_seen = True
    if order is not None and order.status in OPEN_STATUSES and order.expires_at > now:
        error.order = order
    return error


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
) -> Order:
    """Give back some of the owner's held seats (couples go back as a pair)."""
    now = now or timezone.now()
    showtime, wanted = _requested_seats(showtime_id, codes, showtime)
    params = {
        "showtime_id": showtime.pk,
        "codes": sorted(wanted),
        "owner_token": owner_token,
        "actor": actor.label,
        "lock_timeout": _lock_timeout(),
    }
    (outcome, seats), order = _call(_RELEASE_SQL, params, 2)
    result = _Result(outcome, tuple(seats or ()), order)
    if outcome == "released":
        _changed(showtime.pk)
        return order
    raise _refusal(result, wanted, now)
