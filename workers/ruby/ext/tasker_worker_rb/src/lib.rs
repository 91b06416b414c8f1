//! `tasker_worker_rb`: the Ruby binding (magnus) of
//! [`tasker_worker::bridge`] and [`tasker_orchestration::testing`].
//!
//! Defines `TaskerWorkerRb::Native` with:
//!
//! - `Session.new(database_url, namespace)` and its `claim(vt_ms)`,
//!   `complete(step_json, result_json)`, `fail(step_json, message)`,
//!   `wait_for_work(ms)`, `worker_id`, `queue_name` and `close`;
//! - `serve_health(host, port, database_url, service, version)`, returning a
//!   `HealthServer` (`address`, `port`, `shutdown`);
//! - `Testing.submit(database_url, namespace, handler, input_json)` and
//!   `Testing.settle(database_url, task_id, timeout_ms)`;
//! - `BUILD_ID` (from `TASKER_BUILD_ID` at compile time, `"unknown"` when
//!   unset) and `VERSION` (the crate version).
//!
//! Every Rust error becomes a `TaskerWorkerRb::Error` carrying the Rust
//! message. The calls that touch the network run without the GVL, so other
//! Ruby threads keep running meanwhile. There is no worker logic here: the
//! loop, the handlers and the signal handling are Ruby code in `lib/`.

use magnus::value::{Lazy, ReprValue};
use magnus::{function, method, prelude::*, Error, ExceptionClass, RModule, Ruby};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};
use tasker_shared::http::ServerHandle;
use tasker_worker::bridge;

/// Identifies the sources this library was built from; the build system
/// sets `TASKER_BUILD_ID` and compares it with what Ruby loads.
const BUILD_ID: &str = match option_env!("TASKER_BUILD_ID") {
    Some(id) => id,
    None => "unknown",
};

/// `TaskerWorkerRb::Error` (a `StandardError`), defined by `init`.
static ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| {
    ruby.class_object()
        .const_get::<_, RModule>("TaskerWorkerRb")
        .and_then(|m| m.const_get("Error"))
        .expect("TaskerWorkerRb::Error is defined when the extension loads")
});

/// A Rust error message as a `TaskerWorkerRb::Error`.
fn error(ruby: &Ruby, message: String) -> Error {
    Error::new(ruby.get_inner(&ERROR), message)
}

/// Runs `f` with the GVL released, so other Ruby threads run while it
/// blocks on the network. `f` must not touch Ruby objects. A panic becomes
/// an error message instead of unwinding through Ruby's C frames.
fn without_gvl<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> Result<T, String>,
{
    struct Call<F, T> {
        f: Option<F>,
        result: Option<Result<T, String>>,
    }

    unsafe extern "C" fn trampoline<F, T>(data: *mut c_void) -> *mut c_void
    where
        F: FnOnce() -> Result<T, String>,
    {
        // SAFETY: `data` is the `Call` below, alive until
        // rb_thread_call_without_gvl returns, and only used here meanwhile.
        let call = unsafe { &mut *data.cast::<Call<F, T>>() };
        if let Some(f) = call.f.take() {
            call.result = Some(match catch_unwind(AssertUnwindSafe(f)) {
                Ok(result) => result,
                Err(panic) => Err(format!("internal error (panic): {}", panic_text(&*panic))),
            });
        }
        std::ptr::null_mut()
    }

    let mut call = Call {
        f: Some(f),
        result: None,
    };
    // SAFETY: called from a Ruby thread holding the GVL; the trampoline only
    // runs Rust code. No unblocking function: every call here is bounded
    // (timeouts) and Ruby handles pending interrupts once it returns.
    unsafe {
        rb_sys::rb_thread_call_without_gvl(
            Some(trampoline::<F, T>),
            std::ptr::addr_of_mut!(call).cast(),
            None,
            std::ptr::null_mut(),
        );
    }
    call.result
        .unwrap_or_else(|| Err("internal error: call without the GVL did not run".to_string()))
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// `TaskerWorkerRb::Native::Session`: one connection serving a namespace.
#[magnus::wrap(class = "TaskerWorkerRb::Native::Session", size)]
struct Session {
    inner: Mutex<Option<bridge::Session>>,
    worker_id: String,
    queue_name: String,
}

impl Session {
    fn new(ruby: &Ruby, database_url: String, namespace: String) -> Result<Self, Error> {
        let session = without_gvl(|| bridge::Session::connect(&database_url, &namespace))
            .map_err(|e| error(ruby, e))?;
        Ok(Session {
            worker_id: session.worker_id().to_string(),
            queue_name: session.queue_name().to_string(),
            inner: Mutex::new(Some(session)),
        })
    }

    /// Runs `f` on the open session without the GVL. The lock is taken
    /// without the GVL too, so a second Ruby thread using the same session
    /// waits instead of deadlocking.
    fn with<T, F>(&self, ruby: &Ruby, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut bridge::Session) -> Result<T, String>,
    {
        without_gvl(|| match lock(&self.inner).as_mut() {
            Some(session) => f(session),
            None => Err("session is closed".to_string()),
        })
        .map_err(|e| error(ruby, e))
    }

    fn claim(
        ruby: &Ruby,
        rb_self: &Self,
        visibility_timeout_ms: u64,
    ) -> Result<Option<String>, Error> {
        rb_self.with(ruby, |s| s.claim(visibility_timeout_ms))
    }

    fn complete(
        ruby: &Ruby,
        rb_self: &Self,
        step_json: String,
        result_json: String,
    ) -> Result<(), Error> {
        rb_self.with(ruby, |s| s.complete(&step_json, &result_json))
    }

    fn fail(ruby: &Ruby, rb_self: &Self, step_json: String, message: String) -> Result<(), Error> {
        rb_self.with(ruby, |s| s.fail(&step_json, &message))
    }

    fn wait_for_work(ruby: &Ruby, rb_self: &Self, timeout_ms: u64) -> Result<bool, Error> {
        rb_self.with(ruby, |s| s.wait_for_work(timeout_ms))
    }

    fn worker_id(&self) -> String {
        self.worker_id.clone()
    }

    fn queue_name(&self) -> String {
        self.queue_name.clone()
    }

    /// Drops the connection now (later calls raise); true if it was open.
    fn close(ruby: &Ruby, rb_self: &Self) -> Result<bool, Error> {
        without_gvl(|| Ok(lock(&rb_self.inner).take().is_some())).map_err(|e| error(ruby, e))
    }

    fn is_closed(&self) -> bool {
        lock(&self.inner).is_none()
    }
}

/// A poisoned lock only means an earlier call panicked (already reported);
/// the session itself is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `TaskerWorkerRb::Native::HealthServer`: the `/health` server running on
/// a Rust thread.
#[magnus::wrap(class = "TaskerWorkerRb::Native::HealthServer", size)]
struct HealthServer {
    handle: Mutex<Option<ServerHandle>>,
    address: String,
    port: u16,
}

impl HealthServer {
    fn address(&self) -> String {
        self.address.clone()
    }

    fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server and waits for in-flight requests; true the first
    /// time, false once already stopped.
    fn shutdown(ruby: &Ruby, rb_self: &Self) -> Result<bool, Error> {
        without_gvl(|| {
            let handle = lock(&rb_self.handle).take();
            Ok(handle.map(|h| h.shutdown()).is_some())
        })
        .map_err(|e| error(ruby, e))
    }

    fn is_running(&self) -> bool {
        lock(&self.handle).is_some()
    }
}

fn serve_health(
    ruby: &Ruby,
    host: String,
    port: u16,
    database_url: String,
    service: String,
    version: String,
) -> Result<HealthServer, Error> {
    let handle =
        without_gvl(|| bridge::serve_health(&host, port, &database_url, &service, &version))
            .map_err(|e| error(ruby, e))?;
    let addr = handle.local_addr();
    Ok(HealthServer {
        address: addr.to_string(),
        port: addr.port(),
        handle: Mutex::new(Some(handle)),
    })
}

fn testing_submit(
    ruby: &Ruby,
    database_url: String,
    namespace: String,
    handler: String,
    input_json: String,
) -> Result<i64, Error> {
    without_gvl(|| {
        tasker_orchestration::testing::submit(&database_url, &namespace, &handler, &input_json)
    })
    .map_err(|e| error(ruby, e))
}

fn testing_settle(
    ruby: &Ruby,
    database_url: String,
    task_id: i64,
    timeout_ms: u64,
) -> Result<String, Error> {
    without_gvl(|| tasker_orchestration::testing::settle(&database_url, task_id, timeout_ms))
        .map_err(|e| error(ruby, e))
}

#[magnus::init(name = "tasker_worker_rb")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let top = ruby.define_module("TaskerWorkerRb")?;
    // Same superclass as lib/tasker_worker_rb/error.rb, so whichever is
    // loaded first defines it and the other reopens it.
    top.define_error("Error", ruby.exception_standard_error())?;
    let native = top.define_module("Native")?;
    native.const_set("BUILD_ID", BUILD_ID)?;
    native.const_set("VERSION", env!("CARGO_PKG_VERSION"))?;

    let session = native.define_class("Session", ruby.class_object())?;
    session.define_singleton_method("new", function!(Session::new, 2))?;
    session.define_method("claim", method!(Session::claim, 1))?;
    session.define_method("complete", method!(Session::complete, 2))?;
    session.define_method("fail", method!(Session::fail, 2))?;
    session.define_method("wait_for_work", method!(Session::wait_for_work, 1))?;
    session.define_method("worker_id", method!(Session::worker_id, 0))?;
    session.define_method("queue_name", method!(Session::queue_name, 0))?;
    session.define_method("close", method!(Session::close, 0))?;
    session.define_method("closed?", method!(Session::is_closed, 0))?;

    let health = native.define_class("HealthServer", ruby.class_object())?;
    health.define_method("address", method!(HealthServer::address, 0))?;
    health.define_method("port", method!(HealthServer::port, 0))?;
    health.define_method("shutdown", method!(HealthServer::shutdown, 0))?;
    health.define_method("running?", method!(HealthServer::is_running, 0))?;
    native.define_module_function("serve_health", function!(serve_health, 5))?;

    let testing = native.define_module("Testing")?;
    testing.define_module_function("submit", function!(testing_submit, 4))?;
    testing.define_module_function("settle", function!(testing_settle, 3))?;

    // Resolve the error class now, while it is certainly defined.
    let _ = ruby.get_inner(&ERROR).as_value();
    Ok(())
}
