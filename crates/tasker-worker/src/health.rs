//! The worker health server: `GET /health` answers 200 with a healthy
//! report when the database answers `SELECT 1`, 503 otherwise. Split, the
//! `database` check covers the queue's database too (the report keeps one
//! shape in both modes), and its message says which one failed.

use std::io;
use std::net::ToSocketAddrs;
use tasker_pgmq::Pool;
use tasker_shared::config::DatabaseUrls;
use tasker_shared::health::HealthReport;
use tasker_shared::http::{HttpServer, Request, Response, ServerHandle};

/// Routes one request: `GET /health` or 404 / 405.
pub fn handle(pool: &Pool, service: &str, version: &str, req: &Request) -> Response {
    handle_split(pool, None, service, version, req)
}

/// [`handle`] with the queue's own database checked too, when given.
pub fn handle_split(
    pool: &Pool,
    queue: Option<&Pool>,
    service: &str,
    version: &str,
    req: &Request,
) -> Response {
    match req.segments().as_slice() {
        ["health"] if req.method == "GET" => {
            let databases = pool.ping().and_then(|()| match queue {
                Some(q) => q.ping().map_err(|e| format!("queue database: {e}")),
                None => Ok(()),
            });
            let report = HealthReport::new(service, version).check("database", databases);
            Response::json(report.http_status(), &report)
        }
        ["health"] => Response::method_not_allowed("GET"),
        _ => Response::not_found(),
    }
}

/// Starts the health server on `addr` in the background. It uses its own
/// database connections (opened lazily), separate from the worker loop's.
/// `databases` is a URL or [`DatabaseUrls`].
pub fn serve(
    addr: impl ToSocketAddrs,
    databases: impl Into<DatabaseUrls>,
    service: &str,
    version: &str,
) -> io::Result<ServerHandle> {
    let urls = databases.into();
    let server = HttpServer::bind(addr)?;
    let pool = Pool::new(&urls.main, 1);
    let queue = urls.is_split().then(|| Pool::new(&urls.queue, 1));
    let (service, version) = (service.to_string(), version.to_string());
    Ok(server.spawn(1, move |req: &Request| {
        handle_split(&pool, queue.as_ref(), &service, &version, req)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasker_client::TaskerClient;

    const DOWN: &str = "postgresql://nobody@127.0.0.1:1/none";

    #[test]
    fn unhealthy_when_the_database_is_down() {
        let server = serve("127.0.0.1:0", DOWN, "rust-worker", "0.1.0").unwrap();
        let client = TaskerClient::new(&format!("http://{}", server.local_addr())).unwrap();
        let report = client.health().unwrap();
        assert!(!report.is_healthy());
        assert_eq!(report.service, "rust-worker");
        assert!(report.checks["database"].message.is_some());
        let raw = client.call("GET", "/health", None).unwrap();
        assert_eq!(raw.status, 503);
        server.shutdown();
    }

    #[test]
    fn a_split_queue_database_is_checked_too() {
        let main = Pool::new(DOWN, 1);
        let queue = Pool::new("postgresql://nobody@127.0.0.1:1/queue", 1);
        let req = Request::new("GET", "/health");
        let res = handle_split(&main, Some(&queue), "w", "0", &req);
        assert_eq!(res.status, 503);
        // the main database fails first: its error is the message
        let body = res.body_json().unwrap();
        assert!(!body["checks"]["database"]["message"]
            .as_str()
            .unwrap()
            .starts_with("queue database"));
        let urls = DatabaseUrls::split(DOWN, "postgresql://nobody@127.0.0.1:1/queue");
        let server = serve("127.0.0.1:0", &urls, "rust-worker", "0.1.0").unwrap();
        let client = TaskerClient::new(&format!("http://{}", server.local_addr())).unwrap();
        let report = client.health().unwrap();
        assert!(!report.is_healthy());
        assert_eq!(report.checks.keys().collect::<Vec<_>>(), ["database"]);
        server.shutdown();
    }

    #[test]
    fn routes() {
        let pool = Pool::new(DOWN, 1);
        let get = |m: &str, p: &str| handle(&pool, "w", "0", &Request::new(m, p)).status;
        assert_eq!(get("GET", "/health"), 503);
        assert_eq!(get("GET", "/health/"), 503);
        assert_eq!(get("POST", "/health"), 405);
        assert_eq!(get("GET", "/"), 404);
        assert_eq!(get("GET", "/v1/tasks"), 404);
    }
}
