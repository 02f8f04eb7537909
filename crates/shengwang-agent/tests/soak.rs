//! Fault soak: full session lifecycles against an emulator that fails 20 % of requests in
//! every way it can (5xx, 429 with Retry-After, dropped connections, delays, failures after
//! the state change). At the end nothing may leak: no agent running, no name with two agents,
//! and every session that reported success really stopped.
//!
//! A short soak runs with `cargo test`; the long one (1 000 sessions, 64 at a time):
//! `cargo test --release -p shengwang-agent --test soak -- --ignored --nocapture`

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use convoai_emulator::{AgentStatus as EmuStatus, Emulator};
use futures::stream::{self, StreamExt};
use shengwang_agent::agentkit::{Agent, SessionState};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::{Client, RetryPolicy};

#[derive(Default, Debug)]
struct Counts {
    sessions_ok: AtomicU64,
    start_attempts: AtomicU64,
    stop_attempts: AtomicU64,
    say_failures: AtomicU64,
    surfaced_failures: AtomicU64,
}

async fn soak(sessions: usize, concurrency: usize, seed: u64) {
    let emu = Emulator::builder()
        .fault_rate(0.2)
        .seed(seed)
        .fault_delay(Duration::from_millis(5))
        .spawn()
        .await
        .unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .timeout(Duration::from_secs(5))
        .retry(
            RetryPolicy::standard()
                .max_retries(6)
                .base_delay(Duration::from_millis(2))
                .max_delay(Duration::from_millis(20))
                .max_retry_after(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let agent = Agent::new()
        .with_llm(Llm::custom("https://llm.example/v1"))
        .unwrap()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .unwrap();
    let counts = Counts::default();
    let started_at = Instant::now();
    let reported: Vec<(String, Option<String>, bool)> = stream::iter(0..sessions)
        .map(|i| {
            let (client, agent, counts) = (&client, &agent, &counts);
            async move {
                let s = agent
                    .create_session(
                        client,
                        format!("soak-{i}"),
                        AgentUid::from(1),
                        [RemoteUid::from(2)],
                    )
                    .build();
                let mut started = false;
                for _ in 0..3 {
                    counts.start_attempts.fetch_add(1, Ordering::Relaxed);
                    if s.start().await.is_ok() {
                        started = true;
                        break;
                    }
                }
                if !started {
                    counts.surfaced_failures.fetch_add(1, Ordering::Relaxed);
                    return (s.name().to_owned(), None, false);
                }
                if s.say("hello").send().await.is_err() {
                    counts.say_failures.fetch_add(1, Ordering::Relaxed);
                }
                let mut stopped = false;
                for _ in 0..3 {
                    counts.stop_attempts.fetch_add(1, Ordering::Relaxed);
                    if s.stop().await.is_ok() {
                        stopped = true;
                        break;
                    }
                }
                if stopped {
                    assert_eq!(s.status(), SessionState::Stopped);
                    counts.sessions_ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    counts.surfaced_failures.fetch_add(1, Ordering::Relaxed);
                }
                (s.name().to_owned(), s.id(), stopped)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started_at.elapsed();

    emu.set_fault_rate(0.0);
    let agents = emu.agents();
    let mut per_name: HashMap<&str, usize> = HashMap::new();
    for a in &agents {
        *per_name.entry(a.name.as_str()).or_default() += 1;
    }
    let running: Vec<_> = agents
        .iter()
        .filter(|a| a.status == EmuStatus::Running)
        .collect();
    let duplicates = per_name.values().filter(|n| **n > 1).count();
    let requests: u64 = emu.request_counts().iter().map(|c| c.count).sum();
    let injected: u64 = emu
        .request_counts()
        .iter()
        .filter(|c| c.endpoint.ends_with("(fault)"))
        .map(|c| c.count)
        .sum();
    println!(
        "soak: {sessions} sessions, {concurrency} at a time, {:.1}s: {} ok, {} start attempts, {} stop attempts, \
         {requests} requests ({injected} faults injected), {} say failures, {} failures surfaced, \
         {} agents created, {} leaked (running), {duplicates} names with two agents",
        elapsed.as_secs_f64(),
        counts.sessions_ok.load(Ordering::Relaxed),
        counts.start_attempts.load(Ordering::Relaxed),
        counts.stop_attempts.load(Ordering::Relaxed),
        counts.say_failures.load(Ordering::Relaxed),
        counts.surfaced_failures.load(Ordering::Relaxed),
        agents.len(),
        running.len(),
    );
    assert!(injected > 0, "faults were injected");
    assert_eq!(duplicates, 0, "no session name has two agents");
    assert!(running.is_empty(), "leaked agents: {running:?}");
    for (name, id, ok) in &reported {
        if *ok {
            let id = id.as_deref().unwrap();
            let a = agents.iter().find(|a| a.agent_id == id).unwrap();
            assert_eq!(
                (a.name.as_str(), a.status),
                (name.as_str(), EmuStatus::Stopped)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_fault_soak_leaks_nothing() {
    soak(120, 16, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak: run with --ignored"]
async fn long_fault_soak_leaks_nothing() {
    soak(1000, 64, 2026).await;
}
