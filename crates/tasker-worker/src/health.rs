//! The worker health server: `GET /health` answers 200 with a healthy
//! report when the database answers `SELECT 1`, 503 otherwise.

use std::io;
use std::net::ToSocketAddrs;
use tasker_pgmq::Pool;
use tasker_shared::health::HealthReport;
use tasker_shared::http::{HttpServer, Request, Response, ServerHandle};

/// Routes one request: `GET /health` or 404 / 405.
pub fn handle(pool: &Pool, service: &str, version: &str, req: &Request) -> Response {
    match req.segments().as_slice() {
        ["health"] if req.method == "GET" => {
            let report = HealthReport::new(service, version).check("database", pool.ping());
            Response::json(report.http_status(), &report)
        }
        ["health"] => Response::method_not_allowed("GET"),
        _ => Response::not_found(),
    }
}

/// Starts the health server on `addr` in the background. It uses its own
/// database connection (opened lazily), separate from the worker loop's.
pub fn serve(
    addr: impl ToSocketAddrs,
    database_url: &str,
    service: &str,
    version: &str,
) -> io::Result<ServerHandle> {
    let server = HttpServer::bind(addr)?;
    let pool = Pool::new(database_url, 1);
    let (service, version) = (service.to_string(), version.to_string());
    Ok(server.spawn(1, move |req: &Request| {
        handle(&pool, &service, &version, req)
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
