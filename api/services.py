"""The API's writes: every seat change goes through booking's and checkout's services.

An order made through a key belongs to that key (an `ApiOrder` row). Each order has an owner
token of its own, `api:<key prefix>:<random>`: booking allows one open order per owner and
showtime, and a kiosk sells many baskets for the same showtime at once.
"""

import secrets
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework_api_key.models import APIKey

from api.exceptions import KeyOrderLimitReached
from api.models import ApiOrder
from api.selectors import open_orders_of_key, order_status
from booking import services as booking
from booking.exceptions import OrderNotOpen
from booking.models import Order, OrderStatus
from checkout import services as checkout


def api_actor(api_key: APIKey) -> booking.Actor:
    return booking.Actor(f"api:{api_key.prefix}")


def _require_open(order: Order, now: datetime) -> None:
    status = order_status(order, now)
    if status not in (OrderStatus.HOLDING, OrderStatus.PAYING):
        raise OrderNotOpen(order.reference, status)


def _hold(*, api_key, showtime_id, owner_token, now, codes=None, best=None, zone=None) -> Order:
    """Named seats, or the best `best` seats together (optionally in `zone`)."""
    if best is not None:
        return booking.seat_hold_best(
            showtime_id=showtime_id,
            count=best,
            zone=zone,
            owner_token=owner_token,
            actor=api_actor(api_key),
            now=now,
        )
    return booking.seat_hold(
        showtime_id=showtime_id, codes=codes, owner_token=owner_token, actor=api_actor(api_key), now=now
    )


def api_order_create(
    *,
    api_key: APIKey,
    showtime_id: int,
    codes: Iterable[str] | None = None,
    best: int | None = None,
    zone: str | None = None,
    now: datetime | None = None,
) -> Order:
    """A new order holding `codes`, owned by the key, within the key's cap on open orders."""
    now = now or timezone.now()
    with transaction.atomic():
        # The key's row lock serialises its new orders, so two at once cannot both pass the cap.
        APIKey.objects.select_for_update().filter(pk=api_key.pk).exists()
        limit = settings.API_MAX_OPEN_ORDERS_PER_KEY
        if open_orders_of_key(api_key=api_key, now=now) >= limit:
            raise KeyOrderLimitReached(limit)
        order = _hold(
            api_key=api_key,
            showtime_id=showtime_id,
            owner_token=f"api:{api_key.prefix}:{secrets.token_hex(12)}",
            now=now,
            codes=codes,
            best=best,
            zone=zone,
        )
        ApiOrder.objects.create(order=order, api_key=api_key)
    return order


def api_order_add_seats(
    *,
    api_key: APIKey,
    order: Order,
    codes: Iterable[str] | None = None,
    best: int | None = None,
    zone: str | None = None,
    now: datetime | None = None,
) -> Order:
    now = now or timezone.now()
    _require_open(order, now)
    held = _hold(
        api_key=api_key,
        showtime_id=order.showtime_id,
        owner_token=order.owner_token,
        now=now,
        codes=codes,
        best=best,
        zone=zone,
    )
    if held.pk != order.pk:
        # The clock ran out between the check and the hold, which opened a new order for the
        # same owner: it is the key's too.
        ApiOrder.objects.get_or_create(order=held, defaults={"api_key": api_key})
    return held


def api_order_release_seat(*, api_key: APIKey, order: Order, code: str, now: datetime | None = None) -> Order:
    now = now or timezone.now()
    _require_open(order, now)
    return booking.seat_release(
        showtime_id=order.showtime_id,
        codes=[code],
        owner_token=order.owner_token,
        actor=api_actor(api_key),
        now=now,
    )


def api_order_checkout(
    *,
    api_key: APIKey,
    order: Order,
    email: str,
    success_url: str | None = None,
    cancel_url: str | None = None,
    now: datetime | None = None,
) -> str:
    """The Stripe Checkout URL of the order's frozen basket; only the webhook confirms."""
    now = now or timezone.now()
    _require_open(order, now)
    return checkout.checkout_start(
        order_id=order.pk,
        email=email,
        actor=api_actor(api_key),
        now=now,
        success_url=success_url,
        cancel_url=cancel_url,
    )
