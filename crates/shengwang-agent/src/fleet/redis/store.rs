//! [`Backend`] on Redis: the scripts for a session's record, plain commands for the keys of
//! a process (heartbeat, owned set, inbox) and the fleet (process list, released list).
//! Every key written gets a TTL in the same command batch (one slot per batch).

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::{FromRedisValue, Script};

use super::scripts::scripts;
use super::{redis_error, RedisFleet};
use crate::agentkit::session::{SessionRecord, SessionState, SCHEMA_VERSION};
use crate::fleet::backend::{Backend, Claimed, Entry, Found, Reestablished};
use crate::fleet::engine::unavailable;
use crate::fleet::key::Keys;
use crate::fleet::record::{from_fields, now_ms, to_fields, FleetEventRecord, MAX_EVENTS};
use crate::{Error, Result};

/// TTL of a live session's keys (refreshed by its owner).
pub(crate) const TTL_LIVE: Duration = Duration::from_secs(24 * 3600);
/// TTL of an ended session's keys.
pub(crate) const TTL_ENDED: Duration = Duration::from_secs(3600);
/// TTL of a process's owned set and inbox, and of the process list (refreshed per beat).
pub(crate) const TTL_PROCESS: Duration = Duration::from_secs(24 * 3600);
/// TTL of the released list.
pub(crate) const TTL_RELEASED: Duration = Duration::from_secs(3600);
/// TTL of a routed request's answer.
const TTL_REPLY: Duration = Duration::from_secs(30);
/// Inbox length bound (approximate trimming).
const INBOX_MAXLEN: usize = 10_000;

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The fleet's Redis.
pub(crate) struct RedisBackend {
    pub(crate) redis: RedisFleet,
    pub(crate) keys: Keys,
    pub(crate) lease: Duration,
    pub(crate) timeout: Duration,
}

impl RedisBackend {
    pub(crate) fn new(redis: RedisFleet, prefix: &str, lease: Duration, timeout: Duration) -> Self {
        RedisBackend {
            redis,
            keys: Keys::new(prefix),
            lease,
            timeout,
        }
    }

    pub(crate) async fn run<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let mut conn = self.redis.conn.clone();
        tokio::time::timeout(self.timeout, cmd.query_async(&mut conn))
            .await
            .map_err(|_| unavailable("redis did not answer in time"))?
            .map_err(|e| redis_error(&e))
    }

    pub(crate) async fn pipe<T: FromRedisValue>(&self, p: &redis::Pipeline) -> Result<T> {
        let mut conn = self.redis.conn.clone();
        tokio::time::timeout(self.timeout, p.query_async(&mut conn))
            .await
            .map_err(|_| unavailable("redis did not answer in time"))?
            .map_err(|e| redis_error(&e))
    }

    /// Runs a record script on `key`'s session keys; its answer, a newer record refused.
    async fn script(&self, s: &Script, key: &str, args: &[String]) -> Result<Vec<String>> {
        let mut inv = s.prepare_invoke();
        inv.key(self.keys.rec(key))
            .key(self.keys.events(key))
            .key(self.keys.seen(key))
            .arg(SCHEMA_VERSION)
            .arg(ms(TTL_LIVE))
            .arg(ms(TTL_ENDED));
        for a in args {
            inv.arg(a);
        }
        let mut conn = self.redis.conn.clone();
        let reply: Vec<String> = tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| unavailable("redis did not answer in time"))?
            .map_err(|e| redis_error(&e))?;
        if reply.first().map(String::as_str) == Some("toonew") {
            return Err(Error::RecordTooNew {
                key: key.to_owned(),
                found: reply
                    .get(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u32::MAX),
                known: SCHEMA_VERSION,
            });
        }
        Ok(reply)
    }

    /// The record in a script's answer (`status`, then the hash's field/value pairs).
    fn record_of(key: &str, reply: &[String]) -> Result<Option<SessionRecord>> {
        let fields: HashMap<String, String> = reply[1.min(reply.len())..]
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        from_fields(key, &fields)
    }

    async fn own(&self, owner: &str, key: &str) -> Result<()> {
        let owns = self.keys.owns(owner);
        let mut p = redis::pipe();
        p.atomic()
            .cmd("SADD")
            .arg(&owns)
            .arg(key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&owns)
            .arg(ms(TTL_PROCESS))
            .ignore();
        self.pipe::<()>(&p).await
    }

    async fn map_agent(&self, agent_id: &str, key: &str, ttl: Duration) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.keys.agent(agent_id))
            .arg(key)
            .arg("PX")
            .arg(ms(ttl));
        self.run::<()>(&cmd).await
    }

    async fn claim_once(&self, p: &SessionRecord, nonce: &str) -> Result<Claimed> {
        let remote_uids = serde_json::to_string(&p.remote_uids).unwrap_or_default();
        let args = [
            p.owner.clone(),
            now_ms().to_string(),
            p.name.clone(),
            p.channel.clone(),
            p.uid.clone(),
            remote_uids,
            p.key.clone(),
            nonce.to_owned(),
        ];
        let reply = self.script(&scripts().claim, &p.key, &args).await?;
        let rec = Self::record_of(&p.key, &reply)?
            .ok_or_else(|| unavailable("redis answered a claim without the record"))?;
        if reply.first().map(String::as_str) == Some("mine") {
            self.own(&p.owner, &p.key).await?;
            return Ok(Claimed::Mine(rec));
        }
        Ok(Claimed::Existing(rec))
    }

    fn yes(reply: &[String]) -> bool {
        reply.first().map(String::as_str) == Some("ok")
    }
}

/// Runs `op` up to three times while Redis is unavailable (a reconnect after a restart, a
/// lost answer); only for operations that may run twice.
async fn retried<T, F, Fut>(op: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut result = op().await;
    for pause in [100, 250] {
        if !matches!(result, Err(Error::FleetUnavailable { .. })) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(pause)).await;
        result = op().await;
    }
    result
}

/// An inbox entry as stream fields.
pub(crate) fn encode(entry: &Entry) -> Vec<(&'static str, Vec<u8>)> {
    match entry {
        Entry::Notice { key, body } => vec![
            ("kind", b"notice".to_vec()),
            ("key", key.as_bytes().to_vec()),
            ("body", body.clone()),
        ],
        Entry::Speak {
            key,
            text,
            priority,
            nonce,
            at_ms,
        } => vec![
            ("kind", b"speak".to_vec()),
            ("key", key.as_bytes().to_vec()),
            ("text", text.as_bytes().to_vec()),
            (
                "priority",
                priority.clone().unwrap_or_default().into_bytes(),
            ),
            ("nonce", nonce.as_bytes().to_vec()),
            ("at_ms", at_ms.to_string().into_bytes()),
        ],
        Entry::Stopped { key, agent_id } => vec![
            ("kind", b"stopped".to_vec()),
            ("key", key.as_bytes().to_vec()),
            ("agent_id", agent_id.as_bytes().to_vec()),
        ],
    }
}

/// An inbox entry from its stream fields; `None` for one that is malformed.
pub(crate) fn decode(fields: &[Vec<u8>]) -> Option<Entry> {
    let map: HashMap<&[u8], &Vec<u8>> = fields
        .chunks_exact(2)
        .map(|p| (p[0].as_slice(), &p[1]))
        .collect();
    let text = |k: &str| {
        map.get(k.as_bytes())
            .and_then(|v| String::from_utf8((*v).clone()).ok())
    };
    let key = text("key")?;
    match text("kind")?.as_str() {
        "notice" => Some(Entry::Notice {
            key,
            body: map.get(b"body".as_slice())?.to_vec(),
        }),
        "speak" => Some(Entry::Speak {
            key,
            text: text("text")?,
            priority: text("priority").filter(|p| !p.is_empty()),
            nonce: text("nonce")?,
            at_ms: text("at_ms")?.parse().ok()?,
        }),
        "stopped" => Some(Entry::Stopped {
            key,
            agent_id: text("agent_id")?,
        }),
        _ => None,
    }
}

/// Stream entries as XRANGE / XREADGROUP give them.
pub(crate) type StreamEntries = Vec<(String, Vec<Vec<u8>>)>;

impl Backend for RedisBackend {
    fn leased(&self) -> bool {
        true
    }
    fn claim(&self, p: SessionRecord) -> BoxFuture<'_, Result<Claimed>> {
        Box::pin(async move {
            // The same nonce on every attempt: an attempt whose answer was lost is found
            // to be ours by the next one.
            let nonce = format!("{:016x}", rand::random::<u64>());
            retried(|| self.claim_once(&p, &nonce)).await
        })
    }
    fn commit(
        &self,
        key: String,
        owner: String,
        epoch: u64,
        agent_id: String,
    ) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let args = [
                owner,
                epoch.to_string(),
                agent_id.clone(),
                now_ms().to_string(),
            ];
            // The agent → key mapping holds whoever owns the key, so it is written alongside
            // the commit (one round trip instead of two on the start path).
            let (reply, mapped) = futures::join!(
                self.script(&scripts().commit, &key, &args),
                self.map_agent(&agent_id, &key, TTL_LIVE)
            );
            mapped?;
            Ok(Self::yes(&reply?))
        })
    }
    fn abort(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let args = [owner.clone(), epoch.to_string(), now_ms().to_string()];
            let ok = Self::yes(&self.script(&scripts().abort, &key, &args).await?);
            self.disown(key, owner).await?;
            Ok(ok)
        })
    }
    fn takeover(
        &self,
        key: String,
        expected: String,
        me: String,
    ) -> BoxFuture<'_, Result<Option<SessionRecord>>> {
        Box::pin(async move {
            let args = [me.clone(), expected, now_ms().to_string()];
            let reply = self.script(&scripts().takeover, &key, &args).await?;
            if !Self::yes(&reply) {
                return Ok(None);
            }
            self.own(&me, &key).await?;
            Self::record_of(&key, &reply)
        })
    }
    fn release(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let args = [owner, epoch.to_string(), now_ms().to_string()];
            Ok(Self::yes(
                &self.script(&scripts().release, &key, &args).await?,
            ))
        })
    }
    fn finish(
        &self,
        key: String,
        agent_id: String,
        state: SessionState,
    ) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let args = [
                agent_id.clone(),
                state.as_str().to_owned(),
                now_ms().to_string(),
            ];
            let ok = Self::yes(&self.script(&scripts().finish, &key, &args).await?);
            if ok {
                self.map_agent(&agent_id, &key, TTL_ENDED).await?;
            }
            Ok(ok)
        })
    }
    fn check(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let args = [owner, epoch.to_string()];
            let reply = retried(|| self.script(&scripts().check, &key, &args)).await?;
            Ok(Self::yes(&reply))
        })
    }
    fn note_event(
        &self,
        key: String,
        notice_id: Option<String>,
        event: FleetEventRecord,
        end: Option<(String, SessionState)>,
    ) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let (agent, state) = end.map_or((String::new(), String::new()), |(a, s)| {
                (a, s.as_str().to_owned())
            });
            let args = [
                notice_id.unwrap_or_default(),
                event.to_json(),
                agent,
                state,
                now_ms().to_string(),
                MAX_EVENTS.to_string(),
            ];
            Ok(Self::yes(
                &self.script(&scripts().note_event, &key, &args).await?,
            ))
        })
    }
    fn get(&self, key: String) -> BoxFuture<'_, Result<Option<Found>>> {
        Box::pin(async move {
            let mut p = redis::pipe();
            p.cmd("HGETALL").arg(self.keys.rec(&key));
            p.cmd("LRANGE").arg(self.keys.events(&key)).arg(0).arg(-1);
            let (fields, events): (HashMap<String, String>, Vec<String>) =
                retried(|| self.pipe(&p)).await?;
            let Some(rec) = from_fields(&key, &fields)? else {
                return Ok(None);
            };
            let events = events
                .iter()
                .filter_map(|e| FleetEventRecord::from_json(e))
                .collect();
            Ok(Some((rec, events)))
        })
    }
    fn key_of_agent(&self, agent_id: String) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.keys.agent(&agent_id));
            retried(|| self.run(&cmd)).await
        })
    }
    fn enqueue(&self, owner: String, entry: Entry) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let inbox = self.keys.inbox(&owner);
            let mut p = redis::pipe();
            p.atomic();
            let xadd = p
                .cmd("XADD")
                .arg(&inbox)
                .arg("MAXLEN")
                .arg("~")
                .arg(INBOX_MAXLEN)
                .arg("*");
            for (k, v) in encode(&entry) {
                xadd.arg(k).arg(v);
            }
            xadd.ignore();
            p.cmd("PEXPIRE").arg(&inbox).arg(ms(TTL_PROCESS)).ignore();
            if let Entry::Speak { .. } = entry {
                // Never twice: the agent would say it twice.
                self.pipe::<()>(&p).await?;
            } else {
                // A second entry after a lost answer is harmless: applying twice is a no-op.
                retried(|| self.pipe::<()>(&p)).await?;
            }
            Ok(true)
        })
    }
    fn put_reply(&self, key: String, nonce: String, answer: String) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.keys.reply(&key, &nonce))
                .arg(answer)
                .arg("PX")
                .arg(ms(TTL_REPLY));
            self.run(&cmd).await
        })
    }
    fn take_reply(&self, key: String, nonce: String) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GETDEL");
            cmd.arg(self.keys.reply(&key, &nonce));
            self.run(&cmd).await
        })
    }
    fn owner_alive(&self, owner: String) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(self.keys.hb(&owner));
            Ok(retried(|| self.run::<i64>(&cmd)).await? == 1)
        })
    }
    fn reestablish(&self, r: SessionRecord) -> BoxFuture<'_, Result<Reestablished>> {
        Box::pin(async move {
            let mut args = vec![
                r.owner.clone(),
                r.epoch.to_string(),
                r.agent_id.clone().unwrap_or_default(),
            ];
            for (k, v) in to_fields(&r) {
                args.push(k.to_owned());
                args.push(v);
            }
            let reply = self.script(&scripts().reestablish, &r.key, &args).await?;
            let epoch = reply.get(1).and_then(|e| e.parse().ok()).unwrap_or(r.epoch);
            let answer = match reply.first().map(String::as_str) {
                Some("kept") => Reestablished::Kept,
                Some("recreated") => Reestablished::Recreated { epoch },
                Some("contested") => return Ok(Reestablished::Contested),
                _ => {
                    return Ok(Reestablished::Lost {
                        owner: reply.get(1).cloned().unwrap_or_default(),
                    })
                }
            };
            self.own(&r.owner, &r.key).await?;
            if let Some(id) = &r.agent_id {
                self.map_agent(id, &r.key, TTL_LIVE).await?;
            }
            Ok(answer)
        })
    }
    fn disown(&self, key: String, owner: String) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SREM");
            cmd.arg(self.keys.owns(&owner)).arg(key);
            self.run::<()>(&cmd).await
        })
    }
    fn announce_release(&self, key: String) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let released = self.keys.released();
            let mut p = redis::pipe();
            p.atomic()
                .cmd("RPUSH")
                .arg(&released)
                .arg(key)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&released)
                .arg(ms(TTL_RELEASED))
                .ignore();
            self.pipe::<()>(&p).await
        })
    }
    fn retire(&self, me: String) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.keys.hb(&me));
            self.run::<()>(&cmd).await
        })
    }
    fn inbox_entries(&self, instance: String) -> BoxFuture<'_, Result<Vec<(String, Entry)>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(self.keys.inbox(&instance))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1000);
            let raw: StreamEntries = self.run(&cmd).await?;
            let (mut good, mut bad) = (Vec::new(), Vec::new());
            for (id, fields) in raw {
                match decode(&fields) {
                    Some(e) => good.push((id, e)),
                    None => bad.push(id),
                }
            }
            // Entries no release can read are dropped, not passed on forever.
            self.inbox_delete(instance, bad).await?;
            Ok(good)
        })
    }
    fn inbox_delete(&self, instance: String, ids: Vec<String>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(());
            }
            let mut cmd = redis::cmd("XDEL");
            cmd.arg(self.keys.inbox(&instance)).arg(ids);
            self.run::<()>(&cmd).await
        })
    }
}
