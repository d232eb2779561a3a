"""German and English: the booking flow in both languages, with no English left on German pages.

The check is driven by the catalogue itself: every English source string of
locale/de/LC_MESSAGES/django.po (its text between placeholders) must be absent from the visible
text of each German page, so a template string that is not translated, or not marked for
translation at all while a translated twin exists, shows up by name.
"""

import html
import io
import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import trans_real
from pypdf import PdfReader

from booking import demo, services
from booking.emails import order_email_send
from booking.formatting import money
from booking.links import booking_token
from booking.models import Film, Order, PaymentMethod
from booking.services import Actor, showtime_create
from booking.tickets import tickets_pdf
from halls.models import Cinema, Hall

PLACEHOLDER = re.compile(r"%\([^)]*\)[sd]|%[sd]|\{\{[^}]*\}\}|<[^>]+>|&\w+;")
# Words that read the same in both languages (brand, units) are not a sign of English.
SAME_IN_BOTH = {"SeatLock", "Stripe", "OK", "Film", "Name", "Total", "E-Mail", "Status", "Start", "Online"}


def english_fragments() -> set[str]:
    """Stretches of English text (3+ words or 16+ characters) from every translated message."""
    catalog = trans_real.translation("de")._catalog
    fragments = set()
    for msgid, msgstr in catalog.items():
        text = msgid[0] if isinstance(msgid, tuple) else msgid
        if not text or text == msgstr or "\x04" in text:  # untranslated or msgctxt entries
            continue
        for piece in PLACEHOLDER.split(text):
            piece = piece.strip(" .,:;!?()·-–\n")
            if piece in SAME_IN_BOTH:
                continue
            if len(piece.split()) >= 3 or len(piece) >= 16:
                fragments.add(piece)
    return fragments


def visible_text(content: bytes) -> str:
    page = content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def english_on(content: bytes, fragments: set[str]) -> list[str]:
    text = visible_text(content)
    return sorted(f for f in fragments if f in text)


@pytest.fixture
def pages(medium_showtime):
    """Every page of the booking flow and the box office, as a (name, fetch) list."""
    showtime = medium_showtime
    buyer = Client(headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
    staff_user = User.objects.create_user("kasse", password="unused")
    staff_user.user_permissions.add(Permission.objects.get(codename="use_box_office"))
    staff = Client(headers={"accept-language": "de"})
    staff.force_login(staff_user)
    sold = services.seat_hold(
        showtime_id=showtime.pk, codes=["C5"], owner_token="counter", actor=Actor("test")
    )
    services.order_sell_at_counter(order_id=sold.pk, payment_method=PaymentMethod.CASH, actor=Actor("test"))
    held = services.seat_hold(showtime_id=showtime.pk, codes=["D5"], owner_token="web", actor=Actor("test"))
    base = f"/showtimes/{showtime.pk}/"
    return [
        ("home", lambda: buyer.get("/")),
        ("seat map", lambda: buyer.get(base)),
        (
            "basket after a hold",
            lambda: buyer.post(f"{base}hold/", {"seat": "B3"}, headers={"HX-Request": "true"}),
        ),
        (
            "a refused hold",
            lambda: buyer.post(f"{base}hold/", {"seat": "C5"}, headers={"HX-Request": "true"}),
        ),
        ("seat map with a basket", lambda: buyer.get(base)),
        ("booking page", lambda: buyer.get(f"/bookings/{sold.reference}/?t={booking_token(sold.reference)}")),
        (
            "checkout return",
            lambda: buyer.get(f"/bookings/{held.reference}/return/?t={booking_token(held.reference)}"),
        ),
        ("not found", lambda: buyer.get("/no-such-page/")),
        ("box office", lambda: staff.get("/box-office/")),
        ("box office map", lambda: staff.get(f"/box-office/showtimes/{showtime.pk}/")),
        ("bookings", lambda: staff.get("/box-office/bookings/?q=" + sold.reference)),
        ("booking at the desk", lambda: staff.get(f"/box-office/bookings/{sold.reference}/")),
        ("check-in", lambda: staff.get("/box-office/check-in/")),
        ("shift report", lambda: staff.get("/box-office/report/")),
    ]


def test_german_pages_have_no_english_source_strings(pages):
    fragments = english_fragments()
    assert len(fragments) > 100, "the German catalogue is missing or nearly empty"
    found = {}
    for name, fetch in pages:
        response = fetch()
        assert response.status_code < 500, name
        assert response.get("Content-Language", "de") == "de", name
        if leftover := english_on(response.content, fragments):
            found[name] = leftover
    assert found == {}


def test_the_booking_flow_in_english_too(medium_showtime):
    buyer = Client(headers={"accept-language": "en"})
    page = buyer.get(f"/showtimes/{medium_showtime.pk}/").content.decode()
    assert "Your seats" in page and "Ihre Plätze" not in page
    held = buyer.post(
        f"/showtimes/{medium_showtime.pk}/hold/", {"seat": "B3"}, headers={"HX-Request": "true"}
    )
    assert "€11.50" in held.content.decode()


def test_the_switcher_sets_the_language_and_prices_follow_it(medium_showtime):
    client = Client()
    page = f"/showtimes/{medium_showtime.pk}/"
    response = client.post("/i18n/setlang/", {"language": "de", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    held = client.post(f"{page}hold/", {"seat": "B3"}, headers={"HX-Request": "true"}).content.decode()
    assert "11,50\xa0€" in held or "11,50 €" in held


def test_money_in_each_locale():
    with translation.override("en"):
        assert money(1150, "eur") == "€11.50"
        assert money(123456, "eur") == "€1,234.56"
    with translation.override("de"):
        assert money(1150, "eur") in ("11,50 €", "11,50\xa0€")


def test_every_message_of_the_catalogue_is_translated():
    """An untranslated message never reaches the catalogue the page test reads: count them here."""
    from pathlib import Path

    from django.conf import settings

    po = (Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po").read_text()
    entries = po.split("\n\n")[1:]  # the first block is the header
    # An empty msgstr not continued on the next line ("" then a quoted line is a long one).
    untranslated = [e for e in entries if re.search(r'^msgstr(\[\d\])? ""(?!\n")', e, re.M)]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert (untranslated, fuzzy) == ([], [])


# Written out here rather than taken from Django, so the test checks the names too.
WEEKDAYS_DE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
MONTHS_DE = [
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
]  # fmt: skip


def showtime_in(time_zone: str, *, layout: dict | None = None):
    """A showtime at 20:15 local time, ten days from now, in a cinema of the given time zone."""
    cinema = Cinema.objects.create(
        name="Kino", slug=f"kino-{time_zone.lower().replace('/', '-')}", time_zone=time_zone
    )
    hall = Hall.objects.create(
        cinema=cinema, name="Saal 1", slug="saal-1", layout=layout or demo.medium_hall_layout()
    )
    zone = zoneinfo.ZoneInfo(time_zone)
    day = (timezone.now().astimezone(zone) + timedelta(days=10)).date()
    starts_at = datetime(day.year, day.month, day.day, 20, 15, tzinfo=zone)
    film = Film.objects.create(title="Paper Moons", slug="paper-moons", runtime_minutes=104)
    return showtime_create(film=film, hall=hall, starts_at=starts_at, prices={"standard": 1150, "vip": 1550})


def german(when: datetime) -> str:
    """ "Freitag, 27. November" """
    return f"{WEEKDAYS_DE[when.weekday()]}, {when.day}. {MONTHS_DE[when.month - 1]}"


def english(when: datetime) -> str:
    """ "Friday 27 November" (the format SeatLock has always shown in English)"""
    return f"{when:%A} {when.day} {when:%B}"


def paid_order(showtime, *, language: str) -> Order:
    order = services.seat_hold(showtime_id=showtime.pk, codes=["C3"], owner_token="ann", actor=Actor("t"))
    services.booking_confirm(order_id=order.pk, actor=Actor("t"))
    Order.objects.filter(pk=order.pk).update(email="ann@example.com", language=language)
    return Order.objects.select_related("showtime__film", "showtime__hall__cinema").get(pk=order.pk)


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_seat_map_shows_the_showtime_in_the_format_of_the_language(db, language):
    showtime = showtime_in("Europe/Berlin")
    page = visible_text(
        Client(headers={"accept-language": language}).get(f"/showtimes/{showtime.pk}/").content
    )
    local = showtime.local_start
    expected = {"de": f"{german(local)}, 20:15", "en": f"{english(local)}, 20:15"}[language]
    assert f"{expected} · Saal 1" in page


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_confirmation_email_shows_the_showtime_in_the_format_of_the_language(db, language):
    showtime = showtime_in("Europe/Berlin")
    order = paid_order(showtime, language=language)
    mail.outbox.clear()
    assert order_email_send(order_id=order.pk, kind="confirmed") is True
    (message,) = mail.outbox
    local = showtime.local_start
    expected = {"de": f"{german(local)} {local.year}, 20:15", "en": f"{english(local)} {local.year}, 20:15"}[
        language
    ]
    assert f"\n{expected}\n" in message.body
    (html_body, _mimetype) = message.alternatives[0]
    assert f"\n{expected}<br>" in html_body


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_pdf_tickets_show_the_showtime_in_the_format_of_the_language(db, language):
    showtime = showtime_in("Europe/Berlin")
    order = paid_order(showtime, language=language)
    with translation.override(language):
        (page,) = [p.extract_text() for p in PdfReader(io.BytesIO(tickets_pdf(order))).pages]
    local = showtime.local_start
    expected = {"de": f"{german(local)} {local.year}, 20:15", "en": f"{english(local)} {local.year}, 20:15"}[
        language
    ]
    assert expected in page


def test_a_showtime_is_shown_in_its_cinema_time_zone_not_the_site_one(db):
    """20:15 in New York is 02:15 the next day in Berlin (TIME_ZONE): the map says 20:15."""
    showtime = showtime_in("America/New_York")
    page = visible_text(Client(headers={"accept-language": "en"}).get(f"/showtimes/{showtime.pk}/").content)
    assert f"{english(showtime.local_start)}, 20:15 · Saal 1" in page


@pytest.mark.parametrize(("language", "label"), [("de", "Leinwand"), ("en", "Screen")])
def test_a_layout_without_a_screen_label_gets_the_word_in_the_language(db, language, label):
    layout = demo.medium_hall_layout()  # no label of its own
    showtime = showtime_in("Europe/Berlin", layout=layout)
    page = Client(headers={"accept-language": language}).get(f"/showtimes/{showtime.pk}/").content.decode()
    assert f'<div class="screen" aria-hidden="true">{label}</div>' in page


def test_a_layout_with_its_own_screen_label_keeps_it_in_german(db):
    showtime = showtime_in("Europe/Berlin", layout={**demo.medium_hall_layout(), "screen": "Bildwand Süd"})
    page = Client(headers={"accept-language": "de"}).get(f"/showtimes/{showtime.pk}/").content.decode()
    assert '<div class="screen" aria-hidden="true">Bildwand Süd</div>' in page
