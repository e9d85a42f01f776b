//! The status server (`--status-addr`): `GET /status.json` (a
//! [`Snapshot`](super::Snapshot)) and `GET /` (the [`html`](super::html)
//! page), on a thread of its own, with `tiny_http` (a small, synchronous,
//! well-kept HTTP/1.1 server: no async runtime for two read-only pages).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server};

use super::{html, StatusBoard};

/// A running status server; dropping it stops it.
pub struct StatusServer {
    server: Arc<Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StatusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusServer").field("addr", &self.addr).finish()
    }
}

impl StatusServer {
    /// Listen on `addr` (port 0 picks one: see [`local_addr`](Self::local_addr))
    /// and serve `board`'s status until dropped.
    pub fn start(addr: SocketAddr, board: StatusBoard) -> io::Result<StatusServer> {
        let server = Server::http(addr).map_err(|e| io::Error::new(io::ErrorKind::AddrNotAvailable, e.to_string()))?;
        let addr = server.server_addr().to_ip().unwrap_or(addr);
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("pyhost-status".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    // A client that went away is its own problem.
                    let _ = respond(request, &board);
                }
            })?;
        Ok(StatusServer {
            server,
            addr,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn respond(request: Request, board: &StatusBoard) -> io::Result<()> {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    if *request.method() != Method::Get && *request.method() != Method::Head {
        let r = Response::from_string("only GET\n")
            .with_status_code(405)
            .with_header(header("Allow", "GET, HEAD"));
        return request.respond(r);
    }
    let (body, kind) = match path.as_str() {
        "/status.json" => (
            serde_json::to_string(&board.snapshot()).map_err(io::Error::other)?,
            "application/json",
        ),
        "/" | "/index.html" => (html::render(&board.snapshot()), "text/html; charset=utf-8"),
        _ => {
            let r = Response::from_string("not found: try / or /status.json\n").with_status_code(404);
            return request.respond(r);
        }
    };
    let r = Response::from_string(body)
        .with_header(header("Content-Type", kind))
        .with_header(header("Cache-Control", "no-store"));
    request.respond(r)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{client, ProcessInfo, Snapshot};
    use super::*;

    #[test]
    fn serves_the_json_and_the_page() {
        let board = StatusBoard::new(ProcessInfo {
            hostname: "h".into(),
            isolation: "shared".into(),
            workers: 3,
            flush_interval_s: 15.0,
        });
        let server = StatusServer::start("127.0.0.1:0".parse().unwrap(), board).unwrap();
        let addr = server.local_addr().to_string();
        let get =
            |method: &str, path: &str| client::request(&addr, method, path, None, Duration::from_secs(5)).unwrap();
        let json = get("GET", "/status.json");
        assert_eq!(json.status, 200);
        let snap: Snapshot = serde_json::from_str(&json.body).unwrap();
        assert_eq!((snap.workers, snap.pid), (3, std::process::id()));
        let page = get("GET", "/");
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<title>pyhost status</title>"));
        assert_eq!(get("GET", "/nope").status, 404);
        assert_eq!(get("POST", "/status.json").status, 405);
        drop(server); // joins the serving thread
    }
}
