"""The customer hears of every change: one email per staff action or expiry, after commit."""

import io
from datetime import timedelta

import pytest
from django.test import Client
from pypdf import PdfReader

from booking import services
from booking.models import Order, OrderStatus
from booking.permissions import box_office_group
from booking.services import Actor


@pytest.fixture
def staff_client(django_user_model, db):
    user = django_user_model.objects.create_user("clara", password="pw-clara-123")
    user.groups.add(box_office_group())
    client = Client()
    client.force_login(user)
    return client


def sell(client, showtime, seats, method="cash", **extra):
    client.post(f"/box-office/showtimes/{showtime.pk}/seats/", {"action": "hold", "seat": seats})
    response = client.post(f"/box-office/showtimes/{showtime.pk}/sell/", {"payment_method": method, **extra})
    assert response.status_code == 302 and "/tickets/" in response["Location"]
    return Order.objects.get(showtime=showtime, seat_codes=sorted(seats))


def attachments(message) -> dict[str, tuple[bytes | str, str]]:
    return {name: (content, mimetype) for name, content, mimetype in message.attachments}


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def inline_images(message) -> dict[str, str]:
    """Content-ID -> content type of the parts inside the message's multipart/related."""
    (related,) = [p for p in message.message().walk() if p.get_content_type() == "multipart/related"]
    return {p["Content-ID"].strip("<>"): p.get_content_type() for p in related.get_payload()[1:]}


def test_counter_sale_with_an_email_sends_the_tickets_once(staff_client, medium_showtime, emails_sent):
    with emails_sent() as sent:
        order = sell(staff_client, medium_showtime, ["A1", "G5"], email="ann@example.com", name="Ann")
    assert len(sent) == 1
    (message,) = sent
    assert message.to == ["ann@example.com"]
    assert message.subject == f"Your tickets for {medium_showtime.film.title} ({order.reference})"
    assert "Total paid: €27.00, in cash at the box office." in message.body
    assert "Row A, seat 1 (A1) · Standard, wheelchair space · €11.50" in message.body
    assert "Row G, seat 5 (G5) · VIP · €15.50" in message.body
    files = attachments(message)
    assert set(files) == {f"seatlock-{order.reference}.pdf", f"seatlock-{order.reference}.ics"}
    pdf, mimetype = files[f"seatlock-{order.reference}.pdf"]
    assert mimetype == "application/pdf"
    pages = pdf_pages(pdf)
    assert len(pages) == 2 and "(A1)" in pages[0] and "(G5)" in pages[1]
    assert files[f"seatlock-{order.reference}.ics"][1] == "text/calendar"
    # The QR codes are in the message, one PNG per ticket, each shown by the HTML by Content-ID.
    html = message.alternatives[0][0]
    images = inline_images(message)
    assert len(images) == 2 and set(images.values()) == {"image/png"}
    for cid in images:
        assert f'src="cid:{cid}"' in html


def test_counter_sale_without_an_email_sends_nothing(staff_client, showtime, emails_sent):
    with emails_sent() as sent:
        sell(staff_client, showtime, ["A1"])
    assert sent == []


def test_staff_cancel_of_a_counter_booking_tells_the_customer_once(staff_client, showtime, emails_sent):
    order = sell(staff_client, showtime, ["A1", "A2"], method="card_terminal", email="ann@example.com")
    with emails_sent() as sent:
        staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "changed plans"})
        # a second click on an already cancelled booking changes nothing and tells no one
        staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "changed plans"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert len(sent) == 1
    (message,) = sent
    assert message.subject == f"Your booking for {showtime.film.title} was cancelled ({order.reference})"
    assert "Reason: changed plans" in message.body
    assert "Seats A1, A2 are released and their tickets are no longer valid." in message.body
    assert "Your payment of €20.00 is refunded at the box office to the card you paid with." in message.body
    assert message.attachments == []


def test_staff_cancel_of_a_cash_booking_says_cash_comes_back(staff_client, showtime, emails_sent):
    order = sell(staff_client, showtime, ["B1"], method="cash", email="ann@example.com")
    with emails_sent() as sent:
        staff_client.post(f"/box-office/bookings/{order.reference}/cancel/", {"reason": "ill"})
    assert [m.subject for m in sent] == [
        f"Your booking for {showtime.film.title} was cancelled ({order.reference})"
    ]
    assert "Your payment of €10.00 in cash is handed back to you at the box office." in sent[0].body


def test_staff_reseat_sends_the_new_tickets_once(staff_client, showtime, emails_sent):
    order = sell(staff_client, showtime, ["A1", "A2"], email="ann@example.com")
    with emails_sent() as sent:
        staff_client.post(f"/box-office/bookings/{order.reference}/reseat/", {"seats": "B1 B2"})
    assert len(sent) == 1
    (message,) = sent
    assert message.subject == f"Your seats for {showtime.film.title} have changed ({order.reference})"
    assert "moved your booking from seats A1, A2 to seats B1, B2" in message.body
    assert "The price is unchanged (€20.00): nothing is charged or refunded." in message.body
    pages = pdf_pages(attachments(message)[f"seatlock-{order.reference}.pdf"][0])
    assert len(pages) == 2 and "(B1)" in pages[0] and "(B2)" in pages[1]
    assert len(inline_images(message)) == 2


def test_reseat_to_dearer_seats_says_who_settles_the_difference(staff_client, medium_showtime, emails_sent):
    order = sell(staff_client, medium_showtime, ["B3"], email="ann@example.com")
    with emails_sent() as sent:
        staff_client.post(f"/box-office/bookings/{order.reference}/reseat/", {"seats": "G3"})
    (message,) = sent
    assert (
        "Your new seats cost €15.50, €4.00 more than before (€11.50). Nothing was charged "
        "automatically: the box office settles the difference with you." in message.body
    )


def test_a_refused_reseat_sends_nothing(staff_client, showtime, emails_sent):
    order = sell(staff_client, showtime, ["A1"], email="ann@example.com")
    services.seat_hold(showtime_id=showtime.pk, codes=["B1"], owner_token="web", actor=Actor("web"))
    with emails_sent() as sent:
        staff_client.post(f"/box-office/bookings/{order.reference}/reseat/", {"seats": "B1"})
    assert sent == []


def _at_checkout(showtime, codes=("A1", "A2"), buyer="ann") -> Order:
    order = services.seat_hold(
        showtime_id=showtime.pk, codes=list(codes), owner_token=buyer, actor=Actor("t")
    )
    return services.order_mark_paying(order_id=order.pk, email="ann@example.com", actor=Actor("t"))


def test_a_hold_expiring_after_checkout_started_tells_the_buyer_once(showtime, emails_sent):
    order = _at_checkout(showtime)
    later = order.expires_at + timedelta(seconds=1)
    with emails_sent() as sent:
        services.order_expire(order_id=order.pk, actor=Actor.system("test"), now=later)
        assert services.order_expire(order_id=order.pk, actor=Actor.system("test"), now=later) is None
    assert len(sent) == 1
    (message,) = sent
    assert message.subject == f"Your payment did not complete; your seats were released ({order.reference})"
    assert "Your hold on seats A1, A2 ran out before a payment arrived" in message.body
    assert "You have not been charged." in message.body
    assert f"/showtimes/{showtime.pk}/" in message.body


def test_a_hold_that_never_reached_checkout_expires_silently(showtime, emails_sent):
    order = services.seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="bob", actor=Actor("t"))
    with emails_sent() as sent:
        services.order_expire(
            order_id=order.pk, actor=Actor.system("test"), now=order.expires_at + timedelta(seconds=1)
        )
    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    assert sent == []


def test_a_lapsed_checkout_expired_by_the_buyers_next_hold_tells_them_once(showtime, emails_sent):
    """The database function expires the lapsed order inside the next hold (no payment page
    was opened here, so the payment layer has nothing to close)."""
    order = _at_checkout(showtime)
    later = order.expires_at + timedelta(seconds=1)
    with emails_sent() as sent:
        new = services.seat_hold(
            showtime_id=showtime.pk, codes=["B1"], owner_token="ann", actor=Actor("t"), now=later
        )
    assert new.pk != order.pk and Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    assert [m.subject for m in sent] == [
        f"Your payment did not complete; your seats were released ({order.reference})"
    ]


def test_the_email_is_in_the_language_the_customer_booked_in(staff_client, medium_showtime, emails_sent):
    """The worker has no request: the order keeps the language of the page it was booked on."""
    from django.utils import translation

    staff_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    with emails_sent() as sent:
        order = sell(staff_client, medium_showtime, ["C5"], email="jonas@example.com")
    assert order.language == "de"
    (message,) = sent
    with translation.override("de"):
        expected = translation.gettext("Your tickets for %(film)s (%(ref)s)")
    assert expected != "Your tickets for %(film)s (%(ref)s)", "no German catalogue"
    assert message.subject == expected % {"film": medium_showtime.film.title, "ref": order.reference}
    assert "11,50 €" in message.body
