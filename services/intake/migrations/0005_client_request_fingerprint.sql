-- What a submission with a client_request_id held, as a keyed fingerprint (HMAC-SHA256 under a
-- key derived from the personal-data key ring; see the personal-data crate): a retry with the
-- same id and the same content gets the first answer, the same id with other content is
-- refused. Rows from before have none and are taken as the same content.
ALTER TABLE inquiries ADD COLUMN client_request_fingerprint bytea;
