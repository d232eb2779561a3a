"""Signed links to a booking: the reference alone must not open someone's tickets."""

from django.core import signing
from django.urls import reverse

from booking.models import REFERENCE_PATTERN

SALT = "seatlock.booking-link"


def booking_token(reference: str) -> str:
    return signing.Signer(salt=SALT).sign(reference).split(signing.Signer().sep, 1)[1]


def booking_url(order) -> str:
    return f"{reverse('booking:booking', args=[order.reference])}?t={booking_token(order.reference)}"


def booking_token_valid(reference: str, token: str) -> bool:
    try:
        signing.Signer(salt=SALT).unsign(f"{reference}{signing.Signer().sep}{token}")
    except signing.BadSignature:
        return False
    return True


class ReferenceConverter:
    """`<reference:...>` in a URL: what booking.models.reference_possible accepts. Anything else is a 404 before a view runs: a NUL byte
    in a path would otherwise reach a query, which PostgreSQL refuses (a 500 on every page that
    takes a reference)."""

    regex = REFERENCE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
