//! A real Prometheus (Debian's `prometheus`) scrapes a `convoai serve` process that runs
//! against an in-process emulator; the test queries Prometheus's HTTP API for the values it
//! caused, then checks that every query of the Grafana dashboard in `docs/grafana/` names a
//! metric this scrape saw. Without `prometheus` the test is reported as ignored with the
//! reason (in CI it fails; see the harness).

#[path = "../../convoai-emulator/tests/support/harness.rs"]
mod harness;
#[path = "support/observe.rs"]
mod observe;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use convoai_emulator::{Fault, FaultRule};
use harness::{needs, Missing};
use observe::*;
use serde_json::Value;

const SECRET: &str = "prom-hook-secret-sentinel";
/// Channel names that must never become metric labels.
const CHANNELS: [&str; 3] = [
    "prom-sentinel-chan-a",
    "prom-sentinel-chan-b",
    "prom-sentinel-chan-c",
];
/// How long Prometheus may take to see what the test caused (1 s scrapes, loaded CI machine).
const SCRAPE_WAIT: Duration = Duration::from_secs(60);
/// Dashboard metrics this test does not cause, and why. OpenTelemetry exports a counter only
/// once something was counted, so these names exist only where the event happens:
const NOT_CAUSED_HERE: [(&str, &str); 2] = [
    // a fleet takeover needs the Redis fleet and a dead replica (the fleet's own tests)
    ("convoai_fleet_takeovers_total", "fleet takeovers"),
    // a failover needs an area with several hosts; this test points serve at one base URL
    ("convoai_client_failovers_total", "failovers"),
];

fn main() {
    harness::run(vec![
        needs(
            "prometheus_scrapes_serve_and_the_dashboard_names_only_seen_metrics",
            scrape_test,
        ),
        harness::test(
            "otlp_export_reaches_a_collector_without_secrets_or_channels",
            otlp_export_reaches_a_collector_without_secrets_or_channels,
        ),
        harness::test(
            "promql_names_are_found_outside_labels_and_groups",
            promql_names_are_found_outside_labels_and_groups,
        ),
        harness::ci_definition(),
    ]);
}

/// A Prometheus child process, killed when dropped.
struct Prometheus {
    child: Child,
    api: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, Missing> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Missing::new(format_args!("no free loopback port: {e}")))
}

/// Starts Prometheus scraping `target` (host:port) every second.
fn prometheus(target: &str) -> Result<Prometheus, Missing> {
    let bin = harness::program("PROMETHEUS", &["prometheus"], "apt-get install prometheus")?;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
         - job_name: convoai-serve\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    \
         static_configs:\n      - targets: ['{target}']\n"
    );
    let cfg = support::write(dir.path(), "prometheus.yml", &config);
    let web = format!("127.0.0.1:{}", free_port()?);
    let child = Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Missing::new(format_args!("cannot start prometheus: {e}")))?;
    Ok(Prometheus {
        child,
        api: web,
        _dir: dir,
    })
}

/// Percent-encodes a PromQL query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query's single sample, if there is one.
fn query(prom: &Prometheus, q: &str) -> Option<f64> {
    let path = format!("/api/v1/query?query={}", encode(q));
    // Prometheus may still be starting.
    std::net::TcpStream::connect(&prom.api).ok()?;
    let (status, body) = request(&prom.api, "GET", &path, &[], b"");
    if status != 200 {
        return None;
    }
    let v: Value = serde_json::from_str(&body).ok()?;
    let result = v["data"]["result"].as_array()?;
    let sample = result.first()?;
    sample["value"][1].as_str()?.parse().ok()
}

/// Waits (bounded) until `q` has a value `ok` accepts; that value.
fn wait_for(prom: &Prometheus, q: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + SCRAPE_WAIT;
    loop {
        let value = query(prom, q);
        if let Some(v) = value.filter(|v| ok(*v)) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw the expected value of {q} (last: {value:?})"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Two starts (one stopped again), one retried start request, one failed start, a 111 notice
/// and a rejected notice: what the dashboard's panels show.
fn cause_traffic(emu: &convoai_emulator::EmulatorHandle, srv: &Serve) {
    let [a, b, c] = CHANNELS;
    // The first join answers 503 once: the SDK retries it.
    emu.push_fault(
        FaultRule::new(Fault::Status {
            status: 503,
            retry_after: None,
            retry_after_ms: Some(20),
        })
        .method("POST")
        .path_contains("/join"),
    );
    let id_a = start_agent(&srv.addr, a);
    start_agent(&srv.addr, b);
    let (status, body) = api(&srv.addr, "DELETE", &format!("/v1/channels/{b}/agent"), "");
    assert_eq!(status, 200, "{body}");
    // A start the service refuses: counted as a failed start and a client error.
    emu.push_fault(
        FaultRule::new(Fault::Status {
            status: 400,
            retry_after: None,
            retry_after_ms: None,
        })
        .method("POST")
        .path_contains("/join"),
    );
    let (status, body) = api(&srv.addr, "POST", &format!("/v1/channels/{c}/agent"), "{}");
    assert!(status >= 400, "{status} {body}");
    let metrics = agent_metrics("prom:111", &id_a, a);
    assert_eq!(deliver(&srv.addr, Some(SECRET), &metrics).0, 200);
    assert_eq!(deliver(&srv.addr, Some("wrong"), &metrics).0, 401);
}

/// What a fake OTLP/HTTP collector received: (path, body) per request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector on 127.0.0.1:0 that answers 200 to every POST and keeps what it got.
fn collector() -> (String, Received) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let got = Received::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(WAIT));
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            let (head_len, body_len) = loop {
                let Ok(n) = conn.read(&mut buf) else {
                    break (0, 0);
                };
                if n == 0 {
                    break (0, 0);
                }
                raw.extend_from_slice(&buf[..n]);
                if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    break (end + 4, len);
                }
            };
            while head_len > 0 && raw.len() < head_len + body_len {
                match conn.read(&mut buf) {
                    Ok(n) if n > 0 => raw.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            let path = String::from_utf8_lossy(&raw)
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let body = raw.get(head_len..).unwrap_or_default().to_vec();
            sink.lock().unwrap().push((path, body));
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (addr, got)
}

/// Waits (bounded) until the collector got a request to `path` whose body holds `needle`.
fn wait_export(got: &Received, path: &str, needle: &str) {
    let deadline = Instant::now() + SCRAPE_WAIT;
    loop {
        let seen = got.lock().unwrap().iter().any(|(p, body)| {
            p == path && body.windows(needle.len()).any(|w| w == needle.as_bytes())
        });
        if seen {
            return;
        }
        assert!(Instant::now() < deadline, "no {path} export with {needle}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, serve exports metrics while it runs and its spans
/// (the SDK's inside serve's request spans); neither carries a secret or a channel name.
fn otlp_export_reaches_a_collector_without_secrets_or_channels() {
    let (addr, got) = collector();
    let emu = support::emulator();
    let endpoint = format!("http://{addr}");
    let env = [
        ("SHENGWANG_WEBHOOK_SECRET", SECRET),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
    ];
    let mut srv = serve(&emu, &env, &[]);
    let [a, ..] = CHANNELS;
    let id = start_agent(&srv.addr, a);
    let metrics = agent_metrics("otlp:111", &id, a);
    assert_eq!(deliver(&srv.addr, Some(SECRET), &metrics).0, 200);
    wait_export(&got, "/v1/metrics", "convoai.sessions.live");
    wait_export(&got, "/v1/metrics", "convoai.turn.latency");
    assert!(srv.terminate().success());
    // The batch of spans is sent at the latest on exit.
    wait_export(&got, "/v1/traces", "/v1/channels/{channel}/agent");
    wait_export(&got, "/v1/traces", "agents.start");
    let got = got.lock().unwrap();
    for (path, body) in got.iter() {
        for sentinel in [a, SECRET, API_KEY, VENDOR_KEY, emu.app_certificate()] {
            let found = body
                .windows(sentinel.len())
                .any(|w| w == sentinel.as_bytes());
            assert!(!found, "{sentinel} in an OTLP export to {path}");
        }
    }
}

fn scrape_test() -> Result<(), Missing> {
    // Before anything starts: a missing Prometheus is reported, not half-tested.
    harness::program("PROMETHEUS", &["prometheus"], "apt-get install prometheus")?;
    let emu = support::emulator();
    let srv = serve(&emu, &[("SHENGWANG_WEBHOOK_SECRET", SECRET)], &[]);
    let prom = prometheus(&srv.addr)?;
    cause_traffic(&emu, &srv);
    let (status, text) = request(&srv.addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200, "{text}");
    for sentinel in CHANNELS
        .iter()
        .copied()
        .chain([SECRET, API_KEY, VENDOR_KEY])
    {
        assert!(!text.contains(sentinel), "{sentinel} in /metrics:\n{text}");
    }
    for agent in emu.agents() {
        assert!(
            !text.contains(&agent.agent_id),
            "an agent id in /metrics:\n{text}"
        );
    }
    wait_for(&prom, r#"convoai_sessions_live{state="running"}"#, |v| {
        v == 1.0
    });
    wait_for(
        &prom,
        r#"sum(convoai_session_start_duration_seconds_count{outcome="ok"})"#,
        |v| v == 2.0,
    );
    wait_for(
        &prom,
        "sum(convoai_session_start_duration_seconds_count)",
        |v| v == 3.0,
    );
    wait_for(&prom, "sum(convoai_webhook_notifications_total)", |v| {
        v >= 1.0
    });
    wait_for(
        &prom,
        r#"sum(convoai_webhook_notifications_total{outcome="rejected"})"#,
        |v| v >= 1.0,
    );
    wait_for(&prom, "sum(convoai_turn_latency_seconds_count)", |v| {
        v >= 1.0
    });
    wait_for(
        &prom,
        "sum(http_client_request_duration_seconds_count)",
        |v| v >= 3.0,
    );
    let seen = metric_names(&prom);
    check_dashboard(&dashboard_path(), &seen);
    Ok(())
}

/// Every metric name Prometheus holds.
fn metric_names(prom: &Prometheus) -> BTreeSet<String> {
    let (status, body) = request(&prom.api, "GET", "/api/v1/label/__name__/values", &[], b"");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["data"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

fn dashboard_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana/convoai-dashboard.json")
}

/// Every `expr` of the dashboard names only metrics in `seen` (or in [`NOT_CAUSED_HERE`]).
fn check_dashboard(path: &Path, seen: &BTreeSet<String>) {
    let text = std::fs::read_to_string(path).expect("dashboard readable");
    let dashboard: Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "too few queries: {exprs:?}");
    let allowed: BTreeSet<&str> = NOT_CAUSED_HERE.iter().map(|(n, _)| *n).collect();
    let mut named = BTreeSet::new();
    for expr in &exprs {
        let names = metric_names_in(expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                seen.contains(&name) || allowed.contains(name.as_str()),
                "the dashboard queries {name}, which the scrape never saw (in {expr})"
            );
            named.insert(name);
        }
    }
    // The allow-list is no blanket: each of its names is on the dashboard.
    for name in allowed {
        assert!(
            named.contains(name),
            "{name} is allowed but not on the dashboard"
        );
    }
}

fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", Value::String(e)) => out.push(e.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_exprs(i, out)),
        _ => {}
    }
}

/// PromQL keywords that are not followed by `(` (functions and aggregations always are).
const PROMQL_KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
/// Clauses whose parenthesised list holds label names, not metrics.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

#[derive(Debug, PartialEq)]
enum Token {
    Name(String),
    Punct(char),
}

/// Names and punctuation of a PromQL expression; strings, numbers and `$variables` dropped.
fn tokens(expr: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            while let Some(n) = chars.next() {
                if n == '\\' {
                    chars.next();
                } else if n == c {
                    break;
                }
            }
        } else if c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '$' {
            let mut word = c.to_string();
            while let Some(&n) = chars.peek() {
                if !(n.is_ascii_alphanumeric() || n == '_' || n == ':' || n == '.') {
                    break;
                }
                word.push(n);
                chars.next();
            }
            if !(c.is_ascii_digit() || c == '$') {
                out.push(Token::Name(word));
            }
        } else if !c.is_whitespace() {
            out.push(Token::Punct(c));
        }
    }
    out
}

/// The metric names in one PromQL expression: names outside label matchers `{..}`, ranges
/// `[..]` and label lists (`by (..)`), that are neither functions (followed by `(`) nor
/// keywords.
fn metric_names_in(expr: &str) -> BTreeSet<String> {
    let toks = tokens(expr);
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut depth = 0; // inside {} or []
    while i < toks.len() {
        match &toks[i] {
            Token::Punct('{' | '[') => depth += 1,
            Token::Punct('}' | ']') => depth -= 1,
            Token::Name(_) if depth > 0 => {}
            Token::Name(n) if LABEL_LISTS.contains(&n.as_str()) => {
                if toks.get(i + 1) == Some(&Token::Punct('(')) {
                    while i < toks.len() && toks[i] != Token::Punct(')') {
                        i += 1;
                    }
                }
            }
            Token::Name(n) => {
                // A function call, or an aggregation with its clause first (`sum by (..) (..)`).
                let call = match toks.get(i + 1) {
                    Some(Token::Punct('(')) => true,
                    Some(Token::Name(next)) => LABEL_LISTS.contains(&next.as_str()),
                    _ => false,
                };
                if !call && !PROMQL_KEYWORDS.contains(&n.as_str()) {
                    names.insert(n.clone());
                }
            }
            Token::Punct(_) => {}
        }
        i += 1;
    }
    names
}

fn promql_names_are_found_outside_labels_and_groups() {
    let names = |e: &str| metric_names_in(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.95, sum by (le, stage) (rate(convoai_turn_latency_seconds_bucket{stage="llm"}[$__rate_interval])))"#
        ),
        ["convoai_turn_latency_seconds_bucket"]
    );
    assert_eq!(
        names(
            r#"sum by (convoai_event, outcome) (increase(convoai_webhook_notifications_total[5m])) / on() group_left $quota or vector(0)"#
        ),
        ["convoai_webhook_notifications_total"]
    );
    assert_eq!(
        names(r#"sum(a_total{x="y"}) / sum without (le) (b_count offset 5m) > bool 0.5"#),
        ["a_total", "b_count"]
    );
}
