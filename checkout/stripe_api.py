"""The one place that builds the Stripe client: the real API, or the simulator in development."""

import stripe
from django.conf import settings


def client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )
