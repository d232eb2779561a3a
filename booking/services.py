"""The only code that changes seat state (DESIGN.md invariants 1-4).

Every function here runs one transaction that
- bounds how long it waits for a row lock (`lock_timeout`, turned into `SeatsBusy`),
- locks the `ShowSeat` rows it touches with `SELECT ... FOR UPDATE` in primary-key order,
- checks and acts inside that transaction, treating a hold whose time has passed as free
  (lazy expiry: correctness never waits for a background task),
- appends what it did to the ledger.

Lock order, everywhere: the owner's advisory lock, then the order row, then seat rows by pk.
"""

import dataclasses
import logging
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import Enum

import psycopg.errors
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.exceptions import (
    HoldLimitReached,
    InvalidSeat,
    NotYourHold,
    OrderAtPayment,
    OrderNotOpen,
    SalesClosed,
    SeatsBusy,
    SeatUnavailable,
    TooManyOrders,
)
from booking.models import (
    OPEN_STATUSES,
    Channel,
    LedgerEntry,
    Order,
    OrderStatus,
    PaymentMethod,
    SeatStatus,
    ShowSeat,
    Showtime,
    Ticket,
    TicketStatus,
)

logger = logging.getLogger(__name__)

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


# --- plumbing ----------------------------------------------------------------------------------


@contextmanager
def _seat_transaction(codes: Iterable[str] = (), *, owner_key: str | None = None):
    """One atomic block with a bounded lock wait; a lock timeout becomes `SeatsBusy`.

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
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise SeatsBusy(codes) from exc
        raise


def normalise_codes(codes: Iterable[str]) -> list[str]:
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


def _lock_seats(showtime_id: int, codes: Iterable[str]) -> list[ShowSeat]:
    return list(
        ShowSeat.objects.select_for_update(of=("self",))
        .filter(showtime_id=showtime_id, code__in=list(codes))
        .order_by("pk")
    )


def _lock_known_seats(showtime_id: int, codes: Iterable[str]) -> dict[str, ShowSeat]:
    """Lock the seats (pk order) and refuse codes that are not seats of this showtime."""
    codes = set(codes)
    seats = {s.code: s for s in _lock_seats(showtime_id, codes)}
    unknown = codes - set(seats)
    if unknown:
        raise InvalidSeat(unknown)
    return seats


def _lock_order_seats(order: Order) -> list[ShowSeat]:
    return list(
        ShowSeat.objects.select_for_update(of=("self",))
        .filter(order=order, status__in=[SeatStatus.HELD, SeatStatus.SOLD])
        .order_by("pk")
    )


def is_free(seat: ShowSeat, now: datetime) -> bool:
    """Invariant 2: a hold whose time has passed is as good as no hold."""
    return seat.status == SeatStatus.AVAILABLE or (
        seat.status == SeatStatus.HELD and seat.held_until is not None and seat.held_until <= now
    )


def _update_seats(seats: Sequence[ShowSeat], **values) -> None:
    ShowSeat.objects.filter(pk__in=[s.pk for s in seats]).update(version=F("version") + 1, **values)


def _log(
    actor: Actor, action: str, *, showtime_id: int, order: Order | None = None, seats=(), reason="", **data
):
    LedgerEntry.objects.create(
        actor=actor.label,
        action=action,
        showtime_id=showtime_id,
        order=order,
        seats=sorted(seats),
        reason=reason,
        data=data,
    )


def _hold_deadline(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.HOLD_SECONDS)


def _schedule_expiry(order: Order) -> None:
    from booking.tasks import schedule_order_expiry

    order_id, eta = order.pk, order.expires_at
    transaction.on_commit(lambda: schedule_order_expiry(order_id=order_id, eta=eta))


# --- showtime inventory ------------------------------------------------------------------------


def showtime_create_inventory(*, showtime: Showtime) -> int:
    """Create one `ShowSeat` per seat of the hall, priced by zone. Idempotent."""
    geometry = showtime.hall.geometry
    missing = geometry.zone_keys() - set(showtime.prices)
    if missing:
        raise ValueError(f"showtime {showtime.pk} has no price for zone(s) {', '.join(sorted(missing))}")
    existing = set(ShowSeat.objects.filter(showtime=showtime).values_list("code", flat=True))
    seats = [
        ShowSeat(showtime=showtime, code=s.code, zone=s.zone, price=int(showtime.prices[s.zone]))
        for s in geometry.seats
        if s.code not in existing
    ]
    ShowSeat.objects.bulk_create(seats)
    return len(seats)


@transaction.atomic
def showtime_create(
    *, film, hall, starts_at: datetime, prices: dict[str, int], currency: str | None = None
) -> Showtime:
    """A showtime and its inventory, together or not at all."""
    showtime = Showtime.objects.create(
        film=film, hall=hall, starts_at=starts_at, prices=prices, currency=currency or settings.CURRENCY
    )
    showtime_create_inventory(showtime=showtime)
    return showtime


# --- holding -----------------------------------------------------------------------------------


def _requested_seats(showtime_id: int, codes: Iterable[str]) -> tuple[Showtime, frozenset[str]]:
    """The showtime and the real seats asked for, couple partners added; unknown codes refused."""
    codes = normalise_codes(codes)
    showtime = Showtime.objects.select_related("hall").defer("hall__layout").get(pk=showtime_id)
    geometry = showtime.hall.geometry
    unknown = [c for c in codes if c not in geometry.by_code]
    if unknown:
        raise InvalidSeat(unknown)
    return showtime, geometry.with_partners(codes)


def _open_order(showtime_id: int, owner_token: str) -> Order | None:
    return (
        Order.objects.select_for_update()
        .filter(showtime_id=showtime_id, owner_token=owner_token, status__in=OPEN_STATUSES)
        .first()
    )


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
) -> Order:
    """Hold all of `codes` (and the other half of any couple seat) for this owner, or none."""
    now = now or timezone.now()
    showtime, wanted = _requested_seats(showtime_id, codes)
    if not showtime.sales_open(now):
        raise SalesClosed(wanted)

    with _seat_transaction(wanted, owner_key=f"{showtime_id}:{owner_token}"):
        order = _open_order(showtime_id, owner_token)
        if order is not None and order.expires_at <= now:
            _expire_locked(order, actor=actor, reason="lapsed before the owner's next hold", now=now)
            order = None
        if order is not None and order.status == OrderStatus.PAYING:
            raise OrderAtPayment(order.reference)

        seats = _lock_seats(showtime_id, wanted)
        mine = {
            s.code
            for s in seats
            if order is not None and s.order_id == order.pk and s.status == SeatStatus.HELD
        }
        new = [s for s in seats if s.code not in mine]
        taken = [s.code for s in new if not is_free(s, now)]
        if taken:
            raise SeatUnavailable(taken)
        already = set(order.seat_codes) if order is not None else set()
        if len(already | {s.code for s in new}) > settings.MAX_SEATS_PER_ORDER:
            raise HoldLimitReached(wanted, settings.MAX_SEATS_PER_ORDER)
        if not new:
            return order

        if order is None:
            if client_ip and _open_orders_from(client_ip, now) >= settings.MAX_OPEN_ORDERS_PER_IP:
                raise TooManyOrders(settings.MAX_OPEN_ORDERS_PER_IP)
            order = Order.objects.create(
                client_ip=client_ip or None,
                showtime=showtime,
                owner_token=owner_token,
                channel=channel,
                staff_user=staff_user,
                expires_at=_hold_deadline(now),
                currency=showtime.currency,
            )
            _schedule_expiry(order)
            _log(
                actor,
                "order.open",
                showtime_id=showtime_id,
                order=order,
                expires_at=order.expires_at.isoformat(),
            )
        lapsed = {s.code: s.order_id for s in new if s.status == SeatStatus.HELD}
        _update_seats(new, status=SeatStatus.HELD, order=order, held_until=order.expires_at)
        order.seat_codes = sorted(already | {s.code for s in new})
        order.total += sum(s.price for s in new)
        order.save(update_fields=["seat_codes", "total", "updated_at"])
        _log(
            actor,
            "seat.hold",
            showtime_id=showtime_id,
            order=order,
            seats=[s.code for s in new],
            reason="took over lapsed holds" if lapsed else "",
            **({"lapsed_from_orders": lapsed} if lapsed else {}),
        )
    return order


def _open_orders_from(client_ip: str, now: datetime) -> int:
    return Order.objects.filter(client_ip=client_ip, status__in=OPEN_STATUSES, expires_at__gt=now).count()


def seat_release(*, showtime_id: int, codes: Iterable[str], owner_token: str, actor: Actor) -> Order:
    """Give back some of the owner's held seats (couples go back as a pair)."""
    _showtime, wanted = _requested_seats(showtime_id, codes)
    with _seat_transaction(wanted, owner_key=f"{showtime_id}:{owner_token}"):
        order = _open_order(showtime_id, owner_token)
        if order is None:
            raise NotYourHold(wanted)
        if order.status == OrderStatus.PAYING:
            raise OrderAtPayment(order.reference)
        seats = _lock_seats(showtime_id, wanted)
        not_mine = [s.code for s in seats if not (s.order_id == order.pk and s.status == SeatStatus.HELD)]
        if not_mine:
            raise NotYourHold(not_mine)
        _update_seats(seats, status=SeatStatus.AVAILABLE, order=None, held_until=None)
        released = {s.code for s in seats}
        order.seat_codes = sorted(set(order.seat_codes) - released)
        order.total -= sum(s.price for s in seats)
        order.save(update_fields=["seat_codes", "total", "updated_at"])
        _log(actor, "seat.release", showtime_id=showtime_id, order=order, seats=released)
    return order


# --- expiry ------------------------------------------------------------------------------------


def _expire_locked(order: Order, *, actor: Actor, reason: str, now: datetime) -> list[str]:
    """Release what this order still holds and mark it expired; the caller holds the order lock."""
    seats = [s for s in _lock_order_seats(order) if s.status == SeatStatus.HELD]
    _update_seats(seats, status=SeatStatus.AVAILABLE, order=None, held_until=None)
    order.status = OrderStatus.EXPIRED
    order.status_reason = reason
    order.save(update_fields=["status", "status_reason", "updated_at"])
    released = [s.code for s in seats]
    lateness = (now - order.expires_at).total_seconds()
    _log(
        actor,
        "order.expire",
        showtime_id=order.showtime_id,
        order=order,
        seats=released,
        reason=reason,
        late_seconds=round(lateness, 3),
    )
    logger.info(
        "expired order %s: released %s, %.1fs after its hold ended (%s)",
        order.reference,
        ",".join(released) or "no seats",
        lateness,
        reason,
    )
    return released


def order_expire(
    *, order_id: int, actor: Actor, reason: str = "hold time ran out", now=None, skip_locked: bool = False
) -> list[str] | None:
    """Expire an unpaid order whose time has come. Returns the released seat codes, or None
    when there was nothing to do (paid, cancelled, already expired, not yet due, or — with
    `skip_locked`, as the sweep runs it — another worker is changing the order right now)."""
    now = now or timezone.now()
    with _seat_transaction():
        order = Order.objects.select_for_update(skip_locked=skip_locked).filter(pk=order_id).first()
        if order is None or order.status not in OPEN_STATUSES or order.expires_at > now:
            return None
        return _expire_locked(order, actor=actor, reason=reason, now=now)


def orders_due_for_expiry(*, now=None, limit: int = 100) -> list[int]:
    """Open orders past their time, oldest first (partial index `order_open_expiry`).

    A plain read: a lock taken here would end with this query's transaction, long before the
    orders are expired. Each expiry skips an order another worker holds (order_expire).
    """
    now = now or timezone.now()
    return list(
        Order.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- payment, sale -----------------------------------------------------------------------------


class ConfirmOutcome(Enum):
    CONFIRMED = "confirmed"
    ALREADY_PAID = "already_paid"
    SEATS_LOST = "seats_lost"  # paid, but someone else has a seat: the caller refunds


@dataclasses.dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    order: Order
    lost_seats: tuple[str, ...] = ()


def _issue_tickets(order: Order, seats: Sequence[ShowSeat], now: datetime) -> list[Ticket]:
    _update_seats(seats, status=SeatStatus.SOLD, order=order, held_until=None)
    return Ticket.objects.bulk_create(
        [
            Ticket(
                order=order,
                showtime_id=order.showtime_id,
                seat_code=s.code,
                zone=s.zone,
                price=s.price,
                issued_at=now,
            )
            for s in seats
        ]
    )


def booking_confirm(
    *,
    order_id: int,
    actor: Actor,
    payment_method: str = PaymentMethod.STRIPE,
    payment_reference: str = "",
    now: datetime | None = None,
) -> ConfirmResult:
    """Payment arrived: turn the order's seats into sold seats with tickets.

    Seats still attached to the order are sold even if the hold has lapsed (nobody took them).
    If the order already expired but every seat is free again, they are taken back. If any
    seat now belongs to someone else, nothing is sold and the caller must refund.
    """
    now = now or timezone.now()
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == OrderStatus.PAID:
            return ConfirmResult(ConfirmOutcome.ALREADY_PAID, order)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) or not order.seat_codes:
            return ConfirmResult(ConfirmOutcome.SEATS_LOST, order, tuple(order.seat_codes))
        seats = _lock_seats(order.showtime_id, order.seat_codes)
        lost = [
            s.code
            for s in seats
            if not (s.order_id == order.pk and s.status == SeatStatus.HELD) and not is_free(s, now)
        ]
        if lost:
            _log(
                actor,
                "order.seats_lost",
                showtime_id=order.showtime_id,
                order=order,
                seats=lost,
                reason="payment arrived after the seats were taken by someone else",
            )
            return ConfirmResult(ConfirmOutcome.SEATS_LOST, order, tuple(lost))
        tickets = _issue_tickets(order, seats, now)
        was = order.status
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.payment_method = payment_method
        if payment_reference:
            order.stripe_payment_intent = payment_reference
        order.total = sum(s.price for s in seats)
        order.save(
            update_fields=[
                "status",
                "paid_at",
                "payment_method",
                "stripe_payment_intent",
                "total",
                "updated_at",
            ]
        )
        _log(
            actor,
            "order.paid",
            showtime_id=order.showtime_id,
            order=order,
            seats=[s.code for s in seats],
            reason="" if was in OPEN_STATUSES else f"late payment, order was {was}; seats were still free",
            payment_method=payment_method,
            tickets=len(tickets),
        )
    _revoke_expiry(order)
    return ConfirmResult(ConfirmOutcome.CONFIRMED, order)


def _revoke_expiry(order: Order) -> None:
    from booking.tasks import revoke_order_expiry

    order_id = order.pk
    transaction.on_commit(lambda: revoke_order_expiry(order_id=order_id))


def order_mark_paying(*, order_id: int, stripe_session_id: str, email: str, actor: Actor) -> Order:
    """The customer went to pay: seats stay held, but the basket is frozen."""
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.status = OrderStatus.PAYING
        order.stripe_session_id = stripe_session_id
        order.email = email
        order.save(update_fields=["status", "stripe_session_id", "email", "updated_at"])
        _log(
            actor,
            "order.paying",
            showtime_id=order.showtime_id,
            order=order,
            seats=order.seat_codes,
            stripe_session=stripe_session_id,
        )
    return order


def order_resume_holding(*, order_id: int, actor: Actor, reason: str = "payment cancelled") -> Order:
    """The customer came back from the payment page without paying: the basket thaws."""
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == OrderStatus.PAYING:
            order.status = OrderStatus.HOLDING
            order.save(update_fields=["status", "updated_at"])
            _log(actor, "order.resume", showtime_id=order.showtime_id, order=order, reason=reason)
    return order


def order_await_payment(*, order_id: int, until: datetime, actor: Actor) -> Order:
    """A delayed payment method is processing: keep the seats until Stripe says yes or no."""
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in OPEN_STATUSES:
            return order
        seats = [s for s in _lock_order_seats(order) if s.status == SeatStatus.HELD]
        _update_seats(seats, held_until=until)
        order.status = OrderStatus.AWAITING_PAYMENT
        order.expires_at = until
        order.save(update_fields=["status", "expires_at", "updated_at"])
        _log(
            actor,
            "order.awaiting_payment",
            showtime_id=order.showtime_id,
            order=order,
            seats=[s.code for s in seats],
            until=until.isoformat(),
        )
    return order


def order_payment_failed(*, order_id: int, actor: Actor, reason: str) -> list[str] | None:
    """The delayed payment failed: the seats go back on sale."""
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in (*OPEN_STATUSES, OrderStatus.AWAITING_PAYMENT):
            return None
        return _expire_locked(order, actor=actor, reason=reason, now=timezone.now())


def _unsell_locked(order: Order, *, status: str, reason: str) -> list[ShowSeat]:
    """Seats back on sale and tickets void; the caller holds the order lock."""
    seats = _lock_order_seats(order)
    _update_seats(seats, status=SeatStatus.AVAILABLE, order=None, held_until=None)
    Ticket.objects.filter(order=order, status=TicketStatus.VALID).update(status=TicketStatus.VOID)
    order.status = status
    order.status_reason = reason
    order.save(update_fields=["status", "status_reason", "updated_at"])
    return seats


def order_mark_refunded(*, order_id: int, actor: Actor, reason: str, refund_reference: str = "") -> Order:
    """Money went back; the order keeps no seat and no valid ticket."""
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == OrderStatus.REFUNDED:
            return order
        seats = _unsell_locked(order, status=OrderStatus.REFUNDED, reason=reason)
        _log(
            actor,
            "order.refund",
            showtime_id=order.showtime_id,
            order=order,
            seats=[s.code for s in seats],
            reason=reason,
            refund=refund_reference,
        )
    return order


# --- staff -------------------------------------------------------------------------------------


def seat_block(*, showtime_id: int, codes: Iterable[str], reason: str, actor: Actor, now=None) -> list[str]:
    codes = normalise_codes(codes)
    now = now or timezone.now()
    with _seat_transaction(codes):
        seats = list(_lock_known_seats(showtime_id, codes).values())
        taken = [s.code for s in seats if not is_free(s, now)]
        if taken:
            raise SeatUnavailable(taken)
        _update_seats(
            seats, status=SeatStatus.BLOCKED, order=None, held_until=None, block_reason=reason[:200]
        )
        _log(actor, "seat.block", showtime_id=showtime_id, seats=codes, reason=reason)
    return codes


def seat_unblock(*, showtime_id: int, codes: Iterable[str], actor: Actor, reason: str = "") -> list[str]:
    codes = normalise_codes(codes)
    with _seat_transaction(codes):
        seats = list(_lock_known_seats(showtime_id, codes).values())
        not_blocked = [s.code for s in seats if s.status != SeatStatus.BLOCKED]
        if not_blocked:
            raise InvalidSeat(not_blocked, detail=_("Only blocked seats can be unblocked."))
        _update_seats(seats, status=SeatStatus.AVAILABLE, block_reason="")
        _log(actor, "seat.unblock", showtime_id=showtime_id, seats=codes, reason=reason)
    return codes


# --- box office ----------------------------------------------------------------------------


def counter_sell(
    *, order_id: int, payment_method: str, actor: Actor, name: str = "", email: str = ""
) -> ConfirmResult:
    """A counter customer pays on the spot (cash or card terminal): sold, tickets issued."""
    if payment_method not in (PaymentMethod.CASH, PaymentMethod.CARD_TERMINAL):
        raise ValueError(f"not a counter payment method: {payment_method}")
    with transaction.atomic():
        result = booking_confirm(order_id=order_id, actor=actor, payment_method=payment_method)
        if result.outcome == ConfirmOutcome.CONFIRMED and (name or email):
            Order.objects.filter(pk=order_id).update(name=name[:200], email=email)
    return result


def order_cancel(*, order_id: int, actor: Actor, reason: str) -> Order:
    """Cancel a counter booking: seats back on sale, tickets void, the money handed back is
    recorded (online payments go through checkout.services.order_refund instead)."""
    with _seat_transaction():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.PAID:
            raise OrderNotOpen(order.reference, order.get_status_display())
        if order.payment_method == PaymentMethod.STRIPE:
            raise ValueError("online payments are refunded through Stripe (checkout.services.order_refund)")
        seats = _unsell_locked(order, status=OrderStatus.CANCELLED, reason=reason)
        _log(
            actor,
            "order.cancel",
            showtime_id=order.showtime_id,
            order=order,
            seats=[s.code for s in seats],
            reason=reason,
            refund_amount=order.total,
            payment_method=order.payment_method,
        )
    return order


def order_reseat(*, order_id: int, codes: Iterable[str], actor: Actor, now=None) -> Order:
    """Move a paid booking to other free seats of the same showtime: same reference, the old
    tickets void, new ones issued, in one transaction that locks old and new seats by pk."""
    codes = normalise_codes(codes)
    now = now or timezone.now()
    with _seat_transaction(codes):
        order = Order.objects.select_for_update().select_related("showtime__hall").get(pk=order_id)
        if order.status != OrderStatus.PAID:
            raise OrderNotOpen(order.reference, order.get_status_display())
        wanted = set(order.showtime.hall.geometry.with_partners(codes))
        old_codes = set(order.seat_codes)
        if len(wanted) != len(old_codes):
            raise InvalidSeat(
                wanted, detail=_("Choose %(n)d seats, as many as the booking has.") % {"n": len(old_codes)}
            )
        seats = _lock_known_seats(order.showtime_id, wanted | old_codes)
        taken = [c for c in wanted - old_codes if not is_free(seats[c], now)]
        if taken:
            raise SeatUnavailable(taken)
        leaving = [seats[c] for c in old_codes - wanted]
        arriving = [seats[c] for c in wanted - old_codes]
        _update_seats(leaving, status=SeatStatus.AVAILABLE, order=None, held_until=None)
        Ticket.objects.filter(
            order=order, status=TicketStatus.VALID, seat_code__in=[s.code for s in leaving]
        ).update(status=TicketStatus.VOID)
        _issue_tickets(order, arriving, now)
        previous_total = order.total
        order.seat_codes = sorted(wanted)
        order.total = sum(seats[c].price for c in wanted)
        order.save(update_fields=["seat_codes", "total", "updated_at"])
        _log(
            actor,
            "order.reseat",
            showtime_id=order.showtime_id,
            order=order,
            seats=sorted(wanted),
            reason=f"from {', '.join(sorted(old_codes))}",
            previous_total=previous_total,
            total=order.total,
        )
    return order


class CheckIn(Enum):
    VALID = "valid"
    ALREADY = "already"
    OTHER_SHOWTIME = "other_showtime"
    VOID = "void"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class CheckInResult:
    outcome: CheckIn
    ticket: Ticket | None = None


def ticket_check_in(*, code: str, showtime_id: int | None, actor: Actor) -> CheckInResult:
    """Scan at the door. Checking a ticket in twice is harmless: the second scan says when."""
    code = code.strip()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("showtime__film", "order", "checked_in_by")
            .filter(code=code)
            .first()
        )
        if ticket is None:
            return CheckInResult(CheckIn.UNKNOWN)
        if ticket.status != TicketStatus.VALID:
            return CheckInResult(CheckIn.VOID, ticket)
        if showtime_id is not None and ticket.showtime_id != showtime_id:
            return CheckInResult(CheckIn.OTHER_SHOWTIME, ticket)
        if ticket.checked_in_at is not None:
            return CheckInResult(CheckIn.ALREADY, ticket)
        ticket.checked_in_at = timezone.now()
        ticket.checked_in_by = actor.user
        ticket.save(update_fields=["checked_in_at", "checked_in_by"])
        _log(
            actor,
            "ticket.check_in",
            showtime_id=ticket.showtime_id,
            order=ticket.order,
            seats=[ticket.seat_code],
        )
    return CheckInResult(CheckIn.VALID, ticket)
