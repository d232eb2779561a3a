"""Shared fixtures: real PostgreSQL (pytest-django's test database), demo-shaped halls."""

import itertools
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from booking import demo
from booking.models import Film
from booking.services import Actor, showtime_create
from halls.models import Cinema, Hall

_counter = itertools.count()


def grid_layout(rows: str, seats_per_row: int, *, zone: str = "standard") -> dict:
    return {
        "zones": {zone: {"label": zone.title()}},
        "rows": [
            {
                "label": r,
                "zone": zone,
                "seats": [{"number": n, "col": n - 1} for n in range(1, seats_per_row + 1)],
            }
            for r in rows
        ],
    }


@pytest.fixture
def make_showtime(db):
    """Build a showtime (with its inventory) on a hall with the given layout."""

    def make(layout: dict | None = None, *, prices: dict | None = None, starts_in=timedelta(days=1)):
        n = next(_counter)
        cinema, _ = Cinema.objects.get_or_create(slug="test-cinema", defaults={"name": "Test Cinema"})
        layout = layout or grid_layout("AB", 4)
        hall = Hall.objects.create(cinema=cinema, name=f"Hall {n}", slug=f"hall-{n}", layout=layout)
        film = Film.objects.create(title=f"Film {n}", slug=f"film-{n}", runtime_minutes=100)
        if prices is None:
            prices = {key: 1000 + 250 * i for i, key in enumerate(layout["zones"])}
        return showtime_create(film=film, hall=hall, starts_at=timezone.now() + starts_in, prices=prices)

    return make


@pytest.fixture
def showtime(make_showtime):
    """Two rows of four standard seats: A1-A4, B1-B4."""
    return make_showtime()


@pytest.fixture
def medium_showtime(make_showtime):
    """The demo's medium hall: wheelchair, companion, VIP and couple seats."""
    return make_showtime(demo.medium_hall_layout(), prices={"standard": 1150, "vip": 1550})


@pytest.fixture
def large_showtime(make_showtime):
    """The demo's large hall (352 seats)."""
    return make_showtime(demo.large_hall_layout(), prices={"standard": 1390, "premium": 1790})


@pytest.fixture
def buyer():
    """A fresh browser-session owner token and its ledger actor."""

    def make():
        token = secrets.token_hex(16)
        return token, Actor.session(token)

    return make
