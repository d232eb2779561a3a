""" "N seats together" in a real browser, on a laptop and on a phone; the stranded-seat rule's 409."""

import pytest
from playwright.sync_api import expect

from booking.models import SeatStatus, ShowSeat
from e2e.test_seat_map import open_map, seat


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}])
def test_four_together_holds_the_middle_of_the_best_row(site, new_page, large_showtime, viewport):
    page = new_page(viewport=viewport, is_mobile=viewport["width"] < 500, has_touch=viewport["width"] < 500)
    open_map(page, site, large_showtime)
    page.get_by_role("spinbutton", name="Seats together").fill("4")
    page.get_by_role("button", name="Find the best seats").click()
    for code in ("L10", "L11", "L12", "L13"):
        expect(seat(page, code)).to_have_attribute("data-state", "mine")
    expect(page.locator("[data-basket-seat]")).to_have_count(4)
    held = ShowSeat.objects.filter(showtime=large_showtime, status=SeatStatus.HELD)
    assert sorted(held.values_list("code", flat=True)) == ["L10", "L11", "L12", "L13"]


@pytest.mark.orphan_rule
def test_a_click_that_would_strand_a_seat_says_which(site, new_page, large_showtime):
    page = new_page()
    open_map(page, site, large_showtime)
    seat(page, "A2").click()  # A1 would be left alone at the row's end
    expect(page.locator("#seat-status")).to_contain_text("This would leave A1 empty on its own")
    expect(seat(page, "A2")).to_have_attribute("data-state", "available")
