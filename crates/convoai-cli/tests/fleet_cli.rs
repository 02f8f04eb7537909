//! `convoai serve` as a fleet: three replicas sharing a real redis-server (no persistence) and
//! an emulator, all child processes on loopback. What is asserted is what a user notices: the
//! emulator's agent list is the truth for "how many agents run", the replicas' answers for who
//! owns what. Without redis-server these tests are reported as ignored with the reason (failing
//! in CI). The soak runs only with `--ignored`.
//!
//! Figures (takeover times and the like) are printed on stderr: `--nocapture` is not needed.

#[path = "support/fleet.rs"]
mod fleet;
#[path = "../../convoai-emulator/tests/support/harness.rs"]
mod harness;
mod support;
// Takeover figures for `bench/fleet.sh` (`bench_takeover`, only with `--ignored`).
#[path = "fleet_cli/bench.rs"]
mod bench;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet::*;
use harness::{needs, Missing};
use serde_json::{json, Value};

/// `--lease` of the replicas, in seconds.
const LEASE: Duration = Duration::from_secs(2);
/// Slack for a loaded 2-core CI machine on top of a documented bound.
const SLACK: Duration = Duration::from_secs(6);

fn main() {
    let mut trials = vec![
        needs("concurrent_starts_on_three_replicas_make_one_agent", || {
            timed("1", concurrent_starts_on_three_replicas_make_one_agent)
        }),
        needs("sigkill_owner_adopt_keeps_the_agent_running", || {
            timed("2a", || sigkill_owner_is_taken_over("adopt"))
        }),
        needs("sigkill_owner_stop_policy_stops_the_agent", || {
            timed("2b", || sigkill_owner_is_taken_over("stop"))
        }),
        needs(
            "owner_restarted_under_the_same_name_keeps_its_agent",
            || timed("2c", owner_restarted_under_the_same_name_keeps_its_agent),
        ),
        needs("sigstop_owner_is_fenced_after_takeover", || {
            timed("3", sigstop_owner_is_fenced_after_takeover)
        }),
        needs("notice_to_non_owner_reaches_the_owner", || {
            timed("4", notice_to_non_owner_reaches_the_owner)
        }),
        needs(
            "notice_recorded_then_owner_dies_is_applied_by_another",
            || timed("5", notice_recorded_then_owner_dies_is_applied_by_another),
        ),
        needs("redis_restart_under_traffic_loses_nothing", || {
            timed("6", redis_restart_under_traffic_loses_nothing)
        }),
        needs("sigterm_hands_the_agent_over", || {
            timed("7", sigterm_hands_the_agent_over)
        }),
    ];
    trials.push(
        needs("soak_kills_restarts_and_redis_restarts", || {
            timed("8", soak_kills_restarts_and_redis_restarts)
        })
        .with_ignored_flag(true),
    );
    trials.push(needs("bench_takeover", bench::bench_takeover).with_ignored_flag(true));
    trials.push(harness::test(
        "redis_password_is_never_printed",
        redis_password_is_never_printed,
    ));
    trials.push(harness::ci_definition());
    harness::run(trials)
}

/// Runs a test, printing how long it took.
fn timed(label: &str, test: impl FnOnce() -> Result<(), Missing>) -> Result<(), Missing> {
    let t = Instant::now();
    let r = test();
    eprintln!(
        "[fleet test {label}] took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    r
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// The index of the replica named `name`.
fn index_of(f: &Fleet, name: &str) -> usize {
    f.replicas
        .iter()
        .position(|r| r.name == name)
        .unwrap_or_else(|| panic!("no replica named {name:?}"))
}

/// Polls GET on `via` until `accept` holds (bounded): the answer and the time it took.
fn poll_get(
    via: &Replica,
    channel: &str,
    bound: Duration,
    accept: impl Fn(&Value) -> bool,
) -> Option<(Value, Duration)> {
    let t = Instant::now();
    let deadline = t + bound;
    let mut last = Value::Null;
    loop {
        if let Ok((200, v)) = via.get(channel) {
            if accept(&v) {
                return Some((v, t.elapsed()));
            }
            last = v;
        }
        if Instant::now() > deadline {
            eprintln!("last GET {channel} on {}: {last}", via.name);
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the events of a GET answer hold one with a kind containing one of `words`.
fn has_event(v: &Value, words: &[&str]) -> bool {
    v["events"].as_array().is_some_and(|events| {
        events.iter().any(|e| {
            let kind = str_of(e, "kind").to_ascii_lowercase();
            words.iter().any(|w| kind.contains(w))
        })
    })
}

fn events_len(v: &Value) -> usize {
    v["events"].as_array().map_or(0, Vec::len)
}

// 1 -------------------------------------------------------------------------------------------

fn concurrent_starts_on_three_replicas_make_one_agent() -> Result<(), Missing> {
    let f = Fleet::start(3, ServeOpts::default())?;
    for round in 0..4 {
        let channel = format!("c1-{round}");
        let answers: Vec<(String, Value)> = std::thread::scope(|s| {
            let calls: Vec<_> = f
                .replicas
                .iter()
                .flat_map(|r| [r, r])
                .map(|r| {
                    let channel = channel.clone();
                    s.spawn(move || (r.name.clone(), r.start(&channel)))
                })
                .collect();
            calls
                .into_iter()
                .map(|c| {
                    let (name, answer) = c.join().expect("caller thread");
                    let (status, v) = answer.expect("replica answers");
                    assert_eq!(status, 200, "{name}: {v}");
                    (name, v)
                })
                .collect()
        });
        let id = str_of(&answers[0].1, "agent_id").to_owned();
        assert!(!id.is_empty(), "{answers:?}");
        for (name, v) in &answers {
            assert_eq!(str_of(v, "agent_id"), id, "{name} answered {v}");
            assert_eq!(str_of(v, "channel"), channel);
        }
        assert_eq!(f.emu.running_in(&channel), vec![id.clone()], "{channel}");
        // Every replica names the same agent and owner afterwards.
        let owners: HashSet<String> = f
            .replicas
            .iter()
            .map(|r| {
                let (status, v) = r.get(&channel).expect("GET");
                assert_eq!((status, str_of(&v, "agent_id")), (200, id.as_str()), "{v}");
                str_of(&v, "owner").to_owned()
            })
            .collect();
        assert_eq!(owners.len(), 1, "{owners:?}");
    }
    // Four channels, four agents: nothing else was started.
    assert_eq!(f.emu.agents().len(), 4);
    any_replica_speaks_refuses_conflicts_and_stops(&f, "c1-0");
    Ok(())
}

/// Speak and stop through replicas that do not own the agent; a start asking for other
/// remote uids is refused, naming the difference.
fn any_replica_speaks_refuses_conflicts_and_stops(f: &Fleet, channel: &str) {
    let (_, v) = f.replicas[0].get(channel).expect("GET");
    let (id, owner) = (
        str_of(&v, "agent_id").to_owned(),
        str_of(&v, "owner").to_owned(),
    );
    let others = f.others(&owner);
    let path = format!("/v1/channels/{channel}/agent");
    let (status, body) = others[0]
        .call("POST", &path, r#"{"remote_uids": ["3003"]}"#)
        .expect("answers");
    assert_eq!(status, 409, "{body}");
    assert!(str_of(&body, "message").contains("remote_uids"), "{body}");
    let (seq, _) = f.emu.log(0, None);
    let speak = format!("{path}/speak");
    let (status, body) = others[0]
        .call(
            "POST",
            &speak,
            r#"{"text": "routed-hello", "priority": "append"}"#,
        )
        .expect("answers");
    assert_eq!(status, 200, "{body}");
    let (_, entries) = f.emu.log(seq, Some(&id));
    assert!(
        entries
            .iter()
            .any(|e| str_of(e, "path").ends_with("/speak") && e["status"] == 200),
        "{entries:#?}"
    );
    let (status, body) = others[1].call("DELETE", &path, "").expect("answers");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (str_of(&body, "agent_id"), str_of(&body, "state")),
        (id.as_str(), "stopped")
    );
    assert!(f.emu.running_in(channel).is_empty());
    assert_eq!(others[0].call("DELETE", &path, "").map(|a| a.0), Ok(404));
    let owner_r = f.by_name(&owner).expect("owner");
    let stopped = poll_get(owner_r, channel, Duration::from_secs(5), |v| {
        str_of(v, "state") == "stopped"
    });
    assert!(stopped.is_some(), "the owner still shows the agent running");
    let (status, body) = others[0]
        .call("POST", &speak, r#"{"text": "too late"}"#)
        .expect("answers");
    assert_eq!(status, 404, "{body}");
}

// 2 -------------------------------------------------------------------------------------------

fn sigkill_owner_is_taken_over(policy: &'static str) -> Result<(), Missing> {
    let opts = ServeOpts {
        on_orphan: policy,
        ..ServeOpts::default()
    };
    let mut f = Fleet::start(3, opts)?;
    let channel = "c2";
    let v = f.start_on(0, channel);
    let id = str_of(&v, "agent_id").to_owned();
    let owner = str_of(&v, "owner").to_owned();
    let i = index_of(&f, &owner);
    f.replicas[i].kill();
    let other = f.others(&owner)[0];
    let reaper = LEASE / 3;
    let bound = LEASE + reaper + SLACK;
    let want = if policy == "adopt" {
        "running"
    } else {
        "stopped"
    };
    let taken = poll_get(other, channel, bound, |v| {
        let new_owner = str_of(v, "owner");
        str_of(v, "state") == want && !new_owner.is_empty() && new_owner != owner
    });
    let Some((v, took)) = taken else {
        panic!("not taken over within {bound:?} ({policy})");
    };
    eprintln!(
        "[fleet test 2 {policy}] takeover after SIGKILL: {} ms (lease {} ms + reaper {} ms)",
        took.as_millis(),
        LEASE.as_millis(),
        reaper.as_millis()
    );
    assert_eq!(str_of(&v, "agent_id"), id, "{v}");
    // Settle for a lease: a second taker would show by now.
    std::thread::sleep(LEASE + reaper);
    let running = f.emu.running_in(channel);
    if policy == "adopt" {
        assert_eq!(running, vec![id.clone()], "adopted: still running, once");
        let (status, now) = other.get(channel).expect("GET");
        assert_eq!((status, str_of(&now, "state")), (200, "running"), "{now}");
        assert_eq!(str_of(&now, "owner"), str_of(&v, "owner"), "one taker");
    } else {
        assert!(running.is_empty(), "stop policy: stopped, {running:?}");
    }
    assert_eq!(f.emu.agents().len(), 1, "no second agent started");
    Ok(())
}

/// A replica killed and restarted at once under the same `--instance` (a StatefulSet pod):
/// its heartbeat never lapses, yet its agent must not be left without an owner that holds it.
fn owner_restarted_under_the_same_name_keeps_its_agent() -> Result<(), Missing> {
    let mut f = Fleet::start(3, ServeOpts::default())?;
    let channel = "c2c";
    let v = f.start_on(0, channel);
    let id = str_of(&v, "agent_id").to_owned();
    assert_eq!(str_of(&v, "owner"), "r1");
    f.replicas[0].kill();
    let again = f.spawn_named("r1", &[]);
    f.replicas[0] = again;
    // Someone holds the agent: a speak through another replica reaches it.
    let speak = format!("/v1/channels/{channel}/agent/speak");
    let bound = LEASE + LEASE / 3 + SLACK;
    let t = Instant::now();
    let mut last = None;
    let spoken = wait_for(bound, || {
        match f.replicas[1].call("POST", &speak, r#"{"text": "still there?"}"#) {
            Ok((200, _)) => Some(()),
            other => {
                last = Some(other);
                None
            }
        }
    });
    assert!(
        spoken.is_some(),
        "nobody acts for the agent {bound:?} after its owner restarted under its name; \
         last answer {last:?}; GET {:?}",
        f.replicas[2].get(channel)
    );
    eprintln!(
        "[fleet test 2c] same-name restart: the agent answers again after {} ms",
        t.elapsed().as_millis()
    );
    assert_eq!(f.emu.running_in(channel), vec![id]);
    Ok(())
}

// 3 -------------------------------------------------------------------------------------------

/// The owner authenticates with Basic credentials, the others with tokens: the emulator's
/// request log (which records the scheme) tells the old owner's requests from the new one's.
fn sigstop_owner_is_fenced_after_takeover() -> Result<(), Missing> {
    let mut f = Fleet::start(0, ServeOpts::default())?;
    let (cid, secret) = (f.emu.customer_id.clone(), f.emu.customer_secret.clone());
    let basic = [
        ("SHENGWANG_CUSTOMER_ID", cid.as_str()),
        ("SHENGWANG_CUSTOMER_SECRET", secret.as_str()),
    ];
    let r1 = f.spawn(&basic);
    f.replicas.push(r1);
    for _ in 0..2 {
        let r = f.spawn(&[]);
        f.replicas.push(r);
    }
    let channel = "c3";
    let v = f.start_on(0, channel);
    assert_eq!(str_of(&v, "owner"), "r1", "{v}");
    let id = str_of(&v, "agent_id").to_owned();
    // The next /speak is held by the emulator for 8 s.
    f.emu.push_rule(
        json!({"method": "POST", "path_contains": "/speak", "times": 1,
                          "fault": {"kind": "delay", "ms": 8000}}),
    );
    let speak = format!("/v1/channels/{channel}/agent/speak");
    let held = {
        let (addr, path) = (f.replicas[0].addr.clone(), speak.clone());
        std::thread::spawn(move || call(&addr, "POST", &path, r#"{"text": "held-speak"}"#))
    };
    std::thread::sleep(Duration::from_millis(700));
    let (before_stop, _) = f.emu.log(0, None);
    f.replicas[0].signal("STOP");
    let bound = LEASE + LEASE / 3 + SLACK;
    let taken = poll_get(&f.replicas[1], channel, bound, |v| {
        let o = str_of(v, "owner");
        !o.is_empty() && o != "r1" && str_of(v, "state") == "running"
    });
    let (v, took) = taken.unwrap_or_else(|| panic!("no takeover within {bound:?}"));
    eprintln!(
        "[fleet test 3] takeover of a stopped owner: {} ms",
        took.as_millis()
    );
    assert_eq!(str_of(&v, "agent_id"), id);
    // A speak sent to the old owner while it is stopped: read when it is continued.
    let queued = {
        let (addr, path) = (f.replicas[0].addr.clone(), speak.clone());
        std::thread::spawn(move || call(&addr, "POST", &path, r#"{"text": "queued-speak"}"#))
    };
    std::thread::sleep(Duration::from_millis(500));
    f.replicas[0].signal("CONT");
    let held = held.join().expect("held caller");
    let queued = queued.join().expect("queued caller");
    eprintln!("[fleet test 3] held speak answered {held:?}; queued speak answered {queued:?}");
    // Time for the old owner to act, if it wrongly would: two leases.
    std::thread::sleep(LEASE * 2);
    let (_, entries) = f.emu.log(before_stop, Some(&id));
    let from_old: Vec<&Value> = entries
        .iter()
        .filter(|e| str_of(e, "auth") == "Basic")
        .collect();
    let held_only = from_old.len() == 1
        && str_of(from_old[0], "path").ends_with("/speak")
        && from_old[0]["body"].to_string().contains("held-speak");
    assert!(
        from_old.is_empty() || held_only,
        "the old owner acted after the takeover: {from_old:#?}"
    );
    assert_eq!(f.emu.running_in(channel), vec![id.clone()]);
    // The old owner itself knows it no longer owns the agent, and says so.
    let (status, now) = f.replicas[0].get(channel).expect("GET on the old owner");
    assert_eq!(status, 200);
    assert_ne!(str_of(&now, "owner"), "r1", "{now}");
    let logs = f.replicas[0].logs().to_ascii_lowercase();
    assert!(
        logs.lines()
            .any(|l| l.contains("warn") && l.contains("fenced")),
        "the old owner did not warn that it was fenced:\n{logs}"
    );
    Ok(())
}

/// A request with the bearer key to `addr`: (status, body) or why none came.
fn call(addr: &str, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let auth = format!("Bearer {API_KEY}");
    http(
        addr,
        method,
        path,
        &[("Authorization", &auth)],
        body,
        Duration::from_secs(60),
    )
}

// 4 -------------------------------------------------------------------------------------------

fn notice_to_non_owner_reaches_the_owner() -> Result<(), Missing> {
    let f = Fleet::start(3, ServeOpts::default())?;
    let channel = "c4";
    let v = f.start_on(0, channel);
    let id = str_of(&v, "agent_id").to_owned();
    let owner = str_of(&v, "owner").to_owned();
    let owner_r = f.by_name(&owner).expect("owner runs");
    let non_owner = f.others(&owner)[0];
    let (_, before) = owner_r.get(channel).expect("GET");
    let body = notice_body("n4-left", 102, &id, channel);
    let t = Instant::now();
    assert_eq!(non_owner.notice(&body), Ok(200));
    let seen = poll_get(owner_r, channel, Duration::from_secs(1), |v| {
        str_of(v, "state") != "running" && events_len(v) > events_len(&before)
    });
    let Some((after, _)) = seen else {
        panic!("the owner did not show the notice within 1 s")
    };
    eprintln!(
        "[fleet test 4] notice at a non-owner → owner's state: {} ms",
        t.elapsed().as_millis()
    );
    assert!(has_event(&after, &["left", "leave", "stop"]), "{after}");
    // The same notice again (a resend) through a third replica: a no-op.
    let third = f
        .replicas
        .iter()
        .find(|r| r.name != owner && r.name != non_owner.name)
        .expect("a third replica");
    assert_eq!(third.notice(&body), Ok(200));
    std::thread::sleep(Duration::from_millis(1000));
    let (_, again) = owner_r.get(channel).expect("GET");
    assert_eq!(events_len(&again), events_len(&after), "{again}");
    // A notice with a bad signature is refused.
    let status = http(
        &non_owner.addr,
        "POST",
        "/webhooks",
        &[("Agora-Signature-V2", "00")],
        &body,
        Duration::from_secs(10),
    )
    .map(|(s, _)| s);
    assert_eq!(status, Ok(401));
    Ok(())
}

// 5 -------------------------------------------------------------------------------------------

fn notice_recorded_then_owner_dies_is_applied_by_another() -> Result<(), Missing> {
    let mut f = Fleet::start(0, ServeOpts::default())?;
    let r1 = f.spawn(&[("CONVOAI_FLEET_FAULT", "abort_before_apply")]);
    f.replicas.push(r1);
    for _ in 0..2 {
        let r = f.spawn(&[]);
        f.replicas.push(r);
    }
    let channel = "c5";
    let v = f.start_on(0, channel);
    assert_eq!(str_of(&v, "owner"), "r1", "{v}");
    let id = str_of(&v, "agent_id").to_owned();
    let body = notice_body("n5-error", 110, &id, channel);
    assert_eq!(
        f.replicas[1].notice(&body),
        Ok(200),
        "recorded before the 200"
    );
    // The owner reads it and dies before applying it.
    let died = f.replicas[0].wait_exit(Duration::from_secs(10));
    assert!(died.is_some(), "the fault hook did not end the owner");
    let bound = LEASE + LEASE / 3 + SLACK;
    let applied = poll_get(&f.replicas[1], channel, bound, |v| {
        let o = str_of(v, "owner");
        !o.is_empty() && o != "r1" && has_event(v, &["error"])
    });
    let Some((v, took)) = applied else {
        panic!("the notice was not applied by another process within {bound:?}")
    };
    eprintln!(
        "[fleet test 5] owner died holding a notice → applied elsewhere: {} ms",
        took.as_millis()
    );
    assert_eq!(str_of(&v, "agent_id"), id);
    assert_eq!(f.emu.running_in(channel), vec![id]);
    Ok(())
}

// 6 -------------------------------------------------------------------------------------------

/// Background traffic: starts and reads of `channels` on every replica until stopped.
/// Records every (method, status), and every agent id a 200 named per channel.
struct Traffic {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

type Seen = (
    HashMap<(&'static str, u16), usize>,
    HashMap<String, HashSet<String>>,
);

fn traffic(f: &Fleet, channels: &[String]) -> Traffic {
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let threads = f
        .replicas
        .iter()
        .map(|r| {
            let (addr, stop, seen) = (r.addr.clone(), stop.clone(), seen.clone());
            let channels = channels.to_vec();
            std::thread::spawn(move || {
                let mut k = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let channel = &channels[k % channels.len()];
                    let path = format!("/v1/channels/{channel}/agent");
                    let (method, body) = if k.is_multiple_of(2) {
                        ("POST", r#"{"remote_uids": ["2002"]}"#)
                    } else {
                        ("GET", "")
                    };
                    if let Ok((status, body)) = call(&addr, method, &path, body) {
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        *seen.0.entry((method, status)).or_default() += 1;
                        let id = str_of(&json(&body), "agent_id").to_owned();
                        if status == 200 && !id.is_empty() {
                            seen.1.entry(channel.clone()).or_default().insert(id);
                        }
                    }
                    k += 1;
                    std::thread::sleep(Duration::from_millis(30));
                }
            })
        })
        .collect();
    Traffic {
        stop,
        seen,
        threads,
    }
}

impl Traffic {
    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.clone()
    }
}

fn redis_restart_under_traffic_loses_nothing() -> Result<(), Missing> {
    let mut f = Fleet::start(3, ServeOpts::default())?;
    let channels: Vec<String> = (0..6).map(|i| format!("c6-{i}")).collect();
    let mut ids = HashMap::new();
    for (i, c) in channels.iter().enumerate() {
        let v = f.start_on(i % 3, c);
        ids.insert(c.clone(), str_of(&v, "agent_id").to_owned());
    }
    // An agent its owner is asked to stop while Redis is down.
    let lone = f.start_on(0, "c6-stop");
    assert_eq!(str_of(&lone, "owner"), f.replicas[0].name);
    let load = traffic(&f, &channels);
    std::thread::sleep(Duration::from_millis(500));
    f.redis.kill();
    let t = Instant::now();
    // Every replica says it is not ready, and why; none is restarted by a liveness probe.
    for r in &f.replicas {
        let unready = wait_for(Duration::from_secs(10), || match r.probe("/healthz") {
            Ok((503, v)) if !str_of(&v, "reason").is_empty() => Some(v),
            _ => None,
        });
        assert!(unready.is_some(), "{} still ready without Redis", r.name);
        assert_eq!(r.probe("/livez").map(|a| a.0), Ok(200));
    }
    eprintln!(
        "[fleet test 6] unready after {} ms",
        t.elapsed().as_millis()
    );
    // A start during the outage fails before any agent exists.
    for r in &f.replicas {
        let (status, v) = r.start("c6-new").expect("answers");
        assert_eq!(status, 503, "{}: {v}", r.name);
    }
    assert!(f.emu.running_in("c6-new").is_empty());
    // Live agents are still stopped on request by the process holding them.
    let (status, v) = f.replicas[0]
        .call("DELETE", "/v1/channels/c6-stop/agent", "")
        .expect("answers");
    assert_eq!(status, 200, "stop during the outage: {v}");
    assert!(f.emu.running_in("c6-stop").is_empty());
    // A notice during the outage is not acknowledged: the service will resend it.
    let notice = notice_body("n6-error", 110, &ids["c6-0"], "c6-0");
    assert_ne!(f.replicas[1].notice(&notice), Ok(200));
    std::thread::sleep(LEASE + LEASE / 2);
    for r in &f.replicas {
        assert_eq!(r.probe("/livez").map(|a| a.0), Ok(200), "{}", r.name);
    }
    f.redis.restart();
    let t = Instant::now();
    for r in &f.replicas {
        let ready = wait_for(Duration::from_secs(15), || match r.probe("/healthz") {
            Ok((200, _)) => Some(()),
            _ => None,
        });
        assert!(
            ready.is_some(),
            "{} not ready after Redis came back",
            r.name
        );
    }
    // The records come back (re-established by their owners), naming the same agents.
    for c in &channels {
        let back = poll_get(
            &f.replicas[(t.elapsed().as_millis() % 3) as usize],
            c,
            SLACK * 2,
            |v| str_of(v, "agent_id") == ids[c] && !str_of(v, "owner").is_empty(),
        );
        assert!(back.is_some(), "{c}: record not re-established");
    }
    eprintln!(
        "[fleet test 6] records back {} ms after the restart",
        t.elapsed().as_millis()
    );
    // The service resends the notice: now recorded and applied.
    assert_eq!(f.replicas[2].notice(&notice), Ok(200));
    let applied = poll_get(&f.replicas[0], "c6-0", Duration::from_secs(5), |v| {
        has_event(v, &["error"])
    });
    assert!(applied.is_some(), "the resent notice was not applied");
    let (statuses, named) = load.finish();
    eprintln!("[fleet test 6] traffic statuses: {statuses:?}");
    // Starts succeed or say to retry (503). A read may also find no record (404) in the
    // moment between Redis coming back empty and the owner writing its records again.
    for ((method, status), n) in &statuses {
        let fine = matches!(status, 200 | 503) || (*method == "GET" && *status == 404);
        assert!(fine, "{n} {method} answered {status}");
    }
    for (c, seen) in &named {
        assert_eq!(
            seen.len(),
            1,
            "{c}: callers were given several agents: {seen:?}"
        );
    }
    // No duplicate, no orphan: one running agent per channel, the one the fleet names.
    assert_eq!(f.start_on(0, "c6-new")["state"], "running");
    let running = running_by_channel(&f.emu.agents());
    for c in &channels {
        assert_eq!(running.get(c), Some(&vec![ids[c].clone()]), "{c}");
    }
    assert_eq!(
        running.values().map(Vec::len).sum::<usize>(),
        channels.len() + 1
    );
    Ok(())
}

// 7 -------------------------------------------------------------------------------------------

fn sigterm_hands_the_agent_over() -> Result<(), Missing> {
    let mut f = Fleet::start(3, ServeOpts::default())?;
    let channel = "c7";
    let v = f.start_on(0, channel);
    let id = str_of(&v, "agent_id").to_owned();
    let owner = str_of(&v, "owner").to_owned();
    let i = index_of(&f, &owner);
    let t = Instant::now();
    f.replicas[i].signal("TERM");
    let other = f.others(&owner)[0];
    let handed = poll_get(other, channel, Duration::from_secs(10), |v| {
        let o = str_of(v, "owner");
        !o.is_empty() && o != owner && str_of(v, "state") == "running"
    });
    let Some((v, took)) = handed else {
        panic!("not handed over within 10 s")
    };
    eprintln!(
        "[fleet test 7] handover after SIGTERM: {} ms",
        took.as_millis()
    );
    assert_eq!(str_of(&v, "agent_id"), id, "the agent keeps its id");
    assert!(
        took <= Duration::from_secs(1) + SLACK / 6,
        "handover took {took:?} (goal 1 s)"
    );
    let status =
        f.replicas[i].wait_exit(Duration::from_secs(10) - t.elapsed().min(Duration::from_secs(9)));
    let status = status.unwrap_or_else(|| panic!("not exited within 10 s of SIGTERM"));
    assert_eq!(status.code(), Some(0));
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(f.emu.running_in(channel), vec![id]);
    assert_eq!(f.emu.agents().len(), 1);
    Ok(())
}

// 8 -------------------------------------------------------------------------------------------

/// Channels of the soak (`CONVOAI_SOAK_CHANNELS`, default 1000).
fn soak_channels() -> usize {
    std::env::var("CONVOAI_SOAK_CHANNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1000)
}

/// A pseudo-random sequence (xorshift), seeded from `CONVOAI_SOAK_SEED` (printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn soak_kills_restarts_and_redis_restarts() -> Result<(), Missing> {
    let n = soak_channels();
    let seed = std::env::var("CONVOAI_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_u64);
    eprintln!("[fleet soak] {n} channels, seed {seed}");
    let opts = ServeOpts {
        extra: vec!["--max-agents".into(), (n * 2).to_string()],
        ..ServeOpts::default()
    };
    let mut f = Fleet::start(3, opts)?;
    let mut rng = Rng(seed | 1);
    let channels: Vec<String> = (0..n).map(|i| format!("soak-{i}")).collect();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut owners: HashMap<String, String> = HashMap::new();
    let (mut notices, mut lost) = (0, 0);
    let mut disruptions = Vec::new();
    let t = Instant::now();
    for (k, c) in channels.iter().enumerate() {
        if k > 0 && k.is_multiple_of((n / 10).max(1)) {
            let (what, victim) = disrupt(&mut f, &mut rng, disruptions.len());
            disruptions.push(what);
            // A notice for one of the dead process's agents, delivered before the takeover:
            // recorded in the dead owner's inbox, recovered by the process taking over.
            if let Some(c) = victim.and_then(|v| owners.iter().find(|o| *o.1 == v)) {
                notices += 1;
                let id = &ids[c.0];
                lost += usize::from(!notice_applied(
                    &f,
                    c.0,
                    id,
                    &format!("soak-v{k}"),
                    &mut rng,
                ));
            }
            if what == "kill" {
                // One failure at a time: the takeover is over before anything else fails.
                std::thread::sleep(LEASE + LEASE / 3 + Duration::from_secs(1));
            }
        }
        let v = start_somewhere(&f, c, &mut rng);
        ids.insert(c.clone(), str_of(&v, "agent_id").to_owned());
        owners.insert(c.clone(), str_of(&v, "owner").to_owned());
        if k.is_multiple_of(10) {
            notices += 1;
            lost += usize::from(!notice_applied(
                &f,
                c,
                &ids[c],
                &format!("soak-n{k}"),
                &mut rng,
            ));
        }
    }
    eprintln!(
        "[fleet soak] {n} started in {:.1} s through {disruptions:?}",
        t.elapsed().as_secs_f64()
    );
    // Settle: every takeover done.
    std::thread::sleep(LEASE * 3);
    let (orphaned, duplicated) = soak_figures(&f, &channels, &ids);
    eprintln!(
        "[fleet soak] figures: {n} channels, {notices} notices, {} disruptions: {orphaned} \
         orphaned, {duplicated} duplicated, {lost} lost",
        disruptions.len()
    );
    assert_eq!((orphaned, duplicated, lost), (0, 0, 0));
    Ok(())
}

/// Starts `c` through a random live replica, retrying (bounded) through 503s and dead ones.
fn start_somewhere(f: &Fleet, c: &str, rng: &mut Rng) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = &f.replicas[rng.next(f.replicas.len())];
        if let Ok((200, v)) = r.start(c) {
            return v;
        }
        assert!(Instant::now() < deadline, "{c}: no replica started it");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Delivers an agent-error notice for `c` as the service would, then waits (lease + reaper +
/// slack) for the channel to show it: whether it was applied.
fn notice_applied(f: &Fleet, c: &str, id: &str, notice_id: &str, rng: &mut Rng) -> bool {
    let body = notice_body(notice_id, 110, id, c);
    deliver(f, &body, rng);
    let bound = LEASE + LEASE / 3 + SLACK;
    let seen = wait_for(bound, || match f.replicas[rng.next(3)].get(c) {
        Ok((200, v)) => v["events"]
            .as_array()
            .is_some_and(|e| {
                e.iter()
                    .any(|e| e["detail"].to_string().contains(notice_id))
            })
            .then_some(()),
        _ => None,
    });
    if seen.is_none() {
        eprintln!("[fleet soak] {c}: notice {notice_id} not shown within {bound:?}");
    }
    seen.is_some()
}

/// Delivers a notice as the service would: resent until some replica answers 200.
fn deliver(f: &Fleet, body: &str, rng: &mut Rng) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = &f.replicas[rng.next(f.replicas.len())];
        if r.notice(body) == Ok(200) {
            return;
        }
        assert!(Instant::now() < deadline, "a notice was never acknowledged");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One disruption: SIGKILL + a new replica, SIGTERM + a new replica, or a Redis restart;
/// what it did, and the name of a killed replica. One failure at a time: after a SIGKILL the
/// soak goes on only once the lease and a reaper pass are over (the takeover done). A
/// process dying and Redis losing its data within one lease is a double failure no record
/// survives; that is what the agents' idle timeout is for.
fn disrupt(f: &mut Fleet, rng: &mut Rng, round: usize) -> (&'static str, Option<String>) {
    // Every kind in turn (the victims are random), so each run has all three.
    match round % 3 {
        0 => {
            let i = rng.next(f.replicas.len());
            f.replicas[i].kill();
            let victim = f.replicas[i].name.clone();
            let r = f.spawn(&[]);
            f.replicas[i] = r;
            ("kill", Some(victim))
        }
        1 => {
            let i = rng.next(f.replicas.len());
            f.replicas[i].signal("TERM");
            let exited = f.replicas[i].wait_exit(Duration::from_secs(12));
            assert!(exited.is_some_and(|s| s.success()), "drain did not exit 0");
            let r = f.spawn(&[]);
            f.replicas[i] = r;
            ("term", None)
        }
        _ => {
            f.redis.kill();
            std::thread::sleep(Duration::from_millis(500));
            f.redis.restart();
            ("redis", None)
        }
    }
}

/// (orphaned, duplicated): running agents no channel names or whose channel has no live
/// owner; channels with more than one running agent.
fn soak_figures(f: &Fleet, channels: &[String], ids: &HashMap<String, String>) -> (usize, usize) {
    let running = running_by_channel(&f.emu.agents());
    let live: HashSet<&str> = f.replicas.iter().map(|r| r.name.as_str()).collect();
    let mut orphaned = 0;
    let mut duplicated = 0;
    for c in channels {
        let agents = running.get(c).cloned().unwrap_or_default();
        duplicated += usize::from(agents.len() > 1);
        let rec = wait_for(SLACK * 2, || match f.replicas[0].get(c) {
            Ok((200, v)) if live.contains(str_of(&v, "owner")) => Some(v),
            _ => None,
        });
        match rec {
            Some(v) if agents.contains(&str_of(&v, "agent_id").to_owned()) => {
                if str_of(&v, "agent_id") != ids[c] {
                    eprintln!(
                        "[fleet soak] {c}: agent replaced ({} → {})",
                        ids[c], v["agent_id"]
                    );
                }
            }
            other => {
                eprintln!("[fleet soak] {c}: running {agents:?}, record {other:?}");
                orphaned += agents.len().max(1);
            }
        }
    }
    let named: HashSet<&String> = channels.iter().collect();
    orphaned += running
        .iter()
        .filter(|(c, _)| !named.contains(c))
        .map(|(_, a)| a.len())
        .sum::<usize>();
    (orphaned, duplicated)
}

// Secrets -------------------------------------------------------------------------------------

/// A Redis password given in the URL (flag or variable) appears nowhere in what serve prints
/// when Redis cannot be reached.
fn redis_password_is_never_printed() {
    const SENTINEL: &str = "sentinel-redis-password-7731";
    let emu = Emulator::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = support::write(dir.path(), "agent.toml", &support::agent_toml("TEST_KEY"));
    let url = format!("redis://:{SENTINEL}@127.0.0.1:1/0");
    for via_env in [false, true] {
        let mut cmd = std::process::Command::new(convoai_bin());
        cmd.env("SHENGWANG_APP_ID", &emu.app_id)
            .env("SHENGWANG_APP_CERTIFICATE", &emu.app_certificate)
            .env("SHENGWANG_BASE_URL", emu.base_url())
            .env("CONVOAI_SERVE_API_KEY", API_KEY)
            .env("TEST_KEY", "vendor-key")
            .env("TEST_MODEL", "m1")
            .env("RUST_LOG", "debug")
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config);
        if via_env {
            cmd.env("CONVOAI_REDIS_URL", &url);
        } else {
            cmd.args(["--redis", &url]);
        }
        let out = cmd.output().expect("runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{text}");
        assert!(text.to_ascii_lowercase().contains("redis"), "{text}");
        assert!(!text.contains(SENTINEL), "the password was printed: {text}");
    }
}
