"""The Python-driven scenarios: buyers who read the seat map before they click (wrk cannot
carry one buyer's state from a response to its next request), and one-at-a-time costs.

Each buyer is a thread with its own keep-alive connection; the work between requests (a regex
over the map) is small next to the server's, and the server is what is measured.
"""

import random
import threading
import time
from collections import Counter

from bench.client import BenchError, Buyer, free_seats, percentile

WARM_UP = 3


def read_then_hold(
    host: str,
    port: int,
    showtime_id: int,
    *,
    buyers: int,
    seconds: float,
    max_per_order: int,
    map_port: int | None = None,
    with_cursor: bool = True,
) -> dict:
    """`buyers` moviegoers each read the map, pick a random free seat, hold it; until sold out.
    The map is read from `map_port` when the seat map has a pool of its own, until the buyer has
    a session (then from the web pool: the load balancer's rule, docs/operations.md). A buyer reads it as
    the page polls it (`with_cursor`: the seats changed since its last answer, applied to the
    map it has; its holds' answers applied too), or whole every time, as a client that keeps no
    copy does (the naive backend's buyers in issue #13).

    A buyer whose basket reached the cap goes to pay and a new one takes its place (a fresh
    page, a fresh buyer token), so the hall can sell out whatever the number of buyers.
    """
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    holds: list[float] = []
    won: list[float] = []
    reads: list[float] = []
    statuses: Counter = Counter()
    errors: list[str] = []
    sold_out = threading.Event()
    started = time.monotonic()
    last_win = [started]

    def buyer_loop(seed: int) -> None:
        rng = random.Random(seed)
        buyer = Buyer(host, port, showtime_id, map_port=map_port)
        try:
            opened = fresh_page(buyer)
            while opened and not sold_out.is_set() and time.monotonic() < deadline:
                try:
                    status, read_s = buyer.read_map(with_cursor=with_cursor)
                except TimeoutError:
                    # An overloaded server is a result, not a failure: counted, and the buyer
                    # tries again on a new connection (as a browser's next poll would).
                    timed_out(buyer, "map")
                    continue
                if status not in (200, 304):
                    raise BenchError(f"the seat-map partial answered {status}")
                seats = buyer.free()
                if not seats:
                    sold_out.set()
                    break
                try:
                    status, _headers, body, hold_s = buyer.hold(rng.choice(seats))
                except TimeoutError:
                    timed_out(buyer, "hold")
                    continue
                with lock:
                    reads.append(read_s)
                    holds.append(hold_s)
                    statuses[str(status)] += 1
                    if status == 200:
                        won.append(hold_s)
                        last_win[0] = time.monotonic()
                if status not in (200, 409):
                    raise BenchError(f"a hold answered {status}: {body[:200]!r}")
                if buyer.held >= max_per_order:
                    opened = fresh_page(buyer)
        except Exception as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
            sold_out.set()
        finally:
            buyer.close()

    def fresh_page(buyer: Buyer) -> bool:
        while time.monotonic() < deadline:
            try:
                buyer.open_page()
                return True
            except TimeoutError:
                timed_out(buyer, "page")
        return False

    def timed_out(buyer: Buyer, what: str) -> None:
        buyer.close()
        with lock:
            statuses[f"{what} timeout"] += 1

    threads = [threading.Thread(target=buyer_loop, args=(i,), daemon=True) for i in range(buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic() + 15))  # a request times out after 10 s
    if errors:
        raise BenchError(f"read-then-hold: {len(errors)} buyer(s) failed, first: {errors[0]}")
    if any(t.is_alive() for t in threads):
        raise BenchError("read-then-hold: buyers still busy after the deadline")
    sellout = last_win[0] - started if won else None
    return {
        "buyers": buyers,
        "reads": "with cursor" if with_cursor else "whole",
        "sold_out": sold_out.is_set(),
        "holds_won": len(won),
        "sellout_seconds": sellout,
        "holds_won_per_s": len(won) / sellout if sellout else None,
        "hold_p50": percentile(holds, 50),
        "hold_p95": percentile(holds, 95),
        "hold_p99": percentile(holds, 99),
        "map_read_p50": percentile(reads, 50),
        "map_read_p99": percentile(reads, 99),
        "statuses": dict(sorted(statuses.items())),
        "conflicts_409": statuses.get("409", 0),
        "timeouts": sum(n for status, n in statuses.items() if status.endswith("timeout")),
    }


def unloaded_costs(
    host: str, port: int, showtime_id: int, *, holds: int, renders: int, seats: int, reset
) -> dict:
    """One request at a time: a hold (a fresh buyer every 10 seats) and a full map render."""
    buyer = Buyer(host, port, showtime_id)
    # The targets are the drawing's time and bytes: without the gzip a browser asks for.
    buyer.browser.accept_encoding = "identity"
    hold_times: list[float] = []
    holds += WARM_UP  # the first requests fill caches (geometry, templates): not timed
    renders += WARM_UP
    try:
        buyer.open_page()
        free: list[str] = []
        while len(hold_times) < holds:
            if not free:
                reset()
                free = [f"{code}" for code in _all_free(buyer)]
                random.Random(len(hold_times)).shuffle(free)
                buyer.open_page()
            status, _headers, body, elapsed = buyer.hold(free.pop())
            if status != 200:
                raise BenchError(f"an unloaded hold answered {status}: {body[:200]!r}")
            hold_times.append(elapsed)
            if buyer.held >= 10:
                buyer.open_page()
        render_times, size = [], 0
        for _ in range(renders):
            status, _headers, body, elapsed = buyer.seat_map()
            if status != 200:
                raise BenchError(f"a map render answered {status}")
            render_times.append(elapsed)
            size = len(body)
    finally:
        buyer.browser.close()
    return {
        "seats": seats,
        "hold_p50": percentile(hold_times[WARM_UP:], 50),
        "hold_p95": percentile(hold_times[WARM_UP:], 95),
        "render_p50": percentile(render_times[WARM_UP:], 50),
        "render_p95": percentile(render_times[WARM_UP:], 95),
        "map_bytes": size,
        "holds": len(hold_times) - WARM_UP,
        "renders": len(render_times) - WARM_UP,
    }


def _all_free(buyer: Buyer) -> list[str]:
    status, _headers, body, _ = buyer.seat_map()
    if status != 200:
        raise BenchError(f"the seat-map partial answered {status}")
    return free_seats(body)
