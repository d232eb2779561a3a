"""A buyer whose hold ran out on the payment page always has a way back (issue 15, item 5):
the Checkout Session's cancel_url, the return page and the simulator's expired page."""

import urllib.request
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from booking.links import booking_token
from booking.models import Order, OrderStatus, Showtime
from booking.services import Actor
from booking.tasks import expire_due_order
from tests.checkout.conftest import session_of
from tests.checkout.test_payment import deliver_all, start_payment


@pytest.fixture
def buyer_client():
    return Client()


def lapse(order: Order) -> None:
    """The hold runs out while the buyer looks at the payment page; the expiry task runs."""
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_due_order(order_id=order.pk, actor=Actor.system("test"))
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED


def link(order: Order, page: str) -> str:
    return f"/bookings/{order.reference}/{page}/?t={booking_token(order.reference)}"


def test_cancel_url_after_the_hold_ran_out_leads_to_the_showtime(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    lapse(order)
    response = buyer_client.get(link(order, "cancel"))
    assert response.status_code == 302 and response["Location"] == showtime.get_absolute_url()
    page = buyer_client.get(response["Location"]).content.decode()
    assert "Your time to pay ran out while you were on the payment page" in page
    assert "Payment cancelled. Your seats are still held" not in page


def test_cancel_url_of_a_lapsed_order_the_expiry_has_not_reached_yet(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = buyer_client.get(link(order, "cancel"))
    assert response["Location"] == showtime.get_absolute_url()
    assert "Your time to pay ran out" in buyer_client.get(response["Location"]).content.decode()
    assert sim.state.sessions[session_of(order)]["status"] == "expired"  # nothing payable is left


def test_cancel_url_after_sales_closed_leads_home(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    lapse(order)
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() + timedelta(minutes=5))
    response = buyer_client.get(link(order, "cancel"))
    assert response.status_code == 302 and response["Location"] == "/"
    home = buyer_client.get("/").content.decode()
    assert "Your time to pay ran out" in home and "Online sales for this showtime have closed." in home


def test_cancel_url_of_a_paid_order_leads_to_the_tickets(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    sim.complete(session_of(order), "paid")
    waiting = buyer_client.get(link(order, "cancel"))  # paid, the webhook not here yet
    assert waiting["Location"] == link(order, "return")
    deliver_all(sim, "checkout.session.completed")
    response = buyer_client.get(link(order, "cancel"))
    assert response["Location"].startswith(f"/bookings/{order.reference}/?t=")


def test_return_page_of_an_expired_order_links_back_to_the_showtime(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    lapse(order)
    page = buyer_client.get(link(order, "return")).content.decode()
    assert "This booking was not completed" in page
    assert f'href="{showtime.get_absolute_url()}" data-back-to-showtime>Choose seats again</a>' in page
    Showtime.objects.filter(pk=showtime.pk).update(starts_at=timezone.now() + timedelta(minutes=5))
    closed = buyer_client.get(link(order, "return")).content.decode()
    assert 'href="/" data-back-home>See what else is showing</a>' in closed


def test_return_page_without_javascript_says_reload(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    page = buyer_client.get(link(order, "return")).content.decode()
    assert "updates by itself" not in page
    noscript = page[page.index("<noscript>") : page.index("</noscript>")]
    assert "Reload this page in a moment to see your tickets." in noscript
    assert f'href="{link(order, "return")}"' in noscript.replace("&amp;", "&")
    assert 'hx-trigger="load, every 2s"' in page  # with htmx, the first poll comes at once
    polled = buyer_client.get(link(order, "return"), headers={"HX-Request": "true"}).content.decode()
    assert "this page updates by itself" in polled and "<noscript>" not in polled
    assert 'hx-trigger="every 2s"' in polled


def test_simulator_expired_page_links_to_the_cancel_url(sim, buyer_client, showtime):
    order = start_payment(buyer_client, showtime)
    lapse(order)
    url = f"{sim.url}/pay/{session_of(order)}"
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the local simulator)
        page = response.read().decode()
    assert "This checkout session has expired." in page
    assert f'<a class="back" href="http://testserver{link(order, "cancel").replace("&", "&amp;")}">' in page
