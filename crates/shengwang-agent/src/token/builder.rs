//! High-level builders for the tokens the SDK and its users need (spec §7, §8).

use std::fmt;

use rand::Rng;

use super::content::{AccessToken, RtcPrivilege, Service, ServiceBody, RTM_LOGIN};
use super::rules;
use crate::Result;

/// An RTC user: a numeric uid (0 = any uid) or a string account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcUid {
    /// Numeric uid; `0` is written as the empty string, meaning any uid.
    Uid(u32),
    /// String account, written as is (so `"0"` stays `"0"`).
    Account(String),
}

impl RtcUid {
    /// The uid as written into the token.
    pub fn to_wire(&self) -> String {
        match self {
            RtcUid::Uid(0) => String::new(),
            RtcUid::Uid(n) => n.to_string(),
            RtcUid::Account(s) => s.clone(),
        }
    }
}

impl From<u32> for RtcUid {
    fn from(uid: u32) -> Self {
        RtcUid::Uid(uid)
    }
}

impl From<&str> for RtcUid {
    fn from(account: &str) -> Self {
        RtcUid::Account(account.to_owned())
    }
}

impl From<String> for RtcUid {
    fn from(account: String) -> Self {
        RtcUid::Account(account)
    }
}

/// RTC role: a publisher may join and publish, a subscriber may only join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtcRole {
    /// Join plus publish audio, video and data.
    #[default]
    Publisher,
    /// Join only.
    Subscriber,
}

/// Signs tokens for one app. Validates the app id and certificate once, up front.
///
/// Issue time and salt come from the clock and a CSPRNG unless fixed with
/// [`issue_ts`](Self::issue_ts) and [`salt`](Self::salt) (for reproducible tokens).
///
/// ```
/// use shengwang_agent::token::TokenBuilder;
///
/// let token = TokenBuilder::new("970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b")?
///     .issue_ts(1_111_111)
///     .salt(1)
///     .convo_ai("7d72365eb983485397e3e3f9d460bdda", "2882341273")
///     .expire(600)
///     .build()?;
/// assert!(token.starts_with("007eJxTYHjNyj415sLf281TT2jd52gM"));
/// # Ok::<(), shengwang_agent::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct TokenBuilder {
    app_id: String,
    certificate: String,
    issue_ts: Option<u32>,
    salt: Option<u32>,
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("app_id", &self.app_id)
            .field("app_certificate", &crate::redact::REDACTED)
            .field("issue_ts", &self.issue_ts)
            .field("salt", &self.salt)
            .finish()
    }
}

impl TokenBuilder {
    /// A builder for the app; both values must be 32 hexadecimal characters.
    pub fn new(app_id: impl Into<String>, app_certificate: impl Into<String>) -> Result<Self> {
        let app_id = app_id.into();
        let certificate = app_certificate.into();
        rules::validate_app_id(&app_id)?;
        rules::validate_app_certificate(&certificate)?;
        Ok(TokenBuilder {
            app_id,
            certificate,
            issue_ts: None,
            salt: None,
        })
    }

    /// Fixes the issue time (Unix seconds) instead of reading the clock.
    pub fn issue_ts(mut self, issue_ts: u32) -> Self {
        self.issue_ts = Some(issue_ts);
        self
    }

    /// Fixes the salt instead of drawing one from a CSPRNG.
    pub fn salt(mut self, salt: u32) -> Self {
        self.salt = Some(salt);
        self
    }

    /// The app id tokens are issued for.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// An RTC token (the Python SDK's `generate_rtc_token` rules): publisher by default,
    /// token and privileges valid for 24 h.
    pub fn rtc<'a>(&'a self, channel: &'a str, uid: impl Into<RtcUid>) -> RtcToken<'a> {
        RtcToken {
            builder: self,
            channel,
            uid: uid.into(),
            role: RtcRole::Publisher,
            expire: rules::MAX_EXPIRE_SECS,
            privilege_expire: None,
        }
    }

    /// The ConvoAI agent token (the Python SDK's `generate_convo_ai_token` rules): RTC
    /// publisher + RTM login for `account`, optionally plus the ConvoAI service.
    ///
    /// An empty account means any uid, as in the Python SDK.
    pub fn convo_ai<'a>(&'a self, channel: &'a str, account: &'a str) -> ConvoAiToken<'a> {
        ConvoAiToken {
            builder: self,
            channel,
            account,
            expire: rules::MAX_EXPIRE_SECS,
            privilege_expire: 0,
            convoai_service: false,
        }
    }

    /// An RTM token (login privilege) for `user_id`.
    pub fn rtm<'a>(&'a self, user_id: &'a str) -> RtmToken<'a> {
        RtmToken {
            builder: self,
            user_id,
            expire: rules::MAX_EXPIRE_SECS,
        }
    }

    /// Signs arbitrary content with this builder's certificate; `content.app_id`,
    /// `issue_ts` and `salt` are taken as given.
    pub fn sign(&self, content: &AccessToken) -> String {
        content.sign(&self.certificate)
    }

    fn content(&self, expire: u32, services: Vec<Service>) -> AccessToken {
        AccessToken {
            app_id: self.app_id.clone(),
            issue_ts: self.issue_ts.unwrap_or_else(now_u32),
            expire,
            salt: self
                .salt
                .unwrap_or_else(|| rand::thread_rng().gen_range(1..=99_999_999)),
            services,
        }
    }
}

fn now_u32() -> u32 {
    u32::try_from(super::expires::unix_now()).unwrap_or(u32::MAX)
}

fn rtc_service(channel: &str, uid: String, role: RtcRole, privilege_expire: u32) -> Service {
    let service = Service::new(ServiceBody::Rtc {
        channel: channel.to_owned(),
        uid,
    })
    .with_privilege(RtcPrivilege::JoinChannel as u16, privilege_expire);
    match role {
        RtcRole::Subscriber => service,
        RtcRole::Publisher => service
            .with_privilege(RtcPrivilege::PublishAudioStream as u16, privilege_expire)
            .with_privilege(RtcPrivilege::PublishVideoStream as u16, privilege_expire)
            .with_privilege(RtcPrivilege::PublishDataStream as u16, privilege_expire),
    }
}

/// An RTC token being configured; see [`TokenBuilder::rtc`].
#[must_use]
#[derive(Debug)]
pub struct RtcToken<'a> {
    builder: &'a TokenBuilder,
    channel: &'a str,
    uid: RtcUid,
    role: RtcRole,
    expire: u32,
    privilege_expire: Option<u32>,
}

impl RtcToken<'_> {
    /// Publisher (default) or subscriber.
    pub fn role(mut self, role: RtcRole) -> Self {
        self.role = role;
        self
    }
    /// Token lifetime in seconds (1..=86 400; default 86 400).
    pub fn expire(mut self, secs: u32) -> Self {
        self.expire = secs;
        self
    }
    /// Privilege lifetime in seconds (0..=86 400; default: the token lifetime).
    pub fn privilege_expire(mut self, secs: u32) -> Self {
        self.privilege_expire = Some(secs);
        self
    }
    /// Validates the inputs and signs.
    pub fn build(self) -> Result<String> {
        rules::validate_channel(self.channel)?;
        if let RtcUid::Account(a) = &self.uid {
            if a.is_empty() {
                return Err(crate::Error::invalid(
                    "account",
                    "must not be empty (use uid 0 for any uid)",
                ));
            }
            rules::validate_account("account", a)?;
        }
        rules::validate_token_expire("expire", self.expire)?;
        let privilege = self.privilege_expire.unwrap_or(self.expire);
        rules::validate_privilege_expire("privilege_expire", privilege)?;
        let service = rtc_service(self.channel, self.uid.to_wire(), self.role, privilege);
        Ok(self
            .builder
            .sign(&self.builder.content(self.expire, vec![service])))
    }
}

/// A ConvoAI agent token being configured; see [`TokenBuilder::convo_ai`].
#[must_use]
#[derive(Debug)]
pub struct ConvoAiToken<'a> {
    builder: &'a TokenBuilder,
    channel: &'a str,
    account: &'a str,
    expire: u32,
    privilege_expire: u32,
    convoai_service: bool,
}

impl ConvoAiToken<'_> {
    /// Token lifetime in seconds (1..=86 400; default 86 400). Also the RTM login lifetime.
    pub fn expire(mut self, secs: u32) -> Self {
        self.expire = secs;
        self
    }
    /// RTC privilege lifetime in seconds; 0 (the default) means the token lifetime.
    pub fn privilege_expire(mut self, secs: u32) -> Self {
        self.privilege_expire = secs;
        self
    }
    /// Also carry the ConvoAI service (type 9), as the newest AgoraIO/Tools builder does.
    /// Off by default, matching the Python SDK byte for byte.
    pub fn with_convoai_service(mut self, on: bool) -> Self {
        self.convoai_service = on;
        self
    }
    /// Validates the inputs and signs.
    pub fn build(self) -> Result<String> {
        rules::validate_channel(self.channel)?;
        rules::validate_account("account", self.account)?;
        rules::validate_token_expire("expire", self.expire)?;
        rules::validate_privilege_expire("privilege_expire", self.privilege_expire)?;
        let privilege = if self.privilege_expire == 0 {
            self.expire
        } else {
            self.privilege_expire
        };
        let mut services = vec![
            rtc_service(
                self.channel,
                self.account.to_owned(),
                RtcRole::Publisher,
                privilege,
            ),
            Service::new(ServiceBody::Rtm {
                user_id: self.account.to_owned(),
            })
            .with_privilege(RTM_LOGIN, self.expire),
        ];
        if self.convoai_service {
            services.push(Service::new(ServiceBody::ConvoAi));
        }
        Ok(self
            .builder
            .sign(&self.builder.content(self.expire, services)))
    }
}

/// An RTM token being configured; see [`TokenBuilder::rtm`].
#[must_use]
#[derive(Debug)]
pub struct RtmToken<'a> {
    builder: &'a TokenBuilder,
    user_id: &'a str,
    expire: u32,
}

impl RtmToken<'_> {
    /// Token and login lifetime in seconds (1..=86 400; default 86 400).
    pub fn expire(mut self, secs: u32) -> Self {
        self.expire = secs;
        self
    }
    /// Validates the inputs and signs.
    pub fn build(self) -> Result<String> {
        rules::validate_user_id(self.user_id)?;
        rules::validate_token_expire("expire", self.expire)?;
        let service = Service::new(ServiceBody::Rtm {
            user_id: self.user_id.to_owned(),
        })
        .with_privilege(RTM_LOGIN, self.expire);
        Ok(self
            .builder
            .sign(&self.builder.content(self.expire, vec![service])))
    }
}
