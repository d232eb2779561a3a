"""A database or Redis outage answers 503 with Retry-After instead of a 500, and changes nothing.

Nothing changes because every seat change is one transaction: a request that loses its
database mid-way is rolled back by PostgreSQL, and one that cannot reach it never started.
So the honest answer is "unavailable, try again shortly", in the form the client reads: an
htmx fragment for the seat page's message area, a small page, or JSON under /api/.

Lock timeouts are not outages: the booking services turn them into `SeatsBusy` (a domain error
with its own 503). Neither are other database errors (deadlocks, bad queries): those are bugs
or contention and stay 500s, with Django's usual error report.

Django turns an exception into a response at every middleware layer, so a failure raised by a
later middleware (the session save after the view) never reaches this one as an exception. A
`got_request_exception` receiver marks the request instead, this middleware swaps the 500 for
the 503, and a filter drops Django's error records for a marked request (one warning line per
outage, not a traceback and a "Service Unavailable" error).

Nothing here may touch the database: the pages are rendered without the request (no context
processors, no session, no user).
"""

import logging
import sys

import psycopg
import redis
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

DATABASE = "database"
REDIS = "redis"

# SQLSTATEs that mean "the server is not there for us" rather than "this query failed":
# connection exceptions, the server shutting down or starting up, no connection slot left.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
_MARK = "_seatlock_outage"


def outage_kind(exc: BaseException) -> str | None:
    """`"database"` or `"redis"` when `exc` is a connection failure, else None."""
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return REDIS
    if isinstance(exc, InterfaceError):  # "connection already closed" and the like
        return DATABASE
    if isinstance(exc, OperationalError):
        cause = exc.__cause__
        if not isinstance(cause, psycopg.Error):
            return DATABASE  # raised by Django itself while (re)connecting
        # psycopg gives no SQLSTATE when it could not connect or lost the socket.
        if cause.sqlstate is None or cause.sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return DATABASE
    return None


def _message() -> str:
    seconds = settings.OUTAGE_RETRY_AFTER_SECONDS
    return ngettext(
        "We cannot reach our booking system right now. Nothing was changed: please try again in %(seconds)d second.",
        "We cannot reach our booking system right now. Nothing was changed: please try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}


def outage_response(request: HttpRequest, kind: str) -> HttpResponse:
    setattr(request, _MARK, kind)  # so Django's "Service Unavailable" record is dropped: one line
    logger.warning("%s outage: %s %s answered 503", kind, request.method, request.path)
    context = {"message": _message()}
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": "unavailable", "detail": context["message"]}, status=503)
    elif request.headers.get("HX-Request") == "true":
        # Only the out-of-band message lands (in #seat-status, where a 409 says why); the
        # element that asked (a seat button, the polled map) stays as it is.
        context["oob"] = True
        response = HttpResponse(render_to_string("503.html#seat-status", context), status=503)
        response["HX-Reswap"] = "none"
    else:
        response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(settings.OUTAGE_RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def _mark_failed_request(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """Runs inside Django's `except` block for an exception no middleware handled."""
    kind = outage_kind(sys.exc_info()[1]) if request is not None else None
    if kind is not None:
        setattr(request, _MARK, kind)


class _DropHandledErrors(logging.Filter):
    """Django's own records ("Internal Server Error", "Service Unavailable") for an outage."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(getattr(record, "request", None), _MARK, None) is None


_drop_handled_errors = _DropHandledErrors()


class OutageMiddleware:
    """First in MIDDLEWARE: sees the final response of every later layer."""

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_mark_failed_request, dispatch_uid="seatlock-outage")
        logging.getLogger("django.request").addFilter(_drop_handled_errors)  # idempotent

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        kind = getattr(request, _MARK, None)
        if kind is None or response.status_code != 500:
            return response
        # A later middleware failed, so this answer passed no middleware on its way out: keep
        # the headers they set on the 500 (security policy, Vary), but not its body's.
        outage = outage_response(request, kind)
        for name, value in response.headers.items():
            if name.lower() not in {"content-type", "content-length"}:
                outage.headers.setdefault(name, value)
        return outage

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        kind = outage_kind(exception)
        return outage_response(request, kind) if kind is not None else None
