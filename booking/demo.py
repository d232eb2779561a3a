"""Demo cinema: three halls whose layouts show every feature of the layout format."""

from datetime import datetime, time, timedelta

# The demo cinema in Berlin (a made-up street): printed on tickets and in calendar entries.
CINEMA_ADDRESS = "Lichtspielweg 12\n10117 Berlin\nGermany"

ZONES_STANDARD = {"standard": {"label": "Standard"}}


def _row(label: str, cols: list[int], *, zone: str = "standard", kinds: dict[int, str] | None = None) -> dict:
    kinds = kinds or {}
    seats = []
    for number, col in enumerate(cols, start=1):
        seat = {"number": number, "col": col}
        if number in kinds:
            seat["kind"] = kinds[number]
        seats.append(seat)
    return {"label": label, "zone": zone, "seats": seats}


def small_hall_layout() -> dict:
    """Six rows of ten with a centre aisle after the fifth seat."""
    cols = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    return {"zones": ZONES_STANDARD, "rows": [_row(label, cols) for label in "ABCDEF"]}


def medium_hall_layout() -> dict:
    """Ten rows: wheelchair spaces with companions in front, two VIP rows, couple seats at the back."""
    rows = []
    # Row A: two wheelchair spaces, each beside a companion seat, at the ends of the row.
    a = _row(
        "A",
        [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14],
        kinds={1: "wheelchair", 2: "companion", 13: "companion", 14: "wheelchair"},
    )
    a["seats"][0]["companion"] = 2  # each wheelchair space names its companion seat
    a["seats"][13]["companion"] = 13
    rows.append(a)
    for label in "BCDEF":
        rows.append(_row(label, [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]))
    for label, line in (("G", 7), ("H", 8)):
        row = _row(label, [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13], zone="vip")
        row["line"] = line  # line 6 stays empty: a cross aisle before the VIP rows
        rows.append(row)
    # Couple seats: pairs of adjacent halves with a gap between pairs.
    couple = {"label": "J", "zone": "vip", "seats": []}
    number = 1
    for start in (1, 4, 8, 11):
        couple["seats"].append({"number": number, "col": start, "kind": "couple-left"})
        couple["seats"].append({"number": number + 1, "col": start + 1, "kind": "couple-right"})
        number += 2
    rows.append(couple)
    return {
        "zones": {"standard": {"label": "Standard"}, "vip": {"label": "VIP"}},
        "rows": rows,
    }


def large_hall_layout() -> dict:
    """Sixteen rows of 22 (352 seats) in three blocks, the back four rows premium."""
    cols = [*range(0, 4), *range(5, 19), *range(20, 24)]
    rows = []
    for index, label in enumerate("ABCDEFGHJKLMNPQR"):
        rows.append(_row(label, cols, zone="premium" if index >= 12 else "standard"))
    return {
        "zones": {"standard": {"label": "Standard"}, "premium": {"label": "Premium"}},
        "rows": rows,
    }


HALLS = [
    ("studio", "Studio 1", small_hall_layout, {"standard": 950}),
    ("grand", "Grand", medium_hall_layout, {"standard": 1150, "vip": 1550}),
    ("imax", "Panorama", large_hall_layout, {"standard": 1390, "premium": 1790}),
]

FILMS = [
    ("the-long-interval", "The Long Interval", 118, "12", "A projectionist keeps a small-town cinema alive."),
    ("seat-fourteen", "Seat Fourteen", 96, "16", "Two strangers, one ticket, a night that will not end."),
    ("paper-moons", "Paper Moons", 104, "6", "An animated journey across a sky of folded stars."),
    ("premiere-night", "Premiere Night", 131, "12", "Everyone wants to be there when the curtain rises."),
]

# Local start times per day; each film gets a hall by rotation.
START_TIMES = [time(14, 0), time(17, 30), time(20, 15)]


def showtime_slots(today: datetime, days: int = 7):
    """(day offset, local start time, film index, hall index) for the next `days` days."""
    for day in range(days):
        for slot, start in enumerate(START_TIMES):
            for hall_index in range(len(HALLS)):
                film_index = (day + slot + hall_index) % len(FILMS)
                yield today.date() + timedelta(days=day), start, film_index, hall_index
