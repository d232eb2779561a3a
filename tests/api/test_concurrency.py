"""API clients and browsers race for the same seats: one row lock, one owner per seat.

Real threads, each request on its own PostgreSQL connection, committed for real.
"""

import threading

import pytest
from django.db import connections
from django.test import Client

from api.models import ApiOrder
from booking.models import Order, SeatStatus, ShowSeat
from tests.api.conftest import ApiClient
from tests.fixtures import grid_layout

pytestmark = pytest.mark.django_db(transaction=True)

API_CLIENTS = 40
BROWSERS = 10


def test_forty_api_clients_and_ten_browsers_every_seat_has_one_owner(make_showtime, make_key):
    showtime = make_showtime(grid_layout("AB", 10))
    codes = [f"{row}{n}" for row in "AB" for n in range(1, 11)]
    # Each racer wants two seats; every seat is wanted by five racers, across both channels.
    wanted = [sorted({codes[i % 20], codes[(i * 7 + 3) % 20]}) for i in range(API_CLIENTS + BROWSERS)]
    keys = [make_key(f"kiosk {i % 8}")[1] for i in range(8)]  # a few racers share a key
    barrier = threading.Barrier(API_CLIENTS + BROWSERS)
    outcomes: list[tuple[str, int, object, list[str]] | None] = [None] * len(wanted)

    def api_racer(i: int) -> None:
        client = ApiClient(keys[i % len(keys)])
        barrier.wait()
        response = client.post_json("/api/v1/orders/", {"showtime": showtime.pk, "seats": wanted[i]})
        won = response.json().get("reference") if response.status_code == 201 else response.json()["error"]
        outcomes[i] = ("api", response.status_code, won, wanted[i])

    def browser_racer(i: int) -> None:
        client = Client()
        barrier.wait()
        response = client.post(f"/showtimes/{showtime.pk}/hold/", {"seat": wanted[i]})
        outcomes[i] = ("browser", response.status_code, client.session.get("owner_token"), wanted[i])

    def run(target, i):
        try:
            target(i)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(api_racer, i)) for i in range(API_CLIENTS)]
    threads += [
        threading.Thread(target=run, args=(browser_racer, i)) for i in range(API_CLIENTS, len(wanted))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive(), "a racer hung"

    assert None not in outcomes
    api_wins = [o for o in outcomes if o[0] == "api" and o[1] == 201]
    browser_wins = [o for o in outcomes if o[0] == "browser" and o[1] == 302]
    losses = [o for o in outcomes if o not in api_wins and o not in browser_wins]
    assert {(o[0], o[1]) for o in losses} <= {("api", 409), ("browser", 409)}, losses
    assert {o[2] for o in losses if o[0] == "api"} <= {"seat_unavailable"}
    assert api_wins or browser_wins  # whoever committed first won

    owner_of_seat = dict(
        ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).values_list("code", "order_id")
    )
    expected: dict[str, int] = {}
    for _channel, _status, reference, seats in api_wins:
        order = Order.objects.get(reference=reference)
        assert ApiOrder.objects.filter(order=order).exists()
        expected.update(dict.fromkeys(seats, order.pk))
    for _channel, _status, token, seats in browser_wins:
        order = Order.objects.get(owner_token=token, showtime=showtime)
        expected.update(dict.fromkeys(seats, order.pk))
    # Every win holds exactly its seats, no seat has two winners, and nothing else is held.
    assert sum(len(o[3]) for o in api_wins + browser_wins) == len(expected)
    assert owner_of_seat == expected
    assert Order.objects.filter(showtime=showtime).count() == len(api_wins) + len(browser_wins)
