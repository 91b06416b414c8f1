//! A small HTTP server helper over `tiny_http`, used by the orchestration
//! service and the workers' health servers.
//!
//! Handlers are plain functions from [`Request`] to [`Response`], so they
//! can be unit-tested without a socket. [`HttpServer::serve`] runs them on a
//! few threads until a stop flag is set; [`HttpServer::spawn`] does the same
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
use std::io::{self, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How often serving threads look at the stop flag.
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
    inner: Arc<tiny_http::Server>,
    addr: SocketAddr,
}

impl HttpServer {
    /// Binds a listener, e.g. `"0.0.0.0:8080"` or `"127.0.0.1:0"`.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<HttpServer> {
        let mut last_err = None;
        for candidate in addr.to_socket_addrs()? {
            match tiny_http::Server::http(candidate) {
                Ok(server) => {
                    let addr = server.server_addr().to_ip().unwrap_or(candidate);
                    return Ok(HttpServer {
                        inner: Arc::new(server),
                        addr,
                    });
                }
                Err(e) => last_err = Some(io::Error::new(io::ErrorKind::AddrInUse, e.to_string())),
            }
        }
        Err(last_err
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves requests on `threads` threads until `stop` is set.
    pub fn serve<H>(&self, threads: usize, stop: &AtomicBool, handler: &H)
    where
        H: Fn(&Request) -> Response + Sync,
    {
        thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| serve_loop(&self.inner, stop, handler));
            }
        });
    }

    /// Serves on a background thread until the returned handle is shut down
    /// (or dropped).
    pub fn spawn<H>(self, threads: usize, handler: H) -> ServerHandle
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let addr = self.addr;
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(format!("http-{}", addr.port()))
            .spawn(move || self.serve(threads, &flag, &handler))
            .expect("spawn HTTP server thread");
        ServerHandle {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

/// A server running on a background thread.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests and waits for in-flight ones to finish.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            wait_until_released(self.addr);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Waits (up to a second) until the listening socket is closed. Dropping a
/// tiny_http server only asks its accept thread to stop and does not wait,
/// so without this the port can still accept (then reset) connections, and
/// binding it again can fail, right after shutdown returns.
fn wait_until_released(addr: SocketAddr) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while std::net::TcpListener::bind(addr).is_err() && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

fn serve_loop<H>(server: &tiny_http::Server, stop: &AtomicBool, handler: &H)
where
    H: Fn(&Request) -> Response + Sync,
{
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(POLL) {
            Ok(Some(req)) => handle_one(req, handler),
            Ok(None) => {}
            Err(e) => {
                eprintln!("http: accept failed: {e}");
                thread::sleep(POLL);
            }
        }
    }
}

fn handle_one<H>(mut raw: tiny_http::Request, handler: &H)
where
    H: Fn(&Request) -> Response + Sync,
{
    let response = match read_request(&mut raw) {
        Ok(req) => match catch_unwind(AssertUnwindSafe(|| handler(&req))) {
            Ok(res) => res,
            Err(_) => {
                eprintln!("http: handler panicked on {} {}", req.method, req.path);
                Response::error(500, "internal error")
            }
        },
        Err(res) => res,
    };
    let mut out = tiny_http::Response::from_data(response.body).with_status_code(response.status);
    let headers = std::iter::once(("Content-Type", response.content_type)).chain(
        response
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    for (name, value) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(h);
        }
    }
    if let Err(e) = raw.respond(out) {
        eprintln!("http: cannot send response: {e}");
    }
}

fn read_request(raw: &mut tiny_http::Request) -> Result<Request, Response> {
    let too_large = || Response::error(413, "request body too large");
    if raw.body_length().is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    raw.as_reader()
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Response::error(400, &format!("cannot read body: {e}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(Request::new(raw.method().as_str(), raw.url()).with_body(body))
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
    use std::io::Write;
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
        // tiny_http closes the listening socket from its accept thread
        // shortly after the server is dropped.
        let closed = (0..100).any(|_| {
            thread::sleep(Duration::from_millis(20));
            TcpStream::connect(addr).is_err()
        });
        assert!(closed, "listener still open after shutdown");
    }
}
