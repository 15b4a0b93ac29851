-- Erasure of personal data: after the retention time (`RETENTION_MONTHS` after an inquiry was
-- last closed or withdrawn) or at the person's request (`ErasePersonData`). An erased inquiry
-- keeps its ids, reference, department, categories, dates, status history and outcomes; its
-- sealed record, CPR fingerprint, CVR number, representative, consent and every journal entry's
-- details are gone (see `src/erasure.rs`).

-- When the personal data was last erased; an inquiry reopened and closed again afterwards is
-- due again once its new retention time has run out.
ALTER TABLE inquiries ADD COLUMN personal_data_erased_at timestamptz;

-- An erased row holds neither a sealed record nor plain text.
ALTER TABLE inquiries
    DROP CONSTRAINT inquiries_sealed_or_plain,
    ADD CONSTRAINT inquiries_sealed_plain_or_erased CHECK (personal IS NOT NULL
        OR description IS NOT NULL OR personal_data_erased_at IS NOT NULL);

-- An erased journal entry holds neither sealed nor plain details; never both.
ALTER TABLE journal
    DROP CONSTRAINT journal_details_sealed_or_plain,
    ADD CONSTRAINT journal_details_sealed_plain_or_erased CHECK (details IS NULL OR details_sealed IS NULL);

-- The upgrade job's work list leaves erased rows out: there is nothing left to seal.
DROP INDEX inquiries_plain;
CREATE INDEX inquiries_plain ON inquiries (number)
    WHERE personal IS NULL AND personal_data_erased_at IS NULL;
DROP INDEX journal_plain;
CREATE INDEX journal_plain ON journal (inquiry_id, version)
    WHERE details_sealed IS NULL AND details IS NOT NULL;

-- The retention job's candidates: ended inquiries, oldest first.
CREATE INDEX inquiries_ended ON inquiries (number) WHERE status IN ('closed', 'withdrawn');

-- The erasure ledger, ids only: which inquiry, when, why. Written in the erasure's transaction,
-- kept so that an erasure can be done again on data restored from a backup taken before it.
CREATE TABLE erasures (
    erasure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inquiry_id uuid NOT NULL REFERENCES inquiries,
    erased_at  timestamptz NOT NULL,
    reason     text NOT NULL CHECK (reason IN ('retention', 'request'))
);
CREATE INDEX erasures_by_inquiry ON erasures (inquiry_id, erased_at);
