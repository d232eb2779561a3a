import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Cinema(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    orphan_rule = models.BooleanField(
        _("no stranded seats"),
        default=True,
        help_text=_(
            "Refuse online holds and releases that would leave a single free seat between taken ones "
            "(lifted when few seats remain; box office staff are warned instead)."
        ),
    )
    # Printed on tickets and in calendar entries as it is written, one line per line.
    address = models.TextField(
        _("address"), blank=True, help_text=_("Street, postcode and town, one per line.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("cinema")
        verbose_name_plural = _("cinemas")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]


class Hall(models.Model):
    cinema = models.ForeignKey(
        Cinema, on_delete=models.PROTECT, related_name="halls", verbose_name=_("cinema")
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"))
    layout = models.JSONField(_("layout"), help_text=_("Rows of seats on a grid; see docs/layouts.md."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cinema", "name"]
        constraints = [models.UniqueConstraint(fields=["cinema", "slug"], name="hall_unique_slug_per_cinema")]
        verbose_name = _("hall")
        verbose_name_plural = _("halls")

    def __str__(self) -> str:
        return f"{self.cinema} – {self.name}"

    def clean(self) -> None:
        from halls.layout import LayoutError, parse_layout

        try:
            parse_layout(self.layout)
        except LayoutError as exc:
            raise ValidationError({"layout": exc.messages}) from exc

    @property
    def geometry(self):
        """The parsed layout, shared by every renderer; cached per saved version of the hall."""
        from halls.layout import geometry_for

        if self.pk is None or self.updated_at is None:
            return geometry_for(self.layout)
        # Hot paths load halls with .defer("layout"): a cached geometry never touches it.
        key = (self.pk, self.updated_at)
        geometry = _geometry_cache.get(key)
        if geometry is None:
            if len(_geometry_cache) > 1000:
                _geometry_cache.clear()
            geometry = _geometry_cache[key] = geometry_for(self.layout)
        return geometry


# Per process: (hall id, updated_at) -> HallGeometry. A saved change bumps updated_at.
_geometry_cache: dict = {}
