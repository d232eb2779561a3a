"""The one place that builds the Stripe client: the real API, or the simulator in development."""

import stripe
from django.conf import settings


def client() -> stripe.StripeClient:
    # A bounded wait: the SDK's default is 80 s per attempt, long enough to hold a web worker
    # (and the buyer) hostage while Stripe is slow; a timeout becomes a StripeError we handle.
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
        http_client=stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )
