//! Helpers for the end-to-end tests in `tests/`: they talk to the
//! orchestration service that `mage test:e2e` (or `mage services:start`)
//! runs, and through it to every language worker.

use serde_json::Value;
use std::time::Duration;
use tasker_client::TaskerClient;
use tasker_shared::config::DEFAULT_ORCHESTRATION_PORT;

/// How long a task may take from submission to its final status.
pub const TASK_TIMEOUT: Duration = Duration::from_secs(30);

/// The orchestration API: `TASKER_E2E_URL`, else
/// `http://127.0.0.1:$ORCHESTRATION_PORT`.
pub fn orchestration_url() -> String {
    if let Ok(url) = std::env::var("TASKER_E2E_URL") {
        return url;
    }
    let port = std::env::var("ORCHESTRATION_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(DEFAULT_ORCHESTRATION_PORT);
    format!("http://127.0.0.1:{port}")
}

/// A client for the running orchestration service. Panics, saying what to
/// run, when it is not healthy.
pub fn client() -> TaskerClient {
    let url = orchestration_url();
    let client = TaskerClient::new(&url).expect("orchestration URL");
    match client.health() {
        Ok(report) if report.is_healthy() => client,
        Ok(report) => panic!("orchestration at {url} is unhealthy: {report:?}"),
        Err(e) => panic!(
            "orchestration is not reachable at {url} ({e}); run these tests with `mage test:e2e`, \
             which starts the services"
        ),
    }
}

/// Submits a task to `namespace` and waits until it is final; returns its
/// status, result and error.
pub fn round_trip(
    namespace: &str,
    handler: &str,
    input: Value,
) -> (String, Option<Value>, Option<String>) {
    let client = client();
    let id = client
        .submit_task(namespace, handler, &input)
        .unwrap_or_else(|e| panic!("submit {namespace}/{handler}: {e}"));
    let task = client
        .wait_for_completion(id, TASK_TIMEOUT)
        .unwrap_or_else(|e| {
            panic!("task {id} ({namespace}/{handler}): {e}; is the {namespace} worker running?")
        });
    (task.status.as_str().to_string(), task.result, task.error)
}
