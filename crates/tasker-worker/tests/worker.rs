//! Integration tests against a real, migrated PostgreSQL.
//!
//! Ignored by default; `mage rust:testIntegration` runs them with
//! `--ignored` and DATABASE_URL set, and PGMQ_DATABASE_URL naming the
//! queue's own database when the databases are split: the same tests then
//! run the two-phase path. Each test uses its own namespace and results
//! queue, so tests (and test processes) can run in parallel.

use postgres::Client;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tasker_pgmq::Pgmq;
use tasker_shared::messages::{Status, StepMessage, StepResult};
use tasker_shared::testing::{database_url, database_urls, queue_database_url, unique_name};
use tasker_worker::{HandlerRegistry, RunOptions, Worker, WorkerError};

const VT: Duration = Duration::from_secs(30);

/// A namespace, its queue and a private results queue; dropped at the end.
struct Fixture {
    /// The main database (tasks and steps).
    db: Client,
    /// The queue's database (the same one unless split).
    mq: Client,
    namespace: String,
    results: String,
}

impl Fixture {
    fn new() -> Fixture {
        let db = tasker_pgmq::connect(&database_url()).expect("connect to DATABASE_URL");
        let mq =
            tasker_pgmq::connect(&queue_database_url()).expect("connect to the queue database");
        Fixture {
            db,
            mq,
            namespace: unique_name("itw"),
            results: unique_name("itw_results"),
        }
    }

    fn worker(&self) -> Worker {
        let worker = Worker::connect(database_urls(), &self.namespace)
            .unwrap()
            .with_results_queue(&self.results)
            .unwrap();
        assert_eq!(worker.is_split(), database_urls().is_split());
        worker
    }

    /// Inserts a task with one step and enqueues the step, as the
    /// orchestration service does (split: after the step commits).
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
        tx.commit().unwrap();
        let msg = StepMessage {
            step_id,
            task_id,
            namespace: self.namespace.clone(),
            handler: handler.to_string(),
            input,
        };
        tasker_pgmq::create_queue(&mut self.mq, &queue).unwrap();
        tasker_pgmq::send(&mut self.mq, &queue, &serde_json::to_value(msg).unwrap()).unwrap();
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
        let mut mq = Pgmq::connect(&queue_database_url()).unwrap();
        mq.read(&self.results, 30, 100)
            .unwrap()
            .into_iter()
            .map(|m| serde_json::from_value(m.message).unwrap())
            .collect()
    }

    fn queue_length(&mut self) -> i64 {
        let queue = format!("{}_queue", self.namespace);
        tasker_pgmq::queue_length(&mut self.mq, &queue).unwrap()
    }

    fn archived(&mut self, msg_id: i64) -> i64 {
        self.mq
            .query_one(
                "SELECT count(*) FROM pgmq.archive WHERE msg_id = $1",
                &[&msg_id],
            )
            .unwrap()
            .get(0)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let queue = format!("{}_queue", self.namespace);
        let _ = tasker_pgmq::drop_queue(&mut self.mq, &queue);
        let _ = tasker_pgmq::drop_queue(&mut self.mq, &self.results);
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
    assert_eq!(f.archived(step.msg_id), 1);
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
    // A message for a step that is already complete (a duplicate delivery):
    // its recorded outcome is reported again.
    let (task_id, step_id) = f.enqueue("sum", json!([]));
    f.db.execute(
        "UPDATE tasker.workflow_steps SET status = 'complete', result = '{\"sum\": 0}' WHERE step_id = $1",
        &[&step_id],
    )
    .unwrap();
    // A message that is not a step at all, and one for no step.
    tasker_pgmq::send(&mut f.mq, &queue, &json!({"hello": "world"})).unwrap();
    let ghost = StepMessage {
        step_id: i64::MAX,
        task_id,
        namespace: f.namespace.clone(),
        handler: "sum".into(),
        input: json!(null),
    };
    tasker_pgmq::send(&mut f.mq, &queue, &serde_json::to_value(ghost).unwrap()).unwrap();
    // And one real step after them.
    let (_, good) = f.enqueue("sum", json!([1]));

    let step = worker.claim_next(VT).unwrap().unwrap();
    assert_eq!(step.step_id, good);
    assert_eq!(f.queue_length(), 1, "only the claimed message is left");
    assert_eq!(
        f.results(),
        [StepResult::complete(step_id, task_id, json!({"sum": 0}))],
        "the finished step's outcome, once; nothing for the others"
    );
}

/// Split databases: a worker that stops after committing the outcome in the
/// main database but before the queue transaction leaves the message in the
/// queue. Once visible again, the next claim reports the recorded outcome
/// and archives the message: nothing is lost. (One database: the same path
/// serves a duplicate message.)
#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn an_outcome_recorded_before_a_crash_is_reported_on_redelivery() {
    let mut f = Fixture::new();
    let mut crashed = f.worker();
    let mut next = f.worker();
    let (task_id, step_id) = f.enqueue("sum", json!([2, 3]));

    let step = crashed.claim_next(Duration::from_secs(1)).unwrap().unwrap();
    // The first phase of finish, alone: what a crash between the two
    // commits leaves behind.
    let updated =
        f.db.execute(
            "UPDATE tasker.workflow_steps SET status = 'complete', result = '{\"sum\": 5}' \
             WHERE step_id = $1 AND status = 'in_progress' AND attempts = $2",
            &[&step_id, &step.attempt],
        )
        .unwrap();
    assert_eq!(updated, 1);
    drop(crashed);
    assert!(f.results().is_empty(), "no result was sent");
    assert_eq!(f.queue_length(), 1, "the message is still queued");

    thread::sleep(Duration::from_millis(1300)); // its visibility timeout
    assert!(
        next.claim_next(VT).unwrap().is_none(),
        "a finished step is not run again"
    );
    assert_eq!(
        f.results(),
        [StepResult::complete(step_id, task_id, json!({"sum": 5}))]
    );
    assert_eq!(f.queue_length(), 0);
    assert_eq!(f.archived(step.msg_id), 1);
    let (status, result, _, attempts, _) = f.step(step_id);
    assert_eq!(
        (status.as_str(), result, attempts),
        ("complete", Some(json!({"sum": 5})), 1)
    );
}

/// Split databases: when another worker has already reported a message
/// (it found the step finished after the visibility timeout), the late
/// finisher's queue transaction sends nothing: one result per message.
#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn a_message_yields_one_result() {
    let mut f = Fixture::new();
    let mut worker = f.worker();
    let (_, step_id) = f.enqueue("sum", json!([1]));
    let step = worker.claim_next(VT).unwrap().unwrap();
    // Someone archived the message meanwhile (and sent its result).
    assert!(tasker_pgmq::archive(&mut f.mq, worker.queue_name(), step.msg_id).unwrap());
    worker.complete(&step, json!({"sum": 1})).unwrap();
    assert!(f.results().is_empty(), "no second result");
    assert_eq!(f.step(step_id).0, "complete");
}

/// With split databases each schema lives only in its own database.
#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn each_database_holds_its_own_schema() {
    let mut f = Fixture::new();
    let has = |db: &mut Client, table: &str| -> bool {
        db.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .unwrap()
            .get(0)
    };
    assert!(has(&mut f.db, "tasker.workflow_steps"));
    assert!(has(&mut f.mq, "pgmq.messages"));
    let split = database_urls().is_split();
    assert_eq!(has(&mut f.db, "pgmq.messages"), !split);
    assert_eq!(has(&mut f.mq, "tasker.workflow_steps"), !split);
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
    f.mq.execute("SELECT pg_notify($1, '')", &[&format!("pgmq_{queue}")])
        .unwrap();
    let stats = runner.join().unwrap().unwrap();
    assert_eq!((stats.completed, stats.failed, stats.stale), (2, 3, 0));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn health_server_is_healthy_with_a_database() {
    let server =
        tasker_worker::health::serve("127.0.0.1:0", database_urls(), "rust-worker", "0.1.0")
            .unwrap();
    let client =
        tasker_client::TaskerClient::new(&format!("http://{}", server.local_addr())).unwrap();
    let report = client.health().unwrap();
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.service, "rust-worker");
    server.shutdown();
}

/// Split, `/health`'s `database` check covers the queue's database too.
#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn health_names_a_queue_database_that_is_down() {
    let main = tasker_pgmq::Pool::new(database_url(), 1);
    let queue = tasker_pgmq::Pool::new("postgresql://nobody@127.0.0.1:1/queue", 1);
    let req = tasker_shared::http::Request::new("GET", "/health");
    let res = tasker_worker::health::handle_split(&main, Some(&queue), "w", "0", &req);
    assert_eq!(res.status, 503);
    let body = res.body_json().unwrap();
    let message = body["checks"]["database"]["message"].as_str().unwrap();
    assert!(message.starts_with("queue database: "), "{message}");
}
