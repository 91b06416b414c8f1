//! Helpers for integration tests that run against a real PostgreSQL.
//!
//! Such tests are `#[ignore]`d so a plain test run reports them as skipped;
//! `mage rust:testIntegration` runs them with `DATABASE_URL` pointing at a
//! freshly cloned, migrated database, and `PGMQ_DATABASE_URL` at the clone
//! of the queue's database when the databases are split (else at the same
//! clone). Tests that touch queues use [`queue_database_url`], so one suite
//! runs in both modes.
//!
//! ```
//! let a = tasker_shared::testing::unique_name("q");
//! let b = tasker_shared::testing::unique_name("q");
//! assert!(a.starts_with("q_") && a != b);
//! ```

use crate::config::DatabaseUrls;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The database an integration test must use. Panics with what to run when
/// `DATABASE_URL` is unset, so such a test never passes silently.
pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set: these integration tests need a PostgreSQL database \
             with db/migrations applied (run `mage rust:testIntegration`)"
        ),
    }
}

/// The databases an integration test must use: `DATABASE_URL` and, split,
/// `PGMQ_DATABASE_URL` (see [`DatabaseUrls::resolve`]).
pub fn database_urls() -> DatabaseUrls {
    DatabaseUrls::from_env_for(&database_url())
}

/// The database holding the queues: `PGMQ_DATABASE_URL` when split, else
/// `DATABASE_URL`.
pub fn queue_database_url() -> String {
    database_urls().queue
}

/// A name no other test, thread or concurrent test process uses:
/// `<prefix>_<pid>_<counter>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}
