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
