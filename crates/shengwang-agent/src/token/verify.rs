//! Verification (spec §10): app id, signature in constant time, expiry, optional service checks.

use std::fmt;

use hmac::Mac;

use super::content::{decode, signing_mac, AccessToken, RtcPrivilege, ServiceBody, ServiceType};
use super::rules;
use crate::{Result, TokenError};

/// What a token must satisfy to verify. Built once per app and reused.
///
/// ```
/// use shengwang_agent::token::{self, TokenBuilder, Validation};
///
/// let (app_id, cert) = ("970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b");
/// let t = TokenBuilder::new(app_id, cert)?.convo_ai("demo", "1001").build()?;
/// let ok = token::verify(&t, &Validation::new(app_id, cert)?.require_rtc_join("demo", "1001"))?;
/// assert_eq!(ok.app_id, app_id);
/// # Ok::<(), shengwang_agent::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct Validation {
    app_id: String,
    certificate: String,
    now: Option<u64>,
    services: Vec<ServiceType>,
    rtc_join: Option<(String, Option<String>)>,
}

impl fmt::Debug for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validation")
            .field("app_id", &self.app_id)
            .field("app_certificate", &crate::redact::REDACTED)
            .field("now", &self.now)
            .field("services", &self.services)
            .field("rtc_join", &self.rtc_join)
            .finish()
    }
}

impl Validation {
    /// Verify against this app id and certificate (both 32 hexadecimal characters).
    pub fn new(app_id: impl Into<String>, app_certificate: impl Into<String>) -> Result<Self> {
        let app_id = app_id.into();
        let certificate = app_certificate.into();
        rules::validate_app_id(&app_id)?;
        rules::validate_app_certificate(&certificate)?;
        Ok(Validation {
            app_id,
            certificate,
            now: None,
            services: Vec::new(),
            rtc_join: None,
        })
    }

    /// Judges expiry at this Unix time instead of the system clock.
    pub fn at(mut self, unix_secs: u64) -> Self {
        self.now = Some(unix_secs);
        self
    }

    /// Requires a service of this type to be present.
    pub fn require_service(mut self, service: ServiceType) -> Self {
        if !self.services.contains(&service) {
            self.services.push(service);
        }
        self
    }

    /// Requires an RTC service for `channel` whose uid is `uid` or empty (any uid), with an
    /// unexpired join privilege.
    pub fn require_rtc_join(mut self, channel: impl Into<String>, uid: impl Into<String>) -> Self {
        self.rtc_join = Some((channel.into(), Some(uid.into())));
        self
    }

    /// Requires an RTC service for `channel` (any uid) with an unexpired join privilege.
    pub fn require_rtc_channel(mut self, channel: impl Into<String>) -> Self {
        self.rtc_join = Some((channel.into(), None));
        self
    }

    fn now(&self) -> u64 {
        self.now.unwrap_or_else(super::expires::unix_now)
    }
}

/// Parses and verifies a token; returns its content when every check of `validation` passes.
///
/// Failures are [`Error::Token`](crate::Error::Token) with the [`TokenError`] that says why.
pub fn verify(token: &str, validation: &Validation) -> Result<AccessToken> {
    let decoded = decode(token)?;
    let content = decoded.content;
    if content.app_id != validation.app_id {
        return Err(TokenError::AppIdMismatch.into());
    }
    let mut mac = signing_mac(
        validation.certificate.as_bytes(),
        content.issue_ts,
        content.salt,
    );
    mac.update(&decoded.signing_info);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&decoded.signature)
        .map_err(|_| TokenError::SignatureMismatch)?;
    validation.check_verified(&content)?;
    Ok(content)
}

impl Validation {
    /// Checks a token that [`verify`] accepted before against this validation's clock and
    /// requirements: expiry, services, channel and uid, with the same errors as `verify`.
    /// It does not check the app id or the signature again, which is what makes it cheap: use
    /// it for a cache of tokens verified with the same app id and certificate, never on a
    /// token that did not come out of [`verify`].
    ///
    /// ```
    /// use shengwang_agent::token::{self, TokenBuilder, Validation};
    ///
    /// let (app_id, cert) = ("970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b");
    /// let t = TokenBuilder::new(app_id, cert)?.convo_ai("demo", "1001").build()?;
    /// let v = Validation::new(app_id, cert)?;
    /// let verified = token::verify(&t, &v)?;
    /// // Later, for a request that must join "demo" as 1001:
    /// v.clone().require_rtc_join("demo", "1001").check_verified(&verified)?;
    /// assert!(v.require_rtc_join("demo", "1002").check_verified(&verified).is_err());
    /// # Ok::<(), shengwang_agent::Error>(())
    /// ```
    pub fn check_verified(&self, content: &AccessToken) -> Result<()> {
        let now = self.now();
        if now >= content.expires_at() {
            return Err(TokenError::Expired {
                expired_at: content.expires_at(),
            }
            .into());
        }
        for kind in &self.services {
            if content.service(*kind).is_none() {
                return Err(TokenError::MissingService(*kind).into());
            }
        }
        if let Some((channel, uid)) = &self.rtc_join {
            check_rtc_join(content, channel, uid.as_deref(), now)?;
        }
        Ok(())
    }
}

fn check_rtc_join(content: &AccessToken, channel: &str, uid: Option<&str>, now: u64) -> Result<()> {
    let rtc: Vec<_> = content
        .services
        .iter()
        .filter_map(|s| match &s.body {
            ServiceBody::Rtc { channel, uid } => Some((s, channel, uid)),
            _ => None,
        })
        .collect();
    if rtc.is_empty() {
        return Err(TokenError::MissingService(ServiceType::Rtc).into());
    }
    let in_channel: Vec<_> = rtc.iter().filter(|(_, c, _)| *c == channel).collect();
    if in_channel.is_empty() {
        return Err(TokenError::ChannelMismatch.into());
    }
    let Some((service, _, _)) = in_channel
        .iter()
        .find(|(_, _, u)| u.is_empty() || uid.is_none_or(|want| u.as_str() == want))
    else {
        return Err(TokenError::UidMismatch.into());
    };
    let join = RtcPrivilege::JoinChannel as u16;
    // A privilege of 0 means "no limit of its own" (AgoraIO/Tools' default); the token's
    // expiry, checked already, still applies.
    match service.privileges.get(&join) {
        Some(0) => Ok(()),
        Some(secs) if now < u64::from(content.issue_ts) + u64::from(*secs) => Ok(()),
        _ => Err(TokenError::MissingPrivilege {
            service: ServiceType::Rtc,
            privilege: join,
        }
        .into()),
    }
}
