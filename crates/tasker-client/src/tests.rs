//! Tests against a real local TcpListener that answers canned responses.

use super::*;
use crate::wire::{build_request, parse_base_url, parse_response};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use tasker_shared::health::HealthStatus;

/// One request as the fake server saw it.
#[derive(Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Serves `responses` in order, one connection each, and reports every
/// request on the returned channel.
fn fake_server(responses: Vec<String>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for response in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let seen = read_request(&mut stream);
            stream.write_all(response.as_bytes()).unwrap();
            drop(stream);
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (format!("http://{addr}"), rx)
}

fn read_request(stream: &mut TcpStream) -> Seen {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).unwrap();
    Seen { head, body }
}

fn json_response(status: u16, reason: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn task_json(id: i64, status: &str) -> String {
    json!({"id": id, "namespace": "rust", "handler": "sum", "status": status,
           "result": if status == "complete" { json!({"sum": 6}) } else { Value::Null },
           "error": null})
    .to_string()
}

fn client(base: &str) -> TaskerClient {
    TaskerClient::new(base)
        .unwrap()
        .with_timeout(Duration::from_secs(5))
        .with_poll_interval(Duration::from_millis(10))
}

#[test]
fn health_parses_the_report() {
    let body = r#"{"status":"healthy","service":"orchestration","version":"0.1.0","checks":{"database":{"status":"healthy"}}}"#;
    let (base, seen) = fake_server(vec![json_response(200, "OK", body)]);
    let report = client(&base).health().unwrap();
    assert!(report.is_healthy());
    assert_eq!(report.service, "orchestration");
    assert_eq!(report.checks["database"].status, HealthStatus::Healthy);

    let req = seen.recv().unwrap();
    assert_eq!(req.request_line(), "GET /health HTTP/1.1");
    assert_eq!(req.header("Connection").as_deref(), Some("close"));
    assert_eq!(
        req.header("Host"),
        Some(base.trim_start_matches("http://").to_string())
    );
    assert_eq!(req.header("Accept").as_deref(), Some("application/json"));
    assert!(req.body.is_empty());
}

#[test]
fn health_503_still_returns_the_unhealthy_report() {
    let body = r#"{"status":"unhealthy","service":"orchestration","version":"0.1.0","checks":{"database":{"status":"unhealthy","message":"refused"}}}"#;
    let (base, _seen) = fake_server(vec![json_response(503, "Service Unavailable", body)]);
    let report = client(&base).health().unwrap();
    assert!(!report.is_healthy());
    assert_eq!(
        report.checks["database"].message.as_deref(),
        Some("refused")
    );
}

#[test]
fn submit_task_posts_json_and_returns_the_id() {
    let (base, seen) = fake_server(vec![json_response(201, "Created", r#"{"task_id":42}"#)]);
    let id = client(&base)
        .submit_task("rust", "sum", &json!({"numbers": [1, 2, 3]}))
        .unwrap();
    assert_eq!(id, 42);

    let req = seen.recv().unwrap();
    assert_eq!(req.request_line(), "POST /v1/tasks HTTP/1.1");
    assert_eq!(
        req.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        req.header("Content-Length"),
        Some(req.body.len().to_string())
    );
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        sent,
        json!({"namespace": "rust", "handler": "sum", "input": {"numbers": [1, 2, 3]}})
    );
}

#[test]
fn get_task_parses_the_status() {
    let (base, seen) = fake_server(vec![json_response(200, "OK", &task_json(7, "complete"))]);
    let task = client(&base).get_task(7).unwrap();
    assert_eq!(task.id, 7);
    assert_eq!(task.status, Status::Complete);
    assert_eq!(task.result, Some(json!({"sum": 6})));
    assert_eq!(task.error, None);
    assert!(task.is_finished());
    assert_eq!(
        seen.recv().unwrap().request_line(),
        "GET /v1/tasks/7 HTTP/1.1"
    );
}

#[test]
fn non_success_statuses_are_errors() {
    let (base, _seen) = fake_server(vec![
        json_response(404, "Not Found", r#"{"error":"task 9 not found"}"#),
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops".to_string(),
        json_response(400, "Bad Request", r#"{"error":"invalid namespace"}"#),
        json_response(200, "OK", "not json"),
    ]);
    let c = client(&base);
    match c.get_task(9) {
        Err(ClientError::Http { status, message }) => {
            assert_eq!((status, message.as_str()), (404, "task 9 not found"))
        }
        other => panic!("expected 404, got {other:?}"),
    }
    let err = c.health().unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.to_string(), "HTTP 500: oops");
    let err = c.submit_task("Bad NS", "sum", &Value::Null).unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(matches!(c.get_task(1), Err(ClientError::Json(_))));
}

#[test]
fn redirects_are_rejected_not_followed() {
    let (base, seen) = fake_server(vec![
        "HTTP/1.1 301 Moved Permanently\r\nLocation: http://elsewhere.invalid/v1/tasks/1\r\nContent-Length: 0\r\n\r\n".to_string(),
        json_response(200, "OK", &task_json(1, "complete")),
    ]);
    let err = client(&base).get_task(1).unwrap_err();
    match &err {
        ClientError::Redirect { status, location } => {
            assert_eq!(*status, 301);
            assert_eq!(
                location.as_deref(),
                Some("http://elsewhere.invalid/v1/tasks/1")
            );
        }
        other => panic!("expected a redirect error, got {other:?}"),
    }
    assert!(err.to_string().contains("not followed"));
    // Exactly one request was made.
    seen.recv().unwrap();
    assert!(seen.recv_timeout(Duration::from_millis(200)).is_err());
}

#[test]
fn chunked_and_unframed_bodies() {
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                   5\r\n{\"tas\r\n8;ext=1\r\nk_id\":5}\r\n0\r\n\r\n";
    let unframed = "HTTP/1.0 201 Created\r\n\r\n{\"task_id\":6}";
    let (base, _seen) = fake_server(vec![chunked.to_string(), unframed.to_string()]);
    let c = client(&base);
    assert_eq!(c.submit_task("rust", "sum", &json!([])).unwrap(), 5);
    assert_eq!(c.submit_task("rust", "sum", &json!([])).unwrap(), 6);
}

#[test]
fn truncated_responses_are_errors() {
    let (base, _seen) = fake_server(vec![
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"short\":".to_string(),
        "HTTP/1.1 200 OK\r\nContent-Le".to_string(),
        "SMTP ready\r\n\r\n".to_string(),
    ]);
    let c = client(&base);
    for _ in 0..3 {
        let err = c.health().unwrap_err();
        assert!(matches!(err, ClientError::InvalidResponse(_)), "{err:?}");
    }
}

#[test]
fn wait_for_completion_polls_until_final() {
    let (base, seen) = fake_server(vec![
        json_response(200, "OK", &task_json(3, "pending")),
        json_response(200, "OK", &task_json(3, "in_progress")),
        json_response(200, "OK", &task_json(3, "complete")),
    ]);
    let task = client(&base)
        .wait_for_completion(3, Duration::from_secs(5))
        .unwrap();
    assert_eq!(task.status, Status::Complete);
    assert_eq!(seen.iter().take(3).count(), 3);
}

#[test]
fn wait_for_completion_times_out() {
    let responses = (0..1000)
        .map(|_| json_response(200, "OK", &task_json(4, "in_progress")))
        .collect();
    let (base, _seen) = fake_server(responses);
    let start = Instant::now();
    let err = client(&base)
        .wait_for_completion(4, Duration::from_millis(150))
        .unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(150));
    match err {
        ClientError::Timeout {
            task_id,
            last_status,
        } => assert_eq!((task_id, last_status), (4, Status::InProgress)),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn base_path_is_prefixed() {
    let (base, seen) = fake_server(vec![json_response(200, "OK", &task_json(1, "pending"))]);
    client(&format!("{base}/api/")).get_task(1).unwrap();
    assert_eq!(
        seen.recv().unwrap().request_line(),
        "GET /api/v1/tasks/1 HTTP/1.1"
    );
}

#[test]
fn connection_refused_is_an_io_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}")).health().unwrap_err();
    assert!(matches!(err, ClientError::Io(_)), "{err:?}");
}

#[test]
fn base_urls() {
    assert_eq!(
        parse_base_url("http://localhost").unwrap(),
        ("localhost".into(), 80, "".into())
    );
    assert_eq!(
        parse_base_url("HTTP://127.0.0.1:8080/").unwrap(),
        ("127.0.0.1".into(), 8080, "".into())
    );
    assert_eq!(
        parse_base_url("http://[::1]:9000/api//").unwrap(),
        ("::1".into(), 9000, "/api".into())
    );
    for bad in [
        "https://localhost",
        "ftp://localhost",
        "localhost:8080",
        "http://",
        "http://:80",
        "http://host:0",
        "http://host:http",
        "http://u:p@host",
        "http://host/?q=1",
        "http://[::1",
    ] {
        assert!(
            matches!(parse_base_url(bad), Err(ClientError::InvalidUrl(_))),
            "{bad}"
        );
    }
    assert_eq!(
        TaskerClient::new("http://[::1]:9000").unwrap().base_url(),
        "http://[::1]:9000"
    );
    assert_eq!(
        TaskerClient::new("http://h").unwrap().base_url(),
        "http://h"
    );
}

#[test]
fn request_bytes() {
    let req = build_request("POST", "h:1", "/v1/tasks", Some(b"{}"));
    let text = String::from_utf8(req).unwrap();
    assert!(text.starts_with("POST /v1/tasks HTTP/1.1\r\nHost: h:1\r\n"));
    assert!(text.contains("\r\nConnection: close\r\n"));
    assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
    let get = String::from_utf8(build_request("GET", "h", "/health", None)).unwrap();
    assert!(!get.contains("Content-Length"));
}

#[test]
fn response_parsing_needs_complete_input() {
    let full = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok";
    for cut in 0..full.len() {
        assert_eq!(
            parse_response(&full[..cut], false).unwrap(),
            None,
            "cut at {cut}"
        );
    }
    let res = parse_response(full, false).unwrap().unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-a"), Some("b"));
    assert_eq!(res.body, b"ok");
    let no_content = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n", false).unwrap();
    assert_eq!(no_content.unwrap().body, b"");
    assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n", true).is_err());
}
