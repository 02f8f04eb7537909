//! Verify, parse and de-duplicate in one call: the framework-free receiving pipeline.

use std::sync::Arc;
use std::time::Duration;

use super::dedupe::{DedupeStore, MemoryStore, DEFAULT_TTL};
use super::error::WebhookError;
use super::event::{parse, Notification};
use super::verify::{Signatures, Verifier};
use crate::telemetry::{NoticeOutcome, Telemetry};

/// What a verified callback turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// The first delivery of this notice: handle it.
    New(Notification),
    /// A notice already claimed (a resend or a redundant delivery): acknowledge it and do
    /// nothing else.
    Duplicate(Notification),
}

impl Received {
    /// The notification, new or not.
    pub fn notification(&self) -> &Notification {
        match self {
            Received::New(n) | Received::Duplicate(n) => n,
        }
    }
    /// True for a duplicate.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Received::Duplicate(_))
    }
}

/// Verifies, parses and de-duplicates callbacks. Cheap to clone (the store is shared).
///
/// ```
/// use shengwang_agent::webhooks::{Receiver, Received, Signatures, Verifier};
/// # async fn demo(v2_header: &str, body: &[u8]) -> Result<(), shengwang_agent::webhooks::WebhookError> {
/// let receiver = Receiver::new(Verifier::new("console-secret"));
/// let sigs = Signatures { v2: Some(v2_header), v1: None };
/// if let Received::New(n) = receiver.receive(sigs, body).await? {
///     println!("{} {:?}", n.notice_id, n.event.kind());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    store: Arc<dyn DedupeStore>,
    ttl: Duration,
    /// `convoai.webhook.notifications` (no-op without the `otel` feature).
    telemetry: Arc<Telemetry>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver with an in-memory store ([`MemoryStore`]) and the default TTL.
    pub fn new(verifier: Verifier) -> Self {
        Receiver {
            verifier,
            store: Arc::new(MemoryStore::default()),
            ttl: DEFAULT_TTL,
            telemetry: Arc::new(Telemetry::new(&Default::default())),
        }
    }
    /// Counts notifications (`convoai.webhook.notifications`: `rejected`, `duplicate`, and
    /// `failed` on [`release`](Self::release)) with this meter (feature `otel`, OpenTelemetry
    /// 0.33); by default the global meter as it is when the receiver is made. See
    /// [`telemetry`](crate::telemetry).
    #[cfg(feature = "otel")]
    pub fn meter(mut self, meter: opentelemetry::metrics::Meter) -> Self {
        let options = crate::telemetry::Options {
            meter: Some(meter),
            ..Default::default()
        };
        self.telemetry = Arc::new(Telemetry::new(&options));
        self
    }
    /// Uses `store` for de-duplication (e.g. a shared Redis store for a fleet).
    pub fn store(mut self, store: impl DedupeStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }
    /// How long a notice id is remembered (default [`DEFAULT_TTL`]).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies `body` against `signatures`, parses it and claims its notice id. Traced as
    /// a `convoai.webhook.receive` span (a child of the current one) with the event's kind
    /// (`convoai.event`), whether it was new (`convoai.outcome`) and `error.type` on a
    /// rejection.
    pub async fn receive(
        &self,
        signatures: Signatures<'_>,
        body: &[u8],
    ) -> Result<Received, WebhookError> {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "convoai.webhook.receive",
            convoai.event = tracing::field::Empty,
            convoai.outcome = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let result = self
            .receive_traced(signatures, body)
            .instrument(span.clone())
            .await;
        let (event, outcome) = match &result {
            Ok(Received::New(n)) => (n.event.kind(), None),
            Ok(Received::Duplicate(n)) => (n.event.kind(), Some(NoticeOutcome::Duplicate)),
            Err(e) => {
                span.record("error.type", rejection(e));
                let outcome = match e {
                    WebhookError::Store(_) => NoticeOutcome::Failed,
                    _ => NoticeOutcome::Rejected,
                };
                ("unknown", Some(outcome))
            }
        };
        span.record("convoai.event", event);
        let name = match outcome {
            None => "new",
            Some(NoticeOutcome::Duplicate) => "duplicate",
            Some(NoticeOutcome::Failed) => "failed",
            Some(_) => "rejected",
        };
        span.record("convoai.outcome", name);
        if let Some(outcome) = outcome {
            self.telemetry.notification(event, outcome);
        }
        result
    }

    /// [`receive`](Self::receive) inside its span.
    async fn receive_traced(
        &self,
        signatures: Signatures<'_>,
        body: &[u8],
    ) -> Result<Received, WebhookError> {
        self.verifier.verify(signatures, body)?;
        let n = parse(body)?;
        if self.store.claim(&n.dedupe_key(), self.ttl).await? {
            Ok(Received::New(n))
        } else {
            Ok(Received::Duplicate(n))
        }
    }

    /// Forgets that `notification` was handled, so its next resend is handled again. Call
    /// it when handling failed and you answer a non-200 status.
    pub async fn release(&self, notification: &Notification) -> Result<(), WebhookError> {
        self.release_key(notification.event.kind(), &notification.dedupe_key())
            .await
    }

    /// Forgets the claim on `key` of a notification of kind `event` whose handling failed.
    pub(crate) async fn release_key(
        &self,
        event: &'static str,
        key: &str,
    ) -> Result<(), WebhookError> {
        self.telemetry.notification(event, NoticeOutcome::Failed);
        self.store.release(key).await
    }
}

/// The `error.type` of a rejected callback, from a closed set.
fn rejection(e: &WebhookError) -> &'static str {
    match e {
        WebhookError::MissingSignature(_)
        | WebhookError::MalformedSignature { .. }
        | WebhookError::InvalidSignature(_) => "signature",
        WebhookError::BodyTooLarge { .. } => "body_too_large",
        WebhookError::Body(_) => "body",
        WebhookError::Config(_) => "config",
        WebhookError::Store(_) => "store",
    }
}
