//! End to end against a real, migrated PostgreSQL: the orchestration
//! service runs in-process on an ephemeral port, a worker loop runs in a
//! thread, and the test drives both through `tasker-client`.
//!
//! Ignored by default; `mage rust:testIntegration` runs them with
//! `--ignored` and DATABASE_URL set. Each test uses its own namespace and
//! results queue.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tasker_client::{ClientError, TaskerClient};
use tasker_orchestration::{NewTask, Service, ServiceOptions};
use tasker_shared::messages::{Status, StepMessage};
use tasker_shared::testing::{database_url, unique_name};
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
        let namespace = unique_name("ite");
        let results_queue = unique_name("ite_results");
        let options = ServiceOptions {
            results_queue: results_queue.clone(),
            http_threads: 2,
            poll_interval: Duration::from_millis(500),
        };
        let service = Service::start("127.0.0.1:0", &database_url(), options).unwrap();
        let client = TaskerClient::new(&format!("http://{}", service.local_addr()))
            .unwrap()
            .with_poll_interval(Duration::from_millis(50));

        let mut worker = Worker::connect(&database_url(), &namespace)
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
        if let Ok(mut db) = tasker_pgmq::connect(&database_url()) {
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

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn tasks_without_a_worker_stay_pending_with_their_step_queued() {
    let namespace = unique_name("itp");
    let queue = format!("{namespace}_queue");
    let mut db = tasker_pgmq::connect(&database_url()).unwrap();
    let task = NewTask {
        namespace: namespace.clone(),
        handler: "sum".into(),
        input: json!({"numbers": [4]}),
    };
    let id = tasker_orchestration::submit_task(&mut db, &task).unwrap();

    let record = tasker_orchestration::get_task(&mut db, id)
        .unwrap()
        .unwrap();
    assert_eq!(record.status, Status::Pending);
    assert_eq!((record.result, record.error), (None, None));

    let msgs = tasker_pgmq::read(&mut db, &queue, 30, 10).unwrap();
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

    assert!(tasker_orchestration::get_task(&mut db, i64::MAX)
        .unwrap()
        .is_none());
    tasker_pgmq::drop_queue(&mut db, &queue).unwrap();
}

#[test]
#[ignore = "needs PostgreSQL: run `mage rust:testIntegration`"]
fn results_are_idempotent_and_malformed_ones_are_dropped() {
    let namespace = unique_name("itr");
    let results = unique_name("itr_results");
    let mut db = tasker_pgmq::connect(&database_url()).unwrap();
    let id = tasker_orchestration::submit_task(
        &mut db,
        &NewTask {
            namespace: namespace.clone(),
            handler: "h".into(),
            input: Value::Null,
        },
    )
    .unwrap();
    let step_id: i64 = db
        .query_one(
            "SELECT step_id FROM tasker.workflow_steps WHERE task_id = $1",
            &[&id],
        )
        .unwrap()
        .get(0);
    db.execute(
        "UPDATE tasker.workflow_steps SET status = 'complete', result = '{\"ok\": 1}' WHERE step_id = $1",
        &[&step_id],
    )
    .unwrap();
    tasker_pgmq::create_queue(&mut db, &results).unwrap();
    let msg = json!({"step_id": step_id, "task_id": id, "status": "complete", "result": {"ok": 1}});
    tasker_pgmq::send(&mut db, &results, &msg).unwrap();
    tasker_pgmq::send(&mut db, &results, &msg).unwrap();
    tasker_pgmq::send(&mut db, &results, &json!("garbage")).unwrap();

    assert_eq!(
        tasker_orchestration::process_results(&mut db, &results, 10).unwrap(),
        3
    );
    assert_eq!(tasker_pgmq::queue_length(&mut db, &results).unwrap(), 0);
    let task = tasker_orchestration::get_task(&mut db, id)
        .unwrap()
        .unwrap();
    assert_eq!(task.status, Status::Complete);
    assert_eq!(task.result, Some(json!({"ok": 1})));

    tasker_pgmq::drop_queue(&mut db, &results).unwrap();
    tasker_pgmq::drop_queue(&mut db, &format!("{namespace}_queue")).unwrap();
}
