//! The fleet's memory backend (one process, no Redis): one agent per key, conflicts named,
//! get/stop/speak, notices applied at once and only once, events.

mod support;

use std::time::Duration;

use convoai_emulator::{AgentStatus, Emulator, EmulatorHandle};
use shengwang_agent::agentkit::{AgentUid, RemoteUid, SessionState};
use shengwang_agent::fleet::{AgentSpec, Drain, Fleet, FleetKey, StartSpec};
use shengwang_agent::types::agents::Priority;
use shengwang_agent::{webhooks, Error, RetryPolicy};

async fn fleet(emu: &EmulatorHandle) -> Fleet {
    let client = support::client(emu, RetryPolicy::none());
    let c = client.clone();
    Fleet::builder(client, move |spec: &AgentSpec| {
        Ok(support::minimal_agent().create_session(
            &c,
            spec.channel.clone(),
            AgentUid::new(spec.agent_uid.clone()),
            spec.remote_uids.iter().map(|u| RemoteUid::new(u.clone())),
        ))
    })
    .build()
    .await
    .unwrap()
}

fn running(emu: &EmulatorHandle, channel: &str) -> usize {
    emu.agents()
        .iter()
        .filter(|a| {
            a.channel == channel && matches!(a.status, AgentStatus::Running | AgentStatus::Starting)
        })
        .count()
}

fn left_notice(notice_id: &str, agent_id: &str, channel: &str) -> Vec<u8> {
    format!(
        r#"{{"noticeId":"{notice_id}","productId":17,"eventType":102,"notifyMs":1,"payload":{{"agent_id":"{agent_id}","channel":"{channel}","status":"STOPPED","message":"OK"}}}}"#
    )
    .into_bytes()
}

#[tokio::test]
async fn concurrent_starts_make_one_agent_and_every_caller_gets_its_id() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let fleet = fleet(&emu).await;
    let key = FleetKey::new("mem-room").unwrap();
    let starts = (0..20).map(|_| {
        let (f, k) = (fleet.clone(), key.clone());
        tokio::spawn(async move { f.start(StartSpec::new(k, "1001", ["2002"])).await })
    });
    let mut ids = Vec::new();
    for s in starts {
        ids.push(s.await.unwrap().unwrap().agent_id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(running(&emu, "mem-room"), 1);
    let got = fleet.get(&key).await.unwrap().unwrap();
    assert_eq!(got.agent_id, ids[0]);
    assert_eq!(got.state, SessionState::Running);
    assert_eq!(got.owner, fleet.instance());
    assert!(
        got.events.iter().any(|e| e.kind == "started"),
        "{:?}",
        got.events
    );
    assert_eq!(fleet.owned(), vec![key.clone()]);
}

#[tokio::test]
async fn other_parameters_are_a_conflict_naming_the_difference() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let fleet = fleet(&emu).await;
    let key = FleetKey::new("mem-conflict").unwrap();
    fleet
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    let e = fleet
        .start(StartSpec::new(key.clone(), "1001", ["2003"]))
        .await
        .unwrap_err();
    match &e {
        Error::FleetConflict { key, difference } => {
            assert_eq!(key, "mem-conflict");
            assert!(
                difference.contains("remote_uids") && difference.contains("2003"),
                "{difference}"
            );
        }
        other => panic!("{other}"),
    }
    assert!(!e.to_string().contains('\n'));
    let e = fleet
        .start(StartSpec::new(key.clone(), "1009", ["2002"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::FleetConflict { difference, .. } if difference.contains("agent_uid")),
        "{e}"
    );
    assert_eq!(running(&emu, "mem-conflict"), 1);
    assert!(FleetKey::new("bad\nkey").is_err());
}

#[tokio::test]
async fn speak_and_stop_then_a_new_start_makes_a_new_agent() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let fleet = fleet(&emu).await;
    let key = FleetKey::new("mem-stop").unwrap();
    let first = fleet
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    fleet
        .speak(&key, "hello", Some(Priority::Append))
        .await
        .unwrap();
    let stopped = fleet.stop(&key).await.unwrap().unwrap();
    assert_eq!(stopped.state, SessionState::Stopped);
    assert_eq!(running(&emu, "mem-stop"), 0);
    assert!(fleet.stop(&key).await.unwrap().is_none());
    let e = fleet.speak(&key, "hello", None).await.unwrap_err();
    assert!(matches!(e, Error::State { .. }), "{e}");
    let got = fleet.get(&key).await.unwrap().unwrap();
    assert_eq!(got.state, SessionState::Stopped);
    let second = fleet
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    assert_ne!(first.agent_id, second.agent_id);
    assert!(second.epoch > first.epoch);
    assert!(fleet
        .get(&FleetKey::new("never").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_notice_applies_at_once_and_a_duplicate_is_a_no_op() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let fleet = fleet(&emu).await;
    let key = FleetKey::new("mem-notice").unwrap();
    let agent = fleet
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    let session = fleet.session(&key).unwrap();
    let body = left_notice("n-1", &agent.agent_id, "mem-notice");
    let n = webhooks::parse(&body).unwrap();
    fleet.record_notice(&body, &n).await.unwrap();
    assert_eq!(session.status(), SessionState::Stopped);
    let after = fleet.get(&key).await.unwrap().unwrap();
    assert_eq!(after.state, SessionState::Stopped);
    assert_eq!(after.events.last().unwrap().kind, n.event.kind());
    fleet.record_notice(&body, &n).await.unwrap();
    assert_eq!(fleet.get(&key).await.unwrap().unwrap().events, after.events);
    assert!(fleet.session(&key).is_none());
}

#[tokio::test]
async fn drain_stop_stops_every_agent() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let fleet = fleet(&emu).await;
    for k in ["mem-d1", "mem-d2"] {
        fleet
            .start(StartSpec::new(FleetKey::new(k).unwrap(), "1001", ["2002"]))
            .await
            .unwrap();
    }
    let report = fleet.drain(Drain::Stop, Duration::from_secs(10)).await;
    assert_eq!(report.stopped.len(), 2, "{report:?}");
    assert_eq!(running(&emu, "mem-d1") + running(&emu, "mem-d2"), 0);
    assert!(fleet.is_ready().is_ok());
}

#[test]
fn fleet_errors_are_one_line_and_told_apart() {
    let unavailable = Error::FleetUnavailable {
        reason: "redis IoError error".into(),
    };
    assert!(unavailable.is_fleet_unavailable());
    assert!(!unavailable.is_retryable());
    let conflict = Error::FleetConflict {
        key: "room".into(),
        difference: "agent_uid (1001, asked 1002)".into(),
    };
    let not_owner = Error::NotOwner {
        key: "room".into(),
        reason: "fenced".into(),
    };
    for e in [&unavailable, &conflict, &not_owner] {
        let line = e.to_string();
        assert!(!line.contains('\n') && !line.is_empty(), "{line}");
    }
    assert!(!conflict.is_fleet_unavailable() && !not_owner.is_fleet_unavailable());
    assert!(conflict
        .to_string()
        .contains("agent_uid (1001, asked 1002)"));
}

#[tokio::test]
async fn a_spec_the_factory_does_not_follow_is_refused_and_nothing_is_held() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let c = client.clone();
    let fleet = Fleet::builder(client, move |_spec: &AgentSpec| {
        Ok(support::minimal_agent().create_session(
            &c,
            "another-channel",
            AgentUid::from(1),
            [RemoteUid::from(2)],
        ))
    })
    .build()
    .await
    .unwrap();
    let key = FleetKey::new("mem-factory").unwrap();
    let e = fleet
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    assert!(fleet.owned().is_empty());
    let rec = fleet.get(&key).await.unwrap().unwrap();
    assert_eq!(rec.state, SessionState::Error);
    assert_eq!(running(&emu, "another-channel"), 0);
}
