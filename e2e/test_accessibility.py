"""Issue 14, item 7: axe-core checks every page a moviegoer or the counter staff sees.

axe-core comes bundled in the `axe-playwright-python` package (no CDN). A page fails on any
serious or critical violation; the failure lists each rule, what it asks for, and the elements
at fault with axe's own summary of the fix.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from booking.links import booking_token, booking_url
from booking.models import Order, OrderStatus
from booking.permissions import box_office_group
from booking.services import Actor, booking_confirm, order_mark_paying, seat_block, seat_hold

FAILING_IMPACTS = ("serious", "critical")


def violations_report(violations: list[dict]) -> str:
    lines = [f"{len(violations)} serious or critical accessibility violation(s):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def assert_accessible(page) -> None:
    """Run axe-core on the page as it is now; fail on any serious or critical violation."""
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in FAILING_IMPACTS]
    assert not serious, f"{page.url}\n{violations_report(serious)}"


def open_map(page, url):
    page.goto(url)
    page.wait_for_function("window.htmx !== undefined")


def paid_order(showtime, codes, owner="ann") -> Order:
    order = seat_hold(showtime_id=showtime.pk, codes=codes, owner_token=owner, actor=Actor(owner))
    booking_confirm(order_id=order.pk, actor=Actor(owner))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def test_the_check_fails_on_a_serious_violation_and_names_it(new_page):
    page = new_page()
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"><button></button></main></html>')
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    assert "image-alt (critical)" in str(failure.value)
    assert "button-name (critical)" in str(failure.value)
    assert "at img:" in str(failure.value)


def test_home_page(site, new_page, showtime):
    page = new_page()
    page.goto(f"{site}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)


def test_seat_map_with_held_seats_and_a_basket(site, new_page, medium_showtime):
    seat_hold(showtime_id=medium_showtime.pk, codes=["E3", "E4"], owner_token="other", actor=Actor("other"))
    paid_order(medium_showtime, ["D6", "D7"])
    seat_block(showtime_id=medium_showtime.pk, codes=["A1"], reason="broken", actor=Actor("staff"))
    page = new_page()
    open_map(page, f"{site}/showtimes/{medium_showtime.pk}/")
    page.locator('[data-seat="G6"]').click()
    expect(page.locator("#checkout-form")).to_be_visible()
    expect(page.locator('[data-seat="E3"]')).to_have_attribute("data-state", "held")
    assert_accessible(page)


def test_seat_map_telling_a_seat_was_taken(site, new_page, showtime):
    page = new_page()
    open_map(page, f"{site}/showtimes/{showtime.pk}/")
    seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="other", actor=Actor("other"))
    page.locator('[data-seat="A1"]').click()  # the page has not polled yet: A1 still looks free
    expect(page.locator("#seat-status")).to_contain_text("A1")
    assert_accessible(page)


def test_phone_sized_seat_map(site, new_page, medium_showtime):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_map(page, f"{site}/showtimes/{medium_showtime.pk}/")
    page.locator('[data-seat="G5"]').tap()
    expect(page.locator("#checkout-form")).to_be_visible()
    assert_accessible(page)


def test_checkout_return_page(site, new_page, showtime):
    order = seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="ann", actor=Actor("ann"))
    order_mark_paying(order_id=order.pk, email="ann@example.com", actor=Actor("ann"))
    page = new_page()
    page.goto(
        f"{site}{reverse('checkout:return', args=[order.reference])}?t={booking_token(order.reference)}"
    )
    expect(page.get_by_role("heading", name="Confirming your payment…")).to_be_visible()
    assert_accessible(page)


def test_tickets_page(site, new_page, showtime):
    order = paid_order(showtime, ["A2", "A3"])
    page = new_page()
    page.goto(f"{site}{booking_url(order)}")
    expect(page.locator("[data-ticket]")).to_have_count(2)
    assert_accessible(page)


@pytest.fixture
def staff_page(site, new_page, django_user_model):
    django_user_model.objects.create_user("clara", password="pw-clara-123").groups.add(box_office_group())
    page = new_page()
    page.goto(f"{site}/box-office/")
    assert_accessible(page)  # the login page
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill("pw-clara-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today and tomorrow")).to_be_visible()
    return page


def test_box_office_dashboard_and_report(site, staff_page, showtime):
    paid_order(showtime, ["A1"])
    staff_page.goto(f"{site}/box-office/")
    expect(staff_page.locator(f'[data-showtime="{showtime.pk}"]')).to_be_visible()
    assert_accessible(staff_page)
    staff_page.goto(f"{site}/box-office/report/")
    expect(staff_page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(staff_page)


def test_box_office_showtime_map_counter_basket_and_tickets(site, staff_page, showtime):
    paid_order(showtime, ["B4"])
    seat_hold(showtime_id=showtime.pk, codes=["B2"], owner_token="other", actor=Actor("other"))
    staff_page.goto(f"{site}/box-office/showtimes/{showtime.pk}/")
    assert_accessible(staff_page)
    staff_page.locator('[data-seat="A1"]').click()
    staff_page.get_by_role("button", name="Hold for sale").click()
    expect(staff_page.locator("[data-basket-total]")).to_have_text("€10.00")
    assert_accessible(staff_page)
    staff_page.get_by_label("Cash").check()
    staff_page.get_by_role("button", name="Sell", exact=True).click()
    expect(staff_page.locator("[data-ticket]")).to_have_count(1)  # the counter's tickets page
    assert_accessible(staff_page)


def test_box_office_bookings(site, staff_page, showtime):
    order = paid_order(showtime, ["A4"])
    staff_page.goto(f"{site}/box-office/bookings/?q={order.reference}")
    expect(staff_page.get_by_text(order.reference).first).to_be_visible()
    assert_accessible(staff_page)
    staff_page.goto(f"{site}/box-office/bookings/{order.reference}/")
    expect(staff_page.get_by_text(order.reference).first).to_be_visible()
    assert_accessible(staff_page)


def test_box_office_check_in(site, staff_page, showtime):
    order = paid_order(showtime, ["A1"])
    staff_page.goto(f"{site}/box-office/check-in/")
    assert_accessible(staff_page)
    staff_page.get_by_label("Ticket code").fill(order.tickets.get().code)
    staff_page.get_by_role("button", name="Check in").click()
    expect(staff_page.locator('[data-check-in="valid"]')).to_be_visible()
    assert_accessible(staff_page)
