"""Abuse limits: 429 with Retry-After, configurable, and nothing changes."""

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from booking.models import Order, SeatStatus, ShowSeat
from booking.ratelimit import network_of
from tests.helpers import db_state


@pytest.fixture(autouse=True, params=["redis", "locmem"])
def fresh_counters(request, settings):
    """Every test here runs on both counters: Redis (one script call per request, shared by all
    web processes) and the per-process cache of development."""
    if request.param == "redis":
        location = request.getfixturevalue("redis_url")
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.SharedClientRedisCache",
                "LOCATION": location,
                "KEY_PREFIX": "limits-test",
            }
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield request.param
    cache.clear()


def hx(**extra) -> Client:
    return Client(headers={"HX-Request": "true"}, **extra)


def test_holds_per_session_are_limited(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (3, 0, 60)}
    client = hx()
    # The first hold gives the session its buyer token (a page view writes no session); from
    # then on the session's requests are counted.
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A1"}).status_code == 200
    codes = ["A2", "A3", "A4", "B1"]
    statuses = [client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": code}).status_code for code in codes]
    assert statuses == [200, 200, 200, 429]
    limited = client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "B1"})
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert ShowSeat.objects.get(showtime=showtime, code="B1").status == SeatStatus.AVAILABLE
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "B1"}).status_code == 200  # another buyer


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


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:a:b:1:2:3:4", "2001:db8:a:b::"),
        ("2001:DB8:A:B::FFFF", "2001:db8:a:b::"),
        ("2001:db8:a:c::1", "2001:db8:a:c::"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("fe80::1%eth0", "fe80::"),
        ("not-an-address", ""),
        ("", ""),
    ],
)
def test_per_ip_limits_count_ipv4_as_is_and_ipv6_by_its_64(address, network):
    assert network_of(address) == network


def test_holds_per_ip_count_a_whole_ipv6_64_together(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (0, 2, 60)}
    hold = f"/showtimes/{showtime.pk}/hold/"
    assert hx(REMOTE_ADDR="2001:db8:1:2::1").post(hold, {"seat": "A1"}).status_code == 200
    assert hx(REMOTE_ADDR="2001:db8:1:2:aaaa::2").post(hold, {"seat": "A2"}).status_code == 200
    assert hx(REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:ffff").post(hold, {"seat": "A3"}).status_code == 429
    assert hx(REMOTE_ADDR="2001:db8:1:3::1").post(hold, {"seat": "A3"}).status_code == 200


def test_ipv4_mapped_ipv6_shares_the_ipv4_addresses_limit(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (0, 1, 60)}
    hold = f"/showtimes/{showtime.pk}/hold/"
    assert hx(REMOTE_ADDR="198.51.100.4").post(hold, {"seat": "A1"}).status_code == 200
    assert hx(REMOTE_ADDR="::ffff:198.51.100.4").post(hold, {"seat": "A2"}).status_code == 429


def test_open_orders_per_ip_count_a_whole_ipv6_64_together(showtime, settings):
    settings.MAX_OPEN_ORDERS_PER_IP = 2
    hold = f"/showtimes/{showtime.pk}/hold/"
    for address, code in (("2001:db8:5:6::1", "A1"), ("2001:db8:5:6::2", "A2")):
        assert hx(REMOTE_ADDR=address).post(hold, {"seat": code}).status_code == 200
    assert sorted(Order.objects.values_list("client_ip", flat=True)) == ["2001:db8:5:6::", "2001:db8:5:6::"]
    response = hx(REMOTE_ADDR="2001:db8:5:6:7::3").post(hold, {"seat": "A3"})
    assert response.status_code == 429 and "Too many bookings" in response.content.decode()
    assert hx(REMOTE_ADDR="2001:db8:5:7::1").post(hold, {"seat": "A3"}).status_code == 200
    assert Order.objects.count() == 3


def test_too_many_orders_says_when_to_retry(showtime, settings):
    settings.MAX_OPEN_ORDERS_PER_IP = 1
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (0, 0, 45)}
    assert hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A1"}).status_code == 200
    with_js = hx().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A2"})
    without_js = Client().post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A2"})
    assert (with_js.status_code, with_js["Retry-After"]) == (429, "45")
    assert (without_js.status_code, without_js["Retry-After"]) == (429, "45")
    assert ShowSeat.objects.get(showtime=showtime, code="A2").status == SeatStatus.AVAILABLE


@pytest.mark.parametrize("fresh_counters", ["redis"], indirect=True)  # round trips: a Redis matter
def test_a_limited_hold_counts_both_limits_in_one_round_trip(showtime, settings, fresh_counters, monkeypatch):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (5, 5, 60)}
    client = hx()
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A1"}).status_code == 200
    sent = []
    original = redis.Redis.execute_command

    def counting(self, *args, **options):
        sent.append(args)
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A2"}).status_code == 200
    counting_calls = [args for args in sent if any(":rl:" in str(a) for a in args)]
    assert [args[0] for args in counting_calls] == ["EVALSHA"]
    assert len([a for a in counting_calls[0] if ":rl:" in str(a)]) == 2  # the address and the session


def test_a_request_refused_by_its_address_does_not_use_up_its_session(showtime, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "hold": (3, 2, 60)}
    client = hx()
    hold = f"/showtimes/{showtime.pk}/hold/"
    assert [client.post(hold, {"seat": c}).status_code for c in ("A1", "A2", "A3")] == [200, 200, 429]
    # The session was counted once (A1 gave it its buyer token, the refused A3 was not counted):
    # from another address it has two holds left, not one.
    client.defaults["REMOTE_ADDR"] = "10.7.7.7"
    assert [client.post(hold, {"seat": c}).status_code for c in ("A3", "A4", "B1")] == [200, 200, 429]
