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
