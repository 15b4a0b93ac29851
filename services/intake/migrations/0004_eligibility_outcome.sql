-- The eligibility assessment in force, as recorded from `eligibility.assessed`: the case record
-- shows what the scope rules (or a caseworker's override) decided. Only the latest revision is
-- kept here; the journal keeps every one.
ALTER TABLE inquiries
    ADD COLUMN eligibility_outcome text CHECK (eligibility_outcome IN ('accepted', 'accepted_in_part',
        'referred', 'out_of_scope', 'needs_review')),
    ADD COLUMN referral_target     text,
    ADD COLUMN fired_rule_ids      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN assessment_revision bigint NOT NULL DEFAULT 0;
