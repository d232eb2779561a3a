"""The Python reference of a hold and a release: what the PL/pgSQL functions of migration
0007_hold_function do in one call, written as ORM statements (about a dozen round trips).

Only tests use it: tests/booking/test_hold_sql.py runs the same operations through both and
compares every outcome, seat, order and ledger entry. Change both together.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from booking import hooks
from booking.exceptions import (
    HoldLimitReached,
    NotYourHold,
    OrderAtPayment,
    SalesClosed,
    SeatUnavailable,
    TooManyOrders,
)
from booking.models import OPEN_STATUSES, Channel, Order, OrderStatus, SeatStatus, Showtime
from booking.services.holds import _PaymentMayBeOpen, _requested_seats, seat_cap
from booking.services.locking import (
    Actor,
    ledger_append,
    seat_is_free,
    seat_transaction,
    seats_lock,
    seats_update,
)
from booking.services.orders import order_expire_locked, order_transition_check


def _open_order_lock(showtime_id: int, owner_token: str) -> Order | None:
    return (
        Order.objects.select_for_update()
        .filter(showtime_id=showtime_id, owner_token=owner_token, status__in=OPEN_STATUSES)
        .first()
    )


def _schedule_expiry(order: Order) -> None:
    # booking.tasks imports the services at module level; importing it here breaks that cycle.
    from booking.tasks import schedule_order_expiry

    order_id, eta = order.pk, order.expires_at
    transaction.on_commit(lambda: schedule_order_expiry(order_id=order_id, eta=eta))


def hold_reference(
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
    hold = {
        "showtime": showtime,
        "wanted": wanted,
        "owner_token": owner_token,
        "actor": actor,
        "channel": channel,
        "staff_user": staff_user,
        "client_ip": client_ip,
        "now": now,
    }
    try:
        return _hold(**hold)
    except _PaymentMayBeOpen as pending:
        # Stripe is called outside the seat transaction (no locks held while it answers), then
        # the hold runs again and expires the lapsed order for real.
        if not hooks.payment_close(order_id=pending.order_id):
            raise OrderAtPayment(Order.objects.get(pk=pending.order_id).reference) from None
        return _hold(**hold, payment_closed=pending.order_id)


def _hold(
    *,
    showtime: Showtime,
    wanted: frozenset[str],
    owner_token: str,
    actor: Actor,
    channel: str,
    staff_user,
    client_ip: str | None,
    now: datetime,
    payment_closed: int | None = None,
) -> Order:
    with seat_transaction(wanted, owner_key=f"{showtime.pk}:{owner_token}"):
        order = _open_order_lock(showtime.pk, owner_token)
        if order is not None and order.expires_at <= now:
            if order.status == OrderStatus.PAYING and order.pk != payment_closed:
                raise _PaymentMayBeOpen(order.pk)
            order_expire_locked(order, actor=actor, reason="lapsed before the owner's next hold", now=now)
            order = None
        if order is not None:
            order_transition_check(order, "change_seats", now=now)

        seats = seats_lock(showtime.pk, wanted)
        mine = {
            s.code
            for s in seats
            if order is not None and s.order_id == order.pk and s.status == SeatStatus.HELD
        }
        new = [s for s in seats if s.code not in mine]
        taken = [s.code for s in new if not seat_is_free(s, now)]
        if taken:
            raise SeatUnavailable(taken)
        already = set(order.seat_codes) if order is not None else set()
        if len(already | {s.code for s in new}) > seat_cap(channel):
            raise HoldLimitReached(wanted, seat_cap(channel))
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
                expires_at=now + timedelta(seconds=settings.HOLD_SECONDS),
                currency=showtime.currency,
            )
            _schedule_expiry(order)
            ledger_append(
                actor,
                "order.open",
                showtime_id=showtime.pk,
                order=order,
                expires_at=order.expires_at.isoformat(),
            )
        lapsed = {s.code: s.order_id for s in new if s.status == SeatStatus.HELD}
        seats_update(new, status=SeatStatus.HELD, order=order, held_until=order.expires_at)
        _basket_change(order, seat_codes=already | {s.code for s in new}, delta=sum(s.price for s in new))
        ledger_append(
            actor,
            "seat.hold",
            showtime_id=showtime.pk,
            order=order,
            seats=[s.code for s in new],
            reason="took over lapsed holds" if lapsed else "",
            **({"lapsed_from_orders": lapsed} if lapsed else {}),
        )
    return order


def _basket_change(order: Order, *, seat_codes: set[str], delta: int) -> None:
    """Every change of the basket is a new basket version: a price fixed for an older version
    (a Checkout Session) can never be taken for the new one."""
    order.seat_codes = sorted(seat_codes)
    order.total += delta
    order.basket_version += 1
    order.save(update_fields=["seat_codes", "total", "basket_version", "updated_at"])


def _open_orders_from(client_ip: str, now: datetime) -> int:
    return Order.objects.filter(client_ip=client_ip, status__in=OPEN_STATUSES, expires_at__gt=now).count()


def release_reference(
    *, showtime_id: int, codes: Iterable[str], owner_token: str, actor: Actor, now=None
) -> Order:
    """Give back some of the owner's held seats (couples go back as a pair)."""
    now = now or timezone.now()
    _showtime, wanted = _requested_seats(showtime_id, codes)
    with seat_transaction(wanted, owner_key=f"{showtime_id}:{owner_token}"):
        order = _open_order_lock(showtime_id, owner_token)
        if order is None:
            raise NotYourHold(wanted)
        order_transition_check(order, "change_seats", now=now)
        seats = seats_lock(showtime_id, wanted)
        not_mine = [s.code for s in seats if not (s.order_id == order.pk and s.status == SeatStatus.HELD)]
        if not_mine:
            raise NotYourHold(not_mine)
        seats_update(seats, status=SeatStatus.AVAILABLE, order=None, held_until=None)
        released = {s.code for s in seats}
        _basket_change(order, seat_codes=set(order.seat_codes) - released, delta=-sum(s.price for s in seats))
        ledger_append(actor, "seat.release", showtime_id=showtime_id, order=order, seats=released)
    return order
