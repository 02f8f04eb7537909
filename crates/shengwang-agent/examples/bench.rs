//! Benchmark driver for `bench/run.sh` (prints one JSON object per run).
//!
//! - `bench lifecycle sdk|raw SESSIONS CONCURRENCY`: full sessions (start → say → history →
//!   stop) in app-credentials mode (a header token per session channel, as the SDK caches
//!   them), through the SDK or through a bare reqwest loop sending the same requests (the
//!   ceiling).
//! - `bench paired ROUNDS SLICE CONCURRENCY`: the SDK and the raw loop, in app-credentials
//!   and Basic mode and over HTTP/2, plus a control, all in one process taking turns slice by slice (see
//!   [`paired`]). Target `sdk_otel` is `sdk_app` with OpenTelemetry metrics on: this example
//!   is built with the `otel` feature (a dev-dependency feature), so every SDK target has it
//!   compiled in; the others record into the global meter with no provider installed (the
//!   no-op an application without OpenTelemetry gets), `sdk_otel` into an SDK
//!   `MeterProvider` with a periodic reader exporting every second to an in-memory exporter.
//! - `bench memory SESSIONS`: bytes held per live started `Session`.
//! - `bench cold`: one start and stop, for process-start-to-first-start timing.
//!
//! Reads `EMU_BASE` (base URL), `EMU_APP_ID` and `EMU_APP_CERTIFICATE`, and optionally:
//! `EMU_CA` (a CA PEM file to trust, for an `https://` base), `EMU_AUTH=basic` (Basic auth
//! with `EMU_CUSTOMER_ID`/`EMU_CUSTOMER_SECRET` instead of a token per request) and
//! `EMU_HTTP2=1` (allow HTTP/2; otherwise both the SDK and the raw loop use HTTP/1.1).
//! `paired` reads `EMU_CUSTOMER_ID`/`EMU_CUSTOMER_SECRET` always, and `EMU_ADMIN` and
//! `EMU_PID` (the emulator's process id, for its CPU time per session) if set.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;
use shengwang_agent::agentkit::Agent;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::vendors::{FengmingStt, Llm, MiniMaxTts};
use shengwang_agent::Client;

/// A meter provider with an exporter attached, as an application running OpenTelemetry has:
/// a periodic reader exporting every second (to memory, cleared each round).
fn otel_provider() -> (
    opentelemetry_sdk::metrics::SdkMeterProvider,
    opentelemetry_sdk::metrics::InMemoryMetricExporter,
) {
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    let exporter = InMemoryMetricExporter::default();
    let reader = PeriodicReader::builder(exporter.clone())
        .with_interval(Duration::from_secs(1))
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    (provider, exporter)
}

/// Counts live heap bytes, so memory per session is exact rather than RSS noise.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"))
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4)
        .unwrap_or(0)
}

/// CPU time this process has used (user + system), from `/proc/self/stat`, in µs.
fn cpu_us() -> u64 {
    cpu_us_of("self")
}

/// CPU time the emulator has used, when `EMU_PID` names its process (same clock as
/// [`cpu_us`]).
fn server_cpu_us() -> Option<u64> {
    std::env::var("EMU_PID").ok().map(|pid| cpu_us_of(&pid))
}

/// CPU time this process's live threads have used, in ns, from each thread's
/// `/proc/self/task/*/schedstat` (nanoseconds, where `/proc/self/stat` counts 10 ms ticks: too
/// coarse for one slice); 0 where the file is missing. For the per-slice CPU ratios.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn cpu_us_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) start at state.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks * 10_000) // USER_HZ is 100 on Linux
        })
        .unwrap_or(0)
}

fn ca() -> Option<Vec<u8>> {
    std::env::var("EMU_CA")
        .ok()
        .map(|path| std::fs::read(path).expect("EMU_CA file"))
}

fn basic_auth() -> Option<(String, String)> {
    (std::env::var("EMU_AUTH").as_deref() == Ok("basic"))
        .then(|| (env("EMU_CUSTOMER_ID"), env("EMU_CUSTOMER_SECRET")))
}

fn http2() -> bool {
    std::env::var("EMU_HTTP2").as_deref() == Ok("1")
}

fn client() -> Client {
    client_with(basic_auth(), http2())
}

fn client_with(basic: Option<(String, String)>, http2: bool) -> Client {
    client_builder(basic, http2).build().expect("client")
}

fn client_builder(basic: Option<(String, String)>, http2: bool) -> shengwang_agent::ClientBuilder {
    let mut b = Client::builder()
        .app_id(env("EMU_APP_ID"))
        .app_certificate(env("EMU_APP_CERTIFICATE"))
        .base_url(env("EMU_BASE"))
        .http2(http2);
    if let Some(pem) = ca() {
        b = b.add_root_certificate(pem);
    }
    if let Some((id, secret)) = basic {
        b = b.basic(id, secret);
    }
    b
}

/// The raw loop's client: what a careful hand-written integration would use.
fn raw_http(pool: usize) -> reqwest::Client {
    raw_http_with(pool, http2())
}

fn raw_http_with(pool: usize, http2: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder().pool_max_idle_per_host(pool);
    if !http2 {
        b = b.http1_only();
    }
    if let Some(pem) = ca() {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("EMU_CA pem"));
    }
    b.build().expect("http")
}

fn agent() -> Agent {
    Agent::new()
        .with_instructions("You are helpful.")
        .with_llm(
            Llm::aliyun("https://llm.example/v1/chat/completions")
                .api_key("sk")
                .model("qwen-max"),
        )
        .expect("llm")
        .with_tts(MiniMaxTts::new(
            "mm-key",
            "speech-02-turbo",
            "female-shaonv",
        ))
        .expect("tts")
        .with_stt(FengmingStt::new())
        .expect("stt")
}

async fn sdk_session(client: &Client, agent: &Agent, i: usize) -> bool {
    let s = agent
        .create_session(
            client,
            format!("bench-{i}"),
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
        )
        .build();
    s.start().await.is_ok()
        && s.say("hello").send().await.is_ok()
        && s.history().await.is_ok()
        && s.stop().await.is_ok()
}

async fn raw_session(
    http: &reqwest::Client,
    tokens: &TokenBuilder,
    base: &str,
    app_id: &str,
    basic: Option<&str>,
    pad: Option<&str>,
    i: usize,
) -> bool {
    let channel = format!("bench-{i}");
    // One header token per session, reused for its four requests: what the SDK's per-identity
    // token cache amounts to here (each session is its own channel).
    let header = match basic {
        Some(header) => header.to_owned(),
        None => format!(
            "agora token={}",
            tokens
                .convo_ai(&channel, "1001")
                .build()
                .unwrap_or_default()
        ),
    };
    let auth = || header.clone();
    // A filler header as long as a token, for measuring what the bytes alone cost.
    let padded = |rb: reqwest::RequestBuilder| match pad {
        Some(p) => rb.header("x-padding", p),
        None => rb,
    };
    let body = json!({"name": format!("raw-{i}-{}", std::process::id()), "properties": {
        "channel": channel, "token": tokens.convo_ai(&channel, "1001").build().unwrap_or_default(),
        "agent_rtc_uid": "1001", "remote_rtc_uids": ["2002"],
        "llm": {"url": "https://llm.example/v1/chat/completions", "api_key": "sk",
                "system_messages": [{"role": "system", "content": "You are helpful."}], "params": {"model": "qwen-max"}, "vendor": "aliyun"},
        "tts": {"vendor": "minimax", "params": {"key": "mm-key", "model": "speech-02-turbo", "voice_setting": {"voice_id": "female-shaonv"}, "url": "wss://api.minimax.chat/ws/v1/t2a_v2"}},
        "asr": {"vendor": "fengming", "language": "zh-CN", "params": {}}}});
    let Ok(r) = padded(http.post(format!("{base}/v2/projects/{app_id}/join")))
        .header("authorization", auth())
        .json(&body)
        .send()
        .await
    else {
        return false;
    };
    let Ok(v) = r.json::<serde_json::Value>().await else {
        return false;
    };
    let Some(id) = v["agent_id"].as_str() else {
        return false;
    };
    let agent = format!("{base}/v2/projects/{app_id}/agents/{id}");
    // Read and parse every answer before the next call, as the SDK does (and as any careful
    // integration would before trusting it), so both loops do the same work per request.
    // (The leave answer is an empty 200: read, not parsed, as the SDK does.)
    async fn ok(r: Result<reqwest::Response, reqwest::Error>) -> bool {
        match r {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(b) if b.is_empty() => true,
                Ok(b) => serde_json::from_slice::<serde_json::Value>(&b).is_ok(),
                Err(_) => false,
            },
            _ => false,
        }
    }
    ok(padded(http.post(format!("{agent}/speak")))
        .header("authorization", auth())
        .json(&json!({"text": "hello"}))
        .send()
        .await)
    .await
        && ok(padded(http.get(format!("{agent}/history")))
            .header("authorization", auth())
            .send()
            .await)
        .await
        && ok(padded(http.post(format!("{agent}/leave")))
            .header("authorization", auth())
            .send()
            .await)
        .await
}

async fn lifecycle(mode: &str, n: usize, concurrency: usize) -> serde_json::Value {
    let client = client();
    let agent = agent();
    let http = raw_http(concurrency);
    let basic = basic_auth().map(|(id, secret)| basic_header(&id, &secret));
    let basic = basic.as_deref();
    let tokens = TokenBuilder::new(env("EMU_APP_ID"), env("EMU_APP_CERTIFICATE")).expect("tokens");
    let (base, app_id) = (env("EMU_BASE"), env("EMU_APP_ID"));
    let (started, cpu0) = (Instant::now(), cpu_us());
    let results: Vec<(bool, Duration)> = stream::iter(0..n)
        .map(|i| {
            let (client, agent, http, tokens, base, app_id) =
                (&client, &agent, &http, &tokens, &base, &app_id);
            async move {
                let t = Instant::now();
                let ok = if mode == "raw" {
                    raw_session(http, tokens, base, app_id, basic, None, i).await
                } else {
                    sdk_session(client, agent, i).await
                };
                (ok, t.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_us().saturating_sub(cpu0);
    let mut lat: Vec<f64> = results.iter().map(|r| r.1.as_secs_f64() * 1000.0).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    json!({"mode": mode, "sessions": n, "concurrency": concurrency,
           "auth": if basic.is_some() { "basic" } else { "app-credentials" },
           "tls": ca().is_some(), "http2": http2(),
           "errors": results.iter().filter(|r| !r.0).count(),
           "sessions_per_s": n as f64 / elapsed, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
           "client_cpu_us_per_session": cpu as f64 / n as f64})
}

/// The emulator's TCP connection and TLS handshake counters (`GET /_emulator/connections`).
async fn counters(http: &reqwest::Client, root: &str) -> (u64, u64) {
    let v: serde_json::Value = http
        .get(format!("{root}/_emulator/connections"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("emulator counters")
        .json()
        .await
        .expect("emulator counters JSON");
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    (n("connections"), n("tls_handshakes"))
}

fn basic_header(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// One side of the paired comparison: who sends the sessions, how they authenticate, and
/// which HTTP version they may use.
struct Target {
    name: &'static str,
    raw: bool,
    basic: bool,
    http2: bool,
    padded: bool,
    client: Client,
    http: reqwest::Client,
    latencies_ms: Vec<f64>,
    slices: Vec<f64>,
    /// Client CPU per session in each slice (µs, from `cpu_ns`).
    cpu_slices: Vec<f64>,
    seconds: f64,
    cpu_us: u64,
    server_cpu_us: u64,
    connections: u64,
    handshakes: u64,
    errors: usize,
}

/// Every target in one process, taking turns: each round runs one slice of `slice` sessions
/// per target, in forward order on even rounds and reverse order on odd ones, so drift in the
/// machine's speed (other tenants, frequency) falls on all targets alike. Ratios are then
/// taken within a round, between slices that ran a fraction of a second apart.
async fn paired(rounds: usize, slice: usize, concurrency: usize) -> serde_json::Value {
    let agent = agent();
    let creds = || (env("EMU_CUSTOMER_ID"), env("EMU_CUSTOMER_SECRET"));
    let tokens = TokenBuilder::new(env("EMU_APP_ID"), env("EMU_APP_CERTIFICATE")).expect("tokens");
    let (base, app_id) = (env("EMU_BASE"), env("EMU_APP_ID"));
    let (id, secret) = creds();
    let basic_value = basic_header(&id, &secret);
    // Basic auth plus a filler header that makes each request as long as with a token: what
    // the token's bytes cost, apart from signing and checking it.
    let token_header = format!(
        "agora token={}",
        tokens.convo_ai("bench-0", "1001").build().expect("token")
    );
    let pad = "x".repeat(
        token_header
            .len()
            .saturating_sub(basic_value.len() + "x-padding: \r\n".len()),
    );
    let spec: [(&str, bool, bool, bool, bool); 8] = [
        ("sdk_app", false, false, false, false),
        ("sdk_otel", false, false, false, false),
        ("sdk_basic", false, true, false, false),
        ("raw_app", true, false, false, false),
        ("raw_basic", true, true, false, false),
        ("raw_basic_padded", true, true, false, true),
        ("sdk_h2", false, false, true, false),
        ("raw_h2", true, false, true, false),
    ];
    let (provider, exported) = otel_provider();
    let mut targets: Vec<Target> = spec
        .iter()
        .map(|&(name, raw, basic, http2, padded)| Target {
            name,
            raw,
            basic,
            http2,
            padded,
            client: if name == "sdk_otel" {
                use opentelemetry::metrics::MeterProvider as _;
                client_builder(None, false)
                    .meter(provider.meter("shengwang-agent"))
                    .build()
                    .expect("client")
            } else {
                client_with(basic.then(creds), http2)
            },
            http: raw_http_with(concurrency, http2),
            latencies_ms: Vec::new(),
            slices: Vec::new(),
            cpu_slices: Vec::new(),
            seconds: 0.0,
            cpu_us: 0,
            server_cpu_us: 0,
            connections: 0,
            handshakes: 0,
            errors: 0,
        })
        .collect();
    let mut next = 0usize;
    // `EMU_ADMIN` (the emulator's root URL): its state is reset before each round, untimed,
    // so stopped agents do not pile up over a long run.
    let admin = std::env::var("EMU_ADMIN").ok();
    let admin_http = raw_http_with(1, false);
    // Round 0 warms every pool (connections, TLS sessions, per-thread token state) and is
    // not counted.
    for round in 0..=rounds {
        if let Some(root) = &admin {
            admin_http
                .post(format!("{root}/_emulator/reset"))
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .expect("emulator reset");
        }
        exported.reset();
        let order: Vec<usize> = if round % 2 == 0 {
            (0..targets.len()).collect()
        } else {
            (0..targets.len()).rev().collect()
        };
        for ti in order {
            let t = &targets[ti];
            let basic = t.basic.then_some(basic_value.as_str());
            let first = next;
            next += slice;
            let conns0 = match &admin {
                Some(root) => Some(counters(&admin_http, root).await),
                None => None,
            };
            let (started, cpu0, server0) = (Instant::now(), cpu_us(), server_cpu_us());
            let ns0 = cpu_ns();
            let results: Vec<(bool, f64)> = stream::iter(first..first + slice)
                .map(|i| {
                    let (t, agent, tokens, base, app_id, pad) =
                        (t, &agent, &tokens, &base, &app_id, &pad);
                    async move {
                        let at = Instant::now();
                        let ok = if t.raw {
                            let pad = t.padded.then_some(pad.as_str());
                            raw_session(&t.http, tokens, base, app_id, basic, pad, i).await
                        } else {
                            sdk_session(&t.client, agent, i).await
                        };
                        (ok, at.elapsed().as_secs_f64() * 1000.0)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = cpu_us().saturating_sub(cpu0);
            let ns = cpu_ns().saturating_sub(ns0);
            let server = server_cpu_us()
                .zip(server0)
                .map(|(b, a)| b.saturating_sub(a));
            let conns = match (&admin, conns0) {
                (Some(root), Some((c0, h0))) => {
                    let (c1, h1) = counters(&admin_http, root).await;
                    (c1.saturating_sub(c0), h1.saturating_sub(h0))
                }
                _ => (0, 0),
            };
            if round == 0 {
                continue;
            }
            let t = &mut targets[ti];
            t.seconds += elapsed;
            t.cpu_us += cpu;
            t.server_cpu_us += server.unwrap_or(0);
            t.connections += conns.0;
            t.handshakes += conns.1;
            t.slices.push(slice as f64 / elapsed);
            t.cpu_slices.push(ns as f64 / 1000.0 / slice as f64);
            t.errors += results.iter().filter(|r| !r.0).count();
            t.latencies_ms.extend(results.iter().map(|r| r.1));
        }
    }
    let mut out = serde_json::Map::new();
    for t in &mut targets {
        t.latencies_ms.sort_by(|a, b| a.total_cmp(b));
        let lat = &t.latencies_ms;
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
        let n = rounds * slice;
        out.insert(
            t.name.into(),
            json!({"mode": if t.raw { "raw" } else { "sdk" },
                   "auth": if t.basic { "basic" } else { "app-credentials" }, "http2": t.http2,
                   "sessions": n, "errors": t.errors, "sessions_per_s": n as f64 / t.seconds,
                   "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                   "client_cpu_us_per_session": t.cpu_us as f64 / n as f64,
                   "server_cpu_us_per_session": server_cpu_us().map(|_| t.server_cpu_us as f64 / n as f64),
                   "connections_per_1000": admin.as_ref().map(|_| t.connections as f64 * 1000.0 / n as f64),
                   "handshakes_per_1000": admin.as_ref().map(|_| t.handshakes as f64 * 1000.0 / n as f64),
                   "slices_sessions_per_s": t.slices,
                   "slices_cpu_us_per_session": t.cpu_slices}),
        );
    }
    json!({"rounds": rounds, "slice": slice, "concurrency": concurrency,
           "tls": ca().is_some(), "targets": out})
}

async fn memory(n: usize) -> serde_json::Value {
    let client = client();
    let agent = agent();
    // Warm up the pool and the per-thread deflate state so they do not count as sessions.
    let warm = agent
        .create_session(&client, "warm", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    warm.start().await.expect("warm-up start");
    warm.stop().await.expect("warm-up stop");
    let (live0, rss0) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let sessions: Vec<_> = (0..n)
        .map(|i| {
            agent
                .create_session(
                    &client,
                    format!("mem-{i}"),
                    AgentUid::from(1001),
                    [RemoteUid::from(2002)],
                )
                .build()
        })
        .collect();
    let results: Vec<bool> = stream::iter(sessions.iter())
        .map(|s| async move { s.start().await.is_ok() })
        .buffer_unordered(64)
        .collect()
        .await;
    let (live1, rss1) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let started = results.iter().filter(|ok| **ok).count();
    let out = json!({"sessions": n, "started": started,
        "heap_bytes_per_session": (live1 - live0) as f64 / n as f64,
        "rss_kib_before": rss0, "rss_kib_after": rss1,
        "rss_bytes_per_session": (rss1.saturating_sub(rss0) * 1024) as f64 / n as f64});
    let arc = Arc::new(sessions);
    drop(arc);
    out
}

async fn cold() -> serde_json::Value {
    let s = agent()
        .create_session(
            &client(),
            "cold",
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
        )
        .build();
    let id = s.start().await.expect("start");
    s.stop().await.expect("stop");
    json!({"agent_id": id})
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let out = match args.first().map(String::as_str) {
        Some("lifecycle") => {
            lifecycle(
                args.get(1).map(String::as_str).unwrap_or("sdk"),
                arg(2, 1000),
                arg(3, 64),
            )
            .await
        }
        Some("paired") => paired(arg(1, 20), arg(2, 500), arg(3, 64)).await,
        Some("memory") => memory(arg(1, 10_000)).await,
        Some("cold") => cold().await,
        _ => {
            eprintln!(
                "usage: bench lifecycle sdk|raw N CONCURRENCY | paired ROUNDS SLICE CONCURRENCY \
                 | memory N | cold"
            );
            std::process::exit(2);
        }
    };
    println!("{out}");
}
