"""The compact seat map and its polls: bytes, names, deltas since a cursor, 304s, gzip."""

import dataclasses
import gzip
import re
import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, connections, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import selectors, services
from booking.formatting import seat_label
from booking.models import SeatStatus, ShowSeat
from booking.selectors import MapCursor, seat_map_token_key, seat_states
from booking.services import Actor, seat_hold
from booking.services.locking import seats_update
from tests.booking.test_views import HtmxClient, seat_names_in, seat_states_in, seats_in, url
from tests.helpers import at_once


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def cursor_in(html: str) -> str:
    return re.search(r'id="seat-cursor" name="since" value="([^"]+)"', html).group(1)


def poll(client, showtime, since: str, **headers):
    return client.get(url(showtime, "seats"), {"since": since}, headers=headers)


def test_the_352_seat_map_is_a_third_of_its_old_size(large_showtime):
    html = HtmxClient().get(url(large_showtime, "seats")).content.decode()
    buttons = re.findall(r"<button[^>]*>[^<]*</button>", html)
    assert len(buttons) == 352
    # It was 104,759 bytes, about 298 a seat (docs/benchmarks.md).
    assert sum(len(button.encode()) for button in buttons) / 352 <= 99
    assert len(html.encode()) <= 35 * 1024


@pytest.mark.parametrize("fixture", ["medium_showtime", "large_showtime"])
def test_every_seat_has_its_code_state_and_whole_accessible_name(request, fixture):
    showtime = request.getfixturevalue(fixture)
    seat_hold(showtime_id=showtime.pk, codes=["B2"], owner_token="other", actor=Actor("test"))
    viewer = HtmxClient()
    assert viewer.post(url(showtime, "hold"), {"seat": "B3"}).status_code == 200
    html = viewer.get(url(showtime)).content.decode()
    assert "{#" not in html
    geometry = showtime.hall.geometry
    labels = {zone.key: zone.label for zone in geometry.zones}
    order_id = ShowSeat.objects.get(showtime=showtime, code="B3").order_id
    views = seat_states(showtime_id=showtime.pk, viewer_order_id=order_id)
    expected = {
        s.code: seat_label(s, views[s.code], labels[s.zone], showtime.currency) for s in geometry.seats
    }
    assert seat_names_in(html) == expected
    assert expected["B2"].endswith(", held by someone else") and expected["B3"].endswith(", held by you")
    states = seat_states_in(html)
    assert (states["B2"], states["B3"], len(states)) == ("held", "mine", geometry.seat_count)


def test_a_poll_gets_exactly_the_seats_changed_since_its_cursor(showtime, django_capture_on_commit_callbacks):
    lapsing_at = timezone.now() + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(
            showtime_id=showtime.pk,
            codes=["B4"],
            owner_token="soon-gone",
            actor=Actor("test"),
            now=lapsing_at - timedelta(minutes=15),
        )
    watcher = HtmxClient()
    first = watcher.get(url(showtime, "seats")).content.decode()
    assert seat_states_in(first)["B4"] == "held"
    while timezone.now() <= lapsing_at:  # the hold lapses: no write, no commit
        time.sleep(0.05)
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["A2"], owner_token="other", actor=Actor("test"))

    delta = poll(watcher, showtime, cursor_in(first))
    html = delta.content.decode()
    assert (delta.status_code, delta["HX-Reswap"]) == (200, "none")
    assert seat_states_in(html) == {"A2": "held", "B4": "available"}
    assert html.count('hx-swap-oob="outerHTML:[data-seat=') == 2
    assert cursor_in(html) != cursor_in(first)
    again = poll(watcher, showtime, cursor_in(html))
    assert (again.status_code, again.content) == (304, b"")


@pytest.fixture
def clock(monkeypatch):
    """The monotonic clock booking.selectors keeps poll answers by, moved on at will."""

    class Clock:
        offset = 0.0

        def monotonic(self):
            return time.monotonic() + self.offset

        def advance(self, seconds):
            self.offset += seconds + 0.001

    fake = Clock()
    monkeypatch.setattr(selectors, "time", fake)
    return fake


def test_a_lapsed_hold_reaches_polls_once_the_token_expires(showtime, clock):
    lapsing_at = timezone.now() + timedelta(seconds=1)
    seat_hold(
        showtime_id=showtime.pk,
        codes=["A1"],
        owner_token="x",
        actor=Actor("t"),
        now=lapsing_at - timedelta(minutes=15),
    )
    watcher = HtmxClient()
    since = cursor_in(watcher.get(url(showtime, "seats")).content.decode())
    while timezone.now() <= lapsing_at:
        time.sleep(0.05)
    assert poll(watcher, showtime, since).status_code == 304  # the cache vouches for 2 s
    cache.delete(seat_map_token_key(showtime.pk))  # as if those 2 s had passed
    clock.advance(selectors.SEAT_MAP_POLL_MEMO_SECONDS)  # and this process's memory of the 304
    assert seat_states_in(poll(watcher, showtime, since).content.decode()) == {"A1": "available"}


def test_a_delta_draws_the_viewers_own_seats_as_mine(showtime, django_capture_on_commit_callbacks):
    viewer = HtmxClient()
    since = cursor_in(viewer.get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        assert viewer.post(url(showtime, "hold"), {"seat": "A3"}).status_code == 200
    assert seat_states_in(poll(viewer, showtime, since).content.decode()) == {"A3": "mine"}
    assert seat_states_in(poll(HtmxClient(), showtime, since).content.decode()) == {"A3": "held"}


def test_a_poll_the_cache_vouches_for_runs_no_query(showtime, django_assert_num_queries):
    watcher = HtmxClient()
    since = cursor_in(watcher.get(url(showtime, "seats")).content.decode())
    with django_assert_num_queries(0):
        response = poll(watcher, showtime, since)
    assert response.status_code == 304


def test_a_commit_clears_the_token_so_the_next_poll_looks(showtime, django_capture_on_commit_callbacks):
    watcher = HtmxClient()
    since = cursor_in(watcher.get(url(showtime, "seats")).content.decode())
    assert cache.get(seat_map_token_key(showtime.pk)) == MapCursor.parse(since).token
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    assert cache.get(seat_map_token_key(showtime.pk)) == "changed"
    assert seat_states_in(poll(watcher, showtime, since).content.decode()) == {"B1": "held"}


@pytest.mark.parametrize(
    "since",
    [
        "garbage",
        "{version}.1.2",
        "{version}.1.2.3x4x5",
        "0000.1.2.3x4",
        "{version}.-1.2.3x4",
        "{version}.1.2.3x4",
    ],
)
def test_a_cursor_that_cannot_be_trusted_gets_the_whole_map(showtime, since):
    fresh = MapCursor.parse(cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode()))
    version = str(fresh).split(".")[0]
    response = poll(HtmxClient(), showtime, since.format(version=version))
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Reswap" not in response
    assert html.startswith('<div id="seat-map"') and len(seat_states_in(html)) == 8


def test_a_client_far_behind_gets_the_whole_map(showtime, django_capture_on_commit_callbacks):
    current = MapCursor.parse(cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode()))
    old = MapCursor(current.xmin, current.at - timedelta(minutes=11), current.token)
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="o", actor=Actor("t"))
    html = poll(HtmxClient(), showtime, str(old)).content.decode()
    assert html.startswith('<div id="seat-map"') and len(seat_states_in(html)) == 8


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_a_poll_by_a_transaction_older_than_it_is_delivered(showtime, monkeypatch):
    """The writer starts (and writes) before the watcher's second read and commits after it:
    that read cannot see it, and its cursor must not let the next poll skip it. (The database
    path, which viewers with a basket take: shared frames are switched off here.)"""
    from booking.views import public

    monkeypatch.setattr(public, "_seat_map_from_frame", lambda *args: None)
    watcher = HtmxClient()
    first = cursor_in(watcher.get(url(showtime, "seats")).content.decode())
    written, commit = threading.Event(), threading.Event()
    errors = []

    def writer():
        try:
            with transaction.atomic():
                seat = ShowSeat.objects.select_for_update().get(showtime=showtime, code="B2")
                seats_update([seat], status=SeatStatus.BLOCKED, block_reason="race")
                written.set()
                assert commit.wait(10)
        except Exception as exc:  # reported by the main thread's assertion
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(10)
        seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="o", actor=Actor("t"))
        middle = poll(watcher, showtime, first).content.decode()
        assert seat_states_in(middle) == {"A1": "held"}  # B2's change is not committed yet
    finally:
        commit.set()
        thread.join(10)
    assert errors == []
    # A1 again too: its txid is above the writer's, which held the middle read's xmin back.
    last = poll(watcher, showtime, cursor_in(middle)).content.decode()
    assert seat_states_in(last) == {"A1": "held", "B2": "blocked"}


def test_the_map_and_the_page_are_gzipped_and_304s_still_match(htmx, showtime):
    response = htmx.get(url(showtime, "seats"), headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert len(seat_states_in(gzip.decompress(response.content).decode())) == 8
    etag = response["ETag"]
    assert etag.startswith('W/"')
    again = htmx.get(url(showtime, "seats"), headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304
    page = HtmxClient().get(url(showtime), headers={"Accept-Encoding": "gzip"})
    assert page["Content-Encoding"] == "gzip"
    assert len(seats_in(gzip.decompress(page.content).decode()).seats) == 8


@pytest.fixture
def htmx():
    return HtmxClient()


# --- shared frames: viewers without a basket --------------------------------------------------


def test_viewers_without_a_basket_share_one_read_per_frame(
    showtime, django_capture_on_commit_callbacks, django_assert_num_queries
):
    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="o", actor=Actor("t"))
    one, two = HtmxClient(), HtmxClient()
    answer = poll(one, showtime, first)
    assert seat_states_in(answer.content.decode()) == {"A1": "held"}
    assert answer["HX-Reswap"] == "none"
    with django_assert_num_queries(0):  # the frame, the states and the answer: all from the cache
        again = poll(two, showtime, first)
    assert again.content == answer.content
    with django_assert_num_queries(0):
        assert poll(two, showtime, cursor_in(answer.content.decode())).status_code == 304


def test_visitors_without_a_basket_get_the_page_drawn_from_the_shared_frame(
    large_showtime, django_capture_on_commit_callbacks, django_assert_num_queries, monkeypatch
):
    """A premiere's first minute is everyone opening the page at once: one read and one drawing
    of the map a frame, not one each. The page is the frame's (a second old at most) and its
    cursor too, so the first poll brings what changed since."""
    from booking import seatmap

    drawn = []
    real_grid = seatmap.seat_grid
    monkeypatch.setattr(seatmap, "seat_grid", lambda *a, **k: drawn.append(1) or real_grid(*a, **k))
    first = HtmxClient().get(url(large_showtime))
    assert first.status_code == 200 and len(drawn) == 1
    with django_assert_num_queries(0):  # the showtime is in memory, the map in the cache
        second = HtmxClient().get(url(large_showtime))
    assert len(drawn) == 1
    page = second.content.decode()
    assert seat_states_in(page) == seat_states_in(first.content.decode())
    assert set(seat_states_in(page).values()) == {"available"} and len(seat_states_in(page)) == 352
    assert 'name="buyer" value="' in page and 'name="csrfmiddlewaretoken"' in page
    assert (
        re.search(r'name="buyer" value="([^"]+)"', page)[1]
        != re.search(r'name="buyer" value="([^"]+)"', first.content.decode())[1]
    )  # the map is shared; the buyer token is each visitor's own

    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=large_showtime.pk, codes=["A1"], owner_token="o", actor=Actor("t"))
    # The frame's second is over (its token and read lock expire): the next poll reads anew.
    cache.delete_many([f"seatmap:frametoken:{large_showtime.pk}", f"seatmap:framelock:{large_showtime.pk}"])
    answer = poll(HtmxClient(), large_showtime, cursor_in(page))
    assert seat_states_in(answer.content.decode()) == {"A1": "held"}  # a delta from the page's cursor


def test_a_visitor_with_a_basket_gets_the_page_read_for_them(showtime):
    buyer = HtmxClient()
    HtmxClient().get(url(showtime))  # a frame exists
    assert buyer.post(url(showtime, "hold"), {"seat": "A2"}).status_code == 200
    states = seat_states_in(buyer.get(url(showtime)).content.decode())
    assert states["A2"] == "mine"
    assert seat_states_in(HtmxClient().get(url(showtime)).content.decode())["A2"] in ("available", "held")


def test_without_a_cache_the_page_reads_the_map_itself(showtime, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    assert seat_states_in(HtmxClient().get(url(showtime)).content.decode())["B1"] == "held"


def cache_calls(monkeypatch) -> list[str]:
    """The calls this thread's cache backend gets from here on (the test client's requests run
    in this thread), by method name."""
    from django.core.cache import caches

    calls, depth = [], [0]
    backend = caches["default"]

    def counted(name, method):
        def call(*args, **kwargs):
            if not depth[0]:  # not the calls a backend makes itself (locmem's get_many gets each key)
                calls.append(name)
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for name in ("get", "get_many", "set", "add", "set_many"):
        monkeypatch.setattr(backend, name, counted(name, getattr(backend, name)))
    return calls


def test_a_poll_answered_from_the_cache_is_one_round_trip(
    showtime, django_capture_on_commit_callbacks, django_assert_num_queries, monkeypatch
):
    """Token, frame and the answer drawn for this cursor come in one MGET: a poll used to wait
    on the cache three times, and on a busy machine those waits were most of its time."""
    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    answer = poll(HtmxClient(), showtime, first)  # draws the answer for this cursor
    selectors.seat_map_poll_memo_forget()  # another process, which has not answered it yet
    calls = cache_calls(monkeypatch)
    with django_assert_num_queries(0):
        again = poll(HtmxClient(), showtime, first)
    assert again.content == answer.content and seat_states_in(again.content.decode()) == {"B1": "held"}
    assert calls == ["get_many"]
    calls.clear()
    with django_assert_num_queries(0):
        assert poll(HtmxClient(), showtime, cursor_in(answer.content.decode())).status_code == 304
    assert calls == ["get_many"]


# --- a process's memory of answers to visitors without a session ------------------------------


def test_a_visitor_without_a_session_is_answered_from_this_process_memory(
    showtime, django_capture_on_commit_callbacks, django_assert_num_queries, monkeypatch, clock
):
    """The next visitor without a session who brings the same cursor within
    SEAT_MAP_POLL_MEMO_SECONDS gets the answer this process just gave: no cache round trip, no
    query. After that, the cache again."""
    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    answer = poll(HtmxClient(), showtime, first)
    now = cursor_in(answer.content.decode())
    assert poll(HtmxClient(), showtime, now).status_code == 304
    calls = cache_calls(monkeypatch)
    with django_assert_num_queries(0):
        again = poll(HtmxClient(), showtime, first)
        assert poll(HtmxClient(), showtime, now).status_code == 304
        packed = poll(HtmxClient(), showtime, first, **{"Accept-Encoding": "gzip"})
    assert calls == []
    assert again.content == answer.content and "Content-Encoding" not in again
    assert again["HX-Reswap"] == "none" and "Accept-Encoding" in again["Vary"]
    assert packed["Content-Encoding"] == "gzip" and gzip.decompress(packed.content) == answer.content
    clock.advance(selectors.SEAT_MAP_POLL_MEMO_SECONDS)
    assert poll(HtmxClient(), showtime, now).status_code == 304
    assert calls == ["get_many"]


def test_a_commit_in_this_process_forgets_its_showtimes_kept_answers(
    showtime, django_capture_on_commit_callbacks
):
    """A change made here reaches this process's next poll at once, not after the memory's
    half second; other showtimes' answers stay."""
    cache.clear()
    since = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    assert poll(HtmxClient(), showtime, since).status_code == 304  # kept
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="o", actor=Actor("t"))
    assert seat_states_in(poll(HtmxClient(), showtime, since).content.decode()) == {"A1": "held"}
    selectors.seat_map_poll_memo_remember(showtime.pk + 1, "other", selectors.NOT_MODIFIED)
    selectors.seat_map_poll_memo_forget(showtime.pk)
    assert selectors.seat_map_poll_memo(showtime.pk + 1, "other") == selectors.NOT_MODIFIED


def test_a_poll_under_way_when_this_process_commits_keeps_nothing(
    showtime, django_capture_on_commit_callbacks, monkeypatch
):
    """A hold commits in this process between a poll's read of the cache (the token still
    vouching for the old map) and its answer: that answer (304) may go out, but is not kept, so
    the next poll with the same cursor gets the seat held."""
    cache.clear()
    since = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    read = selectors.seat_map_poll_cached

    def read_then_a_hold_commits(**kwargs):
        found = read(**kwargs)
        if not ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).exists():
            with django_capture_on_commit_callbacks(execute=True):
                seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="o", actor=Actor("t"))
        return found

    monkeypatch.setattr(selectors, "seat_map_poll_cached", read_then_a_hold_commits)
    assert poll(HtmxClient(), showtime, since).status_code == 304  # read before the commit
    assert seat_states_in(poll(HtmxClient(), showtime, since).content.decode()) == {"A1": "held"}


def test_a_visitor_with_a_session_is_never_answered_from_memory(showtime, django_capture_on_commit_callbacks):
    """A change this process did not make (another worker's commit: here, a row changed behind
    the services' back and the token gone) reaches a buyer's next poll at once; a visitor
    without a session may get the 304 this process kept, for SEAT_MAP_POLL_MEMO_SECONDS."""
    cache.clear()
    buyer = HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": "A1"}).status_code == 200
    since = cursor_in(buyer.get(url(showtime, "seats")).content.decode())
    assert poll(HtmxClient(), showtime, since).status_code == 304  # kept, for visitors without one
    assert poll(buyer, showtime, since).status_code == 304
    ShowSeat.objects.filter(showtime=showtime, code="B1").update(
        status=SeatStatus.BLOCKED, version=models.F("version") + 1
    )
    cache.delete(seat_map_token_key(showtime.pk))
    assert seat_states_in(poll(buyer, showtime, since).content.decode())["B1"] == "blocked"
    assert poll(HtmxClient(), showtime, since).status_code == 304


def test_the_memory_keeps_answers_of_a_bounded_number_of_showtimes(clock):
    """A process serves weeks of showtimes: those nobody polled in the last half second go when
    a new one comes and the memory is full."""
    limit = selectors.SEAT_MAP_POLL_MEMO_SHOWTIMES
    for showtime_id in range(limit - 1):
        selectors.seat_map_poll_memo_remember(showtime_id, "k", selectors.NOT_MODIFIED)
    clock.advance(selectors.SEAT_MAP_POLL_MEMO_SECONDS)
    selectors.seat_map_poll_memo_remember(limit - 1, "k", selectors.NOT_MODIFIED)  # still polled
    selectors.seat_map_poll_memo_remember(limit, "k", selectors.NOT_MODIFIED)  # full: the idle go
    assert set(selectors._poll_memo) == {limit - 1, limit}
    for showtime_id in range(limit + 1, 2 * limit + 1):  # all polled now: no room but by starting over
        selectors.seat_map_poll_memo_remember(showtime_id, "k", selectors.NOT_MODIFIED)
    assert len(selectors._poll_memo) <= limit
    assert selectors.seat_map_poll_memo(2 * limit, "k") == selectors.NOT_MODIFIED


def test_the_memory_keeps_a_bounded_number_of_answers_a_showtime():
    for n in range(selectors.SEAT_MAP_POLL_MEMO_MAX):
        selectors.seat_map_poll_memo_remember(1, f"key{n}", selectors.NOT_MODIFIED)
    assert selectors.seat_map_poll_memo(1, "key0") == selectors.NOT_MODIFIED
    selectors.seat_map_poll_memo_remember(1, "one more", (False, b""))
    assert selectors.seat_map_poll_memo(1, "key0") is None
    assert selectors.seat_map_poll_memo(1, "one more") == (False, b"")


def test_a_buyers_poll_in_a_sale_reads_the_database_once_and_writes_no_cache(
    showtime, django_capture_on_commit_callbacks, monkeypatch
):
    """A buyer's poll (its map has "mine") reads the database; in a sale every commit leaves its
    marker in the token's key, so keeping the read's token there (an `add`) would change
    nothing: the poll skips it, and costs the MGET and its session's read."""
    cache.clear()
    buyer = HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": "A1"}).status_code == 200
    first = cursor_in(buyer.get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):  # someone else's hold: the marker
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    calls = cache_calls(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        answer = poll(buyer, showtime, first)
    # The map's read; the session is read from the cache (and from the database too when the
    # cache is this process's memory: not the poll's doing).
    assert len([q for q in queries.captured_queries if "django_session" not in q["sql"]]) == 1
    # (A1 may come again: in a test the whole test is one transaction, newer than any cursor.)
    assert seat_states_in(answer.content.decode()) | {"A1": "mine"} == {"A1": "mine", "B1": "held"}
    # The poll's MGET, and the session's read when sessions live in the cache (REDIS_URL).
    assert calls in (["get_many"], ["get", "get_many"], ["get_many", "get"])
    # With no token in the cache (it expired), the read's token is kept for the next polls.
    cache.delete(seat_map_token_key(showtime.pk))
    calls.clear()
    poll(buyer, showtime, first)
    assert "add" in calls


def test_viewers_too_far_behind_share_one_drawing_of_the_whole_map(
    showtime, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """In a sale every viewer's poll finds more changed than a delta pays for: the frame's whole
    map is drawn once and served to all of them (drawing it per viewer sank the map's pool)."""
    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):  # 4 of 8 seats: more than a third
        seat_hold(showtime_id=showtime.pk, codes=["A1", "A2", "A3", "A4"], owner_token="o", actor=Actor("t"))
    answer = poll(HtmxClient(), showtime, first)
    html = answer.content.decode()
    assert html.startswith('<div id="seat-map"') and "HX-Reswap" not in answer  # replaces the map
    assert seat_states_in(html) == {
        **{f"A{n}": "held" for n in range(1, 5)},
        **{f"B{n}": "available" for n in range(1, 5)},
    }
    with django_assert_num_queries(0):  # frame and drawing from the cache
        again = poll(HtmxClient(), showtime, first)
    assert again.content == answer.content
    with django_assert_num_queries(0):
        assert poll(HtmxClient(), showtime, cursor_in(html)).status_code == 304
    # The same drawing a first load gets, but for the cursor (each read has its own).
    fresh = HtmxClient().get(url(showtime, "seats")).content.decode()
    assert fresh.replace(cursor_in(fresh), "") == html.replace(cursor_in(html), "")


@pytest.mark.parametrize("changed", [["A1", "A2", "A3", "A4"], ["B2"]], ids=["whole map", "delta"])
def test_an_answer_shared_by_viewers_is_gzipped_once(
    showtime, django_capture_on_commit_callbacks, monkeypatch, changed
):
    """Browsers accept gzip: the answer drawn for a cursor is kept compressed and sent as is to
    each viewer asking for it, instead of gzip_page compressing it again per response; a client
    without gzip gets the same answer unpacked."""
    from booking.views import public

    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=changed, owner_token="o", actor=Actor("t"))
    compressions = []
    original = public.gzip.compress
    monkeypatch.setattr(
        public.gzip, "compress", lambda data, **k: compressions.append(1) or original(data, **k)
    )
    answers = [poll(HtmxClient(), showtime, first, **{"Accept-Encoding": "gzip, br"}) for _ in range(3)]
    plain = poll(HtmxClient(), showtime, first)
    assert len(compressions) == 1
    for answer in answers:
        assert answer.status_code == 200 and answer["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in answer["Vary"]
        assert gzip.decompress(answer.content) == plain.content
    assert not plain.has_header("Content-Encoding") and "Accept-Encoding" in plain["Vary"]
    assert {code: "held" for code in changed}.items() <= seat_states_in(plain.content.decode()).items()
    assert ("HX-Reswap" in plain) == (changed == ["B2"])  # a delta swaps out of band only


def test_a_frame_is_at_most_a_second_behind(showtime, django_capture_on_commit_callbacks):
    cache.clear()
    viewer = HtmxClient()
    cursor = cursor_in(viewer.get(url(showtime, "seats")).content.decode())
    poll(viewer, showtime, cursor)  # makes the frame
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B3"], owner_token="o", actor=Actor("t"))
    time.sleep(1.1)  # the frame's lifetime (SEAT_MAP_FRAME_SECONDS): the next poll reads anew
    assert seat_states_in(poll(viewer, showtime, cursor).content.decode()) == {"B3": "held"}


def test_while_the_next_frame_is_read_an_answer_from_the_one_before_is_not_drawn_again(
    showtime, django_capture_on_commit_callbacks, django_assert_num_queries, monkeypatch
):
    from booking import selectors

    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    answer = poll(HtmxClient(), showtime, first)  # drawn from the frame
    cache.delete(f"seatmap:frametoken:{showtime.pk}")  # the frame is no longer fresh …
    cache.set(f"seatmap:framelock:{showtime.pk}", time.time(), 5)  # … and another request reads the next

    def drawn_again(**kwargs):
        raise AssertionError("the answer for this cursor and frame was drawn again")

    monkeypatch.setattr(selectors, "seat_map_frame_delta", drawn_again)
    with django_assert_num_queries(0):
        again = poll(HtmxClient(), showtime, first)
    assert again.content == answer.content and seat_states_in(again.content.decode()) == {"B1": "held"}


def test_a_frame_from_long_ago_is_not_served_while_the_next_is_read(
    showtime, django_capture_on_commit_callbacks
):
    """The frame before answers while another request reads the next one only if that read
    follows it (began within SEAT_MAP_FRAME_GAP: polls kept coming, however slow the read): a
    frame kept from a while ago would show that moment's map to everyone arriving together."""
    cache.clear()
    cursor = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o", actor=Actor("t"))
    poll(HtmxClient(), showtime, cursor)  # makes a frame: B1 held, B3 free
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B3"], owner_token="p", actor=Actor("t"))
    key, lock = f"seatmap:frame:{showtime.pk}", f"seatmap:framelock:{showtime.pk}"
    frame = cache.get(key)
    assert frame.views["B3"].state == "available"
    cache.delete(f"seatmap:frametoken:{showtime.pk}")

    def frame_read(seconds_ago: float, *, next_read_began: float) -> None:
        at = frame.cursor.at - timedelta(seconds=seconds_ago)
        cache.set(key, dataclasses.replace(frame, cursor=dataclasses.replace(frame.cursor, at=at)), 120)
        cache.set(lock, at.timestamp() + next_read_began, 5)  # another request reads the next

    frame_read(30, next_read_began=30)  # nobody looked for 30 s, then a crowd came
    assert seat_states_in(HtmxClient().get(url(showtime)).content.decode())["B3"] == "held"
    assert seat_states_in(poll(HtmxClient(), showtime, cursor).content.decode()) == {
        "B1": "held",
        "B3": "held",
    }
    # Polls kept coming: the next read began a second after this frame and is slow (4 s so
    # far): the frame answers, as it does while any next frame is read.
    frame_read(4, next_read_began=1)
    assert seat_states_in(HtmxClient().get(url(showtime)).content.decode())["B3"] == "available"


@pytest.mark.django_db(transaction=True)
def test_when_a_frame_expires_one_poll_reads_the_next(showtime, monkeypatch):
    """Polls arriving together as a frame expires: one reads the database, the others answer
    from the frame before (every poll at a frame's expiry used to read and draw it)."""
    from booking import selectors

    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    cache.delete(seat_map_token_key(showtime.pk))  # past the token shortcut: the poll makes a frame
    assert poll(HtmxClient(), showtime, first).status_code == 304  # the first frame
    seat_hold(showtime_id=showtime.pk, codes=["B3"], owner_token="o", actor=Actor("t"))
    time.sleep(1.1)  # the frame is no longer fresh: the next poll reads anew
    reads = []
    real_read = selectors.seat_map_read

    def counted_read(**kwargs):
        reads.append(kwargs.get("viewer_order_id"))
        time.sleep(0.2)  # a slow read: the other polls arrive while it runs
        return real_read(**kwargs)

    monkeypatch.setattr(selectors, "seat_map_read", counted_read)
    answers = at_once(lambda: poll(HtmxClient(), showtime, first), 8, timeout=10)
    assert reads == [None]  # one whole-map read for all eight viewers
    statuses = sorted(answer.status_code for answer in answers)
    assert 200 in statuses and set(statuses) <= {200, 304}  # the others: the frame before (B3 free)
    for answer in answers:
        if answer.status_code == 200:
            assert seat_states_in(answer.content.decode()) == {"B3": "held"}


def test_the_maps_statement_sees_every_seat_as_seat_states_does(showtime):
    """The whole map's statement decides each seat's state in SQL; seat_states (hold answers,
    the staff's map) decides it in Python (_seat_view). The same rule, twice: they must agree."""
    mine = seat_hold(showtime_id=showtime.pk, codes=["A1", "A2"], owner_token="me", actor=Actor("t"))
    other = seat_hold(showtime_id=showtime.pk, codes=["B1", "B2", "B3"], owner_token="o", actor=Actor("t"))
    seats = ShowSeat.objects.filter(showtime=showtime)
    seats.filter(code__in=["A2", "B2"]).update(held_until=timezone.now() - timedelta(seconds=1))
    seats.filter(code="B3").update(status=SeatStatus.SOLD, held_until=None)
    seats.filter(code="A4").update(status=SeatStatus.BLOCKED)
    for viewer in (mine.pk, other.pk, None):
        read = selectors.seat_map_read(showtime_id=showtime.pk, viewer_order_id=viewer)
        assert read.states == seat_states(showtime_id=showtime.pk, viewer_order_id=viewer)
    states = selectors.seat_map_read(showtime_id=showtime.pk, viewer_order_id=mine.pk).states
    assert {code: view.state for code, view in states.items()} == {
        "A1": "mine",
        "A2": "available",  # its hold ran out
        "A3": "available",
        "A4": "blocked",
        "B1": "held",
        "B2": "available",
        "B3": "sold",
        "B4": "available",
    }


def test_a_buyers_whole_map_is_one_query_and_keeps_only_its_token(showtime, monkeypatch):
    """A buyer's whole map (a first load, a client too far behind): their order id is the one
    the session remembers (no query for the order), one read draws it, and the cache gets the
    token alone: a buyer's polls read the database, so their states would be kept for nobody."""
    cache.clear()
    buyer = HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": "A1"}).status_code == 200
    calls = cache_calls(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        answer = buyer.get(url(showtime, "seats"))
    assert len([q for q in queries.captured_queries if "django_session" not in q["sql"]]) == 1
    assert seat_states_in(answer.content.decode())["A1"] == "mine"
    assert [c for c in calls if c != "get"] == ["add"]  # ("get": the session, on Redis)
    # A visitor without an order keeps the states their cursor's polls compare with.
    calls.clear()
    HtmxClient().get(url(showtime, "seats"))
    assert [c for c in calls if c != "get"] == ["add", "set"]


def test_a_buyers_whole_map_draws_nothing_as_theirs_once_their_order_ended(showtime):
    """The session remembers the order past its end: its seats, released and held by someone
    else, are that someone's; the next hold's new order is theirs again."""
    buyer = HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": "A1"}).status_code == 200
    ended = selectors.open_order(showtime_id=showtime.pk, owner_token=buyer.session["owner_token"])
    services.order_expire(order_id=ended.pk, actor=Actor("t"), now=ended.expires_at + timedelta(seconds=1))
    seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="someone", actor=Actor("t"))
    assert seat_states_in(buyer.get(url(showtime, "seats")).content.decode())["A1"] == "held"
    assert buyer.post(url(showtime, "hold"), {"seat": "A2"}).status_code == 200
    states = seat_states_in(buyer.get(url(showtime, "seats")).content.decode())
    assert (states["A1"], states["A2"]) == ("held", "mine")


def test_a_viewer_with_a_basket_reads_the_database_and_sees_their_own_seats(
    showtime, django_capture_on_commit_callbacks
):
    cache.clear()
    buyer = HtmxClient()
    cursor = cursor_in(buyer.get(url(showtime, "seats")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        assert buyer.post(url(showtime, "hold"), {"seat": "A2"}).status_code == 200
    poll(HtmxClient(), showtime, cursor)  # a frame exists, in which A2 is just "held"
    assert seat_states_in(poll(buyer, showtime, cursor).content.decode()) == {"A2": "mine"}


def test_a_frame_older_than_the_cursor_never_takes_the_viewer_back(
    showtime, django_capture_on_commit_callbacks
):
    """A viewer whose map (a page load) is newer than the frame gets the database's answer,
    not the frame's older states: no seat flickers back to free."""
    cache.clear()
    first = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())
    cache.delete(seat_map_token_key(showtime.pk))  # past the token shortcut: the poll makes a frame
    assert poll(HtmxClient(), showtime, first).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["A4"], owner_token="o", actor=Actor("t"))
    newer = cursor_in(HtmxClient().get(url(showtime, "seats")).content.decode())  # sees A4 held
    answer = poll(HtmxClient(), showtime, newer)  # the frame (A4 free) is older than this cursor
    assert answer.status_code == 304 or "A4" not in seat_states_in(answer.content.decode())


def test_commits_in_a_burst_leave_the_marker_once_and_every_poll_still_looks(
    showtime, monkeypatch, django_capture_on_commit_callbacks
):
    """A commit within SEAT_MAP_MARKER_REUSE_SECONDS of this process's last marker for the
    showtime writes none (the marker is still there, and stays for at least as long again):
    polls after each commit see its change all the same. After that time, a commit writes it."""
    from booking.services import locking

    class Clock:
        now = time.monotonic()

        def monotonic(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(locking, "time", clock)
    writes = []
    real_set = cache.set

    def counted_set(key, *args, **kwargs):
        if key == seat_map_token_key(showtime.pk):
            writes.append(args[0])
        return real_set(key, *args, **kwargs)

    # A buyer, whose polls read the database (a viewer without a basket may be answered from
    # the showtime's shared frame, up to a second old by design).
    watcher = HtmxClient()
    with django_capture_on_commit_callbacks(execute=True):
        assert watcher.post(url(showtime, "hold"), {"seat": "B4"}).status_code == 200
    since = cursor_in(watcher.get(url(showtime, "seats")).content.decode())
    clock.now += locking.SEAT_MAP_MARKER_REUSE_SECONDS
    monkeypatch.setattr(locking.cache, "set", counted_set)
    for code in ("A1", "A2", "A3"):  # a burst: three holds in less than a second
        with django_capture_on_commit_callbacks(execute=True):
            seat_hold(showtime_id=showtime.pk, codes=[code], owner_token=f"o-{code}", actor=Actor("t"))
        response = poll(watcher, showtime, since)
        assert seat_states_in(response.content.decode()).get(code) == "held"
        since = cursor_in(response.content.decode())
        clock.now += 0.3
    assert writes == ["changed"]
    clock.now += locking.SEAT_MAP_MARKER_REUSE_SECONDS
    with django_capture_on_commit_callbacks(execute=True):
        seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="o-B1", actor=Actor("t"))
    assert writes == ["changed", "changed"]
