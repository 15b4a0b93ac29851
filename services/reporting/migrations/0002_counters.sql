-- Figures as pre-aggregated counters, kept up to date as each event arrives.
--
-- inquiry_facts holds one row per inquiry: its merged state (the facts with the version or
-- revision that orders them; ids and categories only) and the columns "open now" is counted
-- from. counters holds, per (month, department, dimension, value), how many inquiries count
-- there; every event changes them by the difference its inquiry's state makes, in the same
-- transaction. The tables from 0001 held less; their contents are replaced by a rebuild from
-- the stream (the service starts one by itself when it finds events applied but no state).

DROP TABLE inquiry_facts;

CREATE TABLE inquiry_facts (
    inquiry_id uuid PRIMARY KEY,
    -- The merged state as JSON (serde), read and written only by the service.
    state      text NOT NULL,
    -- Known once the form's answers are; null until then.
    department text,
    open       boolean NOT NULL,
    due_date   date
);
CREATE INDEX inquiry_facts_open ON inquiry_facts (department, due_date) WHERE open;

CREATE TABLE counters (
    -- The first day of the month.
    month      date NOT NULL,
    department text NOT NULL,
    dimension  text NOT NULL,
    value      text NOT NULL,
    count      bigint NOT NULL,
    PRIMARY KEY (month, department, dimension, value)
);
