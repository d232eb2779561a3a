"""Tickets people keep: the PDF (one page per ticket), the .ics, and the booking page's downloads."""

import io
import itertools
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from booking import demo, services
from booking.links import booking_token
from booking.models import Film, Order, OrderStatus
from booking.services import Actor, showtime_create
from booking.tickets import booking_ics, tickets_pdf
from halls.models import Cinema, Hall

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
_numbers = itertools.count()


def last_sunday_of_october(year: int) -> date:
    day = date(year, 10, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@pytest.fixture
def berlin_hall(db):
    cinema = Cinema.objects.create(
        name="Kino am Kanal",
        slug="kino-am-kanal",
        time_zone="Europe/Berlin",
        address="Lichtspielweg 12\n10117 Berlin\nGermany",
    )
    return Hall.objects.create(cinema=cinema, name="Grand", slug="grand", layout=demo.medium_hall_layout())


def showtime_at(hall: Hall, starts_at: datetime):
    n = next(_numbers)
    film = Film.objects.create(title="Paper Moons", slug=f"paper-moons-{n}", runtime_minutes=104)
    prices = {zone.key: 1550 if zone.key == "vip" else 1150 for zone in hall.geometry.zones}
    return showtime_create(film=film, hall=hall, starts_at=starts_at, prices=prices)


def paid_order(showtime, codes) -> Order:
    token = f"buyer-{next(_numbers)}"
    order = services.seat_hold(showtime_id=showtime.pk, codes=codes, owner_token=token, actor=Actor("t"))
    services.booking_confirm(order_id=order.pk, actor=Actor("t"))
    return Order.objects.select_related("showtime__film", "showtime__hall__cinema").get(pk=order.pk)


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_pdf_has_one_page_per_ticket_with_everything_printed_on_it(berlin_hall):
    showtime = showtime_at(berlin_hall, timezone.now() + timedelta(days=2))
    order = paid_order(showtime, ["A1", "G5", "J1", "J2"])  # wheelchair, VIP, a couple pair
    pages = pdf_pages(tickets_pdf(order))
    assert len(pages) == 4
    local = showtime.starts_at.astimezone(BERLIN)
    expected = [
        ("Row A, seat 1 (A1)", "Standard, wheelchair space · €11.50"),
        ("Row G, seat 5 (G5)", "VIP · €15.50"),
        ("Row J, seat 1 (J1)", "VIP, couple seat · €15.50"),
        ("Row J, seat 2 (J2)", "VIP, couple seat · €15.50"),
    ]
    codes = dict(order.tickets.values_list("seat_code", "code"))
    for text, (seat, category) in zip(pages, expected, strict=True):
        assert seat in text and category in text
        assert codes[seat[-3:-1]] in text  # the ticket code under its QR code
        assert "Paper Moons" in text and "Kino am Kanal · Grand" in text
        assert "Lichtspielweg 12" in text and "10117 Berlin" in text
        assert local.strftime("%H:%M") in text and str(local.day) in text
        assert order.reference in text


def test_pdf_leaves_out_tickets_voided_by_a_reseat(berlin_hall):
    showtime = showtime_at(berlin_hall, timezone.now() + timedelta(days=2))
    order = paid_order(showtime, ["B1", "B2"])
    services.order_reseat(order_id=order.pk, codes=["C3", "C4"], actor=Actor("staff:t"))
    pages = pdf_pages(tickets_pdf(order))
    assert len(pages) == 2
    assert "(C3)" in pages[0] and "(C4)" in pages[1]
    assert not any("(B1)" in p or "(B2)" in p for p in pages)


def _event(ics: bytes):
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


@pytest.mark.parametrize(
    ("day_offset", "local_time", "utc_hour"),
    [
        (-1, "20:15", 18),  # Saturday evening: still summer time, UTC+2
        (0, "01:30", 23),  # Sunday 01:30, before the clocks go back: UTC+2, the day before in UTC
        (0, "20:15", 19),  # Sunday evening: winter time, UTC+1
    ],
)
def test_ics_carries_the_utc_instant_across_the_october_dst_change(
    berlin_hall, day_offset, local_time, utc_hour
):
    sunday = last_sunday_of_october(timezone.now().year + 1)
    day = sunday + timedelta(days=day_offset)
    hour, minute = map(int, local_time.split(":"))
    starts_at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)
    order = paid_order(showtime_at(berlin_hall, starts_at), ["C1"])
    ics = booking_ics(order)
    calendar, event = _event(ics)

    expected_utc = datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).astimezone(UTC)
    assert expected_utc.hour == utc_hour  # the cases say what they test
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert f"DTSTART;TZID=Europe/Berlin:{day:%Y%m%d}T{hour:02d}{minute:02d}00" in ics.decode()
    assert event.decoded("DTSTART").astimezone(UTC) == expected_utc
    # The VTIMEZONE in the file, read on its own (as a calendar without zoneinfo would), agrees.
    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/Berlin"
    naive = datetime(day.year, day.month, day.day, hour, minute)
    assert naive.replace(tzinfo=vtimezone.to_tz()).astimezone(UTC) == expected_utc
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=104)


def test_ics_has_the_address_the_seats_and_the_booking_link(berlin_hall):
    order = paid_order(showtime_at(berlin_hall, timezone.now() + timedelta(days=3)), ["G5", "G6"])
    _calendar, event = _event(booking_ics(order))
    assert str(event["LOCATION"]) == "Kino am Kanal, Grand, Lichtspielweg 12, 10117 Berlin, Germany"
    assert str(event["SUMMARY"]) == "Paper Moons – Kino am Kanal"
    assert str(event["UID"]) == f"{order.reference}@seatlock"
    description = str(event["DESCRIPTION"])
    assert "Seats: G5, G6" in description and order.reference in description
    assert f"/bookings/{order.reference}/?t={booking_token(order.reference)}" in str(event["URL"])


def test_downloads_need_the_signed_link(berlin_hall):
    order = paid_order(showtime_at(berlin_hall, timezone.now() + timedelta(days=2)), ["A3", "A4"])
    token = booking_token(order.reference)
    client = Client()
    for name in ("tickets.pdf", "calendar.ics"):
        base = f"/bookings/{order.reference}/{name}"
        assert client.get(base).status_code == 404
        assert client.get(f"{base}?t={token}x").status_code == 404
        assert client.get(f"/bookings/NOPE123/{name}?t={token}").status_code == 404
    pdf = client.get(f"/bookings/{order.reference}/tickets.pdf?t={token}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="seatlock-{order.reference}.pdf"'
    assert "no-store" in pdf["Cache-Control"] and "private" in pdf["Cache-Control"]
    assert len(pdf_pages(pdf.content)) == 2
    ics = client.get(f"/bookings/{order.reference}/calendar.ics?t={token}")
    assert ics.status_code == 200 and ics["Content-Type"] == "text/calendar; charset=utf-8"
    assert ics["Content-Disposition"] == f'attachment; filename="seatlock-{order.reference}.ics"'
    assert _event(ics.content)[1]["UID"] == f"{order.reference}@seatlock"


def test_downloads_of_a_booking_without_tickets_say_so(berlin_hall):
    showtime = showtime_at(berlin_hall, timezone.now() + timedelta(days=2))
    order = services.seat_hold(showtime_id=showtime.pk, codes=["A3"], owner_token="ann", actor=Actor("t"))
    assert order.status == OrderStatus.HOLDING
    token = booking_token(order.reference)
    for name in ("tickets.pdf", "calendar.ics"):
        response = Client().get(f"/bookings/{order.reference}/{name}?t={token}")
        assert response.status_code == 404
        assert response.content.decode() == f"Booking {order.reference} has no valid tickets (holding seats)."


def test_booking_page_shows_the_address_each_category_and_the_downloads(berlin_hall):
    order = paid_order(showtime_at(berlin_hall, timezone.now() + timedelta(days=2)), ["A1", "J1", "J2"])
    token = booking_token(order.reference)
    html = Client().get(f"/bookings/{order.reference}/?t={token}").content.decode()
    address = html[html.index("data-cinema-address") :].split("</address>")[0]
    assert "Kino am Kanal" in address and "Lichtspielweg 12<br>10117 Berlin<br>Germany" in address
    assert html.count("data-category>") == 3
    assert "Standard, wheelchair space</p>" in html and html.count("VIP, couple seat</p>") == 2
    assert f'href="/bookings/{order.reference}/tickets.pdf?t={token}"' in html
    assert f'href="/bookings/{order.reference}/calendar.ics?t={token}"' in html


def test_booking_page_shows_the_time_in_the_cinema_time_zone(db):
    cinema = Cinema.objects.create(name="Metro", slug="metro", time_zone="America/New_York")
    hall = Hall.objects.create(cinema=cinema, name="One", slug="one", layout=demo.small_hall_layout())
    day = timezone.now().date() + timedelta(days=3)
    starts_at = datetime(day.year, day.month, day.day, 20, 15, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    order = paid_order(showtime_at(hall, starts_at), ["A1"])
    html = Client().get(f"/bookings/{order.reference}/?t={booking_token(order.reference)}").content.decode()
    assert f"{day.day} {starts_at:%B %Y}, 20:15" in html
