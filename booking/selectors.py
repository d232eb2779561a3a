"""Reads for the pages: one query for the whole seat map, one aggregate for its ETag."""

import contextlib
import dataclasses
import hashlib
import re
import time
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from booking.models import OPEN_STATUSES, Order, SeatStatus, ShowSeat, Showtime

_PROJECT_DIR = Path(__file__).resolve().parent.parent
# What draws the seat map: when any of it changes, browsers must drop the fragments they
# cached under the old ETags (the tag would otherwise still match the seats' state).
SEAT_MAP_SOURCES = (
    _PROJECT_DIR / "templates" / "booking" / "showtime.html",
    _PROJECT_DIR / "booking" / "seatmap.py",
    _PROJECT_DIR / "booking" / "templatetags" / "seatlock.py",
)


def markup_version(sources: tuple[bytes, ...]) -> str:
    """A short digest of the sources that produce the seat-map markup."""
    digest = hashlib.blake2b(digest_size=6)
    for source in sources:
        digest.update(hashlib.blake2b(source, digest_size=16).digest())
    return digest.hexdigest()


# Once per process: the sources only change with a deploy, which restarts the processes.
SEAT_MAP_MARKUP_VERSION = markup_version(tuple(path.read_bytes() for path in SEAT_MAP_SOURCES))


# --- the showtime of a request ------------------------------------------------------------

# showtime id → (monotonic deadline, Showtime with film, hall (layout deferred) and cinema).
_showtimes: dict[int, tuple[float, Showtime]] = {}


def showtime_for_request(showtime_id: int) -> Showtime:
    """The showtime a seat-map request is about, with its film, hall and cinema: from this
    process's memory for SHOWTIME_CACHE_SECONDS, else one query (Showtime.DoesNotExist if none).

    Every hold, release and map request starts here, and the join was the second most
    expensive statement of a hold (docs/benchmarks.md). What it serves is staff-edited data
    (film, start, prices, currency, hall): an edit saved in this process is seen at once (the
    signals in booking.apps clear the memory), one saved elsewhere within the TTL. Seat states
    never come from here. The object is shared between requests: read it, never change it.
    """
    ttl = settings.SHOWTIME_CACHE_SECONDS
    now = time.monotonic()
    entry = _showtimes.get(showtime_id)
    if entry is not None and entry[0] > now:
        return entry[1]
    showtime = (
        Showtime.objects.select_related("film", "hall__cinema").defer("hall__layout").get(pk=showtime_id)
    )
    if ttl > 0:
        if len(_showtimes) > 10_000:  # a crawler walking every id: start over
            _showtimes.clear()
        _showtimes[showtime_id] = (now + ttl, showtime)
    return showtime


def showtimes_forget(**_signal) -> None:
    """A showtime, film, hall or cinema was saved or deleted in this process."""
    _showtimes.clear()


class SeatState:
    AVAILABLE = "available"
    HELD = "held"
    MINE = "mine"
    SOLD = "sold"
    BLOCKED = "blocked"


class SeatView(typing.NamedTuple):
    code: str
    state: str
    price: int
    zone: str


def _seat_view(code, status, order_id, held_until, price, zone, *, viewer_order_id, now) -> SeatView:
    """A seat as this viewer sees it; a hold whose time has passed reads as available (inv. 2)."""
    if status == SeatStatus.HELD:
        if held_until <= now:
            status = SeatState.AVAILABLE
        elif viewer_order_id is not None and order_id == viewer_order_id:
            status = SeatState.MINE
    return SeatView(code, status, price, zone)


def seat_states(
    *, showtime_id: int, viewer_order_id: int | None, codes=None, now: datetime | None = None, rows=None
) -> dict[str, SeatView]:
    """Every seat of the showtime as this viewer sees it, from one query; with `codes`, only
    those seats and the viewer's own held seats (what a hold response re-renders). `rows`: the
    `seat_rows` a hold or release call returned for the same viewer's order; no query when they
    hold every seat of `codes`."""
    now = now or timezone.now()
    if codes is not None and rows is not None and set(codes) <= {row[0] for row in rows}:
        # The call's rows may name more seats (those it refused, an expired order's): keep what
        # the query below would have read.
        wanted = set(codes)
        rows = [r for r in rows if r[0] in wanted or (r[2] == viewer_order_id and r[1] == SeatStatus.HELD)]
    elif codes is None:
        seats = ShowSeat.objects.filter(showtime_id=showtime_id)
        rows = seats.values_list("code", "status", "order_id", "held_until", "price", "zone")
    else:
        # A hold or release response without the call's rows: plain SQL, not the ORM's compiler
        # (which cost as much as the hold function's own call in the hold's profile).
        with connection.cursor() as cursor:
            cursor.execute(_SEAT_STATES_SQL, [showtime_id, list(codes), viewer_order_id])
            rows = cursor.fetchall()
    return {row[0]: _seat_view(*row, viewer_order_id=viewer_order_id, now=now) for row in rows}


_SEAT_STATES_SQL = """
SELECT code, status, order_id, held_until, price, zone FROM booking_showseat
WHERE showtime_id = %s AND (code = ANY(%s) OR (order_id = %s AND status = 'held'))
"""


# --- seat map polls: cursors and the change token ------------------------------------------

# How long the cache may vouch for a showtime's token: a hold that lapses (no write, so no
# commit clears the token) shows up on polls within this time.
SEAT_MAP_TOKEN_SECONDS = 2
# What a commit leaves in the token's place: equal to no token, and not replaced by a poll
# (`cache.add`) before it expires, so a poll that read before the commit cannot vouch for it.
SEAT_MAP_CHANGED = "changed"
# A client further behind than this gets the whole map again.
SEAT_MAP_DELTA_MAX_AGE = timedelta(minutes=10)
SEAT_MAP_DELTA_MAX_SEATS = 100
_TOKEN_RE = re.compile(r"^[0-9]+x[0-9]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seat_map_token_key(showtime_id: int) -> str:
    return f"seatmap:{showtime_id}"


@dataclasses.dataclass(frozen=True)
class MapCursor:
    """Where a client's copy of the map stands, handed to it with every map or delta.

    - `xmin`: `pg_snapshot_xmin` of the read: every transaction below it had ended, so a
      write that read did not see has a `changed_txid` at or above it;
    - `at`: the `now` of the read: holds lapse without a write, so the next read also sends
      the holds that lapsed after it;
    - `token`: the showtime's change token at the read: the sum of its seats' versions (grows
      with every committed change) and its count of lapsed holds. Equal tokens, equal maps.
    """

    xmin: int
    at: datetime
    token: str

    def __str__(self) -> str:
        micros = (self.at - _EPOCH) // timedelta(microseconds=1)
        return f"{SEAT_MAP_MARKUP_VERSION}.{self.xmin}.{micros}.{self.token}"

    @classmethod
    def parse(cls, text: str | None) -> "MapCursor | None":
        """None for anything that is not a cursor of this markup version (then: a full map)."""
        parts = (text or "").split(".")
        if len(parts) != 4 or parts[0] != SEAT_MAP_MARKUP_VERSION or not _TOKEN_RE.match(parts[3]):
            return None
        if not (parts[1].isdigit() and parts[2].isdigit() and len(parts[1]) < 19 and len(parts[2]) < 19):
            return None
        return cls(int(parts[1]), _EPOCH + timedelta(microseconds=int(parts[2])), parts[3])


@dataclasses.dataclass(frozen=True)
class MapRead:
    states: dict[str, SeatView]  # every seat, or those changed since the cursor read from
    cursor: MapCursor
    seats: int  # how many seats the showtime has (0: no such showtime)


_MAP_SQL = """
WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin),
totals AS (
    SELECT coalesce(sum(version), 0) AS versions,
           count(*) FILTER (WHERE status = 'held' AND held_until <= %(now)s) AS lapsed,
           count(*) AS seats
    FROM booking_showseat WHERE showtime_id = %(showtime)s
)
SELECT snap.xmin, totals.versions, totals.lapsed, totals.seats,
       s.code,
       CASE WHEN s.status <> 'held' THEN s.status
            WHEN s.held_until <= %(now)s THEN 'available'
            WHEN s.order_id = %(viewer)s THEN 'mine'
            ELSE 'held' END,
       s.price, s.zone
FROM snap CROSS JOIN totals
LEFT JOIN booking_showseat s ON s.showtime_id = %(showtime)s AND (
    s.changed_txid >= %(xmin)s
    OR (s.status = 'held' AND s.held_until <= %(now)s AND s.held_until > %(since)s)
)
ORDER BY s.id
"""


def seat_map_read(
    *,
    showtime_id: int,
    viewer_order_id: int | None,
    since: MapCursor | None = None,
    now: datetime | None = None,
) -> MapRead:
    """The whole map (no `since`), or the seats changed since a cursor — written by a
    transaction the cursor's read did not see, or a hold lapsed after it — with the new
    cursor, from one statement (one snapshot: the rows, the totals and the xmin agree)."""
    now = now or timezone.now()
    params = {
        "showtime": showtime_id,
        "now": now,
        "viewer": viewer_order_id,
        "xmin": since.xmin if since else 0,
        "since": since.at if since else now,
    }
    with connection.cursor() as cursor:
        cursor.execute(_MAP_SQL, params)
        rows = cursor.fetchall()
    xmin, versions, lapsed, seats = rows[0][:4]
    # Each seat's state as this viewer sees it comes from the statement (as _seat_view has it):
    # a 3,000-seat map converted a timestamp and called a function for every seat.
    states = {
        code: SeatView(code, state, price, zone)
        for _xmin, _versions, _lapsed, _seats, code, state, price, zone in rows
        if code is not None
    }
    return MapRead(states, MapCursor(xmin, now, _map_token(versions, lapsed)), seats)


def _map_token(versions: int, lapsed: int) -> str:
    """A showtime's change token: the sum of its seats' versions and its count of lapsed holds
    (see MapCursor); the whole map's ETag is made of it too."""
    return f"{versions}x{lapsed}"


def seat_map_too_far_behind(read: MapRead, since: MapCursor) -> bool:
    """A delta would cost about what the map costs, or the cursor is not one we can trust."""
    return (
        len(read.states) > min(SEAT_MAP_DELTA_MAX_SEATS, read.seats // 3)
        or read.cursor.at - since.at > SEAT_MAP_DELTA_MAX_AGE
        or read.cursor.xmin < since.xmin  # from another database (a restore): start over
    )


# A cache that cannot be reached (Redis down) only costs the poll its shortcut.
CACHE_ERRORS = (redis.exceptions.RedisError, OSError)


def seat_map_token_remember(*, showtime_id: int, token: str) -> None:
    # `add`, not `set`: a commit's marker stays until it expires (see SEAT_MAP_CHANGED).
    with contextlib.suppress(*CACHE_ERRORS):
        cache.add(seat_map_token_key(showtime_id), token, SEAT_MAP_TOKEN_SECONDS)


# --- shared frames: the polls of viewers without a basket ----------------------------------
#
# A viewer without a basket sees what every such viewer sees. During a sale the map changes
# many times a second, so the token shortcut above rarely answers; instead one poll per
# SEAT_MAP_FRAME_SECONDS reads the whole map (a "frame") and every other poll in that second
# answers from it through the cache: its seats' states are kept under the frame's token, a
# poll from an earlier frame (or from a full map, whose states are kept too) gets the seats
# that differ (or the frame's whole map, when more changed than a delta pays for), and each
# answer is kept under its cursor with the frame it was drawn from — thousands of viewers cost
# a few reads a second, not one each. A frame is about SEAT_MAP_FRAME_SECONDS behind at most
# (while one request reads the next, the others answer from the one before): for a watcher
# that is a fraction of the poll interval; a buyer's own seats never come from it.
SEAT_MAP_FRAME_SECONDS = 1
SEAT_MAP_FRAME_KEEP_SECONDS = 120  # an older frame answers while one request reads the next …
SEAT_MAP_FRAME_GAP = 5  # … if that read began within this many seconds of it (seat_map_frame)
SEAT_MAP_STATES_SECONDS = 120  # longer than any poll interval: a cursor finds its states


@dataclasses.dataclass(frozen=True)
class MapFrame:
    showtime: object  # the Showtime (film, hall and cinema loaded): the poll reads nothing else
    cursor: MapCursor
    views: dict[str, SeatView]  # every seat, as a viewer without a basket sees it


def _frame_key(showtime_id: int) -> str:
    return f"seatmap:frame:{showtime_id}"


def _states_key(showtime_id: int, token: str) -> str:
    return f"seatmap:states:{showtime_id}:{token}"


def seat_map_states_remember(*, showtime_id: int, read: MapRead) -> None:
    """A whole map's states under its token (a viewer's own seats as anyone else sees them): a
    later poll from that cursor is answered by comparing states, without the database."""
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(_states_key(showtime_id, read.cursor.token), _packed(read.states), SEAT_MAP_STATES_SECONDS)


# One letter a seat, in the order of a whole-map read (seat id): a 352-seat map in 352 bytes,
# cheap to keep with every full render. A viewer's own seats are packed as anyone sees them.
_STATE_LETTERS = {
    SeatState.AVAILABLE: "a",
    SeatState.HELD: "h",
    SeatState.MINE: "h",
    SeatState.SOLD: "s",
    SeatState.BLOCKED: "b",
}


def _packed(views: dict[str, SeatView]) -> str:
    return "".join(_STATE_LETTERS[view.state] for view in views.values())


def seat_map_frame(*, showtime_id: int, load_showtime) -> MapFrame | None:
    """The showtime's latest frame, from the cache or read now (then shared); None without a
    reachable cache or for a showtime that does not exist.

    One request a second reads the next frame: the others, arriving while it reads, answer
    from the frame before. Without that, every poll that came in the moment a frame expired
    read the whole map and drew its answers: on a busy sale a burst of identical database reads
    and renders, and the pool fell behind. But only from a frame that the read under way
    follows (it began within SEAT_MAP_FRAME_GAP of that frame, as reads do while polls keep
    coming, however slow the read): a frame kept from long ago (nobody looked at the map for a
    while; frames are kept SEAT_MAP_FRAME_KEEP_SECONDS) would show that moment's map to everyone
    arriving with the first reader, seats sold since as free and freed ones as sold ("sold
    out" to a crowd opening the page when a hall went back on sale): they ask the database."""
    frame_key, lock_key = _frame_key(showtime_id), _frame_lock_key(showtime_id)
    try:
        # One round trip for both: the lock's value is when the read under way began.
        found = cache.get_many([frame_key, lock_key])
        frame, reading_since = found.get(frame_key), found.get(lock_key)
        # The lock lives as long as a frame is fresh: the next read is due when both expire.
        if not cache.add(lock_key, timezone.now().timestamp(), SEAT_MAP_FRAME_SECONDS):
            # Another request reads the next frame. No frame, or one that read does not
            # follow: None, this poll asks the database.
            began = reading_since if isinstance(reading_since, float) else timezone.now().timestamp()
            if frame is None or began - frame.cursor.at.timestamp() > SEAT_MAP_FRAME_GAP:
                return None
            return frame
    except CACHE_ERRORS:
        return None
    read = seat_map_read(showtime_id=showtime_id, viewer_order_id=None)
    if not read.seats:
        return None
    frame = MapFrame(load_showtime(showtime_id), read.cursor, read.states)
    seat_map_states_remember(showtime_id=showtime_id, read=read)
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(_frame_key(showtime_id), frame, SEAT_MAP_FRAME_KEEP_SECONDS)
        # Polls take the frame's token as "the map now" (a 304 when theirs): only while fresh.
        cache.set(
            _frame_token_key(showtime_id), (frame.cursor.token, frame.cursor.at), SEAT_MAP_FRAME_SECONDS
        )
    return frame


def _frame_lock_key(showtime_id: int) -> str:
    return f"seatmap:framelock:{showtime_id}"


def _frame_token_key(showtime_id: int) -> str:
    return f"seatmap:frametoken:{showtime_id}"


# seat_map_frame_delta's answer when a delta would cost what the whole map costs.
WHOLE_MAP = "whole map"


def seat_map_frame_delta(*, frame: MapFrame, since: MapCursor) -> list[SeatView] | str | None:
    """The seats whose state differs between the map at `since` and the frame; WHOLE_MAP when
    the cursor is too old or too much changed (then the frame's whole map answers, drawn once
    for every such viewer); None when the map at `since` is not known (the database answers)."""
    if frame.cursor.at - since.at > SEAT_MAP_DELTA_MAX_AGE:
        return WHOLE_MAP
    try:
        before = cache.get(_states_key(frame.showtime.pk, since.token))
    except CACHE_ERRORS:
        return None
    if before is None or len(before) != len(frame.views):
        return None
    changed = [
        view
        for letter, view in zip(before, frame.views.values(), strict=True)
        if letter != _STATE_LETTERS[view.state]
    ]
    if len(changed) > min(SEAT_MAP_DELTA_MAX_SEATS, len(frame.views) // 3):
        return WHOLE_MAP
    return changed


@dataclasses.dataclass(frozen=True)
class PollCached:
    """What a poll needs from the cache, fetched in one round trip (three round trips were
    most of a poll's time on a busy machine):

    - `token`: the showtime's token as a poll saw it at most SEAT_MAP_TOKEN_SECONDS ago, if no
      commit has changed its seats since (a commit leaves SEAT_MAP_CHANGED instead);
    - `frame`: the latest frame's token and time (a few bytes, where the frame is tens of
      kilobytes);
    - `answer`: the answer last drawn for this cursor, as (frame token, whole map?, content).

    The cache only saves work: when it is unreachable, all three are None and the poll reads
    the database."""

    token: str | None = None
    frame: tuple[str, datetime] | None = None
    answer: tuple[str, bool, str] | None = None


def seat_map_poll_cached(*, showtime_id: int, answer_key: str) -> PollCached:
    keys = [seat_map_token_key(showtime_id), _frame_token_key(showtime_id), answer_key]
    try:
        found = cache.get_many(keys)
    except CACHE_ERRORS:
        return PollCached()
    return PollCached(*(found.get(key) for key in keys))


def seat_map_answer_cached(key: str):
    try:
        return cache.get(key)
    except CACHE_ERRORS:
        return None


def seat_map_answer_remember(key: str, content) -> None:
    """An answer drawn from a frame, shared for as long as a frame is fresh."""
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(key, content, SEAT_MAP_FRAME_SECONDS)


# --- a process's memory of the answers to visitors without a session -----------------------
#
# Even from the cache, a poll cost a round trip to Redis, and on a 2-core machine selling a
# premiere to 1,000 watchers the map's pool spent half its time in them: each round trip gives
# up the GIL three times (redis-py's check of the connection, the send, the read) and waits to
# get it back behind the other threads, so during the sale every poll queued for ~450 ms
# (docs/benchmarks.md). A visitor without a session has no basket, and answers to such polls
# are the same for everyone with that cursor: what this process last answered for a cursor is
# reused for SEAT_MAP_POLL_MEMO_SECONDS. A commit made by this process forgets its showtime's
# answers at once (seat_map_poll_memo_forget), and a poll that was under way keeps nothing (what
# it read may be from before the commit: see seat_map_poll_memo_begin); one made by another
# process shows up here within that time — on top of a frame's second, well inside the poll's
# 3 s. Never for a visitor with a session: a buyer's own seats come from the database.
SEAT_MAP_POLL_MEMO_SECONDS = 0.5
SEAT_MAP_POLL_MEMO_MAX = 256  # answers kept a showtime (cursors in use: a few per frame)
SEAT_MAP_POLL_MEMO_SHOWTIMES = 256  # showtimes with answers kept (those polled in the last moment)
NOT_MODIFIED = "not modified"  # the answer of a poll whose cursor is the map now

# showtime id -> {answer key: (monotonic time until which it holds, answer)}. Dicts, read and
# written by single operations: safe across a process's threads under the GIL.
_poll_memo: dict[int, dict[str, tuple[float, object]]] = {}


def seat_map_poll_memo(showtime_id: int, key: str):
    """NOT_MODIFIED, an answer (whole map?, gzipped content) or None (not known here)."""
    kept = _poll_memo.get(showtime_id, {}).get(key)
    if kept is None or kept[0] < time.monotonic():
        return None
    return kept[1]


def seat_map_poll_memo_begin(showtime_id: int) -> dict:
    """What a poll takes before it reads anything, and hands back to remember its answer: the
    showtime's answers as they are now. A commit in this process meanwhile forgets them (a new
    dict takes their place), and the answer, perhaps read before the commit, is not kept."""
    return _poll_memo_answers(showtime_id, time.monotonic())


def seat_map_poll_memo_remember(showtime_id: int, key: str, answer, began: dict | None = None) -> None:
    now = time.monotonic()
    answers = _poll_memo_answers(showtime_id, now)
    if began is not None and answers is not began:
        return  # forgotten since the poll began
    if len(answers) >= SEAT_MAP_POLL_MEMO_MAX:
        answers.clear()  # mostly cursors of frames long gone: start over
    answers[key] = (now + SEAT_MAP_POLL_MEMO_SECONDS, answer)


def _poll_memo_answers(showtime_id: int, now: float) -> dict:
    answers = _poll_memo.get(showtime_id)
    if answers is None:
        if len(_poll_memo) >= SEAT_MAP_POLL_MEMO_SHOWTIMES:
            _poll_memo_prune(now)
        answers = _poll_memo.setdefault(showtime_id, {})
    return answers


def _poll_memo_prune(now: float) -> None:
    """Showtimes nobody polled in the last moment go (a process lives for weeks of showtimes);
    if that is not enough, all."""
    for showtime_id, answers in list(_poll_memo.items()):
        if all(until < now for until, _answer in list(answers.values())):
            _poll_memo.pop(showtime_id, None)
    if len(_poll_memo) >= SEAT_MAP_POLL_MEMO_SHOWTIMES:
        _poll_memo.clear()


def seat_map_poll_memo_forget(showtime_id: int | None = None) -> None:
    """This showtime's kept answers (after a commit), or every showtime's (None)."""
    if showtime_id is None:
        _poll_memo.clear()
    else:
        _poll_memo.pop(showtime_id, None)


def seat_map_etag(
    *, showtime_id: int, viewer_order_id: int | None, now: datetime | None = None
) -> str | None:
    """A validator for the viewer's seat map, from one aggregate query and no rows.

    Every seat change bumps that seat's `version`, so the sum grows with each committed
    change, whatever order transactions commit in; lapsing holds change no row, so their
    count is part of the tag. Together they change whenever any seat's state does.
    """
    now = now or timezone.now()
    totals = ShowSeat.objects.filter(showtime_id=showtime_id).aggregate(
        versions=Sum("version"),
        lapsed=Count("pk", filter=Q(status=SeatStatus.HELD, held_until__lte=now)),
        seats=Count("pk"),
    )
    if not totals["seats"]:
        return None  # no such showtime
    return _etag(
        showtime_id, totals["seats"], _map_token(totals["versions"], totals["lapsed"]), viewer_order_id
    )


def seat_map_etag_of(
    *, showtime_id: int, viewer_order_id: int | None, cursor: MapCursor, seats: int
) -> str | None:
    """seat_map_etag from a whole-map read (its cursor's token is made of the same totals, read
    in the same statement as the rows): a map drawn anyway needs no aggregate query for its tag."""
    return _etag(showtime_id, seats, cursor.token, viewer_order_id) if seats else None


def _etag(showtime_id: int, seats: int, token: str, viewer_order_id: int | None) -> str:
    raw = f"{SEAT_MAP_MARKUP_VERSION}:{showtime_id}:{seats}:{token}:{viewer_order_id}"
    return '"' + hashlib.blake2b(raw.encode(), digest_size=12).hexdigest() + '"'


def orders_due_for_expiry(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Open orders past their time, oldest first (partial index `order_open_expiry`).

    A plain read: a lock taken here would end with this query's transaction, long before the
    orders are expired. Each expiry skips an order another worker holds (order_expire).
    """
    now = now or timezone.now()
    return list(
        Order.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )


def open_order(*, showtime_id: int, owner_token: str | None, now: datetime | None = None) -> Order | None:
    """The owner's order for this showtime whose hold clock still runs."""
    if not owner_token:
        return None
    now = now or timezone.now()
    return (
        Order.objects.filter(
            showtime_id=showtime_id, owner_token=owner_token, status__in=OPEN_STATUSES, expires_at__gt=now
        )
        .select_related("showtime")
        .first()
    )


def free_seat_codes(*, showtime_id: int, now: datetime | None = None) -> set[str]:
    """The seats anyone could hold now: available, or held past their time."""
    now = now or timezone.now()
    return set(
        ShowSeat.objects.filter(showtime_id=showtime_id)
        .filter(Q(status=SeatStatus.AVAILABLE) | Q(status=SeatStatus.HELD, held_until__lte=now))
        .values_list("code", flat=True)
    )


def stranded_seats(*, showtime, codes) -> list[str]:
    """Free seats among and beside `codes` that are alone now (both neighbours taken): what the
    box office warns about after a hold, block or release there."""
    from booking.services import choosing

    geometry = showtime.hall.geometry
    candidates = choosing.beside(geometry, codes) | {c for c in codes if c in geometry.by_code}
    return choosing.lone_seats(geometry, free_seat_codes(showtime_id=showtime.pk), candidates)


# A held seat is not gone: its hold may lapse or be released. Sold out means sold or blocked.
SELLABLE_STATUSES = (SeatStatus.AVAILABLE, SeatStatus.HELD)


def seat_map_sold_out(states: dict[str, SeatView]) -> bool:
    """No seat of the whole map can still be had: all sold or not for sale (held seats may
    come back, so a showtime whose last seats are held is not sold out yet)."""
    return bool(states) and all(view.state in (SeatState.SOLD, SeatState.BLOCKED) for view in states.values())


@dataclasses.dataclass
class FilmListing:
    film: object
    days: list[tuple[object, list]]

    def __getattr__(self, name):
        return getattr(self.film, name)


def films_now_showing(*, now: datetime | None = None) -> list[FilmListing]:
    """Films with their showtimes still on sale, grouped by local day of the cinema; each
    showtime knows whether it is sold out (`sold_out`, see `seat_map_sold_out`)."""
    from django.conf import settings

    from booking.models import Showtime

    now = now or timezone.now()
    close = timezone.timedelta(minutes=settings.SALES_CLOSE_MINUTES)
    showtimes = (
        Showtime.objects.filter(starts_at__gt=now + close)
        .select_related("film", "hall__cinema")
        .annotate(open_seats=Count("seats", filter=Q(seats__status__in=SELLABLE_STATUSES)))
        .order_by("film__title", "starts_at")
    )
    listings: dict[int, FilmListing] = {}
    for showtime in showtimes:
        showtime.sold_out = showtime.open_seats == 0
        listing = listings.setdefault(showtime.film_id, FilmListing(showtime.film, []))
        day = showtime.local_start.date()
        if not listing.days or listing.days[-1][0] != day:
            listing.days.append((day, []))
        listing.days[-1][1].append(showtime)
    return list(listings.values())


@dataclasses.dataclass(frozen=True)
class Basket:
    seats: list[SeatView]
    total: int
    currency: str
    expires_at: datetime | None
    # Free companion seats of the wheelchair spaces in the basket: the basket offers them.
    companion_offers: tuple[str, ...] = ()

    @property
    def seconds_left(self) -> int:
        if self.expires_at is None:
            return 0
        return max(0, int((self.expires_at - timezone.now()).total_seconds()))


def seat_map(*, showtime, order: Order | None, codes=None, rows=None) -> dict:
    """What any seat map draws: geometry, zone labels, seat states (all, or `codes` and the
    viewer's own, from the call's `rows` when given), the viewer's basket; the whole map also
    its poll cursor. Shared by the moviegoer's and the staff's map."""
    viewer_order_id = order.pk if order else None
    cursor = None
    if codes is None:
        read = seat_map_whole_read(showtime_id=showtime.pk, viewer_order_id=viewer_order_id)
        states, cursor = read.states, read.cursor
    else:
        states = seat_states(showtime_id=showtime.pk, viewer_order_id=viewer_order_id, codes=codes, rows=rows)
    return _seat_map_of(showtime, states, cursor, order)


def seat_map_whole_read(*, showtime_id: int, viewer_order_id: int | None) -> MapRead:
    """A whole map read for drawing, its token kept for the polls' shortcut; its states kept
    too when the viewer has no order here: only polls without one answer from kept states
    (seat_map_frame), a buyer's polls read the database, so a buyer's states would be a cache
    write (a round trip of every buyer's full map) that nothing reads."""
    read = seat_map_read(showtime_id=showtime_id, viewer_order_id=viewer_order_id)
    seat_map_token_remember(showtime_id=showtime_id, token=read.cursor.token)
    if viewer_order_id is None:
        seat_map_states_remember(showtime_id=showtime_id, read=read)
    return read


def seat_map_partial(*, showtime, viewer_order_id: int | None) -> dict:
    """What the polled partial draws (the whole map, no basket): for the viewer's order id as
    the browser remembers it (booking.buyer's cookie), with no query for the order itself (see views' _seat_map_drawn)."""
    read = seat_map_whole_read(showtime_id=showtime.pk, viewer_order_id=viewer_order_id)
    return {
        "showtime": showtime,
        "geometry": showtime.hall.geometry,
        "states": read.states,
        "cursor": read.cursor,
    }


def seat_map_of_frame(frame: MapFrame) -> dict:
    """seat_map's answer for a viewer without a basket, from the showtime's shared frame."""
    return _seat_map_of(frame.showtime, frame.views, frame.cursor, None)


def _seat_map_of(
    showtime, states: dict[str, SeatView], cursor: MapCursor | None, order: Order | None
) -> dict:
    geometry = showtime.hall.geometry
    return {
        "showtime": showtime,
        "geometry": geometry,
        "zone_labels": {zone.key: zone.label for zone in geometry.zones},
        "states": states,
        "cursor": cursor,
        "order": order,
        "basket": basket(order=order, states=states, geometry=geometry),
    }


def basket(*, order: Order | None, states: dict[str, SeatView], geometry=None) -> Basket | None:
    """The viewer's held seats, priced from the map already read (no extra query)."""
    if order is None:
        return None
    seats = [view for view in states.values() if view.state == SeatState.MINE]
    offers = ()
    if geometry is not None:
        companions = (geometry.by_code[s.code].companion for s in seats if s.code in geometry.by_code)
        offers = tuple(c for c in companions if c and c in states and states[c].state == SeatState.AVAILABLE)
    return Basket(seats, sum(s.price for s in seats), order.currency, order.expires_at, offers)


# --- box office ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Occupancy:
    available: int
    held: int
    sold: int
    blocked: int


def showtimes_with_occupancy(*, days: int = 2, now: datetime | None = None) -> list:
    """Today's and the next days' showtimes, each with its seat counts, in two queries."""
    from booking.models import Showtime

    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    showtimes = list(
        Showtime.objects.filter(starts_at__gte=start, starts_at__lt=start + timezone.timedelta(days=days))
        .select_related("film", "hall__cinema")
        .order_by("starts_at")
    )
    lapsed = Q(status=SeatStatus.HELD, held_until__lte=now)
    counts = {
        row["showtime_id"]: row
        for row in ShowSeat.objects.filter(showtime__in=showtimes)
        .values("showtime_id")
        .annotate(
            available=Count("pk", filter=Q(status=SeatStatus.AVAILABLE) | lapsed),
            held=Count("pk", filter=Q(status=SeatStatus.HELD, held_until__gt=now)),
            sold=Count("pk", filter=Q(status=SeatStatus.SOLD)),
            blocked=Count("pk", filter=Q(status=SeatStatus.BLOCKED)),
        )
    }
    for showtime in showtimes:
        row = counts.get(showtime.pk, {})
        showtime.occupancy = Occupancy(
            row.get("available", 0), row.get("held", 0), row.get("sold", 0), row.get("blocked", 0)
        )
    return showtimes


def bookings_search(*, query: str, limit: int = 50) -> list[Order]:
    """By reference (exact, any case), email or name (contains)."""
    query = query.strip()
    if not query:
        return []
    return list(
        Order.objects.filter(
            Q(reference__iexact=query) | Q(email__icontains=query) | Q(name__icontains=query)
        )
        .exclude(status__in=OPEN_STATUSES, seat_codes=[])
        .select_related("showtime__film", "showtime__hall")
        .order_by("-created_at")[:limit]
    )


@dataclasses.dataclass
class ShiftLine:
    staff: str
    method: str
    sales: int = 0
    sales_total: int = 0
    refunds: int = 0
    refunds_total: int = 0

    @property
    def net(self) -> int:
        return self.sales_total - self.refunds_total


def shift_report(*, day, tz) -> list[ShiftLine]:
    """Per staff member and payment method, for one local day: sales, refunds, net."""
    from booking.models import LedgerEntry

    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = start + timezone.timedelta(days=1)
    lines: dict[tuple[str, str], ShiftLine] = {}
    sales = LedgerEntry.objects.filter(
        action="order.paid", created_at__gte=start, created_at__lt=end, actor__startswith="staff:"
    ).select_related("order")
    for entry in sales:
        method = entry.data.get("payment_method", "")
        line = lines.setdefault((entry.actor, method), ShiftLine(entry.actor.removeprefix("staff:"), method))
        line.sales += 1
        line.sales_total += entry.order.total if entry.order else 0
    refunds = LedgerEntry.objects.filter(
        action__in=["order.cancel", "order.refund"],
        created_at__gte=start,
        created_at__lt=end,
        actor__startswith="staff:",
    ).select_related("order")
    for entry in refunds:
        method = entry.data.get("payment_method") or (entry.order.payment_method if entry.order else "")
        line = lines.setdefault((entry.actor, method), ShiftLine(entry.actor.removeprefix("staff:"), method))
        line.refunds += 1
        line.refunds_total += entry.data.get("refund_amount") or (entry.order.total if entry.order else 0)
    return sorted(lines.values(), key=lambda line: (line.staff, line.method))
