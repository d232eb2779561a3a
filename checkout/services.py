"""Stripe Checkout: start a payment, react to webhooks, refund.

Rules this module keeps (docs/payments.md, "what can go wrong"):
- The basket is frozen (`holding → paying`) and the price computed from the frozen basket in
  one transaction before Stripe is called; the Stripe call is keyed on the order and its
  basket version, so a double click or a second tab gets the same Checkout Session.
- Stripe calls are made outside any transaction that holds seat locks.
- Webhooks act on what Stripe says now (the session, payment intent and refunds re-read),
  never on the event payload; events may come late, twice, or out of order.
- Money is never kept without a ticket: any captured payment that is not the order's current
  one, or that does not match it, or that arrives for an order that cannot be confirmed, is
  refunded (one idempotent refund per payment). For every order, captured minus refunded
  equals the order total when it is paid, and zero otherwise.
"""

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import services as booking
from booking.exceptions import BookingError, OrderNotOpen, OrderTransitionRefused, SalesClosed
from booking.links import booking_token
from booking.models import Order, OrderStatus, PaymentMethod, SeatStatus, ShowSeat
from booking.services.locking import ledger_append, seat_transaction
from booking.tasks import order_email_queue
from checkout import stripe_api
from checkout.models import Payment, PaymentStatus, StripeEvent

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes after creation; the
# session is closed explicitly when the hold ends, this is only Stripe's own backstop.
MIN_SESSION_SECONDS = 30 * 60 + 60
# How long seats wait for a delayed payment method (bank transfer) to settle.
AWAITING_PAYMENT_HOLD = timedelta(days=3)
SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
REFUND_EVENTS = {"charge.refunded", "refund.created", "refund.updated", "refund.failed"}


class PaymentUnavailable(BookingError):
    def __init__(self):
        super().__init__(_("Payment is unavailable right now; your seats stay held. Please try again."))


class StripeUnavailable(Exception):
    """Stripe could not be asked right now; the webhook answers 503 so Stripe retries."""


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


# --- starting a payment ----------------------------------------------------------------------


def _line_items(order: Order) -> list[dict]:
    """One line per zone and price, from the seats the frozen basket holds."""
    seats = ShowSeat.objects.filter(order=order, status=SeatStatus.HELD).values_list("zone", "price")
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


def _session_params(order: Order, *, success_url: str | None = None, cancel_url: str | None = None) -> dict:
    """Everything Stripe is asked, derived only from the frozen order: a second request for
    the same basket version sends the very same parameters (Stripe's idempotency demands it).
    API clients may bring their own return pages; the first checkout of a basket sets them."""
    token = booking_token(order.reference)
    return_path = reverse("checkout:return", args=[order.reference])
    cancel_path = reverse("checkout:cancel", args=[order.reference])
    return {
        "mode": "payment",
        "line_items": _line_items(order),
        "client_reference_id": order.reference,
        "metadata": {
            "order_reference": order.reference,
            "order_id": str(order.pk),
            "basket_version": str(order.basket_version),
        },
        "customer_email": order.email,
        "success_url": success_url
        or _absolute(f"{return_path}?t={token}&session_id={{CHECKOUT_SESSION_ID}}"),
        "cancel_url": cancel_url or _absolute(f"{cancel_path}?t={token}"),
        "expires_at": int(order.expires_at.timestamp()) + MIN_SESSION_SECONDS,
        "payment_intent_data": {
            "metadata": {"order_reference": order.reference, "basket_version": str(order.basket_version)}
        },
    }


def _idempotency_key(order: Order) -> str:
    """Never from form input: the same order and basket version is the same payment."""
    return f"checkout-{order.reference}-v{order.basket_version}"


def checkout_start(
    *,
    order_id: int,
    email: str,
    actor: booking.Actor,
    now=None,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> str:
    """Freeze the basket and return the URL of its Checkout Session (the same one when asked
    again for the same basket, from another tab or a double click)."""
    now = now or timezone.now()
    order = Order.objects.select_related("showtime").get(pk=order_id)
    if not order.showtime.sales_open(now):
        raise SalesClosed()
    froze = False
    with transaction.atomic():
        try:
            order = booking.order_mark_paying(order_id=order.pk, email=email, actor=actor, now=now)
            froze = True
        except OrderTransitionRefused:
            # Already at payment (a second click): the frozen basket and its email stand.
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.status != OrderStatus.PAYING or order.expires_at <= now:
                raise
        payment = Payment.objects.filter(
            order=order, status=PaymentStatus.OPEN, basket_version=order.basket_version
        ).first()
        if payment is not None:
            return payment.url
        order = Order.objects.select_related("showtime__film", "showtime__hall").get(pk=order.pk)
        params = _session_params(order, success_url=success_url, cancel_url=cancel_url)
        amount = sum(item["price_data"]["unit_amount"] * item["quantity"] for item in params["line_items"])
    try:
        session = stripe_api.client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": _idempotency_key(order)}
        )
    except stripe.StripeError as exc:
        logger.warning("could not create a Checkout Session for %s: %s", order.reference, exc)
        if froze:
            # If the hold ran out meanwhile, the expiry releases the seats instead.
            with contextlib.suppress(OrderTransitionRefused):
                booking.order_resume_holding(order_id=order.pk, actor=actor, reason="payment unavailable")
        raise PaymentUnavailable from exc
    _payment_record(order, session, amount=amount)
    return session.url


def _payment_record(order: Order, session, *, amount: int | None = None) -> Payment:
    """The Payment row of a session (created once; a concurrent second click finds it)."""
    metadata = session.metadata.to_dict() if session.metadata else {}
    defaults = {
        "order": order,
        "url": session.url or "",
        "basket_version": int(metadata.get("basket_version") or order.basket_version),
        "amount": amount if amount is not None else session.amount_total or 0,
        "currency": session.currency or order.currency,
        "status": PaymentStatus.OPEN if session.status == "open" else PaymentStatus.EXPIRED,
    }
    try:
        with transaction.atomic():
            payment, _created = Payment.objects.get_or_create(session_id=session.id, defaults=defaults)
    except IntegrityError:  # the same session, recorded by a concurrent request
        payment = Payment.objects.get(session_id=session.id)
    return payment


def checkout_abandon(*, order: Order, actor: booking.Actor) -> Order:
    """The customer came back through the cancel URL: close the session, thaw the basket."""
    if order.status != OrderStatus.PAYING:
        return order
    if not _expire_open_payments(order):
        return order  # it was paid after all: the webhook confirms it
    try:
        return booking.order_resume_holding(order_id=order.pk, actor=actor)
    except OrderTransitionRefused:
        return Order.objects.get(pk=order.pk)


def _expire_open_payments(order: Order) -> bool:
    """Expire the order's open sessions at Stripe. False if Stripe says one was completed."""
    client = stripe_api.client()
    for payment in Payment.objects.filter(order=order, status=PaymentStatus.OPEN):
        try:
            client.v1.checkout.sessions.expire(payment.session_id)
        except stripe.InvalidRequestError:
            session = client.v1.checkout.sessions.retrieve(payment.session_id)
            if session.status == "complete":
                return False
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.OPEN).update(
            status=PaymentStatus.EXPIRED, updated_at=timezone.now()
        )
    return True


def payment_close_for_order(order_id: int) -> bool:
    """booking's payment hook: before seats are released, no payment page may stay payable.

    Returns False when Stripe says the session completed: the order is left to the webhook.
    Stripe being unreachable does not stop the release (the seats are free to others anyway
    once the hold lapses, and a late payment is refunded if they were taken).
    """
    order = Order.objects.get(pk=order_id)
    try:
        return _expire_open_payments(order)
    except stripe.StripeError as exc:
        logger.warning("could not close the payment pages of %s: %s", order.reference, exc)
        return True


# --- webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    duplicate: bool
    outcome: str


def webhook_receive(*, event: stripe.Event) -> WebhookResult:
    """Record the event once, act on it, mark it processed.

    Raises `StripeUnavailable` when Stripe cannot be asked (the event stays unprocessed and
    Stripe's retry acts on it); objects Stripe does not know are ignored, never a 500.
    """
    record, created = StripeEvent.objects.get_or_create(
        event_id=event.id, defaults={"type": event.type, "payload": event.to_dict()}
    )
    if not created and record.processed_at is not None:
        return WebhookResult(True, record.outcome)
    actor = booking.Actor(f"stripe:{event.id}")
    try:
        outcome = _dispatch(event, actor)
    except OrderTransitionRefused as exc:
        # The order moved on between Stripe's answer and our lock (a concurrent webhook, the
        # expiry, the buyer coming back): the lifecycle refused, nothing changed, and a retry
        # would be refused the same way. Never a 500 to Stripe.
        logger.info("webhook %s (%s): %s", event.id, event.type, exc.message)
        outcome = "nothing to do: order moved on"
    except stripe.InvalidRequestError as exc:
        # resource_missing: a session of another integration, mode or account on the same
        # endpoint. Nothing of ours to change; answering 200 stops Stripe's retries.
        logger.warning("webhook %s (%s) names an object Stripe does not know: %s", event.id, event.type, exc)
        outcome = "ignored: unknown object"
    except stripe.StripeError as exc:
        # Connection, rate limit, 5xx, or our own key refused: all worth Stripe's retry.
        logger.warning("Stripe unavailable while handling %s: %s", event.id, exc)
        raise StripeUnavailable(str(exc)) from exc
    StripeEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now(), outcome=outcome[:200])
    return WebhookResult(False, outcome)


def _dispatch(event: stripe.Event, actor: booking.Actor) -> str:
    obj = event.data.object
    if getattr(event, "livemode", False) != _live_mode():
        return "ignored: other mode"
    if event.type in SESSION_EVENTS:
        return session_sync(session_id=obj.id, actor=actor)
    if event.type in REFUND_EVENTS:
        return _refunds_sync(getattr(obj, "payment_intent", None), actor=actor)
    if event.type.startswith("charge.dispute."):
        return _dispute_sync(obj.id, actor=actor)
    if event.type.startswith("payment_intent."):
        return _payment_intent_sync(obj.id, actor=actor)
    return "ignored"


def _live_mode() -> bool:
    return settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))


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
        return "ignored: unknown order"
    payment = _payment_record(order, session)
    if session.status == "complete" and session.payment_status in ("paid", "no_payment_required"):
        return _paid(order, payment, session, actor)
    if session.status == "complete":
        intent = (
            client.v1.payment_intents.retrieve(session.payment_intent) if session.payment_intent else None
        )
        if intent is not None and intent.status in ("requires_payment_method", "canceled"):
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.EXPIRED)
            try:
                booking.order_payment_failed(order_id=order.pk, actor=actor, reason="delayed payment failed")
            except OrderTransitionRefused:
                return "nothing to do"
            _email_on_commit(order.pk, "payment_failed")
            return "payment failed"
        if not _is_current(order, payment):
            return "awaiting payment of a superseded session"
        try:
            booking.order_await_payment(
                order_id=order.pk, until=timezone.now() + AWAITING_PAYMENT_HOLD, actor=actor
            )
        except OrderTransitionRefused:
            return "nothing to do"
        return "awaiting payment"
    if session.status == "expired":
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.OPEN).update(status=PaymentStatus.EXPIRED)
        if order.status != OrderStatus.PAYING or not _is_current(order, payment):
            return "nothing to do"
        if order.expires_at > timezone.now():
            booking.order_resume_holding(order_id=order.pk, actor=actor, reason="payment page expired")
            return "resumed holding"
        booking.order_expire(order_id=order.pk, actor=actor, reason="payment page expired")
        return "expired"
    return "session open"


def _is_current(order: Order, payment: Payment) -> bool:
    return payment.basket_version == order.basket_version


def _paid(order: Order, payment: Payment, session, actor: booking.Actor) -> str:
    """A completed, paid session: confirm the order, or give the money back."""
    now = timezone.now()
    with seat_transaction():
        # One payment decision per order at a time: order row first, then the payment row.
        order = Order.objects.select_for_update().select_related("showtime").get(pk=order.pk)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        captured = session.amount_total or 0
        if payment.amount_captured != captured or payment.payment_intent != (session.payment_intent or ""):
            payment.amount_captured = captured
            payment.payment_intent = session.payment_intent or ""
            payment.save(update_fields=["amount_captured", "payment_intent", "updated_at"])
        if payment.status == PaymentStatus.PAID:
            return "already paid"
        if payment.status == PaymentStatus.REFUNDED or payment.amount_refunded >= captured > 0:
            return "already refunded"
        code, reason, order_too = _refusal(order, payment, session, now)
        if code is None:
            result = booking.booking_confirm(
                order_id=order.pk,
                actor=actor,
                payment_method=PaymentMethod.STRIPE,
                payment_reference=session.payment_intent or "",
                now=now,
            )
            if result.outcome == booking.ConfirmOutcome.CONFIRMED:
                payment.status = PaymentStatus.PAID
                payment.save(update_fields=["status", "updated_at"])
                if session.customer_details and session.customer_details.email and not order.email:
                    Order.objects.filter(pk=order.pk, email="").update(email=session.customer_details.email)
                _email_on_commit(order.pk, "confirmed", details={"payment_method": PaymentMethod.STRIPE})
                return "confirmed"
            reason = _("Seats %(seats)s were taken by someone else before your payment arrived.") % {
                "seats": ", ".join(result.lost_seats)
            }
            code, order_too = "seats lost", True
    # Refunded outside the locks: Stripe is called with no seat or order row locked.
    refund_id = payment_refund(payment_id=payment.pk, actor=actor, reason=reason, order_too=order_too)
    order.refresh_from_db()
    # With `order_too` the order's refund transition told the customer (booking's refund email).
    if order.status == OrderStatus.PAID:
        # A second payment: the tickets stand.
        _email_on_commit(order.pk, "payment_returned", reason, {"amount": payment.amount_captured})
    elif not order_too:
        # Only this payment went back; the order (cancelled, or a basket that moved on) stays.
        _email_on_commit(order.pk, "refunded", reason, {"amount": payment.amount_captured, "seats": []})
    logger.info("refunded %s of %s (%s): %s", refund_id, order.reference, code, reason)
    return f"refunded: {code}"


def _refusal(order: Order, payment: Payment, session, now) -> tuple[str | None, str, bool]:
    """Why this paid session must be refunded instead of confirming the order (a short code
    and the customer's reason; None when it may confirm), and
    whether the order itself ends refunded (True) or stands as it is (a paid booking, or a
    basket that moved on to a newer version)."""
    if order.status == OrderStatus.PAID:
        return (
            "duplicate",
            _("Booking %(reference)s was already paid; this second payment was refunded.")
            % {"reference": order.reference},
            False,
        )
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return (
            "cancelled",
            _("Booking %(reference)s had been cancelled.") % {"reference": order.reference},
            False,
        )
    if not _is_current(order, payment):
        return "basket changed", _("The basket changed after this payment page was opened."), False
    if (session.amount_total, (session.currency or "").lower()) != (order.total, order.currency.lower()):
        logger.error(
            "amount mismatch for %s: Stripe %s %s, order %s %s",
            order.reference,
            session.amount_total,
            session.currency,
            order.total,
            order.currency,
        )
        return "amount mismatch", _("The amount paid did not match the booking."), False
    if now >= order.showtime.starts_at:
        return "too late", _("The payment completed after the showtime had started."), True
    return None, "", False


def payment_refund(*, payment_id: int, actor: booking.Actor, reason: str, order_too: bool) -> str:
    """Give back everything a payment captured; one refund per payment, however often asked.

    With `order_too` (the money was the order's: a paid booking cancelled, or a payment whose
    order cannot be confirmed) the order becomes refunded: seats back on sale, tickets void.
    Without it (a duplicate of a paid booking, a superseded basket) the order is untouched.
    """
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    order = payment.order
    refund = stripe_api.client().v1.refunds.create(
        params={
            "payment_intent": payment.payment_intent,
            "reason": "requested_by_customer",
            "metadata": {"order_reference": order.reference, "session": payment.session_id},
        },
        options={"idempotency_key": f"refund-{payment.session_id}"},
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.amount_refunded = payment.amount_captured
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["amount_refunded", "status", "updated_at"])
        ledger_append(
            actor,
            "payment.refund",
            showtime_id=order.showtime_id,
            order=order,
            reason=reason,
            refund=refund.id,
            session=payment.session_id,
            amount=payment.amount_captured,
        )
        if order_too:
            booking.order_mark_refunded(
                order_id=order.pk, actor=actor, reason=reason, refund_reference=refund.id
            )
    return refund.id


def order_refund(*, order_id: int, actor: booking.Actor, reason: str) -> str:
    """Refund an online booking in full (box-office cancellation); idempotent per payment."""
    payment = Payment.objects.filter(order_id=order_id, status=PaymentStatus.PAID).first()
    if payment is None:
        order = Order.objects.get(pk=order_id)
        if order.status == OrderStatus.REFUNDED:  # asked twice: the first refund is the answer
            entry = order.ledger.filter(action="order.refund").order_by("-id").first()
            return entry.data.get("refund", "") if entry else ""
        raise OrderNotOpen(order.reference, order.get_status_display(), OrderStatus.REFUNDED)
    # The order's refund transition emails the customer (once, even if Stripe's refund webhook
    # makes the transition first).
    return payment_refund(payment_id=payment.pk, actor=actor, reason=reason, order_too=True)


def _refunds_sync(intent_id: str | None, *, actor: booking.Actor) -> str:
    """A refund event: believe Stripe's list of refunds for the payment intent, not the event."""
    if not intent_id:
        return "ignored: no payment intent"
    payment = Payment.objects.select_related("order").filter(payment_intent=intent_id).first()
    if payment is None:
        return "ignored: refund for no known payment"
    refunds = stripe_api.client().v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
    refunded = sum(r.amount for r in refunds.data if r.status in ("succeeded", "pending"))
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if refunded <= payment.amount_refunded:
            return "nothing new refunded"
        payment.amount_refunded = min(refunded, payment.amount_captured or refunded)
        fully = payment.amount_captured and payment.amount_refunded >= payment.amount_captured
        was_paid = payment.status == PaymentStatus.PAID
        if fully:
            payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["amount_refunded", "status", "updated_at"])
        ledger_append(
            actor,
            "payment.refunded_at_stripe",
            showtime_id=payment.order.showtime_id,
            order=payment.order,
            amount=payment.amount_refunded,
            session=payment.session_id,
        )
        if fully and was_paid:
            booking.order_mark_refunded(order_id=payment.order_id, actor=actor, reason="refunded at Stripe")
            return "marked refunded"
    return "partial refund noted" if not fully else "refund of a returned payment noted"


def _dispute_sync(dispute_id: str, *, actor: booking.Actor) -> str:
    """A dispute: recorded on the order from Stripe's current view; staff decide what follows."""
    dispute = stripe_api.client().v1.disputes.retrieve(dispute_id)
    payment = Payment.objects.select_related("order").filter(payment_intent=dispute.payment_intent).first()
    if payment is None:
        return "ignored: dispute for no known payment"
    ledger_append(
        actor,
        "payment.dispute",
        showtime_id=payment.order.showtime_id,
        order=payment.order,
        reason=str(dispute.reason or ""),
        dispute=dispute.id,
        status=str(dispute.status),
        amount=dispute.amount,
    )
    return f"dispute {dispute.status}"


def _payment_intent_sync(intent_id: str, *, actor: booking.Actor) -> str:
    """Payment intent events: the session tells the whole story, so sync that."""
    payment = Payment.objects.filter(payment_intent=intent_id).first()
    if payment is None:
        sessions = stripe_api.client().v1.checkout.sessions.list(params={"payment_intent": intent_id})
        if not sessions.data:
            return "ignored: no session for this payment intent"
        return session_sync(session_id=sessions.data[0].id, actor=actor)
    return session_sync(session_id=payment.session_id, actor=actor)


def _email_on_commit(order_id: int, kind: str, reason: str = "", details: dict | None = None) -> None:
    """Emails about payments (the booking services send those about order changes)."""
    reason = str(reason)
    transaction.on_commit(lambda: order_email_queue(order_id, kind, reason, details))
