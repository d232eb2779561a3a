"""Payment through the simulator with the real stripe SDK: webhooks late, twice, out of order."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections
from django.test import Client
from django.utils import timezone

from booking import services as booking
from booking.exceptions import OrderAtPayment
from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat, Ticket
from booking.services import Actor
from checkout import services as checkout
from checkout.models import Payment, StripeEvent
from checkout.simulator.server import StripeError as SimulatorError
from tests.checkout.conftest import events_of, post_event, session_of
from tests.helpers import db_state, wait_until


@pytest.fixture
def buyer_client():
    return Client()


def start_payment(client: Client, showtime, seats=("A1", "A2"), email="ann@example.com") -> Order:
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": list(seats)}).status_code == 302
    response = client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": email})
    assert response.status_code == 302, response.content
    order = Order.objects.get(showtime=showtime, status=OrderStatus.PAYING)
    assert response["Location"] == f"{settings.STRIPE_API_BASE}/pay/{session_of(order)}"
    return order


def deliver_all(sim, *types):
    client = Client()
    return [post_event(client, event) for event in events_of(sim, *types)]


def seat(showtime, code):
    return ShowSeat.objects.get(showtime=showtime, code=code)


def test_checkout_creates_a_stripe_session_with_the_order(sim, buyer_client, medium_showtime):
    order = start_payment(buyer_client, medium_showtime, seats=("A3", "G2"))
    session = checkout.stripe_api.client().v1.checkout.sessions.retrieve(session_of(order))
    assert session.client_reference_id == order.reference
    assert session.metadata["order_reference"] == order.reference
    assert session.amount_total == 1150 + 1550
    assert session.currency == "eur"
    assert session.customer_email == "ann@example.com"
    assert session.expires_at >= time.time() + 30 * 60
    assert order.email == "ann@example.com"
    assert seat(medium_showtime, "A3").status == SeatStatus.HELD


def test_checkout_twice_reuses_the_open_session(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    again = buyer_client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    assert f"/pay/{session_of(order)}" in again["Location"]
    assert len(sim.state.sessions) == 1


def test_checkout_needs_a_valid_email_and_a_hold(sim, buyer_client, showtime):
    response = buyer_client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    assert response.status_code == 302 and response["Location"] == showtime.get_absolute_url()
    buyer_client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]})
    response = buyer_client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "not-an-email"})
    assert response["Location"] == showtime.get_absolute_url()
    assert not sim.state.sessions


def test_htmx_checkout_answers_with_hx_redirect(sim, showtime):
    client = Client(headers={"HX-Request": "true"})
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]})
    response = client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    assert response.status_code == 200
    assert "/pay/cs_test_" in response["HX-Redirect"]


def test_paid_webhook_confirms_issues_tickets_and_emails(
    sim, buyer_client, showtime, monkeypatch, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)  # the email task runs inline (it is not scheduled)
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    with django_capture_on_commit_callbacks(execute=True):
        responses = deliver_all(sim, "checkout.session.completed")
    assert [r.status_code for r in responses] == [200]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(order=order).payment_intent.startswith("pi_")
    assert sorted(order.tickets.values_list("seat_code", flat=True)) == ["A1", "A2"]
    assert seat(showtime, "A1").status == SeatStatus.SOLD
    assert len(mail.outbox) == 1
    assert order.reference in mail.outbox[0].subject
    assert "/bookings/" + order.reference in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_return_page_waits_for_the_webhook(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    from booking.links import booking_token

    url = f"/bookings/{order.reference}/return/?t={booking_token(order.reference)}"
    sim.complete(session_of(order), "paid")
    page = buyer_client.get(url)
    assert page.status_code == 200 and "Confirming your payment" in page.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYING  # visiting the return page confirmed nothing
    deliver_all(sim, "checkout.session.completed")
    after = buyer_client.get(url, headers={"HX-Request": "true"})
    assert after["HX-Redirect"].startswith(f"/bookings/{order.reference}/?t=")
    assert buyer_client.get(url + "x").status_code == 404  # a tampered link opens nothing


@pytest.mark.parametrize(
    "case",
    ["missing", "wrong secret", "too old", "tampered body", "not json"],
)
def test_bad_signatures_are_400_and_change_nothing(sim, buyer_client, showtime, case):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    event = events_of(sim, "checkout.session.completed")[0]
    client = Client()
    before = db_state()
    if case == "missing":
        response = client.post("/stripe/webhook/", data=event, content_type="application/json")
    elif case == "wrong secret":
        response = post_event(client, event, secret="whsec_wrong")
    elif case == "too old":
        response = post_event(client, event, timestamp=int(time.time()) - 3600)
    elif case == "tampered body":
        import json

        from checkout.simulator import sign

        signature = sign(json.dumps(event).encode(), "whsec_test_secret")
        event["data"]["object"]["payment_status"] = "paid"
        response = client.post(
            "/stripe/webhook/",
            data=json.dumps(event) + " ",
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
    else:
        from checkout.simulator import sign

        response = client.post(
            "/stripe/webhook/",
            data=b"{not json",
            content_type="application/json",
            headers={"Stripe-Signature": sign(b"{not json", "whsec_test_secret")},
        )
    assert response.status_code == 400
    assert db_state() == before
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYING
    assert not StripeEvent.objects.exists()


def test_oversized_webhook_is_refused(sim, db):
    response = Client().post("/stripe/webhook/", data="x" * 70_000, content_type="application/json")
    assert response.status_code == 413


def test_duplicate_delivery_is_recorded_once_and_does_nothing(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    event = events_of(sim, "checkout.session.completed")[0]
    first, second = post_event(Client(), event), post_event(Client(), event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content == b"duplicate"
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert Ticket.objects.filter(order=order).count() == 2
    assert LedgerEntry.objects.filter(order=order, action="order.paid").count() == 1


def test_same_payment_as_two_event_ids_confirms_once(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    event = events_of(sim, "checkout.session.completed")[0]
    twin = {**event, "id": event["id"] + "twin"}
    assert post_event(Client(), event).status_code == 200
    assert post_event(Client(), twin).content == b"already paid"
    assert Ticket.objects.filter(order=order).count() == 2


def test_expired_event_before_completed_still_confirms(sim, buyer_client, showtime):
    """Out of order: a stale 'expired' then 'completed'. The re-read session decides."""
    order = start_payment(buyer_client, showtime)
    stale_expired = {
        "id": "evt_stale_expired",
        "object": "event",
        "type": "checkout.session.expired",
        "created": int(time.time()),
        "data": {"object": {"id": session_of(order), "object": "checkout.session", "status": "expired"}},
    }
    sim.complete(session_of(order), "paid")
    assert post_event(Client(), stale_expired).status_code == 200
    deliver_all(sim, "checkout.session.completed")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_expired_after_completed_never_releases_sold_seats(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    deliver_all(sim, "checkout.session.completed")
    late = {
        "id": "evt_late_expired",
        "object": "event",
        "type": "checkout.session.expired",
        "created": int(time.time()),
        "data": {"object": {"id": session_of(order), "object": "checkout.session"}},
    }
    assert post_event(Client(), late).status_code == 200
    assert seat(showtime, "A1").status == SeatStatus.SOLD


def test_async_success_arriving_before_completed(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "async_success")
    # the simulator settles the bank transfer a moment later
    assert wait_until(lambda: events_of(sim, "checkout.session.async_payment_succeeded"), 10)
    sim.release()
    events = events_of(sim, "checkout.session.completed", "checkout.session.async_payment_succeeded")
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ]
    for event in reversed(events):
        assert post_event(Client(), event).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_async_payment_waits_then_succeeds(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.configure(async_delay_seconds=30)
    sim.complete(session_of(order), "async_success")
    assert [r.content for r in deliver_all(sim, "checkout.session.completed")] == [b"awaiting payment"]
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    held = seat(showtime, "A1")
    assert held.status == SeatStatus.HELD and held.held_until > timezone.now() + timedelta(days=2)
    # the expiry sweep leaves a processing payment alone
    assert (
        booking.order_expire(order_id=order.pk, actor=Actor("test"), now=timezone.now() + timedelta(hours=1))
        is None
    )


def test_async_payment_failure_releases_the_seats(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "async_fail")
    assert wait_until(lambda: events_of(sim, "checkout.session.async_payment_failed"), 10)
    responses = deliver_all(sim, "checkout.session.completed", "checkout.session.async_payment_failed")
    assert [r.content for r in responses] == [b"payment failed", b"nothing to do"]
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert seat(showtime, "A1").status == SeatStatus.AVAILABLE
    assert not Ticket.objects.exists()


def test_late_payment_with_seats_still_free_is_confirmed(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    booking.order_expire(order_id=order.pk, actor=Actor("test"), now=order.expires_at + timedelta(seconds=1))
    assert seat(showtime, "A1").status == SeatStatus.AVAILABLE
    sim.complete(session_of(order), "paid")
    deliver_all(sim, "checkout.session.completed")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert seat(showtime, "A1").status == SeatStatus.SOLD and seat(showtime, "A1").order_id == order.pk


def test_late_payment_with_a_seat_taken_is_refunded(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    later = order.expires_at + timedelta(seconds=1)
    booking.order_expire(order_id=order.pk, actor=Actor("test"), now=later)
    taker = booking.seat_hold(showtime_id=showtime.pk, codes=["A2"], owner_token="bob", actor=Actor("bob"))
    sim.complete(session_of(order), "paid")
    responses = deliver_all(sim, "checkout.session.completed")
    assert responses[0].content == b"refunded: seats lost"
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert "A2" in order.status_reason
    refunds = sim.refunds()
    assert len(refunds) == 1 and refunds[0]["amount"] == 2000
    assert refunds[0]["payment_intent"] == sim.state.sessions[session_of(order)]["payment_intent"]
    assert seat(showtime, "A2").order_id == taker.pk
    assert seat(showtime, "A1").status == SeatStatus.AVAILABLE
    assert not Ticket.objects.filter(order=order, status="valid").exists()
    # Stripe's own refund events afterwards change nothing
    assert all(r.status_code == 200 for r in deliver_all(sim, "charge.refunded", "refund.created"))


def test_cancel_returns_to_the_map_with_the_hold_intact(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    from booking.links import booking_token

    response = buyer_client.get(f"/bookings/{order.reference}/cancel/?t={booking_token(order.reference)}")
    assert response.status_code == 302 and response["Location"] == showtime.get_absolute_url()
    order.refresh_from_db()
    assert order.status == OrderStatus.HOLDING
    assert sim.state.sessions[session_of(order)]["status"] == "expired"
    assert seat(showtime, "A1").status == SeatStatus.HELD
    # paying again makes a fresh session
    again = buyer_client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    order.refresh_from_db()
    assert session_of(order) in again["Location"] and len(sim.state.sessions) == 2


def test_expiry_task_expires_the_session_first(sim, buyer_client, showtime):
    from booking.tasks import expire_due_order

    order = start_payment(buyer_client, showtime)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_due_order(order_id=order.pk, actor=Actor.system("test"))
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert sim.state.sessions[session_of(order)]["status"] == "expired"


def test_expiry_leaves_a_completed_session_to_the_webhook(sim, buyer_client, showtime):
    from booking.tasks import expire_due_order

    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_due_order(order_id=order.pk, actor=Actor.system("test"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYING
    assert seat(showtime, "A1").status == SeatStatus.HELD
    deliver_all(sim, "checkout.session.completed")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.django_db(transaction=True)
def test_expiry_racing_a_completed_payment_never_loses_it(sim, showtime):
    """Many rounds: the expiry task and the paid webhook run at once; the money always ends
    as tickets (confirmed) or as a refund, never as neither."""
    from booking.tasks import expire_due_order

    for round_number in range(8):
        client = Client()
        order = start_payment(client, showtime, seats=(f"A{round_number % 4 + 1}",))
        sim.complete(session_of(order), "paid")
        event = events_of(sim, "checkout.session.completed")[-1]
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        barrier = threading.Barrier(2)

        def expire(order_id=order.pk, barrier=barrier):
            try:
                barrier.wait()
                expire_due_order(order_id=order_id, actor=Actor.system("race"))
            finally:
                connections.close_all()

        def webhook(event=event, barrier=barrier):
            try:
                barrier.wait()
                post_event(Client(), event)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=expire), threading.Thread(target=webhook)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        order.refresh_from_db()
        assert order.status in (OrderStatus.PAID, OrderStatus.REFUNDED), (round_number, order.status)
        if order.status == OrderStatus.PAID:
            assert order.tickets.filter(status="valid").count() == 1
        else:
            assert any(r["metadata"].get("order_reference") == order.reference for r in sim.refunds())
        # free the seat for the next round
        if order.status == OrderStatus.PAID:
            checkout.order_refund(order_id=order.pk, actor=Actor("test"), reason="next round")


def test_order_refund_for_a_box_office_cancellation(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    deliver_all(sim, "checkout.session.completed")
    refund_id = checkout.order_refund(order_id=order.pk, actor=Actor("staff:clara"), reason="customer asked")
    again = checkout.order_refund(order_id=order.pk, actor=Actor("staff:clara"), reason="customer asked")
    assert refund_id == again and refund_id.startswith("re_")
    assert len(sim.refunds()) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert seat(showtime, "A1").status == SeatStatus.AVAILABLE


def test_unknown_event_types_answer_200(sim, db):
    event = {
        "id": "evt_other",
        "object": "event",
        "type": "customer.created",
        "data": {"object": {"id": "cus_1"}},
    }
    response = post_event(Client(), event)
    assert response.status_code == 200 and response.content == b"ignored"


def test_a_lapsed_order_expired_inside_a_hold_closes_its_payment_page(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    session_id = session_of(order)
    later = order.expires_at + timedelta(seconds=1)
    token = order.owner_token
    new = booking.seat_hold(
        showtime_id=showtime.pk, codes=["B1"], owner_token=token, actor=Actor.session(token), now=later
    )
    assert new.pk != order.pk
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert sim.state.sessions[session_id]["status"] == "expired"
    assert Payment.objects.get(session_id=session_id).status == "expired"
    with pytest.raises(SimulatorError, match="This Checkout Session is expired"):
        sim.complete(session_id, "paid")  # the customer's payment page no longer takes money
    assert sim.refunds() == []


def test_a_hold_leaves_a_lapsed_order_alone_when_its_payment_completed(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")  # paid at Stripe; the webhook has not arrived yet
    later = order.expires_at + timedelta(seconds=1)
    token = order.owner_token
    with pytest.raises(OrderAtPayment):
        booking.seat_hold(
            showtime_id=showtime.pk, codes=["B1"], owner_token=token, actor=Actor.session(token), now=later
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYING
    assert seat(showtime, "A1").order_id == order.pk
    deliver_all(sim, "checkout.session.completed")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
