"""Seat-map size and render time: `python -m bench.seatmap_size` (DATABASE_URL required).

On a fresh database `<name>_size` next to the configured one: the demo's 352-seat hall and a
3,000-seat hall (50 rows of 60), each map fetched through the Django test client (bytes, plain
and gzip) and built directly by the seat-map builder (p50 over 200 runs, milliseconds).
"""

import gzip
import inspect
import os
import statistics
import sys
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def big_layout(rows: int = 50, seats: int = 60) -> dict:
    labels = [chr(65 + i) for i in range(26)] + ["A" + chr(65 + i) for i in range(26)]
    return {
        "zones": {"standard": {"label": "Standard"}, "vip": {"label": "VIP"}},
        "rows": [
            {
                "label": labels[r],
                "zone": "vip" if r >= rows - 8 else "standard",
                "seats": [{"number": n, "col": n - 1 + (n > seats // 2)} for n in range(1, seats + 1)],
            }
            for r in range(rows)
        ],
    }


def p50_ms(fn) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL is required")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from booking import demo, selectors
    from booking.models import Film
    from booking.services import showtime_create
    from halls.models import Cinema, Hall

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.test import Client
        from django.utils import timezone

        cinema = Cinema.objects.create(slug="bench", name="Bench")
        film = Film.objects.create(title="Bench", slug="bench", runtime_minutes=100)
        halls = {
            352: (demo.large_hall_layout(), {"standard": 1390, "premium": 1790}),
            3000: (big_layout(), {"standard": 1390, "vip": 1790}),
        }
        print(f"database {name}; {RUNS} runs each")
        print(
            "| seats | partial bytes | gzip bytes | page bytes | builder p50 ms | partial GET p50 ms "
            "| delta bytes (3 seats) | delta GET p50 ms | 304 (cache) p50 ms |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for seats, (layout, prices) in halls.items():
            hall = Hall.objects.create(cinema=cinema, name=f"H{seats}", slug=f"h{seats}", layout=layout)
            showtime = showtime_create(
                film=film, hall=hall, starts_at=timezone.now() + timezone.timedelta(days=1), prices=prices
            )
            client = Client(headers={"HX-Request": "true"})
            response = client.get(f"/showtimes/{showtime.pk}/seats/")
            assert response.status_code == 200, response.status_code
            partial = response.content
            page = Client().get(f"/showtimes/{showtime.pk}/").content
            context = selectors.seat_map(showtime=showtime, order=None)
            build = _builder(context, showtime)
            build()
            builder_ms = p50_ms(build)
            get_ms = p50_ms(lambda sid=showtime.pk, c=client: c.get(f"/showtimes/{sid}/seats/"))
            delta_bytes, delta_ms, not_modified_ms = _polls(client, showtime)
            print(
                f"| {seats} | {len(partial)} | {len(gzip.compress(partial, 6))} | {len(page)} "
                f"| {builder_ms:.2f} | {get_ms:.2f} | {delta_bytes} | {delta_ms} | {not_modified_ms} |"
            )
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


def _polls(client, showtime):
    """A poll after another buyer held 3 seats (the cache cleared, as a commit does), and a
    poll the cache vouches for. "-" where the code has no delta polls."""
    import re

    from django.core.cache import cache

    from booking.services import Actor, seat_hold

    found = re.search(r'name="since" value="([^"]+)"', client.get(f"/showtimes/{showtime.pk}/seats/").text)
    if found is None:
        return "-", "-", "-"
    since = found.group(1)
    seat_hold(showtime_id=showtime.pk, codes=["A1", "A2", "A3"], owner_token="bench", actor=Actor("bench"))
    path = f"/showtimes/{showtime.pk}/seats/"

    def delta():
        cache.clear()
        response = client.get(path, {"since": since})
        assert response.status_code == 200 and response["HX-Reswap"] == "none"
        return response

    size = len(delta().content)
    current = re.search(r'value="([^"]+)"', delta().text).group(1)
    assert client.get(path, {"since": current}).status_code == 304
    return size, f"{p50_ms(delta):.2f}", f"{p50_ms(lambda: client.get(path, {'since': current})):.2f}"


def _builder(context, showtime):
    """The map's markup from seat states already read: the render cost without the query."""
    from booking import seatmap

    if "zone_labels" not in inspect.signature(seatmap.seat_grid).parameters:
        return lambda: seatmap.seat_grid(context["geometry"], context["states"], showtime_id=showtime.pk)
    return lambda: seatmap.seat_grid(
        context["geometry"],
        context["states"],
        showtime_id=showtime.pk,
        zone_labels=context["zone_labels"],
        currency=showtime.currency,
    )


if __name__ == "__main__":
    main()
