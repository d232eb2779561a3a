from pathlib import Path

from django.db import migrations

# The functions are long: they live in a .sql file next to this one, read as the migration runs
# (a later change is a new migration with a new file, never an edit of this one).
SQL = (Path(__file__).parent / "0007_hold_function.sql").read_text()

REVERSE = """
DROP FUNCTION IF EXISTS booking_seat_hold;
DROP FUNCTION IF EXISTS booking_seat_release;
"""


class Migration(migrations.Migration):
    dependencies = [("booking", "0006_order_stripe_ids_moved_to_checkout")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
