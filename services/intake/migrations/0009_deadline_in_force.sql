-- The answer deadline in force, as recorded from deadline-monitoring's events: the case record
-- (and so a person's access request) shows when the office promised to answer. Only the latest
-- revision is kept; a stop closes the revision it names, so at equal revisions a stop wins over
-- the schedule, whichever arrives first.
ALTER TABLE inquiries
    ADD COLUMN deadline_due_date            date,
    ADD COLUMN deadline_working_days        integer,
    ADD COLUMN deadline_paused_working_days integer NOT NULL DEFAULT 0,
    ADD COLUMN deadline_state               text CHECK (deadline_state IN ('running', 'overdue',
        'met', 'breached', 'stopped')),
    ADD COLUMN deadline_working_days_over   integer NOT NULL DEFAULT 0,
    ADD COLUMN deadline_revision            bigint NOT NULL DEFAULT 0;
