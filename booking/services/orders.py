"""The order lifecycle as data: one table of allowed transitions, one way to apply them.

Every change of `Order.status` goes through `order_transition`, which locks the order row,
checks the transition's sources and clock, lets the caller do the seat work on the locked
order, then saves the new status and appends the ledger entry. Nothing else writes a status.

    holding ──pay_start──▶ paying ──pay_abandon──▶ holding
    holding | paying ──expire──▶ expired            (only once the hold clock ran out)
    holding | paying ──await_payment──▶ awaiting_payment ──payment_fail──▶ expired
    holding | paying | awaiting_payment | expired ──confirm──▶ paid   (late payment: seats still free)
    paid ──refund──▶ refunded;  paid ──cancel──▶ cancelled;  paid ──reseat──▶ paid

The diagram in docs/architecture.md is drawn from TRANSITIONS.
"""

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking import metrics
from booking.emails import order_email_later
from booking.exceptions import OrderAtPayment, OrderNotOpen, OrderTransitionRefused
from booking.models import Order, OrderStatus, PaymentMethod, SeatStatus, ShowSeat, Ticket, TicketStatus
from booking.services.locking import (
    Actor,
    ledger_append,
    order_seats_lock,
    seat_is_free,
    seat_transaction,
    seats_lock,
    seats_update,
)

logger = logging.getLogger(__name__)

S = OrderStatus


@dataclasses.dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    action: str  # the ledger's name for it
    time_left: bool = False  # only while the hold clock runs (expires_at > now)
    lapsed: bool = False  # only once the hold clock has run out
    needs_seats: bool = False  # only with seats in the basket

    def refusal(self, order: Order, now: datetime) -> OrderTransitionRefused | None:
        """Why `order` may not take this transition now, or None if it may."""
        status = order.get_status_display()
        if order.status not in self.sources:
            if order.status == S.PAYING and self.target == S.HOLDING:
                return OrderAtPayment(order.reference, status, self.target)
            return OrderTransitionRefused(order.reference, status, self.target)
        if self.time_left and order.expires_at <= now:
            return OrderNotOpen(order.reference, _lapsed_label(), self.target)
        if self.lapsed and order.expires_at > now:
            return OrderTransitionRefused(order.reference, status, self.target)
        if self.needs_seats and not order.seat_codes:
            return OrderNotOpen(order.reference, _empty_label(), self.target)
        return None


def _lapsed_label() -> str:
    return _("past its hold time")


def _empty_label() -> str:
    return _("without seats")


def _t(name, sources, target, action, **guards) -> Transition:
    return Transition(name, frozenset(sources), target, action, **guards)


# The whole lifecycle. Adding seats to or removing them from a basket (`change_seats`) keeps
# the status but is checked here like any other change, so "no seat changes at payment" is
# one line of this table, not a guard in each service.
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("change_seats", [S.HOLDING], S.HOLDING, "seat.change"),
        _t("pay_start", [S.HOLDING], S.PAYING, "order.paying", time_left=True, needs_seats=True),
        _t("pay_abandon", [S.PAYING], S.HOLDING, "order.resume", time_left=True),
        _t("await_payment", [S.HOLDING, S.PAYING], S.AWAITING_PAYMENT, "order.awaiting_payment"),
        _t("expire", [S.HOLDING, S.PAYING], S.EXPIRED, "order.expire", lapsed=True),
        _t("payment_fail", [S.HOLDING, S.PAYING, S.AWAITING_PAYMENT], S.EXPIRED, "order.expire"),
        _t(
            "confirm",
            [S.HOLDING, S.PAYING, S.AWAITING_PAYMENT, S.EXPIRED],
            S.PAID,
            "order.paid",
            needs_seats=True,
        ),
        # Money for the order went back: from a sale, or from a payment that found its
        # seats gone (the order may still be open or already expired then).
        _t(
            "refund", [S.PAID, S.HOLDING, S.PAYING, S.AWAITING_PAYMENT, S.EXPIRED], S.REFUNDED, "order.refund"
        ),
        _t("cancel", [S.PAID], S.CANCELLED, "order.cancel"),
        _t("reseat", [S.PAID], S.PAID, "order.reseat"),
    ]
}


@dataclasses.dataclass
class OrderChange:
    """What the body of a transition did, for the ledger entry the helper writes."""

    order: Order
    now: datetime
    seats: Sequence[str] = ()
    data: dict = dataclasses.field(default_factory=dict)
    fields: set[str] = dataclasses.field(default_factory=set)  # other Order fields the body set


class OrderLocked(Exception):
    """`skip_locked` found the order row locked by another worker: try again later."""


def order_transition_check(order: Order, name: str, *, now: datetime) -> None:
    refusal = TRANSITIONS[name].refusal(order, now)
    if refusal is not None:
        raise refusal


@contextmanager
def order_transition(
    name: str,
    *,
    actor: Actor,
    order_id: int | None = None,
    order: Order | None = None,
    now: datetime | None = None,
    reason: str = "",
    skip_locked: bool = False,
    owner_key: str | None = None,
) -> Iterator[OrderChange]:
    """Lock the order, check the transition, let the caller change seats, save and log.

    Pass `order` only when the caller's transaction already holds its row lock (a hold that
    finds its owner's order lapsed); otherwise `order_id`, and the row is locked here, first
    thing in a new bounded-lock transaction.
    """
    transition = TRANSITIONS[name]
    now = now or timezone.now()
    with seat_transaction(owner_key=owner_key) if order is None else _already_locked():
        if order is None:
            order = Order.objects.select_for_update(skip_locked=skip_locked).filter(pk=order_id).first()
            if order is None:
                if skip_locked and Order.objects.filter(pk=order_id).exists():
                    raise OrderLocked(order_id)
                raise Order.DoesNotExist(f"no order {order_id}")
        order_transition_check(order, name, now=now)
        change = OrderChange(order, now)
        yield change
        order.status = transition.target
        fields = {"status", "updated_at", *change.fields}
        if reason:
            order.status_reason = reason[:500]
            fields.add("status_reason")
        order.save(update_fields=sorted(fields))
        ledger_append(
            actor,
            transition.action,
            showtime_id=order.showtime_id,
            order=order,
            seats=change.seats,
            reason=reason,
            **change.data,
        )


@contextmanager
def _already_locked():
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an order passed to order_transition must be locked by the caller's transaction")
    yield


# --- the order services ------------------------------------------------------------------------


def order_release_held(change: OrderChange) -> list[str]:
    """The body of expire and payment_fail: what the order still holds goes back on sale."""
    seats = [s for s in order_seats_lock(change.order) if s.status == SeatStatus.HELD]
    seats_update(seats, status=SeatStatus.AVAILABLE, order=None, held_until=None)
    change.seats = [s.code for s in seats]
    return change.seats


def order_expire_locked(order: Order, *, actor: Actor, reason: str, now: datetime) -> list[str]:
    """Expire an order whose row the caller's transaction has locked (lazy expiry in a hold)."""
    with order_transition("expire", actor=actor, order=order, now=now, reason=reason) as change:
        released = order_release_held(change)
        change.data["late_seconds"] = round((now - order.expires_at).total_seconds(), 3)
        order_expired_email(order, released)
    _log_expiry(order, released, now, reason)
    return released


def order_expire(
    *, order_id: int, actor: Actor, reason: str = "hold time ran out", now=None, skip_locked: bool = False
) -> list[str] | None:
    """Expire an unpaid order whose time has come. Returns the released seat codes, or None
    when there was nothing to do (paid, cancelled, already expired, not yet due, or — with
    `skip_locked`, as the sweep runs it — another worker is changing the order right now)."""
    now = now or timezone.now()
    try:
        with order_transition(
            "expire", actor=actor, order_id=order_id, now=now, reason=reason, skip_locked=skip_locked
        ) as change:
            released = order_release_held(change)
            change.data["late_seconds"] = round((now - change.order.expires_at).total_seconds(), 3)
            order_expired_email(change.order, released)
    except (OrderTransitionRefused, OrderLocked, Order.DoesNotExist):
        return None
    _log_expiry(change.order, released, now, reason)
    return released


def order_expired_email(order: Order, released: Sequence[str]) -> None:
    """An order that reached checkout (the buyer gave an email there) and then ran out of time:
    the buyer may still be waiting on a payment page, so they hear that nothing was charged."""
    if order.seat_codes:
        order_email_later(
            order, "expired", details={"seats": list(order.seat_codes), "released": list(released)}
        )


def _log_expiry(order: Order, released: list[str], now: datetime, reason: str) -> None:
    late = (now - order.expires_at).total_seconds()
    metrics.expiry_lateness_seconds.observe(late)
    logger.info(
        "expired order %s: released %s, %.1fs after its hold ended (%s)",
        order.reference,
        ",".join(released) or "no seats",
        late,
        reason,
    )


def order_mark_paying(*, order_id: int, email: str, actor: Actor, now=None) -> Order:
    """The customer went to pay: seats stay held, the basket is frozen (no more changes).

    Under the owner's advisory lock as well, like a hold, so a hold of the same buyer either
    lands before the freeze or is refused after it."""
    owner = Order.objects.values_list("showtime_id", "owner_token").get(pk=order_id)
    with order_transition(
        "pay_start", actor=actor, order_id=order_id, now=now, owner_key=f"{owner[0]}:{owner[1]}"
    ) as change:
        change.order.email = email
        change.order.language = translation.get_language() or ""
        change.fields.update(("email", "language"))
        change.seats = change.order.seat_codes
        change.data["basket_version"] = change.order.basket_version
    return change.order


def order_resume_holding(
    *, order_id: int, actor: Actor, reason: str = "payment cancelled", now=None
) -> Order:
    """The customer came back from the payment page without paying: the basket thaws.

    A new basket version, so that the next checkout is a new payment, not the closed one."""
    with order_transition("pay_abandon", actor=actor, order_id=order_id, now=now, reason=reason) as change:
        change.order.basket_version += 1
        change.fields.add("basket_version")
    return change.order


def order_await_payment(*, order_id: int, until: datetime, actor: Actor) -> Order:
    """A delayed payment method is processing: keep the seats until Stripe says yes or no."""
    with order_transition("await_payment", actor=actor, order_id=order_id) as change:
        seats = [s for s in order_seats_lock(change.order) if s.status == SeatStatus.HELD]
        seats_update(seats, held_until=until)
        change.order.expires_at = until
        change.fields.add("expires_at")
        change.seats = [s.code for s in seats]
        change.data["until"] = until.isoformat()
    return change.order


def order_payment_failed(*, order_id: int, actor: Actor, reason: str) -> list[str]:
    """The delayed payment failed: the seats go back on sale."""
    with order_transition("payment_fail", actor=actor, order_id=order_id, reason=reason) as change:
        released = order_release_held(change)
    return released


class ConfirmOutcome(Enum):
    CONFIRMED = "confirmed"
    ALREADY_PAID = "already_paid"
    SEATS_LOST = "seats_lost"  # paid, but the order cannot have its seats: the caller refunds


@dataclasses.dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    order: Order
    lost_seats: tuple[str, ...] = ()


class _SeatsLost(Exception):
    def __init__(self, seats: list[str]):
        super().__init__(seats)
        self.seats = seats


def tickets_issue(order: Order, seats: Sequence[ShowSeat], now: datetime) -> list[Ticket]:
    seats_update(seats, status=SeatStatus.SOLD, order=order, held_until=None)
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
    was = ""
    try:
        with order_transition("confirm", actor=actor, order_id=order_id, now=now) as change:
            order = change.order
            was = order.status
            seats = seats_lock(order.showtime_id, order.seat_codes)
            lost = [
                s.code
                for s in seats
                if not (s.order_id == order.pk and s.status == SeatStatus.HELD) and not seat_is_free(s, now)
            ]
            if lost:
                raise _SeatsLost(lost)
            tickets = tickets_issue(order, seats, now)
            order.paid_at = now
            order.payment_method = payment_method
            order.total = sum(s.price for s in seats)
            change.fields |= {"paid_at", "payment_method", "total"}
            change.seats = [s.code for s in seats]
            change.data.update(
                payment_method=payment_method, tickets=len(tickets), payment_reference=payment_reference
            )
            if was not in (S.HOLDING, S.PAYING, S.AWAITING_PAYMENT):
                change.data["late_from"] = was
    except _SeatsLost as exc:
        order = Order.objects.get(pk=order_id)
        ledger_append(
            actor,
            "order.seats_lost",
            showtime_id=order.showtime_id,
            order=order,
            seats=exc.seats,
            reason="payment arrived after the seats were taken by someone else",
        )
        return ConfirmResult(ConfirmOutcome.SEATS_LOST, order, tuple(exc.seats))
    except OrderTransitionRefused:
        order = Order.objects.get(pk=order_id)
        if order.status == S.PAID:
            return ConfirmResult(ConfirmOutcome.ALREADY_PAID, order)
        return ConfirmResult(ConfirmOutcome.SEATS_LOST, order, tuple(order.seat_codes))
    _revoke_expiry(order)
    return ConfirmResult(ConfirmOutcome.CONFIRMED, order)


def _revoke_expiry(order: Order) -> None:
    # booking.tasks imports the services at module level; importing it here breaks that cycle.
    from booking.tasks import revoke_order_expiry

    order_id = order.pk
    transaction.on_commit(lambda: revoke_order_expiry(order_id=order_id))


def order_unsell(change: OrderChange) -> list[ShowSeat]:
    """The body of refund and cancel: seats back on sale and tickets void."""
    seats = order_seats_lock(change.order)
    seats_update(seats, status=SeatStatus.AVAILABLE, order=None, held_until=None)
    Ticket.objects.filter(order=change.order, status=TicketStatus.VALID).update(status=TicketStatus.VOID)
    change.seats = [s.code for s in seats]
    return seats


def order_mark_refunded(*, order_id: int, actor: Actor, reason: str, refund_reference: str = "") -> Order:
    """Money went back; the order keeps no seat and no valid ticket. Refunding twice is a no-op."""
    try:
        with order_transition("refund", actor=actor, order_id=order_id, reason=reason) as change:
            was_paid = change.order.status == S.PAID
            order_unsell(change)
            change.data.update(refund=refund_reference, refund_amount=change.order.total)
            change.data["payment_method"] = change.order.payment_method
            # Sent by whoever makes the transition (a staff refund, a late payment's refund, or
            # Stripe's refund webhook, whichever comes first): once.
            order_email_later(
                change.order,
                "refunded",
                reason=reason,
                details={"seats": list(change.seats), "amount": change.order.total, "was_paid": was_paid},
            )
    except OrderTransitionRefused:
        order = Order.objects.get(pk=order_id)
        if order.status == S.REFUNDED:
            return order
        raise
    return change.order
