//! A small HTTP server helper over `hyper`, used by the orchestration
//! service and the workers' health servers.
//!
//! Handlers are plain functions from [`Request`] to [`Response`], so they
//! can be unit-tested without a socket. [`HttpServer::spawn`] serves them
//! on a background thread and returns a [`ServerHandle`] that stops it.
//!
//! ```
//! use tasker_shared::http::{Request, Response};
//!
//! fn route(req: &Request) -> Response {
//!     match (req.method.as_str(), req.segments().as_slice()) {
//!         ("GET", ["hello", name]) => Response::json(200, &serde_json::json!({ "hello": name })),
//!         _ => Response::not_found(),
//!     }
//! }
//!
//! let res = route(&Request::new("GET", "/hello/world?x=1"));
//! assert_eq!(res.status, 200);
//! assert_eq!(res.body_text(), r#"{"hello":"world"}"#);
//! assert_eq!(route(&Request::new("GET", "/nope")).status, 404);
//! ```
//!
//! Signals: the binaries call [`crate::shutdown::install`] and stop their
//! servers with [`ServerHandle::shutdown`] once the flag is set.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long the accept loop waits after a failed accept (too many open
/// files, say) before trying again.
const POLL: Duration = Duration::from_millis(100);

/// An HTTP request, detached from the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// A request for `url` (path and optional query) without a body.
    pub fn new(method: &str, url: &str) -> Self {
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (url, None),
        };
        Request {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query,
            body: Vec::new(),
        }
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The non-empty path segments: `/v1/tasks/3/` gives `["v1", "tasks", "3"]`.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// Parses the body as JSON, or returns a 400 response saying why.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Response> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Response::error(400, &format!("invalid JSON body: {e}")))
    }
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response {
                status,
                content_type: "application/json",
                headers: Vec::new(),
                body,
            },
            Err(e) => Response::text(500, &format!("cannot encode response: {e}")),
        }
    }

    /// A JSON error: `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Self {
        Response::json(status, &serde_json::json!({ "error": message }))
    }

    /// A plain-text response.
    pub fn text(status: u16, text: &str) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: text.as_bytes().to_vec(),
        }
    }

    /// 404 with a JSON error.
    pub fn not_found() -> Self {
        Response::error(404, "not found")
    }

    /// 405 with an `Allow` header.
    pub fn method_not_allowed(allow: &str) -> Self {
        Response::error(405, "method not allowed").with_header("Allow", allow)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The body as text (lossy), for tests and logs.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn body_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

/// A bound HTTP listener.
pub struct HttpServer {
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

impl HttpServer {
    /// Binds a listener, e.g. `"0.0.0.0:8080"` or `"127.0.0.1:0"`.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<HttpServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        Ok(HttpServer { listener, addr })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves on a background thread until the returned handle is shut down
    /// (or dropped). Connections are handled asynchronously (hyper on a
    /// tokio runtime of `threads` threads), so idle keep-alive connections
    /// cost nothing and never hold up new ones; handlers run on a pool of
    /// blocking threads, since they may wait on the database.
    pub fn spawn<H>(self, threads: usize, handler: H) -> ServerHandle
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let stop = Arc::new(Stop::default());
        let addr = self.addr;
        let signal = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(format!("http-{}", addr.port()))
            .spawn(move || {
                if let Err(e) = self.run(threads, &signal, Arc::new(handler)) {
                    eprintln!("http: server on {addr} failed: {e}");
                }
            })
            .expect("spawn HTTP server thread");
        ServerHandle {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn run<H>(self, threads: usize, stop: &Stop, handler: Arc<H>) -> io::Result<()>
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .max_blocking_threads(MAX_HANDLER_THREADS)
            .thread_name(format!("http-{}", self.addr.port()))
            .enable_io()
            .enable_time()
            .build()?;
        self.listener.set_nonblocking(true)?;
        // This reference outlives the runtime, so the handler is dropped on
        // this plain thread: dropping what it holds (a postgres::Client
        // blocks on its own runtime) inside an async task would panic.
        let keep = Arc::clone(&handler);
        let result = runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(self.listener)?;
            accept_until_stopped(listener, stop, handler).await;
            Ok(())
        });
        runtime.shutdown_timeout(GRACE);
        drop(keep);
        result
    }
}

/// Handlers running at once, at most (each may hold a database connection).
const MAX_HANDLER_THREADS: usize = 64;

/// How long in-flight requests may take to finish on shutdown.
const GRACE: Duration = Duration::from_secs(2);

/// The stop signal: a flag, and a wake-up for the accept loop.
#[derive(Default)]
struct Stop {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

/// Accepts connections until `stop`, then closes the listener and gives
/// open connections [`GRACE`] to finish the request in hand.
async fn accept_until_stopped<H>(listener: tokio::net::TcpListener, stop: &Stop, handler: Arc<H>)
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let http = hyper::server::conn::http1::Builder::new();
    while !stop.flag.load(Ordering::SeqCst) {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let handler = Arc::clone(&handler);
                    let service = hyper::service::service_fn(move |req| respond(Arc::clone(&handler), req));
                    let conn = graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    eprintln!("http: accept failed: {e}");
                    tokio::time::sleep(POLL).await;
                }
            },
            _ = stop.notify.notified() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

type Body = http_body_util::Full<bytes::Bytes>;

/// Reads the request (up to [`MAX_BODY_BYTES`]), runs the handler on a
/// blocking thread and converts its response; a panicking handler is a 500.
async fn respond<H>(
    handler: Arc<H>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Body>, std::convert::Infallible>
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    let too_large = || Response::error(413, "request body too large");
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Ok(into_hyper(too_large()));
    }
    let body =
        match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, MAX_BODY_BYTES))
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Ok(into_hyper(too_large()))
            }
            Err(e) => {
                return Ok(into_hyper(Response::error(
                    400,
                    &format!("cannot read body: {e}"),
                )))
            }
        };
    let url = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request = Request::new(parts.method.as_str(), url).with_body(body.to_vec());
    let (method, path) = (request.method.clone(), request.path.clone());
    let response = tokio::task::spawn_blocking(move || handler(&request))
        .await
        .unwrap_or_else(|_| {
            eprintln!("http: handler panicked on {method} {path}");
            Response::error(500, "internal error")
        });
    Ok(into_hyper(response))
}

fn into_hyper(response: Response) -> hyper::Response<Body> {
    let mut out = hyper::Response::new(Body::new(response.body.into()));
    *out.status_mut() = hyper::StatusCode::from_u16(response.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(response.content_type),
    );
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    out
}

/// A server running on a background thread.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests, lets in-flight ones finish (for up to two
    /// seconds) and returns once the port is free.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.flag.store(true, Ordering::SeqCst);
        self.stop.notify.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_releases_the_port() {
        for _ in 0..20 {
            let server = HttpServer::bind("127.0.0.1:0").unwrap();
            let addr = server.local_addr();
            server
                .spawn(1, |_req: &Request| Response::text(200, "ok"))
                .shutdown();
            std::net::TcpListener::bind(addr).expect("port free right after shutdown");
        }
    }

    /// What a handler owns is dropped outside the server's runtime: a
    /// postgres::Client blocks on its own runtime when dropped, which
    /// panics inside another one (it aborted the orchestration's shutdown).
    #[test]
    fn the_handler_is_dropped_outside_the_runtime() {
        struct Probe(Arc<AtomicBool>);
        impl Drop for Probe {
            fn drop(&mut self) {
                let inside = tokio::runtime::Handle::try_current().is_ok();
                self.0.store(inside, Ordering::SeqCst);
            }
        }
        let inside = Arc::new(AtomicBool::new(true));
        let probe = Probe(Arc::clone(&inside));
        let server = HttpServer::bind("127.0.0.1:0").unwrap();
        server
            .spawn(1, move |_req: &Request| {
                let _ = &probe;
                Response::text(200, "ok")
            })
            .shutdown();
        assert!(!inside.load(Ordering::SeqCst), "dropped inside the runtime");
    }
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// A raw HTTP/1.1 exchange, returning (status, body).
    fn exchange(addr: SocketAddr, request: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status = raw[9..12].parse().unwrap();
        let body = raw.split_once("\r\n\r\n").unwrap().1.to_string();
        (status, body)
    }

    #[test]
    fn request_parts() {
        let req = Request::new("post", "/v1/tasks/?a=b").with_body("{}");
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v1/tasks/");
        assert_eq!(req.query.as_deref(), Some("a=b"));
        assert_eq!(req.segments(), ["v1", "tasks"]);
        assert!(Request::new("GET", "/").segments().is_empty());
    }

    #[test]
    fn json_body_errors_become_400() {
        let bad = Request::new("POST", "/").with_body("{nope");
        let res = bad.json::<serde_json::Value>().unwrap_err();
        assert_eq!(res.status, 400);
        assert!(res.body_json().unwrap()["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body"));
        let good = Request::new("POST", "/").with_body(r#"{"a":1}"#);
        assert_eq!(good.json::<serde_json::Value>().unwrap()["a"], 1);
    }

    #[test]
    fn responses() {
        let r = Response::method_not_allowed("GET");
        assert_eq!(r.status, 405);
        assert_eq!(r.headers, [("Allow".to_string(), "GET".to_string())]);
        assert_eq!(
            Response::not_found().body_text(),
            r#"{"error":"not found"}"#
        );
        assert_eq!(
            Response::text(200, "hi").content_type,
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn serves_until_shutdown() {
        let server = HttpServer::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let handle = server.spawn(2, |req: &Request| match req.segments().as_slice() {
            ["echo"] => Response::json(200, &serde_json::json!({"len": req.body.len()})),
            ["panic"] => panic!("handler bug"),
            _ => Response::not_found(),
        });

        let (status, body) = exchange(
            addr,
            "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!((status, body.as_str()), (200, r#"{"len":5}"#));

        let (status, _) = exchange(
            addr,
            "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, 404);

        let (status, body) = exchange(
            addr,
            "GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"error":"internal error"}"#)
        );

        let big = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        let (status, _) = exchange(addr, &big);
        assert_eq!(status, 413);

        handle.shutdown();
        assert!(
            TcpStream::connect(addr).is_err(),
            "listener still open after shutdown"
        );
    }
}
