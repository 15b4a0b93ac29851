-- A warning that was due together with a later step of its chain (after downtime) is marked
-- fired but skipped: no event, no delivery, and GetDeadline shows it as skipped.
ALTER TABLE timers ADD COLUMN skipped boolean NOT NULL DEFAULT false;
