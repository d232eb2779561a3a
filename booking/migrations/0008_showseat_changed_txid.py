from django.db import migrations, models

# The seat map's delta polls ask "which seats changed since my last read?". Per-seat versions
# cannot answer it (they are not ordered across seats), nor can commit times (transactions
# commit out of order). The id of the last transaction that wrote the row can: a poll keeps
# `pg_snapshot_xmin` of its read, every transaction below it had ended, so any write that read
# did not see carries a txid at or above it. A trigger sets it, so every writer (the ORM, a
# PL/pgSQL function) is covered without knowing about it.
SQL = """
CREATE FUNCTION booking_showseat_changed() RETURNS trigger AS $$
BEGIN
    NEW.changed_txid := txid_current();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER booking_showseat_changed
    BEFORE UPDATE ON booking_showseat
    FOR EACH ROW EXECUTE FUNCTION booking_showseat_changed();
"""

REVERSE = """
DROP TRIGGER IF EXISTS booking_showseat_changed ON booking_showseat;
DROP FUNCTION IF EXISTS booking_showseat_changed();
"""


class Migration(migrations.Migration):
    # Another branch adds 0007_hold_function; the lead re-points this one after the merge.
    dependencies = [("booking", "0007_hold_function")]

    operations = [
        migrations.AddField(
            model_name="showseat",
            name="changed_txid",
            field=models.BigIntegerField(db_default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name="showseat",
            index=models.Index(fields=["showtime", "changed_txid"], name="showseat_changed"),
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
