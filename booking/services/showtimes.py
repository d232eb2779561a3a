"""A showtime and its seat inventory: one `ShowSeat` row per seat, created with the showtime."""

from datetime import datetime

from django.conf import settings
from django.db import transaction

from booking.models import ShowSeat, Showtime


def showtime_create_inventory(*, showtime: Showtime) -> int:
    """Create one `ShowSeat` per seat of the hall, priced by zone. Idempotent."""
    geometry = showtime.hall.geometry
    missing = geometry.zone_keys() - set(showtime.prices)
    if missing:
        raise ValueError(f"showtime {showtime.pk} has no price for zone(s) {', '.join(sorted(missing))}")
    existing = set(ShowSeat.objects.filter(showtime=showtime).values_list("code", flat=True))
    seats = [
        ShowSeat(
            showtime=showtime,
            code=s.code,
            zone=s.zone,
            price=int(showtime.prices[s.zone]),
            pos=s.pos,
            kind=s.kind,
        )
        for s in geometry.seats
        if s.code not in existing
    ]
    ShowSeat.objects.bulk_create(seats)
    return len(seats)


@transaction.atomic
def showtime_create(
    *, film, hall, starts_at: datetime, prices: dict[str, int], currency: str | None = None
) -> Showtime:
    """A showtime and its inventory, together or not at all."""
    showtime = Showtime.objects.create(
        film=film, hall=hall, starts_at=starts_at, prices=prices, currency=currency or settings.CURRENCY
    )
    showtime_create_inventory(showtime=showtime)
    return showtime
