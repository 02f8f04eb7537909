//! The one HTTP server loop of the CLI's long-running commands (`serve`, `webhooks listen`):
//! a service on a network that holds up like one.
//!
//! - Headers must arrive within `header_read` (this also closes idle keep-alive connections),
//!   and a request must be answered within `request` (body read included).
//! - At most `max_connections` are open at once. When a new client arrives at the cap, the
//!   connection idle the longest (no request in flight: a silent, half-open or keep-alive
//!   client) is closed to make room, so thousands of slow or silent clients neither stop the
//!   server from answering others promptly nor pin its memory or file descriptors. Only when
//!   every connection has a request in flight is the newcomer turned away.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::ServiceExt;
use tracing::Instrument;

/// Makes the span one request is served in (`Span::none()` for none).
pub type RequestSpan = fn(&hyper::Request<Incoming>) -> tracing::Span;

/// Bounds of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_read: Duration,
    /// Time one request may take from its headers to its answer.
    pub request: Duration,
    /// What a request that outlives `request` is answered.
    pub timed_out: fn() -> Response,
    /// The span each request is served in.
    pub span: RequestSpan,
}

/// One open connection, as the table sees it.
struct Conn {
    /// Requests in flight.
    busy: AtomicUsize,
    /// When the connection last became idle (ms since the table's epoch).
    idle_since: AtomicU64,
    close: Notify,
}

/// Every open connection of one listener.
struct Table {
    epoch: Instant,
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Table {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Room for one more connection: true when under `max`, or after closing the
    /// connection idle the longest; false when every connection is busy.
    fn make_room(&self, max: usize) -> bool {
        let mut conns = self.lock();
        if conns.len() < max {
            return true;
        }
        let victim = conns
            .iter()
            .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.idle_since.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        match victim.and_then(|id| conns.remove(&id)) {
            Some(conn) => {
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn open(&self) -> (u64, Arc<Conn>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        self.lock().insert(id, conn.clone());
        (id, conn)
    }
}

/// Serves `router` on `listener` until `stop` completes (or the future is dropped); the
/// connections open then go on until they end or the runtime stops.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let table = Arc::new(Table {
        epoch: Instant::now(),
        next: AtomicU64::new(0),
        conns: Mutex::new(HashMap::new()),
    });
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if !table.make_room(limits.max_connections.max(1)) {
            // Every connection has a request in flight: turn the newcomer away at once.
            drop(stream);
            continue;
        }
        let (id, conn) = table.open();
        let (table, router) = (table.clone(), router.clone());
        // Detached: connections open at the stop are still served while the process drains.
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(stream, router, limits, &table, &conn) => {}
                _ = conn.close.notified() => {}
            }
            table.lock().remove(&id);
        });
    }
}

/// One HTTP/1 connection: headers bounded in time, each request bounded in time, its busy
/// count kept for [`Table::make_room`].
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    table: &Arc<Table>,
    conn: &Arc<Conn>,
) {
    let (table, conn) = (table.clone(), conn.clone());
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (router, table, conn) = (router.clone(), table.clone(), conn.clone());
        conn.busy.fetch_add(1, Ordering::AcqRel);
        let span = (limits.span)(&req);
        let answered = span.clone();
        async move {
            let answer = tokio::time::timeout(limits.request, router.oneshot(req)).await;
            conn.idle_since.store(table.now_ms(), Ordering::Release);
            conn.busy.fetch_sub(1, Ordering::AcqRel);
            let answer = answer.unwrap_or_else(|_| Ok((limits.timed_out)()));
            if let Ok(a) = &answer {
                answered.record("http.response.status_code", a.status().as_u16());
            }
            answer
        }
        .instrument(span)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
        tracing::debug!(error = %e, "connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            epoch: Instant::now(),
            next: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn at_the_cap_the_longest_idle_connection_makes_room() {
        let t = table();
        let (_, first) = t.open();
        let (_, second) = t.open();
        first.idle_since.store(5, Ordering::Release);
        second.idle_since.store(1, Ordering::Release);
        assert!(t.make_room(3), "under the cap");
        assert!(t.make_room(2));
        assert_eq!(t.lock().len(), 1, "one was closed");
        assert!(t.lock().values().any(|c| Arc::ptr_eq(c, &first)));
    }

    #[test]
    fn busy_connections_are_never_closed_to_make_room() {
        let t = table();
        let (_, only) = t.open();
        only.busy.store(1, Ordering::Release);
        assert!(!t.make_room(1));
        assert_eq!(t.lock().len(), 1);
    }
}
