-- The id of the notice a delivery carries (its event's id): sent as the webhook's
-- Borgerraad-Delivery-Id and in the e-mail's Message-ID, the same on every retry, so receivers
-- can drop a notice they already have. Rows queued before this column (and by a replica still on
-- the previous version) get an id of their own, stable across their retries.
ALTER TABLE deliveries ADD COLUMN notice_id uuid NOT NULL DEFAULT gen_random_uuid();
