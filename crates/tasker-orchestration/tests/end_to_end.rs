//! End to end against a real, migrated PostgreSQL: the orchestration
//! service runs in-process on an ephemeral port, a worker loop runs in a
//! thread, and the test drives both through `tasker-client`.
//!
//! Ignored by default; `mage rust:testIntegration` runs them with
//! `--ignored` and DATABASE_URL set (and PGMQ_DATABASE_URL when the queue
//! has its own database: the same tests then cover split mode). Each test
//! uses its own namespace and results queue.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tasker_client::{ClientError, TaskerClient};
use tasker_orchestration::{Connections, NewTask, Service, ServiceOptions};
use tasker_shared::messages::{Status, StepMessage};
use tasker_shared::testing::{database_urls, queue_database_url, unique_name};
use tasker_worker::{HandlerRegistry, RunOptions, RunStats, Worker};

const WAIT: Duration = Duration::from_secs(20);

/// Orchestration + one worker thread for a private namespace.
struct Stack {
    namespace: String,
    results_queue: String,
    service: Option<Service>,
    client: TaskerClient,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<RunStats>>,
}

impl Stack {
    fn start() -> Stack {
        Stack::start_in(&unique_name("ite"), None)
    }

    /// A stack serving `namespace`, recovering unqueued steps every
    /// `recover_after` (off when `None`, so tests do not touch each other's
    /// steps).
    fn start_in(namespace: &str, recover_after: Option<Duration>) -> Stack {
        let namespace = namespace.to_string();
        let results_queue = unique_name("ite_results");
        let options = ServiceOptions {
            results_queue: results_queue.clone(),
            http_threads: 2,
            poll_interval: Duration::from_millis(500),
            recover_after,
        };
        let service = Service::start("127.0.0.1:0", database_urls(), options).unwrap();
        let client = TaskerClient::new(&format!("http://{}", service.local_addr()))
            .unwrap()
            .with_poll_interval(Duration::from_millis(50));

        let mut worker = Worker::connect(database_urls(), &namespace)
            .unwrap()
            .with_results_queue(&results_queue)
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let worker = thread::spawn(move || {
            let mut handlers = HandlerRegistry::new();
            handlers
                .register("sum", |input| {
                    let numbers = input["numbers"]
                        .as_array()
                        .ok_or("expected {\"numbers\": [...]}")?;
                    let mut total = 0.0;
                    for n in numbers {
                        total += n.as_f64().ok_or("not a number")?;
                    }
                    Ok(json!({ "sum": total }))
                })
                .register("fail", |input| {
                    Err(input["message"].as_str().unwrap_or("failed").to_string())
                });
            let options = RunOptions {
                visibility_timeout: Duration::from_secs(30),
                poll_interval: Duration::from_millis(200),
            };
            worker.run_with(&handlers, &flag, options).unwrap()
        });
        Stack {
            namespace,
            results_queue,
            service: Some(service),
            client,
            stop,
            worker: Some(worker),
        }
    }

    fn stop(&mut self) -> RunStats {
        self.stop.store(true, Ordering::SeqCst);
        let stats = self
            .worker
            .take()
            .map(|w| w.join().unwrap())
            .unwrap_or_default();
        if let Some(s) = self.service.take() {
            s.shutdown();
        }
        stats
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut db) = tasker_pgmq::connect(&queue_database_url()) {
            let _ = tasker_pgmq::drop_queue(&mut db, &format!("{}_queue", self.namespace));
            let _ = tasker_pgmq::drop_queue(&mut db, &self.results_queue);
        }
    }
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn submitted_tasks_are_completed_by_the_worker() {
    let mut stack = Stack::start();
    let report = stack.client.health().unwrap();
    assert!(report.is_healthy(), "{report:?}");

    let id = stack
        .client
        .submit_task(&stack.namespace, "sum", &json!({"numbers": [1, 2, 3.5]}))
        .unwrap();
    let task = stack.client.wait_for_completion(id, WAIT).unwrap();
    assert_eq!(task.id, id);
    assert_eq!(task.status, Status::Complete, "{task:?}");
    assert_eq!(task.namespace, stack.namespace);
    assert_eq!(task.handler, "sum");
    assert_eq!(task.result, Some(json!({"sum": 6.5})));
    assert_eq!(task.error, None);

    let stats = stack.stop();
    assert_eq!((stats.completed, stats.failed), (1, 0));
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn handler_errors_mark_the_task_failed() {
    let mut stack = Stack::start();
    let failing = stack
        .client
        .submit_task(
            &stack.namespace,
            "fail",
            &json!({"message": "card declined"}),
        )
        .unwrap();
    let bad_input = stack
        .client
        .submit_task(&stack.namespace, "sum", &json!({"numbers": ["x"]}))
        .unwrap();
    let unknown = stack
        .client
        .submit_task(&stack.namespace, "nope", &Value::Null)
        .unwrap();

    let task = stack.client.wait_for_completion(failing, WAIT).unwrap();
    assert_eq!(task.status, Status::Error);
    assert_eq!(task.error.as_deref(), Some("card declined"));
    assert_eq!(task.result, None);
    let task = stack.client.wait_for_completion(bad_input, WAIT).unwrap();
    assert_eq!(task.error.as_deref(), Some("not a number"));
    let task = stack.client.wait_for_completion(unknown, WAIT).unwrap();
    assert!(task.error.unwrap().contains("no handler registered"));
    assert_eq!(stack.stop().failed, 3);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn api_errors() {
    let mut stack = Stack::start();
    let err = stack.client.get_task(i64::MAX).unwrap_err();
    assert!(
        matches!(err, ClientError::Http { status: 404, .. }),
        "{err:?}"
    );

    let err = stack
        .client
        .submit_task("Bad Namespace", "sum", &json!([]))
        .unwrap_err();
    assert_eq!(err.status(), Some(400));

    let raw = stack
        .client
        .call("POST", "/v1/tasks", Some(b"{\"namespace\":"))
        .unwrap();
    assert_eq!(raw.status, 400);
    let raw = stack.client.call("GET", "/v1/nothing", None).unwrap();
    assert_eq!(raw.status, 404);
    stack.stop();
}

/// Deletes a test's tasks so that no later recovery pass finds their steps.
fn forget_tasks(db: &mut Connections, namespace: &str) {
    db.main
        .execute(
            "DELETE FROM tasker.tasks WHERE namespace = $1",
            &[&namespace],
        )
        .unwrap();
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn tasks_without_a_worker_stay_pending_with_their_step_queued() {
    let namespace = unique_name("itp");
    let queue = format!("{namespace}_queue");
    let mut db = Connections::connect(database_urls()).unwrap();
    let task = NewTask {
        namespace: namespace.clone(),
        handler: "sum".into(),
        input: json!({"numbers": [4]}),
    };
    let id = db.submit_task(&task).unwrap();

    let record = tasker_orchestration::get_task(&mut db.main, id)
        .unwrap()
        .unwrap();
    assert_eq!(record.status, Status::Pending);
    assert_eq!((record.result, record.error), (None, None));

    let msgs = tasker_pgmq::read(db.queue(), &queue, 30, 10).unwrap();
    assert_eq!(msgs.len(), 1);
    let step: StepMessage = serde_json::from_value(msgs[0].message.clone()).unwrap();
    assert_eq!(
        (step.task_id, step.namespace.as_str()),
        (id, namespace.as_str())
    );
    assert_eq!(
        (step.handler.as_str(), &step.input),
        ("sum", &json!({"numbers": [4]}))
    );

    assert!(tasker_orchestration::get_task(&mut db.main, i64::MAX)
        .unwrap()
        .is_none());
    tasker_pgmq::drop_queue(db.queue(), &queue).unwrap();
    forget_tasks(&mut db, &namespace);
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn results_are_idempotent_and_malformed_ones_are_dropped() {
    let namespace = unique_name("itr");
    let results = unique_name("itr_results");
    let mut db = Connections::connect(database_urls()).unwrap();
    let id = db
        .submit_task(&NewTask {
            namespace: namespace.clone(),
            handler: "h".into(),
            input: Value::Null,
        })
        .unwrap();
    let step_id: i64 = db
        .main
        .query_one(
            "SELECT step_id FROM tasker.workflow_steps WHERE task_id = $1",
            &[&id],
        )
        .unwrap()
        .get(0);
    db.main
        .execute(
            "UPDATE tasker.workflow_steps SET status = 'complete', result = '{\"ok\": 1}' WHERE step_id = $1",
            &[&step_id],
        )
        .unwrap();
    tasker_pgmq::create_queue(db.queue(), &results).unwrap();
    let msg = json!({"step_id": step_id, "task_id": id, "status": "complete", "result": {"ok": 1}});
    tasker_pgmq::send(db.queue(), &results, &msg).unwrap();
    tasker_pgmq::send(db.queue(), &results, &msg).unwrap();
    tasker_pgmq::send(db.queue(), &results, &json!("garbage")).unwrap();

    assert_eq!(db.process_results(&results, 10).unwrap(), 3);
    assert_eq!(tasker_pgmq::queue_length(db.queue(), &results).unwrap(), 0);
    let task = tasker_orchestration::get_task(&mut db.main, id)
        .unwrap()
        .unwrap();
    assert_eq!(task.status, Status::Complete);
    assert_eq!(task.result, Some(json!({"ok": 1})));

    // A result read again after its task is final (the orchestration
    // stopped between applying and archiving it) changes nothing.
    db.main
        .execute(
            "UPDATE tasker.workflow_steps SET result = '{\"ok\": 2}' WHERE step_id = $1",
            &[&step_id],
        )
        .unwrap();
    tasker_pgmq::send(db.queue(), &results, &msg).unwrap();
    assert_eq!(db.process_results(&results, 10).unwrap(), 1);
    let task = tasker_orchestration::get_task(&mut db.main, id)
        .unwrap()
        .unwrap();
    assert_eq!(task.result, Some(json!({"ok": 1})));

    tasker_pgmq::drop_queue(db.queue(), &results).unwrap();
    tasker_pgmq::drop_queue(db.queue(), &format!("{namespace}_queue")).unwrap();
}

/// Records a task and its step in the main database only: what a split
/// submit leaves when it stops between its commit and its send. Returns
/// the task and step ids.
fn record_without_message(db: &mut Connections, namespace: &str, age_secs: f64) -> (i64, i64) {
    let row = db
        .main
        .query_one(
            "WITH t AS (INSERT INTO tasker.tasks (namespace, handler, input) \
                        VALUES ($1, 'sum', '{\"numbers\": [40, 2]}') RETURNING task_id) \
             INSERT INTO tasker.workflow_steps (task_id, namespace, handler, input, created_at) \
             SELECT task_id, $1, 'sum', '{\"numbers\": [40, 2]}', now() - make_interval(secs => $2) \
             FROM t RETURNING task_id, step_id",
            &[&namespace, &age_secs],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn pending_steps_without_a_message_are_sent_again() {
    let namespace = unique_name("itq");
    let queue = format!("{namespace}_queue");
    let mut db = Connections::connect(database_urls()).unwrap();
    // 30 s old: past this test's threshold, short of the service test's.
    let (task_id, step_id) = record_without_message(&mut db, &namespace, 30.0);
    let (_, young) = record_without_message(&mut db, &namespace, 0.0);
    let queued = db
        .submit_task(&NewTask {
            namespace: namespace.clone(),
            handler: "sum".into(),
            input: json!([1]),
        })
        .unwrap();
    db.main
        .execute(
            "UPDATE tasker.workflow_steps SET created_at = now() - interval '2 minutes' \
             WHERE task_id = $1",
            &[&queued],
        )
        .unwrap();

    let after = Duration::from_secs(20);
    let sent = db
        .recover_unqueued_steps(after, Some(&namespace), 100)
        .unwrap();
    assert_eq!(sent, 1, "only the old step without a message");
    assert_eq!(
        db.recover_unqueued_steps(after, Some(&namespace), 100)
            .unwrap(),
        0,
        "its message is there now"
    );
    let msgs = tasker_pgmq::read(db.queue(), &queue, 30, 10).unwrap();
    let mut steps: Vec<StepMessage> = msgs
        .iter()
        .map(|m| serde_json::from_value(m.message.clone()).unwrap())
        .collect();
    steps.sort_by_key(|m| m.step_id);
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(
        (steps[0].step_id, steps[0].task_id, &steps[0].input),
        (step_id, task_id, &json!({"numbers": [40, 2]}))
    );
    assert!(steps.iter().all(|m| m.step_id != young));

    tasker_pgmq::drop_queue(db.queue(), &queue).unwrap();
    forget_tasks(&mut db, &namespace);
}

/// The service's recovery pass at start sends the orphaned step, and the
/// worker runs it to the end.
#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn the_service_recovers_an_orphaned_step_at_start() {
    let namespace = unique_name("ito");
    let mut db = Connections::connect(database_urls()).unwrap();
    let (task_id, _) = record_without_message(&mut db, &namespace, 120.0);
    let mut stack = Stack::start_in(&namespace, Some(Duration::from_secs(60)));
    let task = stack.client.wait_for_completion(task_id, WAIT).unwrap();
    assert_eq!(task.status, Status::Complete, "{task:?}");
    assert_eq!(task.result, Some(json!({"sum": 42.0})));
    assert_eq!(stack.stop().completed, 1);
    forget_tasks(&mut db, &namespace);
}

/// Split, `/health`'s `database` check covers the queue's database too.
#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn health_names_a_queue_database_that_is_down() {
    let urls = tasker_orchestration::DatabaseUrls::split(
        tasker_shared::testing::database_url(),
        "postgresql://nobody@127.0.0.1:1/queue",
    );
    let app = tasker_orchestration::App::new(&urls);
    let res = app.handle(&tasker_shared::http::Request::new("GET", "/health"));
    assert_eq!(res.status, 503);
    let body = res.body_json().unwrap();
    let message = body["checks"]["database"]["message"].as_str().unwrap();
    assert!(message.starts_with("queue database: "), "{message}");
}
