"""Hostile and broken input: always a 4xx with a message, never a 500, and nothing changes."""

import json

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from booking.models import LedgerEntry, Order, SeatStatus, ShowSeat
from checkout.models import StripeEvent
from halls.layout import LayoutError, parse_layout, validate_layout
from tests.helpers import db_state

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

seat_values = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[A-Z]{1,4}[0-9]{0,5}", fullmatch=True),
    st.sampled_from(
        ["A1'; DROP TABLE booking_showseat;--", "A0", "a1 ", "\x00", "A" * 10_000, "Z999", "A1\nA2"]
    ),
)


def untouched(showtime) -> bool:
    return (
        not Order.objects.exists()
        and not LedgerEntry.objects.exists()
        and set(ShowSeat.objects.filter(showtime=showtime).values_list("status", flat=True))
        == {SeatStatus.AVAILABLE}
    )


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.RATE_LIMITS = {scope: (0, 0, 60) for scope in settings.RATE_LIMITS}
    cache.clear()


@FUZZ
@given(
    seats=st.lists(seat_values, max_size=60), htmx=st.booleans(), action=st.sampled_from(["hold", "release"])
)
def test_malformed_seat_fields_are_4xx(showtime, seats, htmx, action):
    valid = {f"{r}{n}" for r in "AB" for n in range(1, 5)}
    # A well-formed hold of real seats is not this test's business (and would change state
    # that later examples check).
    assume(
        not (action == "hold" and seats and {s.strip().upper() for s in seats} <= valid and len(seats) <= 50)
    )
    client = Client(headers={"HX-Request": "true"} if htmx else {})
    response = client.post(f"/showtimes/{showtime.pk}/{action}/", {"seat": seats})
    assert 400 <= response.status_code < 500, (seats, response.status_code)
    assert untouched(showtime)


def test_huge_and_repeated_seat_fields(showtime):
    client = Client(headers={"HX-Request": "true"})
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"] * 900}).status_code == 400
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1"] * 5000}).status_code == 400
    assert client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": "A" * 3_000_000}).status_code == 400
    assert untouched(showtime)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
@pytest.mark.parametrize("action", ["hold", "release", "checkout"])
def test_wrong_methods_are_405(showtime, method, action):
    response = getattr(Client(), method)(f"/showtimes/{showtime.pk}/{action}/")
    assert response.status_code == 405
    assert untouched(showtime)


@pytest.mark.parametrize("action", ["hold", "release", "checkout"])
def test_missing_csrf_is_403(showtime, action):
    client = Client(enforce_csrf_checks=True, headers={"HX-Request": "true"})
    client.get(f"/showtimes/{showtime.pk}/")
    assert (
        client.post(f"/showtimes/{showtime.pk}/{action}/", {"seat": "A1", "email": "a@b.co"}).status_code
        == 403
    )
    assert untouched(showtime)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 400) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["rows", "zones", "label", "seats", "number", "col", "zone", "kind", "line", "screen", "x"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(layout=json_values)
def test_bad_layouts_give_messages_not_crashes(layout):
    messages = validate_layout(layout)
    assert all(isinstance(m, str) and m for m in messages)
    if messages:
        with pytest.raises(LayoutError):
            parse_layout(layout)
    else:
        parse_layout(layout)


@FUZZ
@given(body=st.binary(max_size=2000), signature=st.one_of(st.none(), st.text(max_size=120)))
def test_malformed_webhooks_are_400(db, body, signature):
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    before = db_state()
    response = Client().post("/stripe/webhook/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert db_state() == before
    assert not StripeEvent.objects.exists()


def test_well_signed_garbage_is_400(db, settings):
    from checkout.simulator import sign

    settings.STRIPE_WEBHOOK_SECRET = "whsec_fuzz"
    before = db_state()
    for body in (b"", b"[]", b"{", json.dumps({"type": 1}).encode(), b"\xff\xfe"):
        response = Client().post(
            "/stripe/webhook/",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": sign(body, "whsec_fuzz")},
        )
        assert 400 <= response.status_code < 500, body
    assert db_state() == before
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("reference", ["a%00b", "A" * 13, "AB%20CD", "%C3%A9t%C3%A9"])
@pytest.mark.parametrize(
    "path",
    [
        "/bookings/{}/?t=x",
        "/bookings/{}/tickets.pdf?t=x",
        "/bookings/{}/calendar.ics?t=x",
        "/bookings/{}/return/",
        "/bookings/{}/cancel/",
        "/box-office/bookings/{}/",
        "/box-office/bookings/{}/cancel/",
        "/box-office/bookings/{}/reseat/",
        "/box-office/orders/{}/tickets/",
        "/api/v1/orders/{}/",
    ],
)
def test_a_reference_that_cannot_be_one_is_a_404_everywhere(admin_client, path, reference):
    """A NUL byte reached the query of the pages that take a reference, and PostgreSQL refuses
    it there (a 500); now no such path even reaches a view."""
    assert admin_client.get(path.format(reference)).status_code == 404
