"""Plain helpers for tests: wait for a condition (never a guessed sleep), snapshot the database."""

import time
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from booking.models import LedgerEntry, Order, ShowSeat, Ticket
from checkout.models import StripeEvent


def wait_until(condition: Callable[[], object], timeout: float, *, interval: float = 0.05) -> bool:
    """Poll `condition` until it is true or `timeout` seconds have passed; return its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def sleep_until(moment: datetime) -> None:
    """Sleep until the wall clock has passed `moment` (e.g. a hold's `expires_at`), and no longer."""
    while (remaining := (moment - timezone.now()).total_seconds()) >= 0:
        time.sleep(remaining + 0.001)


def db_state() -> dict[str, list[dict]]:
    """Every row that a booking or payment can change, for "changes nothing" assertions.

    Whole rows (with `updated_at`), so a write that leaves the values as they were still shows.
    """
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (ShowSeat, Order, Ticket, LedgerEntry, StripeEvent)
    }
