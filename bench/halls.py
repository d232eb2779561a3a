"""The benchmark's showtimes, created in the benchmark database (run with the server's env):

    python -m bench.halls 100 352 1000 3000

One premiere on the 352-seat demo hall for the sales, and one showtime per size on a plain
grid hall (as tests/fixtures.py `grid_layout` builds them) for the unloaded costs. Prints JSON.
"""

import json
import os
import string
import sys

# rows x seats per row for each size the bench knows (a grid close to a real hall's shape).
GRIDS = {100: (10, 10), 352: (16, 22), 1000: (25, 40), 3000: (50, 60)}


def row_labels(count: int) -> list[str]:
    letters = string.ascii_uppercase
    return [letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26] for i in range(count)]


def grid_layout(rows: int, seats_per_row: int) -> dict:
    return {
        "zones": {"standard": {"label": "Standard"}},
        "rows": [
            {
                "label": label,
                "zone": "standard",
                "seats": [{"number": n, "col": n - 1} for n in range(1, seats_per_row + 1)],
            }
            for label in row_labels(rows)
        ],
    }


def main(sizes: list[int]) -> dict:
    import django

    django.setup()
    from django.utils import timezone

    from booking import demo
    from booking.models import Film
    from booking.services import showtime_create
    from halls.models import Cinema, Hall

    starts = timezone.now() + timezone.timedelta(days=1)
    cinema = Cinema.objects.create(name="Bench", slug="bench")
    film = Film.objects.create(title="Premiere", slug="premiere", runtime_minutes=120)
    hall = Hall.objects.create(
        cinema=cinema, name="Panorama", slug="panorama", layout=demo.large_hall_layout()
    )
    sale = showtime_create(film=film, hall=hall, starts_at=starts, prices={"standard": 1390, "premium": 1790})
    by_size = {}
    for size in sizes:
        rows, per_row = GRIDS[size]
        grid = Hall.objects.create(
            cinema=cinema, name=f"Grid {size}", slug=f"grid-{size}", layout=grid_layout(rows, per_row)
        )
        by_size[size] = showtime_create(film=film, hall=grid, starts_at=starts, prices={"standard": 1000}).pk
    return {"sale": sale.pk, "codes": [s.code for s in hall.geometry.seats], "sizes": by_size}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    print("JSON " + json.dumps(main([int(s) for s in sys.argv[1:]])), flush=True)
