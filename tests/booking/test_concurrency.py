"""Many buyers at once, each thread on its own PostgreSQL connection, no mocks.

These tests commit for real (transactional_db): row locks only mean something between
separate connections that can see each other's committed rows.
"""

import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connections

from booking import selectors, services
from booking.exceptions import SeatUnavailable
from booking.models import LedgerEntry, Order, SeatStatus, ShowSeat
from booking.services import Actor

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(workers: list[Callable[[], object]], timeout: float = 120) -> list[object]:
    """Start every worker at the same instant; return each one's result or exception."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except BaseException as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a worker hung: lock wait without a bound?"
    return results


def holder(showtime_id: int, codes: list[str], token: str | None = None) -> Callable[[], object]:
    token = token or secrets.token_hex(16)
    return lambda: services.seat_hold(
        showtime_id=showtime_id, codes=codes, owner_token=token, actor=Actor.session(token)
    )


def owners(showtime) -> dict[str, int | None]:
    return dict(ShowSeat.objects.filter(showtime=showtime).values_list("code", "order_id"))


def test_fifty_buyers_one_seat_exactly_one_wins(showtime):
    results = run_together([holder(showtime.pk, ["A1"]) for _ in range(50)])

    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, SeatUnavailable)]
    assert len(winners) == 1, results
    assert len(losers) == 49, [r for r in results if not isinstance(r, Order | SeatUnavailable)]
    assert all(loser.seats == ("A1",) for loser in losers)
    seat = ShowSeat.objects.get(showtime=showtime, code="A1")
    assert (seat.status, seat.order_id) == (SeatStatus.HELD, winners[0].pk)
    assert Order.objects.filter(showtime=showtime).count() == 1
    assert LedgerEntry.objects.filter(action="seat.hold", seats=["A1"]).count() == 1


def test_overlapping_multi_seat_holds_never_deadlock_or_split(showtime):
    pairs = [(["A1", "A2"], ["A2", "A3"]), (["A2", "A1"], ["A3", "A2"]), (["A3", "A2"], ["A1", "A2"])]
    for round_number in range(25):
        first, second = pairs[round_number % len(pairs)]
        tokens = [secrets.token_hex(16), secrets.token_hex(16)]
        results = run_together(
            [holder(showtime.pk, first, tokens[0]), holder(showtime.pk, second, tokens[1])]
        )

        errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, SeatUnavailable)]
        assert not errors, f"round {round_number}: {errors!r}"  # no deadlock, no lock timeout
        won = [r for r in results if isinstance(r, Order)]
        assert len(won) == 1, f"round {round_number}: A2 is in both requests, so exactly one wins"
        seats = owners(showtime)
        held_by_winner = {code for code, owner in seats.items() if owner == won[0].pk}
        assert held_by_winner == {c.upper() for c in (first if won[0].owner_token == tokens[0] else second)}
        assert Counter(o for o in seats.values() if o is not None) == {won[0].pk: 2}  # no partial hold

        token = won[0].owner_token
        services.seat_release(
            showtime_id=showtime.pk,
            codes=sorted(held_by_winner),
            owner_token=token,
            actor=Actor.session(token),
        )
    assert all(owner is None for owner in owners(showtime).values())


def test_flash_sale_sells_every_seat_exactly_once(large_showtime):
    total = ShowSeat.objects.filter(showtime=large_showtime).count()
    assert total >= 300
    successes = Counter()
    lock = threading.Lock()

    def buyer(seed: int) -> Callable[[], int]:
        rng = random.Random(seed)

        def run() -> int:
            mine = 0
            while True:
                free = [
                    code
                    for code, view in selectors.seat_states(
                        showtime_id=large_showtime.pk, viewer_order_id=None
                    ).items()
                    if view.state == "available"
                ]
                if not free:
                    return mine
                token = secrets.token_hex(16)
                try:
                    services.seat_hold(
                        showtime_id=large_showtime.pk,
                        codes=[rng.choice(free)],
                        owner_token=token,
                        actor=Actor.session(token),
                    )
                except SeatUnavailable:
                    continue
                mine += 1
                with lock:
                    successes[seed] += 1

        return run

    results = run_together([buyer(seed) for seed in range(32)], timeout=300)

    unexpected = [r for r in results if isinstance(r, BaseException)]
    assert not unexpected, unexpected[:3]
    assert sum(results) == total == sum(successes.values())
    seats = owners(large_showtime)
    assert all(owner is not None for owner in seats.values())
    assert len(set(seats.values())) == total  # one order per successful hold, one seat each
    held = Counter(ShowSeat.objects.filter(showtime=large_showtime).values_list("status", flat=True))
    assert held == {SeatStatus.HELD: total}
    assert LedgerEntry.objects.filter(showtime=large_showtime, action="seat.hold").count() == total


def test_counter_sale_and_online_hold_race_for_one_seat(showtime, django_user_model):
    """The box office and the website use the same service and the same row lock."""
    staff = django_user_model.objects.create_user("clara")
    counter_token = f"staff-{staff.pk}"

    def counter():
        return services.seat_hold(
            showtime_id=showtime.pk,
            codes=["B2"],
            owner_token=counter_token,
            actor=Actor.staff(staff),
            channel="box_office",
            staff_user=staff,
        )

    for round_number in range(10):
        results = run_together([counter, holder(showtime.pk, ["B2"], "web")])
        assert sorted(type(r).__name__ for r in results) == ["Order", "SeatUnavailable"], (
            round_number,
            results,
        )
        winner = next(r for r in results if isinstance(r, Order))
        loser = next(r for r in results if isinstance(r, SeatUnavailable))
        assert loser.seats == ("B2",)
        assert owners(showtime)["B2"] == winner.pk
        assert (winner.channel, winner.staff_user_id) in {("box_office", staff.pk), ("online", None)}
        holds = LedgerEntry.objects.filter(showtime=showtime, action="seat.hold", seats=["B2"])
        assert holds.count() == round_number + 1  # the loser wrote nothing
        services.seat_release(
            showtime_id=showtime.pk, codes=["B2"], owner_token=winner.owner_token, actor=Actor("test")
        )
    assert owners(showtime)["B2"] is None


def test_many_double_clicks_of_one_buyer_make_one_order(showtime):
    token = secrets.token_hex(16)
    results = run_together([holder(showtime.pk, [code], token) for code in ["A1", "A2", "A3", "A4"] * 3])
    assert not [r for r in results if isinstance(r, Exception)], results
    order = Order.objects.get(showtime=showtime, owner_token=token)
    assert sorted(order.seat_codes) == ["A1", "A2", "A3", "A4"]
    assert {c for c, o in owners(showtime).items() if o == order.pk} == {"A1", "A2", "A3", "A4"}
    assert order.total == 4000


def test_a_buyers_own_first_hold_never_refuses_their_second_click(showtime):
    """A double click on a buyer's first seat: the clicks race to open the order. The refusal
    without a lock (migration 0013) reads the owner's order and the seats in one statement: in
    two, a click could see the seat taken by an order it had not seen yet, and refuse the buyer
    their own seat (a 409 for a seat now theirs). Many rounds, each a new buyer, each seat
    clicked four times at once: every click holds it or finds it already held for them."""
    codes = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"]
    refused = []
    for round_ in range(24):
        token = secrets.token_hex(16)
        code = codes[round_ % len(codes)]
        ShowSeat.objects.filter(showtime=showtime, code=code).update(
            status=SeatStatus.AVAILABLE, order=None, held_until=None
        )
        results = run_together([holder(showtime.pk, [code], token) for _ in range(4)])
        refused += [r for r in results if isinstance(r, Exception)]
        assert owners(showtime)[code] == Order.objects.get(showtime=showtime, owner_token=token).pk
    assert refused == []
