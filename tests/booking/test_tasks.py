"""Hold expiry with a real Huey consumer process (never immediate mode).

Each test points this process's Huey at a fresh storage (SQLite file, or a Redis: REDIS_URL's,
else one this test session starts) and starts `manage.py run_huey` on the same storage and the
same test database.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

from booking import selectors, services, tasks
from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat
from booking.services import Actor
from tests.helpers import locked_elsewhere, sleep_until, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(__file__).resolve().parents[2]
HOLD = 2  # seconds


BACKENDS = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def queue(request, tmp_path, monkeypatch, settings):
    """This process and the consumer share one storage: a tmp SQLite file or a Redis."""
    name = f"seatlock-test-{secrets.token_hex(4)}"
    env = {"HUEY_NAME": name}
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        storage = RedisStorage(name=name, url=url)
        env["REDIS_URL"] = url
    else:
        path = str(tmp_path / "huey.sqlite3")
        storage = SqliteStorage(name=name, filename=path)
        env["HUEY_SQLITE_PATH"] = path
        env["REDIS_URL"] = ""
    monkeypatch.setattr(HUEY, "storage", storage)
    monkeypatch.setattr(HUEY, "name", name)
    settings.HOLD_SECONDS = HOLD
    yield Queue(request.param, storage, env)
    storage.flush_all()


class Queue:
    def __init__(self, kind, storage, env):
        self.kind, self.storage, self.env = kind, storage, env
        self.process: subprocess.Popen | None = None

    def start_consumer(self) -> None:
        db = connection.settings_dict
        url = f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": url,
            "DEBUG": "1",
            "HOLD_SECONDS": str(HOLD),
            "HUEY_IMMEDIATE": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_huey", "--workers", "2", "--worker-type", "thread", "--quiet"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_until(self, condition, timeout: float) -> bool:
        """Poll `condition`; a consumer that dies meanwhile fails the test with its stderr."""
        running = self.process
        wait_until(lambda: (running is not None and running.poll() is not None) or condition(), timeout)
        if running is not None and running.poll() is not None:
            pytest.fail(
                f"the consumer exited ({running.returncode}): {running.stderr.read().decode()[-2000:]}"
            )
        return bool(condition())

    def kill_consumer(self, sig=signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)

    def stop(self) -> None:
        self.kill_consumer(signal.SIGTERM)


@pytest.fixture
def consumer(queue):
    yield queue
    queue.stop()


def hold(showtime, codes, token=None, now=None) -> Order:
    token = token or secrets.token_hex(8)
    return services.seat_hold(
        showtime_id=showtime.pk, codes=codes, owner_token=token, actor=Actor.session(token), now=now
    )


def order_status(order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def test_consumer_releases_holds_when_they_expire_in_order(consumer, showtime):
    """How late the release comes is for the benchmarks; here: not early, and in order."""
    consumer.start_consumer()
    tasks.sweep_expired_orders()  # nothing is due: once the consumer has taken it, it is running
    assert consumer.wait_until(lambda: consumer.storage.queue_size() == 0, 30)
    first = hold(showtime, ["A1", "A2"])
    # Due three seconds later: well over the consumer's one-second schedule check, so the order
    # of the two releases is not left to which of its two workers runs first.
    second = hold(showtime, ["B1"], now=timezone.now() + timedelta(seconds=3))
    assert second.expires_at - first.expires_at >= timedelta(seconds=3)
    # One task per hold, waiting in the queue or (once a worker has seen its eta) the schedule;
    # for a moment a worker has it in hand and it is in neither.
    storage = consumer.storage
    assert consumer.wait_until(lambda: storage.queue_size() + storage.schedule_size() == 2, HOLD)
    assert consumer.wait_until(lambda: order_status(first) == OrderStatus.EXPIRED, HOLD + 6)
    assert order_status(second) == OrderStatus.HOLDING
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.AVAILABLE).count() == 7
    assert consumer.wait_until(lambda: order_status(second) == OrderStatus.EXPIRED, 8)
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.AVAILABLE).count() == 8

    entries = list(LedgerEntry.objects.filter(action="order.expire").order_by("pk"))
    assert [(e.order_id, e.actor, e.seats) for e in entries] == [
        (first.pk, "system:expiry-task", ["A1", "A2"]),
        (second.pk, "system:expiry-task", ["B1"]),
    ]
    for entry, order in zip(entries, (first, second), strict=True):
        late = entry.data["late_seconds"]
        assert late >= 0 and entry.created_at >= order.expires_at, f"[{consumer.kind}] released {late}s late"


def test_sweep_releases_holds_whose_task_was_lost(consumer, showtime):
    order = hold(showtime, ["B1"])
    consumer.storage.flush_all()  # the scheduled task is gone, as after a flushed Redis
    consumer.start_consumer()
    sleep_until(order.expires_at)
    assert order_status(order) == OrderStatus.HOLDING  # due, and nothing runs it...
    tasks.sweep_expired_orders()  # ...until the periodic sweep comes round
    assert consumer.wait_until(lambda: order_status(order) == OrderStatus.EXPIRED, 8)
    entry = LedgerEntry.objects.get(order=order, action="order.expire")
    assert entry.actor == "system:expiry-sweep"


def test_without_a_consumer_lapsed_seats_are_free_and_the_late_task_leaves_them(queue, showtime, settings):
    first = hold(showtime, ["A3"])
    sleep_until(first.expires_at)
    settings.HOLD_SECONDS = 600  # the second hold must outlast however long the consumer takes to start
    second = hold(showtime, ["A3"])  # lazy expiry: no task has run, the seat is free anyway
    assert ShowSeat.objects.get(showtime=showtime, code="A3").order_id == second.pk
    queue.start_consumer()
    try:
        assert queue.wait_until(lambda: order_status(first) == OrderStatus.EXPIRED, 8)
        assert ShowSeat.objects.get(showtime=showtime, code="A3").order_id == second.pk
        assert LedgerEntry.objects.get(order=first, action="order.expire").seats == []
    finally:
        queue.stop()


def test_task_for_a_paid_order_changes_nothing(queue, showtime):
    order = hold(showtime, ["A4"])
    services.booking_confirm(order_id=order.pk, actor=Actor("stripe:test"))
    tasks.expire_order.call_local(order.pk)  # as if it ran anyway, at the last moment
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    tasks.expire_order.call_local(order.pk)
    assert order_status(order) == OrderStatus.PAID
    assert ShowSeat.objects.get(showtime=showtime, code="A4").status == SeatStatus.SOLD
    assert not LedgerEntry.objects.filter(order=order, action="order.expire").exists()


def test_killed_consumer_loses_no_order(consumer, large_showtime):
    orders = [hold(large_showtime, [f"A{n}"]) for n in range(1, 21)]
    consumer.start_consumer()
    assert consumer.wait_until(
        lambda: Order.objects.filter(status=OrderStatus.EXPIRED).count() >= 5, HOLD + 6
    )
    consumer.kill_consumer(signal.SIGKILL)  # mid-run: some tasks may be lost with it
    consumer.start_consumer()
    # A task can be lost between the dequeue and its (re)scheduling, before its order is due:
    # the next periodic sweep, once every order is due, is what catches those.
    sleep_until(max(o.expires_at for o in orders))
    tasks.sweep_expired_orders()
    assert consumer.wait_until(
        lambda: Order.objects.filter(pk__in=[o.pk for o in orders], status=OrderStatus.EXPIRED).count() == 20,
        15,
    )
    now = timezone.now()
    assert not ShowSeat.objects.filter(
        showtime=large_showtime, status=SeatStatus.HELD, held_until__lte=now
    ).exists()


def test_sweep_is_indexed_bounded_and_skips_locked_orders(showtime):
    t0 = timezone.now() - timedelta(minutes=20)
    orders = [
        services.seat_hold(
            showtime_id=showtime.pk, codes=[f"B{n}"], owner_token=f"o{n}", actor=Actor("t"), now=t0
        )
        for n in range(1, 4)
    ]
    assert selectors.orders_due_for_expiry(limit=2) == [orders[0].pk, orders[1].pk]
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny test tables are cheaper to scan; forbid that to see the index is usable at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM booking_order WHERE status IN ('holding', 'paying') AND expires_at <= now() "
            "ORDER BY expires_at LIMIT 100"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "order_open_expiry" in plan

    # Another worker is expiring orders[0] right now: the sweep skips it instead of waiting.
    with locked_elsewhere(Order.objects.filter(pk=orders[0].pk)):
        started = time.monotonic()
        skipped = services.order_expire(order_id=orders[0].pk, actor=Actor.system("sweep"), skip_locked=True)
        assert skipped is None and time.monotonic() - started < 1
        assert services.order_expire(
            order_id=orders[1].pk, actor=Actor.system("sweep"), skip_locked=True
        ) == ["B2"]
    assert order_status(orders[0]) == OrderStatus.HOLDING
    assert services.order_expire(order_id=orders[0].pk, actor=Actor.system("sweep"), skip_locked=True) == [
        "B1"
    ]


def test_sweep_runs_every_minute():
    for minute in (0, 17, 59):
        moment = timezone.now().replace(minute=minute, second=0, microsecond=0)
        assert "sweep_expired_orders" in [task.name for task in HUEY.read_periodic(moment)]
    assert settings.HUEY["consumer"]["periodic"] is True


def test_session_cleanup_removes_expired_rows_and_keeps_live_ones():
    abandoned, live = SessionStore(), SessionStore()
    abandoned["owner_token"], live["owner_token"] = "gone", "here"
    abandoned.create()
    live.create()
    Session.objects.filter(pk=abandoned.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    tasks.clear_expired_sessions.call_local()
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_session_cleanup_runs_hourly():
    moments = [
        timezone.now().replace(hour=h, minute=m, second=0, microsecond=0) for h in (0, 13) for m in (0, 1, 30)
    ]
    runs = [
        (t.hour, t.minute)
        for t in moments
        if "clear_expired_sessions" in [p.name for p in HUEY.read_periodic(t)]
    ]
    assert runs == [(0, 0), (13, 0)]
