//! Header tokens that already verified, so a client that reuses one token for many requests
//! (as the SDK does) costs the emulator one signature check per token, not one per request.
//!
//! Only the checks whose answer cannot change for the same string are remembered (decoding,
//! app id, signature, services); expiry is checked against the clock on every request, and an
//! expired token goes through the full check again so its error is the usual one. Benchmarks
//! run the emulator on the same cores as the client, where per-request verification would
//! otherwise be charged to the client under test.

use std::collections::HashMap;
use std::sync::Mutex;

/// How many tokens are remembered; past this the set starts over.
const CAPACITY: usize = 8192;

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    /// token → Unix second at which it expires.
    inner: Mutex<HashMap<Box<str>, u64>>,
}

impl VerifiedTokens {
    /// True when `token` verified before and has not expired at `now`.
    pub fn fresh(&self, token: &str, now: u64) -> bool {
        self.lock().get(token).is_some_and(|&exp| now < exp)
    }

    /// Remembers that `token`, expiring at `expires_at`, verified.
    pub fn remember(&self, token: &str, expires_at: u64) {
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(token.into(), expires_at);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, u64>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_token_is_fresh_only_until_it_expires() {
        let v = VerifiedTokens::default();
        assert!(!v.fresh("t", 10), "never verified");
        v.remember("t", 100);
        assert!(v.fresh("t", 99));
        assert!(!v.fresh("t", 100), "expired at its expiry second");
        assert!(!v.fresh("u", 50), "another string");
    }

    #[test]
    fn the_set_is_bounded() {
        let v = VerifiedTokens::default();
        for i in 0..CAPACITY + 10 {
            v.remember(&i.to_string(), 100);
        }
        assert!(v.lock().len() <= CAPACITY);
    }
}
