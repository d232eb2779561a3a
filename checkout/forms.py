"""The checkout form is the basket's (booking.forms): the payment layer only reads it."""

from booking.forms import CheckoutForm

__all__ = ["CheckoutForm"]
