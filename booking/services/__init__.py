"""The only code that changes seat or order state (DESIGN.md invariants 1-4).

A module per concern, so a reader finds every state change by its name:
- `locking`   the transaction and lock-timeout plumbing, `Actor`, the ledger;
- `orders`    the order lifecycle: the transition table and `order_transition`;
- `holds`     holding and releasing seats (the hot path);
- `boxoffice` blocking, counter sales, cancel, reseat, check-in;
- `showtimes` a showtime and its seat inventory.

Callers import from `booking.services`; the names below are the public surface.
"""

from booking.services.boxoffice import (
    CheckIn,
    CheckInResult,
    order_cancel,
    order_reseat,
    order_sell_at_counter,
    seat_block,
    seat_unblock,
    ticket_check_in,
)
from booking.services.holds import seat_cap, seat_hold, seat_hold_best, seat_release
from booking.services.locking import MAX_CODES_PER_REQUEST, Actor, seat_codes_parse
from booking.services.orders import (
    TRANSITIONS,
    ConfirmOutcome,
    ConfirmResult,
    booking_confirm,
    order_await_payment,
    order_expire,
    order_mark_paying,
    order_mark_refunded,
    order_payment_failed,
    order_resume_holding,
    order_transition,
)
from booking.services.showtimes import showtime_create, showtime_create_inventory

__all__ = [
    "MAX_CODES_PER_REQUEST",
    "TRANSITIONS",
    "Actor",
    "CheckIn",
    "CheckInResult",
    "ConfirmOutcome",
    "ConfirmResult",
    "booking_confirm",
    "order_await_payment",
    "order_cancel",
    "order_expire",
    "order_mark_paying",
    "order_mark_refunded",
    "order_payment_failed",
    "order_reseat",
    "order_resume_holding",
    "order_sell_at_counter",
    "order_transition",
    "seat_block",
    "seat_cap",
    "seat_codes_parse",
    "seat_hold",
    "seat_hold_best",
    "seat_release",
    "seat_unblock",
    "showtime_create",
    "showtime_create_inventory",
    "ticket_check_in",
]
