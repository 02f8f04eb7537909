//! The Redis backend (feature `redis`): records, leases, inboxes and the loops that keep
//! them (one heartbeat per process, the reaper, the inbox reader, the handover listener).

mod loops;
mod scripts;
mod store;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::engine::{unavailable, Engine};
use super::{Fleet, FleetBuilder};
use crate::{Error, Result};
use store::RedisBackend;

/// A connection to the Redis a fleet shares. `Clone`; `Debug` shows `host:port/db` only (a
/// password in the URL never appears in `Debug`, logs or errors).
#[derive(Clone)]
pub struct RedisFleet {
    client: redis::Client,
    conn: ConnectionManager,
    shown: Arc<str>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFleet")
            .field("addr", &self.shown)
            .finish_non_exhaustive()
    }
}

/// A Redis error as one line: its kind or server code, never the URL (it may hold a
/// password) or a value.
pub(crate) fn redis_error(e: &redis::RedisError) -> Error {
    let what = e
        .code()
        .map_or_else(|| format!("{:?}", e.kind()), str::to_owned);
    unavailable(&format!("redis {what} error"))
}

impl RedisFleet {
    /// Connects to `url` (`redis://[:password@]host:port/db`, or `rediss://` for TLS)
    /// within 5 s. A URL that does not parse is [`Error::InvalidInput`] (without echoing
    /// it); a Redis that cannot be reached is [`Error::FleetUnavailable`].
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|_| Error::invalid("redis url", "is not a valid redis:// or rediss:// URL"))?;
        let info = client.get_connection_info();
        let shown: Arc<str> = format!("{}/{}", info.addr, info.redis.db).into();
        let limit = Duration::from_secs(5);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_factor(50)
            .set_max_delay(200)
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(limit);
        let conn = tokio::time::timeout(
            limit,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| unavailable(&format!("redis at {shown} did not answer within 5 s")))?
        .map_err(|e| redis_error(&e))?;
        Ok(RedisFleet {
            client,
            conn,
            shown,
            timeout: None,
        })
    }
    /// Longest wait for one Redis command (default: a quarter of the lease, 200 ms to 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Builds a Redis fleet: the first heartbeat, then the loops.
pub(super) async fn build(b: FleetBuilder, redis: RedisFleet, instance: String) -> Result<Fleet> {
    let timeout = redis
        .timeout
        .unwrap_or_else(|| (b.lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(2)));
    let backend = Arc::new(RedisBackend::new(redis, &b.prefix, b.lease, timeout));
    let engine = Engine::new(&b, backend.clone(), instance);
    let beat = loops::Beat::new(engine.clone(), backend.clone());
    beat.first().await?;
    let tasks = loops::spawn(engine.clone(), backend, beat);
    Ok(Fleet::from_engine(engine, tasks))
}
