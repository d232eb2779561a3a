"""A booking end to end: seats, Stripe's hosted page (the simulator), webhook, tickets, email."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from booking.models import Order, OrderStatus
from checkout.simulator import start_simulator
from tests.helpers import wait_until


@pytest.fixture
def stripe_sim(site, settings, monkeypatch):
    from huey.contrib.djhuey import HUEY

    sim = start_simulator(
        webhook_url=f"{site}/stripe/webhook/", webhook_secret="whsec_e2e", retry_base_seconds=0.5
    )
    settings.STRIPE_API_BASE = sim.url
    settings.STRIPE_SECRET_KEY = "sk_test_simulator"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_e2e"
    monkeypatch.setattr(HUEY, "immediate", True)  # the confirmation email is sent inline
    yield sim
    sim.stop()


def test_book_two_seats_and_get_tickets(site, stripe_sim, new_page, showtime):
    page = new_page()
    page.goto(f"{site}/showtimes/{showtime.pk}/")
    page.wait_for_function("window.htmx !== undefined")
    page.locator('[data-seat="A1"]').click()
    expect(page.locator('[data-seat="A1"]')).to_have_attribute("data-state", "mine")
    page.locator('[data-seat="A2"]').click()
    expect(page.locator("[data-basket-total]")).to_have_text("€20.00")
    page.get_by_label("Email for your tickets").fill("ann@example.com")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", name="Pay SeatLock")).to_be_visible()
    expect(page.get_by_text("Total: 20.00 EUR")).to_be_visible()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.locator("[data-order-status=paid]")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-ticket]")).to_have_count(2)
    expect(page.locator("[data-ticket] svg")).to_have_count(2)  # a QR code per ticket
    order = Order.objects.get(showtime=showtime)
    assert order.status == OrderStatus.PAID
    assert page.locator("[data-reference]").inner_text() == order.reference
    # The email follows the payment's commit (here inline, in the webhook's request, which is
    # still drawing the tickets' PDF when the page may already show the order paid).
    wait_until(lambda: mail.outbox, 15)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ann@example.com"]
    assert order.reference in mail.outbox[0].subject


def test_cancel_on_the_payment_page_keeps_the_hold(site, stripe_sim, new_page, showtime):
    page = new_page()
    page.goto(f"{site}/showtimes/{showtime.pk}/")
    page.wait_for_function("window.htmx !== undefined")
    page.locator('[data-seat="B3"]').click()
    expect(page.locator('[data-seat="B3"]')).to_have_attribute("data-state", "mine")
    page.get_by_label("Email for your tickets").fill("ann@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Payment cancelled. Your seats are still held for you.")).to_be_visible()
    expect(page.locator('[data-seat="B3"]')).to_have_attribute("data-state", "mine")


def test_hold_running_out_on_the_payment_page_leads_back_to_the_showtime(
    site, stripe_sim, new_page, showtime
):
    from datetime import timedelta

    from django.utils import timezone

    from booking.services import Actor
    from booking.tasks import expire_due_order

    page = new_page()
    page.goto(f"{site}/showtimes/{showtime.pk}/")
    page.wait_for_function("window.htmx !== undefined")
    page.locator('[data-seat="B4"]').click()
    expect(page.locator('[data-seat="B4"]')).to_have_attribute("data-state", "mine")
    page.get_by_label("Email for your tickets").fill("ann@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Pay SeatLock")).to_be_visible()

    order = Order.objects.get(showtime=showtime)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_due_order(order_id=order.pk, actor=Actor.system("e2e"))  # what the worker does
    page.reload()
    expect(page.get_by_text("This checkout session has expired.")).to_be_visible()
    page.get_by_role("link", name="Back to the shop").click()
    expect(page.get_by_text("Your time to pay ran out while you were on the payment page")).to_be_visible()
    assert page.url == f"{site}/showtimes/{showtime.pk}/"
    expect(page.locator('[data-seat="B4"]')).to_have_attribute("data-state", "available")
