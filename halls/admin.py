import json

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from halls.layout import LayoutError, parse_layout
from halls.models import Cinema, Hall


class HallAdminForm(forms.ModelForm):
    class Meta:
        model = Hall
        fields = ["cinema", "name", "slug", "layout"]
        widgets = {"layout": forms.Textarea(attrs={"rows": 30, "cols": 80, "class": "vLargeTextField"})}

    def clean_layout(self):
        layout = self.cleaned_data["layout"]
        try:
            parse_layout(layout)
        except LayoutError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return layout


def render_preview(layout) -> str:
    try:
        geometry = parse_layout(layout)
    except LayoutError as exc:
        return render_to_string("admin/halls/hall/preview.html", {"errors": exc.messages})
    zone_labels = {z.key: z.label for z in geometry.zones}
    focus_line, focus_col = geometry.focus
    context = {
        "geometry": geometry,
        "zone_labels": zone_labels,
        # The grid cell nearest the best-available focus, outlined in the preview.
        "focus": (round(focus_line), round(focus_col)),
        "focus_exact": geometry.focus,
    }
    return render_to_string("admin/halls/hall/preview.html", context)


@admin.register(Cinema)
class CinemaAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Hall)
class HallAdmin(admin.ModelAdmin):
    form = HallAdminForm
    list_display = ["name", "cinema", "seat_count"]
    list_filter = ["cinema"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["preview"]
    fields = ["cinema", "name", "slug", "preview", "layout"]

    @admin.display(description=_("seats"))
    def seat_count(self, obj: Hall) -> int:
        return obj.geometry.seat_count

    @admin.display(description=_("seat map preview"))
    def preview(self, obj: Hall) -> str:
        if obj is None or obj.layout is None:
            return "–"
        return mark_safe(render_preview(obj.layout))  # noqa: S308 - our own escaped template

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault(
            "layout",
            json.dumps(
                {
                    "zones": {"standard": {"label": "Standard"}},
                    "rows": [{"label": "A", "zone": "standard", "seats": [{"number": 1, "col": 0}]}],
                },
                indent=2,
            ),
        )
        return initial
