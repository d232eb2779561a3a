"""Placeholder parser for valid layouts, with the public API of the real one.

Replaced by the full validator (JSON Schema + semantic checks) from the `halls` branch.
"""

import functools
import json
import types
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


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class RowSpec:
    label: str
    line: int
    seats: tuple[SeatSpec, ...]


@dataclass(frozen=True)
class HallGeometry:
    screen: str
    zones: tuple[ZoneSpec, ...]
    rows: tuple[RowSpec, ...]
    width: int
    height: int

    @functools.cached_property
    def seats(self) -> tuple[SeatSpec, ...]:
        return tuple(s for row in self.rows for s in row.seats)

    @functools.cached_property
    def by_code(self) -> types.MappingProxyType:
        return types.MappingProxyType({s.code: s for s in self.seats})

    @property
    def seat_count(self) -> int:
        return len(self.seats)

    def seat(self, code: str) -> SeatSpec:
        return self.by_code[code]

    def zone_keys(self) -> frozenset[str]:
        return frozenset(z.key for z in self.zones)

    def with_partners(self, codes) -> frozenset[str]:
        out = set(codes)
        for code in list(out):
            seat = self.by_code.get(code)
            if seat and seat.partner:
                out.add(seat.partner)
        return frozenset(out)

    def grid(self) -> tuple[tuple[str, tuple[SeatSpec | None, ...]], ...]:
        by_line = {row.line: row for row in self.rows}
        lines = []
        for line in range(self.height):
            row = by_line.get(line)
            cells: list[SeatSpec | None] = [None] * self.width
            for seat in row.seats if row else ():
                cells[seat.col] = seat
            lines.append((row.label if row else "", tuple(cells)))
        return tuple(lines)


def parse_layout(data) -> HallGeometry:
    if isinstance(data, str):
        data = json.loads(data)
    rows = []
    line = -1
    for row in data["rows"]:
        line = row.get("line", line + 1)
        raw = row["seats"]
        seats = []
        for i, s in enumerate(raw):
            kind = s.get("kind", "regular")
            partner = None
            if kind == "couple-left":
                partner = row["label"] + str(raw[i + 1]["number"])
            if kind == "couple-right":
                partner = row["label"] + str(raw[i - 1]["number"])
            zone = s.get("zone", row.get("zone"))
            seats.append(
                SeatSpec(
                    row["label"] + str(s["number"]),
                    row["label"],
                    s["number"],
                    s["col"],
                    line,
                    zone,
                    kind,
                    partner,
                )
            )
        rows.append(RowSpec(row["label"], line, tuple(sorted(seats, key=lambda s: s.col))))
    zones = tuple(ZoneSpec(key, value.get("label", key)) for key, value in data["zones"].items())
    width = max(s.col for r in rows for s in r.seats) + 1
    return HallGeometry(data.get("screen", "Screen"), zones, tuple(rows), width, line + 1)


@functools.lru_cache(maxsize=256)
def _cached(key: str) -> HallGeometry:
    return parse_layout(key)


def geometry_for(layout) -> HallGeometry:
    return _cached(json.dumps(layout, sort_keys=True))
