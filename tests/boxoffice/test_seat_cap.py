"""The counter's own seat cap (BOX_OFFICE_MAX_SEATS_PER_ORDER), above the online one."""

import os
import subprocess
import sys

import pytest
from django.test import Client

from booking import services
from booking.exceptions import HoldLimitReached
from booking.models import Channel, Order, OrderStatus, SeatStatus, ShowSeat
from booking.services import Actor
from booking.services.holds_reference import hold_reference
from tests.boxoffice.conftest import hold, sell


@pytest.fixture
def caps(settings):
    settings.MAX_SEATS_PER_ORDER = 2
    settings.BOX_OFFICE_MAX_SEATS_PER_ORDER = 6


def held(showtime) -> list[str]:
    return sorted(
        ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).values_list("code", flat=True)
    )


def test_staff_sell_more_seats_than_the_online_cap_in_one_sale(caps, staff_client, showtime):
    response = sell(staff_client, showtime, ["A1", "A2", "A3", "A4", "B1"])
    order = Order.objects.get(showtime=showtime)
    assert response["Location"] == f"/box-office/orders/{order.reference}/tickets/"
    assert order.status == OrderStatus.PAID and order.channel == Channel.BOX_OFFICE
    assert sorted(order.tickets.values_list("seat_code", flat=True)) == ["A1", "A2", "A3", "A4", "B1"]


def test_the_counter_cap_still_holds_nothing_beyond_it(caps, staff_client, showtime):
    hold(staff_client, showtime, ["A1", "A2", "A3", "A4"])
    response = hold(staff_client, showtime, ["B1", "B2", "B3"])  # 7 > 6: none of the three
    assert response.status_code == 302
    assert held(showtime) == ["A1", "A2", "A3", "A4"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "You can hold at most 6 seats in one booking." in page


def test_the_online_cap_is_unchanged(caps, showtime):
    buyer = Client(headers={"HX-Request": "true"})
    response = buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["A1", "A2", "A3"]})
    assert response.status_code == 400
    assert "at most 2 seats" in response.content.decode()
    assert held(showtime) == []


@pytest.mark.parametrize("hold_function", [services.seat_hold, hold_reference])
def test_function_and_reference_apply_the_cap_of_the_channel(caps, showtime, hold_function):
    with pytest.raises(HoldLimitReached) as online:
        hold_function(
            showtime_id=showtime.pk, codes=["B2", "B3", "B4"], owner_token="web", actor=Actor("web")
        )
    assert online.value.limit == 2
    staff = {"owner_token": "staff-1", "actor": Actor("staff:t"), "channel": Channel.BOX_OFFICE}
    order = hold_function(showtime_id=showtime.pk, codes=["A1", "A2", "A3", "A4", "B1", "B2"], **staff)
    assert sorted(order.seat_codes) == ["A1", "A2", "A3", "A4", "B1", "B2"]
    with pytest.raises(HoldLimitReached) as refused:
        hold_function(showtime_id=showtime.pk, codes=["B3"], **staff)
    assert refused.value.limit == 6
    assert len(held(showtime)) == 6


PRINT_CAP = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.BOX_OFFICE_MAX_SEATS_PER_ORDER)"
)


def boot(**env) -> subprocess.CompletedProcess:
    """The settings imported in a fresh process with only these caps set."""
    unset = ("BOX_OFFICE_MAX_SEATS_PER_ORDER", "MAX_SEATS_PER_ORDER")
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_CAP], env=environ, capture_output=True, text=True, timeout=60
    )


def cap(**env) -> int:
    result = boot(**env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def test_the_counter_cap_comes_from_the_environment():
    assert cap() == 50
    assert cap(BOX_OFFICE_MAX_SEATS_PER_ORDER="80") == 80
    assert cap(MAX_SEATS_PER_ORDER="60") == 60  # the default never falls below the online cap


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOX_OFFICE_MAX_SEATS_PER_ORDER": "4", "MAX_SEATS_PER_ORDER": "10"}, "may not be lower than"),
        ({"BOX_OFFICE_MAX_SEATS_PER_ORDER": "0"}, "must be at least 1"),
        ({"BOX_OFFICE_MAX_SEATS_PER_ORDER": "many"}, "must be an integer"),
    ],
)
def test_a_bad_counter_cap_is_refused_at_start(env, message):
    result = boot(**env)
    assert result.returncode == 1
    assert "BOX_OFFICE_MAX_SEATS_PER_ORDER" in result.stderr and message in result.stderr
