"""Domain errors of the API's own rules (the booking services raise the rest)."""

from django.utils.translation import gettext as _

from booking.exceptions import BookingError


class KeyOrderLimitReached(BookingError):
    def __init__(self, limit: int):
        super().__init__(
            _(
                "This API key already holds seats in %(limit)d open orders, the most it may. "
                "Pay for, release or let one expire first."
            )
            % {"limit": limit}
        )
        self.limit = limit
