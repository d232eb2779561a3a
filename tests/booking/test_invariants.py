"""Random sequences of hold / release / expire / sell / block from several sessions.

After every step the invariants of DESIGN.md must hold, and the ledger must have grown by
exactly one entry per change the step reported.
"""

import contextlib
import secrets
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from booking import services
from booking.exceptions import BookingError
from booking.models import (
    OPEN_STATUSES,
    LedgerEntry,
    Order,
    OrderStatus,
    SeatStatus,
    ShowSeat,
    Ticket,
    TicketStatus,
)
from booking.services import Actor
from tests.fixtures import grid_layout

CODES = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"]
SESSIONS = 3


@pytest.mark.django_db
def test_random_operations_keep_the_invariants(make_showtime, django_user_model):
    staff = Actor.staff(django_user_model.objects.create_user("inspector"))

    class Booking(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.showtime = make_showtime(grid_layout("AB", 4))
            self.tokens = [secrets.token_hex(8) for _ in range(SESSIONS)]
            self.now = timezone.now()

        def ledger_size(self) -> int:
            return LedgerEntry.objects.filter(showtime=self.showtime).count()

        def actions_since(self, size: int) -> list[str]:
            entries = LedgerEntry.objects.filter(showtime=self.showtime).order_by("pk")
            return list(entries.values_list("action", flat=True)[size:])

        @rule(
            session=st.integers(0, SESSIONS - 1),
            codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=3),
        )
        def hold(self, session, codes):
            token = self.tokens[session]
            before = self.ledger_size()
            open_order = Order.objects.filter(
                showtime=self.showtime, owner_token=token, status__in=OPEN_STATUSES
            ).first()
            lapsed = open_order is not None and open_order.expires_at <= self.now
            mine = set(open_order.seat_codes) if open_order is not None and not lapsed else set()
            try:
                services.seat_hold(
                    showtime_id=self.showtime.pk,
                    codes=codes,
                    owner_token=token,
                    actor=Actor.session(token),
                    now=self.now,
                )
            except BookingError:
                assert self.ledger_size() == before
            else:
                # A lapsed order of this session is expired first; a new order is opened when
                # there is none; the seats not yet held are one entry; nothing new writes nothing.
                expected = (
                    ["order.expire"] * lapsed
                    + ["order.open"] * (open_order is None or lapsed)
                    + ["seat.hold"] * bool(set(codes) - mine)
                )
                assert self.actions_since(before) == expected

        @rule(
            session=st.integers(0, SESSIONS - 1),
            codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=3),
        )
        def release(self, session, codes):
            token = self.tokens[session]
            before = self.ledger_size()
            try:
                services.seat_release(
                    showtime_id=self.showtime.pk, codes=codes, owner_token=token, actor=Actor.session(token)
                )
            except BookingError:
                assert self.ledger_size() == before
            else:
                assert self.ledger_size() == before + 1

        @rule(minutes=st.integers(1, 20))
        def time_passes(self, minutes):
            self.now += timedelta(minutes=minutes)

        @rule()
        def expiry_sweep(self):
            for order in Order.objects.filter(showtime=self.showtime, status__in=OPEN_STATUSES):
                before = self.ledger_size()
                released = services.order_expire(order_id=order.pk, actor=Actor.system("test"), now=self.now)
                assert self.ledger_size() == before + (0 if released is None else 1)

        @rule(session=st.integers(0, SESSIONS - 1))
        def pay(self, session):
            order = Order.objects.filter(
                showtime=self.showtime, owner_token=self.tokens[session], status__in=OPEN_STATUSES
            ).first()
            if order is not None and order.seat_codes:
                result = services.booking_confirm(order_id=order.pk, actor=Actor("stripe:test"), now=self.now)
                if result.outcome == services.ConfirmOutcome.SEATS_LOST:
                    services.order_mark_refunded(order_id=order.pk, actor=Actor("stripe:test"), reason="lost")

        @rule(code=st.sampled_from(CODES))
        def block(self, code):
            with contextlib.suppress(BookingError):
                services.seat_block(
                    showtime_id=self.showtime.pk, codes=[code], reason="test", actor=staff, now=self.now
                )

        @invariant()
        def seats_orders_and_tickets_agree(self):
            if not hasattr(self, "showtime"):
                return
            seats = list(ShowSeat.objects.filter(showtime=self.showtime).select_related("order"))
            assert len(seats) == len(CODES)
            for seat in seats:
                if seat.status == SeatStatus.HELD:
                    assert seat.order.status in OPEN_STATUSES or seat.held_until <= self.now
                    assert seat.code in seat.order.seat_codes
                if seat.status == SeatStatus.SOLD:
                    assert seat.order.status == OrderStatus.PAID
            valid = Counter(
                Ticket.objects.filter(showtime=self.showtime, status=TicketStatus.VALID).values_list(
                    "seat_code", flat=True
                )
            )
            sold = {s.code for s in seats if s.status == SeatStatus.SOLD}
            assert set(valid) == sold and all(n == 1 for n in valid.values())
            for order in Order.objects.filter(showtime=self.showtime, status=OrderStatus.PAID):
                assert order.tickets.filter(status=TicketStatus.VALID).count() == len(order.seat_codes)
            for token in self.tokens:
                assert (
                    Order.objects.filter(
                        showtime=self.showtime, owner_token=token, status__in=OPEN_STATUSES
                    ).count()
                    <= 1
                )

    run_state_machine_as_test(
        Booking,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
