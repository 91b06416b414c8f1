//! The client against a real orchestration service (tasker-core's
//! `test-client-ci`): every call of the API, its errors, and a task the Rust
//! worker runs to the end.
//!
//! Ignored by default: `mage client:testIntegration` starts the database,
//! orchestration and the Rust worker, runs these with `TASKER_CLIENT_URL`
//! set, writes JUnit and stops the services.

use serde_json::json;
use std::time::Duration;
use tasker_client::{ClientError, TaskerClient};
use tasker_shared::health::HealthStatus;
use tasker_shared::messages::Status;

const IGNORED: &str = "needs a running orchestration: run `mage client:testIntegration`";

fn client() -> TaskerClient {
    let url = std::env::var("TASKER_CLIENT_URL")
        .unwrap_or_else(|_| panic!("TASKER_CLIENT_URL is not set; {IGNORED}"));
    TaskerClient::new(&url)
        .expect("TASKER_CLIENT_URL")
        .with_timeout(Duration::from_secs(10))
        .with_poll_interval(Duration::from_millis(50))
}

#[test]
#[ignore = "needs a running orchestration: run `mage client:testIntegration`"]
fn health_reports_the_database() {
    let report = client().health().expect("health");
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.service, "orchestration");
    assert_eq!(report.checks["database"].status, HealthStatus::Healthy);
}

#[test]
#[ignore = "needs a running orchestration: run `mage client:testIntegration`"]
fn a_submitted_task_runs_to_completion() {
    let c = client();
    let id = c
        .submit_task("rust", "sum", &json!({"numbers": [20, 22]}))
        .expect("submit");
    assert!(id > 0);
    let task = c
        .wait_for_completion(id, Duration::from_secs(30))
        .expect("the rust worker finishes the task");
    assert_eq!(task.status, Status::Complete, "{:?}", task.error);
    assert_eq!(task.result, Some(json!({"sum": 42})));
    // Reading it again gives the same final state.
    let again = c.get_task(id).expect("get");
    assert_eq!(
        (again.status, again.result),
        (Status::Complete, task.result)
    );
}

#[test]
#[ignore = "needs a running orchestration: run `mage client:testIntegration`"]
fn a_failing_handler_is_reported_with_its_message() {
    let c = client();
    let id = c
        .submit_task("rust", "fail", &json!({"message": "client says no"}))
        .expect("submit");
    let task = c
        .wait_for_completion(id, Duration::from_secs(30))
        .expect("final");
    assert_eq!(task.status, Status::Error);
    assert!(
        task.error
            .as_deref()
            .unwrap_or_default()
            .contains("client says no"),
        "{:?}",
        task.error
    );
}

#[test]
#[ignore = "needs a running orchestration: run `mage client:testIntegration`"]
fn errors_carry_the_status_and_the_server_message() {
    let c = client();
    match c.get_task(i64::MAX) {
        Err(e @ ClientError::Http { status: 404, .. }) => {
            assert!(e.to_string().contains("not found"), "{e}")
        }
        other => panic!("unknown task: {other:?}"),
    }
    match c.submit_task("", "sum", &json!(1)) {
        Err(e) => assert_eq!(e.status(), Some(400), "{e}"),
        Ok(id) => panic!("an empty namespace was accepted as task {id}"),
    }
    let res = c.call("DELETE", "/v1/tasks/1", None).expect("call");
    assert_eq!(res.status, 405);
    let res = c.call("GET", "/nowhere", None).expect("call");
    assert_eq!(res.status, 404);
}

#[test]
#[ignore = "needs a running orchestration: run `mage client:testIntegration`"]
fn waiting_times_out_with_the_last_status() {
    // A namespace no worker serves: the task stays pending.
    let c = client();
    let id = c
        .submit_task("nobody", "sum", &json!({"numbers": [1]}))
        .expect("submit");
    match c.wait_for_completion(id, Duration::from_millis(300)) {
        Err(ClientError::Timeout {
            task_id,
            last_status,
        }) => assert_eq!((task_id, last_status), (id, Status::Pending)),
        other => panic!("want a timeout, got {other:?}"),
    }
}
