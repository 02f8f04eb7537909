//! OpenTelemetry metrics (feature `otel`), read back through the SDK's in-memory exporter:
//! one session's life, a retried call, a failover, a 409 resolution, notifications (new,
//! duplicate, rejected, failed) and one turn reported three ways each produce exactly the
//! data points `telemetry` documents. Sentinel secrets, channel names and agent ids appear
//! nowhere in what is exported.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use convoai_emulator::{AgentStatus as EmuStatus, Emulator, EmulatorHandle, Fault, FaultRule};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid, SessionState};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::webhooks::{self, Received, Receiver, Signatures, Verifier};
use shengwang_agent::{Client, RetryPolicy};

const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
const CUSTOMER_SECRET: &str = "SENTINEL-CUSTOMER-SECRET";
const VENDOR_KEY: &str = "SENTINEL-VENDOR-KEY";
const WEBHOOK_SECRET: &str = "SENTINEL-WEBHOOK-SECRET";
const CHANNEL: &str = "SENTINEL-CHANNEL";
const SENTINELS: [&str; 5] = [CERT, CUSTOMER_SECRET, VENDOR_KEY, WEBHOOK_SECRET, CHANNEL];

/// One data point: its attributes, and its value (a sum) or count and sum (a histogram).
#[derive(Debug, Clone)]
struct Point {
    attrs: BTreeMap<String, String>,
    value: f64,
    count: u64,
}

/// A meter provider of the test's own (never global) with an in-memory exporter.
struct Metrics {
    provider: SdkMeterProvider,
    exporter: InMemoryMetricExporter,
}

impl Metrics {
    fn new() -> Self {
        let exporter = InMemoryMetricExporter::default();
        let reader = PeriodicReader::builder(exporter.clone()).build();
        let provider = SdkMeterProvider::builder().with_reader(reader).build();
        Metrics { provider, exporter }
    }

    fn meter(&self) -> opentelemetry::metrics::Meter {
        self.provider.meter("shengwang-agent-test")
    }

    /// The latest export (cumulative), with the sentinel and agent id check applied to all
    /// of it.
    fn collect(&self, ids: &[&str]) -> BTreeMap<String, Vec<Point>> {
        self.provider.force_flush().unwrap();
        let all = self.exporter.get_finished_metrics().unwrap();
        let last: &ResourceMetrics = all.last().expect("an export");
        let text = format!("{last:?}");
        for s in SENTINELS.iter().chain(ids) {
            assert!(!text.contains(s), "{s} in the exported metrics: {text}");
        }
        let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for scope in last.scope_metrics() {
            for metric in scope.metrics() {
                out.entry(metric.name().to_owned())
                    .or_default()
                    .extend(points(metric.data()));
            }
        }
        out
    }
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> BTreeMap<String, String> {
    kvs.map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

fn points(data: &AggregatedMetrics) -> Vec<Point> {
    fn of<T: Copy>(d: &MetricData<T>, f: impl Fn(T) -> f64) -> Vec<Point> {
        match d {
            MetricData::Sum(s) => s
                .data_points()
                .map(|p| Point {
                    attrs: attrs(p.attributes()),
                    value: f(p.value()),
                    count: 1,
                })
                .collect(),
            MetricData::Histogram(h) => h
                .data_points()
                .map(|p| Point {
                    attrs: attrs(p.attributes()),
                    value: f(p.sum()),
                    count: p.count(),
                })
                .collect(),
            _ => panic!("only sums and histograms are used"),
        }
    }
    match data {
        AggregatedMetrics::F64(d) => of(d, |v| v),
        AggregatedMetrics::U64(d) => of(d, |v| v as f64),
        AggregatedMetrics::I64(d) => of(d, |v| v as f64),
    }
}

/// Points of `name` whose attributes include every pair of `want`.
fn pick<'a>(
    m: &'a BTreeMap<String, Vec<Point>>,
    name: &str,
    want: &[(&str, &str)],
) -> Vec<&'a Point> {
    m.get(name)
        .map(|v| {
            v.iter()
                .filter(|p| {
                    want.iter()
                        .all(|(k, w)| p.attrs.get(*k).map(String::as_str) == Some(*w))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The sum of the values (counters) of the matching points.
fn total(m: &BTreeMap<String, Vec<Point>>, name: &str, want: &[(&str, &str)]) -> f64 {
    pick(m, name, want).iter().map(|p| p.value).sum()
}

/// The number of measurements (histograms) of the matching points.
fn count(m: &BTreeMap<String, Vec<Point>>, name: &str, want: &[(&str, &str)]) -> u64 {
    pick(m, name, want).iter().map(|p| p.count).sum()
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
        .customer("cust", CUSTOMER_SECRET)
        .spawn()
        .await
        .unwrap()
}

fn retries(n: u32) -> RetryPolicy {
    RetryPolicy::none()
        .max_retries(n)
        .base_delay(Duration::from_millis(2))
        .max_retry_after(Duration::from_millis(20))
}

fn client(emu: &EmulatorHandle, metrics: &Metrics, retry: RetryPolicy) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(CERT)
        .base_url(emu.base_url())
        .retry(retry)
        .meter(metrics.meter())
        .build()
        .unwrap()
}

#[tokio::test]
async fn one_session_life_starts_once_and_leaves_no_live_count() {
    let emu = emulator().await;
    let metrics = Metrics::new();
    let c = client(&emu, &metrics, retries(0));
    let s = agent()
        .create_session(&c, CHANNEL, AgentUid::from(1001), [RemoteUid::from(2002)])
        .build();
    let id = s.start().await.unwrap();
    // The agent-joined notice measures readiness; the wait that reads it does not again.
    let joined = envelope(
        "j-1",
        101,
        &format!(
            r#"{{"agent_id":"{id}","name":"{}","channel":"{CHANNEL}"}}"#,
            s.name()
        ),
    );
    let n = webhooks::parse(joined.as_bytes()).unwrap();
    c.sessions().apply_notification(&n).await.unwrap();
    let ready = s
        .wait_ready(Duration::from_secs(10))
        .notices(true)
        .await
        .unwrap();
    assert_eq!(ready.agent_id, id);
    s.say("hello").send().await.unwrap();
    let m = metrics.collect(&[&id]);
    assert_eq!(
        total(&m, "convoai.sessions.live", &[("state", "running")]),
        1.0
    );
    s.stop().await.unwrap();
    assert_eq!(s.status(), SessionState::Stopped);

    // A second session dropped while its agent runs: its stop runs on the client's runtime.
    let dropped = agent()
        .create_session(&c, CHANNEL, AgentUid::from(1003), [RemoteUid::from(2002)])
        .stop_on_drop(true)
        .build();
    let dropped_id = dropped.start().await.unwrap();
    drop(dropped);
    let stopped = || {
        emu.agents()
            .iter()
            .any(|a| a.agent_id == dropped_id && a.status == EmuStatus::Stopped)
    };
    for _ in 0..500 {
        if stopped() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stopped(), "the dropped session's agent is stopped");
    let report = c.sessions().shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");

    let m = metrics.collect(&[&id, &dropped_id]);
    let start = pick(&m, "convoai.session.start.duration", &[]);
    assert_eq!(
        count(&m, "convoai.session.start.duration", &[("outcome", "ok")]),
        2,
        "{start:?}"
    );
    assert_eq!(start.len(), 1, "one attribute set: {start:?}");
    assert_eq!(
        count(&m, "convoai.session.ready.duration", &[("outcome", "ok")]),
        1
    );
    assert_eq!(count(&m, "convoai.session.ready.duration", &[]), 1);
    let live = pick(&m, "convoai.sessions.live", &[]);
    assert!(
        live.iter().any(|p| p.attrs["state"] == "starting"),
        "{live:?}"
    );
    assert!(
        live.iter().all(|p| p.value == 0.0),
        "back to 0 in every state: {live:?}"
    );
    assert!(!live
        .iter()
        .any(|p| p.attrs["state"] == "idle" || p.attrs["state"] == "stopped"));
    // Per attempt: two joins, a speak, two leaves, and the status reads of wait_ready.
    let joins = pick(
        &m,
        "http.client.request.duration",
        &[("convoai.operation", "agents.start")],
    );
    assert_eq!(joins.iter().map(|p| p.count).sum::<u64>(), 2);
    assert_eq!(joins[0].attrs["http.request.method"], "POST");
    assert_eq!(joins[0].attrs["http.response.status_code"], "200");
    assert!(!joins[0].attrs.contains_key("error.type"));
    assert_eq!(
        count(
            &m,
            "http.client.request.duration",
            &[("convoai.operation", "agents.speak")]
        ),
        1
    );
    let stops = pick(
        &m,
        "http.client.request.duration",
        &[("convoai.operation", "agents.stop")],
    );
    assert_eq!(
        stops.iter().map(|p| p.count).sum::<u64>(),
        2,
        "{stops:?} {:?}",
        emu.agents()
    );
    assert!(
        !m.contains_key("convoai.client.errors"),
        "no errors: {:?}",
        m.get("convoai.client.errors")
    );
    assert!(!m.contains_key("convoai.client.retries"));
}

#[tokio::test]
async fn a_retried_call_counts_one_retry_and_two_attempts() {
    let emu = emulator().await;
    let metrics = Metrics::new();
    let c = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(CERT)
        .basic("cust", CUSTOMER_SECRET)
        .base_url(emu.base_url())
        .retry(retries(3))
        .meter(metrics.meter())
        .build()
        .unwrap();
    let req = support::start_request(&emu, "retried", VENDOR_KEY);
    let id = c.agents().start(&req).await.unwrap().agent_id.clone();
    emu.push_fault(FaultRule::new(Fault::status(503)).method("GET").times(1));
    c.agents().get(&id).await.unwrap();

    let m = metrics.collect(&[&id]);
    let retried = pick(
        &m,
        "convoai.client.retries",
        &[("convoai.operation", "agents.get")],
    );
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert_eq!(retried[0].value, 1.0);
    assert_eq!(total(&m, "convoai.client.retries", &[]), 1.0);
    let reason = retried[0].attrs["reason"].clone();
    let gets = pick(
        &m,
        "http.client.request.duration",
        &[("convoai.operation", "agents.get")],
    );
    assert_eq!(gets.iter().map(|p| p.count).sum::<u64>(), 2, "{gets:?}");
    let failed = pick(
        &m,
        "http.client.request.duration",
        &[("http.response.status_code", "503")],
    );
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].attrs["error.type"], reason,
        "the retry's reason is the attempt's error"
    );
    assert!(
        !m.contains_key("convoai.client.errors"),
        "the call succeeded"
    );

    // A call that fails after every attempt is one error.
    emu.push_fault(FaultRule::new(Fault::status(400)).method("GET").times(1));
    assert!(c.agents().get(&id).await.is_err());
    let m = metrics.collect(&[&id]);
    let errors = pick(
        &m,
        "convoai.client.errors",
        &[("convoai.operation", "agents.get")],
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].value, 1.0);
}

#[tokio::test]
async fn a_failover_is_counted_by_area() {
    let emu = emulator().await;
    let metrics = Metrics::new();
    // A port nothing listens on: connections are refused at once.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}/api/conversational-ai-agent")
    };
    let c = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(CERT)
        .base_url(&dead)
        .base_url(emu.base_url())
        .retry(retries(2))
        .meter(metrics.meter())
        .build()
        .unwrap();
    c.agents().list().page().await.unwrap();
    assert_eq!(c.current_base_url(), emu.base_url());

    let m = metrics.collect(&[]);
    assert_eq!(
        total(
            &m,
            "convoai.client.failovers",
            &[("convoai.area", "base_url")]
        ),
        1.0
    );
    assert_eq!(
        total(&m, "convoai.client.retries", &[("reason", "connect")]),
        1.0
    );
    let lists = pick(
        &m,
        "http.client.request.duration",
        &[("convoai.operation", "agents.list")],
    );
    assert_eq!(lists.iter().map(|p| p.count).sum::<u64>(), 2);
    assert!(lists.iter().any(
        |p| p.attrs.get("error.type").map(String::as_str) == Some("connect")
            && !p.attrs.contains_key("http.response.status_code")
    ));
}

#[tokio::test]
async fn a_409_resolution_counts_the_orphan_adopted_or_stopped() {
    let emu = emulator().await;
    let metrics = Metrics::new();
    let c = client(&emu, &metrics, retries(0));
    let join = |f| FaultRule::new(f).path_contains("/join");

    // A start whose answer was lost; the next start's 409 proves the agent is the session's.
    emu.push_fault(join(Fault::DropAfterStateChange));
    let s = agent()
        .create_session(&c, CHANNEL, AgentUid::from(1001), [RemoteUid::from(2002)])
        .build();
    assert!(s.start().await.is_err());
    let adopted = s.start().await.unwrap();
    s.stop().await.unwrap();

    // An unclear start out of retries; the stop finds the agent by the 409 and stops it.
    let c1 = client(&emu, &metrics, retries(1));
    emu.push_fault(join(Fault::StatusAfterStateChange { status: 503 }));
    emu.push_fault(join(Fault::status(504)));
    let s = agent()
        .create_session(&c1, CHANNEL, AgentUid::from(1005), [RemoteUid::from(2002)])
        .build();
    assert!(s.start().await.is_err());
    s.stop().await.unwrap();
    let ids: Vec<String> = emu.agents().into_iter().map(|a| a.agent_id).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();

    let m = metrics.collect(&ids);
    assert!(ids.contains(&adopted.as_str()));
    assert_eq!(
        total(&m, "convoai.agents.orphans", &[("outcome", "adopted")]),
        1.0
    );
    assert_eq!(
        total(&m, "convoai.agents.orphans", &[("outcome", "stopped")]),
        1.0
    );
    assert_eq!(total(&m, "convoai.agents.orphans", &[]), 2.0);
    assert_eq!(
        count(
            &m,
            "convoai.session.start.duration",
            &[("outcome", "error")]
        ),
        2
    );
    assert_eq!(
        count(&m, "convoai.session.start.duration", &[("outcome", "ok")]),
        1
    );
    let live = pick(&m, "convoai.sessions.live", &[]);
    assert!(live.iter().all(|p| p.value == 0.0), "{live:?}");
}

fn envelope(notice: &str, event_type: u32, payload: &str) -> String {
    format!(
        r#"{{"noticeId":"{notice}","productId":17,"eventType":{event_type},"notifyMs":1,"payload":{payload}}}"#
    )
}

fn signed(body: &str) -> String {
    webhooks::sign_v2(WEBHOOK_SECRET.as_bytes(), body.as_bytes())
}

#[tokio::test]
async fn notifications_are_counted_by_event_and_outcome() {
    let metrics = Metrics::new();
    let receiver = Receiver::new(Verifier::new(WEBHOOK_SECRET)).meter(metrics.meter());
    let emu = emulator().await;
    let c = client(&emu, &metrics, retries(0));
    let payload = format!(
        r#"{{"agent_id":"AGENT-SENTINEL-ID","name":"n","channel":"{CHANNEL}","status":"STOPPED"}}"#
    );
    let body = envelope("n-1", 102, &payload);
    let sig = signed(&body);
    let sigs = || Signatures {
        v2: Some(sig.as_str()),
        v1: None,
    };
    let Received::New(n) = receiver.receive(sigs(), body.as_bytes()).await.unwrap() else {
        panic!("first delivery is new")
    };
    c.sessions().apply_notification(&n).await.unwrap();
    assert!(receiver
        .receive(sigs(), body.as_bytes())
        .await
        .unwrap()
        .is_duplicate());
    // The same notice handed to the hub twice (a receiver without its own de-duplication).
    c.sessions().apply_notification(&n).await.unwrap();
    let forged = Signatures {
        v2: Some("00"),
        v1: None,
    };
    assert!(receiver.receive(forged, body.as_bytes()).await.is_err());
    receiver.release(&n).await.unwrap();

    let m = metrics.collect(&["AGENT-SENTINEL-ID"]);
    let name = "convoai.webhook.notifications";
    let left = |o| total(&m, name, &[("convoai.event", "agent_left"), ("outcome", o)]);
    assert_eq!(left("handled"), 1.0);
    assert_eq!(
        left("duplicate"),
        2.0,
        "one from the receiver, one from the hub"
    );
    assert_eq!(left("failed"), 1.0);
    assert_eq!(
        total(
            &m,
            name,
            &[("convoai.event", "unknown"), ("outcome", "rejected")]
        ),
        1.0
    );
    assert_eq!(total(&m, name, &[]), 5.0);
}

#[tokio::test]
async fn a_turn_is_counted_once_per_stage_whatever_reports_it() {
    let emu = emulator().await;
    let metrics = Metrics::new();
    let c = client(&emu, &metrics, retries(0));
    let s = agent()
        .create_session(&c, CHANNEL, AgentUid::from(1001), [RemoteUid::from(2002)])
        .build();
    let id = s.start().await.unwrap();
    s.say("Here is the weather.").send().await.unwrap();
    let common = format!(r#""agent_id":"{id}","name":"n","channel":"{CHANNEL}""#);
    // 111 for turn 1: asr, llm, tts.
    let metrics_notice = envelope(
        "m-1",
        111,
        &format!(
            r#"{{{common},"metrics":[{{"turn_id":1,"asr_ttlw":120,"llm_ttfb":340,"llm_ttfs":500,"tts_ttfb":210}}]}}"#
        ),
    );
    // 112 for the same turn (id as a string): adds end_to_end and other; its llm, asr and tts
    // were counted already.
    let finished_notice = envelope(
        "m-2",
        112,
        &format!(
            r#"{{{common},"turns":[{{"turn_id":"1","metrics":{{"e2e_latency_ms":900,"segmented_latency_ms":{{"algorithm_processing":30,"asr_ttlw":999,"llm_ttft":999,"llm_ftfs":999,"tts_ttfb":999}}}}}}]}}"#
        ),
    );
    for body in [&metrics_notice, &finished_notice, &metrics_notice] {
        let n = webhooks::parse(body.as_bytes()).unwrap();
        c.sessions().apply_notification(&n).await.unwrap();
    }
    // The same turn again from /turns (twice: a page, then all).
    let turns = s.all_turns().await.unwrap();
    assert_eq!(turns.turns[0].turn_id, Some(1));
    assert!(turns.turns[0].e2e_latency_ms().is_some());
    s.turns(1).await.unwrap();
    s.stop().await.unwrap();

    let m = metrics.collect(&[&id]);
    let stage = |st| pick(&m, "convoai.turn.latency", &[("stage", st)]);
    for (st, seconds) in [
        ("asr", 0.120),
        ("llm", 0.340),
        ("tts", 0.210),
        ("end_to_end", 0.900),
        ("other", 0.030),
    ] {
        let p = stage(st);
        assert_eq!(p.len(), 1, "{st}: {p:?}");
        assert_eq!(p[0].count, 1, "{st} counted once");
        assert!(
            (p[0].value - seconds).abs() < 1e-9,
            "{st}: the first report counts: {p:?}"
        );
    }
    assert_eq!(count(&m, "convoai.turn.latency", &[]), 5);
}
