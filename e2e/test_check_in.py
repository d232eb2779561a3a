"""The door: a USB scanner types a ticket code and Enter, ticket after ticket, and the
check-in field must be empty and focused for the next one every time."""

import pytest
from playwright.sync_api import expect

from booking.models import Film, Ticket
from booking.permissions import box_office_group
from booking.services import Actor, booking_confirm, seat_hold
from e2e.test_seat_map import SCREENSHOTS


@pytest.fixture
def tickets(showtime) -> dict[str, str]:
    """Seat code → ticket code of a paid booking of A1, A2, A3."""
    order = seat_hold(showtime_id=showtime.pk, codes=["A1", "A2", "A3"], owner_token="t", actor=Actor("t"))
    booking_confirm(order_id=order.pk, actor=Actor("t"))
    return dict(Ticket.objects.filter(order=order).values_list("seat_code", "code"))


def check_in_page(site, new_page, django_user_model, **options):
    user = django_user_model.objects.create_user("clara", password="pw-clara-123")
    user.groups.add(box_office_group())
    page = new_page(**options)
    page.goto(f"{site}/box-office/check-in/")
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill("pw-clara-123")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site}/box-office/check-in/")
    # Chromium applies autofocus after the load event: a scan typed before it would lose its
    # first characters (a person at the door never scans within milliseconds of the page).
    expect(page.get_by_label("Ticket code")).to_be_focused()
    return page


def scan(page, code):
    """What a scanner does: keystrokes into whatever has focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_check_in_keeps_focus_through_three_scans(site, new_page, django_user_model, tickets, javascript):
    page = check_in_page(site, new_page, django_user_model, java_script_enabled=javascript)
    field = page.get_by_label("Ticket code")
    expect(field).to_be_focused()
    for seat in ("A1", "A2", "A3"):
        scan(page, tickets[seat])
        expect(page.locator('[data-check-in="valid"]')).to_contain_text(f"seat {seat}")
        expect(field).to_be_focused()
        expect(field).to_have_value("")
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 3


def test_scans_typed_before_the_answers_all_count_in_order(site, new_page, django_user_model, tickets):
    page = check_in_page(site, new_page, django_user_model)
    field = page.get_by_label("Ticket code")
    expect(field).to_be_focused()
    for seat in ("A1", "A2", "A3", "A1"):  # the fourth is the first ticket again
        scan(page, tickets[seat])
    expect(page.locator('[data-check-in="already"]')).to_contain_text("(seat A1)")
    expect(page.locator("#check-in-pending")).to_be_hidden()
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 3


def test_screenshot_check_in(site, new_page, django_user_model, showtime, tickets):
    Film.objects.filter(pk=showtime.film_id).update(title="Premiere Night")
    page = check_in_page(site, new_page, django_user_model, viewport={"width": 1100, "height": 640})
    scan(page, tickets["A1"])
    expect(page.locator('[data-check-in="valid"]')).to_be_visible()
    scan(page, tickets["A2"])
    expect(page.locator('[data-check-in="valid"]')).to_contain_text("seat A2")
    expect(page.get_by_label("Ticket code")).to_be_focused()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "check-in.png"), animations="disabled")
