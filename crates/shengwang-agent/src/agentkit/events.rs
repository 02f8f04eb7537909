//! Session events: typed, delivered to registered handlers (awaited, panics isolated) and to
//! `subscribe()` streams.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::broadcast;

use super::{Operation, SessionState};

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The agent started.
    Started {
        /// Its id.
        agent_id: String,
    },
    /// The agent stopped (also when the service said it was already gone).
    Stopped {
        /// Its id.
        agent_id: String,
    },
    /// An operation failed (any operation, not only start and stop).
    Error {
        /// What failed.
        operation: Operation,
        /// The error's one-line description.
        message: String,
    },
    /// The session moved between states.
    StateChanged {
        /// Before.
        from: SessionState,
        /// After.
        to: SessionState,
    },
}

impl SessionEvent {
    /// Which kind of event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Started { .. } => EventKind::Started,
            Self::Stopped { .. } => EventKind::Stopped,
            Self::Error { .. } => EventKind::Error,
            Self::StateChanged { .. } => EventKind::StateChanged,
        }
    }
}

/// Event kinds, for [`on`](super::Session::on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// [`SessionEvent::Started`]
    Started,
    /// [`SessionEvent::Stopped`]
    Stopped,
    /// [`SessionEvent::Error`]
    Error,
    /// [`SessionEvent::StateChanged`]
    StateChanged,
}

/// Identifies a registered handler, for [`off`](super::Session::off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Handler = Arc<dyn Fn(SessionEvent) -> BoxFuture + Send + Sync>;

/// Handlers and subscribers of one session. The broadcast channel (a few KiB) is created on
/// the first `subscribe`, so sessions nobody subscribes to stay small.
#[derive(Default)]
pub(crate) struct Events {
    handlers: Mutex<Vec<(HandlerId, EventKind, Handler)>>,
    next: AtomicU64,
    channel: Mutex<Option<broadcast::Sender<SessionEvent>>>,
}

impl Events {
    pub fn on<F, Fut>(&self, kind: EventKind, handler: F) -> HandlerId
    where
        F: Fn(SessionEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let id = HandlerId(self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let boxed: Handler = Arc::new(move |e| Box::pin(handler(e)));
        self.lock().push((id, kind, boxed));
        id
    }

    pub fn off(&self, id: HandlerId) -> bool {
        let mut h = self.lock();
        let before = h.len();
        h.retain(|(i, _, _)| *i != id);
        h.len() != before
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(HandlerId, EventKind, Handler)>> {
        self.handlers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the matching handlers in registration order, awaiting each; a handler that panics
    /// is logged and the others still run.
    pub async fn emit(&self, event: SessionEvent) {
        if let Some(tx) = &*self.channel.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = tx.send(event.clone());
        }
        let matching: Vec<Handler> = self
            .lock()
            .iter()
            .filter(|(_, k, _)| *k == event.kind())
            .map(|(_, _, h)| h.clone())
            .collect();
        for handler in matching {
            let run = AssertUnwindSafe(async { handler(event.clone()).await }).catch_unwind();
            if run.await.is_err() {
                tracing::warn!(kind = ?event.kind(), "a session event handler panicked; the session goes on");
            }
        }
    }

    pub fn subscribe(&self) -> futures::stream::BoxStream<'static, SessionEvent> {
        let rx = self
            .channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| broadcast::channel(64).0)
            .subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) => return Some((e, rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "a session event subscriber fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
}
