//! Types and helpers shared by every Tasker service and worker.
//!
//! * [`config`]: settings from the environment (database URL, environment
//!   name, service ports) and [`config::redact_url`] for logging URLs safely.
//! * [`messages`]: what travels on the queues ([`messages::StepMessage`],
//!   [`messages::StepResult`]) and the queue naming rules.
//! * [`health`]: the `/health` report every service returns.
//! * [`http`]: a small HTTP server helper over `tiny_http`.
//! * [`shutdown`]: a stop flag set by SIGINT / SIGTERM.
//! * [`testing`]: helpers for integration tests against PostgreSQL.
//!
//! ```
//! use tasker_shared::messages::{queue_for_namespace, Status};
//!
//! assert_eq!(queue_for_namespace("rust").unwrap(), "rust_queue");
//! assert_eq!(Status::InProgress.as_str(), "in_progress");
//! ```

pub mod config;
pub mod health;
pub mod http;
pub mod messages;
pub mod shutdown;
pub mod testing;

/// The version of this crate, which is the workspace version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
