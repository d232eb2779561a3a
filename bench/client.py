"""A small HTTP browser for the Python scenarios: one keep-alive connection, its cookies, and a
timeout on every request (a benchmark that waits forever measures nothing)."""

import gzip
import http.client
import math
import re
import time
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

BUYER_FIELD = re.compile(r'name="buyer" value="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FREE_SEAT = re.compile(r'data-seat="?([A-Z]+\d+)"? data-state="?available\b')
SEAT_STATE = re.compile(r'data-seat="?([A-Z]+\d+)"? data-state="?([a-z-]+)')
# Django's default SESSION_COOKIE_NAME, which SeatLock keeps.
SESSION_COOKIE = "sessionid"
# booking.buyer.BUYER_COOKIE: the buyer identity and orders, signed for the session (a click's cookie).
BUYER_COOKIE = "seatlock_buyer"
# The page's poll sends the cursor of its last answer and gets only what changed since.
CURSOR_FIELD = re.compile(r'id="seat-cursor" name="since" value="([^"]*)"')


class BenchError(Exception):
    """The run cannot go on: said once, loudly, and the run exits non-zero."""


class Browser:
    """One visitor: a connection that is reopened when the server closes it (gunicorn's sync
    workers close after every response), and the cookies the server set."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.accept_encoding = "gzip"  # as every browser; "identity" to time the drawing alone

    def request(self, method: str, path: str, *, headers: dict | None = None, fields: dict | None = None):
        """(status, headers, body, seconds); retried once when a kept-alive connection was closed."""
        headers = {"Accept-Encoding": self.accept_encoding, **(headers or {})}
        body = None
        if fields is not None:
            body = urlencode(fields, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if response.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
            if response.headers.get("Connection", "").lower() == "close":
                self.conn.close()
            return response.status, response.headers, data, elapsed
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


class Buyer:
    """A moviegoer: opens the seat-map page (no session yet: the page carries a signed buyer
    token), posts that token with the first hold, and keeps the session cookie it gets back."""

    def __init__(
        self, host: str, port: int, showtime_id: int, *, timeout: float = 10.0, map_port: int | None = None
    ):
        self.browser = Browser(host, port, timeout=timeout)
        # The map's reads go where the load balancer sends them (docs/operations.md, "A pool for
        # the seat map"): to the seat map's own pool while the buyer has no session, to the web
        # pool once it has one (its map then shows its own seats, read from the database). The
        # same cookies either way: one browser, two connections.
        self.map_browser = self.browser
        if map_port is not None and map_port != port:
            self.map_browser = Browser(host, map_port, timeout=timeout)
            self.map_browser.cookies = self.browser.cookies
        self.showtime_id = showtime_id
        self.buyer = self.csrf = ""
        self.held = 0
        # The seat map as this buyer's page shows it, and the cursor its next poll sends.
        self.seats: dict[str, str] = {}
        self.cursor = ""

    def reader(self) -> Browser:
        """Where this buyer's read of the seat-map partial goes: by its session cookie."""
        return self.browser if SESSION_COOKIE in self.browser.cookies else self.map_browser

    def open_page(self) -> None:
        self.browser.cookies.clear()
        status, _headers, body, _ = self.browser.request("GET", f"/showtimes/{self.showtime_id}/")
        html = body.decode()
        buyer, csrf = BUYER_FIELD.search(html), CSRF_FIELD.search(html)
        if status != 200 or not buyer or not csrf:
            raise BenchError(f"the seat-map page answered {status} without a buyer token and CSRF field")
        if SESSION_COOKIE in self.browser.cookies:
            raise BenchError("the seat-map page set a session cookie: it should write no session")
        self.buyer, self.csrf, self.held = buyer.group(1), csrf.group(1), 0
        self._apply(html, whole=True)

    def _apply(self, html: str, *, whole: bool) -> None:
        """What htmx does with an answer: the whole map replaced, or the seats in it swapped."""
        states = dict(SEAT_STATE.findall(html))
        if whole:
            self.seats = states
        else:
            self.seats.update(states)
        if found := CURSOR_FIELD.search(html):
            self.cursor = found.group(1)

    def read_map(self, *, with_cursor: bool):
        """(status, seconds): the map read as the page polls it, with its cursor (304, or the
        seats changed since, or the whole map when too far behind), or read whole every time
        (`with_cursor=False`: what a client that keeps no copy does)."""
        path = f"/showtimes/{self.showtime_id}/seats/"
        if with_cursor and self.cursor:
            path += f"?since={quote(self.cursor, safe='')}"
        status, _headers, body, seconds = self.reader().request("GET", path, headers={"HX-Request": "true"})
        if status == 200:
            html = body.decode()
            self._apply(html, whole='id="seat-map"' in html)
        return status, seconds

    def free(self) -> list[str]:
        return [code for code, seat_state in self.seats.items() if seat_state == "available"]

    def seat_map(self, etag: str | None = None):
        headers = {"HX-Request": "true"}
        if etag:
            headers["If-None-Match"] = etag
        return self.reader().request("GET", f"/showtimes/{self.showtime_id}/seats/", headers=headers)

    def hold(self, seat: str):
        # What htmx sends for a click: the seat form's fields (CSRF, buyer) and the seat.
        fields = {"csrfmiddlewaretoken": self.csrf, "buyer": self.buyer, "seat": seat}
        headers = {"HX-Request": "true", "X-CSRFToken": self.browser.cookies.get("csrftoken", "")}
        result = self.browser.request(
            "POST", f"/showtimes/{self.showtime_id}/hold/", headers=headers, fields=fields
        )
        if result[0] == 200:
            self.held += 1
        if result[0] in (200, 409):
            self._apply(result[2].decode(), whole=False)  # its out-of-band seats
        return result

    def close(self) -> None:
        self.browser.close()
        if self.map_browser is not self.browser:
            self.map_browser.close()


def free_seats(html: bytes) -> list[str]:
    return FREE_SEAT.findall(html.decode())


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of `values` (seconds) in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1] * 1000
