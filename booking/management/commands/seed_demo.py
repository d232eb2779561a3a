"""Load the demo cinema. Running it again changes nothing (same day, same data)."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from booking import demo
from booking.models import Film, Showtime
from booking.permissions import box_office_group
from booking.services import showtime_create, showtime_create_inventory
from halls.models import Cinema, Hall


class Command(BaseCommand):
    help = "Create (or top up) the demo cinema, halls, films and a week of showtimes."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    @transaction.atomic
    def handle(self, *args, days: int, **options):
        cinema, _ = Cinema.objects.update_or_create(
            slug="seatlock-demo",
            defaults={
                "name": "SeatLock Demo Cinema",
                "time_zone": settings.TIME_ZONE,
                "address": demo.CINEMA_ADDRESS,
            },
        )
        halls = []
        for slug, name, layout, prices in demo.HALLS:
            hall, _ = Hall.objects.update_or_create(
                cinema=cinema, slug=slug, defaults={"name": name, "layout": layout()}
            )
            hall.full_clean()
            halls.append((hall, prices))
        films = []
        for slug, title, runtime, rating, synopsis in demo.FILMS:
            film, _ = Film.objects.update_or_create(
                slug=slug,
                defaults={"title": title, "runtime_minutes": runtime, "rating": rating, "synopsis": synopsis},
            )
            films.append(film)

        now = timezone.now()
        today = timezone.localtime(now, cinema.tzinfo)
        created = 0
        for day, start, film_index, hall_index in demo.showtime_slots(today, days):
            starts_at = datetime.combine(day, start, tzinfo=cinema.tzinfo)
            if starts_at <= now:
                continue
            hall, prices = halls[hall_index]
            existing = Showtime.objects.filter(hall=hall, starts_at=starts_at).first()
            if existing is None:
                showtime_create(film=films[film_index], hall=hall, starts_at=starts_at, prices=prices)
                created += 1
            else:
                showtime_create_inventory(showtime=existing)
        self._staff()
        total = Showtime.objects.filter(hall__cinema=cinema, starts_at__gt=now).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo cinema ready: {len(halls)} halls, {len(films)} films, "
                f"{total} upcoming showtimes ({created} new)."
            )
        )

    def _staff(self) -> None:
        """A demo box-office account (and admin access) whose password `make run` prints."""
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_STAFF_USER, defaults={"is_staff": True, "first_name": "Demo", "last_name": "Staff"}
        )
        if created:
            user.set_password(DEMO_STAFF_PASSWORD)
            user.save()
        user.groups.add(box_office_group())


DEMO_STAFF_USER = "boxoffice"
DEMO_STAFF_PASSWORD = "boxoffice-demo"  # noqa: S105 - demo data, printed by make run
