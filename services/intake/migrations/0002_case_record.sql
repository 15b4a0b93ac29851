-- The whole inquiry and its case lifecycle. Personal data (names, the sealed CPR number, free
-- text) lives here and nowhere else.

ALTER TABLE inquiries
    ADD COLUMN version             bigint NOT NULL DEFAULT 1,
    ADD COLUMN requester_anonymous boolean NOT NULL DEFAULT false,
    ADD COLUMN requester_name      text,
    -- AES-256-GCM, bound to the inquiry id; see the personal-data crate.
    ADD COLUMN requester_cpr       bytea,
    ADD COLUMN requester_cvr       text,
    ADD COLUMN arrival_channel     text NOT NULL DEFAULT 'web_form',
    ADD COLUMN form                jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN client_request_id   text UNIQUE,
    ADD COLUMN caseworker_id       text,
    ADD COLUMN closing_outcome     text,
    ADD COLUMN handling_method     text,
    -- Anonymous inquiries get no answer.
    ALTER COLUMN contact_channel DROP NOT NULL,
    ALTER COLUMN status DROP DEFAULT,
    ADD CONSTRAINT inquiries_status_known CHECK (status IN ('received', 'assessed', 'assigned',
        'in_progress', 'awaiting_requester', 'answered', 'closed', 'withdrawn'));

CREATE INDEX inquiries_by_status ON inquiries (status, number);
CREATE INDEX inquiries_by_department ON inquiries (department, number);
CREATE INDEX inquiries_by_caseworker ON inquiries (caseworker_id, number) WHERE caseworker_id IS NOT NULL;
CREATE INDEX inquiries_by_received_at ON inquiries (received_at);

-- A representative acting for the requester, with the power of attorney they hold.
CREATE TABLE representatives (
    inquiry_id                    uuid PRIMARY KEY REFERENCES inquiries,
    name                          text NOT NULL,
    role                          text NOT NULL CHECK (role IN ('relative', 'lawyer', 'union', 'other')),
    power_of_attorney_scope       text NOT NULL,
    power_of_attorney_valid_until date,
    recorded_at                   timestamptz NOT NULL
);

-- The requester's consent that the office may contact the department about the case.
CREATE TABLE consents (
    inquiry_id         uuid PRIMARY KEY REFERENCES inquiries,
    contact_department boolean NOT NULL,
    recorded_at        timestamptz NOT NULL
);

-- Every change to an inquiry: who, when, what. Version n is the change that made version n.
CREATE TABLE journal (
    inquiry_id   uuid NOT NULL REFERENCES inquiries,
    version      bigint NOT NULL,
    step         text NOT NULL,
    actor        text NOT NULL,
    at           timestamptz NOT NULL,
    status_after text NOT NULL,
    details      text NOT NULL,
    PRIMARY KEY (inquiry_id, version)
);

-- Intake consumes eligibility's assessments to record them as a lifecycle step.
CREATE TABLE applied_events (
    event_id   uuid PRIMARY KEY,
    event_type text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

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
