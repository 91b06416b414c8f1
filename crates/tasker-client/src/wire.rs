//! The HTTP/1.1 wire format: URL parsing, request writing, response parsing.

use crate::{ClientError, Result};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Responses larger than this are refused.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `http://host[:port][/path]` into host, port and a path prefix
/// without a trailing slash.
pub(crate) fn parse_base_url(url: &str) -> Result<(String, u16, String)> {
    let invalid = |why: &str| ClientError::InvalidUrl(format!("{url:?}: {why}"));
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
            return Err(invalid("https is not supported (no TLS); use http://"))
        }
        Some(_) => return Err(invalid("only http:// URLs are supported")),
        None => return Err(invalid("expected http://host[:port]")),
    };
    if rest.contains(['?', '#']) {
        return Err(invalid("query strings and fragments are not allowed"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(invalid("credentials in the URL are not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(invalid("missing host"));
    }
    let port = match port {
        None => 80,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(invalid("bad port")),
        },
    };
    Ok((
        host.to_string(),
        port,
        path.trim_end_matches('/').to_string(),
    ))
}

/// The `Host` header value (IPv6 literals in brackets, port unless 80).
pub(crate) fn host_header(host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    if port == 80 {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// Builds the request bytes.
pub(crate) fn build_request(
    method: &str,
    host_header: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: tasker-client/{}\r\n\
         Accept: application/json\r\nConnection: close\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(body) = body {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if let Some(body) = body {
        bytes.extend_from_slice(body);
    }
    bytes
}

/// Connects, sends one request and reads the response.
pub(crate) fn exchange(
    host: &str,
    port: u16,
    timeout: Duration,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<RawResponse> {
    let mut last_err = None;
    let mut stream = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut stream = match stream {
        Some(s) => s,
        None => {
            return Err(ClientError::Io(last_err.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: no address"))
            })))
        }
    };
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&build_request(method, &host_header(host, port), path, body))?;
    stream.flush()?;
    read_response(&mut stream)
}

/// Reads until one complete response has arrived (or the peer closes).
pub(crate) fn read_response(stream: &mut impl Read) -> Result<RawResponse> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(res) = parse_response(&buf, false)? {
            return Ok(res);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return parse_response(&buf, true)?.ok_or_else(|| {
                ClientError::InvalidResponse(
                    "connection closed before the response was complete".into(),
                )
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::InvalidResponse(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
    }
}

/// Parses `buf`; `Ok(None)` means more bytes are needed. With `eof` set,
/// a body without a length runs to the end of `buf`.
pub(crate) fn parse_response(buf: &[u8], eof: bool) -> Result<Option<RawResponse>> {
    let bad = |msg: &str| ClientError::InvalidResponse(msg.to_string());
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("header is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad(&format!("bad status line {status_line:?}")));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| bad(&format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(&format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut res = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &buf[head_end + 4..];
    let chunked = res
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        match decode_chunked(rest)? {
            Some(body) => res.body = body,
            None if eof => return Err(bad("truncated chunked body")),
            None => return Ok(None),
        }
    } else if let Some(len) = res.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad Content-Length"))?;
        if rest.len() < len {
            return if eof {
                Err(bad("truncated body"))
            } else {
                Ok(None)
            };
        }
        res.body = rest[..len].to_vec();
    } else if status < 200 || status == 204 || status == 304 {
        // No body by definition.
    } else if eof {
        res.body = rest.to_vec();
    } else {
        return Ok(None);
    }
    Ok(Some(res))
}

/// Decodes a chunked body; `Ok(None)` when incomplete.
fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>> {
    let bad = |msg: &str| ClientError::InvalidResponse(msg.to_string());
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(data, b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[..line_end]).map_err(|_| bad("bad chunk size"))?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Optional trailers, then an empty line.
            return Ok(
                if data.starts_with(b"\r\n") || find(data, b"\r\n\r\n").is_some() {
                    Some(body)
                } else {
                    None
                },
            );
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err(bad("chunk not terminated by CRLF"));
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
