//! String-only helpers for the language workers' integration tests: submit
//! a task as the API does, then settle it as the results loop does, so a
//! test can drive a real round trip without starting the HTTP service.
//! Like the worker bindings, they take `DATABASE_URL` and find the queue's
//! own database, if any, in `PGMQ_DATABASE_URL`.

use crate::{get_task, Connections, DatabaseUrls, NewTask};
use std::time::{Duration, Instant};
use tasker_shared::messages::ORCHESTRATION_RESULTS_QUEUE;

fn connect(database_url: &str) -> Result<Connections, String> {
    Connections::connect(DatabaseUrls::from_env_for(database_url)).map_err(|e| e.to_string())
}

/// Submits a task (`input_json` is its input) and returns its id.
pub fn submit(
    database_url: &str,
    namespace: &str,
    handler: &str,
    input_json: &str,
) -> Result<i64, String> {
    let input = serde_json::from_str(input_json).map_err(|e| format!("input is not JSON: {e}"))?;
    let mut db = connect(database_url)?;
    let task = NewTask {
        namespace: namespace.to_string(),
        handler: handler.to_string(),
        input,
    };
    db.submit_task(&task).map_err(|e| e.to_string())
}

/// Processes `orchestration_results` until the task is complete or failed
/// and returns it as JSON (`{id, namespace, handler, status, result,
/// error}`); an error if it is still open after `timeout_ms`.
pub fn settle(database_url: &str, task_id: i64, timeout_ms: u64) -> Result<String, String> {
    let mut db = connect(database_url)?;
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        db.process_results(ORCHESTRATION_RESULTS_QUEUE, 100)
            .map_err(|e| e.to_string())?;
        let task = get_task(&mut db.main, task_id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("task {task_id} does not exist"))?;
        if task.status.is_final() {
            return serde_json::to_string(&task).map_err(|e| e.to_string());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "task {task_id} is still {} after {timeout_ms} ms",
                task.status.as_str()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN: &str = "postgresql://nobody@127.0.0.1:1/none";

    #[test]
    fn bad_input_is_named_before_connecting() {
        let err = submit(DOWN, "python", "sum", "{oops").unwrap_err();
        assert!(err.starts_with("input is not JSON"), "{err}");
    }

    #[test]
    fn unreachable_database_is_an_error() {
        assert!(submit(DOWN, "python", "sum", "1").is_err());
        assert!(settle(DOWN, 1, 10).is_err());
    }
}
