"""The booking services, one behaviour at a time, against real PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from booking import services
from booking.exceptions import (
    HoldLimitReached,
    InvalidSeat,
    NotYourHold,
    OrderAtPayment,
    SalesClosed,
    SeatUnavailable,
)
from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat, Ticket, TicketStatus
from booking.services import Actor, ConfirmOutcome
from tests.helpers import locked_elsewhere


def seat(showtime, code) -> ShowSeat:
    return ShowSeat.objects.get(showtime=showtime, code=code)


def states(showtime) -> dict[str, tuple[str, int | None]]:
    return {s.code: (s.status, s.order_id) for s in ShowSeat.objects.filter(showtime=showtime)}


def hold(showtime, codes, token, **kwargs) -> Order:
    return services.seat_hold(
        showtime_id=showtime.pk, codes=codes, owner_token=token, actor=Actor.session(token), **kwargs
    )


def test_inventory_has_one_row_per_seat_priced_by_zone(medium_showtime):
    seats = ShowSeat.objects.filter(showtime=medium_showtime)
    assert seats.count() == medium_showtime.hall.geometry.seat_count
    assert {s.zone: s.price for s in seats} == {"standard": 1150, "vip": 1550}
    assert set(seats.values_list("status", flat=True)) == {SeatStatus.AVAILABLE}


def test_inventory_creation_is_idempotent(showtime):
    assert services.showtime_create_inventory(showtime=showtime) == 0
    assert ShowSeat.objects.filter(showtime=showtime).count() == 8


def test_hold_takes_seats_and_starts_the_clock(showtime, buyer):
    token, _ = buyer()
    before = timezone.now()
    order = hold(showtime, ["a1", "A2"], token)
    assert order.status == OrderStatus.HOLDING
    assert order.seat_codes == ["A1", "A2"]
    assert order.total == 2000
    assert before + timedelta(minutes=14) < order.expires_at <= timezone.now() + timedelta(minutes=15)
    assert states(showtime)["A1"] == (SeatStatus.HELD, order.pk)
    assert seat(showtime, "A2").held_until == order.expires_at
    entry = LedgerEntry.objects.get(order=order, action="seat.hold")
    assert entry.seats == ["A1", "A2"] and entry.actor.startswith("session:")


def test_adding_seats_keeps_the_clock_and_the_order(showtime, buyer):
    token, _ = buyer()
    first = hold(showtime, ["A1"], token)
    second = hold(showtime, ["A2"], token, now=timezone.now() + timedelta(minutes=5))
    assert second.pk == first.pk
    assert second.expires_at == first.expires_at
    assert second.seat_codes == ["A1", "A2"]
    assert seat(showtime, "A2").held_until == first.expires_at
    assert Order.objects.filter(showtime=showtime, owner_token=token).count() == 1


def test_holding_own_seat_again_is_harmless(showtime, buyer):
    token, _ = buyer()
    order = hold(showtime, ["A1"], token)
    again = hold(showtime, ["A1"], token)
    assert again.pk == order.pk
    assert LedgerEntry.objects.filter(order=order, action="seat.hold").count() == 1


def test_hold_is_all_or_nothing(showtime, buyer):
    alice, _ = buyer()
    bob, _ = buyer()
    hold(showtime, ["A2"], alice)
    with pytest.raises(SeatUnavailable) as exc:
        hold(showtime, ["A1", "A2", "A3"], bob)
    assert exc.value.seats == ("A2",)
    assert "A2" in exc.value.message
    assert states(showtime)["A1"] == (SeatStatus.AVAILABLE, None)
    assert states(showtime)["A3"] == (SeatStatus.AVAILABLE, None)
    assert not Order.objects.filter(owner_token=bob).exists()


def test_unknown_and_malformed_codes_are_rejected(showtime, buyer):
    token, _ = buyer()
    with pytest.raises(InvalidSeat) as exc:
        hold(showtime, ["A1", "Z9"], token)
    assert exc.value.seats == ("Z9",)
    with pytest.raises(InvalidSeat):
        hold(showtime, ["A1; DROP TABLE"], token)
    with pytest.raises(InvalidSeat):
        hold(showtime, [], token)
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_cap_on_seats_per_order(make_showtime, buyer, settings):
    from tests.fixtures import grid_layout

    settings.MAX_SEATS_PER_ORDER = 3
    showtime = make_showtime(grid_layout("A", 6))
    token, _ = buyer()
    hold(showtime, ["A1", "A2"], token)
    with pytest.raises(HoldLimitReached) as exc:
        hold(showtime, ["A3", "A4"], token)
    assert exc.value.limit == 3
    assert [c for c, (st, _) in states(showtime).items() if st == SeatStatus.HELD] == ["A1", "A2"]


def test_sales_close_before_the_start(make_showtime, buyer, settings):
    settings.SALES_CLOSE_MINUTES = 30
    showtime = make_showtime(starts_in=timedelta(minutes=20))
    token, _ = buyer()
    with pytest.raises(SalesClosed):
        hold(showtime, ["A1"], token)
    assert not Order.objects.exists()


def test_release_own_seats(showtime, buyer):
    token, actor = buyer()
    order = hold(showtime, ["A1", "A2"], token)
    order = services.seat_release(showtime_id=showtime.pk, codes=["A1"], owner_token=token, actor=actor)
    assert order.seat_codes == ["A2"]
    assert order.total == 1000
    assert states(showtime)["A1"] == (SeatStatus.AVAILABLE, None)
    assert LedgerEntry.objects.filter(order=order, action="seat.release", seats=["A1"]).exists()


def test_release_by_someone_else_is_refused(showtime, buyer):
    alice, _ = buyer()
    mallory, mallory_actor = buyer()
    order = hold(showtime, ["A1"], alice)
    hold(showtime, ["B1"], mallory)
    with pytest.raises(NotYourHold) as exc:
        services.seat_release(showtime_id=showtime.pk, codes=["A1"], owner_token=mallory, actor=mallory_actor)
    assert exc.value.seats == ("A1",)
    assert states(showtime)["A1"] == (SeatStatus.HELD, order.pk)


def test_release_with_no_order_is_refused(showtime, buyer):
    token, actor = buyer()
    with pytest.raises(NotYourHold):
        services.seat_release(showtime_id=showtime.pk, codes=["A1"], owner_token=token, actor=actor)


def test_couple_seats_are_held_and_released_as_a_pair(medium_showtime, buyer):
    token, actor = buyer()
    order = hold(medium_showtime, ["J1"], token)
    assert order.seat_codes == ["J1", "J2"]
    order = services.seat_release(
        showtime_id=medium_showtime.pk, codes=["J2"], owner_token=token, actor=actor
    )
    assert order.seat_codes == []
    assert states(medium_showtime)["J1"] == (SeatStatus.AVAILABLE, None)


def test_expired_hold_is_taken_over_and_old_expiry_leaves_new_holder_alone(showtime, buyer):
    alice, _ = buyer()
    bob, _ = buyer()
    t0 = timezone.now()
    old = hold(showtime, ["A1", "A2"], alice, now=t0)
    later = t0 + timedelta(minutes=16)
    new = hold(showtime, ["A1"], bob, now=later)
    assert states(showtime)["A1"] == (SeatStatus.HELD, new.pk)

    released = services.order_expire(order_id=old.pk, actor=Actor.system("test"), now=later)
    assert released == ["A2"]
    assert states(showtime)["A1"] == (SeatStatus.HELD, new.pk)
    assert states(showtime)["A2"] == (SeatStatus.AVAILABLE, None)
    old.refresh_from_db()
    assert old.status == OrderStatus.EXPIRED
    takeover = LedgerEntry.objects.get(order=new, action="seat.hold")
    assert takeover.data["lapsed_from_orders"] == {"A1": old.pk}


def test_expiry_before_time_or_after_payment_does_nothing(showtime, buyer):
    token, _ = buyer()
    order = hold(showtime, ["A1"], token)
    assert services.order_expire(order_id=order.pk, actor=Actor.system("test")) is None
    services.booking_confirm(order_id=order.pk, actor=Actor.system("test"))
    late = timezone.now() + timedelta(hours=1)
    assert services.order_expire(order_id=order.pk, actor=Actor.system("test"), now=late) is None
    assert states(showtime)["A1"] == (SeatStatus.SOLD, order.pk)


def test_own_lapsed_order_is_replaced_by_a_new_one(showtime, buyer):
    token, _ = buyer()
    t0 = timezone.now()
    old = hold(showtime, ["A1"], token, now=t0)
    new = hold(showtime, ["A2"], token, now=t0 + timedelta(minutes=20))
    assert new.pk != old.pk
    old.refresh_from_db()
    assert old.status == OrderStatus.EXPIRED
    assert states(showtime)["A1"] == (SeatStatus.AVAILABLE, None)


def test_confirm_sells_seats_and_issues_tickets(showtime, buyer):
    token, _ = buyer()
    order = hold(showtime, ["A1", "A2"], token)
    result = services.booking_confirm(
        order_id=order.pk, actor=Actor("stripe:evt_1"), payment_reference="pi_1"
    )
    assert result.outcome == ConfirmOutcome.CONFIRMED
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert LedgerEntry.objects.get(order=order, action="order.paid").data["payment_reference"] == "pi_1"
    assert states(showtime)["A1"] == (SeatStatus.SOLD, order.pk)
    assert sorted(order.tickets.values_list("seat_code", flat=True)) == ["A1", "A2"]
    again = services.booking_confirm(order_id=order.pk, actor=Actor("stripe:evt_2"))
    assert again.outcome == ConfirmOutcome.ALREADY_PAID
    assert order.tickets.count() == 2


def test_late_payment_takes_free_seats_back(showtime, buyer):
    token, _ = buyer()
    t0 = timezone.now()
    order = hold(showtime, ["A1"], token, now=t0)
    services.order_expire(order_id=order.pk, actor=Actor.system("test"), now=t0 + timedelta(minutes=16))
    result = services.booking_confirm(order_id=order.pk, actor=Actor("stripe:evt_1"))
    assert result.outcome == ConfirmOutcome.CONFIRMED
    assert states(showtime)["A1"] == (SeatStatus.SOLD, order.pk)


def test_late_payment_with_seat_taken_sells_nothing(showtime, buyer):
    alice, _ = buyer()
    bob, _ = buyer()
    t0 = timezone.now()
    order = hold(showtime, ["A1", "A2"], alice, now=t0)
    later = t0 + timedelta(minutes=16)
    taker = hold(showtime, ["A2"], bob, now=later)
    result = services.booking_confirm(order_id=order.pk, actor=Actor("stripe:evt_1"), now=later)
    assert result.outcome == ConfirmOutcome.SEATS_LOST
    assert result.lost_seats == ("A2",)
    assert states(showtime)["A2"] == (SeatStatus.HELD, taker.pk)
    assert not Ticket.objects.filter(order=order).exists()
    refunded = services.order_mark_refunded(
        order_id=order.pk, actor=Actor("stripe:evt_1"), reason="seat taken"
    )
    assert refunded.status == OrderStatus.REFUNDED
    assert states(showtime)["A1"] == (SeatStatus.AVAILABLE, None)


def test_paying_order_is_frozen_until_resumed(showtime, buyer):
    token, actor = buyer()
    order = hold(showtime, ["A1"], token)
    services.order_mark_paying(order_id=order.pk, email="a@example.com", actor=actor)
    with pytest.raises(OrderAtPayment):
        hold(showtime, ["A2"], token)
    services.order_resume_holding(order_id=order.pk, actor=actor)
    assert hold(showtime, ["A2"], token).seat_codes == ["A1", "A2"]


def test_block_and_unblock(showtime, buyer, django_user_model):
    staff = Actor.staff(django_user_model.objects.create_user("clara"))
    services.seat_block(showtime_id=showtime.pk, codes=["B1"], reason="broken", actor=staff)
    assert states(showtime)["B1"] == (SeatStatus.BLOCKED, None)
    token, _ = buyer()
    with pytest.raises(SeatUnavailable):
        hold(showtime, ["B1"], token)
    services.seat_unblock(showtime_id=showtime.pk, codes=["B1"], actor=staff)
    assert states(showtime)["B1"] == (SeatStatus.AVAILABLE, None)
    actions = list(LedgerEntry.objects.filter(actor="staff:clara").values_list("action", flat=True))
    assert actions == ["seat.block", "seat.unblock"]


def test_cannot_block_a_held_seat(showtime, buyer, django_user_model):
    token, _ = buyer()
    hold(showtime, ["A1"], token)
    staff = Actor.staff(django_user_model.objects.create_user("clara"))
    with pytest.raises(SeatUnavailable):
        services.seat_block(showtime_id=showtime.pk, codes=["A1"], reason="house seat", actor=staff)


def test_database_refuses_inconsistent_seat_rows(showtime):
    with pytest.raises(IntegrityError), transaction.atomic():
        ShowSeat.objects.filter(showtime=showtime, code="A1").update(status=SeatStatus.HELD)


def test_database_refuses_two_valid_tickets_for_one_seat(showtime, buyer):
    token, _ = buyer()
    order = hold(showtime, ["A1"], token)
    services.booking_confirm(order_id=order.pk, actor=Actor("test"))
    ticket = order.tickets.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(order=order, showtime=showtime, seat_code="A1", zone="standard", price=1)
    ticket.status = TicketStatus.VOID
    ticket.save()
    Ticket.objects.create(order=order, showtime=showtime, seat_code="A1", zone="standard", price=1)


def test_ledger_is_append_only(showtime, buyer):
    token, _ = buyer()
    hold(showtime, ["A1"], token)
    entry = LedgerEntry.objects.first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.django_db(transaction=True)
def test_lock_timeout_becomes_seats_busy(showtime, buyer, settings):
    """A row locked elsewhere for longer than the lock timeout gives SeatsBusy, not a hang."""
    from booking.exceptions import SeatsBusy

    settings.SEAT_LOCK_TIMEOUT_MS = 200
    token, _ = buyer()
    with locked_elsewhere(ShowSeat.objects.filter(showtime=showtime, code="A1")):
        with pytest.raises(SeatsBusy) as exc:
            hold(showtime, ["A1"], token)
        assert exc.value.seats == ("A1",)
