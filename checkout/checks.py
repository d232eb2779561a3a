from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def stripe_is_real(app_configs, **kwargs):
    """In production the simulator would take no money: say so loudly."""
    if settings.STRIPE_SIMULATOR:
        return [
            Warning(
                "No real STRIPE_SECRET_KEY is set: payments would go to the development simulator.",
                hint="Set STRIPE_SECRET_KEY (sk_live_… or sk_test_…) and STRIPE_WEBHOOK_SECRET.",
                id="seatlock.W001",
            )
        ]
    return []
