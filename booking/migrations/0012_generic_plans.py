from importlib import import_module

from django.db import migrations

# The hot path's functions plan each of their statements once per connection.
#
# PL/pgSQL runs its statements as prepared statements with the function's arguments as
# parameters, and PostgreSQL's plan cache then plans a statement anew for every call ("custom
# plans") unless a generic plan looks no costlier: for most statements of the hold and release
# functions it never did, so every call planned its dozen statements again, more than half of
# the call's time (pg_stat_user_functions over `pgbench -c 1` of a hold and a release: 0.62 /
# 0.48 ms self time per call with custom plans, 0.24 / 0.21 with generic ones). Every statement
# there looks rows up by key (a showtime's seats by code or position, an order by id or owner),
# which an index serves whatever the values: their generic plans are the custom ones (checked
# with auto_explain on a 11,000-seat database: no sequential scan of seats, orders or ledger).
# tests/booking/test_hold_sql.py holds the functions to this setting: a later
# CREATE OR REPLACE FUNCTION must say it again (it resets the function's settings).
#
# booking_seat_rows (0011) also read its seats with one OR over the whole showtime, which
# neither the (showtime, code) index nor the order index can serve: every hold and release
# response filtered all of the hall's rows. The same rows as two index lookups: the seats
# named, and the order's other held seats (0.097 -> 0.03 ms a call, with the generic plan).
HOT_FUNCTIONS = ("booking_seat_hold", "booking_seat_release")

SQL = """
CREATE OR REPLACE FUNCTION booking_seat_rows(p_showtime_id bigint, p_codes text[], p_order_id bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF p_codes IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_array(s.code, s.status, s.order_id, s.held_until, s.price, s.zone)), '[]')
          FROM (
              SELECT * FROM booking_showseat n
               WHERE n.showtime_id = p_showtime_id AND n.code = ANY (p_codes)
              UNION ALL
              SELECT * FROM booking_showseat o
               WHERE o.order_id = p_order_id AND o.status = 'held' AND o.showtime_id = p_showtime_id
                 AND NOT (o.code = ANY (p_codes))
          ) s
    );
END;
$$;
"""

# Going back restores 0011's function (the same text, as a replacement).
PREVIOUS = import_module("booking.migrations.0011_seat_rows_function").SQL.replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)


class Migration(migrations.Migration):
    dependencies = [("booking", "0011_seat_rows_function")]
    operations = [
        migrations.RunSQL(SQL, PREVIOUS),
        *(
            migrations.RunSQL(
                f"ALTER FUNCTION {name} SET plan_cache_mode = force_generic_plan;",
                f"ALTER FUNCTION {name} RESET plan_cache_mode;",
            )
            for name in HOT_FUNCTIONS
        ),
    ]
