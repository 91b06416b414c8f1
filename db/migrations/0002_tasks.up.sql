-- Tasks and their workflow steps.
--
-- A task is submitted to the orchestration service, which records one step
-- and enqueues it on '<namespace>_queue'. A worker claims the step
-- (in_progress), runs its handler and writes the outcome (complete / error);
-- the orchestration service then copies the outcome onto the task.

CREATE SCHEMA tasker;

CREATE TABLE tasker.tasks (
    task_id    bigserial PRIMARY KEY,
    namespace  text NOT NULL,
    handler    text NOT NULL,
    input      jsonb NOT NULL DEFAULT 'null'::jsonb,
    status     text NOT NULL DEFAULT 'pending'
        CONSTRAINT tasks_status_check CHECK (status IN ('pending', 'in_progress', 'complete', 'error')),
    result     jsonb,
    error      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tasks_status_idx ON tasker.tasks (status);

CREATE TABLE tasker.workflow_steps (
    step_id    bigserial PRIMARY KEY,
    task_id    bigint NOT NULL REFERENCES tasker.tasks (task_id) ON DELETE CASCADE,
    namespace  text NOT NULL,
    handler    text NOT NULL,
    input      jsonb NOT NULL DEFAULT 'null'::jsonb,
    status     text NOT NULL DEFAULT 'pending'
        CONSTRAINT workflow_steps_status_check CHECK (status IN ('pending', 'in_progress', 'complete', 'error')),
    result     jsonb,
    error      text,
    attempts   integer NOT NULL DEFAULT 0,
    claimed_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX workflow_steps_task_id_idx ON tasker.workflow_steps (task_id);
CREATE INDEX workflow_steps_status_idx ON tasker.workflow_steps (status);

-- Keeps updated_at current on every UPDATE.
CREATE FUNCTION tasker.touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER tasks_touch_updated_at
    BEFORE UPDATE ON tasker.tasks
    FOR EACH ROW EXECUTE FUNCTION tasker.touch_updated_at();

CREATE TRIGGER workflow_steps_touch_updated_at
    BEFORE UPDATE ON tasker.workflow_steps
    FOR EACH ROW EXECUTE FUNCTION tasker.touch_updated_at();

-- Copies a finished step's outcome onto its task. Returns the task_id when
-- the task changed, NULL when the step is unknown or not finished yet, or the
-- task was already final (so replays are harmless).
CREATE FUNCTION tasker.finalize_task_from_step(step_id bigint)
RETURNS bigint
LANGUAGE sql
AS $$
    UPDATE tasker.tasks t
    SET status = s.status,
        result = s.result,
        error = s.error
    FROM tasker.workflow_steps s
    WHERE s.step_id = $1
      AND t.task_id = s.task_id
      AND s.status IN ('complete', 'error')
      AND t.status NOT IN ('complete', 'error')
    RETURNING t.task_id;
$$;
