"""Box office: permissions, counter sales, blocking, search, cancel, reseat, check-in, report."""

import pytest
from django.test import Client

from booking import services
from booking.exceptions import SeatUnavailable
from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat, Ticket, TicketStatus
from booking.permissions import box_office_group
from booking.services import Actor
from tests.checkout.conftest import session_of
from tests.helpers import db_state


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


@pytest.fixture
def plain_client(django_user_model, db):
    client = Client()
    client.force_login(django_user_model.objects.create_user("pat"))
    return client


def state(showtime, code):
    seat = ShowSeat.objects.get(showtime=showtime, code=code)
    return seat.status


def sell(client, showtime, seats, method="cash", **extra):
    client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "hold", "seat": seats})
    return client.post(f"/box-office/showtimes/{showtime.pk}/sell/", {"payment_method": method, **extra})


def pages(showtime, reference="NOPE"):
    return [
        "/box-office/",
        f"/box-office/showtimes/{showtime.pk}/",
        "/box-office/bookings/?q=x",
        f"/box-office/bookings/{reference}/",
        f"/box-office/orders/{reference}/tickets/",
        "/box-office/check-in/",
        "/box-office/report/",
    ]


def actions(showtime, reference="NOPE"):
    return [
        (f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "hold", "seat": "A1"}),
        (f"/box-office/showtimes/{showtime.pk}/sell/", {"payment_method": "cash"}),
        (f"/box-office/bookings/{reference}/cancel/", {"reason": "x"}),
        (f"/box-office/bookings/{reference}/reseat/", {"seats": "A2"}),
        ("/box-office/check-in/", {"code": "abc"}),
    ]


def test_anonymous_users_are_sent_to_login(client, showtime):
    for url in pages(showtime):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    for url, data in actions(showtime):
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert state(showtime, "A1") == SeatStatus.AVAILABLE


def test_users_without_the_permission_get_403(plain_client, showtime):
    for url in pages(showtime):
        assert plain_client.get(url).status_code == 403, url
    for url, data in actions(showtime):
        assert plain_client.post(url, data).status_code == 403, url
    assert state(showtime, "A1") == SeatStatus.AVAILABLE
    assert not LedgerEntry.objects.exists()


def test_staff_see_every_page(staff_client, showtime):
    order = services.seat_hold(showtime_id=showtime.pk, codes=["B4"], owner_token="x", actor=Actor("t"))
    services.booking_confirm(order_id=order.pk, actor=Actor("t"))
    for url in pages(showtime, order.reference):
        assert staff_client.get(url).status_code == 200, url


def test_login_page_and_real_login(client, staff, showtime):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "clara", "password": "pw-clara-123"})
    assert response.status_code == 302 and response["Location"] == "/box-office/"


def test_dashboard_counts_occupancy(staff_client, showtime):
    services.seat_hold(showtime_id=showtime.pk, codes=["A1", "A2"], owner_token="x", actor=Actor("t"))
    services.seat_block(showtime_id=showtime.pk, codes=["B1"], reason="broken", actor=Actor("t"))
    html = staff_client.get("/box-office/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html
    row = html[html.index(f'data-showtime="{showtime.pk}"') :]
    assert 'data-count="available">5<' in row and 'data-count="held">2<' in row
    assert 'data-count="blocked">1<' in row and 'data-count="sold">0<' in row


def test_counter_sale_for_cash(staff_client, staff, showtime):
    response = sell(staff_client, showtime, ["A1", "A2"], name="Ann Lee", email="ann@example.com")
    order = Order.objects.get(showtime=showtime)
    assert (
        response.status_code == 302
        and response["Location"] == f"/box-office/orders/{order.reference}/tickets/"
    )
    assert order.status == OrderStatus.PAID and order.channel == "box_office"
    assert order.payment_method == "cash" and order.staff_user == staff and order.name == "Ann Lee"
    assert state(showtime, "A1") == SeatStatus.SOLD
    page = staff_client.get(response["Location"]).content.decode()
    assert page.count("data-ticket=") == 2 and page.count("<svg") == 2
    actions = list(LedgerEntry.objects.filter(order=order).values_list("actor", "action"))
    assert actions == [
        ("staff:clara", "order.open"),
        ("staff:clara", "seat.hold"),
        ("staff:clara", "order.paid"),
    ]


def test_counter_selection_is_held_like_any_other(staff_client, showtime):
    staff_client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "hold", "seat": ["A3"]})
    with pytest.raises(SeatUnavailable):
        services.seat_hold(showtime_id=showtime.pk, codes=["A3"], owner_token="web", actor=Actor("web"))
    staff_client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "release", "seat": ["A3"]})
    assert state(showtime, "A3") == SeatStatus.AVAILABLE


def test_block_needs_a_reason_and_is_never_sold_online(staff_client, showtime):
    staff_client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "block", "seat": ["B2"]})
    assert state(showtime, "B2") == SeatStatus.AVAILABLE
    staff_client.post(
        f"/box-office/showtimes/{showtime.pk}/seats/",
        {"action": "block", "seat": ["B2"], "reason": "house seat"},
    )
    assert state(showtime, "B2") == SeatStatus.BLOCKED
    response = Client().post(
        f"/showtimes/{showtime.pk}/hold/", {"seat": "B2"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    staff_client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "unblock", "seat": ["B2"]})
    assert state(showtime, "B2") == SeatStatus.AVAILABLE
    entries = LedgerEntry.objects.filter(action__in=["seat.block", "seat.unblock"]).values_list(
        "actor", "action", "reason"
    )
    assert list(entries) == [("staff:clara", "seat.block", "house seat"), ("staff:clara", "seat.unblock", "")]


def test_find_a_booking_by_reference_email_or_name(staff_client, showtime):
    sell(staff_client, showtime, ["A1"], name="Ann Lee", email="ann@example.com")
    order = Order.objects.get()
    for query in (order.reference.lower(), "ann@example", "Lee"):
        html = staff_client.get("/box-office/bookings/", {"q": query}).content.decode()
        assert f"/box-office/bookings/{order.reference}/" in html, query
    detail = staff_client.get(f"/box-office/bookings/{order.reference}/").content.decode()
    assert "seat.hold" in detail and "order.paid" in detail and "staff:clara" in detail


def test_cancel_a_counter_booking_records_the_refund(staff_client, showtime):
    sell(staff_client, showtime, ["A1", "A2"], method="card_terminal")
    order = Order.objects.get()
    staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "changed plans"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert state(showtime, "A1") == SeatStatus.AVAILABLE
    assert not Ticket.objects.filter(order=order, status=TicketStatus.VALID).exists()
    entry = LedgerEntry.objects.get(order=order, action="order.cancel")
    assert entry.actor == "staff:clara" and entry.data == {
        "refund_amount": 2000,
        "payment_method": "card_terminal",
    }


def test_cancel_an_online_booking_refunds_at_stripe(staff_client, showtime, settings):
    from checkout.simulator import start_simulator

    sim = start_simulator(webhook_url="", webhook_secret="whsec_t")
    settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = sim.url, "sk_test_simulator"
    try:
        buyer = Client()
        buyer.post(f"/showtimes/{showtime.pk}/hold/", {"seat": ["B3"]})
        buyer.post(f"/showtimes/{showtime.pk}/checkout/", {"email": "bo@example.com"})
        order = Order.objects.get()
        sim.complete(session_of(order), "paid")
        from checkout.services import session_sync

        session_sync(session_id=session_of(order), actor=Actor("stripe:test"))
        staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "film cancelled"})
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED
        refunds = sim.refunds()
        assert len(refunds) == 1 and refunds[0]["amount"] == order.total
        assert state(showtime, "B3") == SeatStatus.AVAILABLE
        assert LedgerEntry.objects.filter(order=order, action="order.refund", actor="staff:clara").exists()
    finally:
        sim.stop()


def test_reseat_keeps_the_reference_and_issues_new_tickets(staff_client, showtime):
    sell(staff_client, showtime, ["A1", "A2"])
    order = Order.objects.get()
    old_codes = set(order.tickets.values_list("code", flat=True))
    response = staff_client.post(f"/box-office/bookings/{order.reference}/reseat/", {"seats": "B1 b2"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.reference == Order.objects.get().reference and order.seat_codes == ["B1", "B2"]
    valid = order.tickets.filter(status=TicketStatus.VALID)
    assert sorted(valid.values_list("seat_code", flat=True)) == ["B1", "B2"]
    assert not old_codes & set(valid.values_list("code", flat=True))
    assert state(showtime, "A1") == SeatStatus.AVAILABLE and state(showtime, "B1") == SeatStatus.SOLD


def test_reseat_onto_a_taken_seat_changes_nothing(staff_client, showtime):
    sell(staff_client, showtime, ["A1"])
    order = Order.objects.get()
    services.seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="web", actor=Actor("web"))
    before = db_state()
    response = staff_client.post(f"/box-office/bookings/{order.reference}/reseat/", {"seats": "B1"})
    assert response.status_code == 302 and response["Location"] == f"/box-office/bookings/{order.reference}/"
    assert db_state() == before
    order.refresh_from_db()
    assert order.seat_codes == ["A1"] and state(showtime, "A1") == SeatStatus.SOLD


def test_check_in_answers_every_case(staff_client, showtime, make_showtime):
    sell(staff_client, showtime, ["A1", "A2"])
    first, second = Order.objects.get().tickets.order_by("seat_code")
    post = lambda data: staff_client.post("/box-office/check-in/", data)  # noqa: E731
    response = post({"code": first.code})
    assert response.status_code == 200 and 'data-check-in="valid"' in response.content.decode()
    again = post({"code": first.code})
    assert again.status_code == 409 and 'data-check-in="already"' in again.content.decode()
    assert "clara" in again.content.decode()
    first.refresh_from_db()
    assert first.checked_in_at is not None and first.checked_in_by.username == "clara"
    other = make_showtime(starts_in=__import__("datetime").timedelta(hours=3))
    wrong = post({"code": second.code, "showtime": other.pk})
    assert wrong.status_code == 409 and 'data-check-in="other_showtime"' in wrong.content.decode()
    assert post({"code": "no-such-code"}).status_code == 404
    Ticket.objects.filter(pk=second.pk).update(status=TicketStatus.VOID)
    assert post({"code": second.code}).status_code == 410
    assert LedgerEntry.objects.filter(action="ticket.check_in").count() == 1


def test_shift_report_totals_by_staff_and_method(staff_client, showtime):
    sell(staff_client, showtime, ["A1", "A2"], method="cash")
    sell(staff_client, showtime, ["B1"], method="card_terminal")
    cash_order = Order.objects.get(payment_method="cash")
    staff_client.post(f"/box-office/bookings/{cash_order.reference}/cancel/", {"reason": "x"})
    html = staff_client.get("/box-office/report/").content.decode()
    cash = html[html.index('data-report-line="clara:cash"') :]
    assert "€20.00" in cash.split("</tr>")[0] and "€0.00" in cash.split("</tr>")[0]
    card = html[html.index('data-report-line="clara:card_terminal"') :].split("</tr>")[0]
    assert card.count("€10.00") == 2


def test_migration_creates_the_box_office_group(db):
    """Runs the migration's own code: a transactional test elsewhere flushes the tables, so the
    group the test database was migrated with may be gone by now, depending on test order."""
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    loader = MigrationExecutor(connection).loader
    key = ("booking", "0003_box_office_group")
    apps_before = loader.project_state(key, at_end=False).apps
    Group.objects.filter(name="Box office").delete()
    (operation,) = loader.get_migration(*key).operations
    operation.code(apps_before, None)
    assert Group.objects.filter(name="Box office", permissions__codename="use_box_office").exists()
