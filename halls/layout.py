"""Hall layouts: validation (JSON Schema, then the rules a schema cannot say) and the
immutable geometry every renderer and service uses.

The format is described in docs/layouts.md; `layout_schema.json` beside this file is its
structural half. Every message names the row and seat at fault, so whoever edits a layout in
the admin can fix it without reading JSON paths.
"""

import dataclasses
import functools
import hashlib
import json
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

SCHEMA = json.loads((Path(__file__).with_name("layout_schema.json")).read_text())
_validator = Draft202012Validator(SCHEMA)
MAX_MESSAGES = 50
KINDS = ("regular", "wheelchair", "companion", "couple-left", "couple-right")


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
    partner: str | None  # the other half of a couple seat
    companion: str | None = None  # wheelchair space <-> its companion seat

    @property
    def pos(self) -> int:
        """One integer per grid cell: seats are side by side exactly when their pos differ by 1
        (col < 1000, so a row never runs into the next line). Stored on ShowSeat for SQL."""
        return self.line * 1000 + self.col


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
    screen_label: str | None  # the layout's own "screen", if it has one
    zones: tuple[ZoneSpec, ...]
    rows: tuple[RowSpec, ...]
    width: int
    height: int
    # The best place to sit (grid line, column): what best-available measures distance from.
    focus: tuple[float, float] = (0.0, 0.0)

    @property
    def screen(self) -> str:
        """The word on the screen of the map: the layout's own, else "Screen" in the language
        of the request that draws it (the geometry is shared by every language, so not before)."""
        return _("Screen") if self.screen_label is None else self.screen_label

    @functools.cached_property
    def seats(self) -> tuple[SeatSpec, ...]:
        return tuple(seat for row in self.rows for seat in row.seats)

    @functools.cached_property
    def by_code(self) -> types.MappingProxyType:
        return types.MappingProxyType({seat.code: seat for seat in self.seats})

    @property
    def seat_count(self) -> int:
        return len(self.seats)

    def seat(self, code: str) -> SeatSpec:
        return self.by_code[code]

    def zone_keys(self) -> frozenset[str]:
        return frozenset(zone.key for zone in self.zones)

    def with_partners(self, codes: Iterable[str]) -> frozenset[str]:
        """The codes plus the other half of any couple seat; unknown codes pass through."""
        out = set(codes)
        for code in list(out):
            seat = self.by_code.get(code)
            if seat is not None and seat.partner:
                out.add(seat.partner)
        return frozenset(out)

    @functools.cached_property
    def by_pos(self) -> types.MappingProxyType:
        return types.MappingProxyType({seat.pos: seat for seat in self.seats})

    def neighbours(self, code: str) -> tuple[SeatSpec | None, SeatSpec | None]:
        """The seats directly left and right in the same row (None at a gap, aisle or row end)."""
        pos = self.by_code[code].pos
        return self.by_pos.get(pos - 1), self.by_pos.get(pos + 1)

    @functools.cache  # noqa: B019 - the geometry is immutable and cached itself
    def grid(self) -> tuple[tuple[str, tuple[SeatSpec | None, ...]], ...]:
        """One entry per grid line, front first: (row label or '', `width` cells)."""
        by_line = {row.line: row for row in self.rows}
        lines = []
        for line in range(self.height):
            row = by_line.get(line)
            cells: list[SeatSpec | None] = [None] * self.width
            for seat in row.seats if row else ():
                cells[seat.col] = seat
            lines.append((row.label if row else "", tuple(cells)))
        return tuple(lines)

    def to_layout(self) -> dict:
        """Back to JSON (explicit lines and zones on every seat): parse(to_layout()) == self."""

        def seat(s: SeatSpec) -> dict:
            out = {"number": s.number, "col": s.col, "zone": s.zone, "kind": s.kind}
            if s.kind == "wheelchair" and s.companion:
                out["companion"] = self.by_code[s.companion].number
            return out

        screen = {} if self.screen_label is None else {"screen": self.screen_label}
        return {
            **screen,
            "focus": {"line": self.focus[0], "col": self.focus[1]},
            "zones": {zone.key: {"label": zone.label} for zone in self.zones},
            "rows": [
                {"label": row.label, "line": row.line, "seats": [seat(s) for s in row.seats]}
                for row in self.rows
            ],
        }


def _where(path: list) -> str:
    """A readable place for a schema error: 'Row C, seat 3' rather than rows/2/seats/1."""
    if len(path) >= 2 and path[0] == "rows" and isinstance(path[1], int):
        place = _("Row %(n)s") % {"n": path[1] + 1}
        if len(path) >= 4 and path[2] == "seats" and isinstance(path[3], int):
            place += ", " + _("seat entry %(n)s") % {"n": path[3] + 1}
        return place
    return _("Layout")


def _schema_messages(data: object) -> list[str]:
    messages = []
    rows = data.get("rows") if isinstance(data, dict) else None
    for error in sorted(_validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        place = _where(path)
        # Name the row by its label when it has a usable one.
        if len(path) >= 2 and path[0] == "rows" and isinstance(rows, list) and isinstance(path[1], int):
            row = rows[path[1]] if path[1] < len(rows) else None
            if isinstance(row, dict) and isinstance(row.get("label"), str) and row["label"]:
                place = place.replace(
                    _("Row %(n)s") % {"n": path[1] + 1}, _("Row %(n)s") % {"n": row["label"]}
                )
        field = path[-1] if path and isinstance(path[-1], str) else None
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            messages.append(_('%(place)s: "%(field)s" is required.') % {"place": place, "field": missing})
        elif error.validator == "additionalProperties":
            messages.append(_("%(place)s: %(detail)s") % {"place": place, "detail": error.message})
        elif error.validator == "enum" and field == "kind":
            messages.append(
                _("%(place)s: kind %(value)s is unknown; use one of %(kinds)s.")
                % {"place": place, "value": json.dumps(error.instance), "kinds": ", ".join(KINDS)}
            )
        elif error.validator == "type":
            messages.append(
                _('%(place)s: "%(field)s" must be of type %(type)s, not %(value)s.')
                % {
                    "place": place,
                    "field": field or "value",
                    "type": error.validator_value,
                    "value": json.dumps(error.instance)[:40],
                }
            )
        elif error.validator == "pattern" and field == "label":
            messages.append(
                _("%(place)s: row label %(value)s must be 1 to 3 capital letters.")
                % {"place": place, "value": json.dumps(error.instance)}
            )
        elif error.validator in ("minimum", "maximum"):
            messages.append(
                _('%(place)s: "%(field)s" is %(value)s, out of range (%(rule)s %(limit)s).')
                % {
                    "place": place,
                    "field": field,
                    "value": error.instance,
                    "rule": "≥" if error.validator == "minimum" else "≤",
                    "limit": error.validator_value,
                }
            )
        else:
            messages.append(f"{place}: {error.message}")
        if len(messages) >= MAX_MESSAGES:
            break
    return messages


def _build(data: dict) -> tuple[HallGeometry | None, list[str]]:
    """The semantic checks, building the geometry as they go."""
    messages: list[str] = []
    zones = tuple(ZoneSpec(key, value["label"]) for key, value in data["zones"].items())
    zone_keys = {zone.key for zone in zones}
    seen_codes: dict[str, str] = {}
    cells: dict[tuple[int, int], str] = {}
    rows: list[RowSpec] = []
    seen_labels: set[str] = set()
    line = -1
    for raw_row in data["rows"]:
        label = raw_row["label"]
        if label in seen_labels:
            messages.append(_("Row %(row)s appears twice.") % {"row": label})
        seen_labels.add(label)
        line = raw_row.get("line", line + 1)
        raw_seats = sorted(raw_row["seats"], key=lambda s: s["col"])
        seats: list[SeatSpec] = []
        for index, raw in enumerate(raw_seats):
            code = f"{label}{raw['number']}"
            place = _("Row %(row)s, seat %(number)s") % {"row": label, "number": raw["number"]}
            zone = raw.get("zone", raw_row.get("zone"))
            kind = raw.get("kind", "regular")
            if code in seen_codes:
                messages.append(
                    _("%(place)s: seat code %(code)s is used twice.") % {"place": place, "code": code}
                )
            seen_codes[code] = place
            if zone is None:
                messages.append(_("%(place)s: no zone (set one on the seat or its row).") % {"place": place})
            elif zone not in zone_keys:
                messages.append(
                    _('%(place)s: zone "%(zone)s" is not declared in "zones".')
                    % {"place": place, "zone": zone}
                )
            cell = (line, raw["col"])
            if cell in cells:
                messages.append(
                    _("%(place)s: grid cell (line %(line)s, column %(col)s) is already taken by %(other)s.")
                    % {"place": place, "line": line, "col": raw["col"], "other": cells[cell]}
                )
            else:
                cells[cell] = code
            partner = None
            if kind == "couple-left":
                right = raw_seats[index + 1] if index + 1 < len(raw_seats) else None
                if right is None or right.get("kind") != "couple-right":
                    messages.append(
                        _(
                            "%(place)s: a couple-left seat must be followed by a couple-right seat in the same row."
                        )
                        % {"place": place}
                    )
                elif right["col"] != raw["col"] + 1:
                    messages.append(
                        _("%(place)s: the couple halves must be adjacent (columns %(a)s and %(b)s are not).")
                        % {"place": place, "a": raw["col"], "b": right["col"]}
                    )
                else:
                    partner = f"{label}{right['number']}"
            elif kind == "couple-right":
                left = raw_seats[index - 1] if index > 0 else None
                if left is None or left.get("kind") != "couple-left":
                    messages.append(
                        _("%(place)s: a couple-right seat must follow a couple-left seat in the same row.")
                        % {"place": place}
                    )
                elif left["col"] == raw["col"] - 1:
                    partner = f"{label}{left['number']}"
            seats.append(SeatSpec(code, label, raw["number"], raw["col"], line, zone or "", kind, partner))
        rows.append(RowSpec(label, line, tuple(seats)))
    rows = _link_companions(data["rows"], rows, messages)
    if messages:
        return None, messages[:MAX_MESSAGES]
    rows.sort(key=lambda r: r.line)
    width = max(seat.col for row in rows for seat in row.seats) + 1
    height = max(row.line for row in rows) + 1
    focus = data.get("focus")
    if focus is None:
        # The middle of the line two-thirds of the way back from the screen.
        focus = {"line": round((height - 1) * 2 / 3), "col": (width - 1) / 2}
    geometry = HallGeometry(
        data.get("screen"),
        zones,
        tuple(rows),
        width,
        height,
        (float(focus["line"]), float(focus["col"])),
    )
    return geometry, []


def _link_companions(raw_rows: list, rows: list[RowSpec], messages: list[str]) -> list[RowSpec]:
    """Wheelchair spaces name their companion seat (`"companion": number`, same row): both
    halves learn each other's code. A companion seat serves one wheelchair space."""
    linked: dict[str, str] = {}
    for raw_row, row in zip(raw_rows, rows, strict=True):
        by_number = {seat.number: seat for seat in row.seats}
        for raw in raw_row["seats"]:
            if "companion" not in raw:
                continue
            place = _("Row %(row)s, seat %(number)s") % {"row": row.label, "number": raw["number"]}
            seat = by_number.get(raw["number"])
            other = by_number.get(raw["companion"])
            if seat is None:
                continue
            if seat.kind != "wheelchair":
                messages.append(
                    _("%(place)s: only a wheelchair space names a companion seat.") % {"place": place}
                )
            elif other is None or other.kind != "companion":
                messages.append(
                    _("%(place)s: companion %(number)s must be a seat of kind companion in row %(row)s.")
                    % {"place": place, "number": raw["companion"], "row": row.label}
                )
            elif other.code in linked:
                messages.append(
                    _("%(place)s: companion seat %(code)s already serves %(other)s.")
                    % {"place": place, "code": other.code, "other": linked[other.code]}
                )
            else:
                linked[other.code] = seat.code
                linked[seat.code] = other.code
    if not linked:
        return rows
    return [
        RowSpec(
            row.label,
            row.line,
            tuple(dataclasses.replace(seat, companion=linked.get(seat.code)) for seat in row.seats),
        )
        for row in rows
    ]


def validate_layout(data: object) -> list[str]:
    """Every problem with a layout, or an empty list."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            return [_("The layout is not valid JSON: %(error)s") % {"error": exc}]
    messages = _schema_messages(data)
    if messages:
        return messages
    return _build(data)[1]


def parse_layout(data: object) -> HallGeometry:
    """The geometry of a valid layout; `LayoutError` with every message otherwise."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise LayoutError([_("The layout is not valid JSON: %(error)s") % {"error": exc}]) from exc
    messages = _schema_messages(data)
    if messages:
        raise LayoutError(messages)
    geometry, messages = _build(data)
    if messages:
        raise LayoutError(messages)
    return geometry


@functools.lru_cache(maxsize=512)
def _cached(key: str, text: str) -> HallGeometry:
    return parse_layout(json.loads(text))


def geometry_for(layout: dict) -> HallGeometry:
    """Parsed once per distinct layout per process, so hot paths never re-parse."""
    text = json.dumps(layout, sort_keys=True)
    return _cached(hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest(), text)
