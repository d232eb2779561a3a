from pathlib import Path

from django.db import migrations, models

# The hold and release functions of 0007 with the seat-choice rules (stranded seats, companion
# seats): a new file, 0007's stays as it ran.
SQL = (Path(__file__).parent / "0009_hold_rules.sql").read_text()
REVERSE = (Path(__file__).parent / "0007_hold_function.sql").read_text()


def fill_positions(apps, schema_editor):
    """Every existing seat learns its grid cell and kind from its hall's layout."""
    from halls.layout import parse_layout

    Showtime = apps.get_model("booking", "Showtime")
    ShowSeat = apps.get_model("booking", "ShowSeat")
    for showtime in Showtime.objects.select_related("hall").iterator():
        geometry = parse_layout(showtime.hall.layout)
        seats = list(ShowSeat.objects.filter(showtime=showtime))
        for seat in seats:
            spec = geometry.by_code.get(seat.code)
            # A seat no longer in the layout keeps a unique, never-adjacent cell.
            seat.pos, seat.kind = (spec.pos, spec.kind) if spec else (-10 * seat.pk, "regular")
        ShowSeat.objects.bulk_update(seats, ["pos", "kind"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("booking", "0008_showseat_changed_txid")]

    operations = [
        migrations.AddField(
            model_name="showseat", name="kind", field=models.CharField(default="regular", max_length=16)
        ),
        migrations.AddField(model_name="showseat", name="pos", field=models.IntegerField(default=0)),
        migrations.RunPython(fill_positions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="showseat",
            constraint=models.UniqueConstraint(fields=("showtime", "pos"), name="showseat_unique_pos"),
        ),
        migrations.RunSQL(
            "DROP FUNCTION booking_seat_hold; DROP FUNCTION booking_seat_release;\n" + SQL,
            "DROP FUNCTION booking_seat_hold; DROP FUNCTION booking_seat_release;"
            " DROP FUNCTION booking_orphan_rule_holds;\n" + REVERSE,
        ),
    ]
