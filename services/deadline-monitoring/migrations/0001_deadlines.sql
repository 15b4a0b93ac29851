-- The deadline-monitoring service's schema: the answer deadline of every inquiry. This table,
-- not the stream, is the truth about deadlines.

CREATE TABLE deadlines (
    inquiry_id   uuid PRIMARY KEY,
    department   text NOT NULL,
    received_at  timestamptz NOT NULL,
    working_days integer NOT NULL CHECK (working_days > 0),
    due_date     date NOT NULL,
    due_at       timestamptz NOT NULL,
    state        text NOT NULL CHECK (state IN ('running')),
    scheduled_at timestamptz NOT NULL
);
CREATE INDEX deadlines_running_by_due_at ON deadlines (due_at) WHERE state = 'running';

-- Event ids this service has applied, written in the same transaction as the change, so a
-- redelivered event is recognised and changes nothing.
CREATE TABLE applied_events (
    event_id   uuid PRIMARY KEY,
    event_type text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Messages that can never be applied, kept for a person to look at instead of being retried forever.
CREATE TABLE dead_letters (
    dead_letter_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        text NOT NULL,
    subject         text NOT NULL,
    stream_sequence bigint NOT NULL,
    reason          text NOT NULL,
    payload         bytea NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, stream_sequence)
);

-- Transactional outbox, published by the relay in position order.
CREATE TABLE outbox (
    position      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    subject       text NOT NULL,
    payload       bytea NOT NULL,
    trace_context jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;
