"""Stripe Checkout: start a payment, react to webhooks, refund. Seat changes go through
booking.services; Stripe calls are made outside any transaction that holds seat locks.

Webhooks are handled by re-reading the Checkout Session from Stripe and acting on its
current state, not on the event's type or payload: events may come late, twice, or out of
order, and the session's state is what is true now.
"""

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import services as booking
from booking.exceptions import BookingError, OrderNotOpen
from booking.links import booking_token
from booking.models import LedgerEntry, Order, OrderStatus, PaymentMethod
from checkout import stripe_api
from checkout.models import StripeEvent

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes after creation.
MIN_SESSION_SECONDS = 30 * 60 + 60
# How long seats wait for a delayed payment method (bank transfer) to settle.
AWAITING_PAYMENT_HOLD = timedelta(days=3)
SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated"}


class PaymentUnavailable(BookingError):
    def __init__(self):
        super().__init__(_("Payment is unavailable right now; your seats stay held. Please try again."))


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _idempotency_key(order: Order, email: str) -> str:
    """Same order, seats and email: the same session. Coming back and trying again: a new one."""
    attempts = LedgerEntry.objects.filter(order=order, action="order.resume").count()
    basis = f"{order.reference}:{','.join(order.seat_codes)}:{email}:{attempts}"
    return "checkout-" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _line_items(order: Order) -> list[dict]:
    """One line per zone: quantity and unit price from the seats the order holds."""
    seats = list(order.seats.filter(status="held").values_list("zone", "price"))
    counts = Counter(seats)
    zone_labels = {z.key: z.label for z in order.showtime.hall.geometry.zones}
    film = order.showtime.film.title
    return [
        {
            "price_data": {
                "currency": order.currency,
                "unit_amount": price,
                "product_data": {"name": f"{film} – {zone_labels.get(zone, zone)}"},
            },
            "quantity": quantity,
        }
        for (zone, price), quantity in sorted(counts.items())
    ]


def checkout_start(*, order: Order, email: str, actor: booking.Actor) -> str:
    """Create (or reuse) the order's Checkout Session; returns the URL to send the browser to."""
    now = timezone.now()
    if order.status == OrderStatus.PAYING and order.stripe_session_id:
        session = stripe_api.client().v1.checkout.sessions.retrieve(order.stripe_session_id)
        if session.status == "open":
            return session.url
    if order.status != OrderStatus.HOLDING or order.expires_at <= now or not order.seat_codes:
        raise OrderNotOpen(order.reference, order.get_status_display())
    token = booking_token(order.reference)
    return_path = reverse("checkout:return", args=[order.reference])
    cancel_path = reverse("checkout:cancel", args=[order.reference])
    params = {
        "mode": "payment",
        "line_items": _line_items(order),
        "client_reference_id": order.reference,
        "metadata": {"order_reference": order.reference, "order_id": str(order.pk)},
        "customer_email": email,
        "success_url": _absolute(f"{return_path}?t={token}&session_id={{CHECKOUT_SESSION_ID}}"),
        "cancel_url": _absolute(f"{cancel_path}?t={token}"),
        "expires_at": int(max(order.expires_at.timestamp(), now.timestamp() + MIN_SESSION_SECONDS)),
        "payment_intent_data": {"metadata": {"order_reference": order.reference}},
    }
    try:
        session = stripe_api.client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": _idempotency_key(order, email)}
        )
    except stripe.StripeError as exc:
        logger.warning("could not create a Checkout Session for %s: %s", order.reference, exc)
        raise PaymentUnavailable from exc
    booking.order_mark_paying(order_id=order.pk, stripe_session_id=session.id, email=email, actor=actor)
    return session.url


def checkout_abandon(*, order: Order, actor: booking.Actor) -> Order:
    """The customer came back through the cancel URL: close the session, thaw the basket."""
    if order.status != OrderStatus.PAYING:
        return order
    if not _expire_session(order):
        return order  # it was paid after all: the webhook confirms it
    return booking.order_resume_holding(order_id=order.pk, actor=actor)


def _expire_session(order: Order) -> bool:
    """Expire the order's open session at Stripe. False if Stripe says it was completed."""
    if not order.stripe_session_id:
        return True
    client = stripe_api.client()
    try:
        client.v1.checkout.sessions.expire(order.stripe_session_id)
    except stripe.InvalidRequestError:
        session = client.v1.checkout.sessions.retrieve(order.stripe_session_id)
        return session.status != "complete"
    return True


def checkout_session_expire_for_order(*, order_id: int) -> bool:
    """Before the expiry task releases seats: make sure the customer can no longer pay.

    Returns False when Stripe says the session completed: the order is left to the webhook.
    Stripe being unreachable does not stop the release (the seats are free to others anyway
    once the hold lapses, and a late payment is refunded if they were taken).
    """
    order = Order.objects.get(pk=order_id)
    if order.status != OrderStatus.PAYING or not order.stripe_session_id:
        return True
    try:
        return _expire_session(order)
    except stripe.StripeError as exc:
        logger.warning("could not expire session %s of %s: %s", order.stripe_session_id, order.reference, exc)
        return True


# --- webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    duplicate: bool
    outcome: str


def webhook_receive(*, event: stripe.Event) -> WebhookResult:
    """Record the event once, act on it, mark it processed. Failures propagate (Stripe retries)."""
    record, created = StripeEvent.objects.get_or_create(
        event_id=event.id, defaults={"type": event.type, "payload": event.to_dict()}
    )
    if not created and record.processed_at is not None:
        return WebhookResult(True, record.outcome)
    actor = booking.Actor(f"stripe:{event.id}")
    if event.type in SESSION_EVENTS:
        outcome = session_sync(session_id=event.data.object.id, actor=actor)
    elif event.type in REFUND_EVENTS:
        outcome = _refund_event(event, actor=actor)
    else:
        outcome = "ignored"
    StripeEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now(), outcome=outcome[:200])
    return WebhookResult(False, outcome)


def _order_for_session(session) -> Order | None:
    metadata = session.metadata.to_dict() if session.metadata else {}
    reference = metadata.get("order_reference") or session.client_reference_id
    return Order.objects.filter(reference=reference).first() if reference else None


def session_sync(*, session_id: str, actor: booking.Actor) -> str:
    """Bring the order in line with what Stripe says about its session right now."""
    client = stripe_api.client()
    session = client.v1.checkout.sessions.retrieve(session_id)
    order = _order_for_session(session)
    if order is None:
        logger.warning("session %s names no known order", session_id)
        return "unknown order"
    if session.status == "complete" and session.payment_status in ("paid", "no_payment_required"):
        return _confirm(order, session, actor)
    if session.status == "complete":
        intent = (
            client.v1.payment_intents.retrieve(session.payment_intent) if session.payment_intent else None
        )
        if intent is not None and intent.status in ("requires_payment_method", "canceled"):
            booking.order_payment_failed(order_id=order.pk, actor=actor, reason="delayed payment failed")
            transaction.on_commit(lambda: _send_email(order.pk, "payment_failed"))
            return "payment failed"
        booking.order_await_payment(
            order_id=order.pk, until=timezone.now() + AWAITING_PAYMENT_HOLD, actor=actor
        )
        return "awaiting payment"
    if session.status == "expired":
        if order.status == OrderStatus.PAYING and order.stripe_session_id == session.id:
            if order.expires_at > timezone.now():
                booking.order_resume_holding(order_id=order.pk, actor=actor, reason="payment page expired")
                return "resumed holding"
            booking.order_expire(order_id=order.pk, actor=actor, reason="payment page expired")
            return "expired"
        return "nothing to do"
    return "session open"


def _confirm(order: Order, session, actor: booking.Actor) -> str:
    result = booking.booking_confirm(
        order_id=order.pk,
        actor=actor,
        payment_method=PaymentMethod.STRIPE,
        payment_reference=session.payment_intent or "",
    )
    if result.outcome == booking.ConfirmOutcome.CONFIRMED:
        if session.customer_details and session.customer_details.email and not order.email:
            Order.objects.filter(pk=order.pk, email="").update(email=session.customer_details.email)
        transaction.on_commit(lambda: _send_email(order.pk, "confirmed"))
        return "confirmed"
    if result.outcome == booking.ConfirmOutcome.ALREADY_PAID:
        return "already paid"
    reason = _("Seats %(seats)s were taken by someone else before your payment arrived.") % {
        "seats": ", ".join(result.lost_seats)
    }
    _refund(order, session.payment_intent, reason=reason, actor=actor)
    transaction.on_commit(lambda: _send_email(order.pk, "refunded"))
    return "refunded: seats lost"


def _refund(order: Order, payment_intent: str, *, reason: str, actor: booking.Actor) -> str:
    refund = stripe_api.client().v1.refunds.create(
        params={
            "payment_intent": payment_intent,
            "reason": "requested_by_customer",
            "metadata": {"order_reference": order.reference},
        },
        options={"idempotency_key": f"refund-{order.reference}"},
    )
    booking.order_mark_refunded(order_id=order.pk, actor=actor, reason=reason, refund_reference=refund.id)
    return refund.id


def order_refund(*, order_id: int, actor: booking.Actor, reason: str) -> str:
    """Refund an online payment in full (box-office cancellation); idempotent per order."""
    order = Order.objects.get(pk=order_id)
    if order.payment_method != PaymentMethod.STRIPE or not order.stripe_payment_intent:
        raise ValueError(f"order {order.reference} was not paid through Stripe")
    return _refund(order, order.stripe_payment_intent, reason=reason, actor=actor)


def _refund_event(event: stripe.Event, *, actor: booking.Actor) -> str:
    obj = event.data.object
    intent = getattr(obj, "payment_intent", None)
    order = Order.objects.filter(stripe_payment_intent=intent).first() if intent else None
    if order is None:
        return "refund for no known order"
    if order.status == OrderStatus.REFUNDED:
        return "already refunded"
    fully = event.type == "charge.refunded" and getattr(obj, "refunded", False)
    if fully and order.status == OrderStatus.PAID:
        booking.order_mark_refunded(order_id=order.pk, actor=actor, reason="refunded at Stripe")
        return "marked refunded"
    return "partial refund noted"


def _send_email(order_id: int, kind: str) -> None:
    from checkout.tasks import send_order_email

    send_order_email(order_id, kind)
