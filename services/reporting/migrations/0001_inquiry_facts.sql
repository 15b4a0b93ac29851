-- The reporting service's schema: one row of facts per inquiry, projected from events alone.
-- Every column is filled by the event that knows it, in whatever order the events arrive.
-- No personal data: ids and categories only.

CREATE TABLE inquiry_facts (
    inquiry_id          uuid PRIMARY KEY,
    department          text,
    request_type        text,
    requester_kind      text,
    received_at         timestamptz,
    eligibility_outcome text,
    due_at              timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inquiry_facts_department ON inquiry_facts (department) WHERE received_at IS NOT NULL;

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
