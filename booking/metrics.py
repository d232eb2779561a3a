"""SeatLock's own Prometheus metrics for the booking app (docs/operations.md, "Metrics").

A conflict (409 and friends) is normal business when hundreds of people want the same seat:
it is counted here, never logged line by line. Metrics are observed at the edges (the hold
view, the expiry log) so the locked transaction itself pays nothing for them.

Label values are a closed set (the reasons below), so no customer input reaches a label.
"""

from prometheus_client import Counter, Histogram

from booking.exceptions import (
    BookingError,
    CompanionNeeded,
    HoldLimitReached,
    InvalidChoice,
    InvalidSeat,
    NoSeatsTogether,
    NotYourHold,
    OrderTransitionRefused,
    SalesClosed,
    SeatsBusy,
    SeatStranded,
    SeatUnavailable,
    TooManyOrders,
)

OK = "ok"

# The outcome label of a refused hold or release; the first class in the MRO that is listed
# wins, so OrderAtPayment and OrderNotOpen count as at_payment through their base class.
CONFLICT_REASONS: dict[type[BookingError], str] = {
    SeatUnavailable: "unavailable",
    HoldLimitReached: "limit",
    OrderTransitionRefused: "at_payment",
    SeatsBusy: "busy",
    TooManyOrders: "too_many_orders",
    SalesClosed: "sales_closed",
    InvalidSeat: "invalid",
    NotYourHold: "not_yours",
    SeatStranded: "stranded",
    CompanionNeeded: "companion",
    NoSeatsTogether: "no_group",
    InvalidChoice: "invalid",
}
OTHER = "other"

holds = Counter("seatlock_holds", "Hold requests by outcome: ok or the reason for refusing.", ["outcome"])
releases = Counter(
    "seatlock_releases", "Release requests by outcome: ok or the reason for refusing.", ["outcome"]
)
hold_seconds = Histogram(
    "seatlock_hold_duration_seconds",
    "Time spent in the hold service (lock, check, update, ledger), refused holds included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
expiry_lateness_seconds = Histogram(
    "seatlock_expiry_lateness_seconds",
    "Seconds between an order's expires_at and the moment its expiry released the seats.",
    buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)

# Every known outcome starts at 0, so a rate() over the first refusal of a kind is not empty.
for _outcome in (OK, *CONFLICT_REASONS.values(), OTHER):
    holds.labels(_outcome)
    releases.labels(_outcome)


def conflict_reason(error: BookingError) -> str:
    for cls in type(error).__mro__:
        if cls in CONFLICT_REASONS:
            return CONFLICT_REASONS[cls]
    return OTHER


def seat_change_observe(*, hold: bool, error: BookingError | None, seconds: float) -> None:
    outcome = OK if error is None else conflict_reason(error)
    if hold:
        holds.labels(outcome).inc()
        hold_seconds.observe(seconds)
    else:
        releases.labels(outcome).inc()
