-- Deadlines whose inquiry intake does not know: reconciliation notes when it first found one
-- unknown, and stops it after a grace period with the reason 'inquiry_unknown' (recorded as a
-- step of its own, after every real one).

ALTER TABLE deadlines ADD COLUMN unknown_since timestamptz;

ALTER TABLE deadlines DROP CONSTRAINT deadlines_stop_reason_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_stop_reason_check
    CHECK (stop_reason IN ('answered', 'closed', 'withdrawn', 'inquiry_unknown'));

ALTER TABLE inquiry_steps DROP CONSTRAINT inquiry_steps_kind_check;
ALTER TABLE inquiry_steps ADD CONSTRAINT inquiry_steps_kind_check
    CHECK (kind IN ('pause', 'resume', 'answered', 'closed', 'withdrawn', 'reopen', 'other',
                    'inquiry_unknown'));
