"""The moviegoer endpoints through the Django test client, against real PostgreSQL."""

import re
import threading
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from booking.buyer import BUYER_COOKIE
from booking.buyer import salt as buyer_salt
from booking.links import booking_token
from booking.models import Order, SeatStatus, ShowSeat
from booking.selectors import SEAT_MAP_MARKUP_VERSION, SEAT_MAP_SOURCES, markup_version
from booking.services import Actor, seat_block, seat_hold
from booking.views.public import BUYER_SIGNING_SALT
from tests.helpers import at_once, db_state, sleep_until


class HtmxClient(Client):
    """What htmx sends: the HX-Request header (django-htmx 1.29 ships no test client)."""

    def __init__(self, **defaults):
        super().__init__(headers={"HX-Request": "true"}, **defaults)


@pytest.fixture
def htmx():
    return HtmxClient()


def url(showtime, action=""):
    return f"/showtimes/{showtime.pk}/{action + '/' if action else ''}"


def state(showtime, code):
    return ShowSeat.objects.get(showtime=showtime, code=code).status


class SeatParser(HTMLParser):
    """The seats of a page or fragment (attributes and text), and the text of elements with an
    id (the phrases seats are named from; their end tags may be left out)."""

    def __init__(self):
        super().__init__()
        self.seats: dict[str, dict] = {}
        self.texts: dict[str, str] = {}
        self._into: tuple[dict, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._into = None
        if "data-seat" in attrs:
            self.seats[attrs["data-seat"]] = {**attrs, "tag": tag, "text": ""}
            self._into = (self.seats[attrs["data-seat"]], "text")
        elif attrs.get("id"):
            self.texts[attrs["id"]] = ""
            self._into = (self.texts, attrs["id"])

    def handle_endtag(self, tag):
        self._into = None

    def handle_data(self, data):
        if self._into is not None:
            target, key = self._into
            target[key] += data


def seats_in(html: str) -> SeatParser:
    parser = SeatParser()
    parser.feed(html)
    parser.close()
    return parser


def seat_states_in(html: str) -> dict[str, str]:
    return {code: attrs["data-state"] for code, attrs in seats_in(html).seats.items()}


def seat_names_in(html: str) -> dict[str, str]:
    """Each seat's accessible name as aria-labelledby joins it (a missing id: KeyError)."""
    parsed = seats_in(html)
    return {
        code: " ".join(parsed.texts[ref] for ref in attrs["aria-labelledby"].split())
        for code, attrs in parsed.seats.items()
    }


def test_now_showing_lists_upcoming_showtimes_only(client, make_showtime, settings):
    settings.SALES_CLOSE_MINUTES = 15
    upcoming = make_showtime()
    closed = make_showtime(starts_in=timedelta(minutes=5))
    html = client.get("/").content.decode()
    assert f'data-showtime="{upcoming.pk}"' in html
    assert f'data-showtime="{closed.pk}"' not in html


def test_seat_map_page_draws_every_seat_with_state_and_label(client, medium_showtime):
    response = client.get(url(medium_showtime))
    html = response.content.decode()
    assert response.status_code == 200
    states = seat_states_in(html)
    assert len(states) == medium_showtime.hall.geometry.seat_count
    assert set(states.values()) == {"available"}
    names = seat_names_in(html)
    assert names["A1"] == "Row A, seat 1, Standard, wheelchair space, €11.50, available"
    assert names["J1"] == "Row J, seat 1, VIP, couple seat, €15.50, available"
    assert "<i></i>" in html  # the aisle
    assert "hx-headers" in html and "X-CSRFToken" in html


def test_unknown_showtime_is_404(client, htmx, showtime):
    before = db_state()
    assert client.get("/showtimes/999999/").status_code == 404
    assert client.get("/showtimes/999999/seats/").status_code == 404
    assert htmx.post("/showtimes/999999/hold/", {"seat": "A1"}).status_code == 404
    assert db_state() == before


def test_hold_returns_only_changed_seats_and_basket(htmx, showtime):
    response = htmx.post(url(showtime, "hold"), {"seat": ["A1", "A2"]})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert seat_states_in(html) == {"A1": "mine", "A2": "mine"}  # no other seat re-rendered
    assert 'id="basket"' in html and 'hx-swap-oob="true"' in html
    assert "€20.00" in html
    assert state(showtime, "A1") == SeatStatus.HELD


def test_clicking_own_seat_releases_it(htmx, showtime):
    htmx.post(url(showtime, "hold"), {"seat": ["A1"]})
    response = htmx.post(url(showtime, "release"), {"seat": ["A1"]})
    assert response.status_code == 200
    assert seat_states_in(response.content.decode()) == {"A1": "available"}
    assert state(showtime, "A1") == SeatStatus.AVAILABLE


def test_taken_seat_is_409_names_the_seat_and_holds_nothing(htmx, showtime):
    other = HtmxClient()
    other.post(url(showtime, "hold"), {"seat": ["A2"]})
    response = htmx.post(url(showtime, "hold"), {"seat": ["A1", "A2"]})
    html = response.content.decode()
    assert response.status_code == 409
    assert "A2" in html and "taken" in html
    assert seat_states_in(html)["A2"] == "held"
    assert state(showtime, "A1") == SeatStatus.AVAILABLE


def test_bad_seat_code_is_400(htmx, showtime):
    response = htmx.post(url(showtime, "hold"), {"seat": ["Z99"]})
    assert response.status_code == 400
    assert "Z99" in response.content.decode()
    assert htmx.post(url(showtime, "hold"), {}).status_code == 400
    assert htmx.post(url(showtime, "hold"), {"seat": ["<script>"]}).status_code == 400
    assert not Order.objects.exists()


def test_over_the_cap_is_400_and_holds_nothing(htmx, showtime, settings):
    settings.MAX_SEATS_PER_ORDER = 2
    for held, asked in (([], ["A1", "A2", "A3"]), (["A1"], ["A2", "A3"])):
        if held:
            assert htmx.post(url(showtime, "hold"), {"seat": held}).status_code == 200
        before = db_state()
        response = htmx.post(url(showtime, "hold"), {"seat": asked})
        assert response.status_code == 400
        assert "at most 2" in response.content.decode()
        assert db_state() == before


def test_sales_closed_is_410(htmx, make_showtime, settings):
    settings.SALES_CLOSE_MINUTES = 30
    showtime = make_showtime(starts_in=timedelta(minutes=10))
    before = db_state()
    assert htmx.post(url(showtime, "hold"), {"seat": ["A1"]}).status_code == 410
    assert db_state() == before


def test_releasing_someone_elses_seat_is_403(htmx, showtime):
    HtmxClient().post(url(showtime, "hold"), {"seat": ["A1"]})
    htmx.post(url(showtime, "hold"), {"seat": ["B1"]})
    response = htmx.post(url(showtime, "release"), {"seat": ["A1"]})
    assert response.status_code == 403
    assert state(showtime, "A1") == SeatStatus.HELD


def test_wrong_method_is_405_and_changes_nothing(client, showtime):
    client.post(url(showtime, "hold"), {"seat": "A1"})
    before = db_state()
    assert client.get(url(showtime, "hold"), {"seat": "A2"}).status_code == 405
    assert client.get(url(showtime, "release"), {"seat": "A1"}).status_code == 405
    assert client.post(url(showtime, "seats")).status_code == 405
    assert db_state() == before


def test_post_without_csrf_token_is_403(showtime):
    strict = Client(enforce_csrf_checks=True)
    before = db_state()
    assert strict.post(url(showtime, "hold"), {"seat": "A1"}).status_code == 403
    assert db_state() == before


def _form_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))


def test_a_click_answers_with_the_csrf_token_it_posted_and_no_new_cookie(showtime):
    """The basket's forms in a hold's answer carry the masked token the hold posted (masking a
    new one costs 32 random draws and a Set-Cookie on every click of a sale): the CSRF check
    is real here, and the checkout form posts with that token. A bare secret, which Django also
    accepts, is never echoed into the page."""
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(url(showtime)).content.decode()
    (token,) = _form_tokens(page)
    htmx = {"HX-Request": "true"}
    held = strict.post(url(showtime, "hold"), {"seat": "A1", "csrfmiddlewaretoken": token}, headers=htmx)
    assert held.status_code == 200
    assert _form_tokens(held.content.decode()) == {token}
    assert settings.CSRF_COOKIE_NAME not in held.cookies
    checkout = strict.post(
        url(showtime, "checkout"), {"email": "a@example.com", "csrfmiddlewaretoken": token}, headers=htmx
    )
    assert checkout.status_code != 403

    secret = strict.cookies[settings.CSRF_COOKIE_NAME].value
    bare = strict.post(url(showtime, "hold"), {"seat": "A2", "csrfmiddlewaretoken": secret}, headers=htmx)
    assert bare.status_code == 200
    body = bare.content.decode()
    assert secret not in body
    (masked,) = _form_tokens(body)
    assert len(masked) == 64 and masked != token


def test_without_javascript_the_form_post_redirects_back(client, showtime):
    response = client.post(url(showtime, "hold"), {"seat": "A1"})
    assert response.status_code == 302
    assert response["Location"].startswith(url(showtime))
    page = client.get(url(showtime)).content.decode()
    assert seat_states_in(page)["A1"] == "mine"
    assert seats_in(page).seats["A1"]["formaction"] == url(showtime, "release")


def test_without_javascript_an_error_renders_the_page_with_its_status(client, showtime):
    Client().post(url(showtime, "hold"), {"seat": "A1"})
    response = client.post(url(showtime, "hold"), {"seat": "A1"})
    assert response.status_code == 409
    assert "<html" in response.content.decode()
    assert "A1 has just been taken" in response.content.decode()


def test_poll_answers_304_to_a_matching_etag_and_changes_after_a_hold(htmx, showtime):
    first = htmx.get(url(showtime, "seats"))
    assert first.status_code == 200 and "<html" not in first.content.decode()
    etag = first["ETag"]
    again = htmx.get(url(showtime, "seats"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    seat_hold(showtime_id=showtime.pk, codes=["B3"], owner_token="someone", actor=Actor("test"))
    changed = htmx.get(url(showtime, "seats"), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert seat_states_in(changed.content.decode())["B3"] == "held"


@pytest.mark.parametrize("with_basket", [False, True])
def test_a_whole_map_takes_its_etag_from_its_own_read(htmx, showtime, with_basket):
    """No aggregate query for a map drawn anyway: the read's totals give the same tag, which
    the next conditional poll (one aggregate, no rows) matches."""
    from booking import selectors

    seat_hold(showtime_id=showtime.pk, codes=["B3"], owner_token="someone", actor=Actor("test"))
    if with_basket:
        assert htmx.post(url(showtime, "hold"), {"seat": ["A1"]}).status_code == 200
    htmx.get(url(showtime, "seats"))  # the showtime in memory, the session read once
    with CaptureQueriesContext(connection) as queries:
        first = htmx.get(url(showtime, "seats"))
    # The read alone, with a basket too: the session names the order (and, without REDIS_URL,
    # the session is its own row).
    statements = [q["sql"] for q in queries.captured_queries if "django_session" not in q["sql"]]
    assert len(statements) == 1, statements
    viewer = htmx.session.get("orders", {}).get(str(showtime.pk)) if with_basket else None
    assert first["ETag"] == selectors.seat_map_etag(showtime_id=showtime.pk, viewer_order_id=viewer)
    assert htmx.get(url(showtime, "seats"), headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_poll_etag_changes_when_a_hold_lapses(htmx, showtime, settings):
    settings.HOLD_SECONDS = 2
    order = seat_hold(showtime_id=showtime.pk, codes=["B3"], owner_token="someone", actor=Actor("test"))
    first = htmx.get(url(showtime, "seats"))
    assert seat_states_in(first.content.decode())["B3"] == "held"
    sleep_until(order.expires_at)
    response = htmx.get(url(showtime, "seats"), headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200
    assert seat_states_in(response.content.decode())["B3"] == "available"


def test_mine_is_per_browser(htmx, showtime):
    htmx.post(url(showtime, "hold"), {"seat": ["A1"]})
    assert seat_states_in(htmx.get(url(showtime, "seats")).content.decode())["A1"] == "mine"
    assert seat_states_in(HtmxClient().get(url(showtime, "seats")).content.decode())["A1"] == "held"


def test_an_order_opened_later_is_remembered_without_a_session_write(make_showtime):
    """A browser's order per showtime (for its polls' ETag and its own whole map) is kept in a
    signed cookie once the session exists: the hold that opens an order in a second showtime
    writes no session (in a premiere, every buyer's first click did), and the polls that draw
    the buyer's seats read no session."""
    first, second = make_showtime(), make_showtime()
    buyer = HtmxClient()
    assert buyer.post(url(first, "hold"), {"seat": ["A1"]}).status_code == 200  # the session
    session_key = buyer.cookies[settings.SESSION_COOKIE_NAME].value
    stored = Session.objects.get(session_key=session_key).session_data

    with CaptureQueriesContext(connection) as queries:
        assert buyer.post(url(second, "hold"), {"seat": ["B2"]}).status_code == 200
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert Session.objects.get(session_key=session_key).session_data == stored
    assert BUYER_COOKIE in buyer.cookies

    for showtime, seat in ((second, "B2"), (first, "A1")):  # the cookie carries both
        with CaptureQueriesContext(connection) as queries:
            page = buyer.get(url(showtime, "seats")).content.decode()
        assert seat_states_in(page)[seat] == "mine"
        assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]


def test_another_browsers_orders_cookie_draws_nothing_as_mine(make_showtime):
    """The cookie is signed for its session: copied into another browser (or kept past a new
    session) it does not verify, and that browser's map shows the seat as someone else's."""
    earlier, showtime = make_showtime(), make_showtime()
    buyer, stranger = HtmxClient(), HtmxClient()
    assert buyer.post(url(earlier, "hold"), {"seat": ["A1"]}).status_code == 200  # the session
    assert buyer.post(url(showtime, "hold"), {"seat": ["A1"]}).status_code == 200  # the cookie
    assert stranger.post(url(showtime, "hold"), {"seat": ["B4"]}).status_code == 200
    assert seat_states_in(buyer.get(url(showtime, "seats")).content.decode())["A1"] == "mine"
    stranger.cookies[BUYER_COOKIE] = buyer.cookies[BUYER_COOKIE].value
    states = seat_states_in(stranger.get(url(showtime, "seats")).content.decode())
    assert (states["A1"], states["B4"]) == ("held", "mine")


def test_the_page_remembers_an_order_the_browser_forgot(make_showtime):
    """Two tabs opening orders in two showtimes at once each send back the cookie they read plus
    their own order, and the browser keeps the last: one order is forgotten, and that map's
    polls draw the buyer's seat as someone else's. Opening the page (which looks the order up)
    remembers it again."""
    earlier, showtime = make_showtime(), make_showtime()
    buyer = HtmxClient()
    assert buyer.post(url(earlier, "hold"), {"seat": ["A1"]}).status_code == 200  # the session
    before = buyer.cookies.get(BUYER_COOKIE)
    assert buyer.post(url(showtime, "hold"), {"seat": ["A2"]}).status_code == 200
    # The other tab's answer, read before this hold, arrives last: without this showtime's order.
    if before is None:
        del buyer.cookies[BUYER_COOKIE]
    else:
        buyer.cookies[BUYER_COOKIE] = before.value
    assert seat_states_in(buyer.get(url(showtime, "seats")).content.decode())["A2"] == "held"
    assert buyer.get(url(showtime), headers={"HX-Request": ""}).status_code == 200
    assert seat_states_in(buyer.get(url(showtime, "seats")).content.decode())["A2"] == "mine"


def test_a_buyers_clicks_read_no_session_once_the_buyer_cookie_is_set(showtime):
    """The buyer identity comes from the signed buyer cookie (booking.buyer): a sale's clicks
    after a buyer's second read no session (a cache round trip each). Copied into another
    browser, the cookie does not verify: that browser stays who its session says."""
    buyer = HtmxClient()
    first = buyer.post(url(showtime, "hold"), {"seat": ["A1"]})
    assert first.status_code == 200 and first.wsgi_request.session.accessed
    assert BUYER_COOKIE not in buyer.cookies  # the session's key, which signs it, is drawn after the view
    second = buyer.post(url(showtime, "hold"), {"seat": ["A2"]})
    assert second.wsgi_request.session.accessed and BUYER_COOKIE in buyer.cookies
    for verb, seat in (("hold", "A3"), ("hold", "A4"), ("release", "A3")):
        response = buyer.post(url(showtime, verb), {"seat": [seat]})
        assert response.status_code == 200
        assert not response.wsgi_request.session.accessed
        assert "Cookie" in response["Vary"]
    states = seat_states_in(buyer.get(url(showtime, "seats")).content.decode())
    assert [states[c] for c in ("A1", "A2", "A3", "A4")] == ["mine", "mine", "available", "mine"]

    stranger = HtmxClient()
    assert stranger.post(url(showtime, "hold"), {"seat": ["B1"]}).status_code == 200  # its session
    stranger.cookies[BUYER_COOKIE] = buyer.cookies[BUYER_COOKIE].value
    taken = stranger.post(url(showtime, "hold"), {"seat": ["B2"]})
    assert taken.status_code == 200 and taken.wsgi_request.session.accessed
    assert stranger.post(url(showtime, "release"), {"seat": ["A1"]}).status_code == 403
    states = seat_states_in(buyer.get(url(showtime, "seats")).content.decode())
    assert (states["A1"], states["B1"], states["B2"]) == ("mine", "held", "held")


def test_blocked_seat_cannot_be_held_online(htmx, showtime):
    seat_block(showtime_id=showtime.pk, codes=["A4"], reason="broken", actor=Actor("staff:test"))
    assert htmx.post(url(showtime, "hold"), {"seat": ["A4"]}).status_code == 409
    assert seat_states_in(htmx.get(url(showtime, "seats")).content.decode())["A4"] == "blocked"


@pytest.mark.parametrize("fixture", ["showtime", "large_showtime"])
def test_query_count_does_not_grow_with_the_hall(request, fixture, django_assert_max_num_queries):
    showtime = request.getfixturevalue(fixture)
    client = HtmxClient()
    client.post(url(showtime, "hold"), {"seat": ["A1"]})
    with django_assert_max_num_queries(14):
        assert client.post(url(showtime, "hold"), {"seat": ["A2"]}).status_code == 200
    with django_assert_max_num_queries(5):
        response = client.get(url(showtime, "seats"))
    with django_assert_max_num_queries(3):
        assert (
            client.get(url(showtime, "seats"), headers={"If-None-Match": response["ETag"]}).status_code == 304
        )


def test_booking_page_needs_the_signed_link_and_shows_qr_codes(client, showtime):
    from booking.links import booking_url
    from booking.services import booking_confirm

    order = seat_hold(showtime_id=showtime.pk, codes=["A1", "A2"], owner_token="t", actor=Actor("test"))
    booking_confirm(order_id=order.pk, actor=Actor("test"))
    assert client.get(f"/bookings/{order.reference}/").status_code == 404
    assert client.get(f"/bookings/{order.reference}/?t=forged").status_code == 404
    html = client.get(booking_url(order)).content.decode()
    assert html.count("<svg") == 2
    for ticket in order.tickets.all():
        assert f'data-ticket="{ticket.code}"' in html


def buyer_field(html: str) -> str:
    return re.search(r'<input type="hidden" name="buyer" value="([^"]+)">', html).group(1)


def test_viewing_a_seat_map_writes_no_session(client, htmx, showtime):
    page = client.get(url(showtime))
    poll = htmx.get(url(showtime, "seats"))
    assert (page.status_code, poll.status_code) == (200, 200)
    assert Session.objects.count() == 0
    assert settings.SESSION_COOKIE_NAME not in page.cookies | poll.cookies
    assert signing.loads(buyer_field(page.content.decode()), salt=BUYER_SIGNING_SALT)


def test_the_seat_map_page_is_never_shared_by_caches(client, showtime):
    # It carries a buyer token of its own: a shared cache would hand one basket to everyone.
    directives = {d.strip() for d in client.get(url(showtime))["Cache-Control"].split(",")}
    assert directives == {"private", "no-cache"}


def test_the_first_hold_adopts_the_pages_buyer_token(client, showtime):
    token = buyer_field(client.get(url(showtime)).content.decode())
    assert HtmxClient().post(url(showtime, "hold"), {"seat": "A1", "buyer": token}).status_code == 200
    order = Order.objects.get()
    assert order.owner_token == signing.loads(token, salt=BUYER_SIGNING_SALT)
    assert [s.get_decoded()["owner_token"] for s in Session.objects.all()] == [order.owner_token]


@pytest.mark.django_db(transaction=True)
def test_two_first_clicks_before_the_cookie_came_back_share_one_basket(showtime):
    """A double click on two seats: both requests leave before either's session cookie is back,
    so neither has a session; both carry the page's buyer token."""
    token = buyer_field(Client().get(url(showtime)).content.decode())
    barrier = threading.Barrier(2)
    statuses = {}

    def click(code):
        browser = HtmxClient()  # no session cookie yet
        try:
            barrier.wait(5)
            statuses[code] = browser.post(url(showtime, "hold"), {"seat": code, "buyer": token}).status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(code,)) for code in ("A1", "A2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == {"A1": 200, "A2": 200}
    order = Order.objects.get()
    assert order.seat_codes == ["A1", "A2"]
    assert ShowSeat.objects.filter(showtime=showtime, order=order, status=SeatStatus.HELD).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_double_click_with_the_buyer_cookie_opens_one_order(make_showtime):
    """Two clicks of one browser at the same moment in a showtime where it holds nothing yet,
    both carrying its buyer cookie (booking.buyer) and neither reading the session: both race to
    open the order, one opens it and the other joins it, and both answers name that order in
    the cookie they set."""
    earlier, showtime = make_showtime(), make_showtime()
    buyer = HtmxClient()
    for seat in ("A1", "A2"):  # the session, then the buyer cookie
        assert buyer.post(url(earlier, "hold"), {"seat": [seat]}).status_code == 200
    jar = {name: morsel.value for name, morsel in buyer.cookies.items()}
    assert BUYER_COOKIE in jar
    codes = ["B2", "B1"]

    def click():
        browser = HtmxClient()
        for name, value in jar.items():
            browser.cookies[name] = value
        code = codes.pop()  # one seat per thread
        return code, browser.post(url(showtime, "hold"), {"seat": [code]})

    answers = dict(at_once(click, 2, timeout=30))
    assert {code: a.status_code for code, a in answers.items()} == {"B1": 200, "B2": 200}
    assert not any(a.wsgi_request.session.accessed for a in answers.values())
    order = Order.objects.get(showtime=showtime)
    assert order.seat_codes == ["B1", "B2"]
    assert order.owner_token == Order.objects.get(showtime=earlier).owner_token
    for answer in answers.values():
        session_key = jar[settings.SESSION_COOKIE_NAME]
        said = signing.loads(answer.cookies[BUYER_COOKIE].value, salt=buyer_salt(session_key))
        assert said["orders"][str(showtime.pk)] == order.pk


@pytest.mark.parametrize(
    "forged",
    ["not-signed", signing.dumps("someone-elses-token"), "0123456789abcdef0123456789abcdef:AAAA"],
)
def test_a_forged_buyer_token_is_400_and_changes_nothing(htmx, showtime, forged):
    response = htmx.post(url(showtime, "hold"), {"seat": "A1", "buyer": forged})
    assert response.status_code == 400
    assert "reload it" in response.content.decode()
    assert not Order.objects.exists() and Session.objects.count() == 0
    assert state(showtime, "A1") == SeatStatus.AVAILABLE


def test_a_session_keeps_its_own_buyer_token_whatever_the_page_posts(client, htmx, showtime):
    htmx.post(url(showtime, "hold"), {"seat": "A1"})
    someone_else = buyer_field(client.get(url(showtime)).content.decode())
    assert htmx.post(url(showtime, "hold"), {"seat": "A2", "buyer": someone_else}).status_code == 200
    assert Order.objects.get().seat_codes == ["A1", "A2"]


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ('"not-it", {etag}', 304),
        ("W/{etag}", 304),
        ('"not-it", W/{etag}', 304),
        ("*", 304),
        ('"not-it"', 200),
        ('W/"not-it"', 200),
    ],
)
def test_poll_if_none_match_lists_weak_tags_and_star(htmx, showtime, if_none_match, status):
    etag = htmx.get(url(showtime, "seats"))["ETag"]
    response = htmx.get(url(showtime, "seats"), headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == status
    assert (response["ETag"], response["Cache-Control"]) == (etag, "no-cache")
    assert has_vary(response, "Cookie") and not has_vary(response, "HX-Request")


def test_markup_version_follows_the_sources_that_draw_the_map():
    template, code = b"<div data-seat>", b"def seat_button(): ..."
    assert markup_version((template, code)) == markup_version((template, code))
    assert markup_version((template + b" ", code)) != markup_version((template, code))
    assert markup_version((template, code + b"\n")) != markup_version((template, code))
    assert markup_version((template + code, b"")) != markup_version((template, code))
    sources = tuple(path.read_bytes() for path in SEAT_MAP_SOURCES)
    assert markup_version(sources) == SEAT_MAP_MARKUP_VERSION


@pytest.fixture
def staff_client(db):
    user = User.objects.create_user("desk", password="unused-here")
    user.user_permissions.add(Permission.objects.get(codename="use_box_office"))
    staff = Client()
    staff.force_login(user)
    return staff


def test_responses_that_differ_for_htmx_vary_on_hx_request_and_only_those(client, showtime, staff_client):
    order = seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="t", actor=Actor("test"))
    varying = {
        "hold": client.post(url(showtime, "hold"), {"seat": "A1"}),
        "release": client.post(url(showtime, "release"), {"seat": "A1"}),
        "checkout start": client.post(url(showtime, "checkout"), {"email": "a@example.com"}),
        "checkout return": client.get(
            f"/bookings/{order.reference}/return/?t={booking_token(order.reference)}"
        ),
        "box-office dashboard": staff_client.get("/box-office/"),
        "box-office check-in": staff_client.get("/box-office/check-in/"),
    }
    same_for_htmx = {
        "seat-map page": client.get(url(showtime)),
        "seat-map partial": client.get(url(showtime, "seats")),
        "now showing": client.get("/"),
    }
    assert {name: r.status_code < 400 for name, r in {**varying, **same_for_htmx}.items()} == dict.fromkeys(
        {**varying, **same_for_htmx}, True
    )
    assert [name for name, r in varying.items() if not has_vary(r, "HX-Request")] == []
    assert [name for name, r in same_for_htmx.items() if has_vary(r, "HX-Request")] == []


def has_vary(response, header: str) -> bool:
    return header.lower() in {v.strip().lower() for v in response.get("Vary", "").split(",")}
