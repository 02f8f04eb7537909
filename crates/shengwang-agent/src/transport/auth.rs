//! The `Authorization` header of every request, and the header-token cache of
//! app-credentials mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header::HeaderValue;

use crate::identity::Identity;
pub(crate) use crate::token::unix_now;
use crate::token::TokenBuilder;
use crate::{Error, Result};

/// Lifetime of a header token signed in app-credentials mode.
pub const HEADER_TOKEN_LIFETIME_SECS: u32 = 3600;
/// A cached header token is replaced this long before it expires, so no request carries a
/// token that could expire in flight or on a server whose clock runs a little ahead.
pub const HEADER_TOKEN_MARGIN_SECS: u32 = 600;
/// Identities whose header tokens are kept; past this the cache starts over (sessions are
/// many, but each signs again only once per lifetime).
const MAX_CACHED_IDENTITIES: usize = 4096;

/// How requests are authenticated.
pub(crate) enum Auth {
    /// `Basic base64(customer_id:customer_secret)`.
    Basic(HeaderValue),
    /// `agora token=<given token>`.
    Token(HeaderValue),
    /// A ConvoAI token per identity, signed with the app credentials and reused until
    /// [`HEADER_TOKEN_MARGIN_SECS`] before it expires.
    App {
        builder: Arc<TokenBuilder>,
        cache: Mutex<HashMap<Identity, Cached>>,
    },
}

#[derive(Clone)]
pub(crate) struct Cached {
    value: HeaderValue,
    /// Unix seconds after which the token is no longer sent.
    fresh_until: u64,
}

impl Auth {
    pub fn app(builder: Arc<TokenBuilder>) -> Self {
        Auth::App {
            builder,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn header(&self, identity: &Identity) -> Result<HeaderValue> {
        self.header_at(identity, unix_now())
    }

    /// The header for `identity` at Unix time `now` (the clock is a parameter for tests).
    pub fn header_at(&self, identity: &Identity, now: u64) -> Result<HeaderValue> {
        let (builder, cache) = match self {
            Auth::Basic(v) | Auth::Token(v) => return Ok(v.clone()),
            Auth::App { builder, cache } => (builder, cache),
        };
        let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = lock().get(identity) {
            if now < hit.fresh_until {
                return Ok(hit.value.clone());
            }
        }
        let issue_ts = u32::try_from(now).unwrap_or(u32::MAX);
        let token = TokenBuilder::clone(builder)
            .issue_ts(issue_ts)
            .convo_ai(&identity.channel, &identity.account)
            .expire(HEADER_TOKEN_LIFETIME_SECS)
            .build()?;
        let mut value = HeaderValue::from_str(&format!("agora token={token}"))
            .map_err(|_| Error::Config("token is not a valid header value".into()))?;
        value.set_sensitive(true);
        let fresh_until = now + u64::from(HEADER_TOKEN_LIFETIME_SECS - HEADER_TOKEN_MARGIN_SECS);
        let mut map = lock();
        if map.len() >= MAX_CACHED_IDENTITIES {
            map.clear();
        }
        map.insert(
            identity.clone(),
            Cached {
                value: value.clone(),
                fresh_until,
            },
        );
        Ok(value)
    }

    /// Takes `token`, signed for `identity` at or after `signed_at` to last `lifetime`
    /// seconds, as that identity's header token for as long as it has more than the margin
    /// left. A session's join token is signed for the same channel and uid as its header
    /// token, so the session signs one token instead of two. Nothing changes when the token
    /// would be replaced within the margin anyway, or outside app-credentials mode.
    pub fn adopt(&self, identity: &Identity, token: &str, signed_at: u64, lifetime: u32) {
        let Auth::App { cache, .. } = self else {
            return;
        };
        let Some(fresh_until) = (signed_at + u64::from(lifetime))
            .checked_sub(u64::from(HEADER_TOKEN_MARGIN_SECS))
            .filter(|&t| t > unix_now())
        else {
            return;
        };
        let Ok(mut value) = HeaderValue::from_str(&format!("agora token={token}")) else {
            return;
        };
        value.set_sensitive(true);
        let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED_IDENTITIES {
            map.clear();
        }
        map.insert(identity.clone(), Cached { value, fresh_until });
    }

    /// Drops `identity`'s header token: its session has ended, so the token is not kept in
    /// memory for nothing, and the cache holds about one entry per live session.
    pub fn forget(&self, identity: &Identity) {
        if let Auth::App { cache, .. } = self {
            cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(identity);
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Auth::Basic(_) => "basic",
            Auth::Token(_) => "token",
            Auth::App { .. } => "app-credentials",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::decode;

    const APP: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

    fn token_of(v: &HeaderValue) -> String {
        v.to_str()
            .unwrap()
            .trim_start_matches("agora token=")
            .to_owned()
    }

    #[test]
    fn header_tokens_are_reused_per_identity_and_never_sent_inside_the_margin() {
        let auth = Auth::app(Arc::new(TokenBuilder::new(APP, CERT).unwrap()));
        let a = Identity::session("room", "1001");
        let b = Identity::session("room", "1002");
        let t0 = 1_800_000_000u64;
        let first = auth.header_at(&a, t0).unwrap();
        assert_eq!(auth.header_at(&a, t0 + 10).unwrap(), first, "reused");
        assert_ne!(
            auth.header_at(&b, t0).unwrap(),
            first,
            "one token per identity"
        );
        // Walk the clock across two lifetimes: every token handed out has at least the
        // margin left before it expires, and a new one is signed once the margin is reached.
        let mut signed = 0;
        let mut last = String::new();
        for now in (t0..t0 + 2 * u64::from(HEADER_TOKEN_LIFETIME_SECS)).step_by(7) {
            let token = token_of(&auth.header_at(&a, now).unwrap());
            let decoded = decode(&token).unwrap();
            let expires_at =
                u64::from(decoded.content.issue_ts) + u64::from(decoded.content.expire);
            assert!(
                expires_at >= now + u64::from(HEADER_TOKEN_MARGIN_SECS),
                "token sent with less than the margin left at {now}"
            );
            if token != last {
                signed += 1;
                last = token;
            }
        }
        assert!((2..=4).contains(&signed), "signed {signed} tokens");
    }

    #[test]
    fn an_adopted_join_token_is_the_header_until_the_margin() {
        let auth = Auth::app(Arc::new(TokenBuilder::new(APP, CERT).unwrap()));
        let who = Identity::session("room", "1001");
        let now = unix_now();
        auth.adopt(&who, "007join", now, 7200);
        assert_eq!(token_of(&auth.header_at(&who, now).unwrap()), "007join");
        let edge = now + 7200 - u64::from(HEADER_TOKEN_MARGIN_SECS);
        assert_eq!(
            token_of(&auth.header_at(&who, edge - 1).unwrap()),
            "007join"
        );
        assert_ne!(
            token_of(&auth.header_at(&who, edge).unwrap()),
            "007join",
            "never sent inside the margin"
        );
        // A token that would already be inside the margin is not adopted.
        let other = Identity::session("room", "1002");
        auth.adopt(&other, "007short", now, HEADER_TOKEN_MARGIN_SECS);
        assert_ne!(token_of(&auth.header_at(&other, now).unwrap()), "007short");
        // A forgotten identity signs afresh.
        auth.forget(&who);
        assert_ne!(token_of(&auth.header_at(&who, now).unwrap()), "007join");
        // Nor is anything in Basic mode.
        let basic = Auth::Basic(HeaderValue::from_static("Basic eDp5"));
        basic.adopt(&who, "007join", now, 7200);
        assert_eq!(basic.header(&who).unwrap(), "Basic eDp5");
    }
}
