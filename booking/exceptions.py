"""Domain errors of the booking services: each names the seats and says why, for the customer."""

from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _seat_list(seats: Iterable[str]) -> str:
    return ", ".join(sorted(seats))


class BookingError(Exception):
    """Base class; `message` is safe to show to the customer."""

    # Set by a service that read the owner's open order before refusing (`order` is it, or None
    # when there was none): the caller can redraw the basket without reading it again.
    order_seen = False
    order = None
    # Set by a hold or release asked to `show` seats: their rows as the refused call left them
    # (see booking.services.holds.seat_hold).
    seat_rows = None

    def __init__(self, message: str, *, seats: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.seats = tuple(sorted(seats))


class InvalidSeat(BookingError):
    def __init__(self, seats: Iterable[str], detail: str = ""):
        seats = tuple(seats)
        message = detail or ngettext(
            "There is no seat %(seats)s in this hall.",
            "There are no seats %(seats)s in this hall.",
            len(seats),
        ) % {"seats": _seat_list(seats)}
        super().__init__(message, seats=seats)


class SeatUnavailable(BookingError):
    def __init__(self, seats: Iterable[str]):
        seats = tuple(seats)
        message = ngettext(
            "Seat %(seats)s has just been taken by someone else.",
            "Seats %(seats)s have just been taken by someone else.",
            len(seats),
        ) % {"seats": _seat_list(seats)}
        super().__init__(message, seats=seats)


class HoldLimitReached(BookingError):
    def __init__(self, seats: Iterable[str], limit: int):
        super().__init__(
            _("You can hold at most %(limit)d seats in one booking.") % {"limit": limit}, seats=seats
        )
        self.limit = limit


class SeatsBusy(BookingError):
    def __init__(self, seats: Iterable[str]):
        seats = tuple(seats)
        if seats:
            message = _("Seats %(seats)s are busy right now; please try again in a moment.") % {
                "seats": _seat_list(seats)
            }
        else:  # a deadlock, or best available finding every group busy: no seat to name
            message = _("Other buyers are choosing these seats right now; please try again in a moment.")
        super().__init__(message, seats=seats)


class SalesClosed(BookingError):
    def __init__(self, seats: Iterable[str] = ()):
        super().__init__(_("Sales for this showtime have closed."), seats=seats)


class NotYourHold(BookingError):
    def __init__(self, seats: Iterable[str]):
        seats = tuple(seats)
        super().__init__(
            _("Seats %(seats)s are not held by you, so you cannot release them.")
            % {"seats": _seat_list(seats)},
            seats=seats,
        )


class OrderTransitionRefused(BookingError):
    """The order lifecycle (booking.services.orders.TRANSITIONS) does not allow this change."""

    def __init__(self, reference: str, status: str, target: str, *, message: str = ""):
        super().__init__(
            message
            or _("Booking %(reference)s is %(status)s and cannot become %(target)s.")
            % {"reference": reference, "status": status, "target": target}
        )
        self.reference = reference
        self.status = status
        self.target = target


class OrderAtPayment(OrderTransitionRefused):
    def __init__(self, reference: str, status: str = "paying", target: str = "holding"):
        super().__init__(
            reference,
            status,
            target,
            message=_(
                "Booking %(reference)s is at payment: finish or cancel the payment before changing seats."
            )
            % {"reference": reference},
        )


class OrderNotOpen(OrderTransitionRefused):
    def __init__(self, reference: str, status: str, target: str = ""):
        super().__init__(
            reference,
            status,
            target,
            message=_("Booking %(reference)s can no longer be changed (it is %(status)s).")
            % {"reference": reference, "status": status},
        )


class TooManyOrders(BookingError):
    def __init__(self, limit: int):
        super().__init__(
            _(
                "Too many bookings are being held from your network right now (at most %(limit)d). "
                "Finish or release one first."
            )
            % {"limit": limit}
        )


class SeatStranded(BookingError):
    """The stranded-seat rule (booking/services/choosing.py): a single free seat would be left."""

    def __init__(self, seats: Iterable[str], *, release: bool = False, suggestion: Iterable[str] = ()):
        seats = tuple(seats)
        suggestion = tuple(suggestion)
        values = {"seats": _seat_list(seats)}
        if release:
            message = (
                ngettext(
                    "This would leave %(seats)s empty on its own next to your seats: release the seats beside it too.",
                    "This would leave %(seats)s empty on their own next to your seats: release the seats beside them too.",
                    len(seats),
                )
                % values
            )
        else:
            message = (
                ngettext(
                    "This would leave %(seats)s empty on its own: take %(seats)s too",
                    "This would leave %(seats)s empty on their own: take %(seats)s too",
                    len(seats),
                )
                % values
            )
            if suggestion:
                message += _(", or choose %(other)s") % {"other": seat_range(suggestion)}
            message += "."
        super().__init__(message, seats=seats)
        self.suggestion = suggestion


class CompanionNeeded(BookingError):
    """A companion seat belongs with its wheelchair space."""

    def __init__(self, seats: Iterable[str], *, release: bool = False):
        seats = tuple(seats)
        if release:
            message = _("Release the companion seat %(seats)s first: it goes with the wheelchair space.") % {
                "seats": _seat_list(seats)
            }
        else:
            message = _(
                "Companion seat %(seats)s is for the person with the wheelchair space beside it: "
                "hold that space first (or together)."
            ) % {"seats": _seat_list(seats)}
        super().__init__(message, seats=seats)


class NoSeatsTogether(BookingError):
    def __init__(self, count: int, zone_label: str = ""):
        values = {"count": count, "fewer": count - 1, "zone": zone_label}
        if zone_label and count > 1:
            message = _(
                "There are no %(count)d seats together in %(zone)s; %(fewer)d together or another zone?"
            )
        elif zone_label:
            message = _("There is no free seat in %(zone)s; try another zone?")
        elif count > 1:
            message = _("There are no %(count)d seats together; try %(fewer)d together?")
        else:
            message = _("There is no free seat left.")
        super().__init__(message % values)
        self.count = count


class InvalidChoice(BookingError):
    """A best-available request out of range (bad input: 400)."""


def seat_range(codes: Iterable[str]) -> str:
    """First to last seat with an en dash for seats side by side in a row, else a list."""
    codes = tuple(codes)
    if len(codes) >= 2:
        return f"{codes[0]}\u2013{codes[-1]}"
    return _seat_list(codes)
