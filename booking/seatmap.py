"""The seat map's markup, built in Python: one template include per seat cost more than the
whole hold transaction (see docs/benchmarks.md), and the map is the hot path of polling.

Every poll of a full map sends every seat, so a seat is as short as DESIGN.md's contract, the
form without JavaScript and an accessible name allow (about 97 bytes, a third of what it was):

    <button name=seat value=F12 data-seat=F12 data-state=available aria-labelledby="F 12 a">12</button>

- A seat is a submit button of the seat form: without JavaScript the click posts `seat=F12`;
  with it, seatmap.js posts the same button through htmx. An own seat posts to the release
  URL (`formaction`); a taken seat is `aria-disabled=true` with no name: seatmap.js posts
  nothing for it, and without JavaScript its click posts no seat, which the server answers
  with "choose a seat" (400) and changes nothing. (`type=button` would say the same in 12 more
  bytes a taken seat, a tenth of a sold-out map.)
- The state is `data-state` (styled by attribute); zone and kind are short classes, the zone
  on the row when the whole row shares it.
- The accessible name, "Row F, seat 12, Standard, €13.90, available", is joined by
  `aria-labelledby` from three hidden phrases drawn once with the page, outside the polled
  partial (`seat_names`): one per row (id `F`), one per seat number (id `12`), one per zone,
  kind and state with its price (id `a`, `h1w` ...: state letter, zone index unless 0, kind
  letter unless regular). A hidden element still names what points at it. Ids cannot clash:
  rows are upper case, numbers digits, the rest lower case.
- No seat has an id: a response replaces a seat by `hx-swap-oob="outerHTML:[data-seat=F12]"`.

Phrases are drawn for every state of every (zone, kind) of the hall, so a seat swapped in later
(a hold response, a delta poll) always finds its name in the page.
"""

import collections
import dataclasses
import functools

from django.urls import get_script_prefix, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from booking import formatting
from halls.layout import HallGeometry

STATE_LETTERS = {"available": "a", "held": "h", "mine": "m", "sold": "s", "blocked": "b"}
KIND_CLASSES = {"wheelchair": "w", "companion": "c", "couple-left": "cl", "couple-right": "cr"}
# Both halves of a couple seat have the same name.
KIND_LETTERS = {"wheelchair": "w", "companion": "c", "couple-left": "p", "couple-right": "p"}


@dataclasses.dataclass(frozen=True, slots=True)
class _Seat:
    """What never changes about one seat's markup, computed once per hall geometry."""

    code: str
    head: str  # ' data-seat=F12 data-state='
    tail: str  # class, then the row and number part of the name: ' aria-labelledby="F 12 '
    category: str  # zone index and kind letter: '', '1', 'w', '1p'
    end: str  # '">12</button>'


@dataclasses.dataclass(frozen=True)
class _Hall:
    seats: dict[str, _Seat]
    rows: tuple[tuple[str, str, tuple[_Seat | None, ...]], ...]  # (row open tag, row, cells)
    categories: dict[str, tuple[str, str]]  # category -> (zone key, kind)
    zone_index: dict[str, int]
    # seat_names' markup by (language, currency, zone labels, category prices): a page drawn
    # from a shared frame spent an eighth of its time translating the same phrases again.
    names: dict[tuple, SafeString] = dataclasses.field(default_factory=dict)


# Per process: a geometry is immutable and cached by its hall, so its markup parts are too.
# Keyed by id() with the geometry kept alongside (hashing a geometry walks every seat).
_HALLS: dict[int, tuple[HallGeometry, _Hall]] = {}


def _hall(geometry: HallGeometry) -> _Hall:
    entry = _HALLS.get(id(geometry))
    if entry is None or entry[0] is not geometry:
        if len(_HALLS) > 256:
            _HALLS.clear()
        entry = _HALLS[id(geometry)] = (geometry, _hall_parts(geometry))
    return entry[1]


def _zone_index(geometry: HallGeometry) -> dict[str, int]:
    """Zones numbered by size, largest first: the largest needs no class and no id digit.
    (Not by their order in the layout: a JSON column does not keep the order of its keys.)"""
    counts = collections.Counter(seat.zone for seat in geometry.seats)
    ranked = sorted(geometry.zones, key=lambda zone: (-counts[zone.key], zone.key))
    return {zone.key: i for i, zone in enumerate(ranked)}


def zone_class(geometry: HallGeometry, zone: str) -> str:
    """The class of a zone's colour, for the legend: '', 'z1', 'z2' ..."""
    index = _hall(geometry).zone_index.get(zone, 0)
    return f"z{index}" if index else ""


def _hall_parts(geometry: HallGeometry) -> _Hall:
    zone_index = _zone_index(geometry)
    seats: dict[str, _Seat] = {}
    categories: dict[str, tuple[str, str]] = {}
    rows = []
    for label, cells in geometry.grid():
        present = [seat for seat in cells if seat is not None]
        zones = {seat.zone for seat in present}
        row_zone = zone_index[zones.pop()] if len(zones) == 1 else 0
        row_class = f" class=z{row_zone}" if row_zone else ""
        parts = []
        for seat in cells:
            if seat is None:
                parts.append(None)
                continue
            index = zone_index[seat.zone]
            classes = [f"z{index}"] if index and index != row_zone else []
            if seat.kind in KIND_CLASSES:
                classes.append(KIND_CLASSES[seat.kind])
            if len(classes) > 1:
                class_attr = f' class="{" ".join(classes)}"'
            else:
                class_attr = f" class={classes[0]}" if classes else ""
            category = (str(index) if index else "") + KIND_LETTERS.get(seat.kind, "")
            categories.setdefault(category, (seat.zone, seat.kind))
            # Codes, rows and kinds are validated identifiers (the layout schema): no escaping.
            seats[seat.code] = part = _Seat(
                code=seat.code,
                head=f" data-seat={seat.code} data-state=",
                tail=f'{class_attr} aria-labelledby="{seat.row} {seat.number} ',
                category=category,
                end=f'">{seat.number}</button>',
            )
            parts.append(part)
        row_tag = f"<div{row_class} data-row={label}>" if present else "<div>"
        rows.append((row_tag, label, tuple(parts)))
    return _Hall(seats=seats, rows=tuple(rows), categories=categories, zone_index=zone_index)


def basket_lines(seats, geometry: HallGeometry, zone_labels: dict, currency: str) -> SafeString:
    """The basket's seat lines ("F12 · VIP  €14.00"), in one call: every hold's answer redraws
    the basket, and a template loop over its seats cost more than the rest of the answer."""
    return mark_safe(  # noqa: S308 (every value below is escaped)
        "".join(
            '<li class="d-flex justify-content-between gap-2" data-basket-seat="{code}"><span>{code} '
            '<span class="text-body-secondary">· {category}</span></span><span>{price}</span></li>'.format(
                code=escape(seat.code),
                category=escape(seat_category(geometry, seat.code, zone_labels)),
                price=escape(formatting.money(seat.price, currency)),
            )
            for seat in seats
        )
    )


def seat_category(geometry: HallGeometry, code: str, zone_labels: dict) -> str:
    """What the basket calls a seat: "wheelchair space", "VIP, couple seat", "Standard".

    A kind is named alone in the hall's main zone (most seats: every visitor's default), with
    its zone elsewhere; a regular seat by its zone, which is what its price depends on.
    """
    seat = geometry.by_code[code]
    zone = str(zone_labels.get(seat.zone, seat.zone))
    kind = formatting.KIND_LABELS.get(seat.kind)
    if kind is None:
        return zone
    if _hall(geometry).zone_index.get(seat.zone, 0) == 0:
        return str(kind)
    return f"{zone}, {kind}"


def _verbs(state: str, code: str, release_url: str) -> str:
    if state == "available":
        return f"<button name=seat value={code}"
    if state == "mine":
        return f"<button name=seat value={code} formaction={release_url} aria-pressed=true"
    return "<button aria-disabled=true"


def _seat(part: _Seat, state: str, release_url: str, oob: str = "") -> str:
    return (
        f"{_verbs(state, part.code, release_url)}{oob}{part.head}{state}{part.tail}"
        f"{STATE_LETTERS[state]}{part.category}{part.end}"
    )


def _release_url(showtime_id: int) -> str:
    return _release_url_under(get_script_prefix(), showtime_id)


@functools.lru_cache(maxsize=1024)
def _release_url_under(prefix: str, showtime_id: int) -> str:
    # Keyed by the script prefix, which reverse() depends on (as seatchange._fixed); reverse()
    # itself is a tenth of what drawing a click's seats costs.
    return reverse("booking:release", args=[showtime_id])


def seat_names(geometry, states, *, zone_labels: dict, currency: str) -> SafeString:
    """The hidden phrases the seats' names are joined from (see the module docstring).

    Drawn once with the page, outside the polled partial: they depend only on the hall, the
    prices and the language, none of which a poll can change.
    """
    hall = _hall(geometry)
    # A category's price is its seats' (showtime_create prices every seat of a zone alike).
    prices = {}
    for code, part in hall.seats.items():
        view = states.get(code)
        if view is not None:
            prices.setdefault(part.category, view.price)
    key = (get_language(), currency, tuple(zone_labels.items()), tuple(prices.items()))
    names = hall.names.get(key)
    if names is None:
        if len(hall.names) > 64:  # languages, currencies, price lists: a handful in practice
            hall.names.clear()
        names = hall.names[key] = _seat_names(geometry, hall, zone_labels, currency, prices)
    return names


def _seat_names(geometry, hall: _Hall, zone_labels: dict, currency: str, prices: dict) -> SafeString:
    # Paragraphs, whose end tag HTML lets us leave out: a few hundred bytes of every full map.
    # Row labels are validated identifiers (the layout schema), numbers are ints.
    spans = [f"<p id={row.label}>{escape(formatting.row_phrase(row.label))}," for row in geometry.rows]
    for number in sorted({seat.number for seat in geometry.seats}):
        spans.append(f"<p id={number}>{escape(formatting.number_phrase(number))},")
    for category, (zone, kind) in hall.categories.items():
        price = prices.get(category, 0)
        for state, letter in STATE_LETTERS.items():
            phrase = formatting.category_phrase(zone_labels[zone], kind, price, currency, state)
            spans.append(f"<p id={letter}{category}>{escape(phrase)}")
    return mark_safe(f"<div hidden id=seat-names>{''.join(spans)}</div>")  # noqa: S308


def seat_grid(geometry, states, *, showtime_id: int) -> SafeString:
    """The whole map: every seat in its state (named by the phrases of `seat_names`)."""
    hall = _hall(geometry)
    release_url = _release_url(showtime_id)
    out = []
    for row_tag, _label, cells in hall.rows:
        out.append(row_tag)
        for part in cells:
            if part is None:
                out.append("<i></i>")
            else:
                out.append(_seat(part, states[part.code].state, release_url))
        out.append("</div>")
    group = escape(_("Seats, front row first"))
    return mark_safe(f'<div class="seat-grid" role="group" aria-label="{group}">{"".join(out)}</div>')  # noqa: S308


def seats_oob(geometry, views, *, showtime_id: int) -> SafeString:
    """Seats that replace their namesakes in the page (hold responses, delta polls)."""
    hall = _hall(geometry)
    release_url = _release_url(showtime_id)
    out = []
    for view in views:
        part = hall.seats.get(view.code)
        if part is not None:
            oob = f' hx-swap-oob="outerHTML:[data-seat={view.code}]"'
            out.append(_seat(part, view.state, release_url, oob))
    return mark_safe("".join(out))  # noqa: S308


def seats_status(views) -> str:
    """What a screen reader hears after a hold or release: "A1: held by you. A2: …"."""
    return " ".join(f"{view.code}: {formatting.state_label(view.state)}." for view in views)
