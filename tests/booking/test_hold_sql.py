"""The hold and release database functions (migration 0007) against their Python reference.

The same generated operations run on two identical fresh showtimes, one through
`seat_hold`/`seat_release` (one call of a PL/pgSQL function each) and one through
`hold_reference`/`release_reference` (the ORM version): every outcome and the final seats,
orders and ledger must be the same. Then the price of the hot path in SQL statements.
"""

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from booking import demo, hooks, services
from booking.exceptions import BookingError, HoldLimitReached, OrderAtPayment, SeatUnavailable, TooManyOrders
from booking.models import LedgerEntry, Order, OrderStatus, SeatStatus, ShowSeat
from booking.services import Actor
from booking.services.holds_reference import hold_reference, release_reference
from tests.booking.test_views import HtmxClient, seat_states_in, url
from tests.fixtures import grid_layout
from tests.helpers import at_once, locked_elsewhere

# A couple pair (C1/C2) so that partners are added; three rows of three otherwise.
LAYOUT = {
    "zones": {"standard": {"label": "Standard"}, "vip": {"label": "VIP"}},
    "rows": [
        *grid_layout("AB", 3)["rows"],
        {
            "label": "C",
            "zone": "vip",
            "seats": [
                {"number": 1, "col": 0, "kind": "couple-left"},
                {"number": 2, "col": 1, "kind": "couple-right"},
                {"number": 3, "col": 2},
            ],
        },
    ],
}
CODES = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3"]
OWNERS = 3
_runs = itertools.count()

seat_sets = st.lists(st.sampled_from(CODES), min_size=1, max_size=3)
owners = st.integers(0, OWNERS - 1)
holds = st.tuples(st.just("hold"), owners, seat_sets)
releases = st.tuples(st.just("release"), owners, st.lists(st.sampled_from(CODES), min_size=1, max_size=2))
time_passes = st.tuples(st.just("time"), st.integers(1, 12))  # minutes; a hold lasts 15
# Weighted by repetition (one_of picks its branches evenly): mostly holds, the rest often enough
# to reach lapsed takeovers, lazy expiry, orders at payment and the caps in most examples.
operations = st.lists(
    st.one_of(
        holds,
        holds,
        holds,
        holds,
        releases,
        st.tuples(st.just("release_held"), owners, st.integers(1, 3)),  # some of the owner's basket
        time_passes,
        time_passes,
        st.tuples(st.just("pay"), owners),
        st.tuples(st.just("unpay"), owners),
        st.tuples(st.just("stripe_says_paid"), st.booleans()),  # what closing a payment page answers
    ),
    min_size=12,
    max_size=30,
)


class Side:
    """One showtime and the hold/release implementation under test on it."""

    def __init__(self, showtime, *, hold, release, network, show=False):
        self.showtime = showtime
        self.hold_impl = hold
        self.release_impl = release
        # Ask the call for every seat's row (`show`), and hold them to what the database has.
        self.show = {"show": CODES} if show else {}
        self.tokens = [f"owner-{i}" for i in range(OWNERS)]
        # Owners 0 and 1 share an address, owner 2 has one of its own; each side has its own
        # addresses, so the per-IP cap counts this side's orders only.
        self.ips = [f"{network}.1", f"{network}.1", f"{network}.2"]

    def run(self, op, now):
        kind = op[0]
        try:
            if kind == "hold":
                order = self.hold_impl(
                    showtime_id=self.showtime.pk,
                    codes=op[2],
                    owner_token=self.tokens[op[1]],
                    actor=Actor.session(self.tokens[op[1]]),
                    client_ip=self.ips[op[1]],
                    now=now,
                    **self.show,
                )
                self.check_rows(order)
            elif kind == "release":
                order = self.release_impl(
                    showtime_id=self.showtime.pk,
                    codes=op[2],
                    owner_token=self.tokens[op[1]],
                    actor=Actor.session(self.tokens[op[1]]),
                    now=now,
                    **self.show,
                )
                self.check_rows(order)
            elif kind in ("pay", "unpay"):
                order = self.open_order(op[1])
                if order is None:
                    return "no order"
                if kind == "pay":
                    order = services.order_mark_paying(
                        order_id=order.pk, email="a@example.com", actor=Actor("test"), now=now
                    )
                else:
                    order = services.order_resume_holding(order_id=order.pk, actor=Actor("test"), now=now)
            else:
                return None
        except BookingError as exc:
            if exc.order_seen:
                self.check_rows(exc)
            return type(exc).__name__, exc.seats
        order.refresh_from_db()  # what the caller got back is what the database has
        return order.seat_codes, order.total, order.status, order.basket_version, self.owner(order)

    def check_rows(self, result) -> None:
        """The rows the call returned are the seats as it left them: what a read now sees."""
        if not self.show:
            return
        rows = sorted(result.seat_rows)
        assert rows == sorted(
            ShowSeat.objects.filter(showtime=self.showtime).values_list(
                "code", "status", "order_id", "held_until", "price", "zone"
            )
        )

    def open_order(self, owner: int) -> Order | None:
        return Order.objects.filter(
            showtime=self.showtime, owner_token=self.tokens[owner], status__in=["holding", "paying"]
        ).first()

    def owner(self, order: Order | None) -> int | None:
        return None if order is None else self.tokens.index(order.owner_token)

    def state(self):
        """Everything the two implementations write, with ids mapped to owners and ordinals."""
        orders = list(Order.objects.filter(showtime=self.showtime).order_by("pk"))
        ordinal = {o.pk: i for i, o in enumerate(orders)}
        seats = [
            (s.code, s.status, ordinal.get(s.order_id), s.held_until, s.version)
            for s in ShowSeat.objects.filter(showtime=self.showtime).order_by("pk")
        ]
        order_rows = [
            (
                self.owner(o),
                o.status,
                o.seat_codes,
                o.total,
                o.basket_version,
                o.expires_at,
                o.status_reason,
                o.channel,
                o.currency,
                self.ips.index(o.client_ip),
            )
            for o in orders
        ]
        ledger = []
        for e in LedgerEntry.objects.filter(showtime=self.showtime).order_by("created_at", "pk"):
            data = dict(e.data)
            if "lapsed_from_orders" in data:
                data["lapsed_from_orders"] = {c: ordinal[o] for c, o in data["lapsed_from_orders"].items()}
            ledger.append((e.actor, e.action, ordinal.get(e.order_id), e.seats, e.reason, data))
        return seats, order_rows, ledger


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
# Every rare path at least once, whatever the generated examples reach.
@example(
    ops=[
        ("hold", 0, ["A1", "A2"]),
        ("hold", 1, ["B1"]),  # refused: owner 0 has the open order of their shared address
        ("hold", 2, ["B1"]),
        ("time", 16),
        ("hold", 2, ["A1"]),  # lazy expiry of owner 2's order; takes over owner 0's lapsed hold
        ("hold", 0, ["A3"]),  # lazy expiry of owner 0's order, then a new one
        ("pay", 0),
        ("time", 16),
        ("stripe_says_paid", True),
        ("hold", 0, ["B2"]),  # its payment page cannot be closed: paid at Stripe
        ("stripe_says_paid", False),
        ("hold", 0, ["B2"]),  # closed, then expired and replaced
        ("hold", 0, ["A1", "A2", "B3", "C1"]),  # five more seats than the basket's one: over the cap
        ("hold", 0, ["B2"]),  # nothing new
        ("release_held", 0, 1),
        ("release", 2, ["B1", "B2"]),
    ]
)
def test_function_and_reference_agree_on_every_outcome_and_the_final_state(
    ops, make_showtime, monkeypatch, settings
):
    settings.HOLD_SECONDS = 15 * 60
    settings.MAX_SEATS_PER_ORDER = 4
    settings.MAX_OPEN_ORDERS_PER_IP = 1  # owners 0 and 1 share an address: one open order there
    stripe_says_paid = False

    def close(order_id: int) -> bool:
        event(f"payment page closed, paid at Stripe: {stripe_says_paid}")
        return not stripe_says_paid

    monkeypatch.setattr(hooks, "_payment_closer", close)
    run = next(_runs)
    prices = {"standard": 1000, "vip": 1500}
    sql = Side(
        make_showtime(LAYOUT, prices=prices),
        hold=services.seat_hold,
        release=services.seat_release,
        network=f"10.{run % 250}.{run // 250}",
        show=True,
    )
    reference = Side(
        make_showtime(LAYOUT, prices=prices),
        hold=hold_reference,
        release=release_reference,
        network=f"10.{run % 250}.{run // 250 + 100}",
    )
    now = timezone.now()
    for op in ops:
        if op[0] == "release_held":  # the same seats on both sides: those the owner holds here
            order = sql.open_order(op[1])
            op = ("release", op[1], order.seat_codes[: op[2]] if order and order.seat_codes else ["A1"])
        if op[0] == "time":
            now += timedelta(minutes=op[1])
        if op[0] == "stripe_says_paid":
            stripe_says_paid = op[1]
        outcome = sql.run(op, now)
        assert outcome == reference.run(op, now), op
        if op[0] in ("hold", "release"):  # --hypothesis-show-statistics shows what was reached
            event(f"{op[0]}: {outcome[0] if isinstance(outcome[0], str) else outcome[2]}")
    final = sql.state()
    assert final == reference.state()
    for reason in {entry[4] for entry in final[2]} - {""}:
        event(f"ledger: {reason}")


def _hold(showtime, codes, owner="buyer", *, preloaded=None, now=None, show=None):
    return services.seat_hold(
        showtime_id=showtime.pk,
        codes=codes,
        owner_token=owner,
        actor=Actor.session(owner),
        now=now,
        showtime=preloaded,
        show=show,
    )


@pytest.mark.django_db(transaction=True)
def test_a_hold_a_refusal_and_a_release_are_one_statement_each(showtime):
    """In autocommit mode, as in a request: no BEGIN, SAVEPOINT or COMMIT around the call."""
    _hold(showtime, ["A1"], owner="other")  # the geometry is cached from here on
    with CaptureQueriesContext(connection) as queries:
        order = _hold(showtime, ["A2"], preloaded=showtime)
    assert len(queries.captured_queries) == 1
    assert (order.status, order.seat_codes, order.basket_version) == (OrderStatus.HOLDING, ["A2"], 1)
    assert not hasattr(order, "seat_rows")  # not asked to show any

    with CaptureQueriesContext(connection) as queries:
        order = services.seat_hold(
            showtime_id=showtime.pk,
            codes=["A3"],
            owner_token="buyer",
            actor=Actor("t"),
            showtime=showtime,
            show=["A3", "B3"],
        )
    assert len(queries.captured_queries) == 1
    # As the call left them, committed: A3 now the order's; the basket's A2 too; B3 free.
    shown = {code: (status, order_id) for code, status, order_id, *_ in order.seat_rows}
    assert shown == {"A2": ("held", order.pk), "A3": ("held", order.pk), "B3": ("available", None)}

    with CaptureQueriesContext(connection) as queries, pytest.raises(SeatUnavailable) as refused:
        _hold(showtime, ["A1", "A3"], preloaded=showtime)
    assert len(queries.captured_queries) == 1
    assert refused.value.seats == ("A1",)
    assert refused.value.order_seen and refused.value.order.pk == order.pk
    assert refused.value.seat_rows is None

    with CaptureQueriesContext(connection) as queries:
        order = services.seat_release(
            showtime_id=showtime.pk, codes=["A2"], owner_token="buyer", actor=Actor("t"), showtime=showtime
        )
    assert len(queries.captured_queries) == 1
    assert (order.seat_codes, order.total, order.basket_version) == (["A3"], 1000, 3)
    assert ShowSeat.objects.get(showtime=showtime, code="A2").status == SeatStatus.AVAILABLE


@pytest.mark.django_db
def test_the_hot_path_functions_plan_their_statements_once_per_connection():
    """Migration 0012: without the setting PostgreSQL planned every statement of every call anew
    (over half of a hold's database time); a CREATE OR REPLACE that forgot it would undo that."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname = ANY (%s) ORDER BY proname",
            [["booking_seat_hold", "booking_seat_release", "booking_seat_rows"]],
        )
        settings_by_function = dict(cursor.fetchall())
    assert settings_by_function == {
        name: ["plan_cache_mode=force_generic_plan"]
        for name in ("booking_seat_hold", "booking_seat_release", "booking_seat_rows")
    }


def _fields(order):
    return {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}


@pytest.mark.django_db(transaction=True)
def test_the_order_a_call_returns_is_the_stored_order_field_for_field(showtime):
    """The call hands the order back as one JSON column (booking.services.holds._order): every
    field, times and the client address included, comes out as the ORM reads it."""
    order = services.seat_hold(
        showtime_id=showtime.pk,
        codes=["A1", "A2"],
        owner_token="buyer",
        actor=Actor.session("buyer"),
        client_ip="192.0.2.7",
    )
    stored = Order.objects.get(pk=order.pk)
    assert _fields(order) == _fields(stored)
    assert order.expires_at.tzinfo is not None and order.client_ip == "192.0.2.7"
    assert order._state.adding is False and order._state.db == "default"

    _hold(showtime, ["B1"], owner="other")
    with pytest.raises(SeatUnavailable) as refused:
        _hold(showtime, ["B1"])
    assert _fields(refused.value.order) == _fields(stored)

    order = services.seat_release(
        showtime_id=showtime.pk, codes=["A1", "A2"], owner_token="buyer", actor=Actor("t")
    )
    assert _fields(order) == _fields(Order.objects.get(pk=order.pk))
    assert order.seat_codes == [] and order.total == 0

    with pytest.raises(BookingError):  # nothing of its own to release: no order comes back
        services.seat_release(showtime_id=showtime.pk, codes=["B1"], owner_token="nobody", actor=Actor("t"))


@pytest.mark.django_db(transaction=True)
def test_a_hold_and_a_409_through_the_htmx_view_cost_three_statements_at_most(
    showtime, django_assert_max_num_queries
):
    buyer, other = HtmxClient(), HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": ["A1"]}).status_code == 200  # session and order
    assert other.post(url(showtime, "hold"), {"seat": ["B1"]}).status_code == 200
    # At most 3 each here: the session (in the database in tests; the cache in production), the
    # showtime (with its hall), and the hold function, which also returns the seats to redraw
    # (the 409 reuses the order and the rows the refusal saw).
    with django_assert_max_num_queries(3):
        assert buyer.post(url(showtime, "hold"), {"seat": ["A2"]}).status_code == 200
    with django_assert_max_num_queries(3):
        assert buyer.post(url(showtime, "hold"), {"seat": ["B1"]}).status_code == 409
    assert Order.objects.get(owner_token=buyer.session["owner_token"]).seat_codes == ["A1", "A2"]


@pytest.mark.django_db(transaction=True)
def test_the_seats_a_response_redraws_come_from_the_call_itself(showtime):
    """A hold, a 409 and a release through the view: the only statement that reads seats is the
    call, and the fragments show the seats as it left them."""
    buyer, other = HtmxClient(), HtmxClient()
    assert other.post(url(showtime, "hold"), {"seat": ["B1"]}).status_code == 200
    assert buyer.post(url(showtime, "hold"), {"seat": ["A1"]}).status_code == 200

    def seat_reads(action, seats, status):
        with CaptureQueriesContext(connection) as queries:
            response = buyer.post(url(showtime, action), {"seat": seats})
        assert response.status_code == status
        reads = [
            q["sql"]
            for q in queries.captured_queries
            if "booking_showseat" in q["sql"] or "seat_" in q["sql"]
        ]
        assert len(reads) == 1 and f"booking_seat_{action}(" in reads[0], reads
        return response.content.decode()

    body = seat_reads("hold", ["A2"], 200)
    assert seat_states_in(body) == {"A2": "mine"}
    assert "data-basket-total>€20.00<" in body.replace(" ", "")  # the basket: both held seats
    assert seat_states_in(seat_reads("hold", ["B1"], 409)) == {"B1": "held"}
    body = seat_reads("release", ["A1"], 200)
    assert seat_states_in(body) == {"A1": "available"}
    assert "data-basket-total>€10.00<" in body.replace(" ", "")


@pytest.mark.django_db(transaction=True)
def test_a_double_click_answers_both_clicks_with_the_seat_as_the_calls_left_it(showtime):
    """Two tabs (or a double click) of one buyer post the same seat at once: one call holds it,
    the other finds it already the buyer's; each answer's seats come from its own call, and both
    show the seat as the buyer's and a basket of two seats, never a half-updated one."""
    buyer = HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": ["B1"]}).status_code == 200  # the session

    def click():
        tab = HtmxClient()
        tab.cookies = buyer.cookies  # the same browser
        return tab.post(url(showtime, "hold"), {"seat": ["A1"]})

    answers = at_once(click, 2, timeout=30)
    assert [a.status_code for a in answers] == [200, 200]
    for answer in answers:
        body = answer.content.decode()
        assert seat_states_in(body) == {"A1": "mine"}
        assert "data-basket-total>€20.00<" in body.replace(" ", "")
    order = Order.objects.get(owner_token=buyer.session["owner_token"])
    assert sorted(order.seat_codes) == ["A1", "B1"]
    assert LedgerEntry.objects.filter(order=order, action="seat.hold", seats=["A1"]).count() == 1


@pytest.mark.django_db
def test_a_refusal_after_a_lazy_expiry_undoes_the_expiry_too(showtime, settings):
    """The lapsed order is expired inside the call; a refusal later in it rolls that back, as
    the reference's transaction does, and leaves the caller's transaction usable."""
    settings.HOLD_SECONDS = 60
    now = timezone.now()
    lapsed = _hold(showtime, ["A1"], now=now)
    _hold(showtime, ["B1"], owner="other", now=now + timedelta(minutes=2))
    with pytest.raises(SeatUnavailable):
        _hold(showtime, ["A2", "B1"], now=now + timedelta(minutes=2))
    lapsed.refresh_from_db()
    assert lapsed.status == OrderStatus.HOLDING
    assert ShowSeat.objects.get(showtime=showtime, code="A1").order_id == lapsed.pk
    assert not LedgerEntry.objects.filter(order=lapsed, action="order.expire").exists()


@pytest.mark.django_db
def test_a_lapsed_order_at_payment_is_closed_at_stripe_then_expired(showtime, settings, monkeypatch):
    settings.HOLD_SECONDS = 60
    closed = []
    monkeypatch.setattr(hooks, "_payment_closer", lambda order_id: closed.append(order_id) or True)
    now = timezone.now()
    first = _hold(showtime, ["A1"], now=now)
    services.order_mark_paying(order_id=first.pk, email="a@example.com", actor=Actor("t"), now=now)
    second = _hold(showtime, ["A2"], now=now + timedelta(minutes=2))
    first.refresh_from_db()
    assert closed == [first.pk]
    assert (first.status, second.seat_codes) == (OrderStatus.EXPIRED, ["A2"])
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.AVAILABLE


@pytest.mark.django_db
def test_a_lapsed_order_paid_at_stripe_keeps_its_seats(showtime, settings, monkeypatch):
    settings.HOLD_SECONDS = 60
    monkeypatch.setattr(hooks, "_payment_closer", lambda order_id: False)
    now = timezone.now()
    first = _hold(showtime, ["A1"], now=now)
    services.order_mark_paying(order_id=first.pk, email="a@example.com", actor=Actor("t"), now=now)
    with pytest.raises(OrderAtPayment):
        _hold(showtime, ["A2"], now=now + timedelta(minutes=2))
    first.refresh_from_db()
    assert first.status == OrderStatus.PAYING
    assert ShowSeat.objects.get(showtime=showtime, code="A1").order_id == first.pk


@pytest.mark.django_db
def test_the_cap_counts_the_basket_and_the_new_seats(showtime, settings):
    settings.MAX_SEATS_PER_ORDER = 3
    _hold(showtime, ["A1", "A2"])
    with pytest.raises(HoldLimitReached) as refused:
        _hold(showtime, ["A2", "A3", "A4"])
    assert refused.value.seats == ("A2", "A3", "A4")
    assert list(Order.objects.get(owner_token="buyer").seat_codes) == ["A1", "A2"]


def _rows_fetched(table: str) -> int:
    """Rows of `table` read so far in this transaction (heap fetches of index scans and rows of
    sequential scans), as PostgreSQL counts them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) FROM pg_stat_xact_user_tables "
            "WHERE relname = %s",
            [table],
        )
        row = cursor.fetchone()
    return row[0] if row else 0


@pytest.mark.django_db
def test_a_call_reads_the_seats_it_names_not_the_whole_hall(make_showtime, settings):
    """Migration 0013: under generic plans `showtime_id = $1 AND code = ANY ($2)` was planned as
    a pass over the showtime's index filtered by code, so every hold, refusal and release read
    all of the hall's seats (twice: the lock and the rows to redraw). Now seats are found by key:
    a call reads a few rows per seat it names. Eleven showtimes of the 352-seat hall, with
    statistics, so that the table is more than one showtime (with one, reading it all is right)."""
    settings.ORPHAN_RULE = True  # its neighbour lookups too
    showtimes = [make_showtime(demo.large_hall_layout()) for _ in range(11)]
    st = showtimes[5]
    with connection.cursor() as cursor:  # as autovacuum keeps a production database
        cursor.execute("ANALYZE booking_showseat, booking_order")

    def rows_read(call) -> int:
        before = _rows_fetched("booking_showseat")
        call()
        return _rows_fetched("booking_showseat") - before

    def hold(owner, codes):
        return lambda: _hold(st, codes, owner, preloaded=st, show=codes)

    def refused():
        with pytest.raises(SeatUnavailable):
            hold("b", ["A8"])()

    # A7-A9 in the block A5-A18: no seat is left on its own (that check reads the showtime).
    reads = {
        "first hold": rows_read(hold("a", ["A7", "A8"])),
        "another hold": rows_read(hold("a", ["A9"])),
        "refused: taken": rows_read(refused),
        "release": rows_read(
            lambda: services.seat_release(
                showtime_id=st.pk, codes=["A9"], owner_token="a", actor=Actor("t"), showtime=st, show=["A9"]
            )
        ),
    }
    held = ShowSeat.objects.filter(showtime=st, status=SeatStatus.HELD).values_list("code", flat=True)
    assert sorted(held) == ["A7", "A8"]
    # A few rows per seat named (its lookup, its lock, its neighbours, the basket, a new order): 352 and more before.
    assert all(0 < n <= 50 for n in reads.values()), reads


@pytest.mark.django_db(transaction=True)
def test_a_refusal_for_taken_seats_waits_for_no_lock_and_writes_nothing(showtime, settings):
    """Most clicks of a sell-out are for seats already taken. Such a refusal is answered from
    the seats as committed, before any lock: it does not queue behind another transaction that
    has the seat locked, and it takes no transaction id (no row lock, no WAL flush at commit)."""
    from django.db import transaction

    services.seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token="first", actor=Actor("t"))
    settings.SEAT_LOCK_TIMEOUT_MS = 2000
    # Someone's transaction has the taken seat locked (say, its expiry).
    with locked_elsewhere(ShowSeat.objects.filter(showtime=showtime, code="A1")), transaction.atomic():
        with pytest.raises(SeatUnavailable) as refused:  # not SeatsBusy after 2 s
            services.seat_hold(
                showtime_id=showtime.pk, codes=["A1", "A2"], owner_token="late", actor=Actor("t")
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current_if_assigned()")
            assert cursor.fetchone()[0] is None
    assert refused.value.seats == ("A1",)
    assert ShowSeat.objects.get(showtime=showtime, code="A2").status == SeatStatus.AVAILABLE
    assert not Order.objects.filter(owner_token="late").exists()


@pytest.mark.django_db
def test_the_cap_on_open_orders_per_address_reads_that_address_orders_only(large_showtime, settings):
    """A hold that opens an order counts the open orders of the buyer's address (the cap,
    MAX_OPEN_ORDERS_PER_IP). Migration 0013: along an index of that address's open orders and
    only up to the cap; before, along every open order of every showtime."""
    settings.MAX_OPEN_ORDERS_PER_IP = 3
    st = large_showtime
    codes = iter(ShowSeat.objects.filter(showtime=st).order_by("pos").values_list("code", flat=True)[::3])

    def open_order(owner: str, address: str):
        return services.seat_hold(
            showtime_id=st.pk, codes=[next(codes)], owner_token=owner, actor=Actor("t"), client_ip=address
        )

    # A production table: thousands of past orders (else reading it all is the right plan) and,
    # in a premiere, open baskets from many addresses.
    Order.objects.bulk_create(
        Order(
            reference=f"PAST{i:06d}",
            showtime=st,
            owner_token=f"past-{i}",
            status=OrderStatus.EXPIRED,
            expires_at=timezone.now() - timedelta(days=1),
            client_ip=f"203.0.113.{i % 250}",
        )
        for i in range(3000)
    )
    for i in range(60):
        open_order(f"crowd-{i}", f"198.51.100.{i}")
    open_order("neighbour", "192.0.2.7")
    with connection.cursor() as cursor:  # as autovacuum keeps a production database
        cursor.execute("ANALYZE booking_order, booking_showseat")
    before = _rows_fetched("booking_order")
    open_order("buyer", "192.0.2.7")
    read = _rows_fetched("booking_order") - before
    # The buyer's order looked up (none), the neighbour's counted, the new one updated: 61 before.
    assert 0 < read <= 6, read

    open_order("third", "192.0.2.7")
    with pytest.raises(TooManyOrders):  # the cap still holds: three open orders from there
        open_order("fourth", "192.0.2.7")


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6
        ),
        max_size=5,
    )
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(["A1", 'a"b', "c\\d", "x,y", "{z}", " sp ", "NULL", ""])
@example([])
@pytest.mark.django_db
def test_seat_codes_reach_the_functions_as_they_were_given(codes):
    """The calls pass seat codes as one `text[]` literal (holds._text_array), not a list psycopg
    inspects: whatever the strings, PostgreSQL reads back the same array."""
    from booking.services.holds import _text_array

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [_text_array(codes)])
        assert cursor.fetchone()[0] == codes
