"""Profile 200 holds in-process (cProfile) against the database `make bench` left behind.

.venv/bin/python -m bench.profile_hold      # after make bench
"""

import cProfile
import os
import pstats
import sys
import time

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
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:54329/seatlock_bench")


def main() -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from booking.models import ShowSeat, Showtime

    call_command("collectstatic", "--no-input", verbosity=0)
    showtime = Showtime.objects.get()
    ShowSeat.objects.filter(showtime=showtime).update(status="available", order=None, held_until=None)
    codes = list(ShowSeat.objects.filter(showtime=showtime).values_list("code", flat=True))[:200]
    clients = [Client() for _ in range(40)]
    for client in clients:
        client.get(f"/showtimes/{showtime.pk}/")

    def run():
        for i, code in enumerate(codes):
            response = clients[i % 40].post(
                f"/showtimes/{showtime.pk}/hold/", {"seat": code}, headers={"HX-Request": "true"}
            )
            assert response.status_code == 200, response.status_code

    started = time.perf_counter()
    cProfile.runctx("run()", globals(), locals(), "/tmp/seatlock-hold.prof")
    print(f"{(time.perf_counter() - started) / len(codes) * 1000:.1f} ms per hold (under the profiler)")
    pstats.Stats("/tmp/seatlock-hold.prof").sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
