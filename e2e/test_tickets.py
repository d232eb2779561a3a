"""The booking page's ticket downloads in a real browser; the PDF's first page as a screenshot."""

import os
import shutil
import subprocess
import zoneinfo
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from booking import demo
from booking.models import Film, Showtime
from booking.services import Actor, booking_confirm, seat_hold
from halls.models import Cinema, Hall

SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parent / "artifacts")


def test_screenshot_ticket_pdf(site, new_page, medium_showtime):
    """Download the PDF and the .ics from the booking page as a buyer would, then draw the PDF's
    first page (pdftoppm, from poppler-utils) for docs/screenshots/ticket-pdf.png."""
    # The demo's names and an evening start, for the screenshot.
    Cinema.objects.filter(pk=medium_showtime.hall.cinema_id).update(
        name="SeatLock Demo Cinema", address=demo.CINEMA_ADDRESS
    )
    Film.objects.filter(pk=medium_showtime.film_id).update(title="Premiere Night")
    Hall.objects.filter(pk=medium_showtime.hall_id).update(name="Grand")
    tomorrow = timezone.localdate() + timedelta(days=1)
    evening = datetime.combine(tomorrow, time(20, 15), tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    Showtime.objects.filter(pk=medium_showtime.pk).update(starts_at=evening)
    order = seat_hold(
        showtime_id=medium_showtime.pk, codes=["G6", "G7"], owner_token="demo", actor=Actor("demo")
    )
    booking_confirm(order_id=order.pk, actor=Actor("demo"))
    page = new_page()
    page.goto(site + order.get_absolute_url())
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download tickets (PDF)").click()
    with page.expect_download() as ics_download:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    assert pdf_download.value.suggested_filename == f"seatlock-{order.reference}.pdf"
    assert ics_download.value.suggested_filename == f"seatlock-{order.reference}.ics"
    assert Path(ics_download.value.path()).read_bytes().startswith(b"BEGIN:VCALENDAR")
    pdf = Path(pdf_download.value.path())
    pages = [p.extract_text() for p in PdfReader(pdf).pages]
    assert len(pages) == 2 and "(G6)" in pages[0] and "(G7)" in pages[1]

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm draws the PDF's first page: apt-get install poppler-utils", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "ticket-pdf"
    subprocess.run(
        [pdftoppm, "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", pdf, target], check=True
    )
    assert target.with_suffix(".png").stat().st_size > 0
