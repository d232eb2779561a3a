"""The shift report as staff read it (human labels, a total per payment method) and as the
CSV the office imports. The figures come from `booking.selectors.shift_report`."""

import csv
import io
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from booking.models import PaymentMethod
from booking.selectors import ShiftLine

METHOD_LABELS = {
    PaymentMethod.CARD_TERMINAL: gettext_lazy("Card terminal"),
    PaymentMethod.CASH: gettext_lazy("Cash"),
    PaymentMethod.STRIPE: gettext_lazy("Online (Stripe)"),
}
ALL_STAFF = ""  # the staff name of a total row


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method or _("unknown")))


def report_totals(lines: Iterable[ShiftLine]) -> list[ShiftLine]:
    """One row per payment method over all staff, in the order of METHOD_LABELS."""
    totals: dict[str, ShiftLine] = {}
    for line in lines:
        total = totals.setdefault(line.method, ShiftLine(ALL_STAFF, line.method))
        total.sales += line.sales
        total.sales_total += line.sales_total
        total.refunds += line.refunds
        total.refunds_total += line.refunds_total
    order = list(METHOD_LABELS)
    return sorted(
        totals.values(), key=lambda t: (order.index(t.method) if t.method in order else len(order), t.method)
    )


def report_rows(lines: list[ShiftLine]) -> list[dict]:
    """What the page and the CSV show: each staff line, then the per-method totals."""
    rows = [{"line": line, "staff": line.staff, "total": False} for line in lines]
    rows += [{"line": t, "staff": _("All staff"), "total": True} for t in report_totals(lines)]
    for row in rows:
        row["method"] = method_label(row["line"].method)
    return rows


def _cell(text: str) -> str:
    """A spreadsheet runs a cell that starts like a formula: staff names are typed by people."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _amount(cents: int) -> str:
    return f"{cents / 100:.2f}"


def report_csv(*, day, lines: list[ShiftLine], currency: str) -> str:
    """UTF-8 with a byte-order mark (spreadsheets then read names with umlauts right); amounts
    in major units with a dot, whatever the page's language."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Day"),
            _("Staff"),
            _("Payment"),
            _("Sales"),
            _("Sold"),
            _("Refunds"),
            _("Refunded"),
            _("Net"),
            _("Currency"),
        ]
    )
    for row in report_rows(lines):
        line = row["line"]
        writer.writerow(
            [
                day.isoformat(),
                _cell(row["staff"]),
                _cell(row["method"]),
                line.sales,
                _amount(line.sales_total),
                line.refunds,
                _amount(line.refunds_total),
                _amount(line.net),
                currency.upper(),
            ]
        )
    return out.getvalue()
