-- A consent decision records who made it ("update:customer:cust_..." or "update:service:svc:..."),
-- longer than the 50 characters the first schema allowed.
ALTER TABLE customer_consents ALTER COLUMN source TYPE VARCHAR(200);
