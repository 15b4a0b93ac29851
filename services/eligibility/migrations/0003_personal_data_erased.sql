-- Erasure of an inquiry's personal data (intake's `inquiry.personal_data_erased`): the override
-- reasons (caseworkers' free text about the case) and the words that matched in the description
-- go; the outcome, the rules that fired, the signals' topics and the history's steps stay.
ALTER TABLE assessments ADD COLUMN personal_data_erased_at timestamptz;
