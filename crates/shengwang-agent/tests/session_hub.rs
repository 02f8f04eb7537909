//! The session hub: one entry point for a client's sessions (notices, the live list,
//! shutdown), the session store it keeps a record in for every session that may have an
//! agent, and the same entry point on the blocking client.

mod support;

use std::sync::Arc;
use std::time::Duration;

use convoai_emulator::Emulator;
use shengwang_agent::agentkit::{
    AgentUid, Applied, MemorySessionStore, RemoteUid, SessionRecord, SessionState, SessionStore,
};
use shengwang_agent::webhooks::{self, Notification};
use shengwang_agent::{Client, Error, RetryPolicy};

fn left_notice(name: &str, channel: &str, agent_id: &str, notice: &str) -> Notification {
    let body = serde_json::json!({
        "noticeId": notice, "productId": 17, "eventType": 102, "notifyMs": 1,
        "payload": {"agent_id": agent_id, "name": name, "channel": channel,
                    "start_ts": 1, "stop_ts": 2, "status": "STOPPED", "message": "OK"},
    });
    webhooks::parse(body.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn the_hub_lists_records_and_applies_each_notice_once() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let s = support::minimal_agent()
        .create_session(&client, "hub-1", AgentUid::from(5), [RemoteUid::from(6)])
        .label("tenant", "t1")
        .build();
    let hub = client.sessions();
    assert_eq!(hub.live().len(), 1);
    assert!(
        hub.store().list().await.unwrap().is_empty(),
        "idle: no record"
    );

    let id = s.start().await.unwrap();
    let live = hub.live();
    assert_eq!(live[0].agent_id.as_deref(), Some(id.as_str()));
    assert_eq!(live[0].state, SessionState::Running);
    let record = hub.store().get(s.name()).await.unwrap().unwrap();
    assert_eq!(record.agent_id.as_deref(), Some(id.as_str()));
    assert_eq!(record.status, SessionState::Running);
    assert_eq!(
        (record.channel.as_str(), record.uid.as_str()),
        ("hub-1", "5")
    );
    assert_eq!(record.labels.get("tenant").map(String::as_str), Some("t1"));
    assert_eq!(record.merge_base, None, "no params (they may hold secrets)");
    let json = record.to_json();
    assert_eq!(SessionRecord::from_json(&json).unwrap(), record);

    let n = left_notice(s.name(), s.channel(), &id, "left-1");
    assert_eq!(hub.apply_notification(&n).await.unwrap(), Applied::Taken);
    assert_eq!(s.status(), SessionState::Stopped);
    // A replay, and the same fact under another notice id: nothing changes.
    assert_eq!(
        hub.apply_notification(&n).await.unwrap(),
        Applied::Duplicate
    );
    let again = left_notice(s.name(), s.channel(), &id, "left-2");
    assert_eq!(
        hub.apply_notification(&again).await.unwrap(),
        Applied::NoSession
    );
    assert_eq!(s.status(), SessionState::Stopped);
    assert!(
        hub.store().list().await.unwrap().is_empty(),
        "gone: no record"
    );
}

#[tokio::test]
async fn a_store_set_on_the_builder_gets_a_record_while_an_agent_may_run() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let store = Arc::new(MemorySessionStore::new());
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .session_store(store.clone())
        .build()
        .unwrap();
    let s = support::minimal_agent()
        .create_session(&client, "hub-3", AgentUid::from(5), [RemoteUid::from(6)])
        .build();
    assert!(store.list().await.unwrap().is_empty());
    let id = s.start().await.unwrap();
    let record = store.get(s.name()).await.unwrap().unwrap();
    assert_eq!(record.agent_id.as_deref(), Some(id.as_str()));
    assert_eq!(record.status, SessionState::Running);
    assert_eq!(record.epoch, 0);
    s.stop().await.unwrap();
    assert!(store.list().await.unwrap().is_empty(), "stopped: removed");
}

#[tokio::test]
async fn a_record_of_a_newer_schema_is_refused() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let json = SessionRecord::new("k", "n", "c")
        .to_json()
        .replace("\"schema_version\":1", "\"schema_version\":99");
    let err = SessionRecord::from_json(&json).unwrap_err();
    assert!(
        matches!(err, Error::RecordTooNew { found: 99, .. }),
        "{err}"
    );
    let mut record = SessionRecord::new("k", "n", "c");
    record.schema_version = 99;
    let put = client.sessions().store().put(record).await;
    assert!(matches!(put, Err(Error::RecordTooNew { .. })));
}

#[test]
fn the_blocking_client_has_the_same_entry_point() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(Emulator::builder().spawn()).unwrap();
    let client = shengwang_agent::blocking::Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = support::minimal_agent()
        .create_session(&client, "hub-2", AgentUid::from(5), [RemoteUid::from(6)])
        .build();
    let id = s.start().unwrap();
    assert_eq!(client.sessions().live()[0].agent_id.as_deref(), Some(&*id));
    let n = left_notice(s.name(), s.channel(), &id, "left-b");
    assert!(client.sessions().apply_notification(&n).unwrap().is_taken());
    assert_eq!(s.status(), SessionState::Stopped);
    let report = client.sessions().shutdown(Duration::from_secs(5)).unwrap();
    assert!(report.is_clean(), "{report:?}");
}

/// A session dropped with its agent running, then an immediate shutdown: the shutdown stops
/// the agent, and the drop's own cleanup sees that and ends instead of retrying its refused
/// stop until its patience runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_session_then_an_immediate_shutdown_ends_clean_and_fast() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let s = support::minimal_agent()
        .create_session(&client, "hub-drop", AgentUid::from(5), [RemoteUid::from(6)])
        .stop_on_drop(true)
        .build();
    s.start().await.unwrap();
    drop(s);
    let began = std::time::Instant::now();
    let report = client.sessions().shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    assert!(emu
        .agents()
        .iter()
        .all(|a| a.status != convoai_emulator::AgentStatus::Running));
}
