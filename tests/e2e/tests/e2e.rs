//! Every language worker, end to end: a task submitted to the orchestration
//! API is claimed by the namespace's worker, run by a handler written in
//! that language and finalized with the handler's real result.
//!
//! Ignored by default (they need the running services); `mage test:e2e`
//! starts the database and the services, runs them with nextest
//! (`-E 'package(tasker-e2e)'`) and stops the services.

use serde_json::json;
use tasker_e2e::round_trip;

fn assert_worker(namespace: &str) {
    let (status, result, error) = round_trip(namespace, "sum", json!({"numbers": [1, 2, 39]}));
    assert_eq!(
        (status.as_str(), error),
        ("complete", None),
        "{namespace}/sum"
    );
    assert_eq!(result, Some(json!({"sum": 42})), "{namespace}/sum");

    let (status, result, _) = round_trip(namespace, "reverse", json!("tasker"));
    assert_eq!(status, "complete", "{namespace}/reverse");
    assert_eq!(
        result,
        Some(json!({"reversed": "reksat"})),
        "{namespace}/reverse"
    );

    let message = format!("{namespace} says no");
    let (status, result, error) = round_trip(namespace, "fail", json!({ "message": message }));
    assert_eq!(status, "error", "{namespace}/fail");
    assert_eq!(result, None, "{namespace}/fail");
    assert!(
        error.as_deref().unwrap_or_default().contains(&message),
        "{namespace}/fail: error {error:?} does not carry the handler's message"
    );
}

#[test]
#[ignore = "needs the running services: run `mage test:e2e`"]
fn rust_worker_round_trip() {
    assert_worker("rust");
}

#[test]
#[ignore = "needs the running services: run `mage test:e2e`"]
fn python_worker_round_trip() {
    assert_worker("python");
}

#[test]
#[ignore = "needs the running services: run `mage test:e2e`"]
fn ruby_worker_round_trip() {
    assert_worker("ruby");
}

#[test]
#[ignore = "needs the running services: run `mage test:e2e`"]
fn typescript_worker_round_trip() {
    assert_worker("typescript");
}
