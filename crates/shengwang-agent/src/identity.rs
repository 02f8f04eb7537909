//! Whom each token is signed for: the one place that decides the channel and account of
//! every header token (app-credentials auth) and every body token (the agent's and the
//! avatar's channel tokens).
//!
//! The rules follow Agora's official server SDKs:
//! - a session's calls sign their header token for the session's channel and agent uid;
//! - a stateless stop ([`Client::stop_agent`](crate::Client::stop_agent)) signs for channel
//!   `"stop"` and account `"0"`;
//! - other REST calls made outside a session sign for a fixed service channel with the
//!   "any uid" account;
//! - body tokens are signed for the uid that joins the channel with them: the agent's uid for
//!   the join's token, the avatar's uid for the avatar's token. A uid of `"0"` means "any uid"
//!   there and is signed as the empty account, as Agora's token builders do.

use std::time::Duration;

use crate::token::TokenBuilder;
use crate::Result;

/// A channel token and when it expires.
#[derive(Clone)]
pub(crate) struct SignedToken {
    /// The token.
    pub token: String,
    /// Unix seconds at which it expires (its issue time plus its lifetime).
    pub expires_at: u64,
}

/// The one function that signs a channel token: for `who`, valid for `lifetime` (1 s to
/// 24 h). The join token of a start, an avatar's token, a renewal's token and the header
/// token a session adopts from its join token all come from here.
pub(crate) fn sign_channel_token(
    signer: &TokenBuilder,
    who: &Identity,
    lifetime: Duration,
) -> Result<SignedToken> {
    let secs = crate::token::expires_in(lifetime)?;
    let signed_at = crate::token::unix_now();
    let token = signer
        .convo_ai(&who.channel, &who.account)
        .expire(secs)
        .build()?;
    // The builder reads the clock itself (or takes a fixed issue time): its expiry is the
    // token's own, read back from what was just signed.
    let expires_at = crate::token::decode(&token)
        .map(|d| d.content.expires_at())
        .unwrap_or(signed_at + u64::from(secs));
    Ok(SignedToken { token, expires_at })
}

/// The channel and account a token is signed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    pub channel: String,
    pub account: String,
}

impl Identity {
    /// Header token of REST calls made outside a session.
    pub fn service() -> Self {
        Identity {
            channel: "convoai-rest-api".into(),
            account: String::new(),
        }
    }

    /// Header token of a stateless stop by agent id.
    pub fn stateless_stop() -> Self {
        Identity {
            channel: "stop".into(),
            account: "0".into(),
        }
    }

    /// Header token of a session's own calls (start, stop, say, …).
    pub fn session(channel: &str, agent_uid: &str) -> Self {
        Identity {
            channel: channel.to_owned(),
            account: agent_uid.to_owned(),
        }
    }

    /// Body token for a participant that joins `channel` as `uid` (the agent, an avatar).
    pub fn participant(channel: &str, uid: &str) -> Self {
        Identity {
            channel: channel.to_owned(),
            account: if uid == "0" {
                String::new()
            } else {
                uid.to_owned()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_follow_the_official_sdks() {
        assert_eq!(
            Identity::stateless_stop(),
            Identity {
                channel: "stop".into(),
                account: "0".into()
            }
        );
        assert_eq!(Identity::session("room", "1001").account, "1001");
        assert_eq!(Identity::participant("room", "0").account, "");
        assert_eq!(Identity::participant("room", "7").account, "7");
    }
}
