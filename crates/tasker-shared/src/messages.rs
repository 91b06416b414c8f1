//! Messages exchanged through the queues, and the naming rules for
//! namespaces and queues.
//!
//! The orchestration service sends a [`StepMessage`] to
//! `<namespace>_queue`; a worker for that namespace runs the step and sends a
//! [`StepResult`] to [`ORCHESTRATION_RESULTS_QUEUE`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// The queue workers report step outcomes to.
pub const ORCHESTRATION_RESULTS_QUEUE: &str = "orchestration_results";

/// Longest namespace accepted: `<namespace>_queue` must stay a valid queue
/// name and `pgmq_<queue>` a valid LISTEN channel (63 bytes).
pub const MAX_NAMESPACE_LEN: usize = 40;

/// Longest handler name accepted.
pub const MAX_HANDLER_LEN: usize = 128;

/// A namespace or handler name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

/// Checks a namespace: 1 to [`MAX_NAMESPACE_LEN`] characters from
/// `[a-z0-9_]`.
pub fn validate_namespace(namespace: &str) -> Result<(), NameError> {
    let ok = !namespace.is_empty()
        && namespace.len() <= MAX_NAMESPACE_LEN
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(NameError(format!(
            "invalid namespace {namespace:?}: use 1-{MAX_NAMESPACE_LEN} characters from [a-z0-9_]"
        )))
    }
}

/// Checks a handler name: 1 to [`MAX_HANDLER_LEN`] printable ASCII
/// characters without spaces.
pub fn validate_handler(handler: &str) -> Result<(), NameError> {
    let ok = !handler.is_empty()
        && handler.len() <= MAX_HANDLER_LEN
        && handler.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(NameError(format!(
            "invalid handler {handler:?}: use 1-{MAX_HANDLER_LEN} printable ASCII characters without spaces"
        )))
    }
}

/// The queue that carries a namespace's steps: `<namespace>_queue`.
pub fn queue_for_namespace(namespace: &str) -> Result<String, NameError> {
    validate_namespace(namespace)?;
    Ok(format!("{namespace}_queue"))
}

/// The lifecycle of a task or a step (the `status` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, not picked up yet.
    Pending,
    /// Claimed by a worker.
    InProgress,
    /// Finished successfully; `result` holds the output.
    Complete,
    /// Finished with a failure; `error` holds the message.
    Error,
}

impl Status {
    /// The database / JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InProgress => "in_progress",
            Status::Complete => "complete",
            Status::Error => "error",
        }
    }

    /// True for `complete` and `error`.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Complete | Status::Error)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Status::Pending),
            "in_progress" => Ok(Status::InProgress),
            "complete" => Ok(Status::Complete),
            "error" => Ok(Status::Error),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

/// A step to run, as sent to `<namespace>_queue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMessage {
    /// `tasker.workflow_steps.step_id`
    pub step_id: i64,
    /// `tasker.tasks.task_id`
    pub task_id: i64,
    /// The namespace (selects the worker pool).
    pub namespace: String,
    /// The handler to run inside the worker.
    pub handler: String,
    /// The handler's input.
    #[serde(default)]
    pub input: Value,
}

/// A step outcome, as sent to [`ORCHESTRATION_RESULTS_QUEUE`].
///
/// ```
/// use serde_json::json;
/// use tasker_shared::messages::{Status, StepResult};
///
/// let ok = StepResult::complete(7, 3, json!({"sum": 6}));
/// assert_eq!(ok.status, Status::Complete);
/// let text = serde_json::to_string(&ok).unwrap();
/// assert_eq!(text, r#"{"step_id":7,"task_id":3,"status":"complete","result":{"sum":6}}"#);
///
/// let failed = StepResult::error(7, 3, "boom");
/// assert_eq!(failed.error.as_deref(), Some("boom"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The step that finished.
    pub step_id: i64,
    /// Its task.
    pub task_id: i64,
    /// [`Status::Complete`] or [`Status::Error`].
    pub status: Status,
    /// The handler's output, for `complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The failure message, for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StepResult {
    /// A successful outcome.
    pub fn complete(step_id: i64, task_id: i64, result: Value) -> Self {
        StepResult {
            step_id,
            task_id,
            status: Status::Complete,
            result: Some(result),
            error: None,
        }
    }

    /// A failed outcome.
    pub fn error(step_id: i64, task_id: i64, message: impl Into<String>) -> Self {
        StepResult {
            step_id,
            task_id,
            status: Status::Error,
            result: None,
            error: Some(message.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespaces() {
        for ok in [
            "rust",
            "python",
            "a",
            "ns_1",
            &"x".repeat(MAX_NAMESPACE_LEN),
        ] {
            assert!(validate_namespace(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Rust",
            "has-dash",
            "sp ace",
            "dot.s",
            "ü",
            &"x".repeat(41),
        ] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
        assert_eq!(queue_for_namespace("ruby").unwrap(), "ruby_queue");
        assert!(queue_for_namespace("no way").is_err());
    }

    #[test]
    fn handlers() {
        assert!(validate_handler("sum").is_ok());
        assert!(validate_handler("orders.process-v2").is_ok());
        assert!(validate_handler("").is_err());
        assert!(validate_handler("two words").is_err());
        assert!(validate_handler(&"h".repeat(129)).is_err());
    }

    #[test]
    fn status_round_trips() {
        for s in [
            Status::Pending,
            Status::InProgress,
            Status::Complete,
            Status::Error,
        ] {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert!("done".parse::<Status>().is_err());
        assert!(Status::Complete.is_final() && Status::Error.is_final());
        assert!(!Status::Pending.is_final() && !Status::InProgress.is_final());
    }

    #[test]
    fn step_message_json() {
        let msg = StepMessage {
            step_id: 2,
            task_id: 1,
            namespace: "rust".into(),
            handler: "sum".into(),
            input: json!({"numbers": [1, 2]}),
        };
        let value = serde_json::to_value(&msg).unwrap();
        assert_eq!(
            value,
            json!({"step_id": 2, "task_id": 1, "namespace": "rust", "handler": "sum",
                   "input": {"numbers": [1, 2]}})
        );
        let back: StepMessage = serde_json::from_value(value).unwrap();
        assert_eq!(back, msg);

        // input may be omitted
        let no_input: StepMessage = serde_json::from_value(
            json!({"step_id": 1, "task_id": 1, "namespace": "rust", "handler": "h"}),
        )
        .unwrap();
        assert_eq!(no_input.input, Value::Null);
        assert!(serde_json::from_value::<StepMessage>(json!({"step_id": 1})).is_err());
    }

    #[test]
    fn step_result_json() {
        let err = StepResult::error(5, 4, "bad input");
        let value = serde_json::to_value(&err).unwrap();
        assert_eq!(
            value,
            json!({"step_id": 5, "task_id": 4, "status": "error", "error": "bad input"})
        );
        assert_eq!(serde_json::from_value::<StepResult>(value).unwrap(), err);
    }
}
