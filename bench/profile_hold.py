"""Where a hold's time goes, two ways.

In-process (cProfile) over 200 holds through the Django test client, against the database
`make bench` left behind:

    .venv/bin/python -m bench.profile_hold

Under load (py-spy sampling the gunicorn workers during the flash sale; no code change):

    BENCH_PYSPY=1 make bench                                 # prints the top 15 at the end
    .venv/bin/python -m bench.profile_hold --py-spy FILE     # summarise a `py-spy record --format raw` file
"""

import cProfile
import os
import pstats
import re
import sys
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# "function (path/to/file.py:123)": one frame of py-spy's raw (collapsed-stack) output.
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


# Frames every request passes through (the server loop, Django's handler and middleware
# wrappers): always near 100%, they would fill the top 15 and say nothing.
PLUMBING = ("gunicorn/", "<frozen runpy>", "django/core/handlers/", "django/utils/deprecation.py")


def top_functions(raw: Path, count: int = 15) -> list[dict]:
    """Functions by the share of request samples (inside Django's WSGI handler) during which they
    were on the stack (own + children), and on top of it (own)."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit() or "WSGIHandler.__call__" not in stack:
            continue
        n = int(samples)
        total += n
        frames = [_name(frame) for frame in stack.split(";")]
        frames = [f for f in frames if f is not None and not _plumbing(f)]
        for function in set(frames):
            inclusive[function] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return []
    return [
        {"function": function, "inclusive": 100 * n / total, "own": 100 * own[function] / total}
        for function, n in inclusive.most_common(count)
    ]


def _plumbing(function: str) -> bool:
    name = function.split(" (", 1)[0]
    return any(p in function for p in PLUMBING) or name.endswith("Middleware.__call__") or "<locals>" in name


def _name(frame: str) -> str | None:
    match = FRAME.match(frame.strip())
    if not match:
        return None  # py-spy's "process 123:..." and "thread ..." roots
    path = match["file"]
    for marker in ("site-packages/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.removeprefix(f"{BASE_DIR}/")
    return f"{match['function']} ({path})"


def in_process() -> int:
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="profile-" * 8,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        STRIPE_SECRET_KEY="sk_test_profile",
        STATIC_ROOT="/tmp/seatlock-profile-static",
        RATE_LIMIT_HOLD_PER_IP="0",
        RATE_LIMIT_HOLD_PER_SESSION="0",
        MAX_OPEN_ORDERS_PER_IP="1000000",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    if "DATABASE_URL" not in os.environ:
        from config import embedded_db

        head = embedded_db.ensure_running().rpartition("/")[0]
        os.environ["DATABASE_URL"] = f"{head}/{os.environ.get('BENCH_DATABASE', 'seatlock_bench')}"

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from booking.models import ShowSeat, Showtime

    call_command("collectstatic", "--no-input", verbosity=0)
    # The bench's hall, or the demo's 352-seat one (`manage.py seed_demo`).
    showtime = Showtime.objects.filter(hall__slug__in=["panorama", "imax"]).order_by("starts_at").last()
    ShowSeat.objects.filter(showtime=showtime).update(status="available", order=None, held_until=None)
    codes = list(ShowSeat.objects.filter(showtime=showtime).values_list("code", flat=True))[:200]
    clients = [Client() for _ in range(40)]
    tokens = []
    for client in clients:
        html = client.get(f"/showtimes/{showtime.pk}/").content.decode()
        tokens.append(re.search(r'name="buyer" value="([^"]+)"', html).group(1))

    def run():
        for i, code in enumerate(codes):
            response = clients[i % 40].post(
                f"/showtimes/{showtime.pk}/hold/",
                {"buyer": tokens[i % 40], "seat": code},
                headers={"HX-Request": "true"},
            )
            # A 409 (a seat the stranded-seat rule keeps free) is a hold request too.
            assert response.status_code in (200, 409), (code, response.status_code)

    started = time.perf_counter()
    cProfile.runctx("run()", globals(), locals(), "/tmp/seatlock-hold.prof")
    print(f"{(time.perf_counter() - started) / len(codes) * 1000:.1f} ms per hold (under the profiler)")
    pstats.Stats("/tmp/seatlock-hold.prof").sort_stats("cumulative").print_stats(40)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--py-spy"] and len(argv) == 2:
        for row in top_functions(Path(argv[1])):
            print(f"{row['inclusive']:5.1f}%  own {row['own']:5.1f}%  {row['function']}")
        return 0
    return in_process()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
