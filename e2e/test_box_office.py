"""A shift at the counter in a real browser: log in, sell two seats for cash, check one in."""

from playwright.sync_api import expect

from booking.models import Order
from booking.permissions import box_office_group


def test_staff_sells_two_seats_and_checks_one_in(site, new_page, showtime, django_user_model):
    user = django_user_model.objects.create_user("clara", password="pw-clara-123")
    user.groups.add(box_office_group())
    page = new_page()
    page.goto(f"{site}/box-office/")
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill("pw-clara-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today and tomorrow")).to_be_visible()

    page.goto(f"{site}/box-office/showtimes/{showtime.pk}/")
    page.locator('[data-seat="A1"]').click()
    page.locator('[data-seat="A2"]').click()
    page.get_by_role("button", name="Hold for sale").click()
    expect(page.locator("[data-basket-total]")).to_have_text("€20.00")
    page.get_by_label("Cash").check()
    page.get_by_role("button", name="Sell", exact=True).click()
    expect(page.locator("[data-ticket]")).to_have_count(2)

    public = new_page()
    public.goto(f"{site}/showtimes/{showtime.pk}/")
    expect(public.locator('[data-seat="A1"]')).to_have_attribute("data-state", "sold")
    expect(public.locator('[data-seat="A2"]')).to_have_attribute("data-state", "sold")

    code = Order.objects.get(showtime=showtime).tickets.get(seat_code="A1").code
    page.goto(f"{site}/box-office/check-in/")
    page.get_by_label("Ticket code").fill(code)
    page.get_by_role("button", name="Check in").click()
    expect(page.locator('[data-check-in="valid"]')).to_contain_text("seat A1")
    page.get_by_label("Ticket code").fill(code)
    page.get_by_role("button", name="Check in").click()
    expect(page.locator('[data-check-in="already"]')).to_be_visible()


def test_cancel_asks_in_a_dialog_first(site, new_page, showtime, django_user_model):
    from booking.models import OrderStatus, PaymentMethod
    from booking.services import Actor, booking_confirm, seat_hold

    user = django_user_model.objects.create_user("clara", password="pw-clara-123")
    user.groups.add(box_office_group())
    order = seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="t", actor=Actor("t"))
    booking_confirm(order_id=order.pk, actor=Actor("t"), payment_method=PaymentMethod.CASH)
    page = new_page()
    page.goto(f"{site}/box-office/bookings/{order.reference}/")
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill("pw-clara-123")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site}/box-office/bookings/{order.reference}/")

    dialog = page.locator("#cancel-dialog")
    page.get_by_role("link", name="Cancel booking…").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Hand back €10.00 (cash).")
    expect(dialog.get_by_label("Reason")).to_be_focused()
    dialog.get_by_role("button", name="Keep the booking").click()
    expect(dialog).to_be_hidden()
    assert page.url == f"{site}/box-office/bookings/{order.reference}/"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    page.get_by_role("link", name="Cancel booking…").click()
    dialog.get_by_label("Reason").fill("customer ill")
    dialog.get_by_role("button", name="Yes, cancel and refund").click()
    expect(page.locator("[data-order-status=cancelled]")).to_be_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
