"""Moviegoer pages: now showing, the seat map, holding and releasing seats, the booking."""

import gzip
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotModified
from django.middleware.gzip import re_accepts_gzip as ACCEPTS_GZIP
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition, require_GET, require_POST
from django.views.decorators.vary import vary_on_cookie, vary_on_headers

from booking import buyer, metrics, seatchange, selectors, services
from booking.exceptions import (
    BookingError,
    CompanionNeeded,
    HoldLimitReached,
    InvalidChoice,
    InvalidSeat,
    NoSeatsTogether,
    NotYourHold,
    OrderAtPayment,
    SalesClosed,
    SeatsBusy,
    SeatStranded,
    SeatUnavailable,
    TooManyOrders,
)
from booking.links import booking_token_valid
from booking.models import Channel, Order, Showtime
from booking.ratelimit import client_network, rate_limited
from booking.tickets import booking_ics, has_tickets, tickets_pdf, tickets_with_qr

# DESIGN.md's status codes for each domain error.
ERROR_STATUS = {
    InvalidSeat: 400,
    InvalidChoice: 400,
    NoSeatsTogether: 409,
    SeatStranded: 409,
    CompanionNeeded: 409,
    HoldLimitReached: 400,
    SeatUnavailable: 409,
    OrderAtPayment: 409,
    NotYourHold: 403,
    SalesClosed: 410,
    SeatsBusy: 503,
    TooManyOrders: 429,
}


BUYER_SIGNING_SALT = "seatlock.buyer-token"


def _buyer_field(request: HttpRequest) -> str:
    """The signed buyer token the seat form carries: the session's, or a fresh one.

    Viewing a seat map writes no session; the page hands the buyer token to the browser
    instead, and its first hold adopts it. Two quick first clicks, sent before the first
    session cookie came back, so post the same token and share one basket.
    """
    token = buyer.session_token(request) or secrets.token_hex(16)
    return signing.dumps(token, salt=BUYER_SIGNING_SALT)


def _owner_token(request: HttpRequest, *, create: bool) -> str | None:
    """The browser's buyer identity: the session's (booking.buyer: from its cookie when it has
    one), else the page's signed token (adopted), else, for a hold, a new one. Raises
    BadSignature for a forged or damaged page token."""
    token = buyer.session_token(request)
    posted = request.POST.get("buyer")
    if token is None and posted:
        token = request.session["owner_token"] = signing.loads(posted, salt=BUYER_SIGNING_SALT)
    if token is None and create:
        token = request.session["owner_token"] = secrets.token_hex(16)
    return token


def _remember_order(request: HttpRequest, showtime: Showtime, order: Order | None) -> dict | None:
    """What the buyer cookie should now say (booking.buyer), or None when it says it already:
    its orders with `order` for this showtime, when that is new or the cookie is missing. A
    brand-new session keeps a new order in the session instead (its key, which signs the
    cookie, is drawn only when the response saves it)."""
    orders = dict(buyer.remembered_orders(request))
    key = str(showtime.pk)
    new = order is not None and orders.get(key) != order.pk
    if new:
        orders.pop(key, None)  # back in as the newest
        orders = dict(list(orders.items())[-(buyer.ORDERS_KEPT - 1) :]) | {key: order.pk}
    if request.session.session_key is None:
        if new:
            request.session["orders"] = orders
        return None
    if new or buyer.remembered(request) is None:
        return orders
    return None


def _keep_buyer(request: HttpRequest, response: HttpResponse, orders: dict | None) -> HttpResponse:
    """The buyer cookie set to `orders` (see _remember_order) and the session's buyer token."""
    if orders is not None and (token := buyer.session_token(request)) is not None:
        response.set_cookie(
            buyer.BUYER_COOKIE,
            buyer.signed_cookie(request.session.session_key, token, orders),
            max_age=settings.SESSION_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
    return response


def _remembered_order_id(request: HttpRequest, showtime_id: int) -> int | None:
    return buyer.remembered_orders(request).get(str(showtime_id))


def _showtime(showtime_id: int) -> Showtime:
    try:
        return selectors.showtime_for_request(showtime_id)
    except Showtime.DoesNotExist:
        raise Http404("No such showtime.") from None


def _seat_map_context(
    showtime: Showtime, *, order: Order | None, codes: list[str] | None = None, rows=None
) -> dict:
    return {
        **selectors.seat_map(showtime=showtime, order=order, codes=codes, rows=rows),
        **_sales(showtime),
    }


def _sales(showtime: Showtime) -> dict:
    return {"sales_open": showtime.sales_open(), "hold_minutes": max(1, settings.HOLD_SECONDS // 60)}


@require_GET
def now_showing(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/now_showing.html", {"films": selectors.films_now_showing()})


def _page(request: HttpRequest, showtime: Showtime, *, order: Order | None, frame=None) -> dict:
    """The whole seat-map page's context (the partials need less); with a `frame` (a visitor
    without a basket), its map is the frame's, drawn once for all (see _page_from_frame)."""
    if frame is None:
        context = _seat_map_context(showtime, order=order)
        etag = _etag_of(request, showtime.pk, context)
    else:
        context = {
            **selectors.seat_map_of_frame(frame),
            **_sales(showtime),
            # As _seat_map_full draws it for this visitor, but for the ETag, which only polls
            # without a cursor use (seatmap.js then takes the first answer's).
            "seat_map_drawn": mark_safe(gzip.decompress(_frame_whole_map(request, frame)).decode()),  # noqa: S308
        }
        etag = None
    return {
        **context,
        "sold_out": selectors.seat_map_sold_out(context["states"]),
        "started": showtime.starts_at <= timezone.now(),
        "buyer_token": _buyer_field(request),
        "max_seats": services.seat_cap(Channel.ONLINE),
        "etag": etag,
    }


@require_GET
# Compressed although it carries secrets: BREACH needs request input reflected next to them,
# and the page reflects none (an int path); its CSRF token is masked anew for every response.
@gzip_page
# The page carries a buyer token of its own: no shared cache may hand it to someone else.
@cache_control(private=True, no_cache=True)
@vary_on_cookie
def showtime_detail(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = _showtime(showtime_id)
    order = selectors.open_order(showtime_id=showtime.pk, owner_token=_owner_token(request, create=False))
    if order is None and (page := _page_from_frame(request, showtime)) is not None:
        return render(request, "booking/showtime.html", page)
    # The page looked the order up: remembered again if the browser's memory lost it (two tabs
    # opening orders at once each send the cookie they read, and the last one stays).
    remember = _remember_order(request, showtime, order)
    return _keep_buyer(
        request, render(request, "booking/showtime.html", _page(request, showtime, order=order)), remember
    )


def _page_from_frame(request: HttpRequest, showtime: Showtime) -> dict | None:
    """The page of a visitor without a basket, its map the showtime's shared frame (what polls
    of such viewers answer from: at most a second or so old, and the page's cursor is the
    frame's, so the first poll brings what changed since): no database read, and the map drawn
    once per frame for everyone who opens the page — when a premiere goes on sale, that is
    everyone at once. None without a frame (no cache, or another request is reading the first)."""
    frame = selectors.seat_map_frame(showtime_id=showtime.pk, load_showtime=_showtime)
    if frame is None:
        return None
    return _page(request, showtime, order=None, frame=frame)


def _seat_map_etag(request: HttpRequest, showtime_id: int) -> str | None:
    return selectors.seat_map_etag(
        showtime_id=showtime_id, viewer_order_id=_remembered_order_id(request, showtime_id)
    )


def _etag_of(request: HttpRequest, showtime_id: int, context: dict) -> str | None:
    """The whole map's ETag from the read that drew it (as _seat_map_etag computes it)."""
    return selectors.seat_map_etag_of(
        showtime_id=showtime_id,
        viewer_order_id=_remembered_order_id(request, showtime_id),
        cursor=context["cursor"],
        seats=len(context["states"]),
    )


def _seat_map_full(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """The whole partial with its ETag. A client that offers one (If-None-Match) is answered by
    one aggregate query first, and a match costs no rendering; otherwise the tag comes from the
    read that draws the map (no second query)."""
    if "If-None-Match" in request.headers:
        return _seat_map_full_if_changed(request, showtime_id)
    response, context = _seat_map_drawn(request, showtime_id)
    if etag := _etag_of(request, showtime_id, context):
        response["ETag"] = etag
    return response


@condition(etag_func=_seat_map_etag)
def _seat_map_full_if_changed(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return _seat_map_drawn(request, showtime_id)[0]


def _seat_map_drawn(request: HttpRequest, showtime_id: int) -> tuple[HttpResponse, dict]:
    """The viewer's own seats by the order id their browser remembers (as the ETag and the
    polls take it; every hold remembers its order), not by a query for the open order: a seat
    is drawn as theirs only while it is held for that order and its hold runs (the statement of
    selectors.seat_map_read), so an order that ended since draws nothing as theirs. The partial
    draws no basket."""
    context = selectors.seat_map_partial(
        showtime=_showtime(showtime_id), viewer_order_id=_remembered_order_id(request, showtime_id)
    )
    return render(request, "booking/showtime.html#seat-map", context), context


@require_GET
# The partial carries no secret (seat states anyone may see, no token): BREACH finds nothing.
# GZip weakens the ETag (W/"…"); If-None-Match compares weakly, so 304s still match.
@gzip_page
@cache_control(no_cache=True)
@vary_on_cookie
def seat_map(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """The polled partial. A poll with the cursor of its last answer (`since`) gets 304 when
    nothing changed (no query while the cache vouches for its token), else only the changed
    seats as out-of-band swaps and a new cursor, or the whole map when too far behind."""
    since = selectors.MapCursor.parse(request.GET.get("since"))
    if since is None:
        return _seat_map_full(request, showtime_id)  # with its ETag: a 304 costs one aggregate
    answer_key = _frame_answer_key(showtime_id, since)
    # No session, no basket: the answer is everyone's with this cursor, and the one this
    # process gave a moment ago serves (selectors.seat_map_poll_memo: no cache round trip).
    memory = None
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        memory = selectors.seat_map_poll_memo_begin(showtime_id)
        if (kept := selectors.seat_map_poll_memo(showtime_id, answer_key)) is not None:
            return _poll_response(request, kept)
    cached = selectors.seat_map_poll_cached(showtime_id=showtime_id, answer_key=answer_key)
    if cached.token == since.token:
        return _shared_poll_response(request, showtime_id, answer_key, selectors.NOT_MODIFIED, memory)
    viewer_order_id = _remembered_order_id(request, showtime_id)
    # Nothing of theirs on the map: the shared frame answers (see selectors.seat_map_frame).
    if viewer_order_id is None and (answer := _seat_map_from_frame(request, showtime_id, since, cached)):
        return _shared_poll_response(request, showtime_id, answer_key, answer, memory)
    showtime = _showtime(showtime_id)
    read = selectors.seat_map_read(showtime_id=showtime.pk, viewer_order_id=viewer_order_id, since=since)
    if cached.token is None:
        # Kept only where no token is (an `add`): when the cache just showed one (a commit's
        # marker, in a sale), the add would change nothing and cost a round trip.
        selectors.seat_map_token_remember(showtime_id=showtime.pk, token=read.cursor.token)
    if read.cursor.token == since.token:
        return HttpResponseNotModified()
    if selectors.seat_map_too_far_behind(read, since):
        return _seat_map_full(request, showtime_id)
    context = {"showtime": showtime, "geometry": showtime.hall.geometry, "cursor": read.cursor}
    response = render(
        request, "booking/showtime.html#seat-delta", {**context, "changed": read.states.values()}
    )
    response["HX-Reswap"] = "none"  # out-of-band swaps only: the map stays
    return response


def _shared_poll_response(request: HttpRequest, showtime_id: int, key: str, answer, memory):
    """The answer of a poll from the cache, kept in this process (`memory`: what the poll began
    with, for a visitor without a session) for the next such visitor who brings the same cursor."""
    if memory is not None:
        selectors.seat_map_poll_memo_remember(showtime_id, key, answer, began=memory)
    return _poll_response(request, answer)


def _poll_response(request: HttpRequest, answer) -> HttpResponse:
    if answer == selectors.NOT_MODIFIED:
        return HttpResponseNotModified()
    return _frame_response(request, *answer)


def _frame_whole_map(request: HttpRequest, frame) -> bytes:
    """The whole map partial of a frame, drawn and compressed once per (frame, language) and
    then served from the cache; as `_seat_map_full` draws it for a viewer without a basket."""
    showtime = frame.showtime
    key = f"seatmap:whole-gz:{showtime.pk}:{get_language()}:{frame.cursor.token}"
    compressed = selectors.seat_map_answer_cached(key)
    if compressed is None:
        context = {
            "showtime": showtime,
            "geometry": showtime.hall.geometry,
            "states": frame.views,
            "cursor": frame.cursor,
        }
        compressed = _compressed(render_to_string("booking/showtime.html#seat-map", context, request))
        selectors.seat_map_answer_remember(key, compressed)
    return compressed


def _compressed(content: str) -> bytes:
    """An answer many viewers share, gzipped once when drawn: gzip_page would compress it again
    for every response (a whole map is 34 KB, 4 KB gzipped; also what the cache then carries).
    The partial carries no secret, so BREACH does not apply (see seat_map)."""
    return gzip.compress(content.encode(), mtime=0)


def _seat_map_from_frame(request: HttpRequest, showtime_id: int, since, cached):
    """A poll of a viewer without a basket, answered from the showtime's shared frame
    (selectors.seat_map_frame): 304, or the seats changed since the cursor, or the whole map
    when a delta would not pay — each answer drawn once per (cursor, frame, language), then
    served from the cache. The answer: NOT_MODIFIED or (whole map?, gzipped content); None: ask
    the database (no cache, a cursor newer than the frame or whose map is not known). A frame
    older than the cursor would show the viewer seats going back in time."""
    if cached.frame is not None:
        token, at = cached.frame
        if since.at > at:
            return None
        if answer := _frame_answer(since, token, cached.answer):
            return answer
    frame = selectors.seat_map_frame(showtime_id=showtime_id, load_showtime=_showtime)
    if frame is None or since.at > frame.cursor.at:
        return None
    # The frame may be the one before (another request is reading the next): the answer for
    # this cursor may have been drawn from it already.
    if answer := _frame_answer(since, frame.cursor.token, cached.answer):
        return answer
    changed = selectors.seat_map_frame_delta(frame=frame, since=since)
    if changed is None:
        return None
    whole = changed == selectors.WHOLE_MAP
    if whole:
        # A sale moves faster than a viewer's poll interval: every viewer is "too far behind"
        # at once. One drawing of the frame's whole map serves them all, where each drawing its
        # own (a database read and a render each) sank the map's pool (docs/benchmarks.md).
        compressed = _frame_whole_map(request, frame)
    else:
        context = {
            "showtime": frame.showtime,
            "geometry": frame.showtime.hall.geometry,
            "cursor": frame.cursor,
            "changed": changed,
        }
        compressed = _compressed(render_to_string("booking/showtime.html#seat-delta", context, request))
    key = _frame_answer_key(showtime_id, since)
    selectors.seat_map_answer_remember(key, (frame.cursor.token, whole, compressed))
    return whole, compressed


def _frame_answer(since, token: str, kept):
    """From a frame's token alone: NOT_MODIFIED when the cursor is the frame's, the answer kept
    for this cursor when it was drawn from that frame; None when there is more to do."""
    if token == since.token:
        return selectors.NOT_MODIFIED
    if kept is not None and kept[0] == token:
        return kept[1:]
    return None


def _frame_answer_key(showtime_id: int, since) -> str:
    """Where the answer for this cursor is kept (gzipped), with the frame it was drawn from."""
    return f"seatmap:answer-gz:{showtime_id}:{get_language()}:{since.token}"


def _frame_response(request: HttpRequest, whole: bool, compressed: bytes) -> HttpResponse:
    """A kept answer as is to a client that accepts gzip (every browser), else unpacked."""
    if ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(compressed)
        response["Content-Encoding"] = "gzip"  # so gzip_page leaves it alone
    else:
        response = HttpResponse(gzip.decompress(compressed))
    patch_vary_headers(response, ("Accept-Encoding",))
    if not whole:
        response["HX-Reswap"] = "none"  # out-of-band swaps only: the map stays
    return response


def _seat_change(request: HttpRequest, showtime_id: int, *, hold: bool) -> HttpResponse:
    showtime = _showtime(showtime_id)
    codes = request.POST.getlist("seat")
    best = hold and "best" in request.POST
    try:
        token = _owner_token(request, create=hold) or ""
    except signing.BadSignature:
        return HttpResponseBadRequest(
            _("This page is out of date: reload it and choose your seats again."),
            content_type="text/plain; charset=utf-8",
        )
    actor = services.Actor.session(token) if token else services.Actor("session:anonymous")
    status, error, order = 200, None, None
    # The seats an htmx response redraws come back from the call itself (one round trip); a
    # best-available hold learns its seats from the call.
    show = _changed_codes(showtime, codes, None) if request.htmx and not best else None
    started = time.perf_counter()
    try:
        if best:
            order = services.seat_hold_best(
                showtime_id=showtime.pk,
                count=_best_count(request.POST["best"]),
                zone=request.POST.get("zone") or None,
                owner_token=token,
                actor=actor,
                client_ip=client_network(request),
                showtime=showtime,
            )
            codes = list(order.seat_codes)
        elif hold:
            order = services.seat_hold(
                showtime_id=showtime.pk,
                codes=codes,
                owner_token=token,
                actor=actor,
                client_ip=client_network(request),
                showtime=showtime,
                show=show,
            )
        else:
            order = services.seat_release(
                showtime_id=showtime.pk,
                codes=codes,
                owner_token=token,
                actor=actor,
                showtime=showtime,
                show=show,
            )
    except BookingError as exc:
        status, error = ERROR_STATUS.get(type(exc), 400), exc
    metrics.seat_change_observe(hold=hold, error=error, seconds=time.perf_counter() - started)
    if error is not None:
        order = (
            error.order
            if error.order_seen
            else selectors.open_order(showtime_id=showtime.pk, owner_token=token)
        )
    remember = _remember_order(request, showtime, order)

    if not request.htmx:
        # Without JavaScript: back to the page (Post/Redirect/Get), the error as a message.
        if error is None:
            return _keep_buyer(request, redirect(showtime.get_absolute_url() + "#basket"), remember)
        messages.error(request, error.message)
        response = render(request, "booking/showtime.html", _page(request, showtime, order=order))
        response.status_code = status
        return _keep_buyer(request, _with_retry_after(response, error), remember)

    # The seats the call was asked to show, unless an error named more or best-available chose them.
    changed = show if error is None and show is not None else _changed_codes(showtime, codes, error)
    rows = error.seat_rows if error is not None else getattr(order, "seat_rows", None)
    context = _seat_map_context(showtime, order=order, codes=changed, rows=rows)
    views = [context["states"][c] for c in changed if c in context["states"]]
    response = HttpResponse(
        seatchange.seat_change(request, context, changed=views, error=error), status=status
    )
    return _keep_buyer(request, _with_retry_after(response, error), remember)


def _best_count(value: str) -> int:
    """The `best` field: a whole number of seats (the service checks the range)."""
    try:
        return int(value)
    except ValueError:
        raise InvalidChoice(_("Say how many seats you want together, as a number.")) from None


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
    real = {code for code in geometry.with_partners(wanted) if code in geometry.by_code}
    # A wheelchair space's companion seat: the basket offers it when it is free.
    real |= {geometry.by_code[c].companion for c in real if geometry.by_code[c].companion}
    return sorted(real)


@require_POST
@vary_on_headers("HX-Request", "Cookie")  # the buyer is its cookies (the session's or booking.buyer's)
@rate_limited("hold")
def hold(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return _seat_change(request, showtime_id, hold=True)


@require_POST
@vary_on_headers("HX-Request", "Cookie")
@rate_limited("hold")
def release(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return _seat_change(request, showtime_id, hold=False)


def _booking(request: HttpRequest, reference: str) -> Order:
    """The signed link's check, the same for the booking page and its downloads."""
    if not booking_token_valid(reference, request.GET.get("t", "")):
        raise Http404
    return get_object_or_404(
        Order.objects.select_related("showtime__film", "showtime__hall__cinema"), reference=reference
    )


@require_GET
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = _booking(request, reference)
    context = {"order": order, "tickets": tickets_with_qr(order), "token": request.GET["t"]}
    return render(request, "booking/booking.html", context)


def _no_tickets(order: Order) -> HttpResponse:
    return HttpResponse(
        _("Booking %(ref)s has no valid tickets (%(status)s).")
        % {"ref": order.reference, "status": order.get_status_display()},
        status=404,
        content_type="text/plain; charset=utf-8",
    )


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
# Tickets are bearer tokens: no cache, shared or private, keeps a copy.
@cache_control(private=True, no_store=True)
def booking_pdf(request: HttpRequest, reference: str) -> HttpResponse:
    order = _booking(request, reference)
    if not has_tickets(order):
        return _no_tickets(order)
    return _download(tickets_pdf(order), "application/pdf", f"seatlock-{order.reference}.pdf")


@require_GET
@cache_control(private=True, no_store=True)
def booking_calendar(request: HttpRequest, reference: str) -> HttpResponse:
    order = _booking(request, reference)
    if not has_tickets(order):
        return _no_tickets(order)
    return _download(booking_ics(order), "text/calendar; charset=utf-8", f"seatlock-{order.reference}.ics")
