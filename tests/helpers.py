"""Plain helpers for tests: wait for a condition (never a guessed sleep), snapshot the database."""

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from django.db import connections, transaction
from django.utils import timezone

from booking.models import LedgerEntry, Order, ShowSeat, Ticket
from checkout.models import StripeEvent


@contextlib.contextmanager
def locked_elsewhere(queryset, *, timeout: float = 10) -> Iterator[None]:
    """The rows of `queryset` locked (`SELECT … FOR UPDATE`) by another transaction, in a thread
    with its own connection, for as long as the block runs; released and joined after it."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(queryset.select_for_update())
                locked.set()
                release.wait(timeout)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(timeout), "the other transaction never got its lock"
        yield
    finally:
        release.set()
        thread.join(timeout)


def wait_until(condition: Callable[[], object], timeout: float, *, interval: float = 0.05) -> bool:
    """Poll `condition` until it is true or `timeout` seconds have passed; return its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def at_once(work: Callable[[], object], count: int, *, timeout: float = 60) -> list:
    """Run `work` in `count` threads released together (a barrier), each with its own database
    connection, closed after; their answers in the order they finished. A thread's exception is
    raised here, and a thread still running after `timeout` fails the test."""
    barrier = threading.Barrier(count)
    answers, errors = [], []

    def run():
        try:
            barrier.wait(timeout)
            answers.append(work())
        except BaseException as exc:  # raised in the test's thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), f"a thread still ran after {timeout}s"
    if errors:
        raise errors[0]
    return answers


def stop_process(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


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
