//! Connection-level counters: what benchmarks need to see connection reuse and TLS handshakes.

use std::sync::atomic::{AtomicU64, Ordering};

/// Connections and protocols seen since start (or the last reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ServerStats {
    /// TCP connections accepted.
    pub connections: u64,
    /// TLS handshakes completed (0 without TLS).
    pub tls_handshakes: u64,
    /// API requests served over HTTP/1.x.
    pub http1_requests: u64,
    /// API requests served over HTTP/2.
    pub http2_requests: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    connections: AtomicU64,
    tls_handshakes: AtomicU64,
    http1_requests: AtomicU64,
    http2_requests: AtomicU64,
}

impl Counters {
    pub fn connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }
    pub fn handshake(&self) {
        self.tls_handshakes.fetch_add(1, Ordering::Relaxed);
    }
    pub fn request(&self, version: axum::http::Version) {
        let c = if version == axum::http::Version::HTTP_2 {
            &self.http2_requests
        } else {
            &self.http1_requests
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> ServerStats {
        ServerStats {
            connections: self.connections.load(Ordering::Relaxed),
            tls_handshakes: self.tls_handshakes.load(Ordering::Relaxed),
            http1_requests: self.http1_requests.load(Ordering::Relaxed),
            http2_requests: self.http2_requests.load(Ordering::Relaxed),
        }
    }
    pub fn reset(&self) {
        for c in [
            &self.connections,
            &self.tls_handshakes,
            &self.http1_requests,
            &self.http2_requests,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
