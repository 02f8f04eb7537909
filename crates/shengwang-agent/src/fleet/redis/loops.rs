//! The background tasks of a Redis fleet process: one heartbeat (and the fence watch), the
//! reaper, the inbox reader and the handover listener. The blocking reads use connections
//! of their own so that they never hold up the shared one.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use tokio::task::JoinHandle;

use super::redis_error;
use super::store::{decode, ms, RedisBackend, StreamEntries, TTL_PROCESS};
use crate::fleet::engine::Engine;
use crate::fleet::types::{FleetEvent, OnOrphan};
use crate::Result;

/// The consumer group of every inbox.
const GROUP: &str = "owner";
/// Takeovers one reaper runs at once.
const TAKEOVERS_AT_ONCE: usize = 16;
/// How often the owner refreshes its records' TTLs.
const MAINTENANCE: Duration = Duration::from_secs(3600);

/// The heartbeat of this process.
pub(crate) struct Beat {
    engine: Arc<Engine>,
    backend: Arc<RedisBackend>,
    incarnation: String,
}

impl Beat {
    pub(crate) fn new(engine: Arc<Engine>, backend: Arc<RedisBackend>) -> Self {
        Beat {
            engine,
            backend,
            incarnation: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// The first beat, and this process's inbox group.
    pub(crate) async fn first(&self) -> Result<()> {
        let sent = Instant::now();
        self.beat().await?;
        ensure_group(&self.backend, &self.engine.instance).await?;
        self.engine.lease.renew(sent);
        Ok(())
    }

    /// Renews the lease; true when the heartbeat key was not this incarnation's any more
    /// (it expired, or Redis lost its data).
    async fn beat(&self) -> Result<bool> {
        let (b, me) = (&self.backend, &self.engine.instance);
        let mut p = redis::pipe();
        p.atomic()
            .cmd("SET")
            .arg(b.keys.hb(me))
            .arg(&self.incarnation)
            .arg("PX")
            .arg(ms(b.lease))
            .arg("GET")
            .cmd("PEXPIRE")
            .arg(b.keys.owns(me))
            .arg(ms(TTL_PROCESS))
            .ignore()
            .cmd("PEXPIRE")
            .arg(b.keys.inbox(me))
            .arg(ms(TTL_PROCESS))
            .ignore();
        let (previous,): (Option<String>,) = b.pipe(&p).await?;
        let mut procs = redis::pipe();
        procs
            .atomic()
            .cmd("ZADD")
            .arg(b.keys.procs())
            .arg(crate::fleet::record::now_ms())
            .arg(me)
            .ignore()
            .cmd("PEXPIRE")
            .arg(b.keys.procs())
            .arg(ms(TTL_PROCESS))
            .ignore();
        b.pipe::<()>(&procs).await?;
        Ok(previous.as_deref() != Some(self.incarnation.as_str()))
    }

    /// Beats every lease/3. After a failure, or when the heartbeat key was gone, the held
    /// sessions are re-established before the process acts again.
    async fn run(self) {
        let every = self.backend.lease / 3;
        // `again`: re-establish at the next beat (a failure, or a contested record).
        let mut again = false;
        let mut maintained = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            let sent = Instant::now();
            match self.beat().await {
                Ok(missing) => {
                    let due = maintained.elapsed() >= MAINTENANCE;
                    if missing || again || due {
                        match self.reestablish().await {
                            Ok(settled) => again = !settled,
                            Err(e) => {
                                tracing::warn!(error = %e, "fleet: re-establishing the held sessions failed; retrying");
                                again = true;
                                continue;
                            }
                        }
                        maintained = Instant::now();
                    }
                    if self.engine.lease.renew(sent) {
                        tracing::info!("fleet: the lease is renewed again; acting as owner");
                    }
                }
                Err(e) => {
                    if !again {
                        tracing::warn!(error = %e, "fleet: heartbeat failed");
                    }
                    again = true;
                }
            }
        }
    }

    async fn reestablish(&self) -> Result<bool> {
        ensure_group(&self.backend, &self.engine.instance).await?;
        self.engine.reestablish_all().await
    }
}

/// Creates `instance`'s inbox and its group (reading from the start, so nothing added while
/// it was missing is skipped).
async fn ensure_group(b: &RedisBackend, instance: &str) -> Result<()> {
    let inbox = b.keys.inbox(instance);
    let mut cmd = redis::cmd("XGROUP");
    cmd.arg("CREATE")
        .arg(&inbox)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM");
    match b.run::<()>(&cmd).await {
        Ok(()) => {}
        Err(crate::Error::FleetUnavailable { reason }) if reason.contains("BUSYGROUP") => {}
        Err(e) => return Err(e),
    }
    let mut ttl = redis::cmd("PEXPIRE");
    ttl.arg(&inbox).arg(ms(TTL_PROCESS));
    b.run::<()>(&ttl).await
}

/// Reports fencing the moment the lease runs out unrenewed.
async fn fence_watch(engine: Arc<Engine>) {
    loop {
        match engine.lease.acts_until() {
            Some(until) if Instant::now() < until => {
                tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        if !engine.lease.acting() && engine.lease.fence() {
            let since = engine.lease.since_renewal();
            tracing::warn!(
                since_renewal_ms = since.as_millis() as u64,
                "fleet: lease not renewed in time; this process stops acting as owner (fenced)"
            );
            engine.emit(FleetEvent::Fenced {
                since_renewal: since,
            });
        }
    }
}

/// Takes over the sessions of processes whose heartbeat is gone, and passes their inboxes on.
async fn reaper(engine: Arc<Engine>, b: Arc<RedisBackend>) {
    let every = (b.lease / 3).min(Duration::from_secs(5));
    loop {
        tokio::time::sleep(every).await;
        if engine.draining.load(Ordering::SeqCst) {
            continue;
        }
        if let Err(e) = reap_once(&engine, &b).await {
            tracing::debug!(error = %e, "fleet: reaper pass failed");
        }
    }
}

async fn reap_once(engine: &Engine, b: &RedisBackend) -> Result<()> {
    let mut cmd = redis::cmd("ZRANGE");
    cmd.arg(b.keys.procs()).arg(0).arg(-1);
    let procs: Vec<String> = b.run(&cmd).await?;
    for y in procs.into_iter().filter(|y| *y != engine.instance) {
        let mut alive = redis::cmd("EXISTS");
        alive.arg(b.keys.hb(&y));
        if b.run::<i64>(&alive).await? == 1 {
            continue;
        }
        let mut members = redis::cmd("SMEMBERS");
        members.arg(b.keys.owns(&y));
        let keys: Vec<String> = b.run(&members).await?;
        // A few at a time: each adoption asks the service about its agent.
        futures::stream::iter(keys)
            .for_each_concurrent(TAKEOVERS_AT_ONCE, |k| take_one(engine, b, &y, k))
            .await;
        engine.recover_inbox(&y).await?;
        forget_if_empty(b, &y).await?;
    }
    Ok(())
}

/// Takes one key of dead process `y` over; it leaves `y`'s owned set once handled.
async fn take_one(engine: &Engine, b: &RedisBackend, y: &str, k: String) {
    match engine.take_over(&k, y, engine.on_orphan).await {
        Ok(()) => {
            let mut srem = redis::cmd("SREM");
            srem.arg(b.keys.owns(y)).arg(&k);
            if let Err(e) = b.run::<()>(&srem).await {
                tracing::debug!(error = %e, "fleet: owned set not updated; next pass");
            }
        }
        Err(e) => tracing::warn!(key = %k, error = %e, "fleet: takeover failed; retrying"),
    }
}

/// Removes a dead process from the fleet once nothing of it is left.
async fn forget_if_empty(b: &RedisBackend, y: &str) -> Result<()> {
    let mut p = redis::pipe();
    p.cmd("SCARD")
        .arg(b.keys.owns(y))
        .cmd("XLEN")
        .arg(b.keys.inbox(y));
    let (owned, queued): (i64, i64) = b.pipe(&p).await?;
    if owned == 0 && queued == 0 {
        let mut del = redis::cmd("DEL");
        del.arg(b.keys.owns(y)).arg(b.keys.inbox(y));
        b.run::<()>(&del).await?;
        let mut zrem = redis::cmd("ZREM");
        zrem.arg(b.keys.procs()).arg(y);
        b.run::<()>(&zrem).await?;
    }
    Ok(())
}

/// The blocking loop's connection: the one held, or a new one; `None` (after a pause) when
/// Redis cannot be reached.
async fn held<'a>(
    b: &RedisBackend,
    conn: &'a mut Option<MultiplexedConnection>,
) -> Option<&'a mut MultiplexedConnection> {
    if conn.is_none() {
        match dedicated(b, Duration::from_secs(1)).await {
            Ok(c) => *conn = Some(c),
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return None;
            }
        }
    }
    conn.as_mut()
}

/// A connection of its own for blocking reads, answering within `block` plus the timeout.
async fn dedicated(b: &RedisBackend, block: Duration) -> Result<MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(block + b.timeout);
    b.redis
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| redis_error(&e))
}

/// Reads this process's inbox and applies each entry, acknowledging it only after.
async fn inbox(engine: Arc<Engine>, b: Arc<RedisBackend>) {
    let abort_before_apply =
        std::env::var("CONVOAI_FLEET_FAULT").is_ok_and(|v| v == "abort_before_apply");
    let mut conn: Option<MultiplexedConnection> = None;
    let mut pending = true;
    loop {
        let Some(c) = held(&b, &mut conn).await else {
            continue;
        };
        match read_inbox(&engine, &b, c, pending, abort_before_apply).await {
            Ok(more) => pending = more,
            Err(e) => {
                tracing::debug!(error = %e, "fleet: inbox read failed");
                if !matches!(&e, crate::Error::FleetUnavailable { reason } if reason.contains("NOGROUP"))
                {
                    conn = None;
                }
                let _ = ensure_group(&b, &engine.instance).await;
                pending = true;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One read of the inbox: this consumer's unacknowledged entries first, then new ones.
/// True when unacknowledged entries remain (read them again).
async fn read_inbox(
    engine: &Engine,
    b: &RedisBackend,
    conn: &mut MultiplexedConnection,
    pending: bool,
    abort_before_apply: bool,
) -> Result<bool> {
    let inbox = b.keys.inbox(&engine.instance);
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP")
        .arg(GROUP)
        .arg(&engine.instance)
        .arg("COUNT")
        .arg(64);
    if !pending {
        cmd.arg("BLOCK").arg(1000);
    }
    cmd.arg("STREAMS")
        .arg(&inbox)
        .arg(if pending { "0" } else { ">" });
    let reply: Option<Vec<(String, StreamEntries)>> =
        cmd.query_async(conn).await.map_err(|e| redis_error(&e))?;
    let entries: StreamEntries = reply.into_iter().flatten().flat_map(|(_, e)| e).collect();
    if pending && entries.is_empty() {
        return Ok(false);
    }
    let mut failed = false;
    for (id, fields) in entries {
        if abort_before_apply {
            // Test-only fault hook: a crash between recording a notice and applying it.
            std::process::abort();
        }
        if let Some(entry) = decode(&fields) {
            if let Err(e) = engine.apply_entry(entry).await {
                tracing::debug!(error = %e, "fleet: inbox entry not applied yet");
                failed = true;
                continue;
            }
        }
        let mut p = redis::pipe();
        p.cmd("XACK").arg(&inbox).arg(GROUP).arg(&id).ignore();
        p.cmd("XDEL").arg(&inbox).arg(&id).ignore();
        b.pipe::<()>(&p).await?;
    }
    if failed {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(pending || failed)
}

/// Adopts keys other processes released on drain, at once.
async fn released(engine: Arc<Engine>, b: Arc<RedisBackend>) {
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        let Some(c) = held(&b, &mut conn).await else {
            continue;
        };
        let mut cmd = redis::cmd("BLPOP");
        cmd.arg(b.keys.released()).arg(1);
        let popped: Option<(String, String)> = match cmd.query_async(c).await {
            Ok(p) => p,
            Err(_) => {
                conn = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Some((_, key)) = popped else { continue };
        if engine.draining.load(Ordering::SeqCst) || !engine.lease.acting() {
            // Not this process's to adopt now: back at the head, for another one.
            let mut back = redis::pipe();
            back.atomic()
                .cmd("LPUSH")
                .arg(b.keys.released())
                .arg(&key)
                .ignore()
                .cmd("PEXPIRE")
                .arg(b.keys.released())
                .arg(ms(super::store::TTL_RELEASED))
                .ignore();
            let _ = b.pipe::<()>(&back).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if let Err(e) = engine.take_over(&key, "", OnOrphan::Adopt).await {
            tracing::warn!(key = %key, error = %e, "fleet: adopting a released session failed");
        }
    }
}

/// Takes over what an earlier process of the same instance name held (a replica restarted
/// at once under a stable name, e.g. a StatefulSet pod): its heartbeat key never lapsed, so
/// no reaper would; the records still name this instance, yet no session here holds them.
async fn reclaim(engine: Arc<Engine>, b: Arc<RedisBackend>) {
    let me = engine.instance.clone();
    loop {
        let mut members = redis::cmd("SMEMBERS");
        members.arg(b.keys.owns(&me));
        match b.run::<Vec<String>>(&members).await {
            Ok(keys) => {
                let orphans: Vec<String> = keys
                    .into_iter()
                    .filter(|k| engine.local(k).is_none())
                    .collect();
                futures::stream::iter(orphans)
                    .for_each_concurrent(TAKEOVERS_AT_ONCE, |k| {
                        let (engine, me) = (&engine, &me);
                        async move {
                            if engine.local(&k).is_some() {
                                return; // started here meanwhile
                            }
                            if let Err(e) = engine.take_over(&k, me, engine.on_orphan).await {
                                tracing::warn!(key = %k, error = %e, "fleet: reclaiming an earlier incarnation's session failed");
                            }
                        }
                    })
                    .await;
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "fleet: reclaim pass failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Starts the loops of a Redis fleet process.
pub(crate) fn spawn(engine: Arc<Engine>, b: Arc<RedisBackend>, beat: Beat) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(beat.run()),
        tokio::spawn(fence_watch(engine.clone())),
        tokio::spawn(reaper(engine.clone(), b.clone())),
        tokio::spawn(inbox(engine.clone(), b.clone())),
        tokio::spawn(reclaim(engine.clone(), b.clone())),
        tokio::spawn(released(engine, b)),
    ]
}
