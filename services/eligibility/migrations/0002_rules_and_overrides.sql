-- The full rule engine: what the rules decided, a caseworker's override of it, and the history
-- of both. `outcome` and `referral_target` hold the decision in force (the override's when there
-- is one), so listings filter on one column. Ids, codes and categories only: an override's
-- reason is a caseworker's note about the case, not the person's text.

ALTER TABLE assessments
    -- Registration order of assessments, for stable paging of the lists and the review queue.
    ADD COLUMN seq                      bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN rules_outcome            text,
    ADD COLUMN rules_referral_target    text,
    ADD COLUMN urgent                   boolean NOT NULL DEFAULT false,
    ADD COLUMN appeal_deadline          date,
    ADD COLUMN review_signals           jsonb NOT NULL DEFAULT '[]',
    -- Grows with every assessment and override; published so consumers keep the latest.
    ADD COLUMN revision                 bigint NOT NULL DEFAULT 1,
    -- The inquiry version whose answers were assessed: an older event never replaces a newer one.
    ADD COLUMN inquiry_version          bigint NOT NULL DEFAULT 1,
    ADD COLUMN override_outcome         text CHECK (override_outcome IN ('accepted', 'accepted_in_part', 'referred', 'out_of_scope', 'needs_review')),
    ADD COLUMN override_referral_target text,
    ADD COLUMN override_reason          text,
    ADD COLUMN override_actor           text,
    ADD COLUMN override_at              timestamptz;

UPDATE assessments SET rules_outcome = outcome, rules_referral_target = referral_target;
ALTER TABLE assessments
    ALTER COLUMN rules_outcome SET NOT NULL,
    ADD CONSTRAINT assessments_rules_outcome_known CHECK (rules_outcome IN ('accepted', 'accepted_in_part', 'referred', 'out_of_scope', 'needs_review')),
    ADD CONSTRAINT assessments_seq_unique UNIQUE (seq);

CREATE INDEX assessments_by_outcome ON assessments (outcome, seq);
CREATE INDEX assessments_by_department ON assessments (department, seq);
-- The caseworkers' queue: sent to review by the rules and not yet decided by anyone.
CREATE INDEX assessments_review_queue ON assessments (seq)
    WHERE rules_outcome = 'needs_review' AND override_outcome IS NULL;

-- Every assessment by the rules and every override or clearing of one, oldest first.
CREATE TABLE assessment_history (
    inquiry_id       uuid NOT NULL REFERENCES assessments,
    revision         bigint NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('assessment', 'override', 'override_cleared')),
    outcome          text NOT NULL,
    referral_target  text,
    fired_rule_ids   text[] NOT NULL DEFAULT '{}',
    rule_set_version text NOT NULL,
    actor            text NOT NULL,
    reason           text,
    at               timestamptz NOT NULL,
    PRIMARY KEY (inquiry_id, revision)
);
