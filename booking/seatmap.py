"""The seat map's markup, built in Python: one template include per seat cost more than the
whole hold transaction (see docs/benchmarks.md), and the map is the hot path of polling."""

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from booking.formatting import seat_label


def _button(seat, view, *, hold_url: str, release_url: str, label: str, oob: bool = False) -> str:
    """One seat as a button: DESIGN.md's data-seat/data-state, an accessible name, htmx verbs."""
    state = view.state
    if state == "mine":
        verbs = f'type="submit" formaction="{release_url}" hx-post="{release_url}" aria-pressed="true"'
    elif state == "available":
        verbs = f'type="submit" hx-post="{hold_url}" aria-pressed="false"'
    else:
        verbs = 'type="button" aria-disabled="true"'
    if oob:
        verbs += ' hx-swap-oob="true"'
    # Codes, kinds, zones and states are validated identifiers (layout schema, TextChoices).
    return (
        f'<button {verbs} id="seat-{seat.code}" class="seat seat--{state} seat--{seat.kind} zone-{seat.zone}" '
        f'name="seat" value="{seat.code}" data-seat="{seat.code}" data-state="{state}" hx-swap="none" '
        f'aria-label="{escape(label)}">{seat.number}</button>'
    )


def _urls(showtime_id: int) -> dict:
    return {
        "hold_url": reverse("booking:hold", args=[showtime_id]),
        "release_url": reverse("booking:release", args=[showtime_id]),
    }


def seat_button(
    seat, view, *, showtime_id: int, zone_label: str, currency: str, oob: bool = False
) -> SafeString:
    label = seat_label(seat, view, zone_label, currency)
    return mark_safe(_button(seat, view, label=label, oob=oob, **_urls(showtime_id)))  # noqa: S308


def seat_grid(geometry, states, *, showtime_id: int, zone_labels: dict, currency: str) -> SafeString:
    urls = _urls(showtime_id)
    rows = []
    for row_label, cells in geometry.grid():
        label = f'<span class="row-label" aria-hidden="true">{escape(row_label)}</span>'
        parts = ['<div class="seat-row">', label]
        for seat in cells:
            if seat is None:
                parts.append('<span class="gap"></span>')
            else:
                view = states[seat.code]
                name = seat_label(seat, view, zone_labels[seat.zone], currency)
                parts.append(_button(seat, view, label=name, **urls))
        parts += [label, "</div>"]
        rows.append("".join(parts))
    group = escape(_("Seats, front row first"))
    return mark_safe(f'<div class="seat-grid" role="group" aria-label="{group}">{"".join(rows)}</div>')  # noqa: S308
