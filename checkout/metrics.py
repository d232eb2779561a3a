"""SeatLock's own Prometheus metrics for payments (docs/operations.md, "Metrics")."""

from prometheus_client import Counter

# The outcome label: what the webhook view answered, in classes (never the event's own text).
OUTCOMES = (
    "confirmed",  # a payment confirmed an order
    "refunded",  # a payment was given back automatically (seats lost, too late, duplicate, ...)
    "ignored",  # not ours: another mode, an unknown object or order
    "duplicate",  # an event id already processed
    "processed",  # any other event handled (session expired, refund noted, dispute, ...)
    "unavailable",  # Stripe could not be asked: 503, Stripe retries
    "bad_signature",  # 400: not signed with our endpoint secret, or outside the tolerance
    "bad_payload",  # 400/413: signed but not an event, or too large
)

webhooks = Counter("seatlock_webhooks", "Stripe webhook deliveries by outcome class.", ["outcome"])
for _outcome in OUTCOMES:
    webhooks.labels(_outcome)  # every known outcome starts at 0


def webhook_outcome(outcome: str, *, duplicate: bool) -> str:
    """The class of a handled event's outcome text (checkout.services: "refunded: seats lost")."""
    if duplicate:
        return "duplicate"
    if outcome == "confirmed":
        return "confirmed"
    if outcome.startswith("refunded"):
        return "refunded"
    if outcome.startswith("ignored"):
        return "ignored"
    return "processed"
