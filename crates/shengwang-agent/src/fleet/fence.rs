//! Fencing: a process acts as owner only while its lease is fresh on its own monotonic
//! clock. The lease is renewed by one heartbeat per process; `renewed_at` is when the last
//! successful renewal was *sent*, so the lease in Redis expires no earlier than
//! `renewed_at + lease`. The process stops acting at `renewed_at + lease - margin`, before
//! anyone may take over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The lease of one process.
pub(crate) struct Lease {
    /// Ownership is leased (Redis); without a lease (memory) the process always acts.
    leased: bool,
    pub(crate) lease: Duration,
    pub(crate) margin: Duration,
    renewed_at: Mutex<Option<Instant>>,
    fenced: AtomicBool,
}

impl Lease {
    pub(crate) fn new(leased: bool, lease: Duration) -> Self {
        Lease {
            leased,
            lease,
            margin: margin(lease),
            renewed_at: Mutex::new(None),
            fenced: AtomicBool::new(false),
        }
    }
    fn renewed(&self) -> Option<Instant> {
        *self.renewed_at.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Records a successful renewal sent at `sent`; true when the process was fenced and
    /// may act again.
    pub(crate) fn renew(&self, sent: Instant) -> bool {
        let mut r = self.renewed_at.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none_or(|t| t < sent) {
            *r = Some(sent);
        }
        self.fenced.swap(false, Ordering::SeqCst)
    }
    /// When the process must stop acting unless it renews first.
    pub(crate) fn acts_until(&self) -> Option<Instant> {
        self.renewed()
            .map(|t| t + self.lease.saturating_sub(self.margin))
    }
    /// True while the process may act as owner.
    pub(crate) fn acting(&self) -> bool {
        !self.leased
            || self
                .acts_until()
                .is_some_and(|until| Instant::now() < until)
    }
    /// Marks the process fenced; true the first time (the caller reports it).
    pub(crate) fn fence(&self) -> bool {
        !self.fenced.swap(true, Ordering::SeqCst)
    }
    /// Time since the last successful renewal.
    pub(crate) fn since_renewal(&self) -> Duration {
        self.renewed().map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// The safety margin: a fifth of the lease, at least 300 ms (never more than half of it).
pub(crate) fn margin(lease: Duration) -> Duration {
    (lease / 5).max(Duration::from_millis(300)).min(lease / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_acts_until_lease_minus_margin() {
        let l = Lease::new(true, Duration::from_secs(1));
        assert!(!l.acting());
        let sent = Instant::now();
        l.renew(sent);
        assert!(l.acting());
        assert_eq!(l.acts_until(), Some(sent + Duration::from_millis(700)));
        assert!(l.fence());
        assert!(!l.fence());
        assert!(l.renew(Instant::now()));
        assert!(Lease::new(false, Duration::from_secs(1)).acting());
    }
}
