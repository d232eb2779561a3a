-- pgbench: the hold transaction reduced to its database work (lock timeout, lock, check, update, ledger).
\set seat random(1, 352)
BEGIN;
SELECT set_config('lock_timeout', '3000ms', true);
SELECT id, status, order_id, held_until FROM bench_seat WHERE id = :seat FOR UPDATE;
UPDATE bench_seat SET status = CASE WHEN status = 'available' THEN 'held' ELSE 'available' END,
       held_until = CASE WHEN status = 'available' THEN now() + interval '15 minutes' END, version = version + 1
 WHERE id = :seat;
INSERT INTO bench_ledger (seat, at, seats) VALUES (:seat, now(), ARRAY[:seat::text]);
COMMIT;
