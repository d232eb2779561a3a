"""200 sequential holds through the Python reference and through the database function.

DATABASE_URL=postgresql://…/some_scratch_db .venv/bin/python -m bench.hold_path

Migrates that database, makes two showtimes on the demo's large hall (352 seats) and holds
200 seats on each, one service call at a time: 100 buyers, each opening an order with a first
seat and adding a second. Prints milliseconds per hold for each path. The expiry task is not
scheduled (the queue costs both paths the same); nothing else is left out.
"""

import os
import statistics
import sys
import time
from datetime import timedelta

os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-" * 10,
    ALLOWED_HOSTS="testserver",
    SECURE_SSL_REDIRECT="0",
    STRIPE_SECRET_KEY="sk_test_bench",
    MAX_OPEN_ORDERS_PER_IP="1000000",
    DJANGO_SETTINGS_MODULE="config.settings",
)

HOLDS = 200
ROUNDS = 3


def main() -> int:
    if not os.environ.get("DATABASE_URL"):
        print("set DATABASE_URL to a scratch database", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    import booking.tasks
    from booking import demo
    from booking.models import Film, ShowSeat, Showtime
    from booking.services import Actor, seat_hold, showtime_create
    from booking.services.holds_reference import hold_reference
    from halls.models import Cinema, Hall

    call_command("migrate", verbosity=0)
    booking.tasks.schedule_order_expiry = lambda **kwargs: None
    cinema, _ = Cinema.objects.get_or_create(slug="bench-cinema", defaults={"name": "Bench"})
    stamp = time.time_ns()
    hall = Hall.objects.create(
        cinema=cinema, name=f"Bench {stamp}", slug=f"bench-{stamp}", layout=demo.large_hall_layout()
    )
    film = Film.objects.create(title="Bench", slug=f"bench-{stamp}", runtime_minutes=100)

    def showtime():
        return showtime_create(
            film=film,
            hall=hall,
            starts_at=timezone.now() + timedelta(days=1),
            prices={"standard": 1390, "premium": 1790},
        )

    def run(hold, *, preload: bool = False) -> float:
        target = showtime()
        codes = list(ShowSeat.objects.filter(showtime=target).order_by("pk").values_list("code", flat=True))
        extra = {}
        if preload:  # what the view hands over: the showtime with its hall, already loaded
            extra["showtime"] = (
                Showtime.objects.select_related("hall").defer("hall__layout").get(pk=target.pk)
            )
        started = time.perf_counter()
        for i in range(HOLDS):
            owner = f"bench-{stamp}-{target.pk}-{i // 2}"
            hold(
                showtime_id=target.pk,
                codes=[codes[i]],
                owner_token=owner,
                actor=Actor.session(owner),
                **extra,
            )
        return (time.perf_counter() - started) / HOLDS * 1000

    run(seat_hold)  # warm up: connection, geometry cache, the function's plans
    paths = {
        "reference (ORM statements)": lambda: run(hold_reference),
        "function, showtime read by the service": lambda: run(seat_hold),
        "function, showtime passed in (as the view)": lambda: run(seat_hold, preload=True),
    }
    results = {name: [] for name in paths}
    for _ in range(ROUNDS):
        for name, path in paths.items():
            results[name].append(path())
    for name, times in results.items():
        print(f"{name:44} {statistics.median(times):6.2f} ms per hold (median of {ROUNDS} x {HOLDS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
