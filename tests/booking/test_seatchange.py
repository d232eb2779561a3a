"""booking.seatchange: a seat click's answer and the page's basket card, drawn in Python."""

import re
from datetime import timedelta

from django.test import Client
from django.urls import set_script_prefix

from tests.booking.test_views import HtmxClient, seat_states_in, url

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
CLOCK = re.compile(r'data-seconds-left="\d+"|>\d+s<')


def basket_of(html: str) -> str:
    """The basket card, with what differs between two drawings of one basket masked: the CSRF
    token (masked anew for every response) and the seconds left."""
    card = re.search(r'<section id="basket".*?</section>', html, re.S).group(0)
    card = CLOCK.sub("CLOCK", TOKEN.sub("TOKEN", card))
    return re.sub(r">\s+<", "><", card.replace(' hx-swap-oob="true"', ""))


def test_the_page_and_a_click_draw_the_same_basket_card(medium_showtime):
    browser = Client()
    page = browser.get(url(medium_showtime)).content.decode()
    buyer = re.search(r'name="buyer" value="([^"]+)"', page).group(1)
    answer = browser.post(
        url(medium_showtime, "hold"), {"buyer": buyer, "seat": ["A1", "F5"]}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    card = basket_of(answer.content.decode())
    assert card == basket_of(browser.get(url(medium_showtime)).content.decode())
    # Both seats, the companion seat offered with the wheelchair space, the checkout form
    # with a CSRF token, the phone bar with the count and the total.
    assert re.findall(r'data-basket-seat="(\w+)"', card) == ["A1", "F5"]
    assert "Add the companion seat A2" in card
    assert card.count("TOKEN") == 2  # the companion seat's form and the checkout form
    assert '<form method="post" action="/showtimes/' in card and 'id="checkout-form"' in card
    assert "<strong>2 seats</strong>" in card


def test_a_click_answers_with_its_seats_the_basket_and_a_status_line(showtime):
    htmx = HtmxClient()
    response = htmx.post(url(showtime, "hold"), {"seat": ["A1"]})
    html = response.content.decode()
    assert seat_states_in(html) == {"A1": "mine"}
    assert (
        '<section id="basket" class="card basket" tabindex="-1" aria-labelledby="basket-title" hx-swap-oob="true">'
        in html
    )
    assert "<strong>1 seat</strong>" in html and "€10.00" in html
    assert (
        '<div id="seat-status" hx-swap-oob="true" role="status" aria-live="polite" class="visually-hidden">A1: held by you.</div>'
        in html
    )

    taken = HtmxClient().post(url(showtime, "hold"), {"seat": ["A1"]})
    assert taken.status_code == 409
    status = re.search(
        r'<div id="seat-status"[^>]*class="alert alert-danger">([^<]+)</div>', taken.content.decode()
    )
    assert status and "A1" in status.group(1)

    released = htmx.post(url(showtime, "release"), {"seat": ["A1"]}).content.decode()
    assert "No seats held. Click a free seat to hold it." in released
    assert 'id="checkout-form"' not in released


def test_a_basket_card_speaks_the_visitors_language(showtime):
    htmx = HtmxClient()
    htmx.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    html = htmx.post(url(showtime, "hold"), {"seat": ["A1", "A2"]}).content.decode()
    assert "Ihre Plätze" in html and "<strong>2 Plätze</strong>" in html and ">Weiter</a>" in html
    assert "E-Mail-Adresse für Ihre Tickets" in html
    htmx.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "Your seats" in htmx.post(url(showtime, "hold"), {"seat": ["A3"]}).content.decode()


def test_a_page_without_a_basket_says_why(client, showtime, make_showtime, settings):
    assert "Click a free seat to hold it for 15 minutes." in client.get(url(showtime)).content.decode()
    settings.SALES_CLOSE_MINUTES = 30
    closed = make_showtime(starts_in=timedelta(minutes=10))
    assert "Online sales for this showtime have closed." in client.get(url(closed)).content.decode()


def test_a_click_under_a_script_prefix_points_its_forms_below_it(showtime):
    """Served below a path (SCRIPT_NAME), the seats' release buttons and the basket's forms point
    there, and a click at the root after it points at the root again: the URLs kept per worker
    are kept per script prefix."""
    htmx = HtmxClient()
    try:
        for prefix in ("/cinema", "", "/cinema"):
            set_script_prefix(prefix + "/")  # what the WSGI handler does (Django's test client does not)
            html = htmx.post(url(showtime, "hold"), {"seat": ["B1"]}).content.decode()
            assert f"formaction={prefix}/showtimes/{showtime.pk}/release/ " in html
            assert f'action="{prefix}/showtimes/{showtime.pk}/checkout/"' in html
            htmx.post(url(showtime, "release"), {"seat": ["B1"]})
    finally:
        set_script_prefix("/")
