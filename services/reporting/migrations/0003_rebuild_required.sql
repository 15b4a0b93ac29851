-- A rebuild that must happen, kept until the swap of a rebuild clears it: a restart, a failed
-- attempt or the live consumer filling the tables meanwhile cannot lose it. `requested` counts
-- the requests, so a request made while a rebuild runs is not cleared by that rebuild's swap.
-- Not one of the tables a rebuild replaces.

CREATE TABLE rebuild_required (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    requested    bigint NOT NULL,
    reason       text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);

-- Events applied before the counters existed (migration 2) are in no counter until a rebuild
-- replays them; a rebuild's swap brings an applied_events of its own, written after. This also
-- catches a service that already ran after the upgrade and filled the new tables without them.
INSERT INTO rebuild_required (requested, reason)
SELECT 1, 'upgrade to counters'
WHERE EXISTS (
    SELECT 1 FROM applied_events
    WHERE applied_at < (SELECT installed_on FROM _sqlx_migrations WHERE version = 2)
);
