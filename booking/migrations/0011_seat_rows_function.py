from django.db import migrations

# What a hold or release response redraws, read in the call's own statement (issue 13: one round
# trip per hold): `SELECT …, booking_seat_rows(…) FROM booking_seat_hold(…) r`.
#
# VOLATILE on purpose, and PL/pgSQL (never inlined): a volatile function's query takes a new
# snapshot after the command counter moved past the hold function's writes, so it sees the seats
# as the call left them. A STABLE function would read with the calling statement's snapshot,
# taken before the hold ran, and draw the seats as they were.
#
# Rows are [code, status, order_id, held_until, price, zone], the columns of
# booking.selectors._SEAT_STATES_SQL in the same order: the seats of `p_codes` and the held
# seats of order `p_order_id` (the basket). NULL `p_codes`: the caller wants none (NULL).
SQL = """
CREATE FUNCTION booking_seat_rows(p_showtime_id bigint, p_codes text[], p_order_id bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_codes IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_array(s.code, s.status, s.order_id, s.held_until, s.price, s.zone)), '[]')
          FROM booking_showseat s
         WHERE s.showtime_id = p_showtime_id
           AND (s.code = ANY (p_codes) OR (s.order_id = p_order_id AND s.status = 'held'))
    );
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("booking", "0010_order_language")]
    operations = [migrations.RunSQL(SQL, "DROP FUNCTION booking_seat_rows;")]
