//! A blocking client for the orchestration API.
//!
//! Plain HTTP/1.1 over `std::net::TcpStream`: one connection per request
//! (`Connection: close`), JSON bodies with `Content-Length`, chunked or
//! length-delimited responses. Redirects are never followed: a 3xx answer
//! is an error ([`ClientError::Redirect`]). There is no TLS: `https://`
//! URLs are refused.
//!
//! ```no_run
//! use std::time::Duration;
//! use tasker_client::TaskerClient;
//!
//! let client = TaskerClient::new("http://127.0.0.1:8080")?;
//! let id = client.submit_task("rust", "sum", &serde_json::json!({"numbers": [1, 2, 3]}))?;
//! let task = client.wait_for_completion(id, Duration::from_secs(30))?;
//! println!("{} -> {:?}", task.status, task.result);
//! # Ok::<(), tasker_client::ClientError>(())
//! ```
//!
//! URL handling (this example runs as a doctest):
//!
//! ```
//! use tasker_client::TaskerClient;
//!
//! let client = TaskerClient::new("http://localhost:8080/api/").unwrap();
//! assert_eq!(client.base_url(), "http://localhost:8080/api");
//! assert!(TaskerClient::new("https://localhost:8080").is_err());
//! ```

mod wire;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::io;
use std::thread;
use std::time::{Duration, Instant};
use tasker_shared::health::HealthReport;
use tasker_shared::messages::Status;

pub use wire::{RawResponse, MAX_RESPONSE_BYTES};

/// Default connect / read / write timeout per request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default pause between polls in [`TaskerClient::wait_for_completion`].
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Why a call failed.
#[derive(Debug)]
pub enum ClientError {
    /// The base URL is not `http://host[:port][/path]`.
    InvalidUrl(String),
    /// Connecting, sending or receiving failed (includes timeouts).
    Io(io::Error),
    /// The server answered with an unexpected status.
    Http {
        /// The status code.
        status: u16,
        /// The `error` field of a JSON body, or the body text.
        message: String,
    },
    /// The server answered with a redirect, which is not followed.
    Redirect {
        /// The 3xx status code.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The response is not valid HTTP/1.x.
    InvalidResponse(String),
    /// The body is not the JSON expected.
    Json(serde_json::Error),
    /// [`TaskerClient::wait_for_completion`] ran out of time.
    Timeout {
        /// The task waited for.
        task_id: i64,
        /// Its status at the last poll.
        last_status: Status,
    },
}

impl ClientError {
    /// The HTTP status, for [`ClientError::Http`] and [`ClientError::Redirect`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } | ClientError::Redirect { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidUrl(msg) => write!(f, "invalid URL: {msg}"),
            ClientError::Io(e) => write!(f, "I/O error: {e}"),
            ClientError::Http { status, message } => write!(f, "HTTP {status}: {message}"),
            ClientError::Redirect { status, location } => write!(
                f,
                "HTTP {status} redirect to {} (redirects are not followed)",
                location.as_deref().unwrap_or("<no Location>")
            ),
            ClientError::InvalidResponse(msg) => write!(f, "invalid HTTP response: {msg}"),
            ClientError::Json(e) => write!(f, "unexpected JSON: {e}"),
            ClientError::Timeout {
                task_id,
                last_status,
            } => write!(f, "task {task_id} still {last_status} after the timeout"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(e) => Some(e),
            ClientError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<serde_json::Error> for ClientError {
    fn from(e: serde_json::Error) -> Self {
        ClientError::Json(e)
    }
}

/// Result alias for client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A task as reported by `GET /v1/tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    /// The task id.
    pub id: i64,
    /// Its namespace.
    #[serde(default)]
    pub namespace: String,
    /// Its handler.
    #[serde(default)]
    pub handler: String,
    /// Where it is in its lifecycle.
    pub status: Status,
    /// The handler's output once complete.
    #[serde(default)]
    pub result: Option<Value>,
    /// The failure message once failed.
    #[serde(default)]
    pub error: Option<String>,
}

impl TaskStatus {
    /// True once the task is `complete` or `error`.
    pub fn is_finished(&self) -> bool {
        self.status.is_final()
    }
}

#[derive(Serialize)]
struct SubmitRequest<'a> {
    namespace: &'a str,
    handler: &'a str,
    input: &'a Value,
}

#[derive(Deserialize)]
struct SubmitResponse {
    task_id: i64,
}

/// A client for one orchestration service.
#[derive(Debug, Clone)]
pub struct TaskerClient {
    host: String,
    port: u16,
    base_path: String,
    timeout: Duration,
    poll_interval: Duration,
}

impl TaskerClient {
    /// A client for `base_url`, e.g. `http://127.0.0.1:8080`.
    pub fn new(base_url: &str) -> Result<TaskerClient> {
        let (host, port, base_path) = wire::parse_base_url(base_url)?;
        Ok(TaskerClient {
            host,
            port,
            base_path,
            timeout: DEFAULT_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// Sets the per-request connect / read / write timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the pause between polls in [`TaskerClient::wait_for_completion`].
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The normalised base URL.
    pub fn base_url(&self) -> String {
        format!(
            "http://{}{}",
            wire::host_header(&self.host, self.port),
            self.base_path
        )
    }

    /// `GET /health`. A 503 answer still yields the (unhealthy) report.
    pub fn health(&self) -> Result<HealthReport> {
        let res = self.call("GET", "/health", None)?;
        match res.status {
            200 | 503 => Ok(serde_json::from_slice(&res.body)?),
            _ => Err(http_error(&res)),
        }
    }

    /// `POST /v1/tasks`; returns the new task id.
    pub fn submit_task(&self, namespace: &str, handler: &str, input: &Value) -> Result<i64> {
        let body = serde_json::to_vec(&SubmitRequest {
            namespace,
            handler,
            input,
        })?;
        let res = self.call("POST", "/v1/tasks", Some(&body))?;
        match res.status {
            200 | 201 => Ok(serde_json::from_slice::<SubmitResponse>(&res.body)?.task_id),
            _ => Err(http_error(&res)),
        }
    }

    /// `GET /v1/tasks/{id}`. An unknown id is `ClientError::Http` with 404.
    pub fn get_task(&self, id: i64) -> Result<TaskStatus> {
        let res = self.call("GET", &format!("/v1/tasks/{id}"), None)?;
        match res.status {
            200 => Ok(serde_json::from_slice(&res.body)?),
            _ => Err(http_error(&res)),
        }
    }

    /// Polls [`TaskerClient::get_task`] until the task is complete or
    /// failed, or `timeout` passes ([`ClientError::Timeout`]).
    pub fn wait_for_completion(&self, id: i64, timeout: Duration) -> Result<TaskStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let task = self.get_task(id)?;
            if task.is_finished() {
                return Ok(task);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ClientError::Timeout {
                    task_id: id,
                    last_status: task.status,
                });
            }
            thread::sleep(self.poll_interval.min(remaining));
        }
    }

    /// Sends one request and returns the response, whatever its status,
    /// except that redirects become [`ClientError::Redirect`].
    pub fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<RawResponse> {
        let full_path = format!("{}{}", self.base_path, path);
        let res = wire::exchange(
            &self.host,
            self.port,
            self.timeout,
            method,
            &full_path,
            body,
        )?;
        if (300..400).contains(&res.status) {
            return Err(ClientError::Redirect {
                status: res.status,
                location: res.header("location").map(str::to_string),
            });
        }
        Ok(res)
    }
}

fn http_error(res: &RawResponse) -> ClientError {
    let message = serde_json::from_slice::<Value>(&res.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&res.body);
            text.chars().take(500).collect()
        });
    ClientError::Http {
        status: res.status,
        message,
    }
}

#[cfg(test)]
mod tests;
