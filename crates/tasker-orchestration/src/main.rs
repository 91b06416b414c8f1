//! `tasker-orchestration`: the orchestration HTTP service.
//!
//! Reads DATABASE_URL, PGMQ_DATABASE_URL (the queue's own database, if
//! split), ORCHESTRATION_PORT (default 8080) and TASKER_BIND_HOST
//! (default 0.0.0.0). Exits 2 on a configuration error and
//! 1 when the port cannot be bound. SIGINT/SIGTERM stop it gracefully (exit
//! 0); a second signal exits at once. It starts no child processes.

use std::process::ExitCode;
use std::time::Duration;
use tasker_orchestration::{Service, ServiceOptions, VERSION};
use tasker_shared::config::Config;
use tasker_shared::shutdown;

fn main() -> ExitCode {
    shutdown::install();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tasker-orchestration: {e}");
            return ExitCode::from(2);
        }
    };
    let databases = match config.require_database_urls() {
        Ok(urls) => urls,
        Err(e) => {
            eprintln!("tasker-orchestration: {e}");
            return ExitCode::from(2);
        }
    };
    let host = config.bind_host.clone();
    let port = config.ports.orchestration;
    let service = match Service::start((host.as_str(), port), &databases, ServiceOptions::default())
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tasker-orchestration: cannot listen on {host}:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "tasker-orchestration {VERSION} listening on http://{} (env {}, database {})",
        service.local_addr(),
        config.environment,
        databases.redacted()
    );
    while !shutdown::sleep(Duration::from_secs(3600)) {}
    eprintln!("tasker-orchestration: shutting down");
    service.shutdown();
    ExitCode::SUCCESS
}
