"""Issue 14, item 5: a poll of the seat map never races a seat click.

A poll answer swapped while a hold or release was on its way used to replace the clicked
button; the click's answer then looked for #basket and #seat-status in that detached button's
old map (`htmx:oobErrorNoTarget`), so the seat showed `mine` while the basket still said "Click
a free seat" and the checkout form never came. Here every seat request takes 3.5 s longer
(the server answers at once, the browser gets the answer late, as on a slow line) while the
page polls several times a second, and the page must still end up right.
"""

from playwright.sync_api import expect

from booking.models import SeatStatus, ShowSeat

LATENCY_MS = 3500
POLL_EVERY_MS = 200

# Counts the page's poll attempts (capture phase: before seatmap.js may hold one back), records
# every out-of-band swap that found no target, and polls fast through the map's own trigger.
WATCH_POLLS = """(every) => {
  window.pollAttempts = 0;
  window.oobMisses = [];
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt && event.detail.elt.id === "seat-map") { window.pollAttempts += 1; }
  }, true);
  document.body.addEventListener("htmx:oobErrorNoTarget", (event) => {
    window.oobMisses.push(String(event.detail.target));
  });
  setInterval(() => document.body.dispatchEvent(new Event("seatmap-refresh")), every);
}"""


def seat(page, code):
    return page.locator(f'[data-seat="{code}"]')


def slow_seat_requests(page):
    """The request reaches the server at once; its answer reaches the page LATENCY_MS later.

    Holding the answer (not the request) is what let polls in the meantime already see the
    seat taken and redraw the clicked button: the old race, reproduced every time.
    """

    def delay(route):
        response = route.fetch()
        page.wait_for_timeout(LATENCY_MS)
        route.fulfill(response=response)

    page.route("**/showtimes/*/hold/", delay)
    page.route("**/showtimes/*/release/", delay)


def open_polling_map(page, site, showtime):
    page.goto(f"{site}/showtimes/{showtime.pk}/")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate(WATCH_POLLS, POLL_EVERY_MS)
    slow_seat_requests(page)


def click_and_wait_for_answer(page, code, path):
    """Click a seat; return the page's poll attempts made while its answer was on the way."""
    before = page.evaluate("window.pollAttempts")
    with page.expect_response(lambda r: r.url.endswith(path) and r.request.method == "POST"):
        seat(page, code).click()
    return page.evaluate("window.pollAttempts") - before


def wait_for_polls(page, count):
    """Polls still reach the server after the click landed (nothing stays paused)."""
    for _ in range(count):
        with page.expect_response(lambda r: "/seats/" in r.url):
            pass


def test_slow_hold_lands_in_basket_and_checkout_while_polls_run(site, new_page, showtime):
    page = new_page()
    open_polling_map(page, site, showtime)

    polls_meanwhile = click_and_wait_for_answer(page, "A2", "/hold/")

    # The hold took 3.5 s, and the page tried to poll all along (about 17 times).
    assert polls_meanwhile >= 5
    expect(seat(page, "A2")).to_have_attribute("data-state", "mine")
    expect(page.locator("[data-basket-seat=A2]")).to_be_visible()
    expect(page.locator("[data-basket-total]")).to_have_text("€10.00")
    expect(page.locator("#checkout-form")).to_be_visible()
    expect(page.locator("#seat-status")).to_have_text("A2: held by you.")
    wait_for_polls(page, 3)
    expect(page.locator("[data-basket-seat=A2]")).to_be_visible()
    expect(page.locator("#checkout-form")).to_be_visible()
    expect(seat(page, "A2")).to_have_attribute("data-state", "mine")
    assert page.evaluate("window.oobMisses") == []
    assert ShowSeat.objects.get(showtime=showtime, code="A2").status == SeatStatus.HELD


def test_slow_release_empties_the_basket_while_polls_run(site, new_page, showtime):
    page = new_page()
    open_polling_map(page, site, showtime)
    click_and_wait_for_answer(page, "B3", "/hold/")
    expect(page.locator("#checkout-form")).to_be_visible()

    polls_meanwhile = click_and_wait_for_answer(page, "B3", "/release/")

    assert polls_meanwhile >= 5
    expect(seat(page, "B3")).to_have_attribute("data-state", "available")
    expect(page.locator("#basket")).to_contain_text("No seats held")
    expect(page.locator("#checkout-form")).to_have_count(0)
    expect(page.locator("[data-basket-seat]")).to_have_count(0)
    wait_for_polls(page, 3)
    expect(seat(page, "B3")).to_have_attribute("data-state", "available")
    expect(page.locator("#checkout-form")).to_have_count(0)
    assert page.evaluate("window.oobMisses") == []
    assert ShowSeat.objects.get(showtime=showtime, code="B3").status == SeatStatus.AVAILABLE


def test_slow_best_available_lands_in_basket_while_polls_run_and_a_double_click_holds_once(
    site, new_page, showtime
):
    """The "seats together" form posts from the form, not a seat button: its answer must be
    guarded from polls like a click's, and a second click while it is on its way sends nothing
    (else the basket would get a second group)."""
    page = new_page()
    open_polling_map(page, site, showtime)
    holds = []
    page.on("request", lambda r: holds.append(r) if r.url.endswith("/hold/") and r.method == "POST" else None)
    button = page.get_by_role("button", name="Find the best seats")
    before = page.evaluate("window.pollAttempts")
    with page.expect_response(lambda r: r.url.endswith("/hold/") and r.request.method == "POST"):
        button.click()
        button.click(force=True)  # the double click, while the first is on its way
    assert page.evaluate("window.pollAttempts") - before >= 5
    expect(page.locator("[data-basket-seat]")).to_have_count(2)
    expect(page.locator("#checkout-form")).to_be_visible()
    wait_for_polls(page, 3)
    expect(page.locator("[data-basket-seat]")).to_have_count(2)
    expect(page.locator('[data-state="mine"]')).to_have_count(2)
    assert page.evaluate("window.oobMisses") == []
    assert len(holds) == 1
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).count() == 2
