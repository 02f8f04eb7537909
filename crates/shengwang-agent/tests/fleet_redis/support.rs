//! What the Redis fleet tests share: redis-server processes, a cut-able TCP proxy, fleets
//! over the emulator, Redis inspection and the cluster slot function.

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convoai_emulator::{AgentStatus, EmulatorHandle};
use futures::StreamExt;
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid};
use shengwang_agent::fleet::{AgentSpec, Fleet, FleetEvent, FleetKey, OnOrphan, RedisFleet};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::webhooks::{self, Notification};
use shengwang_agent::{Client, RetryPolicy};

use super::harness::{self, Missing};

pub const LEASE: Duration = Duration::from_secs(2);
pub const MARGIN: Duration = Duration::from_millis(400);
/// Extra time allowed on a loaded 2-core machine.
pub const SLACK: Duration = Duration::from_secs(4);
pub const VENDOR_SENTINEL: &str = "VENDOR-KEY-SENTINEL-41c9";

pub struct Redis {
    child: Option<Child>,
    pub port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Redis {
    /// A redis-server without persistence on `port` (or a free one).
    pub fn start(port: Option<u16>, extra: &[&str]) -> Result<Redis, Missing> {
        let bin = harness::program(
            "REDIS_SERVER",
            &["redis-server"],
            "apt-get install redis-server",
        )?;
        let port = match port {
            Some(p) => p,
            None => std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| Missing::new(format_args!("no free loopback port: {e}")))?
                .port(),
        };
        let child = Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Missing::new(format_args!("cannot run {}: {e}", bin.display())))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Redis {
                    child: Some(child),
                    port,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Missing::new(format_args!(
            "redis-server did not listen on port {port} within 10 s"
        )))
    }
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

/// A TCP proxy in front of Redis that can cut every connection (a partition).
pub struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
}

impl Proxy {
    pub async fn start(upstream: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let flag = down.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    continue;
                }
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut out) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let cut = async {
                        while !flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Proxy { port, down }
    }
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

pub struct Env {
    pub redis: Redis,
    pub emu: EmulatorHandle,
}

fn agent() -> Agent {
    Agent::new()
        .with_llm(Llm::custom("https://llm.example/v1").api_key(VENDOR_SENTINEL))
        .unwrap()
        .with_tts(StepFunTts::new(VENDOR_SENTINEL, "m", "v"))
        .unwrap()
}

impl Env {
    fn client(&self) -> Client {
        super::support::client(&self.emu, RetryPolicy::none())
    }
    pub async fn try_fleet_with(
        &self,
        r: RedisFleet,
        prefix: &str,
    ) -> shengwang_agent::Result<Fleet> {
        self.build(r, prefix, None, OnOrphan::Adopt).await
    }
    async fn build(
        &self,
        r: RedisFleet,
        prefix: &str,
        instance: Option<&str>,
        policy: OnOrphan,
    ) -> shengwang_agent::Result<Fleet> {
        let client = self.client();
        let c = client.clone();
        let a = agent();
        let mut b = Fleet::builder(client, move |spec: &AgentSpec| {
            Ok(a.create_session(
                &c,
                spec.channel.clone(),
                AgentUid::new(spec.agent_uid.clone()),
                spec.remote_uids.iter().map(|u| RemoteUid::new(u.clone())),
            )
            .idle_timeout(600))
        })
        .redis(r)
        .prefix(prefix)
        .lease(LEASE)
        .on_orphan(policy);
        if let Some(i) = instance {
            b = b.instance(i);
        }
        b.build().await
    }
    pub async fn fleet_with(
        &self,
        r: RedisFleet,
        prefix: &str,
        instance: &str,
        policy: OnOrphan,
    ) -> Fleet {
        self.build(r, prefix, Some(instance), policy).await.unwrap()
    }
    pub async fn fleet_via(
        &self,
        url: &str,
        prefix: &str,
        instance: &str,
        policy: OnOrphan,
    ) -> Fleet {
        let r = RedisFleet::connect(url).await.unwrap();
        self.fleet_with(r, prefix, instance, policy).await
    }
    pub async fn fleets(&self, n: usize, prefix: &str, policy: OnOrphan) -> Vec<Fleet> {
        let mut all = Vec::new();
        for i in 0..n {
            all.push(
                self.fleet_via(&self.redis.url(), prefix, &format!("{prefix}-{i}"), policy)
                    .await,
            );
        }
        all
    }
    /// Ids of the agents alive in `channel` at the emulator.
    pub fn alive(&self, channel: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .emu
            .agents()
            .into_iter()
            .filter(|a| {
                a.channel == channel
                    && matches!(a.status, AgentStatus::Running | AgentStatus::Starting)
            })
            .map(|a| a.agent_id)
            .collect();
        ids.sort();
        ids
    }
}

/// How many of `fleets` hold `key`'s session.
pub fn holders(fleets: &[Fleet], key: &FleetKey) -> usize {
    fleets.iter().filter(|f| f.session(key).is_some()).count()
}

pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !f().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<(Instant, FleetEvent)>>>);

impl Seen {
    pub fn first(&self, f: impl Fn(&FleetEvent) -> bool) -> Option<Instant> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, e)| f(e))
            .map(|(t, _)| *t)
    }
}

pub fn record_events(fleet: &Fleet) -> Seen {
    let seen = Seen::default();
    let s = seen.clone();
    let mut events = fleet.events();
    tokio::spawn(async move {
        while let Some(e) = events.next().await {
            s.0.lock().unwrap().push((Instant::now(), e));
        }
    });
    seen
}

/// A notice body of `event_type` (102 agent left, 110 agent error) about `agent_id`.
pub fn notice(event_type: u32, notice_id: &str, agent_id: &str, channel: &str) -> Vec<u8> {
    let payload = match event_type {
        102 => {
            serde_json::json!({"agent_id": agent_id, "channel": channel, "status": "STOPPED", "message": "OK"})
        }
        _ => {
            serde_json::json!({"agent_id": agent_id, "channel": channel, "module": "llm", "code": 500, "message": "boom"})
        }
    };
    serde_json::to_vec(&serde_json::json!({
        "noticeId": notice_id, "productId": 17, "eventType": event_type, "notifyMs": 1, "payload": payload
    }))
    .unwrap()
}

pub fn parse(body: &[u8]) -> Notification {
    webhooks::parse(body).unwrap()
}

pub async fn scan(conn: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut cursor: u64 = 0;
    let mut all = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        all.extend(keys);
        if next == 0 {
            return all;
        }
        cursor = next;
    }
}

/// Everything a key holds, as text, whatever its type.
pub async fn value_text(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> String {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(conn).await.unwrap();
    let v: redis::Value = match kind.as_str() {
        "string" => redis::cmd("GET").arg(key).query_async(conn).await.unwrap(),
        "hash" => redis::cmd("HGETALL")
            .arg(key)
            .query_async(conn)
            .await
            .unwrap(),
        "list" => redis::cmd("LRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query_async(conn)
            .await
            .unwrap(),
        "set" => redis::cmd("SMEMBERS")
            .arg(key)
            .query_async(conn)
            .await
            .unwrap(),
        "zset" => redis::cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query_async(conn)
            .await
            .unwrap(),
        "stream" => redis::cmd("XRANGE")
            .arg(key)
            .arg("-")
            .arg("+")
            .query_async(conn)
            .await
            .unwrap(),
        other => panic!("unexpected type {other} of {key}"),
    };
    format!("{v:?}")
}

/// CRC16/XMODEM, as Redis Cluster hashes keys.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The cluster slot of a key (its hash tag when it has a non-empty one).
pub fn key_slot(key: &str) -> u16 {
    let b = key.as_bytes();
    let hashed = match b.iter().position(|&c| c == b'{') {
        Some(open) => match b[open + 1..].iter().position(|&c| c == b'}') {
            Some(len) if len > 0 => &b[open + 1..open + 1 + len],
            _ => b,
        },
        None => b,
    };
    crc16(hashed) % 16384
}
