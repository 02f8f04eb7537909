//! The accept loop: connections (plain or TLS), the idle-timeout tick and the notifier's
//! sender task, all ended by the shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::dispatch;
use crate::error::EmulatorError;
use crate::shared::Shared;
use crate::tls;

pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, EmulatorError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })
}

pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
    idle_tick: Duration,
) {
    let app = crate::app::app(shared.clone());
    shared.notifier.set_running(true);
    let notifier = tokio::spawn(shared.notifier.clone().run());
    // Connections live in this set, so shutting down closes them all (a restart loses state
    // and connections, like a real server going away).
    let mut connections = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(idle_tick.max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                // Taking the store stops the agents whose idle timeout has passed.
                drop(shared.store());
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                shared.counters.connection();
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let shared = shared.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    let svc = {
                        let shared = shared.clone();
                        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                            req.extensions_mut().insert(ConnectInfo(peer));
                            dispatch::handle(req, app.clone(), shared.clone())
                        })
                    };
                    // One builder for both protocols: ALPN picks over TLS; on plain HTTP an
                    // HTTP/2 preface (prior knowledge) is recognised.
                    let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                            let Ok(Ok(stream)) = handshake.await else { return };
                            shared.counters.handshake();
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                    }
                });
            }
        }
    }
    connections.shutdown().await;
    shared.notifier.set_running(false);
    notifier.abort();
}
