"""Moviegoer pages: now showing, the seat map, holding and releasing seats, the booking."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from booking import selectors, services
from booking.exceptions import (
    BookingError,
    HoldLimitReached,
    InvalidSeat,
    NotYourHold,
    OrderAtPayment,
    SalesClosed,
    SeatsBusy,
    SeatUnavailable,
    TooManyOrders,
)
from booking.links import booking_token_valid
from booking.models import Order, Showtime
from booking.ratelimit import client_ip, rate_limited
from booking.tickets import tickets_with_qr
from checkout.forms import CheckoutForm

# DESIGN.md's status codes for each domain error.
ERROR_STATUS = {
    InvalidSeat: 400,
    HoldLimitReached: 400,
    SeatUnavailable: 409,
    OrderAtPayment: 409,
    NotYourHold: 403,
    SalesClosed: 410,
    SeatsBusy: 503,
    TooManyOrders: 429,
}


def _owner_token(request: HttpRequest, *, create: bool) -> str | None:
    """The browser's buyer identity; created only when it first holds (no session per poll)."""
    token = request.session.get("owner_token")
    if token is None and create:
        token = request.session["owner_token"] = secrets.token_hex(16)
    return token


def _remember_order(request: HttpRequest, showtime: Showtime, order: Order | None) -> None:
    """The poll's ETag needs the viewer's order id; the session has it without a query."""
    orders = request.session.get("orders", {})
    key = str(showtime.pk)
    if order is not None and orders.get(key) != order.pk:
        request.session["orders"] = {**orders, key: order.pk}


def _remembered_order_id(request: HttpRequest, showtime_id: int) -> int | None:
    return request.session.get("orders", {}).get(str(showtime_id))


def _showtime(showtime_id: int) -> Showtime:
    return get_object_or_404(
        Showtime.objects.select_related("film", "hall__cinema").defer("hall__layout"), pk=showtime_id
    )


def _seat_map_context(showtime: Showtime, *, order: Order | None, codes: list[str] | None = None) -> dict:
    return {
        **selectors.seat_map(showtime=showtime, order=order, codes=codes),
        "sales_open": showtime.sales_open(),
        "hold_minutes": max(1, settings.HOLD_SECONDS // 60),
        "checkout_form": CheckoutForm(),
    }


@require_GET
def now_showing(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/now_showing.html", {"films": selectors.films_now_showing()})


@require_GET
def showtime_detail(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = _showtime(showtime_id)
    # The buyer identity is made here, not at the first hold, so that two quick first clicks
    # share one session (and one basket) instead of racing to create two.
    order = selectors.open_order(showtime_id=showtime.pk, owner_token=_owner_token(request, create=True))
    context = _seat_map_context(showtime, order=order)
    context["etag"] = selectors.seat_map_etag(
        showtime_id=showtime.pk, viewer_order_id=_remembered_order_id(request, showtime.pk)
    )
    return render(request, "booking/showtime.html", context)


@require_GET
def seat_map(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """The polled partial: a matching ETag costs one aggregate query and no rendering."""
    order_id = _remembered_order_id(request, showtime_id)
    etag = selectors.seat_map_etag(showtime_id=showtime_id, viewer_order_id=order_id)
    if etag is None:
        raise Http404
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        showtime = _showtime(showtime_id)
        order = selectors.open_order(showtime_id=showtime_id, owner_token=_owner_token(request, create=False))
        response = render(request, "booking/showtime.html#seat-map", _seat_map_context(showtime, order=order))
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    patch_vary_headers(response, ["Cookie", "HX-Request"])
    return response


def _seat_change(request: HttpRequest, showtime_id: int, *, hold: bool) -> HttpResponse:
    showtime = _showtime(showtime_id)
    codes = request.POST.getlist("seat")
    token = _owner_token(request, create=hold) or ""
    actor = services.Actor.session(token) if token else services.Actor("session:anonymous")
    status, error, order = 200, None, None
    try:
        if hold:
            order = services.seat_hold(
                showtime_id=showtime.pk,
                codes=codes,
                owner_token=token,
                actor=actor,
                client_ip=client_ip(request),
            )
        else:
            order = services.seat_release(
                showtime_id=showtime.pk, codes=codes, owner_token=token, actor=actor
            )
    except BookingError as exc:
        status, error = ERROR_STATUS.get(type(exc), 400), exc
    if error is not None:
        order = selectors.open_order(showtime_id=showtime.pk, owner_token=token)
    _remember_order(request, showtime, order)

    if not request.htmx:
        # Without JavaScript: back to the page (Post/Redirect/Get), the error as a message.
        if error is None:
            return redirect(showtime.get_absolute_url() + "#basket")
        messages.error(request, error.message)
        response = render(request, "booking/showtime.html", _seat_map_context(showtime, order=order))
        response.status_code = status
        return _with_retry_after(response, error)

    changed = _changed_codes(showtime, codes, error)
    context = _seat_map_context(showtime, order=order, codes=changed)
    context["changed"] = [context["states"][c] for c in changed if c in context["states"]]
    context["error"] = error
    response = render(request, "booking/showtime.html#seat-change", context, status=status)
    return _with_retry_after(response, error)


def _with_retry_after(response: HttpResponse, error: BookingError | None) -> HttpResponse:
    """Every 503 and 429 says when to come back."""
    if isinstance(error, SeatsBusy):
        response["Retry-After"] = "1"  # a lock wait: the other buyer's transaction is short
    elif isinstance(error, TooManyOrders):
        # The cap counts open holds, which end when paid, released or expired: nothing says
        # which comes first, and waiting out a whole hold (HOLD_SECONDS) would be too long. The
        # hold rate-limit window is the pace this client may ask again at anyway.
        response["Retry-After"] = str(settings.RATE_LIMITS["hold"][2])
    return response


def _changed_codes(showtime: Showtime, codes: list[str], error: BookingError | None) -> list[str]:
    """The seats whose buttons the response re-renders (couple partners included)."""
    wanted = {str(c).strip().upper() for c in codes[: services.MAX_CODES_PER_REQUEST]}
    if error is not None:
        wanted |= set(error.seats)
    geometry = showtime.hall.geometry
    # Only real seats: whatever else was posted is not a seat to draw, nor to query for.
    return sorted(code for code in geometry.with_partners(wanted) if code in geometry.by_code)


@require_POST
@rate_limited("hold")
def hold(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return _seat_change(request, showtime_id, hold=True)


@require_POST
@rate_limited("hold")
def release(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return _seat_change(request, showtime_id, hold=False)


@require_GET
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    if not booking_token_valid(reference, request.GET.get("t", "")):
        raise Http404
    order = get_object_or_404(
        Order.objects.select_related("showtime__film", "showtime__hall__cinema"), reference=reference
    )
    return render(request, "booking/booking.html", {"order": order, "tickets": tickets_with_qr(order)})
