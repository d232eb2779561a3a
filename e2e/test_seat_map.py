"""The moviegoer's seat map in a real browser."""

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from booking.models import SeatStatus, ShowSeat

# `make screenshots` writes into docs/screenshots (committed); a plain test run into e2e/artifacts.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parent / "artifacts")


def seat(page, code):
    return page.locator(f'[data-seat="{code}"]')


def open_map(page, site, showtime):
    page.goto(f"{site}/showtimes/{showtime.pk}/")
    page.wait_for_function("window.htmx !== undefined")


def test_hold_two_seats_and_see_the_total(site, new_page, showtime):
    page = new_page()
    open_map(page, site, showtime)
    seat(page, "A1").click()
    expect(seat(page, "A1")).to_have_attribute("data-state", "mine")
    seat(page, "A2").click()
    expect(seat(page, "A2")).to_have_attribute("data-state", "mine")
    expect(page.locator("[data-basket-total]")).to_have_text("€20.00")
    expect(page.locator(".countdown-clock")).to_have_text(re.compile(r"1[45]:\d\d"))  # about 15 minutes
    assert ShowSeat.objects.get(showtime=showtime, code="A2").status == SeatStatus.HELD


def test_an_email_typed_before_another_click_is_kept(site, new_page, showtime):
    page = new_page()
    open_map(page, site, showtime)
    seat(page, "A1").click()
    page.locator("#id_email").fill("ana@example.com")
    seat(page, "A2").click()  # its answer redraws the basket and the checkout form
    expect(page.locator("[data-basket-seat]")).to_have_count(2)
    expect(page.locator("#id_email")).to_have_value("ana@example.com")
    seat(page, "A2").click()  # a release redraws it too
    expect(page.locator("[data-basket-seat]")).to_have_count(1)
    expect(page.locator("#id_email")).to_have_value("ana@example.com")


def test_second_buyer_is_told_the_seat_is_taken(site, new_page, showtime):
    first, second = new_page(), new_page()
    open_map(first, site, showtime)
    open_map(second, site, showtime)
    seat(first, "B2").click()
    expect(seat(first, "B2")).to_have_attribute("data-state", "mine")
    seat(second, "B2").click()  # the second page has not polled yet: it still shows B2 free
    expect(second.locator("#seat-status")).to_contain_text("B2 has just been taken")
    expect(seat(second, "B2")).to_have_attribute("data-state", "held")


def test_seat_taken_elsewhere_appears_without_reload(site, new_page, showtime):
    watcher, buyer = new_page(), new_page()
    open_map(watcher, site, showtime)
    open_map(buyer, site, showtime)
    seat(buyer, "A4").click()
    expect(seat(buyer, "A4")).to_have_attribute("data-state", "mine")
    expect(seat(watcher, "A4")).to_have_attribute("data-state", "held", timeout=8000)


def test_countdown_expiry_gives_the_seats_back(site, new_page, showtime, settings):
    settings.HOLD_SECONDS = 4
    page = new_page()
    open_map(page, site, showtime)
    seat(page, "A3").click()
    expect(seat(page, "A3")).to_have_attribute("data-state", "mine")
    expect(page.locator("[data-basket-total]")).to_have_text("€10.00")
    expect(page.locator(".countdown-expired")).to_be_visible(timeout=8000)
    expect(page.locator("[data-basket-total]")).to_have_count(0)  # no stale price for nothing
    expect(page.locator("[data-basket-seat]")).to_have_count(0)
    expect(seat(page, "A3")).to_have_attribute("data-state", "available", timeout=8000)


def test_without_javascript_the_form_holds_a_seat(site, new_page, showtime):
    page = new_page(java_script_enabled=False)
    page.goto(f"{site}/showtimes/{showtime.pk}/")
    seat(page, "B1").click()
    page.wait_for_load_state()
    expect(seat(page, "B1")).to_have_attribute("data-state", "mine")
    expect(page.locator("[data-basket-seat=B1]")).to_be_visible()


def test_keyboard_focus_stays_on_the_seat(site, new_page, showtime):
    page = new_page()
    open_map(page, site, showtime)
    seat(page, "A1").focus()
    page.keyboard.press("ArrowRight")
    expect(seat(page, "A2")).to_be_focused()
    page.keyboard.press("Enter")
    expect(seat(page, "A2")).to_have_attribute("data-state", "mine")
    expect(seat(page, "A2")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(seat(page, "B2")).to_be_focused()


def test_phone_sized_screen(site, new_page, medium_showtime):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_map(page, site, medium_showtime)
    seat(page, "G5").tap()
    expect(seat(page, "G5")).to_have_attribute("data-state", "mine")


def test_screenshot_seat_map(site, new_page, medium_showtime):
    from booking.models import Film
    from booking.services import Actor, booking_confirm, seat_hold
    from halls.models import Hall

    Film.objects.filter(pk=medium_showtime.film_id).update(title="Premiere Night")
    Hall.objects.filter(pk=medium_showtime.hall_id).update(name="Grand")
    sold = seat_hold(
        showtime_id=medium_showtime.pk, codes=["D6", "D7", "D8"], owner_token="demo-a", actor=Actor("demo")
    )
    booking_confirm(order_id=sold.pk, actor=Actor("demo"))
    seat_hold(showtime_id=medium_showtime.pk, codes=["E3", "E4"], owner_token="demo-b", actor=Actor("demo"))
    page = new_page()
    open_map(page, site, medium_showtime)
    seat(page, "G6").click()
    seat(page, "J3").click()  # straight after: both clicks land in the same basket
    expect(page.locator("[data-basket-seat=G6]")).to_be_visible()
    expect(seat(page, "J4")).to_have_attribute("data-state", "mine")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "seat-map.png"), full_page=True)


def test_screenshot_german_seat_map(site, new_page, medium_showtime):
    """A browser that asks for German gets the page, the basket and the prices in German."""
    page = new_page(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    open_map(page, site, medium_showtime)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    seat(page, "G6").click()
    expect(seat(page, "G6")).to_have_attribute("data-state", "mine")
    expect(page.locator("[data-basket-total]")).to_have_text("15,50 €")
    expect(page.locator("#basket-title")).not_to_have_text("Your seats")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "seat-map-de.png"), full_page=True)
