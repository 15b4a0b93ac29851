-- Reveals of CPR numbers are recorded in the access log now (`access_log`, data `cpr_revealed`),
-- with every other look at personal data. The reveals recorded before stay here, read-only, as
-- the record of that time.
COMMENT ON TABLE cpr_reveals IS
    'Reveals of CPR numbers recorded before the access log took over; no longer written.';
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON cpr_reveals FROM PUBLIC;
