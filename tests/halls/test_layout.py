"""Hall layouts: each class of mistake gets its own message naming the row and seat."""

import copy

import pytest
from django.core.exceptions import ValidationError

from booking import demo
from halls.layout import LayoutError, geometry_for, parse_layout, validate_layout
from halls.models import Cinema, Hall


def base() -> dict:
    return {
        "screen": "Screen",
        "zones": {"standard": {"label": "Standard"}, "vip": {"label": "VIP"}},
        "rows": [
            {
                "label": "A",
                "zone": "standard",
                "seats": [
                    {"number": 1, "col": 0, "kind": "wheelchair"},
                    {"number": 2, "col": 1, "kind": "companion"},
                    {"number": 3, "col": 3},
                ],
            },
            {
                "label": "B",
                "line": 2,
                "zone": "vip",
                "seats": [
                    {"number": 1, "col": 0, "kind": "couple-left"},
                    {"number": 2, "col": 1, "kind": "couple-right"},
                    {"number": 3, "col": 3, "zone": "standard"},
                ],
            },
        ],
    }


def errors(layout) -> list[str]:
    with pytest.raises(LayoutError) as exc:
        parse_layout(layout)
    assert exc.value.messages == validate_layout(layout)
    return exc.value.messages


def changed(edit) -> dict:
    layout = copy.deepcopy(base())
    edit(layout)
    return layout


def test_valid_layout_parses_into_geometry():
    g = parse_layout(base())
    assert g.seat_count == 6
    assert (g.width, g.height) == (4, 3)
    assert [z.key for z in g.zones] == ["standard", "vip"]
    assert g.seat("B1").partner == "B2" and g.seat("B2").partner == "B1"
    assert g.seat("A1").kind == "wheelchair" and g.seat("B3").zone == "standard"
    assert g.with_partners(["B2", "A3", "Q9"]) == {"B1", "B2", "A3", "Q9"}
    grid = g.grid()
    assert [label for label, _ in grid] == ["A", "", "B"]  # line 1 is a cross aisle
    assert [c.code if c else None for c in grid[0][1]] == ["A1", "A2", None, "A3"]


def test_geometry_round_trips_through_json():
    g = parse_layout(base())
    assert parse_layout(g.to_layout()) == g
    for make in (demo.small_hall_layout, demo.medium_hall_layout, demo.large_hall_layout):
        g = parse_layout(make())
        assert parse_layout(g.to_layout()) == g


def test_geometry_is_cached_per_layout():
    assert geometry_for(base()) is geometry_for(base())


def test_missing_rows_is_a_schema_error():
    assert errors({"zones": {"standard": {"label": "S"}}}) == ['Layout: "rows" is required.']


def test_non_integer_column_names_the_row_and_seat():
    messages = errors(changed(lambda lay: lay["rows"][0]["seats"][2].update(col="3")))
    assert messages == ['Row A, seat entry 3: "col" must be of type integer, not "3".']


def test_unknown_kind_is_named():
    messages = errors(changed(lambda lay: lay["rows"][1]["seats"][2].update(kind="sofa")))
    assert messages[0].startswith('Row B, seat entry 3: kind "sofa" is unknown')


def test_bad_row_label():
    messages = errors(changed(lambda lay: lay["rows"][0].update(label="a1")))
    assert 'row label "a1" must be 1 to 3 capital letters' in messages[0]


def test_negative_column_is_out_of_range():
    messages = errors(changed(lambda lay: lay["rows"][0]["seats"][0].update(col=-1)))
    assert messages == ['Row A, seat entry 1: "col" is -1, out of range (≥ 0).']


def test_not_json_at_all():
    assert errors("{rows: ")[0].startswith("The layout is not valid JSON")


def test_duplicate_seat_code():
    messages = errors(changed(lambda lay: lay["rows"][0]["seats"][2].update(number=2)))
    assert messages == ["Row A, seat 2: seat code A2 is used twice."]


def test_duplicate_row_label():
    messages = errors(changed(lambda lay: lay["rows"][1].update(label="A")))
    assert "Row A appears twice." in messages


def test_undeclared_zone():
    messages = errors(changed(lambda lay: lay["rows"][1]["seats"][2].update(zone="gold")))
    assert messages == ['Row B, seat 3: zone "gold" is not declared in "zones".']


def test_seat_without_zone():
    def edit(layout):
        del layout["rows"][0]["zone"]

    assert errors(changed(edit))[0] == "Row A, seat 1: no zone (set one on the seat or its row)."


def test_shared_grid_cell_across_rows():
    def edit(layout):
        layout["rows"][1]["line"] = 0

    assert errors(changed(edit)) == [
        "Row B, seat 1: grid cell (line 0, column 0) is already taken by A1.",
        "Row B, seat 2: grid cell (line 0, column 1) is already taken by A2.",
        "Row B, seat 3: grid cell (line 0, column 3) is already taken by A3.",
    ]


def test_unpaired_couple_left():
    messages = errors(changed(lambda lay: lay["rows"][1]["seats"][1].update(kind="regular")))
    assert messages == [
        "Row B, seat 1: a couple-left seat must be followed by a couple-right seat in the same row."
    ]


def test_couple_halves_not_adjacent():
    messages = errors(changed(lambda lay: lay["rows"][1]["seats"][1].update(col=2)))
    assert messages == ["Row B, seat 1: the couple halves must be adjacent (columns 0 and 2 are not)."]


def test_couple_split_across_rows():
    def edit(layout):
        layout["rows"][0]["seats"][2].update(kind="couple-left")
        layout["rows"][1]["seats"][0].update(kind="regular")

    messages = errors(changed(edit))
    assert (
        "Row A, seat 3: a couple-left seat must be followed by a couple-right seat in the same row."
        in messages
    )
    assert "Row B, seat 2: a couple-right seat must follow a couple-left seat in the same row." in messages


def test_all_problems_are_reported_at_once():
    def edit(layout):
        layout["rows"][0]["seats"][2].update(number=2)
        layout["rows"][1]["seats"][2].update(zone="gold")

    assert len(errors(changed(edit))) == 2


def test_hall_full_clean_reports_layout_messages(db):
    cinema = Cinema.objects.create(name="C", slug="c")
    hall = Hall(
        cinema=cinema,
        name="H",
        slug="h",
        layout=changed(lambda lay: lay["rows"][1]["seats"][2].update(zone="x")),
    )
    with pytest.raises(ValidationError) as exc:
        hall.full_clean()
    assert exc.value.message_dict["layout"] == ['Row B, seat 3: zone "x" is not declared in "zones".']
