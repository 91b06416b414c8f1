//! Settings read from the environment.
//!
//! | Variable                 | Default       |
//! |--------------------------|---------------|
//! | `DATABASE_URL`           | (none)        |
//! | `PGMQ_DATABASE_URL`      | `DATABASE_URL`|
//! | `TASKER_ENV`             | `development` |
//! | `TASKER_BIND_HOST`       | `0.0.0.0`     |
//! | `ORCHESTRATION_PORT`     | 8080          |
//! | `RUST_WORKER_PORT`       | 8081          |
//! | `RUBY_WORKER_PORT`       | 8082          |
//! | `PYTHON_WORKER_PORT`     | 8083          |
//! | `TYPESCRIPT_WORKER_PORT` | 8085          |
//!
//! 8084 is skipped on purpose (GitHub runners have Mono XSP4 listening there).
//!
//! `PGMQ_DATABASE_URL` gives the queue (the `pgmq` schema) its own database,
//! as tasker-core's split mode does; unset, or equal to `DATABASE_URL`, the
//! queue shares the main database. [`DatabaseUrls`] is the resolved pair.

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

/// The queue's own database, when it has one.
pub const PGMQ_DATABASE_URL: &str = "PGMQ_DATABASE_URL";

/// Where a process keeps its state: `main` holds tasks and steps (schema
/// `tasker`), `queue` the message queue (schema `pgmq`). Both are the same
/// URL unless the databases are split.
///
/// ```
/// use tasker_shared::config::DatabaseUrls;
///
/// let one = DatabaseUrls::from("postgresql://h/app");
/// assert!(!one.is_split());
/// assert_eq!(one.queue, "postgresql://h/app");
///
/// let env = |name: &str| match name {
///     "DATABASE_URL" => Some("postgresql://h/app".to_string()),
///     "PGMQ_DATABASE_URL" => Some("postgresql://h/queue".to_string()),
///     _ => None,
/// };
/// let two = DatabaseUrls::resolve("postgresql://h/app", env);
/// assert!(two.is_split());
/// assert_eq!(two.queue, "postgresql://h/queue");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrls {
    /// Tasks and workflow steps (`DATABASE_URL`).
    pub main: String,
    /// The message queue (`PGMQ_DATABASE_URL`, else `main`).
    pub queue: String,
}

impl DatabaseUrls {
    /// The queue in its own database.
    pub fn split(main: impl Into<String>, queue: impl Into<String>) -> DatabaseUrls {
        DatabaseUrls {
            main: main.into(),
            queue: queue.into(),
        }
    }

    /// True when the queue has a database of its own: steps and messages
    /// then cannot change in one transaction.
    pub fn is_split(&self) -> bool {
        self.main != self.queue
    }

    /// `database_url` for the main database; the queue's is
    /// `PGMQ_DATABASE_URL` read through `lookup` when it is set and differs
    /// from `DATABASE_URL` (equal means one database), else `database_url`.
    /// The language workers hand the core only `DATABASE_URL`, so the queue
    /// URL comes from the environment they were started with.
    pub fn resolve<F>(database_url: &str, lookup: F) -> DatabaseUrls
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        match get(PGMQ_DATABASE_URL) {
            Some(queue) if Some(&queue) != get("DATABASE_URL").as_ref() => {
                DatabaseUrls::split(database_url, queue)
            }
            _ => DatabaseUrls::from(database_url),
        }
    }

    /// [`DatabaseUrls::resolve`] with the process environment.
    pub fn from_env_for(database_url: &str) -> DatabaseUrls {
        DatabaseUrls::resolve(database_url, |name| std::env::var(name).ok())
    }

    /// Both URLs with passwords hidden, for logs: `main` alone when the
    /// queue shares it, else `main (queue: queue)`.
    pub fn redacted(&self) -> String {
        if self.is_split() {
            format!(
                "{} (queue: {})",
                redact_url(&self.main),
                redact_url(&self.queue)
            )
        } else {
            redact_url(&self.main)
        }
    }
}

impl From<&str> for DatabaseUrls {
    /// One database for both.
    fn from(url: &str) -> DatabaseUrls {
        DatabaseUrls::split(url, url)
    }
}

impl From<&String> for DatabaseUrls {
    fn from(url: &String) -> DatabaseUrls {
        DatabaseUrls::from(url.as_str())
    }
}

impl From<String> for DatabaseUrls {
    fn from(url: String) -> DatabaseUrls {
        DatabaseUrls::from(url.as_str())
    }
}

impl From<&DatabaseUrls> for DatabaseUrls {
    fn from(urls: &DatabaseUrls) -> DatabaseUrls {
        urls.clone()
    }
}

/// Settings for a service or worker process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DATABASE_URL`, if set.
    pub database_url: Option<String>,
    /// `PGMQ_DATABASE_URL`, if set.
    pub pgmq_database_url: Option<String>,
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
            pgmq_database_url: get(PGMQ_DATABASE_URL),
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

    /// The main and queue databases (see [`DatabaseUrls::resolve`]), or
    /// [`ConfigError::Missing`] without `DATABASE_URL`.
    pub fn require_database_urls(&self) -> Result<DatabaseUrls, ConfigError> {
        let main = self.require_database_url()?;
        Ok(DatabaseUrls::resolve(main, |name| match name {
            "DATABASE_URL" => self.database_url.clone(),
            PGMQ_DATABASE_URL => self.pgmq_database_url.clone(),
            _ => None,
        }))
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
        assert_eq!(cfg.pgmq_database_url, None);
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
    fn the_queue_database_defaults_to_the_main_one() {
        let cfg = Config::from_lookup(lookup(&[("DATABASE_URL", "postgresql://h/app")])).unwrap();
        let urls = cfg.require_database_urls().unwrap();
        assert_eq!(urls, DatabaseUrls::from("postgresql://h/app"));
        assert!(!urls.is_split());
        assert_eq!(urls.redacted(), "postgresql://h/app");

        let same = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgresql://h/app"),
            ("PGMQ_DATABASE_URL", "postgresql://h/app"),
        ]))
        .unwrap();
        assert!(!same.require_database_urls().unwrap().is_split());

        let split = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgresql://u:pw@h/app"),
            ("PGMQ_DATABASE_URL", "postgresql://u:pw@h/app_pgmq"),
        ]))
        .unwrap();
        let urls = split.require_database_urls().unwrap();
        assert!(urls.is_split());
        assert_eq!(
            (urls.main.as_str(), urls.queue.as_str()),
            ("postgresql://u:pw@h/app", "postgresql://u:pw@h/app_pgmq")
        );
        assert_eq!(
            urls.redacted(),
            "postgresql://u:***@h/app (queue: postgresql://u:***@h/app_pgmq)"
        );

        let no_main =
            Config::from_lookup(lookup(&[("PGMQ_DATABASE_URL", "postgresql://h/q")])).unwrap();
        assert_eq!(
            no_main.require_database_urls(),
            Err(ConfigError::Missing("DATABASE_URL"))
        );
    }

    #[test]
    fn resolve_uses_the_url_given_for_the_main_database() {
        // A worker handed a clone's URL: PGMQ_DATABASE_URL equal to
        // DATABASE_URL means one database, the one handed in.
        let env = lookup(&[
            ("DATABASE_URL", "postgresql://h/app"),
            ("PGMQ_DATABASE_URL", "postgresql://h/app"),
        ]);
        assert_eq!(
            DatabaseUrls::resolve("postgresql://h/clone", env),
            DatabaseUrls::from("postgresql://h/clone")
        );
        let env = lookup(&[("PGMQ_DATABASE_URL", "postgresql://h/q")]);
        assert_eq!(
            DatabaseUrls::resolve("postgresql://h/clone", env),
            DatabaseUrls::split("postgresql://h/clone", "postgresql://h/q")
        );
        let env = lookup(&[("PGMQ_DATABASE_URL", " ")]);
        assert!(!DatabaseUrls::resolve("postgresql://h/clone", env).is_split());
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
