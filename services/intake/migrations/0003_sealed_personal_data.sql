-- Personal data sealed at rest (AES-256-GCM with the PERSONAL_DATA_KEYS keyring, see the
-- personal-data crate), so that a dump of the database holds no name, CPR number or free text.
--
-- `personal` is one sealed record per inquiry: the requester's name and CPR number, the
-- description, the form's other free text (unit, desired outcome, prior dialogue, attachments)
-- and the representative's name and power of attorney. Each journal entry's details are sealed
-- on their own. The plain columns stay only for rows written before: at start, intake seals
-- those rows and clears their plain columns (src/upgrade.rs), in batches, so afterwards a row
-- holds either its sealed values or, until the job reaches it, its plain ones.

ALTER TABLE inquiries
    ADD COLUMN personal bytea,
    ALTER COLUMN description DROP NOT NULL,
    ADD CONSTRAINT inquiries_sealed_or_plain CHECK (personal IS NOT NULL OR description IS NOT NULL),
    ADD CONSTRAINT inquiries_nothing_plain_beside_sealed CHECK (personal IS NULL
        OR (description IS NULL AND requester_name IS NULL AND requester_cpr IS NULL));

ALTER TABLE representatives
    ALTER COLUMN name DROP NOT NULL,
    ALTER COLUMN power_of_attorney_scope DROP NOT NULL;

ALTER TABLE journal
    ADD COLUMN details_sealed bytea,
    ALTER COLUMN details DROP NOT NULL,
    ADD CONSTRAINT journal_details_sealed_or_plain CHECK ((details IS NULL) <> (details_sealed IS NULL));

-- What the upgrade job still has to seal: empty once it has run.
CREATE INDEX inquiries_plain ON inquiries (number) WHERE personal IS NULL;
CREATE INDEX journal_plain ON journal (inquiry_id, version) WHERE details_sealed IS NULL;

-- Every reveal of CPR numbers in full (GetInquiry with reveal_cpr): when, who, why, which
-- inquiry, what was shown, and the trace of the call. Never the numbers themselves.
CREATE TABLE cpr_reveals (
    reveal_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inquiry_id    uuid NOT NULL REFERENCES inquiries,
    revealed_at   timestamptz NOT NULL,
    actor         text NOT NULL,
    purpose       text NOT NULL,
    -- The requester's own CPR number was shown in full.
    requester_cpr boolean NOT NULL,
    -- CPR numbers written into free text (description, form, journal) were shown in full.
    free_text_cpr boolean NOT NULL,
    -- The W3C trace id of the call, to find its spans and logs.
    trace_id      text
);
CREATE INDEX cpr_reveals_by_inquiry ON cpr_reveals (inquiry_id, revealed_at);
