//! The worker foundation shared by the Rust, Python, Ruby and TypeScript
//! workers.
//!
//! A [`Worker`] serves one namespace over one database connection, or two
//! when the queue has its own database ([`DatabaseUrls::is_split`]):
//!
//! 1. [`Worker::claim_next`] reads `<namespace>_queue` (hiding the message
//!    for a visibility timeout) and marks the step `in_progress`;
//! 2. the caller runs the step's handler;
//! 3. [`Worker::complete`] or [`Worker::fail`] records the outcome on the
//!    step, archives the queue message and sends a [`StepResult`] to
//!    `orchestration_results`.
//!
//! With one database step 3 is one transaction. With split databases there
//! is no transaction spanning both, so delivery is at least once: the
//! outcome commits in the main database first, then the archive and the
//! result commit together in the queue's. A worker that stops between the
//! two leaves the message in the queue; when it becomes visible again,
//! [`Worker::claim_next`] finds the step finished and sends the recorded
//! outcome instead of dropping the message. Whoever archives a message
//! sends its result, so a message yields exactly one result; the
//! orchestration service ignores repeated results for a step.
//!
//! [`Worker::run`] does this in a loop for a [`HandlerRegistry`], sleeping
//! on LISTEN/NOTIFY between polls. The API only uses strings, integers and
//! `serde_json::Value`, so FFI wrappers (pyo3, magnus, a C ABI) can expose
//! it directly. [`health`] provides the `/health` server.
//!
//! ```
//! use serde_json::json;
//! use tasker_worker::HandlerRegistry;
//!
//! let mut handlers = HandlerRegistry::new();
//! handlers.register("double", |input| {
//!     let n = input.as_i64().ok_or("expected an integer")?;
//!     Ok(json!(n * 2))
//! });
//! assert_eq!(handlers.call("double", &json!(21)), Ok(json!(42)));
//! assert!(handlers.call("double", &json!("x")).is_err());
//! assert!(handlers.call("missing", &json!(1)).is_err());
//! ```

pub mod bridge;
pub mod health;
mod registry;

pub use registry::{HandlerRegistry, HandlerResult};

use postgres::{Client, GenericClient};
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use tasker_pgmq::{Pgmq, PgmqError};
pub use tasker_shared::config::DatabaseUrls;
use tasker_shared::messages::{
    queue_for_namespace, validate_namespace, Status, StepMessage, StepResult,
    ORCHESTRATION_RESULTS_QUEUE,
};

/// Why a worker operation failed.
#[derive(Debug)]
pub enum WorkerError {
    /// A bad namespace or queue name.
    InvalidName(String),
    /// A queue or database error.
    Queue(PgmqError),
    /// The step is no longer held by this claim (its visibility timeout
    /// passed and it was claimed again, or it already finished).
    StaleClaim {
        /// The step.
        step_id: i64,
    },
    /// A JSON string passed in is not valid JSON.
    InvalidJson(serde_json::Error),
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::InvalidName(msg) => f.write_str(msg),
            WorkerError::Queue(e) => e.fmt(f),
            WorkerError::StaleClaim { step_id } => write!(
                f,
                "step {step_id} is no longer claimed by this worker (visibility timeout passed or already finished)"
            ),
            WorkerError::InvalidJson(e) => write!(f, "invalid JSON: {e}"),
        }
    }
}

impl std::error::Error for WorkerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkerError::Queue(e) => Some(e),
            WorkerError::InvalidJson(e) => Some(e),
            _ => None,
        }
    }
}

impl From<PgmqError> for WorkerError {
    fn from(e: PgmqError) -> Self {
        match e {
            PgmqError::InvalidQueueName(_) => WorkerError::InvalidName(e.to_string()),
            other => WorkerError::Queue(other),
        }
    }
}

impl From<postgres::Error> for WorkerError {
    fn from(e: postgres::Error) -> Self {
        WorkerError::Queue(PgmqError::Postgres(e))
    }
}

/// Result alias for worker operations.
pub type Result<T, E = WorkerError> = std::result::Result<T, E>;

/// A step this worker has claimed and must complete or fail.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedStep {
    /// The queue message carrying the step.
    pub msg_id: i64,
    /// `tasker.workflow_steps.step_id`
    pub step_id: i64,
    /// `tasker.tasks.task_id`
    pub task_id: i64,
    /// The namespace.
    pub namespace: String,
    /// The handler to run.
    pub handler: String,
    /// The handler's input.
    pub input: Value,
    /// Which claim of the step this is (1 on the first).
    pub attempt: i32,
}

impl ClaimedStep {
    /// The input as a JSON string (for FFI callers).
    pub fn input_json(&self) -> String {
        self.input.to_string()
    }
}

/// Settings for [`Worker::run_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// How long a claimed step stays hidden from other workers.
    pub visibility_timeout: Duration,
    /// The longest sleep between polls when no NOTIFY arrives; also how
    /// quickly the stop flag is noticed while idle.
    pub poll_interval: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            visibility_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// What a [`Worker::run`] loop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Steps completed.
    pub completed: u64,
    /// Steps failed (handler error, panic or unknown handler).
    pub failed: u64,
    /// Steps whose claim went stale before the outcome was recorded.
    pub stale: u64,
}

/// A connection serving one namespace (two with split databases).
pub struct Worker {
    /// The queue's database; also the main one unless split.
    mq: Pgmq,
    /// Split databases: the main database (tasks and steps).
    main: Option<Client>,
    namespace: String,
    queue: String,
    results_queue: String,
    worker_id: String,
}

/// What the main database says about a step named by a message.
enum Claim {
    /// Claimed now: task id, handler, input, attempt.
    Claimed(i64, String, Value, i32),
    /// Already finished: its recorded outcome.
    Finished(StepResult),
    /// No such step.
    Unknown,
}

/// The main database's connection: its own when split, else the queue's.
fn main_db<'a>(main: &'a mut Option<Client>, mq: &'a mut Pgmq) -> &'a mut Client {
    match main {
        Some(c) => c,
        None => mq.client(),
    }
}

/// Marks the step claimed by `worker_id`, or says why it cannot be.
fn claim_step(db: &mut Client, step_id: i64, worker_id: &str) -> Result<Claim> {
    let mut tx = db.transaction()?;
    let claimed = tx.query_opt(
        "UPDATE tasker.workflow_steps \
         SET status = 'in_progress', attempts = attempts + 1, claimed_by = $2 \
         WHERE step_id = $1 AND status IN ('pending', 'in_progress') \
         RETURNING task_id, handler, input, attempts",
        &[&step_id, &worker_id],
    )?;
    let claim = match claimed {
        Some(row) => {
            let task_id: i64 = row.try_get("task_id")?;
            tx.execute(
                "UPDATE tasker.tasks SET status = 'in_progress' \
                 WHERE task_id = $1 AND status = 'pending'",
                &[&task_id],
            )?;
            Claim::Claimed(
                task_id,
                row.try_get("handler")?,
                row.try_get("input")?,
                row.try_get("attempts")?,
            )
        }
        None => match tx.query_opt(
            "SELECT task_id, status, result, error FROM tasker.workflow_steps \
             WHERE step_id = $1 AND status IN ('complete', 'error')",
            &[&step_id],
        )? {
            Some(row) => {
                let status: String = row.try_get("status")?;
                Claim::Finished(StepResult {
                    step_id,
                    task_id: row.try_get("task_id")?,
                    status: if status == "complete" {
                        Status::Complete
                    } else {
                        Status::Error
                    },
                    result: row.try_get("result")?,
                    error: row.try_get("error")?,
                })
            }
            None => Claim::Unknown,
        },
    };
    tx.commit()?;
    Ok(claim)
}

/// Writes the outcome on the step if `step` still holds its claim.
fn record_outcome(
    db: &mut impl GenericClient,
    step: &ClaimedStep,
    outcome: &StepResult,
) -> Result<()> {
    let updated = db.execute(
        "UPDATE tasker.workflow_steps SET status = $2, result = $3, error = $4 \
         WHERE step_id = $1 AND status = 'in_progress' AND attempts = $5",
        &[
            &step.step_id,
            &outcome.status.as_str(),
            &outcome.result,
            &outcome.error,
            &step.attempt,
        ],
    )?;
    if updated == 0 {
        return Err(WorkerError::StaleClaim {
            step_id: step.step_id,
        });
    }
    Ok(())
}

/// Archives the step's message and, if this call archived it, sends the
/// outcome: a message someone else already archived has had its result
/// sent by them.
fn report_outcome(
    db: &mut impl GenericClient,
    queue: &str,
    results_queue: &str,
    msg_id: i64,
    outcome: &StepResult,
) -> Result<bool> {
    if !tasker_pgmq::archive(db, queue, msg_id)? {
        return Ok(false);
    }
    let message = serde_json::to_value(outcome).map_err(WorkerError::InvalidJson)?;
    tasker_pgmq::send(db, results_queue, &message)?;
    Ok(true)
}

impl Worker {
    /// Connects and makes sure `<namespace>_queue` and
    /// `orchestration_results` exist. `databases` is a URL (one database)
    /// or [`DatabaseUrls`]; split, the queue work goes to `queue` and the
    /// steps to `main`.
    pub fn connect(databases: impl Into<DatabaseUrls>, namespace: &str) -> Result<Worker> {
        let urls = databases.into();
        validate_namespace(namespace).map_err(|e| WorkerError::InvalidName(e.to_string()))?;
        let queue =
            queue_for_namespace(namespace).map_err(|e| WorkerError::InvalidName(e.to_string()))?;
        let mut mq = Pgmq::connect(&urls.queue)?;
        let main = match urls.is_split() {
            true => Some(tasker_pgmq::connect(&urls.main)?),
            false => None,
        };
        mq.create_queue(&queue)?;
        mq.create_queue(ORCHESTRATION_RESULTS_QUEUE)?;
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let worker_id = format!(
            "{namespace}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Worker {
            mq,
            main,
            namespace: namespace.to_string(),
            queue,
            results_queue: ORCHESTRATION_RESULTS_QUEUE.to_string(),
            worker_id,
        })
    }

    /// True when the queue has its own database (two-phase outcomes).
    pub fn is_split(&self) -> bool {
        self.main.is_some()
    }

    /// Reports outcomes to `queue` instead of `orchestration_results`
    /// (creating it if needed). Used to isolate tests.
    pub fn with_results_queue(mut self, queue: &str) -> Result<Worker> {
        self.mq.create_queue(queue)?;
        self.results_queue = queue.to_string();
        Ok(self)
    }

    /// The namespace served.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The queue read: `<namespace>_queue`.
    pub fn queue_name(&self) -> &str {
        &self.queue
    }

    /// The queue outcomes are sent to.
    pub fn results_queue(&self) -> &str {
        &self.results_queue
    }

    /// This worker's id, recorded in `workflow_steps.claimed_by`.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Starts listening for NOTIFY on the queue, so that a send after this
    /// call wakes [`Worker::wait_for_work`].
    pub fn listen(&mut self) -> Result<()> {
        Ok(self.mq.listen(&self.queue)?)
    }

    /// Checks the connections with `SELECT 1`.
    pub fn ping(&mut self) -> Result<()> {
        self.mq.ping()?;
        if let Some(main) = self.main.as_mut() {
            main.simple_query("SELECT 1")?;
        }
        Ok(())
    }

    /// Claims the next step, or returns `None` when the queue has nothing
    /// visible. Messages that do not parse, or that name a missing step,
    /// are archived and skipped. A message whose step is already finished
    /// gets the step's recorded outcome sent (again) and is archived: its
    /// worker stopped between the two commits (split databases), or the
    /// message is a duplicate.
    pub fn claim_next(&mut self, visibility_timeout: Duration) -> Result<Option<ClaimedStep>> {
        let vt = i32::try_from(visibility_timeout.as_secs().max(1)).unwrap_or(i32::MAX);
        loop {
            let Some(msg) = self.mq.read(&self.queue, vt, 1)?.into_iter().next() else {
                return Ok(None);
            };
            let step: StepMessage = match serde_json::from_value(msg.message.clone()) {
                Ok(step) => step,
                Err(e) => {
                    eprintln!(
                        "worker {}: archiving malformed message {} on {}: {e}",
                        self.worker_id, msg.msg_id, self.queue
                    );
                    self.mq.archive(&self.queue, msg.msg_id)?;
                    continue;
                }
            };
            let db = main_db(&mut self.main, &mut self.mq);
            match claim_step(db, step.step_id, &self.worker_id)? {
                Claim::Claimed(task_id, handler, input, attempt) => {
                    return Ok(Some(ClaimedStep {
                        msg_id: msg.msg_id,
                        step_id: step.step_id,
                        task_id,
                        namespace: self.namespace.clone(),
                        handler,
                        input,
                        attempt,
                    }));
                }
                Claim::Finished(outcome) => {
                    let mut tx = self.mq.client().transaction()?;
                    report_outcome(
                        &mut tx,
                        &self.queue,
                        &self.results_queue,
                        msg.msg_id,
                        &outcome,
                    )?;
                    tx.commit()?;
                }
                Claim::Unknown => {
                    self.mq.archive(&self.queue, msg.msg_id)?;
                }
            }
        }
    }

    /// Records a successful outcome.
    pub fn complete(&mut self, step: &ClaimedStep, result: Value) -> Result<()> {
        let outcome = StepResult::complete(step.step_id, step.task_id, result);
        self.finish(step, &outcome)
    }

    /// [`Worker::complete`] with the result as a JSON string.
    pub fn complete_json(&mut self, step: &ClaimedStep, result_json: &str) -> Result<()> {
        let result = serde_json::from_str(result_json).map_err(WorkerError::InvalidJson)?;
        self.complete(step, result)
    }

    /// Records a failure.
    pub fn fail(&mut self, step: &ClaimedStep, error_message: &str) -> Result<()> {
        let outcome = StepResult::error(step.step_id, step.task_id, error_message);
        self.finish(step, &outcome)
    }

    fn finish(&mut self, step: &ClaimedStep, outcome: &StepResult) -> Result<()> {
        let (queue, results) = (&self.queue, &self.results_queue);
        match self.main.as_mut() {
            // One database: outcome, archive and result in one transaction.
            None => {
                let mut tx = self.mq.client().transaction()?;
                record_outcome(&mut tx, step, outcome)?;
                report_outcome(&mut tx, queue, results, step.msg_id, outcome)?;
                tx.commit()?;
            }
            // Split: the outcome first; a stop before the queue transaction
            // commits leaves the message for claim_next to report.
            Some(main) => {
                let mut tx = main.transaction()?;
                record_outcome(&mut tx, step, outcome)?;
                tx.commit()?;
                let mut tx = self.mq.client().transaction()?;
                report_outcome(&mut tx, queue, results, step.msg_id, outcome)?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// Runs `handlers` on a claimed step and records the outcome; true when
    /// the handler succeeded. Handler panics are caught and recorded as
    /// failures.
    pub fn process(&mut self, handlers: &HandlerRegistry, step: &ClaimedStep) -> Result<bool> {
        match handlers.call(&step.handler, &step.input) {
            Ok(result) => self.complete(step, result).map(|_| true),
            Err(message) => self.fail(step, &message).map(|_| false),
        }
    }

    /// Blocks until a step is sent to this namespace or `timeout` passes.
    pub fn wait_for_work(&mut self, timeout: Duration) -> Result<bool> {
        Ok(self.mq.wait_for_notify(&self.queue, timeout)?)
    }

    /// [`Worker::run_with`] with default [`RunOptions`].
    pub fn run(&mut self, handlers: &HandlerRegistry, stop: &AtomicBool) -> Result<RunStats> {
        self.run_with(handlers, stop, RunOptions::default())
    }

    /// Claims and processes steps until `stop` is set. Between empty polls
    /// it sleeps on LISTEN/NOTIFY for up to `options.poll_interval`.
    /// Returns on the first database error (the caller reconnects).
    pub fn run_with(
        &mut self,
        handlers: &HandlerRegistry,
        stop: &AtomicBool,
        options: RunOptions,
    ) -> Result<RunStats> {
        let mut stats = RunStats::default();
        // Listen before the first read so no send can slip between the two.
        self.listen()?;
        while !stop.load(Ordering::SeqCst) {
            match self.claim_next(options.visibility_timeout)? {
                Some(step) => match self.process(handlers, &step) {
                    Ok(true) => stats.completed += 1,
                    Ok(false) => stats.failed += 1,
                    Err(e @ WorkerError::StaleClaim { .. }) => {
                        eprintln!("worker {}: {e}", self.worker_id);
                        stats.stale += 1;
                    }
                    Err(e) => return Err(e),
                },
                None => {
                    self.wait_for_work(options.poll_interval)?;
                }
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_rejects_bad_namespaces_before_touching_the_network() {
        for bad in ["", "Has Caps", "dash-ed"] {
            let err = Worker::connect("postgresql://nobody@127.0.0.1:1/none", bad)
                .err()
                .unwrap();
            assert!(matches!(err, WorkerError::InvalidName(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn connect_reports_unreachable_databases() {
        let err = Worker::connect("postgresql://nobody@127.0.0.1:1/none", "rust")
            .err()
            .unwrap();
        assert!(matches!(err, WorkerError::Queue(_)), "{err}");
    }

    #[test]
    fn run_options_defaults() {
        let o = RunOptions::default();
        assert_eq!(o.visibility_timeout, Duration::from_secs(30));
        assert_eq!(o.poll_interval, Duration::from_secs(1));
    }

    #[test]
    fn claimed_step_input_json() {
        let step = ClaimedStep {
            msg_id: 1,
            step_id: 2,
            task_id: 3,
            namespace: "rust".into(),
            handler: "sum".into(),
            input: serde_json::json!({"numbers": [1, 2]}),
            attempt: 1,
        };
        assert_eq!(step.input_json(), r#"{"numbers":[1,2]}"#);
    }

    #[test]
    fn errors_display() {
        let stale = WorkerError::StaleClaim { step_id: 9 };
        assert!(stale.to_string().contains("step 9"));
        let bad = serde_json::from_str::<Value>("{").unwrap_err();
        assert!(WorkerError::InvalidJson(bad)
            .to_string()
            .starts_with("invalid JSON"));
    }
}
