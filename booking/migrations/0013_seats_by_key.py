from importlib import import_module
from pathlib import Path

from django.db import migrations, models
from django.db.models import Q

# The hot path's functions find seats by key, a hold that is refused because its seats are taken
# answers without a lock or a write, and the per-address cap on open orders is counted along an
# index of its own: 0013_seats_by_key.sql says why and how.
SQL = (Path(__file__).parent / "0013_seats_by_key.sql").read_text()

# Going back restores 0009's hold and release and 0012's seat rows, with 0012's plan setting.
_0009 = (Path(__file__).parent / "0009_hold_rules.sql").read_text()
_0012 = import_module("booking.migrations.0012_generic_plans")
PREVIOUS = "\n".join(
    [
        _0009[: _0009.index("-- Whether the stranded-seat rule applies right now")].replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
        ),
        _0012.SQL,
        *(f"ALTER FUNCTION {name} SET plan_cache_mode = force_generic_plan;" for name in _0012.HOT_FUNCTIONS),
    ]
)


class Migration(migrations.Migration):
    dependencies = [("booking", "0012_generic_plans")]
    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["client_ip", "expires_at"],
                condition=Q(status__in=["holding", "paying"]),
                name="order_open_by_ip",
            ),
        ),
        migrations.RunSQL(SQL, PREVIOUS),
    ]
