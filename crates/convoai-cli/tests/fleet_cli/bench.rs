//! Takeover figures with real processes (`bench_takeover`, only with `--ignored`; run by
//! `bench/fleet.sh`): three `convoai serve` replicas, lease 2 s. The owner of a fresh agent
//! is SIGKILLed (then SIGTERMed, which hands over), and another replica is polled (GET every
//! 20 ms) until it names a new owner with the agent still running; the killed replica is
//! replaced before the next round. Each signal comes after a random pause of up to one
//! heartbeat interval, so the rounds sample the phases of the heartbeat and reaper ticks. Prints a summary and one `FLEET_TAKEOVER_JSON {...}` line
//! on stderr, and writes the JSON to `CONVOAI_BENCH_TAKEOVER_OUT` when set. Rounds per kind:
//! `CONVOAI_BENCH_TAKEOVERS` (default 10).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::fleet::{Fleet, ServeOpts};
use super::harness::Missing;
use super::{poll_get, str_of, LEASE};

/// How long one takeover may take before the round counts as missed.
const GIVE_UP: Duration = Duration::from_secs(20);

fn rounds() -> usize {
    std::env::var("CONVOAI_BENCH_TAKEOVERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10)
}

/// One round: start an agent on replica 0 (which owns it), signal it, time until another
/// replica shows a new owner of the same, running agent; then replace the replica.
fn round(f: &mut Fleet, sig: &str, i: usize) -> Option<Duration> {
    let channel = format!("bench-{}-{i}", sig.to_ascii_lowercase());
    let v = f.start_on(0, &channel);
    let (id, owner) = (
        str_of(&v, "agent_id").to_owned(),
        str_of(&v, "owner").to_owned(),
    );
    assert_eq!(
        owner, f.replicas[0].name,
        "the replica that started it owns it"
    );
    // A random pause of up to one heartbeat interval: otherwise each round's signal keeps
    // the same phase against the replicas' heartbeat and reaper ticks (they are periodic,
    // and every round starts right after the previous takeover was seen), and the figures
    // show one point of the range instead of its spread.
    std::thread::sleep(jitter(LEASE / 3));
    let t = Instant::now();
    if sig == "KILL" {
        f.replicas[0].kill();
    } else {
        f.replicas[0].signal(sig);
    }
    let other = &f.replicas[1];
    let taken = poll_get(other, &channel, GIVE_UP, |v| {
        let o = str_of(v, "owner");
        !o.is_empty() && o != owner && str_of(v, "state") == "running"
    });
    let took = taken.map(|(v, _)| {
        assert_eq!(str_of(&v, "agent_id"), id, "the agent keeps its id");
        t.elapsed()
    });
    if sig == "TERM" {
        let status = f.replicas[0].wait_exit(Duration::from_secs(15));
        assert_eq!(status.and_then(|s| s.code()), Some(0), "SIGTERM exits 0");
    }
    let fresh = f.spawn(&[]);
    f.replicas[0] = fresh;
    // The new replica is last to be asked next round: the survivors keep their order.
    f.replicas.rotate_left(1);
    took
}

/// A pseudo-random duration below `max` (the clock's nanoseconds are random enough here).
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    max.mul_f64(f64::from(nanos % 1_000_003) / 1_000_003.0)
}

fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 / max in ms of `took`, plus the misses.
fn summary(mut took: Vec<Option<Duration>>, goal: Duration) -> Value {
    let missed = took.iter().filter(|t| t.is_none()).count();
    let mut ok: Vec<Duration> = took.drain(..).flatten().collect();
    ok.sort();
    let p50 = ok.get(ok.len().saturating_sub(1) / 2).map(ms);
    let max = ok.last().map(ms);
    json!({"rounds": ok.len() + missed, "missed": missed, "p50_ms": p50, "max_ms": max,
           "goal_ms": ms(&goal), "within_goal": ok.iter().filter(|d| **d <= goal).count(),
           "all_ms": ok.iter().map(ms).collect::<Vec<_>>()})
}

pub fn bench_takeover() -> Result<(), Missing> {
    let n = rounds();
    let mut f = Fleet::start(3, ServeOpts::default())?;
    let reaper = (LEASE / 3).min(Duration::from_secs(5));
    let kill: Vec<_> = (0..n).map(|i| round(&mut f, "KILL", i)).collect();
    let term: Vec<_> = (0..n).map(|i| round(&mut f, "TERM", i)).collect();
    let out = json!({
        "replicas": 3, "lease_ms": ms(&LEASE), "reaper_ms": ms(&reaper),
        "heartbeat_ms": ms(&(LEASE / 3)), "poll_ms": 20,
        "sigkill": summary(kill, LEASE + Duration::from_secs(1)),
        "sigterm_handover": summary(term, Duration::from_secs(1)),
    });
    for (label, key, bound) in [
        ("SIGKILL → new owner", "sigkill", "lease + 1 s"),
        ("SIGTERM (handover) → new owner", "sigterm_handover", "1 s"),
    ] {
        let s = &out[key];
        eprintln!(
            "[fleet bench] {label}: p50 {:.0} ms, max {:.0} ms over {} rounds ({} missed; goal ≤ {bound}; lease {} ms, reaper {} ms)",
            s["p50_ms"].as_f64().unwrap_or(f64::NAN),
            s["max_ms"].as_f64().unwrap_or(f64::NAN),
            s["rounds"],
            s["missed"],
            LEASE.as_millis(),
            reaper.as_millis()
        );
    }
    eprintln!("FLEET_TAKEOVER_JSON {out}");
    if let Ok(path) = std::env::var("CONVOAI_BENCH_TAKEOVER_OUT") {
        std::fs::write(&path, out.to_string()).expect("write the takeover figures");
    }
    assert_eq!(out["sigkill"]["missed"], 0, "every SIGKILL was taken over");
    assert_eq!(
        out["sigterm_handover"]["missed"], 0,
        "every SIGTERM handed over"
    );
    Ok(())
}
