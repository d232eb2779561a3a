"""Abuse limits: 429 with Retry-After, configurable, and nothing changes."""

import pytest
from django.core.cache import cache
from django.test import Client

from booking.models import Order, SeatStatus, ShowSeat
from tests.helpers import db_state


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def hx(**extra) -> Client:
    return Client(headers={"HX-Request": "true"}, **extra)


def test_holds_per_session_are_limited(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (3, 0, 60)}
    client = hx()
    client.get(f"/showtimes/{showtime.pk}/")  # the session gets its buyer token here
    codes = ["A1", "A2", "A3", "A4"]
    statuses = [client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": code}).status_code for code in codes]
    assert statuses == [200, 200, 200, 429]
    limited = client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A4"})
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert ShowSeat.objects.get(showtime=showtime, code="A4").status == SeatStatus.AVAILABLE
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A4"}).status_code == 200  # another buyer


def test_holds_per_ip_are_limited(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (0, 2, 60)}
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A1"}).status_code == 200
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A2"}).status_code == 200
    before = db_state()
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A3"}).status_code == 429
    assert db_state() == before
    other_ip = hx(REMOTE_ADDR="10.1.2.3")
    assert other_ip.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A3"}).status_code == 200


def test_checkout_is_limited(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": (0, 1, 60)}
    client = Client()
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A1"})
    client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "not-valid"})
    before = db_state()
    response = client.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "ann@example.com"})
    assert response.status_code == 429 and response.has_header("Retry-After")
    assert db_state() == before


def test_open_orders_per_ip_are_capped(showtime, settings):
    settings.MAX_OPEN_ORDERS_PER_IP = 2
    for code in ("A1", "A2"):
        assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": code}).status_code == 200
    response = hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A3"})
    assert response.status_code == 429
    assert "Too many bookings" in response.content.decode()
    assert Order.objects.count() == 2
    assert (
        hx(REMOTE_ADDR="10.9.9.9").post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A3"}).status_code == 200
    )


def test_forwarded_for_is_trusted_only_when_configured(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (0, 1, 60)}
    spoof = {"HTTP_X_FORWARDED_FOR": "1.1.1.1"}
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A1"}, **spoof).status_code == 200
    spoof = {"HTTP_X_FORWARDED_FOR": "2.2.2.2"}
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A2"}, **spoof).status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A2"}, **spoof).status_code == 200
