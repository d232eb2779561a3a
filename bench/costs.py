"""SQL statements per request, counted in-process (run with the server's env):

    python -m bench.costs '{"100": 7, "352": 8}'

For each showtime: the page, a full seat-map render, a 304 poll, a buyer's first hold (which
adopts the page's buyer token and opens the order) and a second hold. The counts come from
Django's CaptureQueriesContext around the whole request (middleware and session included),
so they are what the database sees per request. Prints JSON.
"""

import json
import os
import re
import sys


def count(call, *args, **kwargs) -> tuple[int, int]:
    """(SQL statements, status) of one request made with `call`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = call(*args, **kwargs)
    return len(queries), response.status_code


def main(showtimes: dict[str, int]) -> dict:
    import django

    django.setup()
    from django.test import Client

    from booking.models import ShowSeat

    htmx = {"HX-Request": "true"}
    result = {}
    for size, showtime_id in showtimes.items():
        client, base = Client(), f"/showtimes/{showtime_id}"
        codes = ShowSeat.objects.filter(showtime_id=showtime_id, status="available").values_list(
            "code", flat=True
        )
        page = count(client.get, f"{base}/")
        html = client.get(f"{base}/").content.decode()
        buyer = re.search(r'name="buyer" value="([^"]+)"', html).group(1)
        full = count(client.get, f"{base}/seats/", headers=htmx)
        etag = client.get(f"{base}/seats/", headers=htmx)["ETag"]
        poll = count(client.get, f"{base}/seats/", headers={**htmx, "If-None-Match": etag})
        holds = [
            count(client.post, f"{base}/hold/", {"buyer": buyer, "seat": c}, headers=htmx) for c in codes[:2]
        ]
        statuses = [page[1], full[1], poll[1], *(s for _, s in holds)]
        if statuses != [200, 200, 304, 200, 200]:
            raise SystemExit(f"costs: unexpected statuses {statuses} for the {size}-seat hall")
        result[size] = {
            "page": page[0],
            "map_render": full[0],
            "map_304": poll[0],
            "first_hold": holds[0][0],
            "next_hold": holds[1][0],
        }
    return result


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    print("JSON " + json.dumps(main(json.loads(sys.argv[1]))), flush=True)
