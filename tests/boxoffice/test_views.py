"""The box office built for a queue: cancel asks first, check-in is ready for the next scan."""

import re

import pytest
from django.test import Client

from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat, Ticket
from tests.boxoffice.conftest import sell
from tests.helpers import db_state


def html(response) -> str:
    return response.content.decode()


def test_cancel_link_opens_a_confirmation_and_changes_nothing(staff_client, showtime):
    sell(staff_client, showtime, ["A1", "A2"], method="card_terminal")
    order = Order.objects.get()
    before = db_state()
    page = staff_client.get(f"/box-office/bookings/{order.reference}/cancel/")
    assert page.status_code == 200
    text = html(page)
    assert f"Cancel booking {order.reference}?" in text
    assert "Seats A1, A2 go back on sale." in text and "Its 2 tickets stop working at the door." in text
    assert "Hand back €20.00 (card terminal)." in text
    assert f'<form method="post" action="/box-office/bookings/{order.reference}/cancel/">' in text
    assert f'href="/box-office/bookings/{order.reference}/">Keep the booking</a>' in text
    assert db_state() == before


def test_the_confirmation_says_a_card_payment_is_refunded_through_stripe(staff_client, showtime):
    from booking import services
    from booking.models import PaymentMethod
    from booking.services import Actor

    order = services.seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="web", actor=Actor("web"))
    services.booking_confirm(order_id=order.pk, actor=Actor("t"), payment_method=PaymentMethod.STRIPE)
    text = html(staff_client.get(f"/box-office/bookings/{order.reference}/cancel/"))
    assert "€10.00 is refunded to the customer's card through Stripe." in text
    assert "Its ticket stops working at the door." in text


def test_confirming_cancels_once(staff_client, showtime):
    sell(staff_client, showtime, ["A1"], method="cash")
    order = Order.objects.get()
    response = staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "ill"})
    assert response.status_code == 302 and response["Location"] == f"/box-office/bookings/{order.reference}/"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.AVAILABLE
    assert LedgerEntry.objects.filter(order=order, action="order.cancel").count() == 1
    again = staff_client.get(f"/box-office/bookings/{order.reference}/cancel/")
    assert again.status_code == 302 and again["Location"] == f"/box-office/bookings/{order.reference}/"
    assert "Only a paid booking can be cancelled." in html(staff_client.get(again["Location"]))


def test_confirming_without_a_reason_goes_back_to_the_question(staff_client, showtime):
    sell(staff_client, showtime, ["A1"])
    order = Order.objects.get()
    before = db_state()
    response = staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": ""})
    assert response["Location"] == f"/box-office/bookings/{order.reference}/cancel/"
    assert "Give a reason for the cancellation." in html(staff_client.get(response["Location"]))
    assert db_state() == before


def test_booking_page_offers_the_dialog_and_the_link(staff_client, showtime):
    sell(staff_client, showtime, ["A1"])
    order = Order.objects.get()
    text = html(staff_client.get(f"/box-office/bookings/{order.reference}/"))
    link = f'href="/box-office/bookings/{order.reference}/cancel/" data-dialog="cancel-dialog"'
    assert link in text
    dialog = text[text.index('<dialog id="cancel-dialog"') : text.index("</dialog>")]
    assert f'action="/box-office/bookings/{order.reference}/cancel/"' in dialog
    assert 'formmethod="dialog" formnovalidate>Keep the booking</button>' in dialog
    assert dialog.count('name="reason"') == 1 and text.count('name="reason"') == 1
    assert "/static/seatlock/boxoffice.js" in text


def test_cancel_confirmation_is_staff_only(client, showtime, django_user_model):
    assert client.get("/box-office/bookings/NOPE/cancel/")["Location"].startswith("/accounts/login/")
    plain = Client()
    plain.force_login(django_user_model.objects.create_user("pat"))
    assert plain.get("/box-office/bookings/NOPE/cancel/").status_code == 403


# --- check-in -------------------------------------------------------------------------------


def scan(client, code, **headers):
    return client.post("/box-office/check-in/", {"code": code}, headers=headers)


@pytest.mark.parametrize("htmx", [False, True])
def test_every_scan_answers_with_an_empty_focused_field(staff_client, showtime, htmx):
    sell(staff_client, showtime, ["A1", "A2", "A3"])
    codes = list(Ticket.objects.order_by("seat_code").values_list("code", flat=True))
    headers = {"HX-Request": "true"} if htmx else {}
    for code, seat in zip(codes, ["A1", "A2", "A3"], strict=True):
        response = scan(staff_client, code, **headers)
        text = html(response)
        assert response.status_code == 200
        assert 'data-check-in="valid"' in text and f"Valid: seat {seat}" in text
        assert f"Scanned {code} at" in text
        if htmx:
            assert "<html" not in text and 'name="code"' not in text
        else:
            field = re.search(r'<input type="text" name="code"[^>]*>', text).group(0)
            assert "value=" not in field and "autofocus" in field and 'autocomplete="off"' in field
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 3


def test_results_have_a_word_a_symbol_and_a_colour(staff_client, showtime):
    sell(staff_client, showtime, ["A1"])
    code = Ticket.objects.get().code
    valid, again, unknown = scan(staff_client, code), scan(staff_client, code), scan(staff_client, "nope")
    assert 'class="check-in check-in--valid"' in html(valid) and "✓</span> Valid" in html(valid)
    assert 'class="check-in check-in--warning"' in html(again) and "Already checked in</p>" in html(again)
    assert 'class="check-in check-in--refused"' in html(unknown) and "Unknown ticket</p>" in html(unknown)
    assert (again.status_code, unknown.status_code) == (409, 404)


def test_a_code_that_cannot_be_a_ticket_is_a_400_with_the_reason(staff_client, db):
    response = scan(staff_client, "x" * 65, **{"HX-Request": "true"})
    assert response.status_code == 400
    text = html(response)
    assert 'data-check-in="invalid"' in text and "at most 64 characters" in text
    assert not LedgerEntry.objects.exists()


def test_the_check_in_page_waits_for_the_first_scan(staff_client, db):
    text = html(staff_client.get("/box-office/check-in/"))
    assert 'id="check-in-form"' in text and "Ready to scan" in text
    assert "hx-post" not in text  # boxoffice.js posts the scans itself, in order


# --- the staff map --------------------------------------------------------------------------


def test_staff_map_has_the_legend_with_prices(staff_client, medium_showtime, settings):
    settings.BOX_OFFICE_MAX_SEATS_PER_ORDER = 40
    text = html(staff_client.get(f"/box-office/showtimes/{medium_showtime.pk}/"))
    legend = text[text.index('aria-labelledby="legend-title"') :]
    assert re.search(r'data-legend-zone="standard">.*Standard <strong>€11.50</strong>', legend)
    assert re.search(r'data-legend-zone="vip">.*VIP <strong>€15.50</strong>', legend)
    for state in ("Held for this sale", "Held (online or another till)", "Sold", "Blocked"):
        assert state in legend
    assert "Up to 40 seats in one counter sale." in legend
    seat = re.search(r'<label [^>]*data-seat="A1"[^>]*>\s*<input [^>]*>', text).group(0)
    assert (
        'title="Standard €11.50"' in seat and 'aria-label="Row A, seat 1, available, Standard €11.50"' in seat
    )


# --- the shift report -----------------------------------------------------------------------


@pytest.fixture
def shift(staff_client, staff, showtime, django_user_model):
    """clara: cash 2 seats (then cancelled), card terminal 1 seat; ben: cash 1 seat."""
    sell(staff_client, showtime, ["A1", "A2"], method="cash")
    sell(staff_client, showtime, ["B1"], method="card_terminal")
    cash_order = Order.objects.get(payment_method="cash")
    staff_client.post(f"/box-office/bookings/{cash_order.reference}/cancel/", {"reason": "x"})
    ben = django_user_model.objects.create_user("=ben", password="pw-ben-123")
    ben.groups.add(staff.groups.get())
    other = Client()
    other.force_login(ben)
    sell(other, showtime, ["B2"], method="cash")
    return staff_client


def row(text: str, marker: str) -> str:
    return text[text.index(marker) :].split("</tr>")[0]


def test_report_has_human_labels_and_a_total_per_method(shift):
    text = html(shift.get("/box-office/report/"))
    assert "<td>Cash</td>" in row(text, 'data-report-line="clara:cash"')
    assert "<td>Card terminal</td>" in row(text, 'data-report-line="clara:card_terminal"')
    assert "card_terminal</td>" not in text and "<td>cash</td>" not in text
    cash = row(text, 'data-report-total="cash"')
    assert "All staff" in cash and "<td>Cash</td>" in cash
    # sold 20 + 10, refunded 20: net 10
    assert re.findall(r"€\d+\.\d\d", cash) == ["€30.00", "€20.00", "€10.00"]
    card = row(text, 'data-report-total="card_terminal"')
    assert re.findall(r"€\d+\.\d\d", card) == ["€10.00", "€0.00", "€10.00"]
    assert text.index('data-report-total="card_terminal"') < text.index('data-report-total="cash"')
    assert "/box-office/report/csv/?date=" in text


def test_report_labels_an_online_refund_made_at_the_counter(staff_client, showtime):
    from booking.models import PaymentMethod
    from boxoffice.report import method_label

    assert method_label(PaymentMethod.STRIPE) == "Online (Stripe)"
    LedgerEntry.objects.create(
        actor="staff:clara",
        action="order.refund",
        showtime=showtime,
        data={"payment_method": "stripe", "refund_amount": 1150},
    )
    text = html(staff_client.get("/box-office/report/"))
    assert "<td>Online (Stripe)</td>" in row(text, 'data-report-total="stripe"')


def test_report_downloads_as_csv(shift):
    import csv
    import io

    from django.utils import timezone

    day = timezone.localdate().isoformat()
    response = shift.get("/box-office/report/csv/", {"date": day})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="shift-report-{day}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Day", "Staff", "Payment", "Sales", "Sold", "Refunds", "Refunded", "Net", "Currency"],
        [day, "'=ben", "Cash", "1", "10.00", "0", "0.00", "10.00", "EUR"],
        [day, "clara", "Card terminal", "1", "10.00", "0", "0.00", "10.00", "EUR"],
        [day, "clara", "Cash", "1", "20.00", "1", "20.00", "0.00", "EUR"],
        [day, "All staff", "Card terminal", "1", "10.00", "0", "0.00", "10.00", "EUR"],
        [day, "All staff", "Cash", "2", "30.00", "1", "20.00", "10.00", "EUR"],
    ]


def test_report_of_a_day_without_sales(staff_client, db):
    text = html(staff_client.get("/box-office/report/", {"date": "2020-02-29"}))
    assert "No counter sales that day." in text and "data-report-total" not in text
    rows = staff_client.get("/box-office/report/csv/", {"date": "2020-02-29"}).content.decode("utf-8-sig")
    assert rows.splitlines() == ["Day,Staff,Payment,Sales,Sold,Refunds,Refunded,Net,Currency"]


def test_report_says_when_the_date_is_not_one(staff_client, db):
    response = staff_client.get("/box-office/report/", {"date": "2024-13-45"})
    assert response.status_code == 200 and "Not a date: 2024-13-45. Showing today." in html(response)
    bad = staff_client.get("/box-office/report/csv/", {"date": "yesterday"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()


def test_report_download_is_staff_only(client, django_user_model, db):
    assert client.get("/box-office/report/csv/")["Location"].startswith("/accounts/login/")
    plain = Client()
    plain.force_login(django_user_model.objects.create_user("pat"))
    assert plain.get("/box-office/report/csv/").status_code == 403
