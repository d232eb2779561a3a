"""Reads of the API: upcoming showtimes with their free seats, and a key's own orders."""

from datetime import date, datetime

from django.db.models import Count, DateField, F, Func, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from rest_framework_api_key.models import APIKey

from api.models import ApiOrder
from booking.models import OPEN_STATUSES, Order, OrderStatus, SeatStatus, Showtime, reference_possible

BIGINT_MAX = 2**63 - 1


def showtimes_upcoming(
    *, day: date | None = None, film: str | None = None, now: datetime | None = None
) -> QuerySet[Showtime]:
    """Showtimes not yet started, each with `seats_available` (a lapsed hold counts as free);
    `day` is the local date of each showtime's own cinema; `film` a film's slug or id."""
    now = now or timezone.now()
    free = Q(seats__status=SeatStatus.AVAILABLE) | Q(
        seats__status=SeatStatus.HELD, seats__held_until__lte=now
    )
    showtimes = (
        Showtime.objects.filter(starts_at__gt=now)
        .select_related("film", "hall__cinema")
        .defer("hall__layout")
        .annotate(seats_available=Count("seats", filter=free))
        .order_by("starts_at", "pk")
    )
    if day is not None:
        local_start = Func(F("hall__cinema__time_zone"), F("starts_at"), function="timezone")
        showtimes = showtimes.alias(local_date=Cast(local_start, DateField())).filter(local_date=day)
    if film:
        showtimes = showtimes.filter(_film_lookup(film))
    return showtimes


def _film_lookup(film: str) -> Q:
    """An id when `film` is a decimal number, else a slug. isdigit() would also take "²", which
    int() refuses; an id beyond PostgreSQL's bigint names no film (and must not reach SQL)."""
    if not film.isdecimal():
        return Q(film__slug=film)
    film_id = int(film)
    return Q(film__pk=film_id) if film_id <= BIGINT_MAX else Q(pk__in=[])


def api_order(*, reference: str, api_key: APIKey) -> Order | None:
    """The key's order with this reference; another key's order is as good as absent."""
    if not reference_possible(reference):
        return None
    link = (
        ApiOrder.objects.filter(order__reference=reference, api_key=api_key)
        .select_related("order__showtime__film", "order__showtime__hall__cinema")
        .defer("order__showtime__hall__layout")
        .first()
    )
    return link.order if link is not None else None


def open_orders_of_key(*, api_key: APIKey, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return ApiOrder.objects.filter(
        api_key=api_key, order__status__in=OPEN_STATUSES, order__expires_at__gt=now
    ).count()


def order_status(order: Order, now: datetime | None = None) -> str:
    """What the client is told: a holding order whose clock ran out is expired (invariant 2),
    whether or not the expiry task has run yet."""
    now = now or timezone.now()
    if order.status == OrderStatus.HOLDING and order.expires_at <= now:
        return OrderStatus.EXPIRED
    return order.status


def showtime_exists(showtime_id: int) -> bool:
    return Showtime.objects.filter(pk=showtime_id).exists()
