"""Idempotency-Key: a retried POST gets the first answer; duplicates never both run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import IdempotencyRecord
from booking.models import Order, SeatStatus, ShowSeat
from tests.api.conftest import ApiClient
from tests.helpers import at_once

ORDERS = "/api/v1/orders/"


def post(api, showtime, seats, key):
    return api.post_json(ORDERS, {"showtime": showtime.pk, "seats": seats}, headers={"Idempotency-Key": key})


def test_same_key_and_body_replays_the_first_answer(api, showtime):
    first = post(api, showtime, ["A1"], "k-1")
    retry = post(api, showtime, ["A1"], "k-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_422(api, showtime):
    post(api, showtime, ["A1"], "k-2")
    other = post(api, showtime, ["A2"], "k-2")

    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")
    assert ShowSeat.objects.get(showtime=showtime, code="A2").status == SeatStatus.AVAILABLE


def test_an_error_answer_is_replayed_too(api, showtime):
    post(api, showtime, ["A1"], "first")
    refused = post(api, showtime, ["A1"], "second")
    api.delete(f"{ORDERS}{Order.objects.get().reference}/seats/A1/")  # A1 is free now

    retry = post(api, showtime, ["A1"], "second")

    assert (refused.status_code, retry.status_code) == (409, 409)
    assert retry.json() == refused.json()


def test_keys_are_per_api_key(api, make_key, showtime):
    _other, other_key = make_key("other")
    mine = post(api, showtime, ["A1"], "shared")
    theirs = post(ApiClient(other_key), showtime, ["A2"], "shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert Order.objects.count() == 2


def test_after_the_window_a_key_runs_again(api, showtime, settings):
    first = post(api, showtime, ["A1"], "old")
    IdempotencyRecord.objects.update(
        started_at=timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    )

    again = post(api, showtime, ["A2"], "old")

    assert again.status_code == 201
    assert again.json()["reference"] != first.json()["reference"]


def test_an_overlong_key_is_400(api, showtime):
    response = post(api, showtime, ["A1"], "x" * 256)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_idempotency_key")
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_once(make_key, make_showtime):
    showtime = make_showtime()
    _api_key, key = make_key("double clicker")
    answers = at_once(lambda: post(ApiClient(key), showtime, ["A1", "A2"], "same-click"), 8)

    statuses = sorted(r.status_code for r in answers)
    created = [r for r in answers if r.status_code == 201]
    assert len(answers) == 8
    assert set(statuses) <= {201, 409}
    assert {r.json()["error"] for r in answers if r.status_code == 409} <= {"idempotency_in_progress"}
    assert len({r.json()["reference"] for r in created}) == 1
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201
