//! Exactly-once handling: a store that remembers which notices were claimed, for a while.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::error::WebhookError;

/// How long a notice id is remembered by default: well past the service's resend horizon
/// (a handful of resends within minutes), and short enough to bound memory.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Remembers claimed notice ids so each one is handled once, across resends and duplicate
/// deliveries. Implement it over your own database to share it across a fleet; see
/// [`MemoryStore`] and, with the `redis` feature, `RedisStore`.
pub trait DedupeStore: Send + Sync {
    /// Atomically records `key` for `ttl` if it is not recorded yet. Returns `true` for the
    /// first claim (handle the event) and `false` when it was already claimed (a duplicate).
    fn claim<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, WebhookError>>;

    /// Forgets `key`, so a resend is handled again: called when the handler failed.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), WebhookError>>;
}

impl<S: DedupeStore + ?Sized> DedupeStore for std::sync::Arc<S> {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, WebhookError>> {
        (**self).claim(key, ttl)
    }
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), WebhookError>> {
        (**self).release(key)
    }
}

/// Ids a new [`MemoryStore`] has room for before its first resize.
const PRESIZED: usize = 16_384;

/// Default number of ids a [`MemoryStore`] keeps.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// An in-process [`DedupeStore`], bounded in size and time. Good for one receiver process; a
/// fleet behind a load balancer needs a shared store.
///
/// When full, the oldest id is forgotten first (and a duplicate of it would be handled
/// again), so size `capacity` for the callbacks expected within the TTL.
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// key → (expiry, generation); the generation tells a live entry from a re-claimed one
    /// when the eviction queue is walked.
    seen: HashMap<Arc<str>, (Instant, u64), foldhash::quality::RandomState>,
    order: VecDeque<(Arc<str>, u64)>,
    next_gen: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    /// A store that keeps at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        MemoryStore {
            capacity,
            inner: Mutex::new(Inner {
                // Sized for a busy first minute, so the map does not rehash again and again
                // while a receiver warms up; it grows past this as needed.
                seen: HashMap::with_capacity_and_hasher(capacity.min(PRESIZED), Default::default()),
                ..Inner::default()
            }),
        }
    }

    /// Ids currently remembered (expired ones may still count until the next claim).
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The synchronous claim behind [`DedupeStore::claim`].
    pub fn claim_now(&self, key: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some((expiry, _)) = inner.seen.get(key) {
            if *expiry > now {
                return false;
            }
        }
        let gen = inner.next_gen;
        inner.next_gen += 1;
        let expiry = now.checked_add(ttl).unwrap_or(now + DEFAULT_TTL);
        // One allocation, shared by the map and the eviction queue.
        let key: Arc<str> = key.into();
        inner.seen.insert(key.clone(), (expiry, gen));
        inner.order.push_back((key, gen));
        // Drop stale queue entries, expired ids, and the oldest ids beyond capacity.
        while let Some((front, front_gen)) = inner.order.front() {
            let live = inner
                .seen
                .get(&**front)
                .filter(|(_, g)| g == front_gen)
                .copied();
            match live {
                None => {
                    inner.order.pop_front();
                }
                Some((exp, _)) if exp <= now || inner.seen.len() > self.capacity => {
                    if let Some((k, _)) = inner.order.pop_front() {
                        inner.seen.remove(&*k);
                    }
                }
                Some(_) => break,
            }
        }
        // Releases leave stale queue entries behind a live front; compact now and then so
        // the queue stays bounded too.
        if inner.order.len() > self.capacity.saturating_mul(2) {
            let Inner { seen, order, .. } = &mut *inner;
            order.retain(|(k, g)| seen.get(&**k).is_some_and(|(_, live)| live == g));
        }
        true
    }

    /// The synchronous release behind [`DedupeStore::release`].
    pub fn release_now(&self, key: &str) {
        self.lock().seen.remove(key);
    }
}

impl DedupeStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, WebhookError>> {
        let first = self.claim_now(key, ttl);
        Box::pin(std::future::ready(Ok(first)))
    }
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), WebhookError>> {
        self.release_now(key);
        Box::pin(std::future::ready(Ok(())))
    }
}
