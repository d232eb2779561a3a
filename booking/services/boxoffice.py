"""What staff do at the counter and the door: block seats, sell, cancel, reseat, check in."""

import dataclasses
from collections.abc import Iterable
from enum import Enum

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking.emails import order_email_later
from booking.exceptions import InvalidSeat, SeatUnavailable
from booking.models import Order, PaymentMethod, SeatStatus, Ticket, TicketStatus
from booking.services.locking import (
    Actor,
    ledger_append,
    seat_codes_parse,
    seat_is_free,
    seat_transaction,
    seats_lock_known,
    seats_update,
)
from booking.services.orders import (
    ConfirmOutcome,
    ConfirmResult,
    booking_confirm,
    order_transition,
    order_unsell,
    tickets_issue,
)


def seat_block(*, showtime_id: int, codes: Iterable[str], reason: str, actor: Actor, now=None) -> list[str]:
    codes = seat_codes_parse(codes)
    now = now or timezone.now()
    with seat_transaction(codes):
        seats = list(seats_lock_known(showtime_id, codes).values())
        taken = [s.code for s in seats if not seat_is_free(s, now)]
        if taken:
            raise SeatUnavailable(taken)
        seats_update(seats, status=SeatStatus.BLOCKED, order=None, held_until=None, block_reason=reason[:200])
        ledger_append(actor, "seat.block", showtime_id=showtime_id, seats=codes, reason=reason)
    return codes


def seat_unblock(*, showtime_id: int, codes: Iterable[str], actor: Actor, reason: str = "") -> list[str]:
    codes = seat_codes_parse(codes)
    with seat_transaction(codes):
        seats = list(seats_lock_known(showtime_id, codes).values())
        not_blocked = [s.code for s in seats if s.status != SeatStatus.BLOCKED]
        if not_blocked:
            raise InvalidSeat(not_blocked, detail=_("Only blocked seats can be unblocked."))
        seats_update(seats, status=SeatStatus.AVAILABLE, block_reason="")
        ledger_append(actor, "seat.unblock", showtime_id=showtime_id, seats=codes, reason=reason)
    return codes


def order_sell_at_counter(
    *, order_id: int, payment_method: str, actor: Actor, name: str = "", email: str = ""
) -> ConfirmResult:
    """A counter customer pays on the spot (cash or card terminal): sold, tickets issued."""
    if payment_method not in (PaymentMethod.CASH, PaymentMethod.CARD_TERMINAL):
        raise ValueError(f"not a counter payment method: {payment_method}")
    with transaction.atomic():
        result = booking_confirm(order_id=order_id, actor=actor, payment_method=payment_method)
        if result.outcome == ConfirmOutcome.CONFIRMED and (name or email):
            Order.objects.filter(pk=order_id).update(
                name=name[:200], email=email, language=translation.get_language() or ""
            )
            result.order.name, result.order.email = name[:200], email
            order_email_later(result.order, "confirmed", details={"payment_method": payment_method})
    return result


def order_cancel(*, order_id: int, actor: Actor, reason: str) -> Order:
    """Cancel a counter booking: seats back on sale, tickets void, the money handed back is
    recorded (online payments are refunded through the payment layer instead)."""
    with order_transition("cancel", actor=actor, order_id=order_id, reason=reason) as change:
        order = change.order
        if order.payment_method == PaymentMethod.STRIPE:
            raise ValueError(f"order {order.reference} was paid online: refund it through the payment layer")
        order_unsell(change)
        change.data.update(refund_amount=order.total, payment_method=order.payment_method)
        details = {"seats": list(change.seats), "amount": order.total, "payment_method": order.payment_method}
        order_email_later(order, "cancelled", reason=reason, details=details)
    return change.order


def order_reseat(*, order_id: int, codes: Iterable[str], actor: Actor, now=None) -> Order:
    """Move a paid booking to other free seats of the same showtime: same reference, the old
    tickets void, new ones issued, in one transaction that locks old and new seats by pk."""
    codes = seat_codes_parse(codes)
    now = now or timezone.now()
    with order_transition("reseat", actor=actor, order_id=order_id, now=now) as change:
        order = change.order
        wanted = set(order.showtime.hall.geometry.with_partners(codes))
        old_codes = set(order.seat_codes)
        if len(wanted) != len(old_codes):
            raise InvalidSeat(
                wanted, detail=_("Choose %(n)d seats, as many as the booking has.") % {"n": len(old_codes)}
            )
        seats = seats_lock_known(order.showtime_id, wanted | old_codes)
        taken = [c for c in wanted - old_codes if not seat_is_free(seats[c], now)]
        if taken:
            raise SeatUnavailable(taken)
        leaving = [seats[c] for c in old_codes - wanted]
        arriving = [seats[c] for c in wanted - old_codes]
        seats_update(leaving, status=SeatStatus.AVAILABLE, order=None, held_until=None)
        Ticket.objects.filter(
            order=order, status=TicketStatus.VALID, seat_code__in=[s.code for s in leaving]
        ).update(status=TicketStatus.VOID)
        tickets_issue(order, arriving, now)
        previous_total = order.total
        order.seat_codes = sorted(wanted)
        order.total = sum(seats[c].price for c in wanted)
        change.fields |= {"seat_codes", "total"}
        change.seats = sorted(wanted)
        change.data.update(moved_from=sorted(old_codes), previous_total=previous_total, total=order.total)
        if wanted != old_codes:
            details = {
                "from": sorted(old_codes),
                "to": sorted(wanted),
                "previous_total": previous_total,
                "total": order.total,
            }
            order_email_later(order, "reseated", details=details)
    return change.order


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
        ledger_append(
            actor,
            "ticket.check_in",
            showtime_id=ticket.showtime_id,
            order=ticket.order,
            seats=[ticket.seat_code],
        )
    return CheckInResult(CheckIn.VALID, ticket)
