"""Placeholder parser for valid layouts; replaced by the full validator from the `halls` branch."""

import functools
import json
from dataclasses import dataclass


class LayoutError(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True, slots=True)
class SeatSpec:
    code: str
    row: str
    number: int
    col: int
    line: int
    zone: str
    kind: str
    partner: str | None


@dataclass(frozen=True)
class HallGeometry:  # noqa: B903
    seats: tuple
    zones: dict

    @functools.cached_property
    def by_code(self) -> dict:
        return {s.code: s for s in self.seats}

    @property
    def seat_count(self) -> int:
        return len(self.seats)

    def zone_keys(self) -> frozenset:
        return frozenset(s.zone for s in self.seats)

    def with_partners(self, codes) -> frozenset:
        out = set(codes)
        for code in codes:
            seat = self.by_code.get(code)
            if seat and seat.partner:
                out.add(seat.partner)
        return frozenset(out)


def parse_layout(data) -> HallGeometry:
    if isinstance(data, str):
        data = json.loads(data)
    seats = []
    line = -1
    for row in data["rows"]:
        line = row.get("line", line + 1)
        row_seats = row["seats"]
        for i, s in enumerate(row_seats):
            kind = s.get("kind", "regular")
            partner = None
            if kind == "couple-left":
                partner = row["label"] + str(row_seats[i + 1]["number"])
            if kind == "couple-right":
                partner = row["label"] + str(row_seats[i - 1]["number"])
            code = row["label"] + str(s["number"])
            seats.append(
                SeatSpec(
                    code,
                    row["label"],
                    s["number"],
                    s["col"],
                    line,
                    s.get("zone", row.get("zone")),
                    kind,
                    partner,
                )
            )
    return HallGeometry(tuple(seats), data["zones"])


@functools.lru_cache(maxsize=256)
def _cached(key: str) -> HallGeometry:
    return parse_layout(key)


def geometry_for(layout) -> HallGeometry:
    return _cached(json.dumps(layout, sort_keys=True))
