//! Turns end to end: the emulator records greeting, speak, think and silence turns; the SDK
//! reads them typed, page by page, all at once, as a stream and blocking, and refuses to
//! loop on a service whose pages do not advance.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use convoai_emulator::{Clock, Emulator};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use shengwang_agent::agentkit::{AgentUid, Operation, RemoteUid};
use shengwang_agent::types::agents::Priority;
use shengwang_agent::types::config::{Parameters, SilenceAction, SilenceConfig};
use shengwang_agent::types::turns::{LatencyStage, TurnCause, TurnEndKind, TurnStartKind};
use shengwang_agent::{Client, Error, RetryPolicy};

/// Now, so tokens signed with the system clock are valid on the emulator's manual clock.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_session_reads_its_turns_typed_in_pages_all_and_as_a_stream() {
    let t0 = now();
    let emu = Emulator::builder()
        .clock(Clock::manual(t0))
        .spawn()
        .await
        .unwrap();
    let c = support::client(&emu, RetryPolicy::none());
    let agent = support::minimal_agent().with_greeting("Hello, how can I help?");
    let s = agent
        .create_session(&c, "turns", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    // Before a start there is no run to read.
    assert!(matches!(
        s.all_turns().await,
        Err(Error::NoAgentId {
            operation: Operation::Turns
        })
    ));
    s.start().await.unwrap();
    emu.clock().advance(Duration::from_secs(10));
    s.say("Here is the weather.").send().await.unwrap();
    // Cut short by the next speak, 100 ms in.
    emu.clock().advance(Duration::from_millis(100));
    s.say("Sorry, one more thing.")
        .priority(Priority::Interrupt)
        .send()
        .await
        .unwrap();
    emu.clock().advance(Duration::from_secs(10));
    s.think("the user asks about tomorrow")
        .send()
        .await
        .unwrap();

    let all = s.all_turns().await.unwrap();
    assert_eq!(all.total_turn_count, Some(4));
    let kinds: Vec<_> = all.turns.iter().map(|t| t.start_kind().cloned()).collect();
    assert_eq!(
        kinds,
        [
            Some(TurnStartKind::Greeting),
            Some(TurnStartKind::ApiSpeak),
            Some(TurnStartKind::ApiSpeak),
            Some(TurnStartKind::Other("api_think".into())),
        ]
    );
    let ids: Vec<_> = all.turns.iter().map(|t| t.turn_id).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3), Some(4)]);
    let greeting = &all.turns[0];
    assert_eq!(
        greeting
            .start
            .as_ref()
            .unwrap()
            .metadata
            .as_ref()
            .unwrap()
            .greeting_nth,
        Some(1)
    );
    assert_eq!(greeting.end_kind(), Some(&TurnEndKind::Ok));
    let cut = &all.turns[1];
    assert_eq!(cut.end_kind(), Some(&TurnEndKind::Interrupted));
    let meta = cut.end.as_ref().unwrap().metadata.as_ref().unwrap();
    assert_eq!(meta.caused_by, Some(TurnCause::ApiSpeak));
    assert_eq!(cut.duration_ms(), Some(100));
    // Metrics: the stages add up to the end-to-end latency; a think goes through the LLM.
    let think = all.turns[3].metrics.as_ref().unwrap();
    let sum: f64 = think.segmented_latency_ms.iter().map(|s| s.latency).sum();
    assert_eq!(think.e2e_latency_ms, Some(sum as u64));
    assert!(think
        .stage(&LatencyStage::LlmTtft)
        .is_some_and(|ms| ms > 0.0));
    assert!(all.turns[1]
        .metrics
        .as_ref()
        .unwrap()
        .stage(&LatencyStage::LlmTtft)
        .is_none());

    // Page by page through the REST handle: the same turns.
    let list = c.agents().turns(s.id().unwrap()).page_size(3);
    let first = list.page(1).await.unwrap();
    let p = first.pagination.as_ref().unwrap();
    assert_eq!(
        (p.page_index, p.total_pages, p.is_last_page),
        (Some(1), Some(2), Some(false))
    );
    assert_eq!(first.turns.len(), 3);
    assert_eq!(list.page(2).await.unwrap().turns, all.turns[3..]);
    let paged_all = list.clone().all().await.unwrap();
    assert_eq!(paged_all.turns, all.turns);
    let streamed: Vec<_> = c
        .agents()
        .turns(s.id().unwrap())
        .page_size(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, all.turns);
    assert_eq!(s.turns(1).await.unwrap().turns, all.turns);

    // Turns outlive the agent: after stop they are still readable, nothing is playing.
    s.stop().await.unwrap();
    let after = s.all_turns().await.unwrap().turns;
    assert_eq!(after.len(), 4, "{after:#?}");
    let streamed: Vec<_> = s.turn_stream().try_collect().await.unwrap();
    assert_eq!(streamed.len(), 4);
}

#[tokio::test]
async fn the_silence_reminder_is_one_turn_per_silence() {
    let t0 = now();
    let emu = Emulator::builder()
        .clock(Clock::manual(t0))
        .spawn()
        .await
        .unwrap();
    let c = support::client(&emu, RetryPolicy::none());
    let agent = support::minimal_agent().with_parameters(Parameters {
        silence_config: Some(SilenceConfig {
            timeout_ms: Some(5_000),
            action: Some(SilenceAction::Think),
            content: Some("Ask whether the user is still there".into()),
            extra: Default::default(),
        }),
        ..Default::default()
    });
    let s = agent
        .create_session(&c, "quiet", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    s.start().await.unwrap();
    emu.clock().advance(Duration::from_millis(4_000));
    assert!(s.all_turns().await.unwrap().turns.is_empty());
    emu.clock().advance(Duration::from_secs(60));
    let turns = s.all_turns().await.unwrap().turns;
    assert_eq!(turns.len(), 1);
    let start = turns[0].start.as_ref().unwrap();
    assert_eq!(start.kind, Some(TurnStartKind::SilenceTimeout));
    assert_eq!(start.start_at, Some(t0 * 1000 + 5_000));
    assert_eq!(
        start.metadata.as_ref().unwrap().action,
        Some(SilenceAction::Think)
    );
}

#[test]
fn blocking_sessions_and_lists_read_the_same_turns() {
    let emu = Emulator::builder().start().unwrap();
    let c = shengwang_agent::blocking::Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = support::minimal_agent()
        .create_session(&c, "bt", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    s.start().unwrap();
    for text in ["one", "two", "three"] {
        s.say(text).priority(Priority::Append).send().unwrap();
    }
    let all = s.all_turns().unwrap();
    assert_eq!(all.turns.len(), 3);
    assert_eq!(s.turns(1).unwrap().turns, all.turns);
    let id = s.id().unwrap();
    let iterated: Vec<_> = c
        .agents()
        .turns(&id)
        .page_size(2)
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(iterated, all.turns);
    assert_eq!(
        c.agents().turns(&id).page_size(2).all().unwrap().turns,
        all.turns
    );
    s.stop().unwrap();
}

/// A service whose pagination is hostile: `mode` picks how.
async fn hostile(mode: &'static str) -> (String, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/api/conversational-ai-agent/v2/projects/:appid/agents/:id/turns",
        get(
            move |Query(q): Query<std::collections::HashMap<String, String>>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let asked: u64 = q
                        .get("page_index")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    let turn = json!({"turn_id": asked, "start": {"type": "voice_input"}});
                    let pagination = match mode {
                        // Always page 1, never the last.
                        "stuck" => json!({"page_index": 1, "is_last_page": false}),
                        // Never the last, no position at all.
                        "blind" => json!({"is_last_page": false}),
                        // Claims 3 pages but never says the last one is last.
                        _ => json!({"page_index": asked, "total_pages": 3, "is_last_page": false}),
                    };
                    axum::Json::<Value>(json!({"turns": [turn], "pagination": pagination}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/api/conversational-ai-agent"), hits)
}

fn basic_client(base: &str) -> Client {
    Client::builder()
        .app_id("0123456789abcdef0123456789abcdef")
        .app_certificate("fedcba9876543210fedcba9876543210")
        .basic("cid", "secret")
        .base_url(base)
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn pages_that_do_not_advance_are_an_error_not_a_loop() {
    let (base, hits) = hostile("stuck").await;
    let c = basic_client(&base);
    let err = c.agents().turns("A1").all().await.unwrap_err();
    assert!(err.to_string().contains("again"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The stream yields page 1's turn, then the error, then ends.
    let items: Vec<_> = c.agents().turns("A1").stream().collect().await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok() && items[1].is_err());

    let (base, hits) = hostile("blind").await;
    let err = basic_client(&base)
        .agents()
        .turns("A1")
        .all()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("neither page_index nor total_pages"),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn total_pages_ends_a_service_that_never_says_last() {
    let (base, hits) = hostile("counted").await;
    let all = basic_client(&base)
        .agents()
        .turns("A1")
        .all()
        .await
        .unwrap();
    let ids: Vec<_> = all.turns.iter().map(|t| t.turn_id).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3)]);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn bad_page_arguments_send_nothing() {
    let (base, hits) = hostile("counted").await;
    let c = basic_client(&base);
    assert!(c.agents().turns("A1").page(0).await.is_err());
    assert!(c.agents().turns("A1").page_size(0).page(1).await.is_err());
    assert!(c
        .agents()
        .turns("A1")
        .page_size(100_000)
        .all()
        .await
        .is_err());
    assert!(c.agents().turns("../x").page(1).await.is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
