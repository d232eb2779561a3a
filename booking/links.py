"""Signed links to a booking: the reference alone must not open someone's tickets."""

from django.core import signing
from django.urls import reverse

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
