//! Load harness: drives start → speak → stop cycles against an in-process emulator with N
//! concurrent clients for a bounded time, and prints requests/s and latency percentiles.
//!
//! `cargo run --release -p convoai-emulator --example load -- [SECONDS] [CONCURRENCY]`
//!
//! Runs twice: with Basic auth, and with a fresh ConvoAI token per request (what the Rust SDK
//! sends in app-credentials mode), so the cost of token verification shows as the difference.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use convoai_emulator::Emulator;
use serde_json::json;
use shengwang_agent::token::TokenBuilder;

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Basic,
    Token,
}

struct Stats {
    requests: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

async fn worker(
    http: reqwest::Client,
    base: String,
    app_id: String,
    auth: Arc<dyn Fn() -> String + Send + Sync>,
    body_token: String,
    worker: usize,
    until: Instant,
) -> Stats {
    let mut stats = Stats {
        requests: 0,
        errors: 0,
        latencies_us: Vec::with_capacity(100_000),
    };
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let join = json!({
            "name": format!("load-{worker}-{n}"),
            "properties": {
                "channel": "load", "token": body_token, "agent_rtc_uid": "1001",
                "remote_rtc_uids": ["2002"],
                "llm": {"url": "https://llm.example/v1/chat/completions"},
                "tts": {"vendor": "minimax", "params": {"key": "k", "model": "m", "voice_setting": {"voice_id": "v"}}},
            }
        });
        let t = Instant::now();
        let res = http
            .post(format!("{base}/v2/projects/{app_id}/join"))
            .header("authorization", auth())
            .json(&join)
            .send()
            .await;
        let id = match res {
            Ok(r) if r.status().is_success() => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["agent_id"].as_str().map(str::to_owned)),
            _ => None,
        };
        stats.latencies_us.push(t.elapsed().as_micros() as u64);
        stats.requests += 1;
        let Some(id) = id else {
            stats.errors += 1;
            continue;
        };
        for (path, body) in [("speak", Some(json!({"text": "hello"}))), ("leave", None)] {
            let t = Instant::now();
            let mut req = http
                .post(format!("{base}/v2/projects/{app_id}/agents/{id}/{path}"))
                .header("authorization", auth());
            if let Some(b) = &body {
                req = req.json(b);
            }
            let ok = match req.send().await {
                Ok(r) => {
                    let ok = r.status().is_success();
                    let _ = r.bytes().await;
                    ok
                }
                Err(_) => false,
            };
            stats.latencies_us.push(t.elapsed().as_micros() as u64);
            stats.requests += 1;
            if !ok {
                stats.errors += 1;
            }
        }
    }
    stats
}

async fn run(auth: Auth, seconds: u64, concurrency: usize) {
    let emu = Emulator::builder().spawn().await.expect("emulator starts");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client builds");
    let tokens = TokenBuilder::new(emu.app_id(), emu.app_certificate()).expect("dev credentials");
    let body_token = tokens
        .convo_ai("load", "1001")
        .build()
        .expect("token builds");
    let header: Arc<dyn Fn() -> String + Send + Sync> = match auth {
        Auth::Basic => {
            let v = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    emu.customer_id(),
                    emu.customer_secret()
                ))
            );
            Arc::new(move || v.clone())
        }
        Auth::Token => Arc::new(move || {
            format!(
                "agora token={}",
                tokens.convo_ai("load", "1001").build().unwrap_or_default()
            )
        }),
    };
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|w| {
            tokio::spawn(worker(
                http.clone(),
                emu.base_url(),
                emu.app_id().to_owned(),
                header.clone(),
                body_token.clone(),
                w,
                until,
            ))
        })
        .collect();
    let mut all = Stats {
        requests: 0,
        errors: 0,
        latencies_us: Vec::new(),
    };
    for t in tasks {
        if let Ok(s) = t.await {
            all.requests += s.requests;
            all.errors += s.errors;
            all.latencies_us.extend(s.latencies_us);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let i = ((all.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        all.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    println!(
        "{:<6} {:>10.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {} errors, {} agents, {} clients, {:.1} s)",
        if auth == Auth::Basic { "basic" } else { "token" },
        all.requests as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.requests,
        all.errors,
        emu.agents().len(),
        concurrency,
        elapsed
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    // One runtime for clients and server, as in the tests; 2 worker threads on a 2-core box.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime builds");
    rt.block_on(async {
        run(Auth::Basic, seconds, concurrency).await;
        run(Auth::Token, seconds, concurrency).await;
    });
}
