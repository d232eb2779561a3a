import json

import pytest
from django.test import Client

from checkout.simulator import sign, start_simulator

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def sim(settings):
    """A real simulator on a free port; webhooks are held so each test delivers them itself."""
    simulator = start_simulator(webhook_url="", webhook_secret=WEBHOOK_SECRET, retry_base_seconds=0.1)
    simulator.configure(hold_webhooks=True, async_delay_seconds=0.2)
    settings.STRIPE_API_BASE = simulator.url
    settings.STRIPE_SECRET_KEY = "sk_test_simulator"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SITE_URL = "http://testserver"
    yield simulator
    simulator.stop()


def post_event(client: Client, event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    payload = json.dumps(event).encode()
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, secret, timestamp)},
    )


def events_of(sim, *types: str) -> list[dict]:
    return [e["event"] for e in sim.events() if not types or e["event"]["type"] in types]


def session_of(order) -> str:
    """The Checkout Session id of the order's latest payment (Stripe ids live on Payment)."""
    from checkout.models import Payment

    return Payment.objects.filter(order=order).latest("created_at", "pk").session_id
