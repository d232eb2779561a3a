"""Choosing seats (issue 14): best available N together, no stranded seats, companion seats.

Real PostgreSQL: the rules run inside the hold and release functions (migration 0009), and the
concurrency tests use threads with their own connections.
"""

import random
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking import selectors, services
from booking.exceptions import CompanionNeeded, InvalidChoice, NoSeatsTogether, SeatStranded, SeatUnavailable
from booking.models import SeatStatus, ShowSeat
from booking.services import Actor, choosing
from tests.booking.test_concurrency import run_together
from tests.booking.test_views import HtmxClient, url
from tests.fixtures import grid_layout

pytestmark = pytest.mark.orphan_rule


def hold(showtime, codes, token=None):
    token = token or secrets.token_hex(16)
    return services.seat_hold(
        showtime_id=showtime.pk, codes=codes, owner_token=token, actor=Actor.session(token)
    )


def best(showtime, count, token=None, zone=None):
    token = token or secrets.token_hex(16)
    return services.seat_hold_best(
        showtime_id=showtime.pk, count=count, zone=zone, owner_token=token, actor=Actor.session(token)
    )


def take(showtime, codes):
    """Seats someone else has: blocked, which the rules treat like sold."""
    ShowSeat.objects.filter(showtime=showtime, code__in=codes).update(status=SeatStatus.BLOCKED)


def mine(showtime, order):
    return sorted(ShowSeat.objects.filter(showtime=showtime, order=order).values_list("code", flat=True))


# --- the layout ---------------------------------------------------------------------------------


def test_the_focus_defaults_to_the_middle_two_thirds_back_and_can_be_set(large_showtime, make_showtime):
    geometry = large_showtime.hall.geometry
    assert geometry.focus == (10.0, 11.5)
    layout = {**grid_layout("ABCD", 6), "focus": {"line": 1, "col": 0}}
    assert make_showtime(layout).hall.geometry.focus == (1.0, 0.0)


def test_a_wheelchair_space_names_its_companion(medium_showtime):
    geometry = medium_showtime.hall.geometry
    assert geometry.seat("A1").companion == "A2" and geometry.seat("A2").companion == "A1"
    assert geometry.seat("A14").companion == "A13"


def test_a_companion_link_to_a_regular_seat_is_refused():
    from halls.layout import validate_layout

    layout = grid_layout("A", 3)
    layout["rows"][0]["seats"][0].update(kind="wheelchair", companion=2)
    assert validate_layout(layout) == [
        "Row A, seat 1: companion 2 must be a seat of kind companion in row A."
    ]


# --- best available ----------------------------------------------------------------------------


def test_best_four_in_an_empty_hall_are_the_middle_of_the_row_two_thirds_back(large_showtime):
    order = best(large_showtime, 4)
    assert mine(large_showtime, order) == ["L10", "L11", "L12", "L13"]


def test_best_in_a_zone_stays_in_the_zone(large_showtime):
    order = best(large_showtime, 2, zone="premium")
    seats = ShowSeat.objects.filter(showtime=large_showtime, order=order)
    assert {s.zone for s in seats} == {"premium"} and seats.count() == 2


def test_best_never_strands_a_seat_when_a_group_that_does_not_exists(make_showtime):
    # Row B (the focus row) is fragmented: every pair there would leave one seat alone.
    showtime = make_showtime(grid_layout("ABC", 7))
    take(showtime, ["B1", "B4", "B7"])  # free: B2 B3 | B5 B6 -> pairs fit exactly, but 3 does not
    order = best(showtime, 3)
    taken = mine(showtime, order)
    free = selectors.free_seat_codes(showtime_id=showtime.pk)
    assert len(taken) == 3 and taken[0][0] in "AC"
    assert not choosing.strands(showtime.hall.geometry, free | set(taken), taken)


def test_best_passes_over_central_pairs_that_strand_for_one_that_does_not(make_showtime):
    # Row B is the focus row: its central block B2-B4 takes a pair only by leaving one seat
    # alone, so the best pair is elsewhere (B6-B7, or a pair in row A or C), never in B2-B4.
    showtime = make_showtime(grid_layout("ABC", 7))
    take(showtime, ["B1", "B5"])
    order = best(showtime, 2)
    taken = mine(showtime, order)
    assert taken not in (["B2", "B3"], ["B3", "B4"])
    free = selectors.free_seat_codes(showtime_id=showtime.pk)
    assert not choosing.strands(showtime.hall.geometry, free | set(taken), taken)


def test_best_takes_a_stranding_group_only_for_want_of_better(make_showtime):
    showtime = make_showtime(grid_layout("A", 4))
    take(showtime, ["A1"])  # free A2 A3 A4: any pair leaves one alone
    order = best(showtime, 2)
    assert mine(showtime, order) in (["A2", "A3"], ["A3", "A4"])


def test_best_splits_over_two_rows_directly_behind_each_other(make_showtime):
    showtime = make_showtime(grid_layout("AB", 4))
    take(showtime, ["A2", "A4", "B2", "B4"])  # no two side by side anywhere... but A3/B3, A1/B1
    with pytest.raises(NoSeatsTogether):
        best(showtime, 3)
    showtime = make_showtime(grid_layout("AB", 5))
    take(showtime, ["A3", "B3", "A5", "B5"])  # A1 A2 | B1 B2 free: four as two pairs, one behind the other
    order = best(showtime, 4)
    assert mine(showtime, order) == ["A1", "A2", "B1", "B2"]


def test_no_group_is_a_409_with_advice(make_showtime, client):
    showtime = make_showtime(grid_layout("A", 3))
    with pytest.raises(NoSeatsTogether) as caught:
        best(showtime, 4)
    assert "no 4 seats together" in caught.value.message and "3 together" in caught.value.message
    response = HtmxClient().post(url(showtime, "hold"), {"best": "4"})
    assert response.status_code == 409
    assert "no 4 seats together" in response.content.decode()


@pytest.mark.parametrize("value", ["0", "-1", "11", "two", ""])
def test_a_bad_count_is_a_400(showtime, value):
    response = HtmxClient().post(url(showtime, "hold"), {"best": value})
    assert response.status_code == 400


def test_an_unknown_zone_is_a_400(showtime):
    response = HtmxClient().post(url(showtime, "hold"), {"best": "2", "zone": "balcony"})
    assert response.status_code == 400
    with pytest.raises(InvalidChoice):
        best(showtime, 2, zone="balcony")


def test_best_through_the_page_marks_the_seats_mine(large_showtime):
    client = HtmxClient()
    client.get(url(large_showtime))
    response = client.post(url(large_showtime, "hold"), {"best": "4"})
    body = response.content.decode()
    assert response.status_code == 200
    for code in ("L10", "L11", "L12", "L13"):
        assert f"data-seat={code} data-state=mine" in body


def test_best_without_javascript_redirects_to_the_basket(large_showtime, client):
    client.get(url(large_showtime))
    response = client.post(url(large_showtime, "hold"), {"best": "2"})
    assert response.status_code == 302 and response["Location"].endswith("#basket")
    assert ShowSeat.objects.filter(showtime=large_showtime, status=SeatStatus.HELD).count() == 2


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_best_pairs_on_a_nearly_full_hall_never_overlap_or_split(make_showtime):
    showtime = make_showtime(grid_layout("ABCDEF", 10))
    geometry = showtime.hall.geometry
    rng = random.Random(14)
    codes = [s.code for s in geometry.seats]
    take(showtime, rng.sample(codes, 36))  # 24 seats left, scattered
    results = run_together([lambda: best(showtime, 2) for _ in range(30)])
    won = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, NoSeatsTogether) for e in errors), errors
    assert_pairs(showtime, won)
    assert won, "some pairs were free"


def assert_pairs(showtime, won):
    """Every winner holds exactly two seats side by side (or one behind the other in the next
    row), no two winners share a seat, and nothing else is held: no loser kept a seat."""
    geometry = showtime.hall.geometry
    seen = set()
    for order in won:
        seats = mine(showtime, order)
        assert len(seats) == 2, seats  # never a partial group
        a, b = (geometry.seat(c) for c in seats)
        assert abs(a.pos - b.pos) == 1 or (a.col == b.col and abs(a.line - b.line) == 1), seats
        assert not seen & set(seats)
        seen |= set(seats)
    held = set(
        ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).values_list("code", flat=True)
    )
    assert held == seen


@pytest.mark.django_db(transaction=True)
def test_best_pairs_chosen_side_by_side_at_once_never_deadlock(make_showtime):
    """Each request locks its group, then the group's neighbours for the stranded-seat rule:
    two requests taking neighbouring groups would each wait for the other's seats unless every
    seat is locked in one pk-ordered statement that waits for nothing (a deadlock was a 500)."""
    for round_ in range(4):
        showtime = make_showtime(grid_layout("AB", 12))
        results = run_together([lambda s=showtime: best(s, 2) for _ in range(16)])
        won = [r for r in results if not isinstance(r, Exception)]
        errors = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(e, NoSeatsTogether) for e in errors), (round_, errors)
        assert_pairs(showtime, won)
        assert len(won) >= 6, (round_, len(won))  # 24 seats: most requests find a pair


# --- no stranded seats -------------------------------------------------------------------------


def test_a_hold_that_strands_a_seat_is_refused_and_names_it(make_showtime):
    showtime = make_showtime(grid_layout("B", 9))
    take(showtime, ["B5"])
    with pytest.raises(SeatStranded) as caught:
        hold(showtime, ["B2"])
    assert caught.value.seats == ("B1",)
    assert "leave B1 empty on its own: take B1 too, or choose" in caught.value.message
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD).count() == 0
    hold(showtime, ["B1", "B2"])  # taking the lone seat too is fine
    hold(showtime, ["B9"])  # the end of a longer block strands nothing


def test_a_seat_already_alone_can_always_be_taken(make_showtime):
    showtime = make_showtime(grid_layout("A", 5))
    take(showtime, ["A2", "A4"])
    hold(showtime, ["A3"])
    hold(showtime, ["A1"])


def test_the_rule_lifts_when_few_seats_are_free(make_showtime, settings):
    settings.ORPHAN_RULE_MIN_FREE_PERCENT = 50
    showtime = make_showtime(grid_layout("AB", 5))  # 10 seats: the rule holds from 5 free
    take(showtime, ["B1", "B2", "B3", "B4", "B5", "A5"])  # 4 free: A1-A4
    hold(showtime, ["A2"])  # would strand A1, allowed now


def test_the_cinema_can_switch_the_rule_off(make_showtime):
    showtime = make_showtime(grid_layout("A", 5))
    showtime.hall.cinema.orphan_rule = False
    showtime.hall.cinema.save()
    hold(showtime, ["A2"])


def test_a_release_that_leaves_a_hole_beside_your_seats_is_refused(make_showtime):
    showtime = make_showtime(grid_layout("A", 6))
    take(showtime, ["A1", "A5"])
    token = secrets.token_hex(16)
    hold(showtime, ["A2", "A3", "A4"], token)
    with pytest.raises(SeatStranded) as caught:
        services.seat_release(
            showtime_id=showtime.pk, codes=["A2"], owner_token=token, actor=Actor.session(token)
        )
    assert caught.value.seats == ("A2",)
    # From the end that keeps a block of free seats together it is fine... there is none here;
    # giving back all three is.
    services.seat_release(
        showtime_id=showtime.pk, codes=["A2", "A3", "A4"], owner_token=token, actor=Actor.session(token)
    )


@pytest.mark.django_db(transaction=True)
def test_a_flash_sale_of_single_seat_buyers_still_sells_every_seat(make_showtime):
    showtime = make_showtime(grid_layout("ABCDE", 12))
    total = showtime.hall.geometry.seat_count

    stranded = []

    def buyer(seed):
        def run():
            rng = random.Random(seed)
            won = 0
            for _ in range(400):
                free = sorted(selectors.free_seat_codes(showtime_id=showtime.pk))
                if not free:
                    return won
                try:
                    hold(showtime, [rng.choice(free)])
                    won += 1
                except SeatStranded:
                    stranded.append(1)
                except SeatUnavailable:
                    continue
            return won

        return run

    results = run_together([buyer(i) for i in range(8)], timeout=300)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == total
    assert ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.AVAILABLE).count() == 0
    assert stranded, "the rule was on: random clicks must have been refused on the way"


ROW = 9


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    taken=st.sets(st.integers(1, ROW), max_size=ROW - 1),
    wanted=st.sets(st.integers(1, ROW), min_size=1, max_size=2),
)
def test_the_rule_refuses_exactly_what_the_brute_force_reference_refuses(make_showtime, taken, wanted):
    """Random rows with random taken seats; the database decides, the reference agrees."""
    showtime = make_showtime(grid_layout("A", ROW))
    geometry = showtime.hall.geometry
    taken_codes = {f"A{n}" for n in taken}
    wanted_codes = {f"A{n}" for n in wanted}
    take(showtime, taken_codes)
    free = {s.code for s in geometry.seats} - taken_codes
    min_free = choosing.orphan_min_free(showtime, channel="online")
    if wanted_codes & taken_codes:
        expected = "unavailable"
    else:
        lone = brute_force_strands(free, wanted_codes)
        expected = (
            "stranded"
            if lone and choosing.rule_holds(geometry, free, min_free, len(wanted_codes))
            else "held"
        )
    try:
        hold(showtime, sorted(wanted_codes))
        outcome = "held"
    except SeatStranded:
        outcome = "stranded"
    except SeatUnavailable:
        outcome = "unavailable"
    assert outcome == expected, (sorted(taken_codes), sorted(wanted_codes))


def brute_force_strands(free: set[str], wanted: set[str]) -> bool:
    """Straight from the definition, on one row A1..A9: some seat free before and after the
    hold has no free neighbour after it but had one before."""
    after = free - wanted

    def alone(code, seats):
        n = int(code[1:])
        return code in seats and f"A{n - 1}" not in seats and f"A{n + 1}" not in seats

    return any(alone(c, after) and not alone(c, free) for c in after)


# --- companions --------------------------------------------------------------------------------


def test_a_companion_seat_needs_its_wheelchair_space(medium_showtime):
    with pytest.raises(CompanionNeeded) as caught:
        hold(medium_showtime, ["A2"])
    assert caught.value.seats == ("A2",)
    token = secrets.token_hex(16)
    hold(medium_showtime, ["A1"], token)
    hold(medium_showtime, ["A2"], token)  # the same order has the space: fine
    # Someone else's space: the companion seat is sellable on its own.
    hold(medium_showtime, ["A13", "A14"])
    with pytest.raises(CompanionNeeded):
        services.seat_release(
            showtime_id=medium_showtime.pk, codes=["A1"], owner_token=token, actor=Actor.session(token)
        )
    services.seat_release(
        showtime_id=medium_showtime.pk, codes=["A2"], owner_token=token, actor=Actor.session(token)
    )
    services.seat_release(
        showtime_id=medium_showtime.pk, codes=["A1"], owner_token=token, actor=Actor.session(token)
    )


def test_a_companion_seat_is_free_to_take_once_its_space_is_sold(medium_showtime):
    take(medium_showtime, ["A14"])
    hold(medium_showtime, ["A13"])


def test_the_basket_offers_the_companion_seat_of_a_wheelchair_space(medium_showtime):
    client = HtmxClient()
    client.get(url(medium_showtime))
    response = client.post(url(medium_showtime, "hold"), {"seat": "A1"})
    assert "Add the companion seat A2" in response.content.decode()
    response = client.post(url(medium_showtime, "hold"), {"seat": "A2"})
    assert response.status_code == 200
    assert "Add the companion seat" not in response.content.decode()
    lone = HtmxClient().post(url(medium_showtime, "hold"), {"seat": "A13"})
    assert lone.status_code == 409
    assert "Companion seat A13 is for the person with the wheelchair space" in lone.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_hold_in_flight_and_one_beside_it_never_strand_a_seat_together(make_showtime):
    """Alone, A1 and A3 each leave no seat alone (A2-A5 / A1-A2 and A4-A5); together they
    strand A2. The first is held in a transaction that has not committed when the second
    arrives: the second must wait for it (both lock A2, their common neighbour) and then be
    refused, not pass on the uncommitted state."""
    import threading

    from django.db import connection, connections, transaction

    from tests.helpers import wait_until

    showtime = make_showtime(grid_layout("AB", 6))
    take(showtime, ["A6"])  # A1-A5 free; row B is the other block a single seat could go to
    first_held, finish_first = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                outcomes["first"] = hold(showtime, ["A1"])
                first_held.set()
                finish_first.wait(10)
        except Exception as exc:  # reported by the assertions below
            outcomes["first"] = exc
            first_held.set()
        finally:
            connections.close_all()

    def second():
        try:
            outcomes["second"] = hold(showtime, ["A3"])
        except Exception as exc:
            outcomes["second"] = exc
        finally:
            connections.close_all()

    def second_waits_on_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            return cursor.fetchone()[0] > 0

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    assert first_held.wait(10)
    two.start()
    # Either the second waits on the first's locks, or (the race this test is for) it is done.
    wait_until(lambda: second_waits_on_a_lock() or not two.is_alive(), timeout=5)
    finish_first.set()
    one.join(10)
    two.join(10)
    assert not isinstance(outcomes["first"], Exception), outcomes
    assert isinstance(outcomes["second"], SeatStranded), outcomes
    assert outcomes["second"].seats == ("A2",)
    held = ShowSeat.objects.filter(showtime=showtime, status=SeatStatus.HELD)
    assert sorted(held.values_list("code", flat=True)) == ["A1"]


def test_busy_without_seats_to_name_says_so_in_words():
    """A deadlock, or every group busy, has no seat to name: no "Seats  are busy" with a hole."""
    from booking.exceptions import SeatsBusy

    assert (
        SeatsBusy(()).message
        == "Other buyers are choosing these seats right now; please try again in a moment."
    )
    assert SeatsBusy(["A1", "A2"]).message.startswith("Seats A1, A2 are busy")
