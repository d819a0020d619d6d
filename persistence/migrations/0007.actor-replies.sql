-- The answer each committed actor command gave, written in the transaction of its change. A command
-- retried after the actor lost its Dapr state (a failed state save, then a deactivation or a move to
-- another replica) is answered as the first attempt was, not decided again: a retried create no
-- longer meets EMAIL_ALREADY_EXISTS for its own account, a retried address add adds nothing
-- (actors/turn.py). Rows are kept a day (service/maintenance.py) and deleted at erasure.
CREATE TABLE actor_replies (
    customer_id UUID NOT NULL,
    request_id VARCHAR(100) NOT NULL,
    reply JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (customer_id, request_id)
);
CREATE INDEX idx_actor_replies_created ON actor_replies (created_at);
