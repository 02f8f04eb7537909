//! Time as the emulator sees it: the system clock, or a manual one tests move by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The emulator's clock. Cheap to clone; clones of a manual clock share its time.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    /// The system clock (the default).
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that starts at `start_unix_secs` and only moves with [`advance`](Self::advance).
    pub fn manual(start_unix_secs: u64) -> Self {
        Clock(Some(Arc::new(AtomicU64::new(start_unix_secs * 1000))))
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(ms) = &self.0 {
            ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match &self.0 {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.now_ms() / 1000
    }
}
