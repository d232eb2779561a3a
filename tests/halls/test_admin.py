"""The admin shows a rendered seat map beside the layout JSON, or the errors."""

import json

from halls.models import Cinema, Hall
from tests.halls.test_layout import base


def test_hall_change_page_shows_the_preview(admin_client):
    cinema = Cinema.objects.create(name="C", slug="c")
    hall = Hall.objects.create(cinema=cinema, name="H", slug="h", layout=base())
    html = admin_client.get(f"/admin/halls/hall/{hall.pk}/change/").content.decode()
    assert 'class="hall-preview"' in html
    assert html.count("data-preview-seat=") == 6
    assert 'aria-label="Row B, seat 1, vip, couple-left"' in html
    # The best-available focus: one grid cell outlined, and said in words.
    assert html.count('class="cell seat focus') + html.count('class="cell focus"') == 2
    assert "best-available focus (line" in html


def test_admin_add_page_and_invalid_layout_errors(admin_client):
    cinema = Cinema.objects.create(name="C", slug="c")
    assert admin_client.get("/admin/halls/hall/add/").status_code == 200
    bad = base()
    bad["rows"][0]["seats"][2]["number"] = 2
    response = admin_client.post(
        "/admin/halls/hall/add/",
        {"cinema": cinema.pk, "name": "H", "slug": "h", "layout": json.dumps(bad)},
    )
    assert response.status_code == 200
    assert "Row A, seat 2: seat code A2 is used twice." in response.content.decode()
    assert not Hall.objects.exists()
