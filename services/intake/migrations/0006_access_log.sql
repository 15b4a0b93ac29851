-- The access log of personal data: one entry per inquiry per response that carried its personal
-- data, hash-chained (see `audit.rs`). Append-only: the trigger below refuses to change or remove
-- entries for every database role, the service's own included; the chain and its head show it if
-- someone gets round the trigger.
CREATE TABLE access_log (
    position      bigint PRIMARY KEY,
    at            timestamptz NOT NULL,
    subject       text NOT NULL,
    client_id     text,
    role          text NOT NULL,
    department    text,
    inquiry_id    uuid NOT NULL REFERENCES inquiries,
    data          text[] NOT NULL,
    purpose       text,
    trace_id      text,
    previous_hash bytea NOT NULL,
    hash          bytea NOT NULL
);
CREATE INDEX access_log_by_inquiry ON access_log (inquiry_id, position);

-- The newest entry: appends take this row's lock, so entries are chained one after another, and
-- verification finds a removed tail.
CREATE TABLE access_log_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint NOT NULL,
    hash      bytea NOT NULL
);
INSERT INTO access_log_head (position, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: entries cannot be changed or removed'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER access_log_no_update_or_delete BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM PUBLIC;

-- A person's access request names a CPR number, which is sealed: a keyed fingerprint of it (see
-- the personal-data crate) finds their inquiries without keeping the number readable.
ALTER TABLE inquiries ADD COLUMN requester_cpr_fingerprint bytea;
CREATE INDEX inquiries_by_cpr_fingerprint ON inquiries (requester_cpr_fingerprint)
    WHERE requester_cpr_fingerprint IS NOT NULL;
CREATE INDEX inquiries_by_cvr ON inquiries (requester_cvr) WHERE requester_cvr IS NOT NULL;
