"""Filters for Django's loggers."""

import logging


class DropConflicts(logging.Filter):
    """Django's "Conflict: /showtimes/1/hold/" warning, written for every 409.

    A 409 is normal business (someone else took the seat, a seat would be stranded, the basket
    is at payment) and a premiere sale answers thousands of them: a log line each would bury the
    lines that matter and cost every worker a write. They are counted instead
    (`seatlock_holds_total` / `seatlock_releases_total` by outcome, docs/operations.md).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 409
