-- The intake service's schema: inquiries with their personal data, and the outbox of events
-- (ids and categories only) that tell the other services about them.

-- Numbers behind the human references (BR-2026-000123); a sequence never blocks concurrent
-- submissions, at the price of gaps when a transaction rolls back.
CREATE SEQUENCE inquiry_number;

CREATE TABLE inquiries (
    inquiry_id          uuid PRIMARY KEY,
    number              bigint NOT NULL UNIQUE,
    reference           text NOT NULL UNIQUE,
    requester_kind      text NOT NULL CHECK (requester_kind IN ('citizen', 'association', 'business')),
    department          text NOT NULL,
    request_type        text NOT NULL CHECK (request_type IN ('advice', 'complaint', 'complaint_guidance',
                                   'decision_explanation', 'dialogue_or_mediation', 'improvement_suggestion')),
    description         text NOT NULL,
    prior_dialogue_held boolean NOT NULL,
    prior_dialogue_date date,
    contact_channel     text NOT NULL CHECK (contact_channel IN ('digital_post', 'email', 'letter', 'phone')),
    status              text NOT NULL DEFAULT 'received',
    received_at         timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
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
