//! The SDK's `tracing` spans follow the OpenTelemetry HTTP client conventions: one span per
//! operation, a child of the caller's span, with one child span per HTTP attempt, and retry
//! and failover decisions as events on the operation's span. No secret, body or channel in
//! any field or event. Alone in its test binary: the subscriber is thread-scoped.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoai_emulator::{Emulator, Fault, FaultRule};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::{Client, RetryPolicy};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Instrument, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
const SECRET: &str = "SENTINEL-CUSTOMER-SECRET";
const VENDOR_KEY: &str = "SENTINEL-VENDOR-KEY";
const CHANNEL: &str = "SENTINEL-CHANNEL";

#[derive(Debug, Clone)]
struct SpanRec {
    id: u64,
    name: String,
    target: String,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct EventRec {
    span: Option<u64>,
    target: String,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Log {
    spans: Vec<SpanRec>,
    events: Vec<EventRec>,
}

/// Records every span (name, fields, parent) and event (fields, span).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Log>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").replace('"', ""),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.id().into_u64());
        self.0.lock().unwrap().spans.push(SpanRec {
            id: id.into_u64(),
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            parent,
            fields,
        });
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut log = self.0.lock().unwrap();
        // Ids are reused after a span closes: the latest span with the id is the live one.
        if let Some(span) = log.spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx.event_span(event).map(|s| s.id().into_u64());
        self.0.lock().unwrap().events.push(EventRec {
            span,
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

impl Recorder {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        tracing::subscriber::set_default(subscriber)
    }
    /// Spans and events of the SDK (the in-process emulator traces too).
    fn sdk(&self) -> (Vec<SpanRec>, Vec<EventRec>) {
        let log = self.0.lock().unwrap();
        let ours = |t: &str| t.starts_with("shengwang_agent");
        (
            log.spans
                .iter()
                .filter(|s| ours(&s.target) || s.name == "handler")
                .cloned()
                .collect(),
            log.events
                .iter()
                .filter(|e| ours(&e.target))
                .cloned()
                .collect(),
        )
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy::standard()
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
        .max_retry_after(Duration::from_millis(50))
}

fn children<'a>(spans: &'a [SpanRec], parent: &SpanRec) -> Vec<&'a SpanRec> {
    spans
        .iter()
        .filter(|s| s.parent == Some(parent.id))
        .collect()
}

fn field<'a>(span: &'a SpanRec, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

#[tokio::test]
async fn a_retried_call_is_one_operation_span_with_an_attempt_span_per_try() {
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let emu = Emulator::builder()
        .app_certificate(CERT)
        .customer("cust", SECRET)
        .spawn()
        .await
        .unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(CERT)
        .basic("cust", SECRET)
        .base_url(emu.base_url())
        .retry(fast())
        .build()
        .unwrap();
    let mut req = support::start_request(&emu, "spans", VENDOR_KEY);
    let channel_token = TokenBuilder::new(emu.app_id(), CERT)
        .unwrap()
        .convo_ai(CHANNEL, "1001")
        .build()
        .unwrap();
    req.properties.channel = CHANNEL.into();
    req.properties.token = channel_token.clone();
    let id = client.agents().start(&req).await.unwrap().agent_id.clone();

    emu.push_fault(FaultRule::new(Fault::status(503)).method("GET").times(1));
    let info = async { client.agents().get(&id).await }
        .instrument(tracing::info_span!("handler"))
        .await
        .unwrap();
    assert_eq!(info.agent_id, id);
    client.agents().stop(&id).await.unwrap();

    let (spans, events) = recorder.sdk();
    let start = spans
        .iter()
        .find(|s| field(s, "convoai.operation") == Some("agents.start"))
        .expect("the start's operation span");
    assert_eq!(start.name, "convoai.request");
    assert_eq!(
        field(start, "convoai.agent_id"),
        None,
        "the join names none"
    );
    assert!(spans
        .iter()
        .any(|s| field(s, "convoai.operation") == Some("agents.stop")
            && field(s, "convoai.agent_id") == Some(&id)));

    let handler = spans.iter().find(|s| s.name == "handler").unwrap();
    let ops = children(&spans, handler);
    assert_eq!(
        ops.len(),
        1,
        "one operation span under the caller's: {ops:#?}"
    );
    let op = ops[0];
    assert_eq!(op.name, "convoai.request");
    assert_eq!(field(op, "convoai.operation"), Some("agents.get"));
    assert_eq!(field(op, "convoai.agent_id"), Some(id.as_str()));
    assert_eq!(field(op, "error.type"), None, "the call succeeded");

    let attempts = children(&spans, op);
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    for a in &attempts {
        assert_eq!(a.name, "convoai.attempt");
        assert_eq!(field(a, "http.request.method"), Some("GET"));
        assert_eq!(field(a, "server.address"), Some("127.0.0.1"));
        assert_eq!(
            field(a, "server.port"),
            Some(emu.addr().port().to_string().as_str())
        );
    }
    let (first, second) = (attempts[0], attempts[1]);
    assert_eq!(field(first, "http.response.status_code"), Some("503"));
    assert!(field(first, "error.type").is_some(), "{first:#?}");
    assert_eq!(field(first, "http.request.resend_count"), None);
    assert_eq!(field(second, "http.response.status_code"), Some("200"));
    assert_eq!(field(second, "error.type"), None);
    assert_eq!(field(second, "http.request.resend_count"), Some("1"));

    let retries: Vec<_> = events
        .iter()
        .filter(|e| e.fields.get("convoai.event").map(String::as_str) == Some("retry"))
        .collect();
    assert_eq!(retries.len(), 1, "{retries:#?}");
    let retry = retries[0];
    assert_eq!(
        retry.span,
        Some(op.id),
        "the retry is an event of the operation"
    );
    assert!(retry.fields.contains_key("convoai.delay_ms"));
    assert_eq!(
        retry.fields.get("error.type"),
        first.fields.get("error.type")
    );
    assert_eq!(
        retry
            .fields
            .get("http.request.resend_count")
            .map(String::as_str),
        Some("1")
    );

    // Nothing secret or personal in any field of any span or event of the SDK.
    let mut all = String::new();
    for s in &spans {
        all.push_str(&format!("{:?}\n", s.fields));
    }
    for e in &events {
        // The `-v` request lines are debug events that show the URL; the span fields and the
        // decision events must not show even that.
        all.push_str(&format!("{:?}\n", e.fields));
    }
    for sentinel in [CERT, SECRET, VENDOR_KEY, CHANNEL, &channel_token, "007eJx"] {
        assert!(!all.contains(sentinel), "{sentinel} recorded:\n{all}");
    }
    for s in &spans {
        for v in s.fields.values() {
            assert!(!v.contains("://"), "no URL in span fields: {s:#?}");
        }
    }
}

#[tokio::test]
async fn a_failover_is_an_event_of_the_operation() {
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let emu = Emulator::builder().spawn().await.unwrap();
    // Nothing listens on port 1: connecting fails and the call moves to the emulator.
    let dead = "http://127.0.0.1:1/cn/api/conversational-ai-agent";
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(dead)
        .base_url(emu.cn_base_url())
        .retry(fast())
        .build()
        .unwrap();
    async { client.agents().list().page().await }
        .instrument(tracing::info_span!("handler"))
        .await
        .unwrap();

    let (spans, events) = recorder.sdk();
    let handler = spans.iter().find(|s| s.name == "handler").unwrap();
    let ops = children(&spans, handler);
    assert_eq!(ops.len(), 1);
    let op = ops[0];
    assert_eq!(field(op, "convoai.operation"), Some("agents.list"));
    let attempts = children(&spans, op);
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert_eq!(field(attempts[0], "error.type"), Some("connect"));
    assert_eq!(field(attempts[0], "server.port"), Some("1"));
    assert_eq!(field(attempts[0], "http.response.status_code"), None);
    assert_eq!(field(attempts[1], "http.response.status_code"), Some("200"));
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.span == Some(op.id))
        .filter_map(|e| e.fields.get("convoai.event").map(String::as_str))
        .collect();
    assert_eq!(kinds, ["failover", "retry"]);
    let failover = events
        .iter()
        .find(|e| e.fields.get("convoai.event").map(String::as_str) == Some("failover"))
        .unwrap();
    assert_eq!(
        failover.fields.get("error.type").map(String::as_str),
        Some("connect")
    );
}
