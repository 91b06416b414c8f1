//! Integration tests against a real, migrated PostgreSQL.
//!
//! Ignored by default; `mage rust:testIntegration` runs them with
//! `--ignored` and DATABASE_URL set. Each test uses its own namespace and
//! results queue, so tests (and test processes) can run in parallel.

use postgres::Client;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tasker_pgmq::Pgmq;
use tasker_shared::messages::{Status, StepMessage, StepResult};
use tasker_shared::testing::{database_url, unique_name};
use tasker_worker::{HandlerRegistry, RunOptions, Worker, WorkerError};

const VT: Duration = Duration::from_secs(30);

/// A namespace, its queue and a private results queue; dropped at the end.
struct Fixture {
    db: Client,
    namespace: String,
    results: String,
}

impl Fixture {
    fn new() -> Fixture {
        let db = tasker_pgmq::connect(&database_url()).expect("connect to DATABASE_URL");
        Fixture {
            db,
            namespace: unique_name("itw"),
            results: unique_name("itw_results"),
        }
    }

    fn worker(&self) -> Worker {
        Worker::connect(&database_url(), &self.namespace)
            .unwrap()
            .with_results_queue(&self.results)
            .unwrap()
    }

    /// Inserts a task with one step and enqueues the step, as the
    /// orchestration service does.
    fn enqueue(&mut self, handler: &str, input: Value) -> (i64, i64) {
        let queue = format!("{}_queue", self.namespace);
        let mut tx = self.db.transaction().unwrap();
        let task_id: i64 = tx
            .query_one(
                "INSERT INTO tasker.tasks (namespace, handler, input) VALUES ($1, $2, $3) RETURNING task_id",
                &[&self.namespace, &handler, &input],
            )
            .unwrap()
            .get(0);
        let step_id: i64 = tx
            .query_one(
                "INSERT INTO tasker.workflow_steps (task_id, namespace, handler, input) \
                 VALUES ($1, $2, $3, $4) RETURNING step_id",
                &[&task_id, &self.namespace, &handler, &input],
            )
            .unwrap()
            .get(0);
        tasker_pgmq::create_queue(&mut tx, &queue).unwrap();
        let msg = StepMessage {
            step_id,
            task_id,
            namespace: self.namespace.clone(),
            handler: handler.to_string(),
            input,
        };
        tasker_pgmq::send(&mut tx, &queue, &serde_json::to_value(msg).unwrap()).unwrap();
        tx.commit().unwrap();
        (task_id, step_id)
    }

    fn step(
        &mut self,
        step_id: i64,
    ) -> (String, Option<Value>, Option<String>, i32, Option<String>) {
        let row = self
            .db
            .query_one(
                "SELECT status, result, error, attempts, claimed_by FROM tasker.workflow_steps WHERE step_id = $1",
                &[&step_id],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))
    }

    fn task_status(&mut self, task_id: i64) -> String {
        self.db
            .query_one(
                "SELECT status FROM tasker.tasks WHERE task_id = $1",
                &[&task_id],
            )
            .unwrap()
            .get(0)
    }

    fn results(&mut self) -> Vec<StepResult> {
        let mut mq = Pgmq::connect(&database_url()).unwrap();
        mq.read(&self.results, 30, 100)
            .unwrap()
            .into_iter()
            .map(|m| serde_json::from_value(m.message).unwrap())
            .collect()
    }

    fn queue_length(&mut self) -> i64 {
        let queue = format!("{}_queue", self.namespace);
        tasker_pgmq::queue_length(&mut self.db, &queue).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let queue = format!("{}_queue", self.namespace);
        let _ = tasker_pgmq::drop_queue(&mut self.db, &queue);
        let _ = tasker_pgmq::drop_queue(&mut self.db, &self.results);
    }
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn claim_then_complete() {
    let mut f = Fixture::new();
    let mut worker = f.worker();
    assert_eq!(worker.queue_name(), format!("{}_queue", f.namespace));
    let (task_id, step_id) = f.enqueue("sum", json!({"numbers": [1, 2]}));

    let step = worker.claim_next(VT).unwrap().expect("a step to claim");
    assert_eq!((step.task_id, step.step_id), (task_id, step_id));
    assert_eq!(step.handler, "sum");
    assert_eq!(step.input, json!({"numbers": [1, 2]}));
    assert_eq!(step.attempt, 1);
    let (status, _, _, attempts, claimed_by) = f.step(step_id);
    assert_eq!((status.as_str(), attempts), ("in_progress", 1));
    assert_eq!(claimed_by.as_deref(), Some(worker.worker_id()));
    assert_eq!(f.task_status(task_id), "in_progress");
    assert!(
        worker.claim_next(VT).unwrap().is_none(),
        "the message is hidden"
    );

    worker.complete(&step, json!({"sum": 3})).unwrap();
    let (status, result, error, _, _) = f.step(step_id);
    assert_eq!(status, "complete");
    assert_eq!(result, Some(json!({"sum": 3})));
    assert_eq!(error, None);
    assert_eq!(f.queue_length(), 0, "message archived");
    let archived: i64 =
        f.db.query_one(
            "SELECT count(*) FROM pgmq.archive WHERE msg_id = $1",
            &[&step.msg_id],
        )
        .unwrap()
        .get(0);
    assert_eq!(archived, 1);
    assert_eq!(
        f.results(),
        [StepResult::complete(step_id, task_id, json!({"sum": 3}))]
    );

    // A second outcome for the same claim is refused.
    assert!(matches!(
        worker.fail(&step, "late"),
        Err(WorkerError::StaleClaim { .. })
    ));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn claim_then_fail() {
    let mut f = Fixture::new();
    let mut worker = f.worker();
    let (task_id, step_id) = f.enqueue("fail", json!({}));
    let step = worker.claim_next(VT).unwrap().unwrap();
    worker.fail(&step, "it broke").unwrap();
    let (status, result, error, _, _) = f.step(step_id);
    assert_eq!(status, "error");
    assert_eq!(result, None);
    assert_eq!(error.as_deref(), Some("it broke"));
    assert_eq!(f.queue_length(), 0);
    let results = f.results();
    assert_eq!(results, [StepResult::error(step_id, task_id, "it broke")]);
    assert_eq!(results[0].status, Status::Error);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn complete_json_and_empty_queue() {
    let mut f = Fixture::new();
    let mut worker = f.worker();
    assert!(worker.claim_next(VT).unwrap().is_none());
    let (_, step_id) = f.enqueue("echo", json!("hi"));
    let step = worker.claim_next(VT).unwrap().unwrap();
    assert!(matches!(
        worker.complete_json(&step, "{not json"),
        Err(WorkerError::InvalidJson(_))
    ));
    worker.complete_json(&step, r#"{"echo":"hi"}"#).unwrap();
    assert_eq!(f.step(step_id).1, Some(json!({"echo": "hi"})));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn stale_and_malformed_messages_are_archived_and_skipped() {
    let mut f = Fixture::new();
    let mut worker = f.worker();
    let queue = worker.queue_name().to_string();
    // A message for a step that is already complete (a duplicate delivery).
    let (_, step_id) = f.enqueue("sum", json!([]));
    f.db.execute(
        "UPDATE tasker.workflow_steps SET status = 'complete' WHERE step_id = $1",
        &[&step_id],
    )
    .unwrap();
    // A message that is not a step at all.
    tasker_pgmq::send(&mut f.db, &queue, &json!({"hello": "world"})).unwrap();
    // And one real step after them.
    let (_, good) = f.enqueue("sum", json!([1]));

    let step = worker.claim_next(VT).unwrap().unwrap();
    assert_eq!(step.step_id, good);
    assert_eq!(f.queue_length(), 1, "only the claimed message is left");
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn an_expired_claim_goes_stale() {
    let mut f = Fixture::new();
    let mut first = f.worker();
    let mut second = f.worker();
    let (_, step_id) = f.enqueue("slow", json!(null));

    let old = first.claim_next(Duration::from_secs(1)).unwrap().unwrap();
    thread::sleep(Duration::from_millis(1300));
    let new = second
        .claim_next(VT)
        .unwrap()
        .expect("visible again after vt");
    assert_eq!(new.step_id, step_id);
    assert_eq!(new.attempt, 2);

    assert!(matches!(
        first.complete(&old, json!("late")),
        Err(WorkerError::StaleClaim { step_id: s }) if s == step_id
    ));
    second.complete(&new, json!("on time")).unwrap();
    let (status, result, _, attempts, claimed_by) = f.step(step_id);
    assert_eq!((status.as_str(), attempts), ("complete", 2));
    assert_eq!(result, Some(json!("on time")));
    assert_eq!(claimed_by.as_deref(), Some(second.worker_id()));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn run_loop_is_woken_by_notify_and_records_outcomes() {
    let mut f = Fixture::new();
    let mut worker = f.worker();
    let queue = worker.queue_name().to_string();
    let stop = Arc::new(AtomicBool::new(false));

    let mut handlers = HandlerRegistry::new();
    handlers
        .register("double", |v| {
            Ok(json!({"doubled": v.as_i64().ok_or("not an integer")? * 2}))
        })
        .register("boom", |_| Err("boom".into()))
        .register("panic", |_| panic!("handler bug"));

    // The poll interval is far longer than the test waits: only NOTIFY can
    // wake the loop in time.
    let options = RunOptions {
        visibility_timeout: VT,
        poll_interval: Duration::from_secs(20),
    };
    let loop_stop = Arc::clone(&stop);
    let runner = thread::spawn(move || worker.run_with(&handlers, &loop_stop, options));
    thread::sleep(Duration::from_millis(300)); // let it go idle in LISTEN

    let steps = [
        f.enqueue("double", json!(21)),
        f.enqueue("double", json!(2)),
        f.enqueue("boom", json!(null)),
        f.enqueue("panic", json!(null)),
        f.enqueue("unknown", json!(null)),
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done: i64 =
            f.db.query_one(
                "SELECT count(*) FROM tasker.workflow_steps \
                 WHERE namespace = $1 AND status IN ('complete', 'error')",
                &[&f.namespace],
            )
            .unwrap()
            .get(0);
        if done == steps.len() as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {} steps finished",
            steps.len()
        );
        thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(f.step(steps[0].1).1, Some(json!({"doubled": 42})));
    assert_eq!(f.step(steps[1].1).1, Some(json!({"doubled": 4})));
    assert_eq!(f.step(steps[2].1).2.as_deref(), Some("boom"));
    let panicked = f.step(steps[3].1).2.unwrap();
    assert!(panicked.contains("panicked: handler bug"), "{panicked}");
    let unknown = f.step(steps[4].1).2.unwrap();
    assert!(unknown.contains("no handler registered"), "{unknown}");
    assert_eq!(f.results().len(), steps.len());

    // Stop, and wake the idle loop so it notices at once.
    stop.store(true, Ordering::SeqCst);
    f.db.execute("SELECT pg_notify($1, '')", &[&format!("pgmq_{queue}")])
        .unwrap();
    let stats = runner.join().unwrap().unwrap();
    assert_eq!((stats.completed, stats.failed, stats.stale), (2, 3, 0));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn health_server_is_healthy_with_a_database() {
    let server =
        tasker_worker::health::serve("127.0.0.1:0", &database_url(), "rust-worker", "0.1.0")
            .unwrap();
    let client =
        tasker_client::TaskerClient::new(&format!("http://{}", server.local_addr())).unwrap();
    let report = client.health().unwrap();
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.service, "rust-worker");
    server.shutdown();
}
