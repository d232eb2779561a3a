"""Money that cannot race: real threads, the simulator, the real stripe SDK, real PostgreSQL.

The invariant checked everywhere, from Stripe's side (the simulator's charges and refunds):
for every order, money captured minus money refunded equals the order total when it is
paid, and zero otherwise.
"""

import re
import threading
import time
from functools import partial

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.utils import timezone

from booking.models import Order, OrderStatus, SeatStatus, ShowSeat, Showtime
from checkout import stripe_api
from checkout.models import Payment, StripeEvent
from tests.checkout.conftest import events_of, post_event, session_of
from tests.fixtures import grid_layout

PAY_URL = re.compile(r"/pay/(cs_\w+)")


def money_kept(sim, order: Order) -> int:
    """What Stripe holds for this order now: captured minus refunded over all its sessions."""
    kept = 0
    for session in sim.state.sessions.values():
        if session["metadata"].get("order_reference") != order.reference or not session.get("payment_intent"):
            continue
        intent = sim.state.payment_intents[session["payment_intent"]]
        if intent.get("latest_charge"):
            charge = sim.state.charges[intent["latest_charge"]]
            kept += charge["amount"] - charge["amount_refunded"]
    return kept


def assert_money_invariant(sim, order: Order) -> None:
    order.refresh_from_db()
    expected = order.total if order.status == OrderStatus.PAID else 0
    assert money_kept(sim, order) == expected, (order.reference, order.status, order.total)
    # SeatLock's own books agree with Stripe's.
    ours = sum(p.amount_captured - p.amount_refunded for p in Payment.objects.filter(order=order))
    assert ours == expected, (order.reference, order.status)


def deliver_new(sim) -> list:
    client = Client()
    done = set(StripeEvent.objects.filter(processed_at__isnull=False).values_list("event_id", flat=True))
    return [post_event(client, e) for e in events_of(sim) if e["id"] not in done]


def clone(client: Client) -> Client:
    """A second tab of the same browser: the same session cookie."""
    other = Client()
    other.cookies = client.cookies
    return other


def at_once(*calls):
    """Run the calls in real threads released together; returns their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # reported by the assertions of the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Every buyer here comes from 127.0.0.1: start each test with the per-IP counters at zero."""
    cache.clear()


@pytest.fixture
def big_showtime(make_showtime):
    return make_showtime(grid_layout("ABCDE", 10))


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_checkouts_of_one_basket_charge_once(sim, big_showtime):
    for n in range(20):
        row, seat = "ABCDE"[n // 5], 2 * (n % 5) + 1
        buyer = Client()
        codes = sorted([f"{row}{seat}", f"{row}{seat + 1}"])
        assert buyer.post(f"/showtimes/{big_showtime.pk}/hold/", {"seat": codes}).status_code == 302
        path = f"/showtimes/{big_showtime.pk}/checkout/"
        first, second = at_once(
            partial(buyer.post, path, {"email": "ann@example.com"}),
            partial(clone(buyer).post, path, {"email": "bob@example.com"}),
        )
        urls = {r["Location"] for r in (first, second) if r.status_code == 302 and "/pay/" in r["Location"]}
        assert len(urls) == 1, (n, [getattr(r, "status_code", r) for r in (first, second)])
        for url in urls:  # pay every hosted page that was returned
            sim.complete(PAY_URL.search(url).group(1), "paid")
        deliver_new(sim)
        order = Order.objects.get(showtime=big_showtime, seat_codes=codes)
        assert order.status == OrderStatus.PAID, n
        assert sorted(order.tickets.filter(status="valid").values_list("seat_code", flat=True)) == codes
        assert order.email == "ann@example.com" or order.email == "bob@example.com"
        assert_money_invariant(sim, order)


@pytest.mark.django_db(transaction=True)
def test_checkout_racing_a_hold_sells_exactly_the_seats_paid_for(sim, big_showtime):
    outcomes = set()
    for n in range(20):
        row, seat = "ABCDE"[n // 5], 2 * (n % 5) + 1
        buyer = Client()
        assert (
            buyer.post(f"/showtimes/{big_showtime.pk}/hold/", {"seat": [f"{row}{seat}"]}).status_code == 302
        )
        second_seat = {"seat": [f"{row}{seat + 1}"]}
        checkout, _hold = at_once(
            partial(buyer.post, f"/showtimes/{big_showtime.pk}/checkout/", {"email": "ann@example.com"}),
            partial(clone(buyer).post, f"/showtimes/{big_showtime.pk}/hold/", second_seat),
        )
        assert checkout.status_code == 302 and "/pay/" in checkout["Location"], n
        sim.complete(PAY_URL.search(checkout["Location"]).group(1), "paid")
        deliver_new(sim)
        order = Order.objects.get(showtime=big_showtime, owner_token=buyer.session["owner_token"])
        assert order.status == OrderStatus.PAID, n
        sold = sorted(order.tickets.filter(status="valid").values_list("seat_code", flat=True))
        session = sim.state.sessions[session_of(order)]
        assert sum(t.price for t in order.tickets.filter(status="valid")) == session["amount_total"]
        assert sold == sorted(order.seat_codes)
        # Whoever won, no seat is held or sold that nobody paid for.
        assert set(
            ShowSeat.objects.filter(showtime=big_showtime, code__in=[f"{row}{seat}", f"{row}{seat + 1}"])
            .exclude(status=SeatStatus.AVAILABLE)
            .values_list("code", flat=True)
        ) == set(sold)
        outcomes.add(len(sold))
        assert_money_invariant(sim, order)
    assert outcomes <= {1, 2}


def _paid_order(sim, showtime, seats=("A1", "A2")) -> Order:
    buyer = Client()
    assert buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": list(seats)}).status_code == 302
    response = buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    sim.complete(PAY_URL.search(response["Location"]).group(1), "paid")
    deliver_new(sim)
    order = Order.objects.get(showtime=showtime, seat_codes=list(seats))
    assert order.status == OrderStatus.PAID
    return order


def _second_session(order: Order, *, amount: int | None = None):
    """A second Checkout Session for the same basket made behind SeatLock's back (another
    integration, a replayed request): the money it takes must not be kept."""
    return stripe_api.client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": order.currency,
                        "unit_amount": amount if amount is not None else order.total,
                        "product_data": {"name": "second"},
                    },
                    "quantity": 1,
                }
            ],
            "client_reference_id": order.reference,
            "metadata": {"order_reference": order.reference, "basket_version": str(order.basket_version)},
            "success_url": "http://testserver/",
        }
    )


def test_a_second_payment_of_a_paid_order_is_refunded_and_the_buyer_told(
    sim, showtime, monkeypatch, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)  # the email task runs inline
    order = _paid_order(sim, showtime)
    mail.outbox.clear()
    session = _second_session(order)
    sim.complete(session.id, "paid")
    with django_capture_on_commit_callbacks(execute=True):
        responses = deliver_new(sim)
    assert [r.content for r in responses if r.content.startswith(b"refunded")] == [b"refunded: duplicate"]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # the tickets stand
    assert order.tickets.filter(status="valid").count() == 2
    assert_money_invariant(sim, order)
    assert [m.subject for m in mail.outbox] == [f"A second payment was refunded ({order.reference})"]


def test_an_amount_that_does_not_match_is_refunded_and_sells_nothing(sim, showtime):
    buyer = Client()
    buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1", "A2"]})
    order = Order.objects.get(showtime=showtime)
    session = _second_session(order, amount=100)  # one euro for two seats
    sim.complete(session.id, "paid")
    responses = deliver_new(sim)
    assert b"refunded: amount mismatch" in [r.content for r in responses]
    order.refresh_from_db()
    assert order.status == OrderStatus.HOLDING
    assert not order.tickets.exists()
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.SOLD).count() == 0
    assert_money_invariant(sim, order)
    assert order.ledger.filter(action="payment.refund", reason__contains="did not match").count() == 1


def test_a_signed_refund_event_that_stripe_never_issued_changes_nothing(sim, showtime):
    order = _paid_order(sim, showtime)
    intent = Payment.objects.get(order=order).payment_intent
    forged = {
        "id": "evt_forged_refund",
        "object": "event",
        "type": "charge.refunded",
        "livemode": False,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "ch_forged",
                "object": "charge",
                "payment_intent": intent,
                "refunded": True,
                "amount_refunded": order.total,
            }
        },
    }
    response = post_event(Client(), forged)
    assert response.status_code == 200 and response.content == b"nothing new refunded"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.tickets.filter(status="valid").count() == 2
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.SOLD
    assert_money_invariant(sim, order)


def test_a_refund_made_at_stripe_is_reflected(sim, showtime):
    order = _paid_order(sim, showtime)
    intent = Payment.objects.get(order=order).payment_intent
    stripe_api.client().v1.refunds.create(params={"payment_intent": intent})  # the dashboard's refund
    responses = deliver_new(sim)
    assert b"marked refunded" in [r.content for r in responses]
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert not order.tickets.filter(status="valid").exists()
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.AVAILABLE
    assert_money_invariant(sim, order)


def test_a_signed_event_for_an_unknown_session_answers_200(sim, db):
    event = {
        "id": "evt_foreign",
        "object": "event",
        "type": "checkout.session.completed",
        "livemode": False,
        "created": int(time.time()),
        "data": {"object": {"id": "cs_from_another_integration", "object": "checkout.session"}},
    }
    response = post_event(Client(), event)
    assert response.status_code == 200 and response.content == b"ignored: unknown object"
    assert StripeEvent.objects.get(event_id="evt_foreign").processed_at is not None


def test_an_event_of_the_other_mode_is_ignored(sim, showtime):
    event = {
        "id": "evt_live",
        "object": "event",
        "type": "checkout.session.completed",
        "livemode": True,
        "created": int(time.time()),
        "data": {"object": {"id": "cs_live_1", "object": "checkout.session"}},
    }
    response = post_event(Client(), event)
    assert response.status_code == 200 and response.content == b"ignored: other mode"


def test_a_stripe_outage_answers_503_and_the_retry_confirms(sim, showtime):
    buyer = Client()
    buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]})
    response = buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    sim.complete(PAY_URL.search(response["Location"]).group(1), "paid")
    event = events_of(sim, "checkout.session.completed")[-1]
    sim.configure(api_outage=True)
    failed = post_event(Client(), event)
    assert failed.status_code == 503
    assert int(failed["Retry-After"]) > 0
    order = Order.objects.get(showtime=showtime)
    assert order.status == OrderStatus.PAYING
    assert StripeEvent.objects.get(event_id=event["id"]).processed_at is None
    sim.configure(api_outage=False)
    retried = post_event(Client(), event)  # Stripe's retry of the same event
    assert retried.status_code == 200 and retried.content == b"confirmed"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert_money_invariant(sim, order)


@pytest.mark.parametrize("skew", [-400, 400])
def test_a_signature_outside_the_tolerance_either_way_is_refused(sim, showtime, skew):
    event = {
        "id": f"evt_skew_{skew}",
        "object": "event",
        "type": "checkout.session.completed",
        "livemode": False,
        "created": int(time.time()),
        "data": {"object": {"id": "cs_x", "object": "checkout.session"}},
    }
    response = post_event(Client(), event, timestamp=int(time.time()) + skew)
    assert response.status_code == 400
    assert not StripeEvent.objects.filter(event_id=event["id"]).exists()


def test_checkout_after_online_sales_closed_is_refused(sim, showtime):
    buyer = Client()
    buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]})
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() + timezone.timedelta(minutes=5))
    response = buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    assert response.status_code == 302 and "/pay/" not in response["Location"]
    assert Order.objects.get(showtime=showtime).status == OrderStatus.HOLDING
    assert sim.state.sessions == {}


def test_a_payment_completing_after_the_showtime_started_is_refunded(sim, showtime):
    buyer = Client()
    buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]})
    response = buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() - timezone.timedelta(minutes=1))
    sim.complete(PAY_URL.search(response["Location"]).group(1), "paid")
    responses = deliver_new(sim)
    assert b"refunded: too late" in [r.content for r in responses]
    order = Order.objects.get(showtime=showtime)
    assert order.status == OrderStatus.REFUNDED
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.AVAILABLE
    assert_money_invariant(sim, order)


def test_checkout_when_stripe_is_down_thaws_the_basket_and_says_why(sim, showtime):
    buyer = Client()
    buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]})
    sim.configure(api_outage=True)
    response = buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"}, follow=True)
    assert "Payment is unavailable right now; your seats stay held." in response.content.decode()
    order = Order.objects.get(showtime=showtime)
    assert order.status == OrderStatus.HOLDING
    assert order.basket_version == 2  # the frozen version is never reused for the next attempt
    sim.configure(api_outage=False)
    again = buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    assert "/pay/" in again["Location"]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAYING
