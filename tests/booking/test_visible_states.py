"""States people can see (issue 14, item 6): sold out, sales closed, error pages, the seat
category in the basket, the skip link. Through the Django test client on real PostgreSQL."""

import re
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.urls import include, path
from django.views.defaults import server_error

from booking import seatmap
from booking.services import Actor, booking_confirm, seat_block, seat_hold
from tests.booking.test_views import HtmxClient, seats_in, url


def sell(showtime, codes):
    order = seat_hold(showtime_id=showtime.pk, codes=codes, owner_token="buyer", actor=Actor("test"))
    booking_confirm(order_id=order.pk, actor=Actor("test"))


def sell_out(showtime):
    """A1-A4 sold, B1-B4 not for sale: nothing left."""
    sell(showtime, ["A1", "A2", "A3", "A4"])
    seat_block(showtime_id=showtime.pk, codes=["B1", "B2", "B3", "B4"], reason="camera", actor=Actor("staff"))


def seats_fieldset(html: str) -> str:
    """The <fieldset> tag around the seat map; every seat must sit inside it."""
    start = html.index('<fieldset class="seat-fieldset"')
    end = html.index("</fieldset>", start)
    seats = [m.start() for m in re.finditer(r"data-seat=", html)]
    assert seats and start < seats[0] and seats[-1] < end
    return html[start : html.index(">", start) + 1]


def clickable_seats(html: str) -> list[str]:
    """Seats that post something when clicked: submit buttons, not disabled by their fieldset."""
    if "disabled" in seats_fieldset(html):
        return []
    return [code for code, attrs in seats_in(html).seats.items() if attrs.get("name") == "seat"]


def test_a_sold_out_showtime_says_so_and_offers_nothing_to_click(client, showtime):
    sell_out(showtime)
    html = client.get(url(showtime)).content.decode()
    assert 'data-sales="sold-out"' in html
    assert "Every seat for this showtime has been sold." in html
    assert "Sold out: there are no seats left to hold." in html
    assert clickable_seats(html) == []
    assert {attrs["aria-disabled"] for attrs in seats_in(html).seats.values()} == {"true"}
    assert 'id="checkout-form"' not in html

    home = client.get("/").content.decode()
    listing = re.search(rf'<span [^>]*data-showtime="{showtime.pk}"[^>]*>(.*?)</span>', home, re.S)
    assert listing is not None and "data-sold-out" in listing.group(0)
    assert "Sold out" in listing.group(1)
    assert f'href="{url(showtime)}"' not in home


def test_a_showtime_whose_last_seats_are_held_is_not_sold_out(client, showtime):
    sell(showtime, ["A1", "A2", "A3", "A4"])
    seat_hold(showtime_id=showtime.pk, codes=["B1", "B2", "B3", "B4"], owner_token="other", actor=Actor("t"))
    html = client.get(url(showtime)).content.decode()
    assert "data-sales=" not in html  # the holds may lapse: no alert
    home = client.get("/").content.decode()
    assert f'href="{url(showtime)}" data-showtime="{showtime.pk}"' in home
    assert "data-sold-out" not in home


def test_an_open_showtime_offers_its_free_seats(client, showtime):
    sell(showtime, ["A1"])
    html = client.get(url(showtime)).content.decode()
    assert "data-sales=" not in html
    assert seats_fieldset(html) == '<fieldset class="seat-fieldset">'
    assert clickable_seats(html) == ["A2", "A3", "A4", "B1", "B2", "B3", "B4"]


def test_closed_online_sales_leave_no_seat_to_click(client, make_showtime, settings):
    settings.SALES_CLOSE_MINUTES = 30
    showtime = make_showtime(starts_in=timedelta(minutes=20))
    html = client.get(url(showtime)).content.decode()
    assert 'data-sales="closed"' in html
    assert seats_fieldset(html) == '<fieldset class="seat-fieldset" disabled>'
    assert clickable_seats(html) == []
    assert "Click a free seat" not in html
    # The server refuses anyway (DESIGN.md: 410), whatever a stale page posts.
    assert HtmxClient().post(url(showtime, "hold"), {"seat": "A1"}).status_code == 410


def test_a_past_showtime_says_it_has_started_and_leaves_no_seat_to_click(client, make_showtime):
    showtime = make_showtime(starts_in=timedelta(hours=-1))
    html = client.get(url(showtime)).content.decode()
    assert 'data-sales="started"' in html
    assert "This showtime has already started" in html
    assert clickable_seats(html) == []


def test_the_basket_names_each_seats_category(medium_showtime):
    viewer = HtmxClient()
    for code in ["A14", "A5", "G3", "J1"]:
        assert viewer.post(url(medium_showtime, "hold"), {"seat": code}).status_code == 200
    html = viewer.get(url(medium_showtime)).content.decode()
    lines = dict(re.findall(r'data-basket-seat="(\w+)"><span>\w+ <span[^>]*>· ([^<]+)</span>', html))
    assert lines == {
        "A14": "wheelchair space",
        "A5": "Standard",
        "G3": "VIP",
        "J1": "VIP, couple seat",
        "J2": "VIP, couple seat",  # the other half of the couple seat comes with it
    }


def test_a_hold_response_basket_names_the_category_too(medium_showtime):
    # The companion seat comes with its wheelchair space (docs/seat-choice.md): both at once.
    response = HtmxClient().post(url(medium_showtime, "hold"), {"seat": ["A1", "A2"]})
    assert response.status_code == 200
    assert (
        '<span>A2 <span class="text-body-secondary">· companion seat</span></span>'
        in response.content.decode()
    )


def test_seat_category_rules(medium_showtime):
    geometry = medium_showtime.hall.geometry
    labels = {zone.key: zone.label for zone in geometry.zones}
    assert [seatmap.seat_category(geometry, c, labels) for c in ["A1", "A2", "B7", "H1", "J4"]] == [
        "wheelchair space",
        "companion seat",
        "Standard",
        "VIP",
        "VIP, couple seat",
    ]


def test_the_skip_link_leads_past_every_seat_to_the_focusable_basket(client, large_showtime):
    html = client.get(url(large_showtime)).content.decode()
    skip = html.index('href="#basket" id="skip-to-basket">Skip to your seats</a>')
    basket = html.index('<section id="basket" class="card basket" tabindex="-1"')
    seats = [m.start() for m in re.finditer(r"data-seat=", html)]
    assert len(seats) == 352
    assert skip < seats[0] and seats[-1] < basket


def test_the_phone_bar_sums_up_the_basket(medium_showtime):
    viewer = HtmxClient()
    for code in ["A5", "A6"]:
        viewer.post(url(medium_showtime, "hold"), {"seat": code})
    html = viewer.get(url(medium_showtime)).content.decode()
    bar = re.search(r"<div class=\"basket-bar\" data-basket-bar>(.*?)</div>", html, re.S).group(1)
    text = re.sub(r"<[^>]+>|\s+", " ", bar)
    assert re.search(r"2 seats · €23.00 Time left: \d+s Continue", re.sub(r" +", " ", text).strip())
    assert 'href="#checkout-form" data-basket-continue' in bar
    nothing_held = HtmxClient().get(url(medium_showtime)).content.decode()
    assert "data-basket-bar" not in nothing_held


def test_the_352_seat_page_stays_near_its_size(client, large_showtime):
    """Zoom, tooltip and skip link cost no byte per seat: the polled map stays under 35 KiB
    (tests/booking/test_seatmap.py) and the page around it grows by its controls only."""
    partial = HtmxClient().get(url(large_showtime, "seats")).content
    page = client.get(url(large_showtime)).content
    assert len(partial) <= 35 * 1024
    # The controls: zoom, skip link, the "seats together" form, the language switcher.
    assert len(page) - len(partial) <= 8 * 1024


def test_an_unknown_showtime_gets_the_branded_404(client, showtime):
    response = client.get(f"/showtimes/{showtime.pk + 1000}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    assert 'data-error="404"' in html and "We could not find that page" in html
    assert 'class="navbar-brand fw-bold" href="/"' in html


def test_the_500_page_needs_neither_the_database_nor_the_request():
    """No `db` fixture: pytest-django fails any query here. Django's server_error renders the
    template with an empty context (no request, no context processors)."""
    response = server_error(RequestFactory().get("/anything/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert 'data-error="500"' in html and "Something went wrong on our side" in html
    assert 'class="navbar-brand fw-bold" href="/"' in html
    assert 'href="/static/seatlock/seatlock.css"' in html or "seatlock.css" in html


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]


@pytest.mark.urls(__name__)
def test_an_unhandled_error_answers_the_branded_500(db):
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert 'data-error="500"' in response.content.decode()
