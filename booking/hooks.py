"""The one door from booking to payments: booking never imports checkout (DESIGN.md layers).

Before an order's seats go back on sale (expiry task, sweep, or the lazy expiry inside a hold),
any payment page that could still take the customer's money must be closed. Only the payment
layer knows how, so it registers a callable here at start-up (checkout's AppConfig.ready).
A plain registry rather than a Django signal: the caller needs an answer (a veto), and there
is exactly one payment layer.
"""

from collections.abc import Callable

# order id -> True when no payment can complete any more (closed, or there was none),
# False when the payment already completed: the seats must stay for the confirmation.
PaymentCloser = Callable[[int], bool]

_payment_closer: PaymentCloser | None = None


def payment_closer_register(closer: PaymentCloser) -> None:
    global _payment_closer
    _payment_closer = closer


def payment_close(*, order_id: int) -> bool:
    """Ask the payment layer to close the order's open payment; True if none can complete."""
    if _payment_closer is None:
        return True  # no payment layer installed: nothing can be paid
    return _payment_closer(order_id)
