"""Money, dates and seat labels: plain functions shared by the templates and the seat-map builder."""

import functools

from django.utils.dateformat import format as date_pattern
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext as _

SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "chf": "CHF ", "sek": "kr "}
KIND_LABELS = {
    "wheelchair": gettext_lazy("wheelchair space"),
    "companion": gettext_lazy("companion seat"),
    "couple-left": gettext_lazy("couple seat"),
    "couple-right": gettext_lazy("couple seat"),
}
STATE_LABELS = {
    "available": gettext_lazy("available"),
    "held": gettext_lazy("held by someone else"),
    "mine": gettext_lazy("held by you"),
    "sold": gettext_lazy("sold"),
    "blocked": gettext_lazy("not for sale"),
}
# Every date a page, email or ticket shows, by name: the pattern (Django's `date` syntax) is a
# translation, because the punctuation is the language's ("Friday 27 November 2026, 20:15",
# "Freitag, 27. November 2026, 20:15"); names of days and months follow the language anyway.
DATE_FORMATS = {
    # Translators: Django date format letters (l weekday, j day, F month, Y year, H:i time); German: "l, j. F Y, H:i".
    "weekday_date_year_time": pgettext_lazy("date format: weekday, day, month, year, time", "l j F Y, H:i"),
    "weekday_date_time": pgettext_lazy("date format: weekday, day, month, time", "l j F, H:i"),
    "weekday_date_year": pgettext_lazy("date format: weekday, day, month, year", "l j F Y"),
    "weekday_date": pgettext_lazy("date format: weekday, day, month", "l j F"),
    "short_weekday_time": pgettext_lazy("date format: abbreviated weekday, time", "D H:i"),
    "time": pgettext_lazy("date format: time", "H:i"),
}


def money(cents: int, currency: str) -> str:
    """Integer minor units to a display string for the active language: 1250, "eur" ->
    "€12.50" in English, "12,50 €" in German (the order is the translation's to say)."""
    return _money(cents, currency, get_language())


@functools.lru_cache(maxsize=4096)
def _money(cents: int, currency: str, language: str | None) -> str:
    # Kept per language: a hall has a few prices, and every hold's answer prices its basket
    # (number formatting and a translation lookup cost more than the rest of a basket line).
    amount = number_format(cents / 100, decimal_pos=2, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get(currency.lower(), currency.upper() + " ")
    # Translators: a price; put %(amount)s and %(symbol)s in your language's order (German: "%(amount)s %(symbol)s").
    text = pgettext("money", "%(symbol)s%(amount)s") % {"symbol": symbol, "amount": amount}
    return text.strip().replace("  ", " ")


def local_date(value, name: str) -> str:
    """A date or datetime in the named format of DATE_FORMATS for the active language, in the
    value's own time zone: pass Showtime.local_start or `starts_at|timezone:cinema.time_zone`."""
    if value in (None, ""):
        return ""
    return date_pattern(value, str(DATE_FORMATS[name]))


def row_phrase(row: str) -> str:
    """The first part of a seat's accessible name, drawn once per row of the map: "Row F"."""
    return _("Row %(row)s") % {"row": row}


def number_phrase(number: int) -> str:
    """The second part, drawn once per seat number of the map: "seat 12"."""
    return _("seat %(number)s") % {"number": number}


def category_phrase(zone_label: str, kind: str, price: int, currency: str, state: str) -> str:
    """The rest, drawn once per (zone, kind, price, state): "VIP, couple seat, €15.50, available"."""
    parts = [str(zone_label)]
    if kind in KIND_LABELS:
        parts.append(str(KIND_LABELS[kind]))
    parts.append(money(price, currency))
    parts.append(str(STATE_LABELS.get(state, state)))
    return ", ".join(parts)


def seat_category(zone_label: str, kind: str) -> str:
    """What a ticket says about its seat besides row and number: "VIP, couple seat"."""
    parts = [str(zone_label)]
    if kind in KIND_LABELS:
        parts.append(str(KIND_LABELS[kind]))
    return ", ".join(parts)


def seat_label(seat, view, zone_label: str, currency: str) -> str:
    """A seat's whole accessible name: "Row F, seat 12, VIP, €12.50, available"."""
    return ", ".join(
        [
            row_phrase(seat.row),
            number_phrase(seat.number),
            category_phrase(zone_label, seat.kind, view.price, currency, view.state),
        ]
    )


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)
