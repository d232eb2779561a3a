"""QR codes for tickets, drawn locally as SVG (no external service sees a ticket code)."""

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(code: str, *, scale: int = 4) -> SafeString:
    # segno escapes nothing user-controlled here: the code is our own URL-safe token.
    return mark_safe(segno.make(code, error="m").svg_inline(scale=scale, border=2, title=code))  # noqa: S308


def tickets_with_qr(order, *, scale: int = 4, valid_only: bool = False) -> list:
    """The order's tickets, each with `qr_svg` (the QR content is the ticket code)."""
    tickets = order.tickets.all()
    if valid_only:
        tickets = tickets.filter(status="valid")
    tickets = list(tickets)
    for ticket in tickets:
        ticket.qr_svg = qr_svg(ticket.code, scale=scale)
    return tickets
