//! `tasker-worker-rust`: the Rust worker for the `rust` namespace.
//!
//! Reads DATABASE_URL, PGMQ_DATABASE_URL (the queue's own database, if
//! split), RUST_WORKER_PORT (default 8081) and TASKER_BIND_HOST
//! (default 0.0.0.0). Serves `GET /health` and processes `rust_queue`,
//! reconnecting with backoff when the database goes away. Exits 2 on a
//! configuration error and 1 when the port cannot be bound. SIGINT/SIGTERM
//! stop it gracefully (the step in hand is finished first, exit 0); a second
//! signal exits at once, and a step cut short that way becomes visible again
//! when its visibility timeout passes.

mod handlers;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tasker_shared::config::Config;
use tasker_shared::shutdown;
use tasker_worker::Worker;

const NAMESPACE: &str = "rust";
const SERVICE: &str = "rust-worker";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    let stop = shutdown::install();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tasker-worker-rust: {e}");
            return ExitCode::from(2);
        }
    };
    let databases = match config.require_database_urls() {
        Ok(urls) => urls,
        Err(e) => {
            eprintln!("tasker-worker-rust: {e}");
            return ExitCode::from(2);
        }
    };
    let host = config.bind_host.clone();
    let port = config.ports.rust_worker;
    let health =
        match tasker_worker::health::serve((host.as_str(), port), &databases, SERVICE, VERSION) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("tasker-worker-rust: cannot listen on {host}:{port}: {e}");
                return ExitCode::from(1);
            }
        };
    eprintln!(
        "tasker-worker-rust {VERSION}: health on http://{}/health, namespace {NAMESPACE} (env {}, database {})",
        health.local_addr(),
        config.environment,
        databases.redacted()
    );

    let handlers = handlers::registry();
    let mut backoff = Duration::from_millis(250);
    let mut last_error = String::new();
    while !stop.load(Ordering::SeqCst) {
        let error = match Worker::connect(&databases, NAMESPACE) {
            Ok(mut worker) => {
                eprintln!(
                    "tasker-worker-rust: {} serving {} with handlers {}",
                    worker.worker_id(),
                    worker.queue_name(),
                    handlers.names().join(", ")
                );
                backoff = Duration::from_millis(250);
                last_error.clear();
                match worker.run(&handlers, stop) {
                    Ok(stats) => {
                        eprintln!("tasker-worker-rust: stopping after {stats:?}");
                        break;
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        if error != last_error {
            eprintln!("tasker-worker-rust: {error} (retrying)");
            last_error = error;
        }
        shutdown::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
    health.shutdown();
    ExitCode::SUCCESS
}
