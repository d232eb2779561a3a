"""Tickets as people keep them: QR codes, a PDF with one page per ticket, a calendar entry.

Everything is drawn locally (no external service sees a ticket code) from the same templates
the booking page uses, in the cinema's own time zone.
"""

import io
from datetime import timedelta

import segno
import weasyprint
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from booking.formatting import money, seat_category
from booking.links import booking_url
from booking.models import Order, OrderStatus, TicketStatus

PDF_TEMPLATE = "booking/tickets_pdf.html"


def qr_svg(code: str, *, scale: int = 4) -> SafeString:
    # segno escapes nothing user-controlled here: the code is our own URL-safe token.
    return mark_safe(segno.make(code, error="m").svg_inline(scale=scale, border=2, title=code))  # noqa: S308


def qr_png(code: str, *, scale: int = 6) -> bytes:
    """The same QR code as a PNG: mail clients show inline images, not inline SVG."""
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def tickets_with_qr(order, *, scale: int = 4, valid_only: bool = False) -> list:
    """The order's tickets, each with `qr_svg` (the QR content is the ticket code), its `row`,
    `number` and `category` ("VIP, couple seat") from the hall's layout."""
    tickets = order.tickets.all()
    if valid_only:
        tickets = tickets.filter(status=TicketStatus.VALID)
    tickets = list(tickets)
    geometry = order.showtime.hall.geometry
    zone_labels = {z.key: z.label for z in geometry.zones}
    for ticket in tickets:
        seat = geometry.by_code.get(ticket.seat_code)
        # A seat the layout no longer has (the hall was redrawn after the sale) keeps its code.
        ticket.row = seat.row if seat else ""
        ticket.number = seat.number if seat else ""
        ticket.category = seat_category(zone_labels.get(ticket.zone, ticket.zone), seat.kind if seat else "")
        ticket.qr_svg = qr_svg(ticket.code, scale=scale)
    return tickets


def has_tickets(order: Order) -> bool:
    """Only a paid booking has tickets to print or a showtime to put in a calendar."""
    return order.status == OrderStatus.PAID and order.tickets.filter(status=TicketStatus.VALID).exists()


def tickets_pdf(order: Order, tickets: list | None = None) -> bytes:
    """One page per valid ticket, from the HTML template, rendered by WeasyPrint. `tickets`:
    the order's valid tickets from tickets_with_qr(), when the caller has them already."""
    if tickets is None:
        tickets = tickets_with_qr(order, scale=5, valid_only=True)
    context = {
        "order": order,
        "showtime": order.showtime,
        "cinema": order.showtime.hall.cinema,
        "tickets": tickets,
    }
    html = render_to_string(PDF_TEMPLATE, context)
    # No protocol allowed: the template needs nothing from outside (inline CSS and SVG), and a
    # film title or an address must never make the server fetch a URL.
    fetcher = weasyprint.URLFetcher(allowed_protocols=())
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def booking_ics(order: Order, tickets: list | None = None) -> bytes:
    """The showtime as a calendar event: local start with its VTIMEZONE, the cinema's address.
    `tickets`: the order's valid tickets, when the caller has them already."""
    showtime = order.showtime
    cinema = showtime.hall.cinema
    start = showtime.local_start
    if tickets is None:
        tickets = order.tickets.filter(status=TicketStatus.VALID)
    seats = ", ".join(t.seat_code for t in tickets)
    link = settings.SITE_URL + booking_url(order)
    event = Event()
    # One event per booking: a reseat sends the same UID, so calendars update it in place.
    event.add("uid", f"{order.reference}@seatlock")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=showtime.film.runtime_minutes))
    event.add("summary", f"{showtime.film.title} – {cinema.name}")
    event.add("location", ", ".join([f"{cinema.name}, {showtime.hall.name}", *cinema.address_lines]))
    event.add(
        "description",
        "\n".join(
            [
                _("Booking reference: %(ref)s") % {"ref": order.reference},
                _("Seats: %(seats)s") % {"seats": seats},
                _("Total paid: %(total)s") % {"total": money(order.total, order.currency)},
                _("Your tickets: %(link)s") % {"link": link},
            ]
        ),
    )
    event.add("url", link)
    event.add("status", "CONFIRMED")
    calendar = Calendar()
    calendar.add("prodid", "-//SeatLock//Tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    # The VTIMEZONE for the cinema's TZID, with the transitions of the year around the showtime
    # (the whole 1970-2038 default would be most of the file).
    calendar.add_missing_timezones(
        first_date=start.date() - timedelta(days=366), last_date=start.date() + timedelta(days=366)
    )
    return calendar.to_ical()
