"""Who the browser is, and which orders it holds, without reading its session on every click.

A browser's buyer identity (the owner token of its orders) lives in its session: set once, by
its first hold, and never changed under that session's key (a flush or a cycled key makes a new
session). Reading it cost a cache round trip on every hold, release and page, and the polls'
ETag and the buyer's own map need the order the browser holds per showtime, which a query would
cost again.

Both travel in one signed cookie (`seatlock_buyer`: HttpOnly, the session cookie's Secure and
SameSite), `{"buyer": token, "orders": {showtime id: order id}}`, whose signature is salted with
the session's key: it holds only what the session says (it is written from the session, or
with what this request just put there), a copy in another browser or one left from before a new
session does not verify, and without it the session answers as before. The views write it
when it is missing or an order is new (`views.public._keep_buyer`); a brand-new session, whose
key is drawn only when the response saves it, keeps a new order in the session until the
browser's next request writes the cookie.
"""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

BUYER_COOKIE = "seatlock_buyer"
ORDERS_KEPT = 20  # showtimes remembered; the oldest go first

_UNREAD = object()


def salt(session_key: str) -> str:
    return f"seatlock.buyer:{session_key}"


def remembered(request: HttpRequest) -> dict | None:
    """The cookie's {"buyer", "orders"} when it verifies for this browser's session, else None
    (read once per request)."""
    found = getattr(request, "_seatlock_buyer", _UNREAD)
    if found is not _UNREAD:
        return found
    found = None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    signed = request.COOKIES.get(BUYER_COOKIE)
    if session_key and signed:
        try:
            value = signing.loads(signed, salt=salt(session_key), max_age=settings.SESSION_COOKIE_AGE)
        except signing.BadSignature:
            value = None
        if (
            isinstance(value, dict)
            and isinstance(value.get("buyer"), str)
            and isinstance(value.get("orders"), dict)
        ):
            found = value
    request._seatlock_buyer = found
    return found


def session_token(request: HttpRequest) -> str | None:
    """The buyer identity of this browser's session: from the cookie, else from the session."""
    if (cookie := remembered(request)) is not None:
        return cookie["buyer"]
    return request.session.get("owner_token")


def remembered_orders(request: HttpRequest) -> dict[str, int]:
    """{showtime id: order id} this browser holds, as far as it remembers."""
    if (cookie := remembered(request)) is not None:
        return cookie["orders"]
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return {}
    return request.session.get("orders", {})


def signed_cookie(session_key: str, token: str, orders: dict[str, int]) -> str:
    return signing.dumps({"buyer": token, "orders": orders}, salt=salt(session_key))
