//! Regional pool (agentkit.md §8): the DNS race between domain suffixes with a 30 s cache,
//! and region cycling. Unlike the Python SDK the race holds no lock across an await, and
//! its result moves every later request.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::area::Area;

/// How long a domain choice stands before a new race may run.
pub const DOMAIN_CACHE: Duration = Duration::from_secs(30);

/// Answers whether a host name resolves. Injectable so tests never query real DNS.
pub trait Resolver: Send + Sync {
    /// True when `host` resolves to at least one address.
    fn resolves(&self, host: String) -> Pin<Box<dyn Future<Output = bool> + Send>>;
}

/// The system resolver, through tokio.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolves(&self, host: String) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), 443));
            match tokio::time::timeout(Duration::from_secs(5), lookup).await {
                Ok(Ok(mut addrs)) => addrs.next().is_some(),
                _ => false,
            }
        })
    }
}

/// The area's hosts and which region/domain requests use.
pub(crate) struct Pool {
    area: Area,
    resolver: Arc<dyn Resolver>,
    state: Mutex<PoolState>,
}

struct PoolState {
    region: usize,
    domain: usize,
    raced_at: Option<Instant>,
}

impl Pool {
    pub fn new(area: Area, resolver: Arc<dyn Resolver>) -> Self {
        Pool {
            area,
            resolver,
            state: Mutex::new(PoolState {
                region: 0,
                domain: 0,
                raced_at: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The area the pool serves.
    pub fn area(&self) -> Area {
        self.area
    }

    /// The base URL requests use now.
    pub fn current_url(&self) -> String {
        let st = self.lock();
        let regions = self.area.regions();
        let domains = self.area.domains();
        format!(
            "https://{}.{}{}",
            regions[st.region % regions.len()],
            domains[st.domain % domains.len()],
            self.area.path()
        )
    }

    /// Moves to the next region (wrapping); CN has one region and stays.
    pub fn next_region(&self) {
        let mut st = self.lock();
        st.region = (st.region + 1) % self.area.regions().len();
    }

    /// Moves on from `failed`: the next domain, and after the last domain the next region.
    /// Nothing happens if the current URL is no longer `failed` (another request moved on).
    pub fn failed(&self, failed: &str) {
        if self.current_url() != failed {
            return;
        }
        let mut st = self.lock();
        st.domain = (st.domain + 1) % self.area.domains().len();
        if st.domain == 0 {
            st.region = (st.region + 1) % self.area.regions().len();
        }
    }

    /// Resolves the current region on every domain at once; the first that resolves wins.
    /// Skipped while the last successful race is younger than [`DOMAIN_CACHE`]. Returns the
    /// chosen domain, or `None` when nothing resolved (the choice is then left as it was).
    pub async fn select_best_domain(&self) -> Option<&'static str> {
        let region = {
            let st = self.lock();
            if st.raced_at.is_some_and(|t| t.elapsed() < DOMAIN_CACHE) {
                return Some(self.area.domains()[st.domain]);
            }
            self.area.regions()[st.region % self.area.regions().len()]
        };
        let mut race: FuturesUnordered<_> = self
            .area
            .domains()
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let lookup = self.resolver.resolves(format!("{region}.{d}"));
                async move { (i, lookup.await) }
            })
            .collect();
        while let Some((i, ok)) = race.next().await {
            if ok {
                let mut st = self.lock();
                st.domain = i;
                st.raced_at = Some(Instant::now());
                return Some(self.area.domains()[i]);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers from a table after a delay, and counts lookups.
    struct Fake {
        answers: HashMap<String, (bool, u64)>,
        lookups: AtomicUsize,
    }

    impl Resolver for Fake {
        fn resolves(&self, host: String) -> Pin<Box<dyn Future<Output = bool> + Send>> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let (ok, ms) = self.answers.get(&host).copied().unwrap_or((false, 0));
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ok
            })
        }
    }

    fn fake(pairs: &[(&str, bool, u64)]) -> Arc<Fake> {
        Arc::new(Fake {
            answers: pairs
                .iter()
                .map(|(h, ok, ms)| (h.to_string(), (*ok, *ms)))
                .collect(),
            lookups: AtomicUsize::new(0),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_domain_to_resolve_wins_and_is_cached_for_30_s() {
        let resolver = fake(&[
            ("api-us-west-1.agora.io", true, 300),
            ("api-us-west-1.sd-rtn.com", true, 20),
        ]);
        let pool = Pool::new(Area::Us, resolver.clone());
        assert_eq!(
            pool.current_url(),
            "https://api-us-west-1.agora.io/api/conversational-ai-agent"
        );
        assert_eq!(pool.select_best_domain().await, Some("sd-rtn.com"));
        assert_eq!(
            pool.current_url(),
            "https://api-us-west-1.sd-rtn.com/api/conversational-ai-agent"
        );
        assert_eq!(resolver.lookups.load(Ordering::SeqCst), 2);
        // Within the cache window nothing is looked up again.
        pool.select_best_domain().await;
        assert_eq!(resolver.lookups.load(Ordering::SeqCst), 2);
        tokio::time::advance(DOMAIN_CACHE + Duration::from_secs(1)).await;
        pool.select_best_domain().await;
        assert_eq!(resolver.lookups.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_lookup_loses_and_no_answer_changes_nothing() {
        let pool = Pool::new(
            Area::Eu,
            fake(&[
                ("api-eu-west-1.agora.io", false, 1),
                ("api-eu-west-1.sd-rtn.com", true, 50),
            ]),
        );
        assert_eq!(pool.select_best_domain().await, Some("sd-rtn.com"));
        let dead = Pool::new(Area::Eu, fake(&[]));
        assert_eq!(dead.select_best_domain().await, None);
        assert!(dead.current_url().contains(".agora.io"));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_races_do_not_deadlock() {
        let pool = Arc::new(Pool::new(
            Area::Ap,
            fake(&[("api-ap-southeast-1.agora.io", true, 10)]),
        ));
        let races: Vec<_> = (0..8)
            .map(|_| {
                let p = pool.clone();
                tokio::spawn(async move { p.select_best_domain().await })
            })
            .collect();
        for r in races {
            assert_eq!(r.await.unwrap(), Some("agora.io"));
        }
    }

    #[test]
    fn regions_cycle_and_cn_stays() {
        let pool = Pool::new(Area::Us, Arc::new(SystemResolver));
        pool.next_region();
        assert!(pool.current_url().starts_with("https://api-us-east-1."));
        pool.next_region();
        assert!(pool.current_url().starts_with("https://api-us-west-1."));
        let cn = Pool::new(Area::Cn, Arc::new(SystemResolver));
        cn.next_region();
        assert_eq!(
            cn.current_url(),
            "https://api.agora.io/cn/api/conversational-ai-agent"
        );
        cn.failed(&cn.current_url());
        assert_eq!(
            cn.current_url(),
            "https://api.sd-rtn.com/cn/api/conversational-ai-agent"
        );
    }

    #[test]
    fn failures_walk_domains_then_regions_once_per_failed_url() {
        let pool = Pool::new(Area::Us, Arc::new(SystemResolver));
        let first = pool.current_url();
        pool.failed(&first);
        pool.failed(&first); // a second request failing on the same URL does not skip ahead
        assert_eq!(
            pool.current_url(),
            "https://api-us-west-1.sd-rtn.com/api/conversational-ai-agent"
        );
        pool.failed(&pool.current_url());
        assert_eq!(
            pool.current_url(),
            "https://api-us-east-1.agora.io/api/conversational-ai-agent"
        );
    }
}
