"""Staff and admin logins are throttled by django-axes: per username and client address."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

PASSWORD = "correct-horse-battery-staple"
LOGINS = {
    "box office": ("/accounts/login/", "/box-office/"),
    "admin": ("/admin/login/", "/admin/"),
}


@pytest.fixture
def staff(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only

    def make(username: str) -> User:
        user = User.objects.create_user(username, password=PASSWORD, is_staff=True, is_superuser=True)
        user.user_permissions.add(Permission.objects.get(codename="use_box_office"))
        return user

    return make


def log_in(path: str, username: str, password: str, *, ip: str = "203.0.113.7", **headers):
    landing = dict(LOGINS.values())[path]
    return Client(REMOTE_ADDR=ip, **headers).post(
        path, {"username": username, "password": password, "next": landing}
    )


def fail_until_locked(path: str, username: str, limit: int, **kwargs) -> list[int]:
    return [log_in(path, username, "wrong", **kwargs).status_code for _ in range(limit)]


@pytest.mark.parametrize("login", LOGINS)
def test_after_the_limit_even_the_right_password_is_refused(login, staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=7)
    path = LOGINS[login][0]
    staff("alice")
    assert fail_until_locked(path, "alice", 3) == [200, 200, 429]
    refused = log_in(path, "alice", PASSWORD)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "420"
    html = refused.content.decode()
    assert "<html" in html and "Too many login attempts" in html and "Try again in 7 minutes." in html
    assert "_auth_user_id" not in refused.client.session


@pytest.mark.parametrize("login", LOGINS)
def test_a_lockout_spares_other_addresses_and_other_usernames(login, staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    path, landing = LOGINS[login]
    staff("alice")
    staff("bob")
    fail_until_locked(path, "alice", 3)
    assert log_in(path, "alice", PASSWORD).status_code == 429
    elsewhere = log_in(path, "alice", PASSWORD, ip="198.51.100.20")
    assert (elsewhere.status_code, elsewhere["Location"]) == (302, landing)
    colleague = log_in(path, "bob", PASSWORD)
    assert (colleague.status_code, colleague["Location"]) == (302, landing)


def test_the_lockout_counts_an_ipv6_client_by_its_64(staff, settings):
    settings.AXES_FAILURE_LIMIT = 2
    staff("alice")
    assert fail_until_locked("/accounts/login/", "alice", 2, ip="2001:db8:1:2::10") == [200, 429]
    assert log_in("/accounts/login/", "alice", PASSWORD, ip="2001:db8:1:2:ffff::1").status_code == 429
    assert log_in("/accounts/login/", "alice", PASSWORD, ip="2001:db8:1:3::10").status_code == 302


def test_the_lockout_sees_the_address_the_trusted_proxy_saw(staff, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    staff("alice")
    behind = {"ip": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.50"}
    assert fail_until_locked("/accounts/login/", "alice", 2, **behind) == [200, 429]
    other = {"ip": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.51"}
    assert log_in("/accounts/login/", "alice", PASSWORD, **other).status_code == 302
