-- Erasure of an inquiry's personal data (intake's `inquiry.personal_data_erased`): the notices'
-- addresses and texts go (a delivery still pending is set aside, never sent blank); the deadline,
-- its steps, timers and result stay.
ALTER TABLE deadlines ADD COLUMN personal_data_erased_at timestamptz;
