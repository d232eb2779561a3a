"""Every error under /api/ is JSON: `{"error": <code>, "detail": <text>}`.

Domain errors of the booking services get the status codes of the HTML views (DESIGN.md),
with a machine-readable code; a 409 for taken seats also names them in `seats`.
"""

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.exceptions import KeyOrderLimitReached
from booking.exceptions import (
    BookingError,
    CompanionNeeded,
    HoldLimitReached,
    InvalidChoice,
    InvalidSeat,
    NoSeatsTogether,
    NotYourHold,
    OrderAtPayment,
    OrderTransitionRefused,
    SalesClosed,
    SeatsBusy,
    SeatStranded,
    SeatUnavailable,
    TooManyOrders,
)
from checkout.services import PaymentUnavailable

# Looked up along the exception's MRO, so a subclass may have its own entry.
BOOKING_ERRORS: dict[type[BookingError], tuple[int, str]] = {
    InvalidSeat: (400, "invalid_seat"),
    HoldLimitReached: (400, "hold_limit_reached"),
    SeatUnavailable: (409, "seat_unavailable"),
    InvalidChoice: (400, "invalid_choice"),
    NoSeatsTogether: (409, "no_seats_together"),
    SeatStranded: (409, "seat_stranded"),
    CompanionNeeded: (409, "companion_needed"),
    NotYourHold: (409, "seat_not_held"),
    OrderAtPayment: (409, "order_at_payment"),
    OrderTransitionRefused: (409, "order_not_open"),
    SalesClosed: (410, "sales_closed"),
    TooManyOrders: (429, "too_many_orders"),
    KeyOrderLimitReached: (429, "too_many_orders"),
    SeatsBusy: (503, "seats_busy"),
    PaymentUnavailable: (503, "payment_unavailable"),
}
SEATS_BUSY_RETRY_AFTER = 1  # a lock wait: the other buyer's transaction is short


class ApiError(exceptions.APIException):
    """An error the API itself raises, with its own code (e.g. `not_supported`)."""

    def __init__(self, status_code: int, code: str, detail: str, *, retry_after: int | None = None):
        super().__init__(detail, code)
        self.status_code = status_code
        self.error_code = code
        self.wait = retry_after  # DRF's handler turns it into Retry-After


def error_body(code: str, detail: str, **extra) -> dict:
    return {"error": code, "detail": detail, **extra}


def booking_error_response(exc: BookingError) -> Response:
    status, code = next(
        (BOOKING_ERRORS[cls] for cls in type(exc).__mro__ if cls in BOOKING_ERRORS), (400, "booking_error")
    )
    named = SeatUnavailable | SeatStranded | CompanionNeeded
    extra = {"seats": list(exc.seats)} if isinstance(exc, named) else {}
    response = Response(error_body(code, exc.message, **extra), status=status)
    if isinstance(exc, SeatsBusy):
        response["Retry-After"] = str(SEATS_BUSY_RETRY_AFTER)
    elif isinstance(exc, TooManyOrders | KeyOrderLimitReached):
        response["Retry-After"] = str(settings.API_RATE_LIMITS["window"])
    elif status == 503:
        response["Retry-After"] = str(settings.OUTAGE_RETRY_AFTER_SECONDS)
    return response


def _flatten(detail) -> str:
    """DRF's nested validation messages as one readable sentence list."""
    if isinstance(detail, dict):
        return " ".join(f"{field}: {_flatten(value)}" for field, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, BookingError):
        return booking_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500, turned into JSON by api.middleware
    if isinstance(exc, ApiError):
        code = exc.error_code
    elif isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    else:
        code = exc.default_code
    extra = {"fields": exc.detail} if isinstance(exc, exceptions.ValidationError) else {}
    response.data = error_body(code, _flatten(exc.detail), **extra)
    return response
