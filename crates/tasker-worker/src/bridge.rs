//! The string-only face of [`Worker`] that every language binding wraps
//! (pyo3, magnus and the C ABI), so the bindings hold no worker logic.
//!
//! Steps cross the boundary as JSON objects with the fields of
//! [`ClaimedStep`]; results as JSON text; errors as display strings.
//!
//! The bindings pass `DATABASE_URL` only: the queue's database comes from
//! `PGMQ_DATABASE_URL` in the process environment
//! ([`DatabaseUrls::from_env_for`]), so split databases need no change in
//! any binding.
//!
//! ```
//! use tasker_worker::bridge;
//!
//! let step = r#"{"msg_id":1,"step_id":2,"task_id":3,"namespace":"python",
//!               "handler":"sum","input":[1,2],"attempt":1}"#;
//! let parsed = bridge::parse_step(step).unwrap();
//! assert_eq!(parsed.handler, "sum");
//! assert_eq!(bridge::parse_step(&bridge::step_json(&parsed)).unwrap(), parsed);
//! assert!(bridge::parse_step("{}").unwrap_err().contains("missing field"));
//! ```

use crate::{ClaimedStep, Worker};
use std::time::Duration;
use tasker_shared::config::DatabaseUrls;
use tasker_shared::http::ServerHandle;

/// A connected worker for one namespace, listening for new work.
pub struct Session {
    worker: Worker,
}

impl Session {
    /// Connects, creates the namespace's queue and starts listening for
    /// NOTIFY so that [`Session::wait_for_work`] misses nothing. The queue
    /// is in `PGMQ_DATABASE_URL`'s database when that is set (see the
    /// module documentation).
    pub fn connect(database_url: &str, namespace: &str) -> Result<Session, String> {
        let urls = DatabaseUrls::from_env_for(database_url);
        let mut worker = Worker::connect(urls, namespace).map_err(|e| e.to_string())?;
        worker.listen().map_err(|e| e.to_string())?;
        Ok(Session { worker })
    }

    /// The worker id recorded on claimed steps.
    pub fn worker_id(&self) -> &str {
        self.worker.worker_id()
    }

    /// The queue read: `<namespace>_queue`.
    pub fn queue_name(&self) -> &str {
        self.worker.queue_name()
    }

    /// Claims the next step as JSON, or `None` when nothing is visible.
    pub fn claim(&mut self, visibility_timeout_ms: u64) -> Result<Option<String>, String> {
        let vt = Duration::from_millis(visibility_timeout_ms);
        let step = self.worker.claim_next(vt).map_err(|e| e.to_string())?;
        Ok(step.as_ref().map(step_json))
    }

    /// Records a successful outcome for a step returned by [`Session::claim`].
    pub fn complete(&mut self, step_json: &str, result_json: &str) -> Result<(), String> {
        let step = parse_step(step_json)?;
        self.worker
            .complete_json(&step, result_json)
            .map_err(|e| e.to_string())
    }

    /// Records a failure for a step returned by [`Session::claim`].
    pub fn fail(&mut self, step_json: &str, message: &str) -> Result<(), String> {
        let step = parse_step(step_json)?;
        self.worker.fail(&step, message).map_err(|e| e.to_string())
    }

    /// Blocks until work is sent to the namespace or the timeout passes.
    pub fn wait_for_work(&mut self, timeout_ms: u64) -> Result<bool, String> {
        self.worker
            .wait_for_work(Duration::from_millis(timeout_ms))
            .map_err(|e| e.to_string())
    }
}

/// Encodes a claimed step for a binding.
pub fn step_json(step: &ClaimedStep) -> String {
    serde_json::json!({
        "msg_id": step.msg_id,
        "step_id": step.step_id,
        "task_id": step.task_id,
        "namespace": step.namespace,
        "handler": step.handler,
        "input": step.input,
        "attempt": step.attempt,
    })
    .to_string()
}

/// Decodes a step handed back by a binding.
pub fn parse_step(json: &str) -> Result<ClaimedStep, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("step is not JSON: {e}"))?;
    let int = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_i64())
            .ok_or_else(|| format!("step: missing field {k} (an integer)"))
    };
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("step: missing field {k} (a string)"))
    };
    Ok(ClaimedStep {
        msg_id: int("msg_id")?,
        step_id: int("step_id")?,
        task_id: int("task_id")?,
        namespace: text("namespace")?,
        handler: text("handler")?,
        input: v.get("input").cloned().unwrap_or_default(),
        attempt: i32::try_from(int("attempt")?).map_err(|e| format!("step: attempt: {e}"))?,
    })
}

/// Starts the `/health` server (see [`crate::health`]) on `host:port`;
/// split (`PGMQ_DATABASE_URL`), it checks the queue's database too.
pub fn serve_health(
    host: &str,
    port: u16,
    database_url: &str,
    service: &str,
    version: &str,
) -> Result<ServerHandle, String> {
    let urls = DatabaseUrls::from_env_for(database_url);
    crate::health::serve((host, port), urls, service, version)
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_step_names_the_bad_field() {
        let err = parse_step(r#"{"msg_id":1,"step_id":"x"}"#).unwrap_err();
        assert!(err.contains("step_id"), "{err}");
        assert!(parse_step("nope")
            .unwrap_err()
            .starts_with("step is not JSON"));
    }

    #[test]
    fn connect_reports_errors_as_text() {
        let err = Session::connect("postgresql://nobody@127.0.0.1:1/none", "python")
            .err()
            .unwrap();
        assert!(!err.is_empty());
    }

    #[test]
    fn serve_health_reports_a_busy_port() {
        let first = serve_health("127.0.0.1", 0, "postgresql://x@127.0.0.1:1/x", "w", "0").unwrap();
        let port = first.local_addr().port();
        let err = serve_health("127.0.0.1", port, "postgresql://x@127.0.0.1:1/x", "w", "0")
            .err()
            .unwrap();
        assert!(err.contains(&format!(":{port}")), "{err}");
        first.shutdown();
    }
}
