//! Fleet figures (issue #27) for `bench/fleet.sh`, side by side in one run; prints a small
//! table on stderr and one JSON object on stdout.
//!
//! `cargo run --release -p shengwang-agent --features redis --example fleet_bench -- [LIFECYCLES] [NOTICES] [IDLE_SESSIONS]`
//! (defaults 300, 200, 1000)
//!
//! Against the in-process emulator (release build, its own 2-thread runtime) and a
//! `redis-server` child on a free loopback port with persistence off (or `REDIS_URL`):
//!
//! - **start**: LIFECYCLES start → stop lifecycles on a memory fleet and on a Redis fleet,
//!   interleaved (A B, then B A, …) after an uncounted warm-up: start and stop p50/p99 each and
//!   the extra p50 of Redis.
//! - **round trips**: lifecycles of start, one notice (to the owner), stop on a Redis fleet,
//!   counted two ways: `INFO commandstats` (every command Redis executed, the ones inside Lua
//!   scripts and `MULTI`/`EXEC` included) and `MONITOR` (commands sent by the client: a script
//!   call or a `MULTI`…`EXEC` block is one; a pipeline without `MULTI` counts per command, so
//!   this is an upper bound on round trips). The process's idle traffic over the same time is
//!   subtracted.
//! - **idle**: Redis calls per second of one process holding 10, then IDLE_SESSIONS live
//!   sessions (lease 3 s: a beat per second), per process and per heartbeat interval.
//! - **fan-out**: two fleets (two processes, each its own client); NOTICES notices recorded on
//!   the process that does not own the agent: time until the owner's session emits the
//!   notice's event (a subscription on the owner's session), and time until `record_notice`
//!   returned (when the receiver may answer 200).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convoai_emulator::{Emulator, EmulatorHandle};
use futures::StreamExt;
use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid, SessionEvent};
use shengwang_agent::fleet::{AgentSpec, Fleet, FleetKey, RedisFleet, StartSpec};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::{webhooks, Client, RetryPolicy};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct RedisChild(std::process::Child);
impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `REDIS_URL`, or a redis-server without persistence on a free loopback port.
fn redis_server() -> Res<(String, Option<RedisChild>)> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Ok((url, None));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let child = std::process::Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server (or set REDIS_URL): {e}"))?;
    let child = RedisChild(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("redis-server did not listen within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((format!("redis://127.0.0.1:{port}/0"), Some(child)))
}

struct Env {
    emu: EmulatorHandle,
    url: String,
    admin: redis::aio::MultiplexedConnection,
}

impl Env {
    fn client(&self) -> Res<Client> {
        Ok(Client::builder()
            .app_id(self.emu.app_id())
            .app_certificate(self.emu.app_certificate())
            .base_url(self.emu.base_url())
            .retry(RetryPolicy::none())
            .build()?)
    }

    /// A fleet on its own client: memory when `redis` is false.
    async fn fleet(&self, redis: bool, prefix: &str, lease: Duration) -> Res<Fleet> {
        let client = self.client()?;
        let c = client.clone();
        let agent = Agent::new()
            .with_llm(Llm::custom("https://llm.example/v1"))?
            .with_tts(StepFunTts::new("k", "m", "v"))?;
        let mut b = Fleet::builder(client, move |spec: &AgentSpec| {
            Ok(agent
                .create_session(
                    &c,
                    spec.channel.clone(),
                    AgentUid::new(spec.agent_uid.clone()),
                    spec.remote_uids.iter().map(|u| RemoteUid::new(u.clone())),
                )
                .idle_timeout(600))
        })
        .prefix(prefix)
        .lease(lease);
        if redis {
            b = b.redis(RedisFleet::connect(&self.url).await?);
        }
        Ok(b.build().await?)
    }

    /// Calls per command since the server started (`INFO commandstats`), without INFO.
    async fn commandstats(&self) -> Res<HashMap<String, u64>> {
        let mut conn = self.admin.clone();
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await?;
        let mut out = HashMap::new();
        for line in info.lines() {
            let Some((name, rest)) = line
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let calls = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if name != "info" && name != "monitor" {
                out.insert(name.to_owned(), calls);
            }
        }
        Ok(out)
    }
}

fn diff(after: &HashMap<String, u64>, before: &HashMap<String, u64>) -> HashMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn total(m: &HashMap<String, u64>) -> u64 {
    m.values().sum()
}

/// Nearest-rank percentile of `v` (sorted here), in ms.
fn pct(v: &mut [Duration], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i].as_secs_f64() * 1000.0
}

fn spec(key: &str) -> Res<StartSpec> {
    Ok(StartSpec::new(FleetKey::new(key)?, "1001", ["2002"]))
}

/// A signed-notice body of an agent error (110): the agent still runs.
fn error_notice(notice_id: &str, agent_id: &str, channel: &str) -> Vec<u8> {
    json!({"noticeId": notice_id, "productId": 17, "eventType": 110, "notifyMs": 1,
           "payload": {"agent_id": agent_id, "channel": channel, "module": "llm",
                       "code": 500, "message": "bench"}})
    .to_string()
    .into_bytes()
}

async fn notify(fleet: &Fleet, body: &[u8]) -> Res<()> {
    let n = webhooks::parse(body)?;
    fleet.record_notice(body, &n).await?;
    Ok(())
}

// --- start latency ---------------------------------------------------------------------------

#[derive(Default)]
struct Timings {
    start: Vec<Duration>,
    stop: Vec<Duration>,
}

async fn lifecycle(fleet: &Fleet, key: &str, t: Option<&mut Timings>) -> Res<()> {
    let t0 = Instant::now();
    let agent = fleet.start(spec(key)?).await?;
    let started = t0.elapsed();
    let t1 = Instant::now();
    let stopped = fleet.stop(&FleetKey::new(agent.key)?).await?;
    let took = t1.elapsed();
    if stopped.is_none() {
        return Err(format!("{key}: nothing to stop").into());
    }
    if let Some(t) = t {
        t.start.push(started);
        t.stop.push(took);
    }
    Ok(())
}

async fn start_latency(env: &Env, n: usize) -> Res<Value> {
    let memory = env
        .fleet(false, "bench-mem", Duration::from_secs(15))
        .await?;
    let redis = env
        .fleet(true, "bench-lat", Duration::from_secs(15))
        .await?;
    let (mut m, mut r) = (Timings::default(), Timings::default());
    for i in 0..20 {
        lifecycle(&memory, &format!("warm-m{i}"), None).await?;
        lifecycle(&redis, &format!("warm-r{i}"), None).await?;
    }
    for i in 0..n {
        let (km, kr) = (format!("lat-m{i}"), format!("lat-r{i}"));
        if i % 2 == 0 {
            lifecycle(&memory, &km, Some(&mut m)).await?;
            lifecycle(&redis, &kr, Some(&mut r)).await?;
        } else {
            lifecycle(&redis, &kr, Some(&mut r)).await?;
            lifecycle(&memory, &km, Some(&mut m)).await?;
        }
    }
    redis
        .drain(shengwang_agent::fleet::Drain::Stop, Duration::from_secs(5))
        .await;
    let (mp50, rp50) = (pct(&mut m.start, 0.5), pct(&mut r.start, 0.5));
    Ok(json!({
        "lifecycles": n,
        "memory": {"start_p50_ms": mp50, "start_p99_ms": pct(&mut m.start, 0.99),
                   "stop_p50_ms": pct(&mut m.stop, 0.5), "stop_p99_ms": pct(&mut m.stop, 0.99)},
        "redis": {"start_p50_ms": rp50, "start_p99_ms": pct(&mut r.start, 0.99),
                  "stop_p50_ms": pct(&mut r.stop, 0.5), "stop_p99_ms": pct(&mut r.stop, 0.99)},
        "extra_start_p50_ms": rp50 - mp50,
        "goal_extra_start_p50_ms": 1.0,
    }))
}

// --- round trips -----------------------------------------------------------------------------

/// Commands clients sent, from `MONITOR`: a script call or a `MULTI`…`EXEC` block counts
/// once; commands run inside scripts are counted apart. `round_trips` also merges a command
/// into the previous one of the same connection when it came within 25 µs (a pipeline
/// without `MULTI`). `ECHO <phase>` from the bench switches the phase counted into.
#[derive(Default)]
struct Sent {
    client: u64,
    round_trips: u64,
    lua: u64,
    phase: String,
    by_command: HashMap<String, u64>,
    by_phase: HashMap<String, (u64, u64)>,
    in_multi: std::collections::HashSet<String>,
    last: Option<(String, f64)>,
}

impl Sent {
    fn line(&mut self, line: &str) {
        let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
            return;
        };
        let at: f64 = line[..open]
            .trim()
            .trim_start_matches('+')
            .parse()
            .unwrap_or(0.0);
        let source = line[open + 1..close].to_owned();
        let mut words = line[close + 1..].split_whitespace();
        let cmd = words
            .next()
            .unwrap_or_default()
            .trim_matches('"')
            .to_ascii_lowercase();
        if source.ends_with(" lua") {
            self.lua += 1;
            return;
        }
        if self.in_multi.contains(&source) {
            if cmd == "exec" || cmd == "discard" {
                self.in_multi.remove(&source);
            }
            return;
        }
        match cmd.as_str() {
            "info" => return,
            "echo" => {
                self.phase = words
                    .next()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_owned();
                return;
            }
            "multi" => {
                self.in_multi.insert(source.clone());
            }
            _ => {}
        }
        let merged = matches!(&self.last, Some((s, t)) if *s == source && at - t < 25e-6);
        self.last = Some((source, at));
        self.client += 1;
        self.round_trips += u64::from(!merged);
        let p = self.by_phase.entry(self.phase.clone()).or_default();
        p.0 += 1;
        p.1 += u64::from(!merged);
        *self
            .by_command
            .entry(format!("{}:{cmd}", self.phase))
            .or_default() += 1;
    }
}

/// A `MONITOR` connection counting into the returned [`Sent`] until the task is aborted.
async fn monitor(url: &str) -> Res<(Arc<Mutex<Sent>>, tokio::task::JoinHandle<()>)> {
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(b"MONITOR\r\n").await?;
    let mut lines = BufReader::new(stream).lines();
    let first = lines.next_line().await?;
    if first.as_deref() != Some("+OK") {
        return Err("MONITOR refused".into());
    }
    let sent = Arc::new(Mutex::new(Sent::default()));
    let s = sent.clone();
    let task = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            s.lock().unwrap_or_else(|p| p.into_inner()).line(&line);
        }
    });
    Ok((sent, task))
}

/// What Redis sees of `fleet` over `window` doing nothing: (commands executed, client commands).
async fn idle_rate(env: &Env, window: Duration) -> Res<(f64, f64, HashMap<String, u64>)> {
    let (sent, task) = monitor(&env.url).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = env.commandstats().await?;
    let t = Instant::now();
    tokio::time::sleep(window).await;
    let d = diff(&env.commandstats().await?, &before);
    let secs = t.elapsed().as_secs_f64();
    task.abort();
    let client = sent.lock().unwrap_or_else(|p| p.into_inner()).client;
    Ok((total(&d) as f64 / secs, client as f64 / secs, d))
}

/// Starts counting what follows as `phase` (an `ECHO` the monitor reads).
async fn mark(admin: &mut redis::aio::MultiplexedConnection, phase: &str) -> Res<()> {
    let _: String = redis::cmd("ECHO").arg(phase).query_async(admin).await?;
    Ok(())
}

async fn round_trips(env: &Env, lifecycles: usize) -> Res<Value> {
    let fleet = env.fleet(true, "bench-rt", Duration::from_secs(15)).await?;
    lifecycle(&fleet, "rt-warm", None).await?;
    let (idle_exec, idle_client, _) = idle_rate(env, Duration::from_secs(3)).await?;
    let (sent, task) = monitor(&env.url).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = env.commandstats().await?;
    let t = Instant::now();
    let mut admin = env.admin.clone();
    for i in 0..lifecycles {
        let key = format!("rt-{i}");
        mark(&mut admin, "start").await?;
        let agent = fleet.start(spec(&key)?).await?;
        mark(&mut admin, "notice").await?;
        notify(
            &fleet,
            &error_notice(&format!("rt-n{i}"), &agent.agent_id, &key),
        )
        .await?;
        mark(&mut admin, "stop").await?;
        fleet.stop(&FleetKey::new(key)?).await?;
    }
    mark(&mut admin, "after").await?;
    let secs = t.elapsed().as_secs_f64();
    let d = diff(&env.commandstats().await?, &before);
    tokio::time::sleep(Duration::from_millis(50)).await;
    task.abort();
    let s = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
    fleet
        .drain(shengwang_agent::fleet::Drain::Stop, Duration::from_secs(5))
        .await;
    let n = lifecycles as f64;
    let mut by_command: Vec<(String, f64)> = s
        .by_command
        .iter()
        .map(|(k, v)| (k.clone(), *v as f64 / n))
        .collect();
    by_command.sort_by(|a, b| b.1.total_cmp(&a.1));
    let per_phase: serde_json::Map<String, Value> = ["start", "notice", "stop"]
        .iter()
        .map(|p| {
            let (c, r) = s.by_phase.get(*p).copied().unwrap_or_default();
            let v = json!({"client_commands": c as f64 / n, "round_trips": r as f64 / n});
            (p.to_string(), v)
        })
        .collect();
    Ok(json!({
        "lifecycles": lifecycles,
        "what": "start, one notice (agent error, recorded on the owner), stop",
        "secs": secs,
        "client_commands_per_lifecycle": (s.client as f64 - idle_client * secs) / n,
        "round_trips_per_lifecycle": (s.round_trips as f64 - idle_client * secs) / n,
        "per_phase": per_phase,
        "executed_commands_per_lifecycle": (total(&d) as f64 - idle_exec * secs) / n,
        "script_internal_per_lifecycle": s.lua as f64 / n,
        "idle_subtracted": {"client_per_s": idle_client, "executed_per_s": idle_exec},
        "client_commands_by_name_per_lifecycle": by_command
            .into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    }))
}

// --- idle ------------------------------------------------------------------------------------

async fn start_many(fleet: &Fleet, from: usize, to: usize) -> Res<()> {
    let results: Vec<Res<()>> = futures::stream::iter(from..to)
        .map(|i| async move {
            fleet.start(spec(&format!("idle-{i}"))?).await?;
            Ok(())
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn idle(env: &Env, big: usize) -> Res<Value> {
    let lease = Duration::from_secs(3);
    let fleet = env.fleet(true, "bench-idle", lease).await?;
    let beat = (lease / 3).as_secs_f64();
    let window = Duration::from_secs(6);
    let mut rows = Vec::new();
    for (from, to) in [(0, 10), (10, big.max(10))] {
        start_many(&fleet, from, to).await?;
        // Let the starts' own traffic settle.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (exec, client, d) = idle_rate(env, window).await?;
        let mut cmds: Vec<(String, u64)> = d.into_iter().collect();
        cmds.sort();
        rows.push(json!({
            "live_sessions": fleet.owned().len(),
            "client_commands_per_s": client,
            "executed_commands_per_s": exec,
            "client_commands_per_heartbeat": client * beat,
            "executed_by_command": cmds.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        }));
    }
    // The agents are left to the emulator: the process ends next.
    drop(fleet);
    Ok(json!({
        "processes": 1, "lease_s": lease.as_secs_f64(), "heartbeat_s": beat,
        "window_s": window.as_secs_f64(), "rows": rows,
    }))
}

// --- fan-out ---------------------------------------------------------------------------------

async fn fanout(env: &Env, notices: usize) -> Res<Value> {
    let owner = env
        .fleet(true, "bench-fan", Duration::from_secs(15))
        .await?;
    let other = env
        .fleet(true, "bench-fan", Duration::from_secs(15))
        .await?;
    let key = "fan-room";
    let agent = owner.start(spec(key)?).await?;
    let session = owner
        .session(&FleetKey::new(key)?)
        .ok_or("the starting fleet does not hold the session")?;
    let mut events = session.subscribe();
    let (mut applied, mut recorded) = (Vec::new(), Vec::new());
    let mut lost = 0usize;
    for i in 0..notices + 10 {
        let body = error_notice(&format!("fan-{i}"), &agent.agent_id, key);
        let t0 = Instant::now();
        notify(&other, &body).await?;
        let rec = t0.elapsed();
        let seen = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(e) = events.next().await {
                if matches!(e, SessionEvent::AgentError { .. }) {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        // The first ten warm the connections and are not counted.
        if i >= 10 {
            recorded.push(rec);
            match seen {
                true => applied.push(t0.elapsed()),
                false => lost += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    owner.stop(&FleetKey::new(key)?).await?;
    Ok(json!({
        "notices": notices, "not_seen_within_5s": lost,
        "owner_applied_p50_ms": pct(&mut applied, 0.5),
        "owner_applied_p99_ms": pct(&mut applied, 0.99),
        "owner_applied_max_ms": pct(&mut applied, 1.0),
        "recorded_p50_ms": pct(&mut recorded, 0.5),
        "recorded_p99_ms": pct(&mut recorded, 0.99),
        "goal_applied_p99_ms": 20.0,
    }))
}

// --- main ------------------------------------------------------------------------------------

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn table(r: &Value) -> String {
    let f = |v: &Value| v.as_f64().map_or("—".into(), |x| format!("{x:.2}"));
    let (s, rt, fo) = (&r["start"], &r["round_trips"], &r["fanout"]);
    let mut t = vec![
        "| figure | value | goal |".to_owned(),
        "|---|---|---|".to_owned(),
        format!(
            "| start p50 / p99, memory fleet (ms) | {} / {} | |",
            f(&s["memory"]["start_p50_ms"]),
            f(&s["memory"]["start_p99_ms"])
        ),
        format!(
            "| start p50 / p99, Redis fleet (ms) | {} / {} | |",
            f(&s["redis"]["start_p50_ms"]),
            f(&s["redis"]["start_p99_ms"])
        ),
        format!(
            "| extra start p50 with Redis (ms) | {} | ≤ 1 |",
            f(&s["extra_start_p50_ms"])
        ),
        format!(
            "| stop p50 / p99, memory vs Redis (ms) | {} / {} vs {} / {} | |",
            f(&s["memory"]["stop_p50_ms"]),
            f(&s["memory"]["stop_p99_ms"]),
            f(&s["redis"]["stop_p50_ms"]),
            f(&s["redis"]["stop_p99_ms"])
        ),
        format!(
            "| Redis commands sent per lifecycle (start, notice, stop; script or MULTI block = 1) | {} | |",
            f(&rt["client_commands_per_lifecycle"])
        ),
        format!(
            "| Redis round trips per lifecycle (pipelined commands merged): start + notice + stop | {} ({} + {} + {}) | |",
            f(&rt["round_trips_per_lifecycle"]),
            f(&rt["per_phase"]["start"]["round_trips"]),
            f(&rt["per_phase"]["notice"]["round_trips"]),
            f(&rt["per_phase"]["stop"]["round_trips"])
        ),
        format!(
            "| Redis commands executed per lifecycle (INFO commandstats, script internals and MULTI/EXEC included) | {} | |",
            f(&rt["executed_commands_per_lifecycle"])
        ),
    ];
    for row in r["idle"]["rows"].as_array().into_iter().flatten() {
        t.push(format!(
            "| idle, 1 process, {} live sessions: commands sent per s (per heartbeat) | {} ({}) | flat |",
            row["live_sessions"],
            f(&row["client_commands_per_s"]),
            f(&row["client_commands_per_heartbeat"])
        ));
    }
    t.push(format!(
        "| notice on the non-owner → owner's session event, p50 / p99 / max (ms) | {} / {} / {} | p99 ≤ 20 |",
        f(&fo["owner_applied_p50_ms"]),
        f(&fo["owner_applied_p99_ms"]),
        f(&fo["owner_applied_max_ms"])
    ));
    t.push(format!(
        "| notice durable (record_notice returned: 200 may be sent), p50 / p99 (ms) | {} / {} | |",
        f(&fo["recorded_p50_ms"]),
        f(&fo["recorded_p99_ms"])
    ));
    t.join("\n")
}

fn main() -> Res<()> {
    let (lifecycles, notices, big) = (arg(1, 300), arg(2, 200), arg(3, 1000));
    let (url, _child) = redis_server()?;
    // The emulator serves from a runtime of its own (2 threads), as a remote service would
    // not share the client's runtime.
    let emu = Emulator::builder().start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let admin = redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let env = Env { emu, url, admin };
        eprintln!("fleet_bench: start latency ({lifecycles} lifecycles each)...");
        let start = start_latency(&env, lifecycles).await?;
        eprintln!("fleet_bench: round trips...");
        let rts = round_trips(&env, 100).await?;
        eprintln!("fleet_bench: notice fan-out ({notices} notices)...");
        let fan = fanout(&env, notices).await?;
        eprintln!("fleet_bench: idle traffic (10, then {big} sessions)...");
        let idle = idle(&env, big).await?;
        Res::Ok(
            json!({"start": start, "round_trips": rts, "fanout": fan, "idle": idle,
                       "nproc": std::thread::available_parallelism().map_or(0, |n| n.get())}),
        )
    })?;
    eprintln!("{}", table(&result));
    println!("{result}");
    Ok(())
}
