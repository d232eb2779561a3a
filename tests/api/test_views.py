"""Every row of the API's contract (DESIGN.md, issue 16) through the Django test client."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework_api_key.models import APIKey

from api.models import ApiOrder
from booking.links import booking_token
from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat, TicketStatus
from booking.services import Actor, booking_confirm, seat_block, seat_hold
from checkout.models import Payment
from tests.api.conftest import ApiClient
from tests.fixtures import grid_layout

SHOWTIMES = "/api/v1/showtimes/"

ORDERS = "/api/v1/orders/"


def seats_url(showtime) -> str:
    return f"/api/v1/showtimes/{showtime.pk}/seats/"


def status_of(showtime, code: str) -> str:
    return ShowSeat.objects.get(showtime=showtime, code=code).status


def hold(api, showtime, *codes: str):
    return api.post_json(ORDERS, {"showtime": showtime.pk, "seats": list(codes)})


# --- GET /api/v1/showtimes/ -------------------------------------------------------------------


def test_showtimes_lists_upcoming_with_availability_in_the_cinemas_time(anonymous, make_showtime, settings):
    settings.SALES_CLOSE_MINUTES = 15
    later = make_showtime(starts_in=timedelta(days=2))
    soon = make_showtime(starts_in=timedelta(minutes=5))
    make_showtime(starts_in=timedelta(minutes=-5))  # already started: not listed
    seat_hold(showtime_id=later.pk, codes=["A1", "A2"], owner_token="t" * 32, actor=Actor.session("t" * 32))

    response = anonymous.get("/api/v1/showtimes/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["count"] == 2
    assert [s["id"] for s in body["results"]] == [soon.pk, later.pk]
    first, second = body["results"]
    assert first["sales_open"] is False
    assert second == {
        "id": later.pk,
        "film": {"id": later.film.pk, "slug": later.film.slug, "title": later.film.title},
        "cinema": {"slug": "test-cinema", "name": "Test Cinema"},
        "hall": {"slug": later.hall.slug, "name": later.hall.name},
        "starts_at": timezone.localtime(later.starts_at, later.hall.cinema.tzinfo).isoformat(),
        "currency": "eur",
        "sales_open": True,
        "seats_available": 6,
    }
    assert second["starts_at"][-6] in "+-"  # an offset, not a naive time


def test_showtimes_filter_by_local_date_and_film(anonymous, make_showtime):
    first = make_showtime(starts_in=timedelta(days=1))
    second = make_showtime(starts_in=timedelta(days=3))
    day = timezone.localtime(second.starts_at, second.hall.cinema.tzinfo).date()

    by_date = anonymous.get("/api/v1/showtimes/", {"date": day.isoformat()}).json()
    by_slug = anonymous.get("/api/v1/showtimes/", {"film": first.film.slug}).json()
    by_id = anonymous.get("/api/v1/showtimes/", {"film": str(second.film.pk)}).json()

    assert [s["id"] for s in by_date["results"]] == [second.pk]
    assert [s["id"] for s in by_slug["results"]] == [first.pk]
    assert [s["id"] for s in by_id["results"]] == [second.pk]
    bad = anonymous.get("/api/v1/showtimes/", {"date": "tomorrow"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid"


@pytest.mark.parametrize(
    "query",
    [
        {"film": "²"},  # str.isdigit() says yes, int() says no
        {"film": "٣"},  # an Arabic-Indic 3: a decimal number, an id no film has
        {"film": "-1"},
        {"film": "abc"},
        {"film": "9" * 30},  # beyond bigint
        {"film": str(2**63)},
        {"film": str(2**31)},  # beyond a 32-bit integer
        {"film": "0"},
    ],
)
def test_showtimes_odd_film_filters_answer_an_empty_list(anonymous, make_showtime, query):
    make_showtime()

    response = anonymous.get(SHOWTIMES, query)

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (0, [])


@pytest.mark.parametrize(
    "query",
    [
        {"date": "2026-13-40"},
        {"date": "²"},
        {"film": "x" * 101},
        {"film": "a\x00b"},
        {"page": "0"},
        {"page": "²"},
        {"page": "abc"},
    ],
)
def test_showtimes_invalid_filters_are_a_json_400(anonymous, make_showtime, query):
    make_showtime()

    response = anonymous.get(SHOWTIMES, query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid"
    assert set(response.json()["fields"]) == set(query)


def test_showtimes_are_paginated_with_next_links_and_a_json_404_past_the_end(
    anonymous, make_showtime, monkeypatch
):
    monkeypatch.setattr("api.views.ShowtimePagination.page_size", 2)
    showtimes = [make_showtime(starts_in=timedelta(days=day)) for day in (1, 2, 3)]

    first = anonymous.get(SHOWTIMES).json()
    second = anonymous.get(first["next"]).json()
    past_the_end = anonymous.get(SHOWTIMES, {"page": 3})
    far_past = anonymous.get(SHOWTIMES, {"page": "9" * 30})

    assert first["count"] == second["count"] == 3
    assert [s["id"] for s in first["results"]] == [showtimes[0].pk, showtimes[1].pk]
    assert first["next"] == "http://testserver/api/v1/showtimes/?page=2"
    assert first["previous"] is None
    assert [s["id"] for s in second["results"]] == [showtimes[2].pk]
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/v1/showtimes/"
    for response in (past_the_end, far_past):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "not_found"


# --- GET /api/v1/showtimes/<id>/seats/ -------------------------------------------------------


def test_seats_show_every_state_and_mine_for_the_keys_order(api, anonymous, showtime):
    order = hold(api, showtime, "A1").json()
    seat_hold(showtime_id=showtime.pk, codes=["A2"], owner_token="b" * 32, actor=Actor.session("b" * 32))
    seat_block(showtime_id=showtime.pk, codes=["B4"], reason="camera", actor=Actor.system("test"))
    sold = seat_hold(
        showtime_id=showtime.pk, codes=["B1"], owner_token="c" * 32, actor=Actor.session("c" * 32)
    )
    booking_confirm(order_id=sold.pk, actor=Actor.system("test"))

    public = anonymous.get(seats_url(showtime)).json()
    mine = api.get(seats_url(showtime), {"order": order["reference"]}).json()

    states = {s["code"]: s["state"] for s in public["seats"]}
    assert public["showtime"] == showtime.pk
    assert states == {
        "A1": "held", "A2": "held", "A3": "available", "A4": "available",
        "B1": "sold", "B2": "available", "B3": "available", "B4": "blocked",
    }  # fmt: skip
    assert public["seats"][0] == {
        "code": "A1", "row": "A", "number": 1, "zone": "standard", "kind": "regular", "price": 1000, "state": "held"
    }  # fmt: skip
    assert {s["code"]: s["state"] for s in mine["seats"]}["A1"] == "mine"
    assert {s["code"]: s["state"] for s in mine["seats"]}["A2"] == "held"


def test_seats_answer_304_to_their_etag_until_a_seat_changes(anonymous, showtime):
    first = anonymous.get(seats_url(showtime))
    etag = first["ETag"]

    unchanged = anonymous.get(seats_url(showtime), headers={"If-None-Match": etag})
    seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="d" * 32, actor=Actor.session("d" * 32))
    changed = anonymous.get(seats_url(showtime), headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert unchanged["ETag"] == etag
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_seats_etag_differs_for_the_owning_keys_order(api, anonymous, make_key, showtime):
    reference = hold(api, showtime, "A1").json()["reference"]
    _other, other_key = make_key("someone else")

    public = anonymous.get(seats_url(showtime))
    owner = api.get(seats_url(showtime), {"order": reference})
    stranger = ApiClient(other_key).get(seats_url(showtime), {"order": reference})
    owner_with_public_tag = api.get(
        seats_url(showtime), {"order": reference}, headers={"If-None-Match": public["ETag"]}
    )
    owner_again = api.get(seats_url(showtime), {"order": reference}, headers={"If-None-Match": owner["ETag"]})

    assert owner["ETag"] != public["ETag"]
    assert stranger["ETag"] == public["ETag"]  # another key's reference is ignored
    # A cached public map (A1 "held") must not stand in for the owner's (A1 "mine").
    assert owner_with_public_tag.status_code == 200
    assert {s["code"]: s["state"] for s in owner_with_public_tag.json()["seats"]}["A1"] == "mine"
    assert owner_again.status_code == 304
    assert "Authorization" in owner["Vary"]


def test_seats_of_an_unknown_showtime_are_a_json_404(anonymous, db):
    response = anonymous.get("/api/v1/showtimes/999999/seats/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- POST /api/v1/orders/ ----------------------------------------------------------------------


def test_hold_creates_an_order_of_the_key_on_the_same_seats(api, showtime, client):
    response = hold(api, showtime, "A1", "a2")

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get(reference=body["reference"])
    assert body == {
        "reference": order.reference,
        "status": "holding",
        "showtime": showtime.pk,
        "seats": ["A1", "A2"],
        "total": 2000,
        "currency": "eur",
        "expires_at": timezone.localtime(order.expires_at).isoformat(),
        "tickets": [],
        "pdf_url": None,
    }
    assert ApiOrder.objects.get(order=order).api_key == api.api_key
    assert order.owner_token.startswith(f"api:{api.api_key.prefix}:")
    assert LedgerEntry.objects.get(action="seat.hold", order=order).actor == f"api:{api.api_key.prefix}"
    # The htmx map sees the API's hold at once.
    assert "data-seat=A1 data-state=held" in client.get(f"/showtimes/{showtime.pk}/seats/").content.decode()


def test_two_orders_of_one_key_for_one_showtime_are_separate_baskets(api, showtime):
    first = hold(api, showtime, "A1").json()
    second = hold(api, showtime, "A2").json()
    assert first["reference"] != second["reference"]
    assert (first["seats"], second["seats"]) == (["A1"], ["A2"])


def test_hold_of_a_taken_seat_is_409_naming_it_and_holds_nothing(api, showtime):
    hold(api, showtime, "A1")
    response = hold(api, showtime, "A2", "A1")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "seat_unavailable"
    assert body["seats"] == ["A1"]
    assert "A1" in body["detail"]
    assert status_of(showtime, "A2") == SeatStatus.AVAILABLE
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"seats": ["Z99"]}, "invalid_seat"),
        ({"seats": []}, "invalid"),
        ({}, "invalid"),
        ({"seats": ["A1"], "best": 2}, "invalid"),
        ({"best": 0}, "invalid"),
        ({"best": 99}, "invalid"),
        ({"best": 2, "zone": "balcony"}, "invalid_choice"),
        ({"seats": ["A1"], "zone": "standard"}, "invalid"),
    ],
)
def test_hold_bad_input_is_400(api, showtime, body, error):
    response = api.post_json(ORDERS, {"showtime": showtime.pk, **body})
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert Order.objects.count() == 0


def test_hold_over_the_seat_cap_is_400(api, make_showtime, settings):
    settings.MAX_SEATS_PER_ORDER = 2
    showtime = make_showtime()
    response = hold(api, showtime, "A1", "A2", "A3")
    assert response.status_code == 400
    assert response.json()["error"] == "hold_limit_reached"


def test_hold_for_an_unknown_showtime_is_404(api, db):
    response = api.post_json(ORDERS, {"showtime": 999999, "seats": ["A1"]})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_hold_after_sales_closed_is_410(api, make_showtime, settings):
    settings.SALES_CLOSE_MINUTES = 15
    showtime = make_showtime(starts_in=timedelta(minutes=10))
    response = hold(api, showtime, "A1")
    assert response.status_code == 410
    assert response.json()["error"] == "sales_closed"
    assert status_of(showtime, "A1") == SeatStatus.AVAILABLE


@pytest.mark.orphan_rule
def test_a_hold_that_strands_a_seat_is_409_seat_stranded_naming_it(api, make_showtime):
    showtime = make_showtime(grid_layout("B", 9))
    ShowSeat.objects.filter(showtime=showtime, code="B5").update(status=SeatStatus.BLOCKED)

    response = hold(api, showtime, "B2")

    assert response.status_code == 409
    body = response.json()
    assert (body["error"], body["seats"]) == ("seat_stranded", ["B1"])
    assert "B1" in body["detail"]
    assert Order.objects.count() == 0
    assert hold(api, showtime, "B1", "B2").status_code == 201  # taking the lone seat too is fine


def test_a_companion_seat_without_its_wheelchair_space_is_409_companion_needed(api, medium_showtime):
    response = hold(api, medium_showtime, "A2")

    assert response.status_code == 409
    body = response.json()
    assert (body["error"], body["seats"]) == ("companion_needed", ["A2"])
    assert status_of(medium_showtime, "A2") == SeatStatus.AVAILABLE
    reference = hold(api, medium_showtime, "A1").json()["reference"]
    with_space = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A2"]})
    assert (with_space.status_code, with_space.json()["seats"]) == (200, ["A1", "A2"])


def test_the_keys_cap_on_open_orders_is_429(api, showtime, settings):
    settings.API_MAX_OPEN_ORDERS_PER_KEY = 2
    assert hold(api, showtime, "A1").status_code == 201
    assert hold(api, showtime, "A2").status_code == 201

    response = hold(api, showtime, "A3")

    assert response.status_code == 429
    assert response.json()["error"] == "too_many_orders"
    assert response["Retry-After"] == str(settings.API_RATE_LIMITS["window"])
    assert status_of(showtime, "A3") == SeatStatus.AVAILABLE


def test_the_per_key_rate_limit_is_429_with_retry_after(api, showtime, settings):
    settings.API_RATE_LIMITS = {"ip": 0, "key": 2, "window": 60}
    assert hold(api, showtime, "A1").status_code == 201
    assert hold(api, showtime, "A2").status_code == 201

    response = hold(api, showtime, "A3")

    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert status_of(showtime, "A3") == SeatStatus.AVAILABLE


def test_public_reads_are_limited_per_ip(anonymous, showtime, settings):
    settings.API_RATE_LIMITS = {"ip": 3, "key": 0, "window": 60}
    assert [anonymous.get(seats_url(showtime)).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert anonymous.get("/api/v1/showtimes/").json()["error"] == "throttled"


def test_writes_need_a_valid_key(anonymous, showtime, make_key):
    revoked, revoked_key = make_key("old kiosk")
    APIKey.objects.filter(pk=revoked.pk).update(revoked=True)

    without = hold(anonymous, showtime, "A1")
    wrong = hold(ApiClient("nonsense.key"), showtime, "A1")
    was_revoked = hold(ApiClient(revoked_key), showtime, "A1")

    assert (without.status_code, without.json()["error"]) == (401, "not_authenticated")
    assert without["WWW-Authenticate"] == "Api-Key"
    assert (wrong.status_code, wrong.json()["error"]) == (401, "authentication_failed")
    assert (was_revoked.status_code, was_revoked.json()["error"]) == (401, "authentication_failed")
    assert Order.objects.count() == 0


def test_a_staff_session_is_not_accepted_and_csrf_is_not_asked(showtime):
    User.objects.create_superuser("boss", "boss@example.com", "pw-long-enough-1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(User.objects.get(username="boss"))

    response = browser.post(
        ORDERS, {"showtime": showtime.pk, "seats": ["A1"]}, content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_key_clients_need_no_csrf_token(make_key, showtime):
    _api_key, key = make_key()
    strict = ApiClient(key, enforce_csrf_checks=True)
    assert hold(strict, showtime, "A1").status_code == 201


# --- POST /api/v1/orders/<ref>/seats/, DELETE .../seats/<code>/ ------------------------------


def test_add_seats_to_the_keys_order(api, showtime):
    reference = hold(api, showtime, "A1").json()["reference"]

    response = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A2"]})
    taken = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A2", "A3"]})
    best = api.post_json(f"{ORDERS}{reference}/seats/", {"best": 2})

    assert response.status_code == 200
    assert (response.json()["reference"], response.json()["seats"], response.json()["total"]) == (
        reference,
        ["A1", "A2"],
        2000,
    )
    assert taken.status_code == 200  # A2 is already this order's: only A3 is new
    assert taken.json()["seats"] == ["A1", "A2", "A3"]
    # A1-A3 are the order's and A4 is no pair: row B, at an end (B2-B3 would leave B1 and B4 alone).
    assert best.status_code == 200
    assert best.json()["seats"] == ["A1", "A2", "A3", "B1", "B2"]


def test_add_the_best_seats_in_a_zone_to_the_keys_order(api, medium_showtime):
    reference = hold(api, medium_showtime, "B1").json()["reference"]
    zones = {s["code"]: s["zone"] for s in api.get(seats_url(medium_showtime)).json()["seats"]}

    response = api.post_json(f"{ORDERS}{reference}/seats/", {"best": 2, "zone": "vip"})
    no_best = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["B2"], "zone": "vip"})
    no_such_zone = api.post_json(f"{ORDERS}{reference}/seats/", {"best": 2, "zone": "balcony"})

    assert response.status_code == 200
    added = [code for code in response.json()["seats"] if code != "B1"]
    assert len(added) == 2
    assert {zones[code] for code in added} == {"vip"}
    assert (response.json()["total"], response.json()["reference"]) == (1150 + 2 * 1550, reference)
    assert (no_best.status_code, no_best.json()["error"]) == (400, "invalid")
    assert "zone" in no_best.json()["fields"]
    assert (no_such_zone.status_code, no_such_zone.json()["error"]) == (400, "invalid_choice")
    assert ShowSeat.objects.filter(showtime=medium_showtime, status=SeatStatus.HELD).count() == 3


def test_add_seats_after_sales_closed_is_410_and_keeps_the_order(api, make_showtime, settings):
    settings.SALES_CLOSE_MINUTES = 15
    showtime = make_showtime(starts_in=timedelta(minutes=20))
    reference = hold(api, showtime, "A1").json()["reference"]
    settings.SALES_CLOSE_MINUTES = 30  # the showtime is now within the closing time

    named = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A2"]})
    best = api.post_json(f"{ORDERS}{reference}/seats/", {"best": 2})

    assert [(r.status_code, r.json()["error"]) for r in (named, best)] == [(410, "sales_closed")] * 2
    assert status_of(showtime, "A2") == SeatStatus.AVAILABLE
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).count() == 1
    assert api.get(f"{ORDERS}{reference}/").json()["seats"] == ["A1"]


def test_release_one_seat(api, showtime):
    reference = hold(api, showtime, "A1", "A2").json()["reference"]

    response = api.delete(f"{ORDERS}{reference}/seats/A1/")
    again = api.delete(f"{ORDERS}{reference}/seats/A1/")

    assert response.status_code == 200
    assert (response.json()["seats"], response.json()["total"]) == (["A2"], 1000)
    assert status_of(showtime, "A1") == SeatStatus.AVAILABLE
    assert (again.status_code, again.json()["error"]) == (409, "seat_not_held")


def test_another_keys_order_is_404_everywhere(api, make_key, showtime):
    reference = hold(api, showtime, "A1").json()["reference"]
    _other, other_key = make_key("someone else")
    other = ApiClient(other_key)

    answers = [
        other.get(f"{ORDERS}{reference}/"),
        other.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A2"]}),
        other.delete(f"{ORDERS}{reference}/seats/A1/"),
        other.post_json(f"{ORDERS}{reference}/checkout/", {"email": "x@example.com"}),
        other.get(seats_url(showtime), {"order": reference}),
    ]

    assert [r.status_code for r in answers] == [404, 404, 404, 404, 200]
    assert {r.json()["error"] for r in answers[:4]} == {"not_found"}
    assert "mine" not in {s["state"] for s in answers[4].json()["seats"]}
    assert status_of(showtime, "A1") == SeatStatus.HELD
    assert status_of(showtime, "A2") == SeatStatus.AVAILABLE


def test_a_reference_with_a_nul_byte_is_no_order_not_a_500(api, showtime):
    # PostgreSQL refuses NUL in a text query: it must never get there.
    missing = api.get(f"{ORDERS}a%00b/")
    seats = api.get(seats_url(showtime), {"order": "a\x00b"})

    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert seats.status_code == 200
    assert "mine" not in {s["state"] for s in seats.json()["seats"]}


def test_an_expired_order_reads_expired_and_refuses_changes(api, showtime):
    reference = hold(api, showtime, "A1").json()["reference"]
    Order.objects.filter(reference=reference).update(expires_at=timezone.now() - timedelta(seconds=1))

    shown = api.get(f"{ORDERS}{reference}/")
    add = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A2"]})
    release = api.delete(f"{ORDERS}{reference}/seats/A1/")
    pay = api.post_json(f"{ORDERS}{reference}/checkout/", {"email": "x@example.com"})

    assert shown.json()["status"] == "expired"
    assert [(r.status_code, r.json()["error"]) for r in (add, release, pay)] == [(409, "order_not_open")] * 3
    assert Order.objects.count() == 1
    assert status_of(showtime, "A2") == SeatStatus.AVAILABLE


# --- POST /api/v1/orders/<ref>/checkout/, GET /api/v1/orders/<ref>/ --------------------------


def test_checkout_returns_the_stripe_url_with_the_clients_return_pages(api, showtime, sim):
    reference = hold(api, showtime, "A1", "A2").json()["reference"]
    body = {
        "email": "fan@example.com",
        "success_url": "https://partner.example/ok",
        "cancel_url": "https://partner.example/no",
    }

    response = api.post_json(f"{ORDERS}{reference}/checkout/", body)
    again = api.post_json(f"{ORDERS}{reference}/checkout/", body)

    assert response.status_code == 200
    payment = Payment.objects.get(order__reference=reference)
    assert response.json() == {"checkout_url": payment.url}
    assert again.json() == {"checkout_url": payment.url}  # the same session, not a second one
    session = sim.state.sessions[payment.session_id]
    assert (session["success_url"], session["cancel_url"]) == (body["success_url"], body["cancel_url"])
    order = Order.objects.get(reference=reference)
    assert (order.status, order.email) == (OrderStatus.PAYING, "fan@example.com")
    assert api.get(f"{ORDERS}{reference}/").json()["status"] == "paying"
    changed = api.post_json(f"{ORDERS}{reference}/seats/", {"seats": ["A3"]})
    assert (changed.status_code, changed.json()["error"]) == (409, "order_at_payment")


def test_checkout_needs_an_email(api, showtime):
    reference = hold(api, showtime, "A1").json()["reference"]
    response = api.post_json(f"{ORDERS}{reference}/checkout/", {"email": "not an email"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid")
    assert "email" in response.json()["fields"]


def test_a_paid_order_lists_its_tickets_with_qr_codes(api, showtime):
    reference = hold(api, showtime, "A1", "A2").json()["reference"]
    order = Order.objects.get(reference=reference)
    booking_confirm(order_id=order.pk, actor=Actor.system("test"))

    body = api.get(f"{ORDERS}{reference}/").json()

    assert body["status"] == "paid"
    assert [t["seat"] for t in body["tickets"]] == ["A1", "A2"]
    assert {t["code"] for t in body["tickets"]} == set(order.tickets.values_list("code", flat=True))
    assert all(t["qr_url"].startswith("data:image/svg+xml") for t in body["tickets"])
    path = f"/bookings/{reference}/tickets.pdf?t={booking_token(reference)}"
    assert body["pdf_url"] == f"http://testserver{path}"
    pdf = Client().get(body["pdf_url"])  # no key needed: the signed token is the credential
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_an_order_without_valid_tickets_has_no_pdf_url(api, showtime):
    reference = hold(api, showtime, "A1").json()["reference"]
    order = Order.objects.get(reference=reference)
    booking_confirm(order_id=order.pk, actor=Actor.system("test"))
    order.tickets.update(status=TicketStatus.VOID)

    body = api.get(f"{ORDERS}{reference}/").json()

    assert (body["status"], body["tickets"], body["pdf_url"]) == ("paid", [], None)


# --- errors are JSON everywhere under /api/ -------------------------------------------------


def test_unknown_api_paths_and_methods_answer_json(anonymous, db):
    missing = anonymous.get("/api/v1/nothing-here/")
    wrong_method = anonymous.put("/api/v1/showtimes/")

    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")


def test_a_bug_under_api_is_a_json_500(anonymous, db, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.selectors.showtimes_upcoming", broken)
    client = ApiClient(raise_request_exception=False)

    response = client.get("/api/v1/showtimes/")

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"


def test_malformed_json_is_400(api, db):
    response = api.post(ORDERS, data="{not json", content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "parse_error")


# --- schema, docs, keys -------------------------------------------------------------------------


def test_schema_and_docs_are_served_without_a_cdn(anonymous, client, db):
    schema = anonymous.get("/api/v1/schema/", {"format": "json"})
    docs = anonymous.get("/api/v1/docs/")
    home = client.get("/")

    assert schema.status_code == 200
    assert "/api/v1/orders/{reference}/checkout/" in schema.json()["paths"]
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html
    assert "style-src 'self' 'unsafe-inline'" in docs["Content-Security-Policy"]
    assert "script-src 'self';" in docs["Content-Security-Policy"]
    assert "style-src 'self';" in home["Content-Security-Policy"]
    script = anonymous.get("/api/v1/docs/", {"script": ""})
    assert (script.status_code, script["Content-Type"]) == (200, "application/javascript")
    assert "/api/v1/schema/" in script.content.decode()


def test_create_api_key_prints_a_working_key_once(capsys, showtime):
    call_command("create_api_key", "lobby kiosk 2")
    key = capsys.readouterr().out.strip()

    api_key = APIKey.objects.get(name="lobby kiosk 2")
    assert key.startswith(api_key.prefix + ".")
    assert key not in api_key.hashed_key
    assert hold(ApiClient(key), showtime, "A1").status_code == 201


def test_checkout_while_stripe_is_unreachable_is_503_and_the_seats_stay_held(api, showtime, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    reference = hold(api, showtime, "A1").json()["reference"]

    response = api.post_json(f"{ORDERS}{reference}/checkout/", {"email": "fan@example.com"})

    assert (response.status_code, response.json()["error"]) == (503, "payment_unavailable")
    assert response["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER_SECONDS)
    assert Order.objects.get(reference=reference).status == OrderStatus.HOLDING
    assert status_of(showtime, "A1") == SeatStatus.HELD


def test_create_with_best_holds_the_group_and_409s_when_none_fits(api, make_showtime):
    showtime = make_showtime(grid_layout("A", 3))
    created = api.post_json(ORDERS, {"showtime": showtime.pk, "best": 2, "zone": "standard"})
    assert created.status_code == 201
    assert len(created.json()["seats"]) == 2
    none = api.post_json(ORDERS, {"showtime": showtime.pk, "best": 2})
    assert none.status_code == 409
    assert none.json()["error"] == "no_seats_together"
