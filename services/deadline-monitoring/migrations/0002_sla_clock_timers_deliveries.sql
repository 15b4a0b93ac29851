-- The SLA clock (pauses, stop, outcome, revisions), its timers and the delivery of notices.
-- All of it is this service's own state: the stream only feeds it.

ALTER TABLE deadlines DROP CONSTRAINT deadlines_state_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_state_check
    CHECK (state IN ('running', 'paused', 'stopped'));
ALTER TABLE deadlines
    ADD COLUMN reference           text NOT NULL DEFAULT '',
    ADD COLUMN caseworker_id       text NOT NULL DEFAULT '',
    -- The inquiry version the receipt facts (department, reference, received_at) come from:
    -- 0 for inquiry.received, the amendment's version for inquiry.amended.
    ADD COLUMN answers_version     bigint NOT NULL DEFAULT 0,
    ADD COLUMN revision            bigint NOT NULL DEFAULT 1,
    ADD COLUMN clock_started_at    timestamptz,
    ADD COLUMN start_day           date,
    ADD COLUMN paused_working_days integer NOT NULL DEFAULT 0,
    ADD COLUMN stop_reason         text CHECK (stop_reason IN ('answered', 'closed', 'withdrawn')),
    ADD COLUMN stopped_at          timestamptz,
    ADD COLUMN result              text CHECK (result IN ('met', 'breached')),
    ADD COLUMN working_days_over   integer,
    ADD COLUMN working_days_used   integer,
    -- When reconciliation last compared this deadline with intake.
    ADD COLUMN reconciled_at       timestamptz,
    ADD COLUMN updated_at          timestamptz;
UPDATE deadlines
SET clock_started_at = received_at,
    start_day = (received_at AT TIME ZONE 'Europe/Copenhagen')::date
WHERE clock_started_at IS NULL;
ALTER TABLE deadlines ALTER COLUMN clock_started_at SET NOT NULL;
ALTER TABLE deadlines ALTER COLUMN start_day SET NOT NULL;
DROP INDEX deadlines_running_by_due_at;
CREATE INDEX deadlines_running_by_due_at ON deadlines (due_at) WHERE state = 'running';
CREATE INDEX deadlines_open_by_reconciled_at ON deadlines (reconciled_at NULLS FIRST)
    WHERE state <> 'stopped';

-- The inquiry's lifecycle steps as the clock sees them, from events or from intake's journal;
-- the clock is replayed from these in version order, so late or repeated events are harmless.
CREATE TABLE inquiry_steps (
    inquiry_id    uuid NOT NULL,
    version       bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('pause', 'resume', 'answered', 'closed',
                                                 'withdrawn', 'reopen', 'other')),
    at            timestamptz NOT NULL,
    caseworker_id text NOT NULL DEFAULT '',
    PRIMARY KEY (inquiry_id, version)
);

-- One row per step of the warning and escalation chain of a deadline revision; it fires once
-- (fired_at set in the transaction that writes its event and deliveries).
CREATE TABLE timers (
    timer_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inquiry_id   uuid NOT NULL REFERENCES deadlines (inquiry_id),
    revision     bigint NOT NULL,
    step         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('warning', 'due_today', 'breached', 'escalated')),
    recipient    text NOT NULL CHECK (recipient IN ('caseworker', 'head_of_office',
                                                     'department_director', 'requester')),
    working_days integer NOT NULL,
    due_date     date NOT NULL,
    fire_at      timestamptz NOT NULL,
    fired_at     timestamptz,
    UNIQUE (inquiry_id, revision, step)
);
-- The scheduler's query: due, unfired timers in firing order.
CREATE INDEX timers_due ON timers (fire_at, timer_id) WHERE fired_at IS NULL;
-- "No earlier unfired timer of the same inquiry", so one inquiry's timers fire in order.
CREATE INDEX timers_unfired_by_inquiry ON timers (inquiry_id, fire_at, timer_id)
    WHERE fired_at IS NULL;

-- Deliveries of fired notices, written with the firing; retried with backoff, and set aside as
-- dead letters when they keep failing.
CREATE TABLE deliveries (
    delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    timer_id        bigint NOT NULL REFERENCES timers (timer_id),
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    address         text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead_letter')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    delivered_at    timestamptz,
    dead_lettered_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_timer ON deliveries (timer_id);
