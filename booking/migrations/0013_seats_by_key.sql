-- The hold, release and seat-rows functions of 0009 and 0012, finding seats by key.
--
-- Each looked a showtime's seats up as `showtime_id = $1 AND code = ANY ($2)`. Under the
-- generic plans of 0012 PostgreSQL cannot know how many codes the array holds (it assumes
-- ten), so it judged ten descents of the (showtime, code) index dearer than one pass over the
-- showtime index and chose that pass: every hold, refusal and release read all of the hall's
-- seats (352, or 3,000) to find the one or two asked for, twice (the lock and the rows the
-- response redraws), and the stranded-seat rule a third time for the neighbours' positions.
--
-- Now each seat is found by an equality on both columns of a unique index, (showtime, code) or
-- (showtime, pos), in a scalar sub-select per code, which no plan can turn into a pass over the
-- showtime; the rows are then read and locked by primary key (`id = ANY (ARRAY(...))`): an
-- index scan that returns them in id order, so the lock order is unchanged. No other condition
-- on the showtime sits beside the id array (the ids came from the showtime's own index): with
-- one, the planner could again prefer the showtime index and filter.
--
-- A hold that opens an order counted the open orders of the buyer's address (the per-address
-- cap) by walking every open order of every showtime (the only index was on expiry); now an
-- index on the address's open orders serves it, and the count stops at the cap.
--
-- The function bodies are otherwise 0009's, line for line; tests/booking/test_hold_sql.py
-- compares them with the Python reference and reads their plans.

CREATE OR REPLACE FUNCTION booking_seat_hold(
    p_showtime_id bigint,
    p_codes text[],                -- validated against the hall (couple partners added)
    p_owner_token text,
    p_actor text,
    p_channel text,
    p_staff_user_id bigint,
    p_client_ip inet,
    p_now timestamptz,
    p_expires_at timestamptz,      -- a new order's hold end
    p_expires_iso text,            -- the same, as the ledger writes it (Python's isoformat)
    p_reference text,              -- a new order's reference
    p_currency text,
    p_max_seats integer,
    p_max_orders_per_ip integer,
    p_lock_timeout text,
    p_payment_closed bigint,       -- the lapsed order whose payment page Python has closed
    p_lock_codes text[],           -- neighbours and linked seats: locked, never held
    p_companions jsonb,            -- {companion seat: its wheelchair space} for wanted companions
    p_orphan_min_free integer,     -- the stranded-seat rule holds from this many free seats; NULL: off
    OUT outcome text,              -- held | unchanged | payment_open | at_payment | unavailable |
                                   -- limit | too_many_orders | busy | companion | stranded
    OUT outcome_seats text[],      -- the taken (unavailable), lone (companion) or stranded seats
    OUT opened boolean,            -- a new order was opened: schedule its expiry
    OUT expired_reference text,    -- a lapsed order expired on the way (for the log)
    OUT expired_seats text[],
    OUT expired_late_seconds numeric,
    OUT owner_order booking_order  -- the owner's order: as it is now, or as the refusal saw it
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_seat record;
    v_new_ids bigint[] := '{}';
    v_new_codes text[] := '{}';
    v_taken text[] := '{}';
    v_lapsed jsonb := '{}';
    v_delta bigint := 0;
    v_all text[];
    v_open_from_ip bigint;
    v_refused text[];
    v_seen record;
BEGIN
    opened := false;
    -- A refusal without a lock: a wanted seat that, as committed when this statement began, is
    -- sold, blocked or held (unlapsed) for another order, while the owner's order could take
    -- seats (none, or holding and not lapsed: else the call below expires it or answers
    -- `at_payment` first). The call below would answer the same: its outcome is the seats taken,
    -- as these rows show them, and the state it would wait for is only a later one. So answer
    -- now, having locked nothing and written nothing: no transaction id, no WAL to flush at
    -- commit, no subtransaction. In a sell-out most clicks are such refusals. One statement,
    -- so one snapshot: the order and the seats as one committed state (read in two, a
    -- concurrent first hold of the same owner could show the seat it took but not its order).
    SELECT o AS owner_order,
           (SELECT coalesce(array_agg(s.code::text ORDER BY s.id), '{}')
              FROM booking_showseat s
             WHERE s.id = ANY (ARRAY(
                       SELECT (SELECT n.id FROM booking_showseat n
                                WHERE n.showtime_id = p_showtime_id AND n.code = c.code)
                         FROM unnest(p_codes) AS c(code)))
               AND NOT (s.status = 'available' OR (s.status = 'held' AND s.held_until <= p_now))
               AND NOT (s.status = 'held' AND s.order_id IS NOT DISTINCT FROM o.id)) AS taken
      INTO v_seen
      FROM (VALUES (1)) AS one (x)
      LEFT JOIN booking_order o
        ON o.showtime_id = p_showtime_id AND o.owner_token = p_owner_token
       AND o.status IN ('holding', 'paying');
    owner_order := v_seen.owner_order;
    IF cardinality(v_seen.taken) > 0
       AND (owner_order.id IS NULL OR (owner_order.status = 'holding' AND owner_order.expires_at > p_now)) THEN
        outcome := 'unavailable';
        outcome_seats := v_seen.taken;
        RETURN;
    END IF;
    owner_order := NULL;

    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_showtime_id::text || ':' || p_owner_token, 0));

        SELECT * INTO owner_order FROM booking_order o
         WHERE o.showtime_id = p_showtime_id AND o.owner_token = p_owner_token
           AND o.status IN ('holding', 'paying')
         LIMIT 1
           FOR UPDATE;

        IF owner_order.id IS NOT NULL AND owner_order.expires_at <= p_now THEN
            IF owner_order.status = 'paying' AND owner_order.id IS DISTINCT FROM p_payment_closed THEN
                -- Its payment page may still take money: Python closes it (no lock held while
                -- Stripe answers) and calls again.
                outcome := 'payment_open';
                RETURN;
            END IF;
            -- The transition `expire` (order_expire_locked): its held seats back on sale.
            PERFORM 1 FROM booking_showseat s
              WHERE s.order_id = owner_order.id AND s.status IN ('held', 'sold')
              ORDER BY s.id
                FOR UPDATE;
            WITH released AS (
                UPDATE booking_showseat s
                   SET status = 'available', order_id = NULL, held_until = NULL, version = s.version + 1
                 WHERE s.order_id = owner_order.id AND s.status = 'held'
             RETURNING s.id, s.code
            )
            SELECT coalesce(array_agg(r.code ORDER BY r.id), '{}') INTO expired_seats FROM released r;
            expired_late_seconds := round(extract(epoch FROM p_now - owner_order.expires_at), 3);
            UPDATE booking_order
               SET status = 'expired', status_reason = 'lapsed before the owner''s next hold',
                   updated_at = clock_timestamp()
             WHERE id = owner_order.id;
            INSERT INTO booking_ledgerentry (created_at, actor, action, showtime_id, order_id, seats, reason, data)
            VALUES (clock_timestamp(), p_actor, 'order.expire', owner_order.showtime_id, owner_order.id,
                    ARRAY(SELECT c FROM unnest(expired_seats) c ORDER BY c COLLATE "C"),
                    'lapsed before the owner''s next hold',
                    jsonb_build_object('late_seconds', expired_late_seconds));
            expired_reference := owner_order.reference;
            owner_order := NULL;
        ELSIF owner_order.id IS NOT NULL AND owner_order.status <> 'holding' THEN
            -- The transition `change_seats` starts only from holding.
            outcome := 'at_payment';
            RAISE SQLSTATE 'SL000';
        END IF;

        FOR v_seat IN
            SELECT s.id, s.code, s.status, s.order_id, s.held_until, s.price
              FROM booking_showseat s
             WHERE s.id = ANY (ARRAY(
                       SELECT (SELECT n.id FROM booking_showseat n
                                WHERE n.showtime_id = p_showtime_id AND n.code = c.code)
                         FROM unnest(p_codes || p_lock_codes) AS c(code)))
             ORDER BY s.id
               FOR UPDATE
        LOOP
            CONTINUE WHEN NOT (v_seat.code = ANY (p_codes));  -- locked only
            CONTINUE WHEN owner_order.id IS NOT NULL AND v_seat.order_id = owner_order.id
                          AND v_seat.status = 'held';  -- already in the basket
            -- Invariant 2: a hold whose time has passed is as good as no hold.
            IF v_seat.status = 'available' OR (v_seat.status = 'held' AND v_seat.held_until <= p_now) THEN
                v_new_ids := v_new_ids || v_seat.id;
                v_new_codes := v_new_codes || v_seat.code::text;
                v_delta := v_delta + v_seat.price;
                IF v_seat.status = 'held' THEN
                    v_lapsed := v_lapsed || jsonb_build_object(v_seat.code, v_seat.order_id);
                END IF;
            ELSE
                v_taken := v_taken || v_seat.code::text;
            END IF;
        END LOOP;

        IF cardinality(v_taken) > 0 THEN
            outcome := 'unavailable';
            outcome_seats := v_taken;
            RAISE SQLSTATE 'SL000';
        END IF;
        v_all := ARRAY(
            SELECT DISTINCT c COLLATE "C"
              FROM unnest(coalesce(owner_order.seat_codes::text[], '{}') || v_new_codes) c
             ORDER BY 1
        );
        IF cardinality(v_all) > p_max_seats THEN
            outcome := 'limit';
            RAISE SQLSTATE 'SL000';
        END IF;
        IF cardinality(v_new_ids) = 0 THEN
            outcome := 'unchanged';
            RETURN;
        END IF;

        -- A companion seat comes with its wheelchair space unless that space is taken.
        SELECT coalesce(array_agg(c.key ORDER BY c.key), '{}') INTO v_refused
          FROM jsonb_each_text(coalesce(p_companions, '{}')) c
          JOIN booking_showseat w ON w.id = (SELECT n.id FROM booking_showseat n
                                              WHERE n.showtime_id = p_showtime_id AND n.code = c.value)
         WHERE c.key = ANY (v_new_codes)
           AND NOT (w.id = ANY (v_new_ids))
           AND (w.status = 'available' OR (w.status = 'held' AND w.held_until <= p_now));
        IF cardinality(v_refused) > 0 THEN
            outcome := 'companion';
            outcome_seats := v_refused;
            RAISE SQLSTATE 'SL000';
        END IF;

        IF p_orphan_min_free IS NOT NULL THEN
            -- Free seats beside a new seat that would have no free neighbour left.
            SELECT coalesce(array_agg(c.code::text ORDER BY c.pos), '{}') INTO v_refused
              FROM booking_showseat c
             WHERE c.id = ANY (ARRAY(
                       SELECT (SELECT b.id FROM booking_showseat b
                                WHERE b.showtime_id = p_showtime_id AND b.pos = n.pos + d.d)
                         FROM booking_showseat n CROSS JOIN (VALUES (-1), (1)) AS d(d)
                        WHERE n.id = ANY (v_new_ids)))
               AND NOT (c.id = ANY (v_new_ids))
               AND c.kind NOT IN ('wheelchair', 'companion')
               AND (c.status = 'available' OR (c.status = 'held' AND c.held_until <= p_now))
               AND NOT EXISTS (
                   SELECT 1 FROM booking_showseat x
                    WHERE x.showtime_id = p_showtime_id AND x.pos IN (c.pos - 1, c.pos + 1)
                      AND NOT (x.id = ANY (v_new_ids))
                      AND (x.status = 'available' OR (x.status = 'held' AND x.held_until <= p_now)));
            IF cardinality(v_refused) > 0
               AND booking_orphan_rule_holds(p_showtime_id, p_now, p_orphan_min_free, cardinality(v_new_ids)) THEN
                outcome := 'stranded';
                outcome_seats := v_refused;
                RAISE SQLSTATE 'SL000';
            END IF;
        END IF;

        IF owner_order.id IS NULL THEN
            IF p_client_ip IS NOT NULL THEN
                -- Counted up to the cap, along the open orders of this address (index
                -- order_open_by_ip): 0009 counted them along every open order of every showtime.
                SELECT count(*) INTO v_open_from_ip FROM (
                    SELECT 1 FROM booking_order o
                     WHERE o.client_ip = p_client_ip AND o.status IN ('holding', 'paying')
                       AND o.expires_at > p_now
                     LIMIT p_max_orders_per_ip
                ) AS o;
                IF v_open_from_ip >= p_max_orders_per_ip THEN
                    outcome := 'too_many_orders';
                    RAISE SQLSTATE 'SL000';
                END IF;
            END IF;
            INSERT INTO booking_order (
                reference, showtime_id, owner_token, staff_user_id, channel, status, expires_at,
                seat_codes, total, currency, email, name, client_ip, payment_method, basket_version,
                status_reason, created_at, paid_at, updated_at
            ) VALUES (
                p_reference, p_showtime_id, p_owner_token, p_staff_user_id, p_channel, 'holding', p_expires_at,
                '{}', 0, p_currency, '', '', p_client_ip, '', 0,
                '', clock_timestamp(), NULL, clock_timestamp()
            ) RETURNING * INTO owner_order;
            opened := true;
            INSERT INTO booking_ledgerentry (created_at, actor, action, showtime_id, order_id, seats, reason, data)
            VALUES (clock_timestamp(), p_actor, 'order.open', p_showtime_id, owner_order.id, '{}', '',
                    jsonb_build_object('expires_at', p_expires_iso));
        END IF;

        UPDATE booking_showseat s
           SET status = 'held', order_id = owner_order.id, held_until = owner_order.expires_at,
               version = s.version + 1
         WHERE s.id = ANY (v_new_ids);
        -- A new basket version: a price fixed for an older one can never be taken for this one.
        UPDATE booking_order o
           SET seat_codes = v_all, total = o.total + v_delta, basket_version = o.basket_version + 1,
               updated_at = clock_timestamp()
         WHERE o.id = owner_order.id
        RETURNING * INTO owner_order;
        INSERT INTO booking_ledgerentry (created_at, actor, action, showtime_id, order_id, seats, reason, data)
        VALUES (clock_timestamp(), p_actor, 'seat.hold', p_showtime_id, owner_order.id,
                ARRAY(SELECT c FROM unnest(v_new_codes) c ORDER BY c COLLATE "C"),
                CASE WHEN v_lapsed = '{}' THEN '' ELSE 'took over lapsed holds' END,
                CASE WHEN v_lapsed = '{}' THEN '{}' ELSE jsonb_build_object('lapsed_from_orders', v_lapsed) END);
        outcome := 'held';
    EXCEPTION
        WHEN SQLSTATE 'SL000' THEN
            opened := false;  -- everything above was rolled back, a lazy expiry included
            expired_reference := NULL;
            expired_seats := NULL;
            expired_late_seconds := NULL;
        WHEN lock_not_available THEN
            outcome := 'busy';
            opened := false;
            expired_reference := NULL;
            expired_seats := NULL;
            expired_late_seconds := NULL;
            owner_order := NULL;
    END;
END;
$$;


CREATE OR REPLACE FUNCTION booking_seat_release(
    p_showtime_id bigint,
    p_codes text[],
    p_owner_token text,
    p_actor text,
    p_lock_timeout text,
    p_now timestamptz,
    p_lock_codes text[],           -- neighbours and linked seats: locked, never released
    p_companions jsonb,            -- {wheelchair space: its companion seat} for wanted spaces
    p_orphan_min_free integer,     -- as for the hold; NULL: off
    OUT outcome text,              -- released | not_yours | at_payment | busy | companion | stranded
    OUT outcome_seats text[],      -- not the owner's (not_yours), kept companions, stranded seats
    OUT owner_order booking_order
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_seat record;
    v_ids bigint[] := '{}';
    v_codes text[] := '{}';
    v_not_mine text[] := '{}';
    v_delta bigint := 0;
    v_refused text[];
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_showtime_id::text || ':' || p_owner_token, 0));

        SELECT * INTO owner_order FROM booking_order o
         WHERE o.showtime_id = p_showtime_id AND o.owner_token = p_owner_token
           AND o.status IN ('holding', 'paying')
         LIMIT 1
           FOR UPDATE;
        IF owner_order.id IS NULL THEN
            outcome := 'not_yours';
            outcome_seats := p_codes;
            RAISE SQLSTATE 'SL000';
        END IF;
        IF owner_order.status <> 'holding' THEN
            outcome := 'at_payment';
            RAISE SQLSTATE 'SL000';
        END IF;

        FOR v_seat IN
            SELECT s.id, s.code, s.status, s.order_id, s.price
              FROM booking_showseat s
             WHERE s.id = ANY (ARRAY(
                       SELECT (SELECT n.id FROM booking_showseat n
                                WHERE n.showtime_id = p_showtime_id AND n.code = c.code)
                         FROM unnest(p_codes || p_lock_codes) AS c(code)))
             ORDER BY s.id
               FOR UPDATE
        LOOP
            CONTINUE WHEN NOT (v_seat.code = ANY (p_codes));  -- locked only
            IF v_seat.order_id = owner_order.id AND v_seat.status = 'held' THEN
                v_ids := v_ids || v_seat.id;
                v_codes := v_codes || v_seat.code::text;
                v_delta := v_delta + v_seat.price;
            ELSE
                v_not_mine := v_not_mine || v_seat.code::text;
            END IF;
        END LOOP;
        IF cardinality(v_not_mine) > 0 THEN
            outcome := 'not_yours';
            outcome_seats := v_not_mine;
            RAISE SQLSTATE 'SL000';
        END IF;

        -- A wheelchair space goes back only with its companion seat, if the order has that.
        SELECT coalesce(array_agg(c.value ORDER BY c.value), '{}') INTO v_refused
          FROM jsonb_each_text(coalesce(p_companions, '{}')) c
          JOIN booking_showseat m ON m.id = (SELECT n.id FROM booking_showseat n
                                              WHERE n.showtime_id = p_showtime_id AND n.code = c.value)
         WHERE c.key = ANY (v_codes)
           AND m.order_id = owner_order.id AND m.status = 'held' AND NOT (m.id = ANY (v_ids));
        IF cardinality(v_refused) > 0 THEN
            outcome := 'companion';
            outcome_seats := v_refused;
            RAISE SQLSTATE 'SL000';
        END IF;

        IF p_orphan_min_free IS NOT NULL THEN
            -- Released seats left with no free neighbour, beside a seat the order keeps.
            SELECT coalesce(array_agg(c.code::text ORDER BY c.pos), '{}') INTO v_refused
              FROM booking_showseat c
             WHERE c.id = ANY (v_ids)
               AND c.kind NOT IN ('wheelchair', 'companion')
               AND NOT EXISTS (
                   SELECT 1 FROM booking_showseat x
                    WHERE x.showtime_id = p_showtime_id AND x.pos IN (c.pos - 1, c.pos + 1)
                      AND (x.id = ANY (v_ids) OR x.status = 'available'
                           OR (x.status = 'held' AND x.held_until <= p_now)))
               AND EXISTS (
                   SELECT 1 FROM booking_showseat x
                    WHERE x.showtime_id = p_showtime_id AND x.pos IN (c.pos - 1, c.pos + 1)
                      AND x.order_id = owner_order.id AND x.status = 'held' AND NOT (x.id = ANY (v_ids)));
            IF cardinality(v_refused) > 0
               AND booking_orphan_rule_holds(p_showtime_id, p_now, p_orphan_min_free, NULL) THEN
                outcome := 'stranded';
                outcome_seats := v_refused;
                RAISE SQLSTATE 'SL000';
            END IF;
        END IF;

        UPDATE booking_showseat s
           SET status = 'available', order_id = NULL, held_until = NULL, version = s.version + 1
         WHERE s.id = ANY (v_ids);
        UPDATE booking_order o
           SET seat_codes = ARRAY(
                   SELECT DISTINCT c COLLATE "C" FROM unnest(o.seat_codes::text[]) c
                    WHERE c <> ALL (v_codes) ORDER BY 1),
               total = o.total - v_delta, basket_version = o.basket_version + 1,
               updated_at = clock_timestamp()
         WHERE o.id = owner_order.id
        RETURNING * INTO owner_order;
        INSERT INTO booking_ledgerentry (created_at, actor, action, showtime_id, order_id, seats, reason, data)
        VALUES (clock_timestamp(), p_actor, 'seat.release', p_showtime_id, owner_order.id,
                ARRAY(SELECT c FROM unnest(v_codes) c ORDER BY c COLLATE "C"), '', '{}');
        outcome := 'released';
    EXCEPTION
        WHEN SQLSTATE 'SL000' THEN
            NULL;  -- nothing was written
        WHEN lock_not_available THEN
            outcome := 'busy';
            owner_order := NULL;
    END;
END;
$$;

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
               WHERE n.id = ANY (ARRAY(
                         SELECT (SELECT b.id FROM booking_showseat b
                                  WHERE b.showtime_id = p_showtime_id AND b.code = c.code)
                           FROM unnest(p_codes) AS c(code)))
              UNION ALL
              SELECT * FROM booking_showseat o
               WHERE o.order_id = p_order_id AND o.status = 'held' AND o.showtime_id = p_showtime_id
                 AND NOT (o.code = ANY (p_codes))
          ) s
    );
END;
$$;
