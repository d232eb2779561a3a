"""Checkout and the Stripe webhook. Only the webhook confirms a payment."""

import logging
import time

import stripe
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from booking import selectors
from booking.exceptions import BookingError
from booking.links import booking_token_valid, booking_url
from booking.models import Order, OrderStatus, Showtime
from booking.ratelimit import rate_limited
from booking.services import Actor
from checkout import metrics, services
from checkout.forms import CheckoutForm

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
WEBHOOK_RETRY_AFTER_SECONDS = 30


def _from_the_future(signature: str) -> bool:
    """stripe-python only refuses timestamps older than its tolerance; a timestamp ahead of
    our clock by more than that is as suspicious (a replay prepared in advance)."""
    for part in signature.split(","):
        key, _sep, value = part.partition("=")
        if key.strip() == "t":
            try:
                return int(value) > time.time() + stripe.Webhook.DEFAULT_TOLERANCE
            except ValueError:
                return False
    return False


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url, permanent=False)


@require_POST
@vary_on_headers("HX-Request")
@rate_limited("checkout")
def checkout_start(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = get_object_or_404(Showtime, pk=showtime_id)
    token = request.session.get("owner_token")
    order = selectors.open_order(showtime_id=showtime.pk, owner_token=token)
    form = CheckoutForm(request.POST)
    if order is None:
        messages.error(request, _("You hold no seats for this showtime (your hold may have run out)."))
        return _redirect(request, showtime.get_absolute_url())
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("email", [_("Enter a valid email address.")])))
        return _redirect(request, showtime.get_absolute_url())
    try:
        url = services.checkout_start(
            order_id=order.pk, email=form.cleaned_data["email"], actor=Actor.session(token)
        )
    except BookingError as exc:
        messages.error(request, exc.message)
        return _redirect(request, showtime.get_absolute_url())
    return _redirect(request, url)


def _order_from_link(request: HttpRequest, reference: str) -> Order:
    if not booking_token_valid(reference, request.GET.get("t", "")):
        raise Http404
    return get_object_or_404(
        Order.objects.select_related("showtime__film", "showtime__hall"), reference=reference
    )


@require_GET
@vary_on_headers("HX-Request")
def checkout_return(request: HttpRequest, reference: str) -> HttpResponse:
    """Back from Stripe: wait for the webhook. This page never confirms anything itself."""
    order = _order_from_link(request, reference)
    if order.status == OrderStatus.PAID:
        return _redirect(request, booking_url(order))
    template = "checkout/return.html#return-status" if request.htmx else "checkout/return.html"
    context = {"order": order, "token": request.GET["t"], "sales_open": order.showtime.sales_open()}
    return render(request, template, context)


PAYMENT_UNDER_WAY = (OrderStatus.PAYING, OrderStatus.AWAITING_PAYMENT)


def _back_to_seats(request: HttpRequest, showtime: Showtime) -> HttpResponse:
    """Where a buyer without a basket goes: the showtime while it still sells, else home."""
    if showtime.sales_open(timezone.now()):
        return redirect(showtime.get_absolute_url())
    messages.info(request, _("Online sales for this showtime have closed."))
    return redirect("booking:home")


@require_GET
def checkout_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """The Checkout Session's cancel_url: the buyer left the payment page, or its link back
    after the page expired (their hold ran out while they were on it). Never a dead end."""
    order = _order_from_link(request, reference)
    order = services.checkout_abandon(order=order, actor=Actor(f"session:{order.owner_token[:12]}"))
    live = order.expires_at > timezone.now()
    if order.status == OrderStatus.HOLDING and live:
        messages.info(request, _("Payment cancelled. Your seats are still held for you."))
        return redirect(order.showtime.get_absolute_url())
    if order.status == OrderStatus.PAID:
        return redirect(booking_url(order))
    if order.status == OrderStatus.REFUNDED or (order.status in PAYMENT_UNDER_WAY and live):
        # Paid at Stripe after all: the return page waits for the webhook, or says the refund.
        return redirect(f"{reverse('checkout:return', args=[order.reference])}?t={request.GET['t']}")
    messages.warning(
        request,
        _(
            "Your time to pay ran out while you were on the payment page, so your seats were "
            "released and nothing was charged. Choose seats again."
        ),
    )
    return _back_to_seats(request, order.showtime)


def _well_formed(event) -> bool:
    """Signed by Stripe is not the same as shaped like an event (the fuzz tests made sure)."""
    try:
        return (
            isinstance(event.id, str)
            and isinstance(event.type, str)
            and isinstance(getattr(event.data.object, "id", None), str)
        )
    except (AttributeError, KeyError, TypeError):
        return False


@csrf_exempt  # Stripe cannot send a CSRF token: the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if int(request.headers.get("Content-Length") or 0) > MAX_WEBHOOK_BYTES:
        metrics.webhooks.labels("bad_payload").inc()
        return HttpResponse("Payload too large.", status=413)
    payload = request.body
    if len(payload) > MAX_WEBHOOK_BYTES:
        metrics.webhooks.labels("bad_payload").inc()
        return HttpResponse("Payload too large.", status=413)
    signature = request.headers.get("Stripe-Signature", "")
    if _from_the_future(signature):
        logger.warning("webhook signed in the future refused")
        metrics.webhooks.labels("bad_signature").inc()
        return HttpResponseBadRequest("Invalid signature: timestamp outside the tolerance.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError:
        logger.warning("webhook with a bad signature refused")
        metrics.webhooks.labels("bad_signature").inc()
        return HttpResponseBadRequest("Invalid signature.")
    except (ValueError, TypeError, AttributeError, KeyError):
        metrics.webhooks.labels("bad_payload").inc()
        return HttpResponseBadRequest("Invalid payload.")
    if not _well_formed(event):
        metrics.webhooks.labels("bad_payload").inc()
        return HttpResponseBadRequest("Invalid payload: not a Stripe event.")
    try:
        result = services.webhook_receive(event=event)
    except services.StripeUnavailable:
        metrics.webhooks.labels("unavailable").inc()
        response = HttpResponse("Stripe unavailable; retry later.", status=503, content_type="text/plain")
        response["Retry-After"] = str(WEBHOOK_RETRY_AFTER_SECONDS)
        return response
    metrics.webhooks.labels(metrics.webhook_outcome(result.outcome, duplicate=result.duplicate)).inc()
    return HttpResponse("duplicate" if result.duplicate else result.outcome, content_type="text/plain")
