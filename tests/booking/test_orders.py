"""The order lifecycle: one table of transitions, and nothing else changes an order's status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services
from booking.exceptions import OrderAtPayment, OrderNotOpen, OrderTransitionRefused
from booking.models import LedgerEntry, Order, OrderStatus
from booking.services import TRANSITIONS, Actor, order_transition

S = OrderStatus
# Written out by hand from DESIGN.md's lifecycle, not derived from TRANSITIONS: the test
# compares the code's table with the documented one, pair by pair.
ALLOWED = {
    "change_seats": {S.HOLDING},
    "pay_start": {S.HOLDING},
    "pay_abandon": {S.PAYING},
    "await_payment": {S.HOLDING, S.PAYING},
    "expire": {S.HOLDING, S.PAYING},
    "payment_fail": {S.HOLDING, S.PAYING, S.AWAITING_PAYMENT},
    "confirm": {S.HOLDING, S.PAYING, S.AWAITING_PAYMENT, S.EXPIRED},
    "refund": {S.PAID, S.HOLDING, S.PAYING, S.AWAITING_PAYMENT, S.EXPIRED},
    "cancel": {S.PAID},
    "reseat": {S.PAID},
}
TARGET = {
    "change_seats": S.HOLDING,
    "pay_start": S.PAYING,
    "pay_abandon": S.HOLDING,
    "await_payment": S.AWAITING_PAYMENT,
    "expire": S.EXPIRED,
    "payment_fail": S.EXPIRED,
    "confirm": S.PAID,
    "refund": S.REFUNDED,
    "cancel": S.CANCELLED,
    "reseat": S.PAID,
}


def _order(showtime, status: str) -> Order:
    order = services.seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="t", actor=Actor("test"))
    Order.objects.filter(pk=order.pk).update(status=status)
    return Order.objects.get(pk=order.pk)


def test_the_table_is_the_documented_lifecycle():
    assert set(TRANSITIONS) == set(ALLOWED)
    for name, transition in TRANSITIONS.items():
        assert transition.sources == ALLOWED[name], name
        assert transition.target == TARGET[name], name


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_every_transition_from_every_status(showtime, name, status):
    order = _order(showtime, status)
    transition = TRANSITIONS[name]
    # Satisfy the clock guard, so that only the source status decides.
    now = order.expires_at + timedelta(seconds=1) if transition.lapsed else timezone.now()
    entries = LedgerEntry.objects.filter(order=order).count()
    if status in ALLOWED[name]:
        with order_transition(name, actor=Actor("test"), order_id=order.pk, now=now) as change:
            assert change.order.status == status
        order.refresh_from_db()
        assert order.status == TARGET[name]
        assert LedgerEntry.objects.filter(order=order).count() == entries + 1
        assert LedgerEntry.objects.filter(order=order).last().action == transition.action
    else:
        with (
            pytest.raises(OrderTransitionRefused) as refused,
            order_transition(name, actor=Actor("test"), order_id=order.pk, now=now),
        ):
            pytest.fail("the body of a refused transition must not run")
        assert refused.value.reference == order.reference
        assert refused.value.target == TARGET[name]
        assert order.reference in refused.value.message
        order.refresh_from_db()
        assert order.status == status
        assert LedgerEntry.objects.filter(order=order).count() == entries


def test_a_refusal_names_the_order_its_status_and_the_target(showtime):
    order = _order(showtime, S.EXPIRED)
    with pytest.raises(OrderTransitionRefused) as refused:
        services.order_cancel(order_id=order.pk, actor=Actor("test"), reason="x")
    assert refused.value.message == f"Booking {order.reference} is expired and cannot become cancelled."


def test_paying_on_a_lapsed_order_is_refused(showtime):
    order = _order(showtime, S.HOLDING)
    with pytest.raises(OrderNotOpen):
        services.order_mark_paying(
            order_id=order.pk, email="a@example.com", actor=Actor("t"), now=order.expires_at
        )
    assert Order.objects.get(pk=order.pk).status == S.HOLDING


def test_paying_on_an_expired_order_is_refused(showtime):
    order = _order(showtime, S.HOLDING)
    services.order_expire(order_id=order.pk, actor=Actor("t"), now=order.expires_at + timedelta(seconds=1))
    with pytest.raises(OrderTransitionRefused):
        services.order_mark_paying(order_id=order.pk, email="a@example.com", actor=Actor("t"))
    assert Order.objects.get(pk=order.pk).status == S.EXPIRED


def test_paying_on_an_emptied_order_is_refused(showtime):
    order = _order(showtime, S.HOLDING)
    services.seat_release(showtime_id=showtime.pk, codes=["A1"], owner_token="t", actor=Actor("t"))
    with pytest.raises(OrderNotOpen) as refused:
        services.order_mark_paying(order_id=order.pk, email="a@example.com", actor=Actor("t"))
    assert "without seats" in refused.value.message
    assert Order.objects.get(pk=order.pk).status == S.HOLDING


def test_seat_changes_at_payment_name_the_payment(showtime):
    order = _order(showtime, S.HOLDING)
    services.order_mark_paying(order_id=order.pk, email="a@example.com", actor=Actor("t"))
    with pytest.raises(OrderAtPayment):
        services.seat_release(showtime_id=showtime.pk, codes=["A1"], owner_token="t", actor=Actor("t"))


def test_every_basket_change_is_a_new_basket_version(showtime):
    order = services.seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="t", actor=Actor("t"))
    assert order.basket_version == 1
    order = services.seat_hold(showtime_id=showtime.pk, codes=["A2"], owner_token="t", actor=Actor("t"))
    assert order.basket_version == 2
    order = services.seat_release(showtime_id=showtime.pk, codes=["A2"], owner_token="t", actor=Actor("t"))
    assert order.basket_version == 3
    services.order_mark_paying(order_id=order.pk, email="a@example.com", actor=Actor("t"))
    assert Order.objects.get(pk=order.pk).basket_version == 3  # freezing is not a change
    services.order_resume_holding(order_id=order.pk, actor=Actor("t"))
    assert Order.objects.get(pk=order.pk).basket_version == 4  # a new payment after this one


def test_a_reference_is_seven_readable_characters_each_drawn_from_the_whole_alphabet():
    """One draw per reference, its base-25 digits: every character of the alphabet turns up in
    every position, about equally often (20,000 references: 800 expected each, ±25%)."""
    from collections import Counter

    from booking.models import REFERENCE_ALPHABET, REFERENCE_LENGTH, new_reference, reference_possible

    references = [new_reference() for _ in range(20_000)]
    assert all(len(r) == REFERENCE_LENGTH and set(r) <= set(REFERENCE_ALPHABET) for r in references)
    assert all(reference_possible(r) for r in references[:100])
    for position in range(REFERENCE_LENGTH):
        counts = Counter(r[position] for r in references)
        assert set(counts) == set(REFERENCE_ALPHABET)
        assert min(counts.values()) > 600 and max(counts.values()) < 1000
    assert len(set(references)) > 19_990  # 25**7 ≈ 6e9 possible
