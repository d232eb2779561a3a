"""Emails about online payments: confirmation with the tickets, refunds by staff, at Stripe or of a
late payment, and a payment page left to lapse. Each change sends exactly one email, however
many webhooks follow it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from booking import services as booking
from booking.models import Order, OrderStatus
from booking.permissions import box_office_group
from booking.services import Actor
from checkout import stripe_api
from checkout.models import Payment
from tests.checkout.conftest import events_of, post_event, session_of


def start_payment(showtime, seats=("A1", "A2")) -> Order:
    client = Client()
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": list(seats)})
    client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    return Order.objects.get(showtime=showtime, status=OrderStatus.PAYING)


def deliver(sim, *types):
    """Deliver every event of these types so far, again if already delivered: a redelivery must
    change nothing and send nothing (webhooks come twice)."""
    client = Client()
    return [post_event(client, event) for event in events_of(sim, *types)]


def paid(sim, showtime, seats=("A1", "A2")) -> Order:
    order = start_payment(showtime, seats)
    sim.complete(session_of(order), "paid")
    deliver(sim, "checkout.session.completed")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


@pytest.fixture
def staff_client(django_user_model, db):
    user = django_user_model.objects.create_user("clara")
    user.groups.add(box_office_group())
    client = Client()
    client.force_login(user)
    return client


def test_online_confirmation_carries_the_pdf_the_ics_and_the_qr_codes(sim, showtime, emails_sent):
    with emails_sent() as sent:
        order = paid(sim, showtime)
        deliver(sim)  # whatever else Stripe sends about this payment
    assert len(sent) == 1
    (message,) = sent
    assert message.subject == f"Your tickets for {showtime.film.title} ({order.reference})"
    assert "Total paid: €20.00, by card online." in message.body
    names = [name for name, _content, _type in message.attachments]
    assert names == [f"seatlock-{order.reference}.pdf", f"seatlock-{order.reference}.ics"]
    related = [p for p in message.message().walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1 and len(related[0].get_payload()) == 3  # the HTML and two QR codes


def test_staff_refund_of_an_online_booking_emails_once(sim, staff_client, showtime, emails_sent):
    order = paid(sim, showtime)
    with emails_sent() as sent:
        staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "film cancelled"})
        deliver(sim)  # charge.refunded, refund.created: Stripe's echo of the same refund
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert len(sent) == 1
    (message,) = sent
    assert message.subject == f"Your payment was refunded ({order.reference})"
    assert "film cancelled" in message.body
    assert "Your booking is cancelled: seats A1, A2 are released" in message.body
    assert "€20.00 goes back in full to the card you paid with" in message.body


def test_a_refund_made_at_stripe_emails_once(sim, showtime, emails_sent):
    order = paid(sim, showtime)
    intent = Payment.objects.get(order=order).payment_intent
    with emails_sent() as sent:
        stripe_api.client().v1.refunds.create(params={"payment_intent": intent})  # the dashboard
        responses = deliver(sim)
    assert b"marked refunded" in [r.content for r in responses]
    assert [m.subject for m in sent] == [f"Your payment was refunded ({order.reference})"]
    assert "refunded at Stripe" in sent[0].body


def test_a_late_payment_whose_seats_were_taken_is_refunded_and_the_buyer_told_once(
    sim, showtime, emails_sent
):
    order = start_payment(showtime)
    booking.order_expire(order_id=order.pk, actor=Actor("test"), now=order.expires_at + timedelta(seconds=1))
    booking.seat_hold(showtime_id=showtime.pk, codes=["A2"], owner_token="bob", actor=Actor("bob"))
    sim.complete(session_of(order), "paid")
    with emails_sent() as sent:
        responses = deliver(sim, "checkout.session.completed")
        deliver(sim)
    assert [r.content for r in responses] == [b"refunded: seats lost"]
    assert len(sent) == 1
    (message,) = sent
    assert message.subject == f"Your payment was refunded ({order.reference})"
    assert "Seats A2 were taken by someone else before your payment arrived." in message.body
    assert "No tickets were issued for this payment." in message.body
    assert "€20.00 goes back in full to the card you paid with" in message.body


def test_a_payment_page_left_to_lapse_tells_the_buyer_once(sim, showtime, emails_sent):
    from booking.tasks import expire_due_order

    order = start_payment(showtime)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with emails_sent() as sent:
        expire_due_order(order_id=order.pk, actor=Actor.system("test"))
        deliver(sim)  # checkout.session.expired, from closing the payment page first
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert sim.state.sessions[session_of(order)]["status"] == "expired"
    assert [m.subject for m in sent] == [
        f"Your payment did not complete; your seats were released ({order.reference})"
    ]
    assert "You have not been charged." in sent[0].body
