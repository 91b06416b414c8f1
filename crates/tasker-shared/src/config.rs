//! Settings read from the environment.
//!
//! | Variable                 | Default       |
//! |--------------------------|---------------|
//! | `DATABASE_URL`           | (none)        |
//! | `TASKER_ENV`             | `development` |
//! | `TASKER_BIND_HOST`       | `0.0.0.0`     |
//! | `ORCHESTRATION_PORT`     | 8080          |
//! | `RUST_WORKER_PORT`       | 8081          |
//! | `RUBY_WORKER_PORT`       | 8082          |
//! | `PYTHON_WORKER_PORT`     | 8083          |
//! | `TYPESCRIPT_WORKER_PORT` | 8085          |
//!
//! 8084 is skipped on purpose (GitHub runners have Mono XSP4 listening there).

use std::fmt;

/// Default port of the orchestration service.
pub const DEFAULT_ORCHESTRATION_PORT: u16 = 8080;
/// Default port of the Rust worker's health server.
pub const DEFAULT_RUST_WORKER_PORT: u16 = 8081;
/// Default port of the Ruby worker's health server.
pub const DEFAULT_RUBY_WORKER_PORT: u16 = 8082;
/// Default port of the Python worker's health server.
pub const DEFAULT_PYTHON_WORKER_PORT: u16 = 8083;
/// Default port of the TypeScript worker's health server.
pub const DEFAULT_TYPESCRIPT_WORKER_PORT: u16 = 8085;
/// Environment name used when `TASKER_ENV` is unset.
pub const DEFAULT_ENVIRONMENT: &str = "development";
/// Interface services bind when `TASKER_BIND_HOST` is unset.
pub const DEFAULT_BIND_HOST: &str = "0.0.0.0";

/// A configuration problem, reported before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    Missing(&'static str),
    /// A port variable is not a number in 1..=65535.
    InvalidPort {
        /// The variable name.
        var: &'static str,
        /// The offending value.
        value: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing(var) => write!(f, "{var} is not set"),
            ConfigError::InvalidPort { var, value } => {
                write!(f, "{var}={value:?} is not a valid port (1-65535)")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// The HTTP port of every service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePorts {
    /// `ORCHESTRATION_PORT`
    pub orchestration: u16,
    /// `RUST_WORKER_PORT`
    pub rust_worker: u16,
    /// `RUBY_WORKER_PORT`
    pub ruby_worker: u16,
    /// `PYTHON_WORKER_PORT`
    pub python_worker: u16,
    /// `TYPESCRIPT_WORKER_PORT`
    pub typescript_worker: u16,
}

impl Default for ServicePorts {
    fn default() -> Self {
        ServicePorts {
            orchestration: DEFAULT_ORCHESTRATION_PORT,
            rust_worker: DEFAULT_RUST_WORKER_PORT,
            ruby_worker: DEFAULT_RUBY_WORKER_PORT,
            python_worker: DEFAULT_PYTHON_WORKER_PORT,
            typescript_worker: DEFAULT_TYPESCRIPT_WORKER_PORT,
        }
    }
}

/// Settings for a service or worker process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DATABASE_URL`, if set.
    pub database_url: Option<String>,
    /// `TASKER_ENV` (`development`, `test`, `production`, ...).
    pub environment: String,
    /// `TASKER_BIND_HOST`: the interface HTTP servers listen on.
    pub bind_host: String,
    /// Service ports.
    pub ports: ServicePorts,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, which returns a variable's value.
    /// Empty values count as unset.
    ///
    /// ```
    /// use tasker_shared::config::Config;
    ///
    /// let cfg = Config::from_lookup(|name| match name {
    ///     "DATABASE_URL" => Some("postgresql://tasker:secret@localhost/tasker".into()),
    ///     "RUST_WORKER_PORT" => Some("9001".into()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert_eq!(cfg.ports.rust_worker, 9001);
    /// assert_eq!(cfg.ports.orchestration, 8080);
    /// assert_eq!(cfg.environment, "development");
    /// assert_eq!(
    ///     cfg.redacted_database_url().unwrap(),
    ///     "postgresql://tasker:***@localhost/tasker"
    /// );
    /// ```
    pub fn from_lookup<F>(lookup: F) -> Result<Config, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let port = |var: &'static str, default: u16| match get(var) {
            None => Ok(default),
            Some(value) => parse_port(var, &value),
        };
        Ok(Config {
            database_url: get("DATABASE_URL"),
            environment: get("TASKER_ENV").unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()),
            bind_host: get("TASKER_BIND_HOST").unwrap_or_else(|| DEFAULT_BIND_HOST.to_string()),
            ports: ServicePorts {
                orchestration: port("ORCHESTRATION_PORT", DEFAULT_ORCHESTRATION_PORT)?,
                rust_worker: port("RUST_WORKER_PORT", DEFAULT_RUST_WORKER_PORT)?,
                ruby_worker: port("RUBY_WORKER_PORT", DEFAULT_RUBY_WORKER_PORT)?,
                python_worker: port("PYTHON_WORKER_PORT", DEFAULT_PYTHON_WORKER_PORT)?,
                typescript_worker: port("TYPESCRIPT_WORKER_PORT", DEFAULT_TYPESCRIPT_WORKER_PORT)?,
            },
        })
    }

    /// `DATABASE_URL`, or [`ConfigError::Missing`].
    pub fn require_database_url(&self) -> Result<&str, ConfigError> {
        self.database_url
            .as_deref()
            .ok_or(ConfigError::Missing("DATABASE_URL"))
    }

    /// `DATABASE_URL` with its password hidden, for logs.
    pub fn redacted_database_url(&self) -> Option<String> {
        self.database_url.as_deref().map(redact_url)
    }
}

fn parse_port(var: &'static str, value: &str) -> Result<u16, ConfigError> {
    match value.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ConfigError::InvalidPort {
            var,
            value: value.to_string(),
        }),
    }
}

/// Hides passwords in a connection string so it can be logged.
///
/// Handles the URL form (`scheme://user:password@host/...`, including `@`
/// and `/` inside the password), `password=` query parameters and the
/// libpq key/value form (`host=... password=...`).
///
/// ```
/// use tasker_shared::config::redact_url;
///
/// assert_eq!(
///     redact_url("postgresql://tasker:s3cret@db:5432/tasker"),
///     "postgresql://tasker:***@db:5432/tasker"
/// );
/// assert_eq!(redact_url("postgresql://db/tasker"), "postgresql://db/tasker");
/// assert_eq!(redact_url("host=db password=s3cret"), "host=db password=***");
/// ```
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    if let Some(scheme_end) = url.find("://") {
        let (scheme, after) = url.split_at(scheme_end + 3);
        out.push_str(scheme);
        // The userinfo ends at the last '@' before the query string.
        let query_start = after.find('?').unwrap_or(after.len());
        if let Some(at) = after[..query_start].rfind('@') {
            let userinfo = &after[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            rest = &after[at..];
        } else {
            rest = after;
        }
    }
    out.push_str(&redact_password_params(rest));
    out
}

/// Replaces the value of every `password=` parameter (query string or
/// key/value form) with `***`.
fn redact_password_params(s: &str) -> String {
    const KEY: &str = "password=";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = find_ascii_case_insensitive(rest, KEY) {
        let boundary_ok =
            pos == 0 || matches!(rest.as_bytes()[pos - 1], b'?' | b'&' | b' ' | b'\t' | b'\n');
        let value_start = pos + KEY.len();
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        if !boundary_ok {
            continue;
        }
        let value_end = if let Some(quoted) = rest.strip_prefix('\'') {
            // libpq quoting: 'value with spaces'
            quoted.find('\'').map(|i| i + 2).unwrap_or(rest.len())
        } else {
            rest.find(['&', ' ', '\t', '\n', '#']).unwrap_or(rest.len())
        };
        if value_end > 0 {
            out.push_str("***");
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let cfg = Config::from_lookup(|_| None).unwrap();
        assert_eq!(cfg.database_url, None);
        assert_eq!(cfg.environment, "development");
        assert_eq!(cfg.bind_host, "0.0.0.0");
        assert_eq!(cfg.ports, ServicePorts::default());
        assert_eq!(cfg.ports.orchestration, 8080);
        assert_eq!(cfg.ports.rust_worker, 8081);
        assert_eq!(cfg.ports.ruby_worker, 8082);
        assert_eq!(cfg.ports.python_worker, 8083);
        assert_eq!(cfg.ports.typescript_worker, 8085);
        assert_eq!(
            cfg.require_database_url(),
            Err(ConfigError::Missing("DATABASE_URL"))
        );
    }

    #[test]
    fn reads_every_variable() {
        let cfg = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgresql://u:p@h/d"),
            ("TASKER_ENV", "test"),
            ("TASKER_BIND_HOST", "127.0.0.1"),
            ("ORCHESTRATION_PORT", "18080"),
            ("RUST_WORKER_PORT", "18081"),
            ("RUBY_WORKER_PORT", "18082"),
            ("PYTHON_WORKER_PORT", "18083"),
            ("TYPESCRIPT_WORKER_PORT", " 18085 "),
        ]))
        .unwrap();
        assert_eq!(cfg.require_database_url().unwrap(), "postgresql://u:p@h/d");
        assert_eq!(cfg.environment, "test");
        assert_eq!(cfg.bind_host, "127.0.0.1");
        assert_eq!(
            cfg.ports,
            ServicePorts {
                orchestration: 18080,
                rust_worker: 18081,
                ruby_worker: 18082,
                python_worker: 18083,
                typescript_worker: 18085,
            }
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let cfg = Config::from_lookup(lookup(&[("DATABASE_URL", ""), ("ORCHESTRATION_PORT", " ")]))
            .unwrap();
        assert_eq!(cfg.database_url, None);
        assert_eq!(cfg.ports.orchestration, 8080);
    }

    #[test]
    fn rejects_bad_ports() {
        for bad in ["0", "65536", "http", "-1", "80a"] {
            let err = Config::from_lookup(lookup(&[("RUST_WORKER_PORT", bad)])).unwrap_err();
            assert_eq!(
                err,
                ConfigError::InvalidPort {
                    var: "RUST_WORKER_PORT",
                    value: bad.to_string()
                }
            );
            assert!(err.to_string().contains("RUST_WORKER_PORT"));
        }
    }

    #[test]
    fn redacts_url_passwords() {
        let cases = [
            (
                "postgresql://tasker:tasker@127.0.0.1:5432/tasker_test",
                "postgresql://tasker:***@127.0.0.1:5432/tasker_test",
            ),
            ("postgres://u:p%40ss@h/d", "postgres://u:***@h/d"),
            ("postgres://u:p@ss/w@rd@h:1/d", "postgres://u:***@h:1/d"),
            ("postgres://u:@h/d", "postgres://u:***@h/d"),
            ("postgres://user@h/d", "postgres://user@h/d"),
            ("postgres://h/d", "postgres://h/d"),
            (
                "postgres://h/d?sslmode=disable&password=x&user=u",
                "postgres://h/d?sslmode=disable&password=***&user=u",
            ),
            (
                "postgres://u:a@h/d?password=b",
                "postgres://u:***@h/d?password=***",
            ),
            (
                "host=h user=u password=secret dbname=d",
                "host=h user=u password=*** dbname=d",
            ),
            (
                "host=h password='with space' dbname=d",
                "host=h password=*** dbname=d",
            ),
            ("host=h PASSWORD=x", "host=h PASSWORD=***"),
            ("host=h mypassword=x", "host=h mypassword=x"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "redact_url({input:?})");
        }
    }

    #[test]
    fn redacted_database_url_never_contains_the_password() {
        let cfg = Config::from_lookup(lookup(&[(
            "DATABASE_URL",
            "postgresql://tasker:hunter2@db/tasker",
        )]))
        .unwrap();
        let shown = cfg.redacted_database_url().unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
