"""Every seat of a showtime free again between the benchmark's sales (run with the server's env):

    python -m bench.reset 7

In SQL, not through the services: a sale's holds are not released one by one, and expiring
them is not what is measured. Then what a commit of the services does for the seat map's
caches (booking.services.locking.seat_map_changed: the "changed" marker in the showtime's
token), and a wait past every server process's memory of poll answers
(booking.selectors.SEAT_MAP_POLL_MEMO_SECONDS), which no other process can clear. The tables
the sales write are vacuumed, so that autovacuum has no work to start in the next sale.
"""

import os
import sys
import time


def main(showtime_id: int) -> None:
    import django

    django.setup()
    from django.db import connection

    from booking import selectors
    from booking.services.locking import seat_map_changed

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE booking_showseat SET status='available', order_id=NULL, held_until=NULL, version=version+1 "
            "WHERE showtime_id = %s",
            [showtime_id],
        )
        cursor.execute(
            "UPDATE booking_order SET status='expired' WHERE showtime_id = %s AND status IN ('holding','paying')",
            [showtime_id],
        )
        # What the reset and the sale before it left behind, cleaned up now: else autovacuum's
        # once-a-minute round comes for these tables at a random moment, seen in the middle of a
        # sale (a third of a second at half rate). A premiere's seats are long vacuumed too.
        cursor.execute(
            "VACUUM (ANALYZE) booking_showseat, booking_order, booking_ledgerentry, django_session"
        )
    seat_map_changed(showtime_id)
    time.sleep(selectors.SEAT_MAP_POLL_MEMO_SECONDS + 0.1)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main(int(sys.argv[1]))
