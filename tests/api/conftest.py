"""API test helpers: keys, a client that sends one, and fresh rate-limit counters."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework_api_key.models import APIKey

from checkout.simulator import start_simulator


class ApiClient(Client):
    """A Django test client speaking JSON with `Authorization: Api-Key <key>` (when given)."""

    def __init__(self, key: str | None = None, **defaults):
        headers = {"Authorization": f"Api-Key {key}"} if key else {}
        super().__init__(headers=headers, **defaults)

    def post_json(self, path: str, data=None, **extra):
        return self.post(
            path, data=data if data is not None else {}, content_type="application/json", **extra
        )


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_key(db):
    def make(name: str = "kiosk") -> tuple[APIKey, str]:
        return APIKey.objects.create_key(name=name)

    return make


@pytest.fixture
def api(make_key) -> ApiClient:
    _api_key, key = make_key("partner site")
    client = ApiClient(key)
    client.api_key = _api_key
    return client


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient()


@pytest.fixture
def sim(settings):
    """A real Stripe simulator on a free port (webhooks held: these tests only start payments)."""
    simulator = start_simulator(webhook_url="", webhook_secret="whsec_api_test", retry_base_seconds=0.1)
    simulator.configure(hold_webhooks=True)
    settings.STRIPE_API_BASE = simulator.url
    settings.STRIPE_SECRET_KEY = "sk_test_simulator"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_api_test"
    settings.SITE_URL = "http://testserver"
    yield simulator
    simulator.stop()
