from django.core.management import call_command

from booking.models import Film, ShowSeat, Showtime
from halls.models import Cinema, Hall


def snapshot():
    return {
        "cinemas": list(Cinema.objects.values_list("slug", "name", "time_zone", "address")),
        "halls": list(Hall.objects.order_by("slug").values_list("slug", "layout")),
        "films": list(Film.objects.order_by("slug").values_list("slug", "title", "runtime_minutes")),
        "showtimes": list(
            Showtime.objects.order_by("starts_at", "hall").values_list(
                "hall__slug", "film__slug", "starts_at", "prices"
            )
        ),
        "seats": ShowSeat.objects.count(),
    }


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = snapshot()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert snapshot() == first


def test_seed_demo_builds_the_three_halls(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    halls = {h.slug: h.geometry for h in Hall.objects.all()}
    assert set(halls) == {"studio", "grand", "imax"}
    assert halls["imax"].seat_count >= 300
    kinds = {s.kind for s in halls["grand"].seats}
    assert {"wheelchair", "companion", "couple-left", "couple-right"} <= kinds
    assert {z.key for z in halls["grand"].zones} == {"standard", "vip"}
    # the small hall has an aisle: a gap in the middle of every row
    cols = [s.col for s in halls["studio"].seats if s.row == "A"]
    assert len(cols) == 10 and max(cols) - min(cols) + 1 == 11
    assert Film.objects.count() == 4
    showtimes = Showtime.objects.all()
    assert showtimes.exists()
    for showtime in showtimes[:5]:
        assert ShowSeat.objects.filter(showtime=showtime).count() == showtime.hall.geometry.seat_count


def test_seed_demo_gives_the_berlin_cinema_its_address(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    cinema = Cinema.objects.get(slug="seatlock-demo")
    assert cinema.address_lines == ["Lichtspielweg 12", "10117 Berlin", "Germany"]
