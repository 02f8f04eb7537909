//! Session events: typed, delivered in order to `subscribe()` streams and, through one queue
//! per session, to registered handlers (never nested, panics isolated).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::{broadcast, mpsc};

use super::{Operation, SessionState};

/// Defines [`SessionEvent`], [`EventKind`] (one kind per variant, so the two cannot drift)
/// and [`SessionEvent::kind`] from one list of variants.
macro_rules! session_events {
    ($($(#[$doc:meta])* $variant:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* })*) => {
        /// Something that happened to a session.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum SessionEvent {
            $($(#[$doc])* $variant { $($(#[$fdoc])* $field: $ty,)* },)*
        }

        /// Event kinds, for [`on`](super::Session::on): one per [`SessionEvent`] variant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventKind {
            $(#[doc = concat!("[`SessionEvent::", stringify!($variant), "`]")] $variant,)*
        }

        impl SessionEvent {
            /// Which kind of event this is.
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Self::$variant { .. } => EventKind::$variant,)*
                }
            }
        }
    };
}

session_events! {
    /// The agent started.
    Started {
        /// Its id.
        agent_id: String,
    }
    /// The agent stopped (also when the service said it was already gone).
    Stopped {
        /// Its id.
        agent_id: String,
    }
    /// An operation failed (any operation, not only start and stop).
    Error {
        /// What failed.
        operation: Operation,
        /// The error's one-line description.
        message: String,
    }
    /// The service reported that the agent left or failed outside the session's own calls
    /// (a notification callback); the session is now `stopped` or `error`.
    AgentLeft {
        /// Its id.
        agent_id: String,
        /// The reason the service gave.
        reason: String,
    }
    /// A module of the running agent (LLM, TTS, ASR, …) reported an error through a
    /// notification callback; the agent still runs.
    AgentError {
        /// Its id.
        agent_id: String,
        /// The service's description, one line per failed module.
        message: String,
    }
    /// The service warned that the agent's channel token is about to expire (a
    /// notification callback). With [`renew_token_on_expiry`](super::SessionBuilder::renew_token_on_expiry)
    /// and a token the session signs itself, the session renews it and `renewing` is true;
    /// otherwise give the agent a fresh token yourself
    /// ([`renew_token`](super::Session::renew_token)) before it expires.
    TokenExpiring {
        /// Its id.
        agent_id: String,
        /// True when the session is renewing the token by itself.
        renewing: bool,
    }
    /// The session gave the agent a fresh channel token after an expiry warning.
    TokenRenewed {
        /// Its id.
        agent_id: String,
        /// When the new token expires, Unix seconds.
        expires_at: u64,
    }
    /// Renewing the token after an expiry warning failed; the agent still runs with its old
    /// token until that expires.
    TokenRenewFailed {
        /// Its id.
        agent_id: String,
        /// The error's one-line description (secrets removed).
        error: String,
    }
    /// The agent is in its channel: [`wait_ready`](super::Session::wait_ready) saw its
    /// agent-joined notice (`101`) or, when no notice can arrive, its status `RUNNING`.
    /// Once per agent.
    Ready {
        /// Its id.
        agent_id: String,
        /// What told.
        via: super::ReadyVia,
    }
    /// [`wait_ready`](super::Session::wait_ready) found the agent `RECOVERING`: the service
    /// is bringing it back into the channel. Not a failure; the wait goes on.
    AgentRecovering {
        /// Its id.
        agent_id: String,
    }
    /// The session moved between states.
    StateChanged {
        /// Before.
        from: SessionState,
        /// After.
        to: SessionState,
    }
}

/// Identifies a registered handler, for [`off`](super::Session::off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Handler = Arc<dyn Fn(SessionEvent) -> BoxFuture + Send + Sync>;
type Handlers = Arc<Mutex<Vec<(HandlerId, EventKind, Handler)>>>;

/// The handlers of a session and the queue feeding them; created with the first handler.
struct Dispatch {
    handlers: Handlers,
    queue: mpsc::UnboundedSender<SessionEvent>,
}

/// Handlers and subscribers of one session. Everything is created on first use, behind one
/// pointer, so sessions nobody listens to stay small.
#[derive(Default)]
pub(crate) struct Events(Mutex<Option<Box<Listeners>>>);

#[derive(Default)]
struct Listeners {
    next: u64,
    dispatch: Option<Dispatch>,
    channel: Option<broadcast::Sender<SessionEvent>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Events {
    /// Registers a handler. Its queue's task runs on the current runtime, or on `fallback`
    /// (the client's own) outside one; without either the handler is never called.
    pub fn on<F, Fut>(
        &self,
        kind: EventKind,
        handler: F,
        fallback: impl FnOnce() -> Option<tokio::runtime::Handle>,
    ) -> HandlerId
    where
        F: Fn(SessionEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let boxed: Handler = Arc::new(move |e| Box::pin(handler(e)));
        let mut listeners = lock(&self.0);
        let l = listeners.get_or_insert_with(Box::default);
        l.next += 1;
        let id = HandlerId(l.next);
        let dispatch = &mut l.dispatch;
        if dispatch.is_none() {
            let handlers: Handlers = Arc::default();
            let (queue, rx) = mpsc::unbounded_channel();
            let runtime = tokio::runtime::Handle::try_current().ok().or_else(fallback);
            match runtime {
                Some(rt) => {
                    rt.spawn(run(rx, handlers.clone()));
                }
                None => tracing::warn!("no tokio runtime to run session event handlers on"),
            }
            *dispatch = Some(Dispatch { handlers, queue });
        }
        if let Some(d) = &*dispatch {
            lock(&d.handlers).push((id, kind, boxed));
        }
        id
    }

    pub fn off(&self, id: HandlerId) -> bool {
        let listeners = lock(&self.0);
        let Some(d) = listeners.as_ref().and_then(|l| l.dispatch.as_ref()) else {
            return false;
        };
        let mut h = lock(&d.handlers);
        let before = h.len();
        h.retain(|(i, _, _)| *i != id);
        h.len() != before
    }

    /// Queues `event` for the handlers and sends it to subscribers. Never waits for a
    /// handler, so a handler that calls back into its session cannot nest or deadlock.
    pub fn emit(&self, event: SessionEvent) {
        let listeners = lock(&self.0);
        let Some(l) = listeners.as_ref() else {
            return;
        };
        if let Some(tx) = &l.channel {
            let _ = tx.send(event.clone());
        }
        if let Some(d) = &l.dispatch {
            let _ = d.queue.send(event);
        }
    }

    pub fn subscribe(&self) -> futures::stream::BoxStream<'static, SessionEvent> {
        let rx = lock(&self.0)
            .get_or_insert_with(Box::default)
            .channel
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

/// One session's handler queue: events in order, each handler awaited before the next, a
/// panicking handler logged and skipped. Ends when the session is gone and the queue empty.
async fn run(mut rx: mpsc::UnboundedReceiver<SessionEvent>, handlers: Handlers) {
    while let Some(event) = rx.recv().await {
        let matching: Vec<Handler> = lock(&handlers)
            .iter()
            .filter(|(_, k, _)| *k == event.kind())
            .map(|(_, _, h)| h.clone())
            .collect();
        for handler in matching {
            let call = AssertUnwindSafe(async { handler(event.clone()).await }).catch_unwind();
            if call.await.is_err() {
                tracing::warn!(kind = ?event.kind(), "a session event handler panicked; the session goes on");
            }
        }
    }
}
