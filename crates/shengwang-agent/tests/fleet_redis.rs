//! The Redis fleet against a real `redis-server` on a free loopback port (persistence off)
//! and the in-process emulator. Several `Fleet`s in one test process stand in for processes,
//! each with its own client. Where redis-server is missing the tests are reported as ignored
//! with the reason; in CI they fail (see the harness).

#[path = "fleet_redis/support.rs"]
mod fx;
#[path = "../../convoai-emulator/tests/support/harness.rs"]
mod harness;
mod support;

use std::time::{Duration, Instant};

use fx::*;
use harness::{needs, Missing};
use shengwang_agent::agentkit::SessionState;
use shengwang_agent::fleet::{Drain, FleetEvent, FleetKey, OnOrphan, RedisFleet, StartSpec};
use shengwang_agent::Error;

fn main() {
    let t = |name: &str, f: fn(Env) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>| {
        needs(name, move || with_env(f))
    };
    harness::run(vec![
        t(
            "twenty_concurrent_starts_over_three_fleets_make_one_agent",
            |e| Box::pin(concurrent_starts(e)),
        ),
        t("a_crashed_owner_is_taken_over_and_its_agent_adopted", |e| {
            Box::pin(crash_adopt(e))
        }),
        t(
            "a_crashed_owner_is_taken_over_and_its_agent_stopped_by_policy",
            |e| Box::pin(crash_stop(e)),
        ),
        t("drain_hands_over_within_a_second_keeping_the_agent", |e| {
            Box::pin(handover(e))
        }),
        t(
            "an_owner_that_cannot_renew_is_fenced_then_learns_it_lost",
            |e| Box::pin(fencing(e)),
        ),
        t("a_notice_recorded_anywhere_reaches_the_owner_once", |e| {
            Box::pin(notice_routing(e))
        }),
        t("a_dead_owners_inbox_is_recovered_by_another_process", |e| {
            Box::pin(inbox_recovery(e))
        }),
        t("fleets_with_other_prefixes_share_nothing", |e| {
            Box::pin(prefixes(e))
        }),
        t(
            "an_agent_that_ended_unnoticed_is_replaced_by_a_start",
            |e| Box::pin(ended_unnoticed(e)),
        ),
        t(
            "a_start_racing_a_reestablish_after_data_loss_joins_the_running_agent",
            |e| Box::pin(restart_race(e)),
        ),
        t(
            "redis_restarted_empty_is_reestablished_without_duplicates",
            |e| Box::pin(redis_restart(e)),
        ),
        t(
            "every_key_has_a_ttl_one_slot_per_operation_and_no_secret",
            |e| Box::pin(hygiene(e)),
        ),
        t("a_newer_record_schema_is_refused", |e| Box::pin(too_new(e))),
        t("a_redis_password_never_shows", |e| Box::pin(password(e))),
        harness::test("crc16_matches_the_cluster_reference", || {
            assert_eq!(crc16(b"123456789"), 0x31C3);
            assert_eq!(key_slot("foo"), 12182);
            assert_eq!(
                key_slot("{user1000}.following"),
                key_slot("{user1000}.followers")
            );
        }),
    ])
}

fn with_env(
    f: fn(Env) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) -> Result<(), Missing> {
    let redis = Redis::start(None, &[])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let emu = convoai_emulator::Emulator::builder().spawn().await.unwrap();
        f(Env { redis, emu }).await
    });
    Ok(())
}

async fn concurrent_starts(env: Env) {
    let fleets = env.fleets(3, "c", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-concurrent").unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let f = fleets[i % 3].clone();
        let k = key.clone();
        tasks.push(tokio::spawn(async move {
            f.start(StartSpec::new(k, "1001", ["2002"])).await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().agent_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every caller gets the same id: {ids:?}");
    assert_eq!(env.alive("room-concurrent"), vec![ids[0].clone()]);
    assert_eq!(holders(&fleets, &key), 1);
    let e = fleets[1]
        .start(StartSpec::new(key.clone(), "1001", ["2003"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::FleetConflict { difference, .. } if difference.contains("remote_uids")),
        "{e}"
    );
    assert!(e.to_string().contains("2003"), "{e}");
    assert_eq!(env.alive("room-concurrent").len(), 1);
}

async fn crash_adopt(env: Env) {
    let fleets = env.fleets(3, "a", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-crash-adopt").unwrap();
    let agent = fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    let crashed = Instant::now();
    fleets[0].crash_for_test();
    let bound = LEASE + LEASE / 3 + SLACK;
    eventually("a takeover", bound, || async {
        holders(&fleets[1..], &key) == 1
    })
    .await;
    println!("takeover after {:?}", crashed.elapsed());
    let rec = fleets[1].get(&key).await.unwrap().unwrap();
    assert_ne!(rec.owner, fleets[0].instance());
    assert_eq!(rec.agent_id, agent.agent_id);
    assert!(rec.epoch > agent.epoch);
    assert!(
        rec.events.iter().any(|e| e.kind == "adopted"),
        "{:?}",
        rec.events
    );
    tokio::time::sleep(LEASE).await;
    assert_eq!(
        env.alive("room-crash-adopt"),
        vec![agent.agent_id.clone()],
        "adopted, not stopped"
    );
    assert_eq!(holders(&fleets[1..], &key), 1);
    fleets[2].speak(&key, "still here", None).await.unwrap();
}

async fn crash_stop(env: Env) {
    let fleets = env.fleets(3, "s", OnOrphan::Stop).await;
    let key = FleetKey::new("room-crash-stop").unwrap();
    fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    fleets[0].crash_for_test();
    let bound = LEASE + LEASE / 3 + SLACK;
    eventually("the orphan stopped", bound, || async {
        env.alive("room-crash-stop").is_empty()
            && fleets[1].get(&key).await.unwrap().unwrap().state != SessionState::Running
    })
    .await;
    let rec = fleets[1].get(&key).await.unwrap().unwrap();
    assert_eq!(rec.state, SessionState::Stopped, "{rec:?}");
    assert!(
        rec.events.iter().any(|e| e.kind == "orphan_stopped"),
        "{:?}",
        rec.events
    );
    assert_eq!(holders(&fleets[1..], &key), 0);
}

async fn handover(env: Env) {
    let fleets = env.fleets(3, "h", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-handover").unwrap();
    let agent = fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    let t0 = Instant::now();
    let report = fleets[0]
        .drain(Drain::Handover, Duration::from_secs(5))
        .await;
    assert_eq!(report.handed_over, vec![key.to_string()], "{report:?}");
    eventually("the handover", Duration::from_secs(3), || async {
        holders(&fleets[1..], &key) == 1
    })
    .await;
    let took = t0.elapsed();
    println!("handover took {took:?}");
    assert!(took < Duration::from_millis(1500), "handover took {took:?}");
    let rec = fleets[1].get(&key).await.unwrap().unwrap();
    assert_eq!(rec.agent_id, agent.agent_id);
    assert_ne!(rec.owner, fleets[0].instance());
    assert_eq!(env.alive("room-handover"), vec![agent.agent_id]);
}

async fn fencing(env: Env) {
    let proxy = Proxy::start(env.redis.port).await;
    let victim = env
        .fleet_via(&proxy.url(), "f", "victim", OnOrphan::Adopt)
        .await;
    let others = env.fleets(2, "f", OnOrphan::Adopt).await;
    let seen = record_events(&victim);
    let key = FleetKey::new("room-fenced").unwrap();
    let agent = victim
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    proxy.set_down(true);
    let cut = Instant::now();
    // Fenced no later than lease - margin after the last renewal, which came before the cut.
    tokio::time::sleep(LEASE - MARGIN + Duration::from_millis(100)).await;
    let e = victim.speak(&key, "hello", None).await.unwrap_err();
    assert!(matches!(e, Error::NotOwner { .. }), "{e}");
    assert!(victim.is_ready().is_err());
    let fenced_at = seen
        .first(|e| matches!(e, FleetEvent::Fenced { .. }))
        .expect("a Fenced event");
    eventually("a takeover", LEASE + LEASE / 3 + SLACK, || async {
        holders(&others, &key) == 1
    })
    .await;
    let taken_at = Instant::now();
    assert!(fenced_at < taken_at, "fenced before anyone took over");
    assert!(fenced_at.duration_since(cut) < LEASE - MARGIN + Duration::from_millis(200));
    proxy.set_down(false);
    eventually("OwnershipLost", Duration::from_secs(10), || async {
        seen.first(|e| matches!(e, FleetEvent::OwnershipLost { .. }))
            .is_some()
    })
    .await;
    assert!(victim.session(&key).is_none());
    assert_eq!(env.alive("room-fenced"), vec![agent.agent_id.clone()]);
    // Now routed to the new owner.
    victim.speak(&key, "through the owner", None).await.unwrap();
    let rec = others[0].get(&key).await.unwrap().unwrap();
    assert_ne!(rec.owner, victim.instance());
}

async fn inbox_recovery(env: Env) {
    let fleets = env.fleets(3, "ir", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-inbox").unwrap();
    let agent = fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    // The owner dies with its heartbeat still valid: the notice goes to its inbox, unread.
    fleets[0].crash_for_test();
    let body = notice(102, "n-dead", &agent.agent_id, "room-inbox");
    fleets[1].record_notice(&body, &parse(&body)).await.unwrap();
    let mut conn = env.redis.conn().await;
    let inbox = format!("ir:{{p:{}}}:inbox", hex::encode("ir-0"));
    let queued: i64 = redis::cmd("XLEN")
        .arg(&inbox)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(queued, 1, "recorded in the owner's inbox before the answer");
    eventually(
        "the notice applied by another process",
        LEASE + LEASE / 3 + SLACK,
        || async {
            let rec = fleets[2].get(&key).await.unwrap().unwrap();
            rec.state == SessionState::Stopped && rec.events.iter().any(|e| e.kind == "agent_left")
        },
    )
    .await;
    eventually("the dead inbox removed", Duration::from_secs(5), || {
        let mut c = conn.clone();
        let inbox = inbox.clone();
        async move {
            let n: i64 = redis::cmd("EXISTS")
                .arg(&inbox)
                .query_async(&mut c)
                .await
                .unwrap();
            n == 0
        }
    })
    .await;
}

async fn prefixes(env: Env) {
    let a = env.fleets(1, "pa", OnOrphan::Adopt).await;
    let b = env.fleets(1, "pb", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-prefix").unwrap();
    let first = a[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    assert!(b[0].get(&key).await.unwrap().is_none());
    // Another prefix derives another agent name: its own agent, no 409 against the first.
    let second = b[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    assert_ne!(first.agent_id, second.agent_id);
    let mut conn = env.redis.conn().await;
    for k in scan(&mut conn, "*").await {
        assert!(k.starts_with("pa:") || k.starts_with("pb:"), "{k}");
    }
}

/// Redis comes back empty while the owner cannot reach it yet, and another process gets a
/// start for the key: the service's 409 on the derived name stops it from making a second
/// agent, and once the owner re-establishes its record the start joins the running agent.
/// The emulator's clock lags, so the agent looks too old for the session's own 409 lookup.
async fn restart_race(env: Env) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let emu = convoai_emulator::Emulator::builder()
        .clock(convoai_emulator::Clock::manual(now - 600))
        .spawn()
        .await
        .unwrap();
    let mut env = Env {
        redis: env.redis,
        emu,
    };
    let proxy = Proxy::start(env.redis.port).await;
    let owner = env
        .fleet_via(&proxy.url(), "rr", "owner", OnOrphan::Adopt)
        .await;
    let other = env.fleets(1, "rr", OnOrphan::Adopt).await.remove(0);
    let key = FleetKey::new("room-race").unwrap();
    let agent = owner
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    proxy.set_down(true);
    env.redis.kill();
    env.redis = Redis::start(Some(env.redis.port), &[]).unwrap();
    let start = {
        let (other, key) = (other.clone(), key.clone());
        tokio::spawn(async move { other.start(StartSpec::new(key, "1001", ["2002"])).await })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.alive("room-race"),
        vec![agent.agent_id.clone()],
        "no second agent"
    );
    proxy.set_down(false);
    let joined = tokio::time::timeout(Duration::from_secs(20), start)
        .await
        .expect("the start finishes")
        .unwrap()
        .unwrap();
    assert_eq!(joined.agent_id, agent.agent_id);
    assert_eq!(env.alive("room-race"), vec![agent.agent_id.clone()]);
    let rec = other.get(&key).await.unwrap().unwrap();
    assert_eq!(rec.state, SessionState::Running);
    assert_eq!(rec.agent_id, agent.agent_id);
    eventually("one holder", Duration::from_secs(5), || async {
        holders(&[owner.clone(), other.clone()], &key) == 1
    })
    .await;
}

async fn ended_unnoticed(env: Env) {
    let fleets = env.fleets(2, "eu", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-unnoticed").unwrap();
    let first = fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    // The agent ends (idle timeout, a stop elsewhere) and no notice reaches the fleet.
    let outsider = support::client(&env.emu, shengwang_agent::RetryPolicy::none());
    outsider.stop_agent(&first.agent_id).await.unwrap();
    // A recent record is trusted; age it past the minute.
    let mut conn = env.redis.conn().await;
    let rec = format!("eu:{{s:{}}}:rec", hex::encode("room-unnoticed"));
    let _: () = redis::cmd("HSET")
        .arg(&rec)
        .arg("updated_ms")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    let second = fleets[1]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    assert_ne!(second.agent_id, first.agent_id);
    assert_eq!(env.alive("room-unnoticed"), vec![second.agent_id.clone()]);
    eventually("the old owner let go", Duration::from_secs(5), || async {
        fleets[0].session(&key).is_none()
    })
    .await;
    assert_eq!(holders(&fleets, &key), 1);
}

async fn notice_routing(env: Env) {
    let fleets = env.fleets(3, "n", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-notice").unwrap();
    let agent = fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    let session = fleets[0].session(&key).unwrap();
    let err_body = notice(110, "n-err", &agent.agent_id, "room-notice");
    fleets[1]
        .record_notice(&err_body, &parse(&err_body))
        .await
        .unwrap();
    let body = notice(102, "n-left", &agent.agent_id, "room-notice");
    let t0 = Instant::now();
    fleets[1].record_notice(&body, &parse(&body)).await.unwrap();
    eventually(
        "the owner's session to stop",
        Duration::from_secs(1),
        || async { session.status() == SessionState::Stopped },
    )
    .await;
    println!("notice applied after {:?}", t0.elapsed());
    let events = fleets[2].get(&key).await.unwrap().unwrap();
    assert_eq!(events.state, SessionState::Stopped);
    let kinds: Vec<_> = events.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "agent_left").count(),
        1,
        "{kinds:?}"
    );
    // The same notice again, through another process: nothing changes.
    fleets[2].record_notice(&body, &parse(&body)).await.unwrap();
    fleets[0].record_notice(&body, &parse(&body)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fleets[1].get(&key).await.unwrap().unwrap().events,
        events.events
    );
}

async fn redis_restart(mut env: Env) {
    let fleets = env.fleets(3, "r", OnOrphan::Adopt).await;
    let keys: Vec<FleetKey> = (0..3)
        .map(|i| FleetKey::new(format!("room-r{i}")).unwrap())
        .collect();
    let mut agents = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        agents.push(
            fleets[i]
                .start(StartSpec::new(k.clone(), "1001", ["2002"]))
                .await
                .unwrap(),
        );
    }
    let extra = FleetKey::new("room-r-stop").unwrap();
    fleets[0]
        .start(StartSpec::new(extra.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    env.redis.kill();
    // Redis down: no start creates an agent, a notice is refused, a held agent still stops.
    let e = fleets[1]
        .start(StartSpec::new(
            FleetKey::new("room-r-new").unwrap(),
            "1001",
            ["2002"],
        ))
        .await
        .unwrap_err();
    assert!(e.is_fleet_unavailable(), "{e}");
    assert!(env.alive("room-r-new").is_empty());
    let body = notice(110, "n-down", &agents[0].agent_id, "room-r0");
    assert!(fleets[0]
        .record_notice(&body, &parse(&body))
        .await
        .unwrap_err()
        .is_fleet_unavailable());
    fleets[0].stop(&extra).await.unwrap().unwrap();
    assert!(env.alive("room-r-stop").is_empty());
    env.redis = Redis::start(Some(env.redis.port), &[]).unwrap();
    for (i, k) in keys.iter().enumerate() {
        let owner = fleets[i].instance().to_owned();
        eventually("the record re-established", Duration::from_secs(10), || async {
            matches!(fleets[(i + 1) % 3].get(k).await, Ok(Some(r)) if r.owner == owner && r.state == SessionState::Running)
        })
        .await;
    }
    for (i, k) in keys.iter().enumerate() {
        let again = fleets[(i + 1) % 3]
            .start(StartSpec::new(k.clone(), "1001", ["2002"]))
            .await
            .unwrap();
        assert_eq!(again.agent_id, agents[i].agent_id, "no duplicate");
        assert_eq!(env.alive(k.as_str()), vec![agents[i].agent_id.clone()]);
        assert_eq!(holders(&fleets, k), 1);
    }
    assert!(
        fleets[0].get(&extra).await.unwrap().is_none(),
        "a stopped agent is not recreated"
    );
    // Notices work again.
    fleets[0].record_notice(&body, &parse(&body)).await.unwrap();
}

async fn hygiene(env: Env) {
    let fleets = env.fleets(3, "hyg", OnOrphan::Adopt).await;
    let key = FleetKey::new("room {tag} 1").unwrap();
    let agent = fleets[0]
        .start(StartSpec::new(key.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    fleets[1].speak(&key, "routed", None).await.unwrap();
    let body = notice(110, "n-h", &agent.agent_id, key.as_str());
    fleets[2].record_notice(&body, &parse(&body)).await.unwrap();
    let other = FleetKey::new("room-h2").unwrap();
    fleets[1]
        .start(StartSpec::new(other.clone(), "1001", ["2002"]))
        .await
        .unwrap();
    fleets[1].stop(&other).await.unwrap();
    fleets[0]
        .drain(Drain::Handover, Duration::from_secs(5))
        .await;
    eventually("the handover", Duration::from_secs(3), || async {
        holders(&fleets[1..], &key) == 1
    })
    .await;
    let mut conn = env.redis.conn().await;
    let all = scan(&mut conn, "*").await;
    assert!(all.len() >= 8, "{all:?}");
    for k in &all {
        assert!(k.starts_with("hyg:"), "every key under the prefix: {k}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{k} has no TTL ({ttl})");
        let text = value_text(&mut conn, k).await;
        assert!(!text.contains(VENDOR_SENTINEL), "a vendor key in {k}");
    }
    // The keys one operation touches share one slot: a session's, a process's, the fleet's.
    let mut by_tag = std::collections::HashMap::<String, Vec<u16>>::new();
    for k in &all {
        let tag = k[k.find('{').unwrap()..=k.find('}').unwrap()].to_owned();
        by_tag.entry(tag).or_default().push(key_slot(k));
    }
    for (tag, slots) in &by_tag {
        assert!(slots.windows(2).all(|w| w[0] == w[1]), "{tag}: {slots:?}");
    }
    assert!(
        by_tag.keys().any(|t| t.starts_with("{s:")) && by_tag.keys().any(|t| t.starts_with("{p:"))
    );
}

async fn too_new(env: Env) {
    let fleets = env.fleets(1, "v", OnOrphan::Adopt).await;
    let key = FleetKey::new("room-v").unwrap();
    let mut conn = env.redis.conn().await;
    let rec = format!("v:{{s:{}}}:rec", hex::encode("room-v"));
    let _: () = redis::cmd("HSET")
        .arg(&rec)
        .arg("v")
        .arg(99)
        .arg("owner")
        .arg("x")
        .arg("state")
        .arg("running")
        .query_async(&mut conn)
        .await
        .unwrap();
    let e = fleets[0].get(&key).await.unwrap_err();
    assert!(matches!(e, Error::RecordTooNew { found: 99, .. }), "{e}");
    let e = fleets[0]
        .start(StartSpec::new(key, "1001", ["2002"]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::RecordTooNew { found: 99, .. }), "{e}");
    assert!(env.alive("room-v").is_empty());
}

async fn password(env: Env) {
    const PASS: &str = "PASS-SENTINEL-7f3a";
    let guarded = Redis::start(None, &["--requirepass", PASS]).unwrap();
    let url = format!("redis://:{PASS}@127.0.0.1:{}/0", guarded.port);
    let r = RedisFleet::connect(&url).await.unwrap();
    assert!(!format!("{r:?}").contains(PASS), "{r:?}");
    assert!(format!("{r:?}").contains(&format!("127.0.0.1:{}/0", guarded.port)));
    let fleet = env.fleet_with(r, "pw", "pw-1", OnOrphan::Adopt).await;
    assert!(!format!("{fleet:?}").contains(PASS));
    let wrong = format!("redis://:WRONG-{PASS}@127.0.0.1:{}/0", guarded.port);
    match RedisFleet::connect(&wrong).await {
        Ok(r) => {
            let e = env.try_fleet_with(r, "pw").await.unwrap_err();
            assert!(
                !e.to_string().contains(PASS) && !format!("{e:?}").contains(PASS),
                "{e:?}"
            );
        }
        Err(e) => assert!(
            !e.to_string().contains(PASS) && !format!("{e:?}").contains(PASS),
            "{e:?}"
        ),
    }
    let e = RedisFleet::connect(&format!("redis://:{PASS}@[bad"))
        .await
        .unwrap_err();
    assert!(!e.to_string().contains(PASS), "{e}");
    drop(guarded);
    let e = fleet
        .start(StartSpec::new(
            FleetKey::new("room-pw").unwrap(),
            "1",
            ["2"],
        ))
        .await
        .unwrap_err();
    assert!(
        !e.to_string().contains(PASS) && !format!("{e:?}").contains(PASS),
        "{e:?}"
    );
}
