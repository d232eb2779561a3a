from django.db import migrations

# The ledger is evidence: once written, no code path (nor a stray admin action) may change it.
SQL = """
CREATE FUNCTION booking_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER booking_ledger_append_only
    BEFORE UPDATE OR DELETE ON booking_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION booking_ledger_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS booking_ledger_append_only ON booking_ledgerentry;
DROP FUNCTION IF EXISTS booking_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
