from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Booking")

    def ready(self):
        from django.urls import register_converter

        from booking.links import ReferenceConverter
        from booking.models import Film, Showtime
        from booking.selectors import showtimes_forget
        from halls.models import Cinema, Hall

        # What selectors.showtime_for_request keeps in memory: dropped on every edit here.
        for model in (Showtime, Film, Hall, Cinema):
            post_save.connect(
                showtimes_forget, sender=model, dispatch_uid=f"showtimes_forget_save_{model.__name__}"
            )
            post_delete.connect(
                showtimes_forget, sender=model, dispatch_uid=f"showtimes_forget_del_{model.__name__}"
            )
        # Every app's URLs name an order by `<reference:...>`; URLconfs load after ready().
        register_converter(ReferenceConverter, "reference")
