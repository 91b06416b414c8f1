//! The orchestration service.
//!
//! HTTP API (JSON in and out):
//!
//! | Request                | Answer                                                       |
//! |------------------------|--------------------------------------------------------------|
//! | `GET /health`          | 200 healthy report, or 503 `"unhealthy"` when the DB is down |
//! | `POST /v1/tasks`       | `{namespace, handler, input}` -> 201 `{"task_id": N}`        |
//! | `GET /v1/tasks/{id}`   | 200 `{id, namespace, handler, status, result, error}` or 404 |
//!
//! Bad JSON or names give 400, unknown routes 404, a wrong method 405, and
//! an unreachable database 503. Submitting a task inserts the task and its
//! step and sends a [`StepMessage`] to `<namespace>_queue`. A background
//! loop ([`run_results_loop`]) consumes `orchestration_results`, woken by
//! NOTIFY, and copies each finished step's outcome onto its task.
//!
//! With one database both happen in one transaction. When the queue has
//! its own database ([`DatabaseUrls::is_split`]) they cannot, and delivery
//! is at least once:
//!
//! * a task and its step commit in the main database, then the step is
//!   sent. A stop in between leaves a pending step without a message:
//!   [`recover_unqueued_steps`] (run by the results loop at start and then
//!   every [`ServiceOptions::recover_after`]) sends a message for every
//!   step pending longer than that with none in its queue;
//! * a result is applied in the main database, then archived. A stop in
//!   between leaves the result to be read again, and applying a result
//!   twice changes nothing ([`process_results`]).
//!
//! ```
//! use tasker_orchestration::App;
//! use tasker_shared::http::Request;
//!
//! // No database is needed to reject bad requests.
//! let app = App::new("postgresql://nobody@127.0.0.1:1/none");
//! let res = app.handle(&Request::new("POST", "/v1/tasks").with_body("{oops"));
//! assert_eq!(res.status, 400);
//! assert_eq!(app.handle(&Request::new("GET", "/nowhere")).status, 404);
//! ```

mod reads;
pub mod testing;

pub use reads::fetch_task;

use postgres::{Client, GenericClient};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use tasker_pgmq::{Message, Pgmq, PgmqError, Pool};
pub use tasker_shared::config::DatabaseUrls;
use tasker_shared::health::HealthReport;
use tasker_shared::http::{HttpServer, Request, Response, ServerHandle};
use tasker_shared::messages::{
    queue_for_namespace, validate_handler, validate_namespace, Status, StepMessage, StepResult,
    ORCHESTRATION_RESULTS_QUEUE,
};

/// The service name in health reports.
pub const SERVICE_NAME: &str = "orchestration";
/// The service version in health reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why an operation failed.
#[derive(Debug)]
pub enum OrchestrationError {
    /// The request is invalid (400).
    Invalid(String),
    /// The database could not be reached (503).
    Unavailable(String),
    /// The database reported an error (500).
    Database(PgmqError),
    /// The database reported an error for an sqlx read (500).
    Read(sqlx::Error),
}

impl fmt::Display for OrchestrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrchestrationError::Invalid(msg) => f.write_str(msg),
            OrchestrationError::Unavailable(msg) => write!(f, "database unavailable: {msg}"),
            OrchestrationError::Database(e) => e.fmt(f),
            OrchestrationError::Read(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for OrchestrationError {}

impl From<PgmqError> for OrchestrationError {
    fn from(e: PgmqError) -> Self {
        OrchestrationError::Database(e)
    }
}

impl From<postgres::Error> for OrchestrationError {
    fn from(e: postgres::Error) -> Self {
        OrchestrationError::Database(PgmqError::Postgres(e))
    }
}

impl OrchestrationError {
    fn into_response(self) -> Response {
        match self {
            OrchestrationError::Invalid(msg) => Response::error(400, &msg),
            e @ OrchestrationError::Unavailable(_) => Response::error(503, &e.to_string()),
            OrchestrationError::Database(e) => {
                eprintln!("orchestration: {e}");
                Response::error(500, &e.to_string())
            }
            OrchestrationError::Read(e) => {
                eprintln!("orchestration: {e}");
                Response::error(500, &e.to_string())
            }
        }
    }
}

/// The body of `POST /v1/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    /// Selects the worker pool, `[a-z0-9_]{1,40}`.
    pub namespace: String,
    /// The handler inside the worker.
    pub handler: String,
    /// The handler's input (any JSON; `null` when omitted).
    #[serde(default)]
    pub input: Value,
}

/// A task as returned by `GET /v1/tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task id.
    pub id: i64,
    /// Its namespace.
    pub namespace: String,
    /// Its handler.
    pub handler: String,
    /// Its status.
    pub status: Status,
    /// The result once complete.
    pub result: Option<Value>,
    /// The error once failed.
    pub error: Option<String>,
}

/// Validates and records a task and its step (in `db`'s transaction) and
/// returns the task id, its queue and the step's message.
fn record_task(
    db: &mut impl GenericClient,
    task: &NewTask,
) -> Result<(i64, String, Value), OrchestrationError> {
    validate_namespace(&task.namespace).map_err(|e| OrchestrationError::Invalid(e.to_string()))?;
    validate_handler(&task.handler).map_err(|e| OrchestrationError::Invalid(e.to_string()))?;
    let queue = queue_for_namespace(&task.namespace)
        .map_err(|e| OrchestrationError::Invalid(e.to_string()))?;
    let task_id: i64 = db
        .query_one(
            "INSERT INTO tasker.tasks (namespace, handler, input) VALUES ($1, $2, $3) \
             RETURNING task_id",
            &[&task.namespace, &task.handler, &task.input],
        )?
        .try_get(0)?;
    let step_id: i64 = db
        .query_one(
            "INSERT INTO tasker.workflow_steps (task_id, namespace, handler, input) \
             VALUES ($1, $2, $3, $4) RETURNING step_id",
            &[&task_id, &task.namespace, &task.handler, &task.input],
        )?
        .try_get(0)?;
    let message = step_message(step_id, task_id, task)?;
    Ok((task_id, queue, message))
}

fn step_message(step_id: i64, task_id: i64, task: &NewTask) -> Result<Value, OrchestrationError> {
    let message = StepMessage {
        step_id,
        task_id,
        namespace: task.namespace.clone(),
        handler: task.handler.clone(),
        input: task.input.clone(),
    };
    serde_json::to_value(&message)
        .map_err(|e| OrchestrationError::Invalid(format!("cannot encode step: {e}")))
}

/// Sends a step's message to `queue`, creating the queue if needed.
fn enqueue(db: &mut impl GenericClient, queue: &str, message: &Value) -> Result<(), PgmqError> {
    tasker_pgmq::create_queue(db, queue)?;
    tasker_pgmq::send(db, queue, message)?;
    Ok(())
}

/// Validates and records a task and its step, and enqueues the step on
/// `<namespace>_queue` (created if needed), atomically: one database.
/// Returns the task id.
pub fn submit_task(db: &mut Client, task: &NewTask) -> Result<i64, OrchestrationError> {
    let mut tx = db.transaction()?;
    let (task_id, queue, message) = record_task(&mut tx, task)?;
    enqueue(&mut tx, &queue, &message)?;
    tx.commit()?;
    Ok(task_id)
}

/// [`submit_task`] for split databases: the task and its step commit in
/// `main`, then the step is sent on `queue_db`. Once the first commit is
/// done the task exists, so a failed send is logged, not returned:
/// [`recover_unqueued_steps`] sends the step later.
pub fn submit_task_split(
    main: &mut Client,
    queue_db: &mut Client,
    task: &NewTask,
) -> Result<i64, OrchestrationError> {
    let mut tx = main.transaction()?;
    let (task_id, queue, message) = record_task(&mut tx, task)?;
    tx.commit()?;
    if let Err(e) = enqueue(queue_db, &queue, &message) {
        eprintln!(
            "orchestration: task {task_id} is recorded but its step was not sent ({e}); \
             the recovery pass will send it"
        );
    }
    Ok(task_id)
}

/// Loads a task, or `None` if there is no such id.
pub fn get_task(
    db: &mut impl GenericClient,
    id: i64,
) -> Result<Option<TaskRecord>, OrchestrationError> {
    let row = db.query_opt(
        "SELECT task_id, namespace, handler, status, result, error \
         FROM tasker.tasks WHERE task_id = $1",
        &[&id],
    )?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    Ok(Some(TaskRecord {
        id: row.try_get("task_id")?,
        namespace: row.try_get("namespace")?,
        handler: row.try_get("handler")?,
        status: status
            .parse()
            .map_err(|e: String| OrchestrationError::Invalid(e))?,
        result: row.try_get("result")?,
        error: row.try_get("error")?,
    }))
}

/// Copies the outcome of the step `msg` reports onto its task. Harmless
/// when repeated: a final task is left as it is.
fn apply_result(db: &mut impl GenericClient, msg: &Message) -> Result<(), OrchestrationError> {
    match serde_json::from_value::<StepResult>(msg.message.clone()) {
        Ok(result) => {
            db.query_one(
                "SELECT tasker.finalize_task_from_step($1)",
                &[&result.step_id],
            )?;
        }
        Err(e) => eprintln!(
            "orchestration: archiving malformed result message {}: {e}",
            msg.msg_id
        ),
    }
    Ok(())
}

/// Consumes up to `batch` messages from `results_queue`, finalizing the
/// task of each finished step. Each message is handled in its own
/// transaction and archived; replays are harmless. Returns how many
/// messages were handled. One database; see [`process_results_split`].
pub fn process_results(
    db: &mut Client,
    results_queue: &str,
    batch: i32,
) -> Result<usize, OrchestrationError> {
    let messages = tasker_pgmq::read(db, results_queue, 30, batch)?;
    for msg in &messages {
        let mut tx = db.transaction()?;
        apply_result(&mut tx, msg)?;
        tasker_pgmq::archive(&mut tx, results_queue, msg.msg_id)?;
        tx.commit()?;
    }
    Ok(messages.len())
}

/// [`process_results`] for split databases: each result is applied in
/// `main`, then archived in `queue_db`. A stop in between leaves the
/// message to be read again after its visibility timeout, and applying it
/// again changes nothing.
pub fn process_results_split(
    main: &mut Client,
    queue_db: &mut Client,
    results_queue: &str,
    batch: i32,
) -> Result<usize, OrchestrationError> {
    let messages = tasker_pgmq::read(queue_db, results_queue, 30, batch)?;
    for msg in &messages {
        apply_result(main, msg)?;
        tasker_pgmq::archive(queue_db, results_queue, msg.msg_id)?;
    }
    Ok(messages.len())
}

/// Sends a message for every step pending for longer than `older_than`
/// that has none in its namespace's queue (only `namespace`'s steps when
/// given), oldest first, at most `limit`; returns how many it sent. Such a
/// step is what a split submit leaves when it stops between its commit
/// and its send. `queue_db` is the queue's own database (`None`: `main`).
///
/// A step whose send lands after this pass looked (a submit slower than
/// `older_than`) gets two messages: a worker reading the second claims the
/// step again and the first claim's outcome is refused as stale, so a
/// duplicate costs at most another run of the handler, never an outcome.
pub fn recover_unqueued_steps(
    main: &mut Client,
    queue_db: Option<&mut Client>,
    older_than: Duration,
    namespace: Option<&str>,
    limit: i64,
) -> Result<usize, OrchestrationError> {
    let rows = main.query(
        "SELECT step_id, task_id, namespace, handler, input FROM tasker.workflow_steps \
         WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1) \
           AND ($2::text IS NULL OR namespace = $2) \
         ORDER BY step_id LIMIT $3",
        &[&older_than.as_secs_f64(), &namespace, &limit],
    )?;
    let queue_db = match queue_db {
        Some(q) => q,
        None => main,
    };
    let mut sent = 0;
    let mut by_namespace: std::collections::BTreeMap<String, Vec<(i64, i64, NewTask)>> =
        std::collections::BTreeMap::new();
    for row in &rows {
        let task = NewTask {
            namespace: row.try_get("namespace")?,
            handler: row.try_get("handler")?,
            input: row.try_get("input")?,
        };
        by_namespace
            .entry(task.namespace.clone())
            .or_default()
            .push((row.try_get("step_id")?, row.try_get("task_id")?, task));
    }
    for (ns, steps) in by_namespace {
        let Ok(queue) = queue_for_namespace(&ns) else {
            continue; // never accepted by submit_task
        };
        let ids: Vec<String> = steps.iter().map(|(id, _, _)| id.to_string()).collect();
        let queued: Vec<String> = queue_db
            .query(
                "SELECT DISTINCT message->>'step_id' FROM pgmq.messages \
                 WHERE queue_name = $1 AND message->>'step_id' = ANY($2)",
                &[&queue, &ids],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        for (step_id, task_id, task) in &steps {
            if queued.contains(&step_id.to_string()) {
                continue;
            }
            enqueue(queue_db, &queue, &step_message(*step_id, *task_id, task)?)?;
            eprintln!(
                "orchestration: sent step {step_id} of task {task_id}, pending without a message"
            );
            sent += 1;
        }
    }
    Ok(sent)
}

/// The connections of one orchestration process: the main database and,
/// split, the queue's own.
pub struct Connections {
    /// Tasks and steps; also the queue unless split.
    pub main: Client,
    /// Split databases: the queue's.
    pub queue: Option<Client>,
}

impl Connections {
    /// Connects to `databases` (a URL or [`DatabaseUrls`]).
    pub fn connect(databases: impl Into<DatabaseUrls>) -> Result<Connections, PgmqError> {
        let urls = databases.into();
        let main = tasker_pgmq::connect(&urls.main)?;
        let queue = match urls.is_split() {
            true => Some(tasker_pgmq::connect(&urls.queue)?),
            false => None,
        };
        Ok(Connections { main, queue })
    }

    /// The connection to the queue's database.
    pub fn queue(&mut self) -> &mut Client {
        self.queue.as_mut().unwrap_or(&mut self.main)
    }

    /// [`submit_task`], or [`submit_task_split`] when split.
    pub fn submit_task(&mut self, task: &NewTask) -> Result<i64, OrchestrationError> {
        match self.queue.as_mut() {
            None => submit_task(&mut self.main, task),
            Some(q) => submit_task_split(&mut self.main, q, task),
        }
    }

    /// [`process_results`], or [`process_results_split`] when split.
    pub fn process_results(
        &mut self,
        results_queue: &str,
        batch: i32,
    ) -> Result<usize, OrchestrationError> {
        match self.queue.as_mut() {
            None => process_results(&mut self.main, results_queue, batch),
            Some(q) => process_results_split(&mut self.main, q, results_queue, batch),
        }
    }

    /// [`recover_unqueued_steps`] over these connections.
    pub fn recover_unqueued_steps(
        &mut self,
        older_than: Duration,
        namespace: Option<&str>,
        limit: i64,
    ) -> Result<usize, OrchestrationError> {
        recover_unqueued_steps(
            &mut self.main,
            self.queue.as_mut(),
            older_than,
            namespace,
            limit,
        )
    }
}

/// Consumes `options.results_queue` until `stop` is set: processes what is
/// there, then sleeps on NOTIFY for up to `options.poll_interval`; runs
/// [`recover_unqueued_steps`] at start and every `options.recover_after`.
/// Reconnects (with backoff) whenever a database is unreachable.
pub fn run_results_loop(
    databases: impl Into<DatabaseUrls>,
    options: &ServiceOptions,
    stop: &AtomicBool,
) {
    let urls = databases.into();
    let results_queue = options.results_queue.as_str();
    let mut backoff = Duration::from_millis(250);
    let mut last_error = String::new();
    while !stop.load(Ordering::SeqCst) {
        let outcome = Pgmq::connect(&urls.queue)
            .and_then(|mq| {
                let main = match urls.is_split() {
                    true => Some(tasker_pgmq::connect(&urls.main)?),
                    false => None,
                };
                Ok((mq, main))
            })
            .map_err(OrchestrationError::from)
            .and_then(|(mut mq, mut main)| {
                mq.create_queue(results_queue)?;
                mq.listen(results_queue)?;
                backoff = Duration::from_millis(250);
                last_error.clear();
                let mut last_recovery: Option<Instant> = None;
                while !stop.load(Ordering::SeqCst) {
                    if let Some(every) = options.recover_after {
                        if last_recovery.map_or(true, |t| t.elapsed() >= every) {
                            let (m, q) = match main.as_mut() {
                                Some(m) => (m, Some(mq.client())),
                                None => (mq.client(), None),
                            };
                            recover_unqueued_steps(m, q, every, None, 100)?;
                            last_recovery = Some(Instant::now());
                        }
                    }
                    let handled = match main.as_mut() {
                        Some(m) => process_results_split(m, mq.client(), results_queue, 50)?,
                        None => process_results(mq.client(), results_queue, 50)?,
                    };
                    if handled == 0 {
                        mq.wait_for_notify(results_queue, options.poll_interval)?;
                    }
                }
                Ok(())
            });
        if let Err(e) = outcome {
            let msg = e.to_string();
            if msg != last_error {
                eprintln!("orchestration: results loop: {msg} (retrying)");
                last_error = msg;
            }
            sleep_unless_stopped(backoff, stop);
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Request handling state: a small connection pool per database.
pub struct App {
    pool: Pool,
    /// Split databases: the queue's.
    queue: Option<Pool>,
    /// `GET /v1/tasks/{id}`, through sqlx.
    reads: reads::Reads,
}

impl App {
    /// An app for `databases` (a URL or [`DatabaseUrls`]); does not connect
    /// until a request needs it.
    pub fn new(databases: impl Into<DatabaseUrls>) -> App {
        let urls = databases.into();
        App {
            pool: Pool::new(&urls.main, 4),
            queue: urls.is_split().then(|| Pool::new(&urls.queue, 4)),
            reads: reads::Reads::new(&urls.main),
        }
    }

    /// Routes one request.
    pub fn handle(&self, req: &Request) -> Response {
        let method = req.method.as_str();
        match req.segments().as_slice() {
            ["health"] => match method {
                "GET" => self.health(),
                _ => Response::method_not_allowed("GET"),
            },
            ["v1", "tasks"] => match method {
                "POST" => self.post_task(req),
                _ => Response::method_not_allowed("POST"),
            },
            ["v1", "tasks", id] => match method {
                "GET" => self.get_task(id),
                _ => Response::method_not_allowed("GET"),
            },
            _ => Response::not_found(),
        }
    }

    /// `database` covers both databases when split (one report shape in
    /// both modes); its message says which one failed.
    fn health(&self) -> Response {
        let databases = self.pool.ping().and_then(|()| match &self.queue {
            Some(q) => q.ping().map_err(|e| format!("queue database: {e}")),
            None => Ok(()),
        });
        let report = HealthReport::new(SERVICE_NAME, VERSION).check("database", databases);
        Response::json(report.http_status(), &report)
    }

    fn post_task(&self, req: &Request) -> Response {
        let task: NewTask = match req.json() {
            Ok(t) => t,
            Err(res) => return res,
        };
        let result = validate_namespace(&task.namespace)
            .and_then(|_| validate_handler(&task.handler))
            .map_err(|e| OrchestrationError::Invalid(e.to_string()))
            .and_then(|_| match &self.queue {
                None => with_db(&self.pool, |db| submit_task(db, &task)),
                Some(queue) => with_db(&self.pool, |main| {
                    with_db(queue, |q| submit_task_split(main, q, &task))
                }),
            });
        match result {
            Ok(task_id) => Response::json(201, &json!({ "task_id": task_id })),
            Err(e) => e.into_response(),
        }
    }

    fn get_task(&self, id: &str) -> Response {
        let Ok(id) = id.parse::<i64>() else {
            return Response::error(400, &format!("invalid task id {id:?}"));
        };
        match self.reads.get_task(id) {
            Ok(Some(task)) => Response::json(200, &task),
            Ok(None) => Response::error(404, &format!("task {id} not found")),
            Err(e) => e.into_response(),
        }
    }
}

/// Runs `f` on a connection from `pool`; one that fails and no longer
/// answers is not reused, so requests recover once the database is back.
fn with_db<T>(
    pool: &Pool,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, OrchestrationError>,
) -> Result<T, OrchestrationError> {
    let mut db = pool
        .get()
        .map_err(|e| OrchestrationError::Unavailable(e.to_string()))?;
    let out = f(&mut db);
    if out.is_err() {
        db.drop_if_broken();
    }
    out
}

/// Settings for [`Service::start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOptions {
    /// The queue workers report to.
    pub results_queue: String,
    /// Threads serving HTTP requests.
    pub http_threads: usize,
    /// Longest sleep of the results loop without a NOTIFY.
    pub poll_interval: Duration,
    /// Steps pending this long without a message are sent again (see
    /// [`recover_unqueued_steps`]), checked at start and this often; `None`
    /// turns the recovery off.
    pub recover_after: Option<Duration>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            results_queue: ORCHESTRATION_RESULTS_QUEUE.to_string(),
            http_threads: 4,
            poll_interval: Duration::from_secs(1),
            recover_after: Some(Duration::from_secs(30)),
        }
    }
}

/// The running service: the HTTP server and the results loop.
pub struct Service {
    http: ServerHandle,
    results: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Service {
    /// Binds `addr` and starts both halves in the background; `databases`
    /// is a URL or [`DatabaseUrls`]. Only binding can fail; a database
    /// that is down makes `/health` answer 503 until it is back.
    pub fn start(
        addr: impl ToSocketAddrs,
        databases: impl Into<DatabaseUrls>,
        options: ServiceOptions,
    ) -> io::Result<Service> {
        let urls = databases.into();
        let server = HttpServer::bind(addr)?;
        let app = App::new(&urls);
        let http = server.spawn(options.http_threads, move |req: &Request| app.handle(req));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let results = thread::Builder::new()
            .name("results-loop".into())
            .spawn(move || run_results_loop(urls, &options, &flag))?;
        Ok(Service {
            http,
            results: Some(results),
            stop,
        })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// Stops both halves and waits for them.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.results.take() {
            let _ = t.join();
        }
        // `self.http` stops when dropped here.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN: &str = "postgresql://nobody@127.0.0.1:1/none";

    fn call(app: &App, method: &str, path: &str, body: &str) -> (u16, Value) {
        let res = app.handle(&Request::new(method, path).with_body(body));
        (res.status, res.body_json().unwrap_or(Value::Null))
    }

    #[test]
    fn health_is_503_without_a_database() {
        let app = App::new(DOWN);
        let (status, body) = call(&app, "GET", "/health", "");
        assert_eq!(status, 503);
        assert_eq!(body["status"], "unhealthy");
        assert_eq!(body["service"], "orchestration");
        assert_eq!(body["version"], VERSION);
        assert_eq!(body["checks"]["database"]["status"], "unhealthy");
    }

    #[test]
    fn bad_requests_are_400() {
        let app = App::new(DOWN);
        for body in [
            "",
            "{oops",
            "[]",
            r#"{"handler": "sum"}"#,
            r#"{"namespace": "rust"}"#,
            r#"{"namespace": 1, "handler": "sum"}"#,
            r#"{"namespace": "Not Valid", "handler": "sum"}"#,
            r#"{"namespace": "rust", "handler": ""}"#,
        ] {
            let (status, resp) = call(&app, "POST", "/v1/tasks", body);
            assert_eq!(status, 400, "{body}");
            assert!(resp["error"].is_string(), "{body}");
        }
        let (status, resp) = call(&app, "GET", "/v1/tasks/abc", "");
        assert_eq!(status, 400);
        assert_eq!(resp["error"], "invalid task id \"abc\"");
    }

    #[test]
    fn routing() {
        let app = App::new(DOWN);
        assert_eq!(call(&app, "GET", "/", "").0, 404);
        assert_eq!(call(&app, "GET", "/v2/tasks", "").0, 404);
        assert_eq!(call(&app, "GET", "/v1/tasks/1/steps", "").0, 404);
        assert_eq!(call(&app, "DELETE", "/v1/tasks/1", "").0, 405);
        assert_eq!(call(&app, "GET", "/v1/tasks", "").0, 405);
        assert_eq!(call(&app, "POST", "/health", "").0, 405);
    }

    #[test]
    fn valid_requests_without_a_database_are_503() {
        let app = App::new(DOWN);
        let (status, body) = call(
            &app,
            "POST",
            "/v1/tasks",
            r#"{"namespace": "rust", "handler": "sum", "input": [1]}"#,
        );
        assert_eq!(status, 503);
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("database unavailable"));
        assert_eq!(call(&app, "GET", "/v1/tasks/1", "").0, 503);
    }

    #[test]
    fn service_serves_http_and_shuts_down() {
        let options = ServiceOptions {
            poll_interval: Duration::from_millis(100),
            ..ServiceOptions::default()
        };
        let service = Service::start("127.0.0.1:0", DOWN, options).unwrap();
        let client =
            tasker_client::TaskerClient::new(&format!("http://{}", service.local_addr())).unwrap();
        let report = client.health().unwrap();
        assert!(!report.is_healthy());
        let err = client.get_task(1).unwrap_err();
        assert_eq!(err.status(), Some(503));
        service.shutdown();
    }

    #[test]
    fn task_record_json_has_every_field() {
        let rec = TaskRecord {
            id: 1,
            namespace: "rust".into(),
            handler: "sum".into(),
            status: Status::Pending,
            result: None,
            error: None,
        };
        assert_eq!(
            serde_json::to_value(&rec).unwrap(),
            json!({"id": 1, "namespace": "rust", "handler": "sum", "status": "pending",
                   "result": null, "error": null})
        );
    }
}
