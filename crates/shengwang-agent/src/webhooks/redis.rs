//! A [`DedupeStore`] in Redis (feature `redis`), for receivers behind a load balancer: every
//! process claims a notice with `SET key 1 NX PX ttl`, so exactly one of them handles it.

use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::ConnectionManager;

use super::dedupe::DedupeStore;
use super::error::WebhookError;

/// Default prefix of the keys this store writes.
pub const DEFAULT_PREFIX: &str = "convoai:webhook:";

/// Claims notice ids in Redis. Clones share one multiplexed, reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info may hold a password: never shown.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A Redis error as one line, without the URL (which may carry a password).
fn store_error(e: &redis::RedisError) -> WebhookError {
    WebhookError::Store(format!("redis {:?} error", e.kind()))
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, or `rediss://` for TLS), within 5 s.
    pub async fn connect(url: &str) -> Result<Self, WebhookError> {
        let client = redis::Client::open(url).map_err(|e| store_error(&e))?;
        let timeout = Duration::from_secs(5);
        // Few, short reconnect attempts: a claim waits on them, and the service resends anyway.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_factor(50)
            .set_max_delay(200)
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(timeout);
        let conn =
            tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| WebhookError::Store("redis connect timed out".into()))?
                .map_err(|e| store_error(&e))?;
        Ok(RedisStore {
            conn,
            prefix: DEFAULT_PREFIX.into(),
            timeout,
        })
    }
    /// Prefix of the keys written (default [`DEFAULT_PREFIX`]); separate receivers that
    /// must not share claims use different prefixes.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
    /// Longest wait for one Redis command (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, WebhookError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeout, cmd.query_async(&mut conn))
            .await
            .map_err(|_| WebhookError::Store("redis command timed out".into()))?
            .map_err(|e| store_error(&e))
    }
}

impl DedupeStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, WebhookError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            cmd.arg(format!("{}{key}", self.prefix))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ms);
            // `OK` when set, nil when the key already existed.
            let reply: Option<String> = self.run(cmd).await?;
            Ok(reply.is_some())
        })
    }
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), WebhookError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(format!("{}{key}", self.prefix));
            let _: i64 = self.run(cmd).await?;
            Ok(())
        })
    }
}
