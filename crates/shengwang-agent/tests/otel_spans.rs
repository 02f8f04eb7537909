//! Session operations and webhook receipts as `tracing` spans: `handler` (the caller's) →
//! `convoai.session` → `convoai.request` → `convoai.attempt`, and `convoai.webhook.receive`.
//! The agent id is on session spans, the channel only when the client opts in; no secret and
//! no channel anywhere otherwise. Alone in its test binary: the subscriber is thread-scoped.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::webhooks::{self, Receiver, Signatures, Verifier};
use shengwang_agent::{Client, RetryPolicy};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Instrument, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
const VENDOR_KEY: &str = "SENTINEL-VENDOR-KEY";
const WEBHOOK_SECRET: &str = "SENTINEL-WEBHOOK-SECRET";
const CHANNEL: &str = "SENTINEL-CHANNEL";

#[derive(Debug, Clone)]
struct SpanRec {
    id: u64,
    name: String,
    target: String,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

/// Records every span: name, fields (as recorded later too) and parent.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<SpanRec>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}").replace('"', "");
        self.0.insert(field.name().to_owned(), text);
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
        self.0.lock().unwrap().push(SpanRec {
            id: id.into_u64(),
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            parent,
            fields,
        });
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        // Ids are reused after a span closes: the latest span with the id is the live one.
        if let Some(span) = spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
}

impl Recorder {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }
    /// The SDK's spans and the test's own `handler` spans.
    fn spans(&self) -> Vec<SpanRec> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.target.starts_with("shengwang_agent") || s.name == "handler")
            .cloned()
            .collect()
    }
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

fn agent() -> Agent {
    Agent::new()
        .with_llm(
            Llm::aliyun("https://llm.example/v1/chat/completions")
                .api_key(VENDOR_KEY)
                .model("qwen-max"),
        )
        .unwrap()
        .with_tts(StepFunTts::new(VENDOR_KEY, "step-tts-mini", "voice"))
        .unwrap()
}

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_certificate(CERT)
        .spawn()
        .await
        .unwrap()
}

fn client(emu: &EmulatorHandle, trace_channels: bool) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(CERT)
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .trace_channels(trace_channels)
        .build()
        .unwrap()
}

/// Every field of every span, for the sentinel checks.
fn all_fields(spans: &[SpanRec]) -> String {
    spans
        .iter()
        .map(|s| format!("{} {:?}\n", s.name, s.fields))
        .collect()
}

#[tokio::test]
async fn each_session_operation_is_a_span_around_its_rest_calls() {
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let emu = emulator().await;
    let c = client(&emu, false);
    let s = agent()
        .create_session(&c, CHANNEL, AgentUid::from(1001), [RemoteUid::from(2002)])
        .build();
    let id = async {
        let id = s.start().await?;
        s.wait_ready(Duration::from_secs(10)).await?;
        s.say("hello").send().await?;
        s.think("the user asks").send().await?;
        s.interrupt().await?;
        s.update().send().await?;
        s.renew_token(Duration::from_secs(600)).await?;
        s.stop().await?;
        Ok::<_, shengwang_agent::Error>(id)
    }
    .instrument(tracing::info_span!("handler"))
    .await
    .unwrap();

    let spans = recorder.spans();
    let handler = spans.iter().find(|s| s.name == "handler").unwrap();
    let ops = children(&spans, handler);
    let names: Vec<_> = ops
        .iter()
        .map(|s| field(s, "convoai.operation").unwrap_or("?"))
        .collect();
    assert_eq!(
        names,
        [
            "start",
            "wait_ready",
            "say",
            "think",
            "interrupt",
            "update",
            "renew_token",
            "stop"
        ],
        "one session span per operation, under the caller's: {ops:#?}"
    );
    for op in &ops {
        assert_eq!(op.name, "convoai.session");
        assert_eq!(field(op, "convoai.agent_id"), Some(id.as_str()), "{op:#?}");
        assert_eq!(
            field(op, "convoai.channel"),
            None,
            "the channel only on request"
        );
        assert_eq!(field(op, "error.type"), None);
    }
    // handler → convoai.session → convoai.request → convoai.attempt.
    let start = ops[0];
    let requests = children(&spans, start);
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].name, "convoai.request");
    assert_eq!(
        field(requests[0], "convoai.operation"),
        Some("agents.start")
    );
    let attempts = children(&spans, requests[0]);
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].name, "convoai.attempt");
    assert_eq!(field(attempts[0], "http.response.status_code"), Some("200"));
    let stop = ops[7];
    let stops = children(&spans, stop);
    assert!(stops.iter().all(|r| r.name == "convoai.request"));
    assert!(stops
        .iter()
        .any(|r| field(r, "convoai.operation") == Some("agents.stop")));
    let say = children(&spans, ops[2]);
    assert_eq!(field(say[0], "convoai.operation"), Some("agents.speak"));

    let all = all_fields(&spans);
    for sentinel in [CERT, VENDOR_KEY, CHANNEL, "007eJx"] {
        assert!(!all.contains(sentinel), "{sentinel} recorded:\n{all}");
    }
}

#[tokio::test]
async fn the_channel_is_traced_only_when_the_client_opts_in_and_failures_are_typed() {
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let emu = emulator().await;
    let c = client(&emu, true);
    let s = agent()
        .create_session(&c, CHANNEL, AgentUid::from(1001), [RemoteUid::from(2002)])
        .build();
    let id = async { s.start().await }
        .instrument(tracing::info_span!("handler"))
        .await
        .unwrap();
    // A resumed session's span names the agent; a stop refused by the state table is a
    // session span with its error and no REST call.
    let resumed = async {
        agent()
            .create_session(&c, CHANNEL, AgentUid::from(1001), [RemoteUid::from(2002)])
            .resume(id.clone())
            .await
    }
    .instrument(tracing::info_span!("handler"))
    .await
    .unwrap();
    resumed.stop().await.unwrap();
    assert!(async { resumed.say("late").send().await }
        .instrument(tracing::info_span!("handler"))
        .await
        .is_err());

    let spans = recorder.spans();
    let sessions: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "convoai.session")
        .collect();
    assert!(
        sessions
            .iter()
            .all(|s| field(s, "convoai.channel") == Some(CHANNEL)),
        "{sessions:#?}"
    );
    let resume = sessions
        .iter()
        .find(|s| field(s, "convoai.operation") == Some("resume"))
        .expect("a resume span");
    assert_eq!(field(resume, "convoai.agent_id"), Some(id.as_str()));
    let refused = sessions
        .iter()
        .find(|s| field(s, "convoai.operation") == Some("say"))
        .expect("a say span");
    assert_eq!(field(refused, "error.type"), Some("other"));
    assert!(children(&spans, refused).is_empty(), "nothing was sent");
    let all = all_fields(&spans);
    assert!(!all.contains(CERT) && !all.contains(VENDOR_KEY));
}

#[tokio::test]
async fn a_webhook_receipt_is_a_span_under_the_callers() {
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let receiver = Receiver::new(Verifier::new(WEBHOOK_SECRET));
    let body = format!(
        r#"{{"noticeId":"n-1","productId":17,"eventType":102,"notifyMs":1,"payload":{{"agent_id":"A1","name":"n","channel":"{CHANNEL}","status":"STOPPED"}}}}"#
    );
    let sig = webhooks::sign_v2(WEBHOOK_SECRET.as_bytes(), body.as_bytes());
    let sigs = || Signatures {
        v2: Some(sig.as_str()),
        v1: None,
    };
    for _ in 0..2 {
        async { receiver.receive(sigs(), body.as_bytes()).await }
            .instrument(tracing::info_span!("handler"))
            .await
            .unwrap();
    }
    let forged = Signatures {
        v2: Some("00"),
        v1: None,
    };
    assert!(receiver.receive(forged, body.as_bytes()).await.is_err());

    let spans = recorder.spans();
    let handlers: Vec<_> = spans.iter().filter(|s| s.name == "handler").collect();
    let outcomes: Vec<_> = handlers
        .iter()
        .map(|h| {
            let c = children(&spans, h);
            assert_eq!(c.len(), 1);
            assert_eq!(c[0].name, "convoai.webhook.receive");
            assert_eq!(field(c[0], "convoai.event"), Some("agent_left"));
            field(c[0], "convoai.outcome").unwrap().to_owned()
        })
        .collect();
    assert_eq!(outcomes, ["new", "duplicate"]);
    let rejected = spans
        .iter()
        .find(|s| s.name == "convoai.webhook.receive" && s.parent.is_none())
        .unwrap();
    assert_eq!(field(rejected, "convoai.outcome"), Some("rejected"));
    assert_eq!(field(rejected, "error.type"), Some("signature"));
    let all = all_fields(&spans);
    for sentinel in [WEBHOOK_SECRET, CHANNEL, sig.as_str()] {
        assert!(!all.contains(sentinel), "{sentinel} recorded:\n{all}");
    }
}
