//! Tokens that already verified, so a client that sends one token many times (the SDK reuses
//! a session's join token as its header token) costs the emulator one signature check for it,
//! not one per request.
//!
//! Only what cannot change for the same string is remembered: the decoded content, whose app
//! id and signature were checked against the emulator's one app. Expiry, services, channel and
//! uid are checked on every use (`Validation::check_verified`), with the same errors as a
//! full check. Benchmarks run the emulator on the same cores as the client, where per-request
//! verification would otherwise be charged to the client under test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shengwang_agent::token::{self, AccessToken, Validation};

/// How many tokens are remembered; past this the set starts over. Enough for the sessions a
/// benchmark keeps in flight; a set many times larger holds mostly ended sessions' tokens, and
/// that scattered memory slowed every request in app-credentials runs by several percent.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    inner: Mutex<HashMap<Box<str>, Arc<AccessToken>>>,
}

impl VerifiedTokens {
    /// Verifies `token` against `v` (which must be for the emulator's app id and certificate):
    /// in full the first time, then by its remembered content.
    pub fn verify(&self, token: &str, v: &Validation) -> shengwang_agent::Result<Arc<AccessToken>> {
        let known = self.lock().get(token).cloned();
        if let Some(content) = known {
            v.check_verified(&content)?;
            return Ok(content);
        }
        let content = Arc::new(token::verify(token, v)?);
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(token.into(), content.clone());
        Ok(content)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<AccessToken>>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shengwang_agent::token::TokenBuilder;

    const APP: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

    fn token(channel: &str, issued: u32, lifetime: u32) -> String {
        TokenBuilder::new(APP, CERT)
            .unwrap()
            .issue_ts(issued)
            .convo_ai(channel, "1001")
            .expire(lifetime)
            .build()
            .unwrap()
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_expiry_and_identity() {
        let cache = VerifiedTokens::default();
        let v = Validation::new(APP, CERT).unwrap();
        let t = token("room", 1_000, 100);
        cache.verify(&t, &v.clone().at(1_050)).unwrap();
        assert_eq!(cache.lock().len(), 1, "remembered");
        // Same string, other requirements: each is checked on the remembered content.
        let join = |ch: &str| v.clone().at(1_050).require_rtc_join(ch, "1001");
        assert!(cache.verify(&t, &join("room")).is_ok());
        let wrong = cache.verify(&t, &join("other")).unwrap_err().to_string();
        let full = token::verify(&t, &join("other")).unwrap_err().to_string();
        assert_eq!(wrong, full, "the same error as a full check");
        let expired = cache
            .verify(&t, &v.clone().at(1_100))
            .unwrap_err()
            .to_string();
        assert_eq!(
            expired,
            token::verify(&t, &v.clone().at(1_100))
                .unwrap_err()
                .to_string()
        );
    }

    #[test]
    fn a_token_that_fails_is_not_remembered() {
        let cache = VerifiedTokens::default();
        let v = Validation::new(APP, CERT).unwrap().at(1_050);
        let mut forged = token("room", 1_000, 100);
        // Flip a character inside the base64 body: the signature no longer matches.
        let i = forged.len() - 10;
        let c = if &forged[i..=i] == "A" { "B" } else { "A" };
        forged.replace_range(i..=i, c);
        assert!(cache.verify(&forged, &v).is_err());
        assert!(cache.verify(&forged, &v).is_err(), "still refused");
        assert!(cache.lock().is_empty());
        let other = Validation::new(APP, "0123456789abcdef0123456789abcdef")
            .unwrap()
            .at(1_050);
        assert!(cache.verify(&token("room", 1_000, 100), &other).is_err());
        assert!(cache.lock().is_empty(), "wrong certificate: not remembered");
    }

    #[test]
    fn the_set_is_bounded() {
        let cache = VerifiedTokens::default();
        let v = Validation::new(APP, CERT).unwrap().at(1_050);
        for i in 0..CAPACITY + 10 {
            cache
                .verify(&token(&i.to_string(), 1_000, 100), &v)
                .unwrap();
        }
        assert!(cache.lock().len() <= CAPACITY);
    }
}
