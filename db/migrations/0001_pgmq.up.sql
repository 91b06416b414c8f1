-- A small, extension-free message queue in the style of pgmq.
--
-- Every queue shares one table; a message is visible when its visibility
-- timeout (vt) has passed. Readers claim messages with FOR UPDATE SKIP LOCKED
-- and push vt forward, so a message a consumer never deletes or archives
-- becomes visible again. send() raises a NOTIFY on channel 'pgmq_<queue>'
-- (payload: the msg_id) so consumers can LISTEN instead of busy-polling.
--
-- Queue names are limited to [A-Za-z0-9_]{1,58}: 'pgmq_' plus the name must
-- fit PostgreSQL's 63-byte identifier limit for LISTEN channels.

CREATE SCHEMA pgmq;

CREATE TABLE pgmq.queues (
    queue_name text PRIMARY KEY
        CONSTRAINT queues_name_format CHECK (queue_name ~ '^[A-Za-z0-9_]{1,58}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pgmq.messages (
    msg_id      bigserial PRIMARY KEY,
    queue_name  text NOT NULL REFERENCES pgmq.queues (queue_name) ON DELETE CASCADE,
    read_ct     integer NOT NULL DEFAULT 0,
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    vt          timestamptz NOT NULL DEFAULT now(),
    message     jsonb NOT NULL
);

CREATE INDEX messages_queue_name_vt_idx ON pgmq.messages (queue_name, vt);

CREATE TABLE pgmq.archive (
    msg_id      bigint PRIMARY KEY,
    queue_name  text NOT NULL,
    read_ct     integer NOT NULL,
    enqueued_at timestamptz NOT NULL,
    vt          timestamptz NOT NULL,
    message     jsonb NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX archive_queue_name_idx ON pgmq.archive (queue_name, archived_at);

-- Creates a queue; a no-op when it already exists.
CREATE FUNCTION pgmq.create_queue(queue_name text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF create_queue.queue_name IS NULL OR create_queue.queue_name !~ '^[A-Za-z0-9_]{1,58}$' THEN
        RAISE EXCEPTION 'pgmq: invalid queue name %: use 1-58 characters from [A-Za-z0-9_]',
            quote_literal(create_queue.queue_name)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO pgmq.queues AS q (queue_name)
    VALUES (create_queue.queue_name)
    ON CONFLICT ON CONSTRAINT queues_pkey DO NOTHING;
END;
$$;

-- Enqueues a message, visible after delay_seconds; returns its msg_id.
CREATE FUNCTION pgmq.send(queue_name text, message jsonb, delay_seconds integer DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    new_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pgmq.queues q WHERE q.queue_name = send.queue_name) THEN
        RAISE EXCEPTION 'pgmq: queue % does not exist', quote_literal(send.queue_name)
            USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO pgmq.messages AS m (queue_name, message, vt)
    VALUES (send.queue_name,
            send.message,
            clock_timestamp() + make_interval(secs => greatest(coalesce(send.delay_seconds, 0), 0)))
    RETURNING m.msg_id INTO new_id;
    -- Delivered to listeners when the surrounding transaction commits.
    PERFORM pg_notify('pgmq_' || send.queue_name, new_id::text);
    RETURN new_id;
END;
$$;

-- Claims up to qty visible messages, hiding them for vt_seconds.
CREATE FUNCTION pgmq.read(queue_name text, vt_seconds integer, qty integer)
RETURNS SETOF pgmq.messages
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY
    WITH visible AS (
        SELECT m.msg_id
        FROM pgmq.messages m
        WHERE m.queue_name = read.queue_name
          AND m.vt <= clock_timestamp()
        ORDER BY m.msg_id
        LIMIT greatest(coalesce(read.qty, 1), 0)
        FOR UPDATE SKIP LOCKED
    )
    UPDATE pgmq.messages m
    SET vt = clock_timestamp() + make_interval(secs => greatest(coalesce(read.vt_seconds, 0), 0)),
        read_ct = m.read_ct + 1
    FROM visible
    WHERE m.msg_id = visible.msg_id
    RETURNING m.*;
END;
$$;

-- Removes a message; true when it existed.
CREATE FUNCTION pgmq.delete(queue_name text, msg_id bigint)
RETURNS boolean
LANGUAGE sql
AS $$
    WITH deleted AS (
        DELETE FROM pgmq.messages m
        WHERE m.queue_name = $1 AND m.msg_id = $2
        RETURNING 1
    )
    SELECT count(*) > 0 FROM deleted;
$$;

-- Moves a message to pgmq.archive; true when it existed.
CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint)
RETURNS boolean
LANGUAGE sql
AS $$
    WITH moved AS (
        DELETE FROM pgmq.messages m
        WHERE m.queue_name = $1 AND m.msg_id = $2
        RETURNING m.msg_id, m.queue_name, m.read_ct, m.enqueued_at, m.vt, m.message
    ), archived AS (
        INSERT INTO pgmq.archive (msg_id, queue_name, read_ct, enqueued_at, vt, message)
        SELECT * FROM moved
        RETURNING 1
    )
    SELECT count(*) > 0 FROM archived;
$$;

-- Drops a queue with its messages and archive; true when it existed.
CREATE FUNCTION pgmq.drop_queue(queue_name text)
RETURNS boolean
LANGUAGE sql
AS $$
    WITH purged AS (
        DELETE FROM pgmq.archive a WHERE a.queue_name = $1
    ), dropped AS (
        DELETE FROM pgmq.queues q WHERE q.queue_name = $1
        RETURNING 1
    )
    SELECT count(*) > 0 FROM dropped;
$$;
