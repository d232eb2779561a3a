"""GET /metrics answers only its scrapers; holds, refusals and expiries move the right series."""

from datetime import timedelta

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from booking.models import Order
from booking.services import Actor, order_expire, seat_hold

OTHER_ADDRESS = "203.0.113.7"
TOKEN = "s3cret-scraper-token"


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "::1"]
    settings.METRICS_TOKEN = ""
    settings.TRUSTED_PROXY_COUNT = 0
    return settings


def test_metrics_from_localhost_serve_the_prometheus_text_format(client, metrics_settings, db):
    response = client.get("/metrics")
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")  # Prometheus text format
    assert "no-cache" in response["Cache-Control"]
    for series in (
        'seatlock_holds_total{outcome="ok"}',
        'seatlock_holds_total{outcome="unavailable"}',
        'seatlock_releases_total{outcome="not_yours"}',
        "seatlock_hold_duration_seconds_bucket",
        "# TYPE seatlock_expiry_lateness_seconds histogram",
        'seatlock_webhooks_total{outcome="bad_signature"}',
        "django_http_requests_total_by_method_total",
        "django_db_execute_total",
    ):
        assert series in body, series


def test_metrics_from_another_address_are_404(metrics_settings, db):
    response = Client(REMOTE_ADDR=OTHER_ADDRESS).get("/metrics")
    assert response.status_code == 404
    assert b"seatlock_" not in response.content  # no metric leaks (the branded 404 page says SeatLock)


def test_metrics_from_ipv6_loopback_are_served(metrics_settings, db):
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::ffff:127.0.0.1").get("/metrics").status_code == 200


def test_metrics_from_an_allowed_network_are_served(metrics_settings, db):
    metrics_settings.METRICS_ALLOWED_IPS = ["10.20.0.0/16"]
    assert Client(REMOTE_ADDR="10.20.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.21.3.4").get("/metrics").status_code == 404
    assert Client().get("/metrics").status_code == 404  # loopback is no longer in the list


def test_behind_a_proxy_the_forwarded_client_counts_not_the_proxy(metrics_settings, db):
    metrics_settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    assert proxy.get("/metrics", headers={"X-Forwarded-For": OTHER_ADDRESS}).status_code == 404
    assert proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_the_bearer_token_opens_metrics_from_anywhere(metrics_settings, db):
    metrics_settings.METRICS_TOKEN = TOKEN
    outsider = Client(REMOTE_ADDR=OTHER_ADDRESS)
    assert outsider.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert outsider.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert outsider.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 404
    assert outsider.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 404
    assert outsider.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 404


def test_no_token_configured_means_no_token_opens_metrics(metrics_settings, db):
    outsider = Client(REMOTE_ADDR=OTHER_ADDRESS)
    assert outsider.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert outsider.get("/metrics", headers={"Authorization": "Bearer"}).status_code == 404


def test_metrics_refuse_other_methods(client, metrics_settings, db):
    assert client.post("/metrics").status_code == 405


def test_a_hold_counts_ok_once_and_times_it(client, showtime):
    ok, refused = (
        sample("seatlock_holds_total", outcome="ok"),
        sample("seatlock_holds_total", outcome="unavailable"),
    )
    timed = sample("seatlock_hold_duration_seconds_count")
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1", "A2"]}).status_code == 302
    assert sample("seatlock_holds_total", outcome="ok") == ok + 1
    assert sample("seatlock_holds_total", outcome="unavailable") == refused
    assert sample("seatlock_hold_duration_seconds_count") == timed + 1


def test_a_409_counts_its_reason_once_and_nothing_else(client, showtime, buyer, caplog):
    seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token=buyer()[0], actor=Actor("test"))
    before = {o: sample("seatlock_holds_total", outcome=o) for o in ("ok", "unavailable", "busy", "invalid")}
    timed = sample("seatlock_hold_duration_seconds_count")
    response = client.post(
        f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    after = {o: sample("seatlock_holds_total", outcome=o) for o in before}
    assert after == {**before, "unavailable": before["unavailable"] + 1}
    assert sample("seatlock_hold_duration_seconds_count") == timed + 1
    # Counted, not logged: Django's "Conflict: /showtimes/…/hold/" warning is dropped.
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == []


def test_a_bad_request_is_still_logged(client, showtime, caplog):
    response = client.post(
        f"/showtimes/{showtime.pk}/hold/", {"seat": ["Z99"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    logged = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert logged == [f"Bad Request: /showtimes/{showtime.pk}/hold/"]


def test_a_bad_seat_code_counts_as_invalid(client, showtime):
    invalid = sample("seatlock_holds_total", outcome="invalid")
    response = client.post(
        f"/showtimes/{showtime.pk}/hold/", {"seat": ["Z99"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert sample("seatlock_holds_total", outcome="invalid") == invalid + 1


def test_releases_count_ok_and_not_yours(client, showtime, buyer):
    seat_hold(showtime_id=showtime.pk, codes=["A4"], owner_token=buyer()[0], actor=Actor("test"))
    ok, not_yours = (sample("seatlock_releases_total", outcome=o) for o in ("ok", "not_yours"))
    htmx = {"HX-Request": "true"}
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"]}, headers=htmx)
    assert (
        client.post(f"/showtimes/{showtime.pk}/release/", {"seat": ["A1"]}, headers=htmx).status_code == 200
    )
    assert (
        client.post(f"/showtimes/{showtime.pk}/release/", {"seat": ["A4"]}, headers=htmx).status_code == 403
    )
    assert sample("seatlock_releases_total", outcome="ok") == ok + 1
    assert sample("seatlock_releases_total", outcome="not_yours") == not_yours + 1


def test_an_expiry_observes_how_late_it_ran(showtime, buyer):
    order = seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token=buyer()[0], actor=Actor("test"))
    count, total = (
        sample("seatlock_expiry_lateness_seconds_count"),
        sample("seatlock_expiry_lateness_seconds_sum"),
    )
    within_ten = sample("seatlock_expiry_lateness_seconds_bucket", le="10.0")
    within_five = sample("seatlock_expiry_lateness_seconds_bucket", le="5.0")
    released = order_expire(
        order_id=order.pk, actor=Actor("test"), now=order.expires_at + timedelta(seconds=7)
    )
    assert released == ["B1"]
    assert Order.objects.get(pk=order.pk).status == "expired"
    assert sample("seatlock_expiry_lateness_seconds_count") == count + 1
    assert sample("seatlock_expiry_lateness_seconds_sum") == total + 7.0
    assert sample("seatlock_expiry_lateness_seconds_bucket", le="10.0") == within_ten + 1
    assert sample("seatlock_expiry_lateness_seconds_bucket", le="5.0") == within_five


def test_an_expiry_not_yet_due_observes_nothing(showtime, buyer):
    order = seat_hold(showtime_id=showtime.pk, codes=["B2"], owner_token=buyer()[0], actor=Actor("test"))
    count = sample("seatlock_expiry_lateness_seconds_count")
    assert order_expire(order_id=order.pk, actor=Actor("test")) is None
    assert sample("seatlock_expiry_lateness_seconds_count") == count
