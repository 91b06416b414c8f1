//! The `/health` report.
//!
//! Every service answers `GET /health` with a [`HealthReport`]:
//! `200` and `{"status":"healthy",...}` when all checks pass, `503` and
//! `{"status":"unhealthy",...}` otherwise.
//!
//! ```
//! use tasker_shared::health::HealthReport;
//!
//! let report = HealthReport::new("orchestration", "0.1.0").check("database", Ok(()));
//! assert!(report.is_healthy());
//! assert_eq!(report.http_status(), 200);
//! assert_eq!(
//!     serde_json::to_string(&report).unwrap(),
//!     r#"{"status":"healthy","service":"orchestration","version":"0.1.0","checks":{"database":{"status":"healthy"}}}"#
//! );
//!
//! let down = HealthReport::new("orchestration", "0.1.0")
//!     .check("database", Err("connection refused".to_string()));
//! assert_eq!(down.http_status(), 503);
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Healthy or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything checked is working.
    Healthy,
    /// At least one check failed.
    Unhealthy,
}

/// One dependency check (for example `database`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The check's outcome.
    pub status: HealthStatus,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The body of a `/health` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// Healthy only when every check is.
    pub status: HealthStatus,
    /// The service name (`orchestration`, `rust-worker`, ...).
    pub service: String,
    /// The service version.
    pub version: String,
    /// Checks by name.
    #[serde(default)]
    pub checks: BTreeMap<String, Check>,
    /// The token this process was started with ([`INSTANCE_ENV`]), so a
    /// supervisor can tell its own process from another one on the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// The environment variable holding the instance token a supervisor gives
/// the process it spawns; `/health` echoes it.
pub const INSTANCE_ENV: &str = "TASKER_INSTANCE";

impl HealthReport {
    /// A healthy report without checks.
    pub fn new(service: impl Into<String>, version: impl Into<String>) -> Self {
        HealthReport {
            status: HealthStatus::Healthy,
            service: service.into(),
            version: version.into(),
            checks: BTreeMap::new(),
            instance: std::env::var(INSTANCE_ENV).ok().filter(|v| !v.is_empty()),
        }
    }

    /// Adds a check; an `Err` makes the whole report unhealthy.
    pub fn check(mut self, name: impl Into<String>, outcome: Result<(), String>) -> Self {
        let check = match outcome {
            Ok(()) => Check {
                status: HealthStatus::Healthy,
                message: None,
            },
            Err(message) => {
                self.status = HealthStatus::Unhealthy;
                Check {
                    status: HealthStatus::Unhealthy,
                    message: Some(message),
                }
            }
        };
        self.checks.insert(name.into(), check);
        self
    }

    /// True when the status is healthy.
    pub fn is_healthy(&self) -> bool {
        self.status == HealthStatus::Healthy
    }

    /// 200 when healthy, 503 otherwise.
    pub fn http_status(&self) -> u16 {
        if self.is_healthy() {
            200
        } else {
            503
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_failed_check_makes_it_unhealthy() {
        let report = HealthReport::new("rust-worker", "1.2.3")
            .check("database", Ok(()))
            .check("queue", Err("missing".into()));
        assert!(!report.is_healthy());
        assert_eq!(report.http_status(), 503);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({
                "status": "unhealthy",
                "service": "rust-worker",
                "version": "1.2.3",
                "checks": {
                    "database": {"status": "healthy"},
                    "queue": {"status": "unhealthy", "message": "missing"}
                }
            })
        );
    }

    #[test]
    fn the_instance_token_is_echoed() {
        let mut report = HealthReport::new("x", "0");
        report.instance = Some("a1b2".into());
        let text = serde_json::to_string(&report).unwrap();
        assert!(text.ends_with(r#","instance":"a1b2"}"#), "{text}");
        assert_eq!(serde_json::from_str::<HealthReport>(&text).unwrap(), report);
    }

    #[test]
    fn empty_report_is_healthy_and_round_trips() {
        let report = HealthReport::new("x", "0");
        assert_eq!(report.http_status(), 200);
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(
            text,
            r#"{"status":"healthy","service":"x","version":"0","checks":{}}"#
        );
        assert_eq!(serde_json::from_str::<HealthReport>(&text).unwrap(), report);
    }
}
