//! Endpoints that fail: one dead, one slow, one healthy; and a service that restarts and
//! forgets everything. Sessions complete or fail clearly, within the timeouts.

mod support;

use std::time::{Duration, Instant};

use convoai_emulator::{Clock, Emulator};
use shengwang_agent::agentkit::SessionState;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::{Client, Error, RetryPolicy};

fn fast() -> RetryPolicy {
    RetryPolicy::standard()
        .max_retries(4)
        .base_delay(Duration::from_millis(2))
        .max_delay(Duration::from_millis(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_slow_and_healthy_regions_settle_on_the_healthy_one() {
    let creds = (
        convoai_emulator::DEV_APP_ID,
        convoai_emulator::DEV_APP_CERTIFICATE,
    );
    let slow = Emulator::builder()
        .latency(Duration::from_secs(2))
        .spawn()
        .await
        .unwrap();
    let healthy = Emulator::builder().spawn().await.unwrap();
    let dead = format!(
        "http://127.0.0.2:{}/api/conversational-ai-agent",
        healthy.addr().port()
    );
    let client = Client::builder()
        .app_id(creds.0)
        .app_certificate(creds.1)
        .base_url(&dead)
        .base_url(slow.base_url())
        .base_url(healthy.base_url())
        .timeout(Duration::from_secs(10))
        .attempt_timeout(Duration::from_millis(300))
        .retry(fast())
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..10 {
        let s = support::minimal_agent()
            .create_session(
                &client,
                format!("fo-{i}"),
                AgentUid::from(1),
                [RemoteUid::from(2)],
            )
            .build();
        s.start().await.unwrap();
        s.say("hi").send().await.unwrap();
        s.stop().await.unwrap();
        assert_eq!(s.status(), SessionState::Stopped);
    }
    assert_eq!(
        client.current_base_url(),
        healthy.base_url(),
        "settled on the healthy endpoint"
    );
    assert_eq!(
        healthy.agents().len(),
        10,
        "every session ran on the healthy endpoint"
    );
    // One connection refusal and one timeout, then straight to the healthy endpoint.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_gives_clear_errors_and_no_hangs() {
    let clock = Clock::system();
    let first = Emulator::builder()
        .clock(clock.clone())
        .spawn()
        .await
        .unwrap();
    let port = first.addr().port();
    let client = Client::builder()
        .app_id(first.app_id())
        .app_certificate(first.app_certificate())
        .base_url(first.base_url())
        .timeout(Duration::from_millis(500))
        .retry(fast())
        .build()
        .unwrap();
    let sessions: Vec<_> = (0..5)
        .map(|i| {
            support::minimal_agent()
                .create_session(
                    &client,
                    format!("r-{i}"),
                    AgentUid::from(1),
                    [RemoteUid::from(2)],
                )
                .build()
        })
        .collect();
    for s in &sessions {
        s.start().await.unwrap();
    }
    first.shutdown().await;

    // Down: connection refused, surfaced as a connection error after the retries, quickly.
    let t = Instant::now();
    let err = sessions[0].say("anyone?").send().await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(
        sessions[0].status(),
        SessionState::Running,
        "say does not change the state"
    );

    // Back, with every agent forgotten.
    let second = Emulator::builder().port(port).spawn().await.unwrap();
    let err = sessions[1].say("hello?").send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Stopping an agent the service forgot counts as stopped.
    for s in &sessions {
        s.stop().await.unwrap();
        assert_eq!(s.status(), SessionState::Stopped);
    }
    // And the session can start again on the new service.
    sessions[2].start().await.unwrap();
    assert_eq!(second.agents().len(), 1);
}
