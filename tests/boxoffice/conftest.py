import pytest
from django.test import Client

from booking.permissions import box_office_group


@pytest.fixture
def staff(django_user_model, db):
    user = django_user_model.objects.create_user("clara", password="pw-clara-123")
    user.groups.add(box_office_group())
    return user


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def hold(client, showtime, seats):
    return client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "hold", "seat": seats})


def sell(client, showtime, seats, method="cash", **extra):
    hold(client, showtime, seats)
    return client.post(f"/box-office/showtimes/{showtime.pk}/sell/", {"payment_method": method, **extra})
