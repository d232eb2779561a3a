"""Emails about an order, sent by the worker so a slow mail server never slows a webhook."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from booking.links import booking_url
from booking.models import Order

SUBJECTS = {
    "confirmed": lambda o: (
        _("Your tickets for %(film)s (%(ref)s)") % {"film": o.showtime.film.title, "ref": o.reference}
    ),
    "refunded": lambda o: _("Your payment was refunded (%(ref)s)") % {"ref": o.reference},
    "payment_failed": lambda o: _("Your payment did not go through (%(ref)s)") % {"ref": o.reference},
    "payment_returned": lambda o: _("A second payment was refunded (%(ref)s)") % {"ref": o.reference},
}


def order_email(order: Order, kind: str, reason: str = "") -> EmailMultiAlternatives:
    context = {
        "reason": reason or order.status_reason,
        "order": order,
        "tickets": list(order.tickets.all()),
        "link": settings.SITE_URL + booking_url(order),
        "kind": kind,
    }
    text = render_to_string(f"emails/order_{kind}.txt", context)
    html = render_to_string(f"emails/order_{kind}.html", context)
    message = EmailMultiAlternatives(SUBJECTS[kind](order), text, settings.DEFAULT_FROM_EMAIL, [order.email])
    message.attach_alternative(html, "text/html")
    return message


@db_task(retries=3, retry_delay=30)
def send_order_email(order_id: int, kind: str, reason: str = "") -> None:
    order = Order.objects.select_related("showtime__film", "showtime__hall").get(pk=order_id)
    if order.email:
        order_email(order, kind, reason).send()
