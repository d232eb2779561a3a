"""Emails to the customer: one for every change to their booking, sent by the worker after commit.

Each email says what changed and what it means for the customer's money. Whoever changes an
order (a booking service, or the payment layer for payments) calls `order_email_later` in the
same transaction as the change, so the email goes out once the change has committed, and only
then: a change that rolls back sends nothing, and a change made once sends one email.

Emails with tickets (confirmed, reseated) carry the PDF and the .ics, and show each QR code
inline as a CID image (mail clients block remote images and strip inline SVG).
"""

from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from booking.links import booking_url
from booking.models import Order
from booking.tickets import booking_ics, qr_png, tickets_pdf, tickets_with_qr


def _ref(order: Order) -> dict:
    return {"film": order.showtime.film.title, "ref": order.reference}


SUBJECTS = {
    "confirmed": lambda o: _("Your tickets for %(film)s (%(ref)s)") % _ref(o),
    "reseated": lambda o: _("Your seats for %(film)s have changed (%(ref)s)") % _ref(o),
    "cancelled": lambda o: _("Your booking for %(film)s was cancelled (%(ref)s)") % _ref(o),
    "refunded": lambda o: _("Your payment was refunded (%(ref)s)") % _ref(o),
    "expired": lambda o: _("Your payment did not complete; your seats were released (%(ref)s)") % _ref(o),
    "payment_failed": lambda o: _("Your payment did not go through (%(ref)s)") % _ref(o),
    "payment_returned": lambda o: _("A second payment was refunded (%(ref)s)") % _ref(o),
}
# The kinds that carry the tickets: PDF, calendar file, QR codes inline.
WITH_TICKETS = {"confirmed", "reseated"}


class TicketEmail(EmailMultiAlternatives):
    """HTML + text, with images the HTML shows inline by Content-ID.

    The images go in a multipart/related beside the HTML (RFC 2387), not among the attachments,
    so mail clients show them in the message and not as files:
    mixed[alternative[text, related[html, png...]], pdf, ics].
    """

    def __init__(self, *args, inline_images: list[tuple[str, bytes]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)

    def message(self):
        msg = super().message()
        if self.inline_images:
            for part in msg.walk():
                if part.get_content_type() == "multipart/alternative":
                    self._relate(part)
                    break
        return msg

    def _relate(self, alternative) -> None:
        parts = alternative.get_payload()
        index = next(i for i, p in enumerate(parts) if p.get_content_type() == "text/html")
        related = SafeMIMEMultipart(_subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET)
        related.attach(parts[index])
        for cid, png in self.inline_images:
            image = MIMEImage(png, "png")
            image.add_header("Content-ID", f"<{cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{cid.split('@')[0]}.png")
            related.attach(image)
        parts[index] = related


def _qr_cid(ticket) -> str:
    return f"qr-{ticket.seat_code}.{ticket.order_id}@seatlock"


def order_email(order: Order, kind: str, *, reason: str = "", details: dict | None = None) -> TicketEmail:
    """The email of one change to `order` (load it with showtime__film, showtime__hall__cinema).

    `details` is what the change did, recorded when it happened (seats moved, money back), so
    the email tells that change even if the order has changed again since.
    """
    if kind not in SUBJECTS:
        raise ValueError(f"no email of kind {kind!r}; kinds: {', '.join(sorted(SUBJECTS))}")
    # One read of the tickets for the message, its QR images, the PDF and the calendar file.
    tickets = tickets_with_qr(order, scale=5, valid_only=True) if kind in WITH_TICKETS else []
    for ticket in tickets:
        ticket.cid = _qr_cid(ticket)
    details = details or {}
    context = {
        "order": order,
        "showtime": order.showtime,
        "cinema": order.showtime.hall.cinema,
        "tickets": tickets,
        "reason": reason or order.status_reason,
        "details": details,
        # A reseat's change of price, in either direction (the templates say which).
        "difference": abs(details.get("total", 0) - details.get("previous_total", 0)),
        "link": settings.SITE_URL + booking_url(order),
        "showtime_link": settings.SITE_URL + order.showtime.get_absolute_url(),
        "kind": kind,
        "subject": SUBJECTS[kind](order),
    }
    text = render_to_string(f"emails/order_{kind}.txt", context)
    html = render_to_string(f"emails/order_{kind}.html", context)
    message = TicketEmail(
        context["subject"],
        text,
        settings.DEFAULT_FROM_EMAIL,
        [order.email],
        inline_images=[(t.cid, qr_png(t.code)) for t in tickets],
    )
    message.attach_alternative(html, "text/html")
    if tickets:
        message.attach(f"seatlock-{order.reference}.pdf", tickets_pdf(order, tickets), "application/pdf")
        message.attach(
            f"seatlock-{order.reference}.ics", booking_ics(order, tickets).decode(), "text/calendar"
        )
    return message


def order_email_send(*, order_id: int, kind: str, reason: str = "", details: dict | None = None) -> bool:
    """Render and send now (the worker's task calls this). False when there is nobody to tell."""
    order = Order.objects.select_related("showtime__film", "showtime__hall__cinema").get(pk=order_id)
    if not order.email:
        return False
    # In the customer's language (the worker has no request to take one from).
    with translation.override(order.language or settings.LANGUAGE_CODE):
        order_email(order, kind, reason=reason, details=details).send()
    return True


def order_email_later(order: Order, kind: str, *, reason: str = "", details: dict | None = None) -> None:
    """Queue the email once the caller's transaction commits; nothing when the order has no email."""
    if not order.email:
        return
    if kind not in SUBJECTS:
        raise ValueError(f"no email of kind {kind!r}")
    # booking.tasks imports the services at module level, and they import this module.
    from booking.tasks import order_email_queue

    order_id, reason, details = order.pk, str(reason), dict(details or {})
    transaction.on_commit(lambda: order_email_queue(order_id, kind, reason, details))
