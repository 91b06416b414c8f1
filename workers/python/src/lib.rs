//! `tasker_worker_py._native`: pyo3 bindings of [`tasker_worker::bridge`]
//! and [`tasker_orchestration::testing`] for the Python worker.
//!
//! The bindings only convert types: steps and results cross as JSON text,
//! Rust error strings become `TaskerError` (`tasker_worker_py.errors`) with
//! the same message. Every call that may block (network, database, joining
//! threads) releases the GIL, so other Python threads run and signals are
//! handled as soon as the call returns. The worker loop itself is Python (`tasker_worker_py.worker`).

use pyo3::import_exception;
use pyo3::prelude::*;
use std::sync::{Mutex, MutexGuard};
use tasker_shared::http::ServerHandle;
use tasker_worker::bridge;

// Defined in Python (`tasker_worker_py/errors.py`) so pure-Python code and
// tests can name and raise it without loading this module.
import_exception!(tasker_worker_py.errors, TaskerError);

/// The build id, set at compile time from `TASKER_BUILD_ID` (the build
/// system passes a hash of the Rust sources) so a stale extension can be
/// told apart from a fresh one.
const BUILD_ID: &str = match option_env!("TASKER_BUILD_ID") {
    Some(id) => id,
    None => "unknown",
};

fn tasker_error(message: String) -> PyErr {
    TaskerError::new_err(message)
}

/// Locks `m`, ignoring poisoning: a panic in the core has already surfaced
/// as a Python exception and the guarded value is still usable or `None`.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connected worker for one namespace (`bridge::Session`).
#[pyclass(module = "tasker_worker_py._native", name = "Session")]
struct Session {
    inner: Mutex<Option<bridge::Session>>,
    worker_id: String,
    queue_name: String,
}

impl Session {
    fn with<T>(&self, f: impl FnOnce(&mut bridge::Session) -> Result<T, String>) -> PyResult<T> {
        let mut guard = lock(&self.inner);
        let session = guard
            .as_mut()
            .ok_or_else(|| tasker_error("session is closed".to_string()))?;
        f(session).map_err(tasker_error)
    }
}

#[pymethods]
impl Session {
    #[new]
    fn new(py: Python<'_>, database_url: String, namespace: String) -> PyResult<Self> {
        let session = py
            .detach(|| bridge::Session::connect(&database_url, &namespace))
            .map_err(tasker_error)?;
        Ok(Session {
            worker_id: session.worker_id().to_string(),
            queue_name: session.queue_name().to_string(),
            inner: Mutex::new(Some(session)),
        })
    }

    /// The worker id recorded on claimed steps.
    #[getter]
    fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The queue read: `<namespace>_queue`.
    #[getter]
    fn queue_name(&self) -> &str {
        &self.queue_name
    }

    /// Claims the next step as JSON, or `None` when nothing is visible.
    fn claim(&self, py: Python<'_>, visibility_timeout_ms: u64) -> PyResult<Option<String>> {
        py.detach(|| self.with(|s| s.claim(visibility_timeout_ms)))
    }

    /// Records a successful outcome (`result_json` is the result).
    fn complete(&self, py: Python<'_>, step_json: String, result_json: String) -> PyResult<()> {
        py.detach(|| self.with(|s| s.complete(&step_json, &result_json)))
    }

    /// Records a failure with `message` as the error.
    fn fail(&self, py: Python<'_>, step_json: String, message: String) -> PyResult<()> {
        py.detach(|| self.with(|s| s.fail(&step_json, &message)))
    }

    /// Blocks until work is sent to the namespace or the timeout passes.
    fn wait_for_work(&self, py: Python<'_>, timeout_ms: u64) -> PyResult<bool> {
        py.detach(|| self.with(|s| s.wait_for_work(timeout_ms)))
    }

    /// Closes the connection; later calls raise `TaskerError`.
    fn close(&self, py: Python<'_>) {
        py.detach(|| drop(lock(&self.inner).take()));
    }

    /// True once `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.inner).is_none()
    }

    fn __repr__(&self) -> String {
        format!(
            "Session(worker_id={:?}, queue_name={:?})",
            self.worker_id, self.queue_name
        )
    }
}

/// The background `/health` server (`bridge::serve_health`).
#[pyclass(module = "tasker_worker_py._native", name = "HealthServer")]
struct HealthServer {
    handle: Mutex<Option<ServerHandle>>,
    address: String,
    port: u16,
}

#[pymethods]
impl HealthServer {
    #[new]
    fn new(
        py: Python<'_>,
        host: String,
        port: u16,
        database_url: String,
        service: String,
        version: String,
    ) -> PyResult<Self> {
        let handle = py
            .detach(|| bridge::serve_health(&host, port, &database_url, &service, &version))
            .map_err(tasker_error)?;
        let addr = handle.local_addr();
        Ok(HealthServer {
            address: addr.to_string(),
            port: addr.port(),
            handle: Mutex::new(Some(handle)),
        })
    }

    /// The bound address, `host:port` (`[v6]:port` for IPv6).
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// The bound port (useful after binding port 0).
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server and waits for in-flight requests; idempotent.
    fn shutdown(&self, py: Python<'_>) {
        py.detach(|| {
            if let Some(handle) = lock(&self.handle).take() {
                handle.shutdown();
            }
        });
    }

    fn __repr__(&self) -> String {
        format!("HealthServer(address={:?})", self.address)
    }
}

/// Starts the `/health` server; same as `HealthServer(...)`.
#[pyfunction]
fn serve_health(
    py: Python<'_>,
    host: String,
    port: u16,
    database_url: String,
    service: String,
    version: String,
) -> PyResult<HealthServer> {
    HealthServer::new(py, host, port, database_url, service, version)
}

/// Submits a task (`input_json` is its input) and returns its id.
#[pyfunction]
#[pyo3(name = "submit")]
fn testing_submit(
    py: Python<'_>,
    database_url: String,
    namespace: String,
    handler: String,
    input_json: String,
) -> PyResult<i64> {
    py.detach(|| {
        tasker_orchestration::testing::submit(&database_url, &namespace, &handler, &input_json)
    })
    .map_err(tasker_error)
}

/// Processes orchestration results until the task is final; returns the
/// task as JSON (`{id, namespace, handler, status, result, error}`).
#[pyfunction]
#[pyo3(name = "settle")]
fn testing_settle(
    py: Python<'_>,
    database_url: String,
    task_id: i64,
    timeout_ms: u64,
) -> PyResult<String> {
    py.detach(|| tasker_orchestration::testing::settle(&database_url, task_id, timeout_ms))
        .map_err(tasker_error)
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("BUILD_ID", BUILD_ID)?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add("TaskerError", py.get_type::<TaskerError>())?;
    m.add_class::<Session>()?;
    m.add_class::<HealthServer>()?;
    m.add_function(wrap_pyfunction!(serve_health, m)?)?;
    let testing = PyModule::new(py, "testing")?;
    testing.add_function(wrap_pyfunction!(testing_submit, &testing)?)?;
    testing.add_function(wrap_pyfunction!(testing_settle, &testing)?)?;
    m.add_submodule(&testing)?;
    Ok(())
}
