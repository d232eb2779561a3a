"""Big halls and phones (issue 14, item 4): the map fits the width, zooms, keeps its row
letters in view while panned, and a phone keeps the basket in view in a bar. Also the seat
tooltip and the skip link (item 6), which need a browser.

The screenshot tests write docs/screenshots/seat-map-<seats>-<phone-fit|phone-zoomed|desktop>.png
under `make screenshots` (SCREENSHOT_DIR), e2e/artifacts otherwise; each asserts what it shows.
"""

import re

import pytest
from playwright.sync_api import expect

from bench.halls import grid_layout
from e2e.test_seat_map import SCREENSHOTS, open_map, seat

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture(params=[352, 1000])
def big_showtime(request, make_showtime):
    """The demo's 352-seat hall, or a 1,000-seat hall of 25 rows of 40 (bench/halls.py)."""
    if request.param == 352:
        return request.getfixturevalue("large_showtime")
    return make_showtime(grid_layout(25, 40), prices={"standard": 1200})


def seats_of(showtime) -> int:
    return showtime.hall.geometry.seat_count


def open_fitted(page, site, showtime):
    open_map(page, site, showtime)
    expect(page.locator("#seat-scroller")).to_have_attribute("data-zoom", "fit")


def widest_row(page) -> dict:
    """The row with the most cells: its first and last seat against the scroller's box."""
    return page.evaluate(
        """() => {
          const scroller = document.getElementById("seat-scroller");
          const rows = [...scroller.querySelectorAll(".seat-grid > div[data-row]")];
          const row = rows.reduce((a, b) => (b.children.length > a.children.length ? b : a));
          const seats = row.querySelectorAll("[data-seat]");
          const box = scroller.getBoundingClientRect();
          return {
            left: seats[0].getBoundingClientRect().left, right: seats[seats.length - 1].getBoundingClientRect().right,
            boxLeft: box.left, boxRight: box.right, scrollWidth: scroller.scrollWidth,
            clientWidth: scroller.clientWidth, seat: seats[0].getBoundingClientRect().width,
          };
        }"""
    )


def assert_whole_row_fits(page):
    row = widest_row(page)
    assert row["scrollWidth"] <= row["clientWidth"], row
    assert row["boxLeft"] <= row["left"] and row["right"] <= row["boxRight"], row
    return row


def row_letter_in_view(page, row: str) -> bool:
    """What is drawn at the scroller's left edge, in the middle of the row: the row itself
    (its sticky letter), not one of its seats scrolled under it."""
    return page.evaluate(
        """(label) => {
          const scroller = document.getElementById("seat-scroller");
          const row = scroller.querySelector(`.seat-grid > div[data-row="${label}"]`);
          const box = row.getBoundingClientRect();
          const x = scroller.getBoundingClientRect().left + 3, y = box.top + box.height / 2;
          return document.elementFromPoint(x, y) === row;
        }""",
        row,
    )


def seat_in_view(page, row: str) -> str:
    """The code of the row's seat nearest the middle of what the scroller shows."""
    return page.evaluate(
        """(label) => {
          const scroller = document.getElementById("seat-scroller");
          const box = scroller.getBoundingClientRect(), middle = box.left + box.width / 2;
          const seats = [...scroller.querySelectorAll(`div[data-row="${label}"] > [data-seat]`)];
          const distance = (s) => Math.abs(s.getBoundingClientRect().left - middle);
          return seats.reduce((a, b) => (distance(b) < distance(a) ? b : a)).dataset.seat;
        }""",
        row,
    )


def in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => {
          const box = document.querySelector(selector).getBoundingClientRect();
          return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight
            && box.left >= 0 && box.right <= window.innerWidth;
        }""",
        selector,
    )


def shot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def test_screenshot_phone_fit_zoom_pan_and_basket_bar(site, new_page, big_showtime):
    seats = seats_of(big_showtime)
    page = new_page(**PHONE)
    open_fitted(page, site, big_showtime)
    fitted = assert_whole_row_fits(page)
    assert fitted["seat"] < 24  # a big hall fitted on a phone: small seats, the whole hall
    expect(page.get_by_role("button", name="Zoom out")).to_be_disabled()
    page.locator("#seat-map").scroll_into_view_if_needed()
    shot(page, f"seat-map-{seats}-phone-fit.png")

    page.get_by_role("button", name="Zoom in").tap()
    expect(page.locator("#seat-scroller")).to_have_attribute("data-zoom", "24")
    zoomed = widest_row(page)
    assert zoomed["seat"] >= 24
    assert zoomed["scrollWidth"] > zoomed["clientWidth"]  # now it pans sideways

    assert row_letter_in_view(page, "C")
    page.locator("#seat-scroller").evaluate(
        "el => { el.scrollLeft = el.scrollWidth / 2 - el.clientWidth / 2; }"
    )
    assert page.locator("#seat-scroller").evaluate("el => el.scrollLeft") > 100
    assert row_letter_in_view(page, "C")  # panned right: the letter stayed

    code = seat_in_view(page, "C")
    seat(page, code).tap()
    expect(seat(page, code)).to_have_attribute("data-state", "mine")
    bar = page.locator("[data-basket-bar]")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("1 seat · €13.90" if seats == 352 else "1 seat · €12.00")
    expect(bar.locator(".basket-bar-clock")).to_have_text(re.compile(r"1[45]:\d\d"))
    assert in_viewport(page, "[data-basket-bar]")
    expect(page.locator("#seat-tip")).to_contain_text(f"Row C, seat {code[1:]}")
    shot(page, f"seat-map-{seats}-phone-zoomed.png")

    bar.get_by_role("link", name="Continue").tap()
    expect(page.locator("#id_email")).to_be_focused()
    expect(page.locator("#id_email")).to_be_in_viewport(ratio=1)  # Bootstrap scrolls smoothly
    assert in_viewport(page, "[data-basket-bar]")


def test_screenshot_desktop(site, new_page, big_showtime):
    seats = seats_of(big_showtime)
    page = new_page(**DESKTOP)
    open_fitted(page, site, big_showtime)
    row = assert_whole_row_fits(page)
    # 352 seats fit beside the basket at a size to click without zooming; 1,000 smaller.
    assert row["seat"] >= 24 if seats == 352 else 12 <= row["seat"] < 24
    code = seat_in_view(page, "E")
    seat(page, code).click()
    expect(page.locator(f"[data-basket-seat={code}]")).to_be_visible()
    assert in_viewport(page, "#basket")
    expect(page.locator("[data-basket-bar]")).to_be_hidden()  # the basket is beside the map
    shot(page, f"seat-map-{seats}-desktop.png")


def test_zoom_steps_and_fit_again(site, new_page, make_showtime):
    page = new_page(**PHONE)
    showtime = make_showtime(grid_layout(25, 40), prices={"standard": 1200})
    open_fitted(page, site, showtime)
    fit = widest_row(page)["seat"]
    zoom_in = page.get_by_role("button", name="Zoom in")
    sizes = []
    while zoom_in.is_enabled():
        zoom_in.tap()
        sizes.append(widest_row(page)["seat"])
    assert sizes == [24, 36, 48]
    page.get_by_role("button", name="Zoom out").tap()
    assert widest_row(page)["seat"] == 32
    page.get_by_role("button", name="Fit the hall to the width").tap()
    expect(page.locator("#seat-scroller")).to_have_attribute("data-zoom", "fit")
    assert widest_row(page)["seat"] == fit
    assert_whole_row_fits(page)


def test_zoom_outlives_a_poll_that_swaps_the_map(site, new_page, big_showtime):
    from booking.services import Actor, seat_hold

    page = new_page(**PHONE)
    open_fitted(page, site, big_showtime)
    page.get_by_role("button", name="Zoom in").tap()
    seat_hold(showtime_id=big_showtime.pk, codes=["A3"], owner_token="other", actor=Actor("test"))
    page.evaluate("document.body.dispatchEvent(new Event('seatmap-refresh'))")
    expect(seat(page, "A3")).to_have_attribute("data-state", "held")
    assert widest_row(page)["seat"] >= 24


def test_pinch_zoom_is_not_blocked(site, new_page, large_showtime):
    page = new_page(**PHONE)
    open_fitted(page, site, large_showtime)
    viewport = page.locator("meta[name=viewport]").get_attribute("content")
    assert "user-scalable" not in viewport and "maximum-scale" not in viewport
    touch = page.locator("#seat-scroller").evaluate("el => getComputedStyle(el).touchAction")
    assert touch in ("pan-x pan-y pinch-zoom", "manipulation")  # the same: pan and pinch


def test_seat_tooltip_on_hover_focus_and_escape(site, new_page, medium_showtime):
    page = new_page(**DESKTOP)
    open_map(page, site, medium_showtime)
    tip = page.locator("#seat-tip")
    seat(page, "A14").hover()
    expect(tip).to_be_visible()
    expect(tip).to_have_text("Row A, seat 14Standard, wheelchair space, €11.50, available")
    assert tip.get_attribute("aria-hidden") == "true"
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()
    seat(page, "G3").focus()
    expect(tip).to_have_text("Row G, seat 3VIP, €15.50, available")
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()


def test_seat_tooltip_on_tap_follows_the_hold(site, new_page, medium_showtime):
    page = new_page(**PHONE)
    open_map(page, site, medium_showtime)
    seat(page, "J1").tap()
    tip = page.locator("#seat-tip")
    expect(tip).to_be_visible()
    expect(seat(page, "J1")).to_have_attribute("data-state", "mine")
    expect(tip).to_have_text("Row J, seat 1VIP, couple seat, €15.50, held by you")
    expect(page.locator("[data-basket-seat=J1]")).to_contain_text("J1 · VIP, couple seat")


def test_skip_link_takes_the_keyboard_past_every_seat(site, new_page, large_showtime):
    page = new_page(**DESKTOP)
    open_map(page, site, large_showtime)
    skip = page.get_by_role("link", name="Skip to your seats")
    for _ in range(8):  # past "Skip to content" and the navigation
        page.keyboard.press("Tab")
        if skip.evaluate("el => el === document.activeElement"):
            break
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # visually hidden until focused
    page.keyboard.press("Enter")
    expect(page.locator("#basket")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # one step back is the map's last seat, not the first
    last = page.evaluate("document.activeElement.dataset.seat || document.activeElement.id")
    assert last != "A1"


def test_the_phone_bar_goes_when_the_hold_runs_out(site, new_page, showtime, settings):
    settings.HOLD_SECONDS = 4
    page = new_page(**PHONE)
    open_map(page, site, showtime)
    seat(page, "A2").tap()
    bar = page.locator("[data-basket-bar]")
    expect(bar).to_be_visible()
    expect(bar.locator(".basket-bar-clock")).to_have_text(re.compile(r"0:0[0-4]"))
    expect(bar).to_have_count(0, timeout=8000)
    expect(seat(page, "A2")).to_have_attribute("data-state", "available", timeout=8000)
