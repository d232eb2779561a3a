"""The webhook counts its answers by outcome class."""

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from checkout.metrics import webhook_outcome
from tests.checkout.conftest import WEBHOOK_SECRET, post_event


def sample(outcome: str) -> float:
    return REGISTRY.get_sample_value("seatlock_webhooks_total", {"outcome": outcome}) or 0.0


def test_a_bad_signature_counts_bad_signature_once(settings, db):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    before = {o: sample(o) for o in ("bad_signature", "bad_payload", "ignored")}
    event = {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": "cs_1"}}}
    response = post_event(Client(), event, secret="whsec_someone_else")
    assert response.status_code == 400
    assert {o: sample(o) for o in before} == {**before, "bad_signature": before["bad_signature"] + 1}


def test_a_signed_non_event_counts_bad_payload(settings, db):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    before = sample("bad_payload")
    response = post_event(Client(), {"id": 12, "type": "x", "data": {"object": {}}})
    assert response.status_code == 400
    assert sample("bad_payload") == before + 1


@pytest.mark.parametrize(
    ("outcome", "duplicate", "expected"),
    [
        ("confirmed", False, "confirmed"),
        ("refunded: seats lost", False, "refunded"),
        ("ignored: unknown order", False, "ignored"),
        ("ignored", False, "ignored"),
        ("expired", False, "processed"),
        ("marked refunded", False, "processed"),
        ("confirmed", True, "duplicate"),
    ],
)
def test_webhook_outcomes_fall_into_their_class(outcome, duplicate, expected):
    assert webhook_outcome(outcome, duplicate=duplicate) == expected
