//! `libtasker_worker_ts`: a small C ABI over [`tasker_worker::bridge`] and
//! [`tasker_orchestration::testing`] for the TypeScript worker, loaded by
//! `bun:ffi`, koffi (Node) and `Deno.dlopen`. It holds no worker logic: it
//! converts types and errors, nothing else.
//!
//! # Convention (every function)
//!
//! * **Results**: every function returns an owned, NUL-terminated UTF-8 C
//!   string holding one JSON object, either `{"ok": <value>}` or
//!   `{"error": "<message>"}` (the Rust error's text). The caller frees it
//!   with [`tasker_string_free`], exactly once. The pointer is never null.
//! * **Strings in**: `const char *`, NUL-terminated UTF-8, borrowed for the
//!   duration of the call. A null pointer or invalid UTF-8 is an `error`.
//! * **Handles**: sessions and health servers are referred to by a positive
//!   integer handle (`uint64_t`), returned as the `ok` value of the function
//!   that creates them. A handle that was freed or never existed gives an
//!   `error`, never undefined behaviour. Handles are safe to use from any
//!   thread; calls on one session are serialized.
//! * **Panics** never cross the boundary: they become an `error`
//!   (`"<function>: panicked: <message>"`).
//!
//! | function | arguments | `ok` value |
//! |---|---|---|
//! | `tasker_build_id` | | the `TASKER_BUILD_ID` the library was compiled with, or `"unknown"` |
//! | `tasker_session_connect` | database_url, namespace | session handle |
//! | `tasker_session_worker_id` | handle | worker id (string) |
//! | `tasker_session_queue_name` | handle | queue name (string) |
//! | `tasker_session_claim` | handle, visibility_timeout_ms | step JSON **as a string** (pass it back verbatim), or `null` |
//! | `tasker_session_complete` | handle, step_json, result_json | `null` |
//! | `tasker_session_fail` | handle, step_json, message | `null` |
//! | `tasker_session_wait_for_work` | handle, timeout_ms | `true` if work was announced |
//! | `tasker_session_free` | handle | `true` if the handle existed |
//! | `tasker_health_serve` | host, port (`uint32_t`, 0 = any), database_url, service, version | health server handle |
//! | `tasker_health_address` | handle | bound address, `"ip:port"` |
//! | `tasker_health_shutdown` | handle | `null` (stops and frees the server) |
//! | `tasker_testing_submit` | database_url, namespace, handler, input_json | task id |
//! | `tasker_testing_settle` | database_url, task_id (`int64_t`), timeout_ms | the task as a JSON object |
//!
//! The step JSON is `{"msg_id","step_id","task_id","namespace","handler",
//! "input","attempt"}`; the task JSON `{id,namespace,handler,status,result,
//! error}`. `tasker_string_free(NULL)` is a no-op.

use serde_json::{json, Value};
use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tasker_shared::http::ServerHandle;
use tasker_worker::bridge::{self, Session};

/// Set by the build system (a hash of the Rust sources) so that each runtime
/// can check it loaded a fresh library.
const BUILD_ID: &str = match option_env!("TASKER_BUILD_ID") {
    Some(id) => id,
    None => "unknown",
};

static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);
static SESSIONS: Mutex<BTreeMap<u64, Arc<Mutex<Session>>>> = Mutex::new(BTreeMap::new());
static SERVERS: Mutex<BTreeMap<u64, ServerHandle>> = Mutex::new(BTreeMap::new());

/// Locks a mutex, ignoring poisoning (a panic is already reported as an
/// error; the data it guards stays usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_handle() -> u64 {
    NEXT_HANDLE.fetch_add(1, Ordering::Relaxed)
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

/// Runs `f`, catching panics, and encodes its outcome as the envelope.
fn call(name: &str, f: impl FnOnce() -> Result<Value, String>) -> *mut c_char {
    let envelope = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => json!({ "ok": value }),
        Ok(Err(message)) => json!({ "error": message }),
        Err(panic) => json!({ "error": format!("{name}: panicked: {}", panic_message(&*panic)) }),
    };
    // serde_json escapes NUL as \u0000, so the text never contains one.
    CString::new(envelope.to_string())
        .unwrap_or_else(|_| CString::from(c"{\"error\":\"result contained NUL\"}"))
        .into_raw()
}

/// Reads a string argument.
///
/// # Safety
/// `ptr` is null or a NUL-terminated string valid for the call.
unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, String> {
    if ptr.is_null() {
        return Err(format!("{what} is null"));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|e| format!("{what} is not UTF-8: {e}"))
}

fn session(handle: u64) -> Result<Arc<Mutex<Session>>, String> {
    lock(&SESSIONS)
        .get(&handle)
        .cloned()
        .ok_or_else(|| format!("no session with handle {handle} (closed or never opened)"))
}

fn with_session<T>(
    handle: u64,
    f: impl FnOnce(&mut Session) -> Result<T, String>,
) -> Result<T, String> {
    let session = session(handle)?;
    let mut guard = lock(&session);
    f(&mut guard)
}

/// Frees a string returned by any function of this library. Null is a no-op.
///
/// # Safety
/// `ptr` is null or a pointer returned by this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn tasker_string_free(ptr: *mut c_char) {
    if !ptr.is_null() {
        drop(CString::from_raw(ptr));
    }
}

/// `{"ok": "<TASKER_BUILD_ID at compile time, or unknown>"}`.
#[no_mangle]
pub extern "C" fn tasker_build_id() -> *mut c_char {
    call("tasker_build_id", || Ok(json!(BUILD_ID)))
}

/// Connects a session for `namespace`: `{"ok": <handle>}`.
///
/// # Safety
/// String arguments are null or NUL-terminated strings valid for the call.
#[no_mangle]
pub unsafe extern "C" fn tasker_session_connect(
    database_url: *const c_char,
    namespace: *const c_char,
) -> *mut c_char {
    call("tasker_session_connect", || {
        let url = text(database_url, "database_url")?;
        let namespace = text(namespace, "namespace")?;
        let session = Session::connect(url, namespace)?;
        let handle = new_handle();
        lock(&SESSIONS).insert(handle, Arc::new(Mutex::new(session)));
        Ok(json!(handle))
    })
}

/// The session's worker id: `{"ok": "<id>"}`.
#[no_mangle]
pub extern "C" fn tasker_session_worker_id(handle: u64) -> *mut c_char {
    call("tasker_session_worker_id", || {
        with_session(handle, |s| Ok(json!(s.worker_id())))
    })
}

/// The session's queue name: `{"ok": "<namespace>_queue"}`.
#[no_mangle]
pub extern "C" fn tasker_session_queue_name(handle: u64) -> *mut c_char {
    call("tasker_session_queue_name", || {
        with_session(handle, |s| Ok(json!(s.queue_name())))
    })
}

/// Claims the next step: `{"ok": "<step JSON text>"}` or `{"ok": null}`.
#[no_mangle]
pub extern "C" fn tasker_session_claim(handle: u64, visibility_timeout_ms: u64) -> *mut c_char {
    call("tasker_session_claim", || {
        with_session(handle, |s| Ok(json!(s.claim(visibility_timeout_ms)?)))
    })
}

/// Completes a claimed step with a JSON result: `{"ok": null}`.
///
/// # Safety
/// String arguments are null or NUL-terminated strings valid for the call.
#[no_mangle]
pub unsafe extern "C" fn tasker_session_complete(
    handle: u64,
    step_json: *const c_char,
    result_json: *const c_char,
) -> *mut c_char {
    call("tasker_session_complete", || {
        let step = text(step_json, "step_json")?;
        let result = text(result_json, "result_json")?;
        with_session(handle, |s| s.complete(step, result))?;
        Ok(Value::Null)
    })
}

/// Fails a claimed step with a message: `{"ok": null}`.
///
/// # Safety
/// String arguments are null or NUL-terminated strings valid for the call.
#[no_mangle]
pub unsafe extern "C" fn tasker_session_fail(
    handle: u64,
    step_json: *const c_char,
    message: *const c_char,
) -> *mut c_char {
    call("tasker_session_fail", || {
        let step = text(step_json, "step_json")?;
        let message = text(message, "message")?;
        with_session(handle, |s| s.fail(step, message))?;
        Ok(Value::Null)
    })
}

/// Blocks until work is announced or `timeout_ms` passes: `{"ok": bool}`.
#[no_mangle]
pub extern "C" fn tasker_session_wait_for_work(handle: u64, timeout_ms: u64) -> *mut c_char {
    call("tasker_session_wait_for_work", || {
        with_session(handle, |s| Ok(json!(s.wait_for_work(timeout_ms)?)))
    })
}

/// Closes a session: `{"ok": true}`, or `{"ok": false}` if it was unknown.
#[no_mangle]
pub extern "C" fn tasker_session_free(handle: u64) -> *mut c_char {
    call("tasker_session_free", || {
        let removed = lock(&SESSIONS).remove(&handle);
        Ok(json!(removed.is_some()))
    })
}

/// Starts the `/health` server: `{"ok": <handle>}`.
///
/// # Safety
/// String arguments are null or NUL-terminated strings valid for the call.
#[no_mangle]
pub unsafe extern "C" fn tasker_health_serve(
    host: *const c_char,
    port: u32,
    database_url: *const c_char,
    service: *const c_char,
    version: *const c_char,
) -> *mut c_char {
    call("tasker_health_serve", || {
        let host = text(host, "host")?;
        let port =
            u16::try_from(port).map_err(|_| format!("port {port} is out of range (0-65535)"))?;
        let url = text(database_url, "database_url")?;
        let service = text(service, "service")?;
        let version = text(version, "version")?;
        let server = bridge::serve_health(host, port, url, service, version)?;
        let handle = new_handle();
        lock(&SERVERS).insert(handle, server);
        Ok(json!(handle))
    })
}

/// The health server's bound address: `{"ok": "ip:port"}`.
#[no_mangle]
pub extern "C" fn tasker_health_address(handle: u64) -> *mut c_char {
    call("tasker_health_address", || {
        lock(&SERVERS)
            .get(&handle)
            .map(|s| json!(s.local_addr().to_string()))
            .ok_or_else(|| format!("no health server with handle {handle}"))
    })
}

/// Stops and frees a health server: `{"ok": null}`.
#[no_mangle]
pub extern "C" fn tasker_health_shutdown(handle: u64) -> *mut c_char {
    call("tasker_health_shutdown", || {
        let server = lock(&SERVERS)
            .remove(&handle)
            .ok_or_else(|| format!("no health server with handle {handle}"))?;
        server.shutdown();
        Ok(Value::Null)
    })
}

/// Submits a task (for integration tests): `{"ok": <task id>}`.
///
/// # Safety
/// String arguments are null or NUL-terminated strings valid for the call.
#[no_mangle]
pub unsafe extern "C" fn tasker_testing_submit(
    database_url: *const c_char,
    namespace: *const c_char,
    handler: *const c_char,
    input_json: *const c_char,
) -> *mut c_char {
    call("tasker_testing_submit", || {
        let url = text(database_url, "database_url")?;
        let namespace = text(namespace, "namespace")?;
        let handler = text(handler, "handler")?;
        let input = text(input_json, "input_json")?;
        Ok(json!(tasker_orchestration::testing::submit(
            url, namespace, handler, input
        )?))
    })
}

/// Processes results until the task is final (for integration tests):
/// `{"ok": {id, namespace, handler, status, result, error}}`.
///
/// # Safety
/// String arguments are null or NUL-terminated strings valid for the call.
#[no_mangle]
pub unsafe extern "C" fn tasker_testing_settle(
    database_url: *const c_char,
    task_id: i64,
    timeout_ms: u64,
) -> *mut c_char {
    call("tasker_testing_settle", || {
        let url = text(database_url, "database_url")?;
        let task = tasker_orchestration::testing::settle(url, task_id, timeout_ms)?;
        serde_json::from_str(&task).map_err(|e| format!("settle returned bad JSON: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN: &std::ffi::CStr = c"postgresql://nobody@127.0.0.1:1/none";

    /// Takes ownership of a returned string and parses the envelope.
    fn take(ptr: *mut c_char) -> Value {
        assert!(!ptr.is_null());
        let text = unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_string();
        unsafe { tasker_string_free(ptr) };
        serde_json::from_str(&text).unwrap()
    }

    fn error(v: &Value) -> &str {
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {v}"))
    }

    #[test]
    fn build_id_is_ok() {
        let v = take(tasker_build_id());
        assert_eq!(v["ok"], json!(BUILD_ID));
    }

    #[test]
    fn panics_become_errors() {
        let v = take(call("boom", || panic!("kaboom")));
        assert_eq!(error(&v), "boom: panicked: kaboom");
    }

    #[test]
    fn null_and_bad_arguments_are_errors() {
        let v = take(unsafe { tasker_session_connect(std::ptr::null(), c"ns".as_ptr()) });
        assert_eq!(error(&v), "database_url is null");
        let bad = [0xffu8, 0];
        let v = take(unsafe { tasker_session_connect(bad.as_ptr().cast(), c"ns".as_ptr()) });
        assert!(error(&v).starts_with("database_url is not UTF-8"), "{v}");
        unsafe { tasker_string_free(std::ptr::null_mut()) };
    }

    #[test]
    fn unknown_handles_are_errors() {
        assert!(error(&take(tasker_session_claim(0, 10))).contains("no session with handle 0"));
        assert_eq!(take(tasker_session_free(0))["ok"], json!(false));
        assert!(error(&take(tasker_health_address(0))).contains("handle 0"));
        assert!(error(&take(tasker_health_shutdown(0))).contains("handle 0"));
    }

    #[test]
    fn connect_to_an_unreachable_database_is_an_error() {
        let v = take(unsafe { tasker_session_connect(DOWN.as_ptr(), c"ts".as_ptr()) });
        assert!(!error(&v).is_empty());
    }

    #[test]
    fn health_server_lifecycle() {
        let serve = |port| {
            take(unsafe {
                tasker_health_serve(
                    c"127.0.0.1".as_ptr(),
                    port,
                    DOWN.as_ptr(),
                    c"typescript-worker".as_ptr(),
                    c"0".as_ptr(),
                )
            })
        };
        assert!(error(&serve(70_000)).contains("out of range"));
        let handle = serve(0)["ok"].as_u64().unwrap();
        let addr = take(tasker_health_address(handle));
        assert!(
            addr["ok"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{addr}"
        );
        assert_eq!(take(tasker_health_shutdown(handle))["ok"], Value::Null);
        assert!(error(&take(tasker_health_address(handle))).contains("no health server"));
    }

    #[test]
    fn testing_helpers_report_errors() {
        let v = take(unsafe {
            tasker_testing_submit(
                DOWN.as_ptr(),
                c"ts".as_ptr(),
                c"sum".as_ptr(),
                c"{oops".as_ptr(),
            )
        });
        assert!(error(&v).starts_with("input is not JSON"), "{v}");
        assert!(!error(&take(unsafe {
            tasker_testing_settle(DOWN.as_ptr(), 1, 10)
        }))
        .is_empty());
    }
}
