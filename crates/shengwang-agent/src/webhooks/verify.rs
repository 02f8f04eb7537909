//! Signature checks on the raw body: `Agora-Signature-V2` (HMAC-SHA256) and
//! `Agora-Signature` (HMAC-SHA1), both lowercase hex, keyed by the console secret's bytes.

use hmac::{Hmac, Mac};

use super::error::WebhookError;
use crate::types::blocks::Secret;

/// Header carrying the hex HMAC-SHA256 of the body.
pub const SIGNATURE_V2_HEADER: &str = "Agora-Signature-V2";
/// Header carrying the hex HMAC-SHA1 of the body.
pub const SIGNATURE_HEADER: &str = "Agora-Signature";
/// Default largest body accepted: history and turn batches can be large, so a few MiB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// Which header verified a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// `Agora-Signature-V2`, HMAC-SHA256.
    V2Sha256,
    /// `Agora-Signature`, HMAC-SHA1.
    V1Sha1,
}

/// The two signature header values of one request, as received. Framework-free: fill it from
/// whatever request type you have, or from an [`http::HeaderMap`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Signatures<'a> {
    /// `Agora-Signature-V2`, if present.
    pub v2: Option<&'a str>,
    /// `Agora-Signature`, if present.
    pub v1: Option<&'a str>,
}

impl<'a> Signatures<'a> {
    /// Reads both headers (names are case-insensitive). A header that is not visible ASCII
    /// counts as present but malformed.
    pub fn from_headers(headers: &'a http::HeaderMap) -> Self {
        let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
        Signatures {
            v2: get(SIGNATURE_V2_HEADER),
            v1: get(SIGNATURE_HEADER),
        }
    }
}

/// Checks callback signatures against one or more secrets.
///
/// Several secrets may be configured at once so a secret can be rotated without downtime: a
/// signature matching any of them is accepted. By default `Agora-Signature-V2` is checked when
/// present and `Agora-Signature` otherwise; [`Verifier::require_v2`] refuses SHA-1 only
/// requests. Comparisons are constant-time.
#[derive(Debug, Clone)]
pub struct Verifier {
    secrets: Vec<Secret>,
    /// Each non-empty secret's HMAC states with the key already absorbed, cloned per body.
    keyed: Vec<Keyed>,
    require_v2: bool,
    max_body: usize,
}

impl Verifier {
    /// A verifier for one secret.
    pub fn new(secret: impl Into<Secret>) -> Self {
        Verifier {
            secrets: Vec::new(),
            keyed: Vec::new(),
            require_v2: false,
            max_body: DEFAULT_MAX_BODY,
        }
        .with_secret(secret)
    }
    /// Also accepts signatures made with `secret` (rotation: old and new side by side).
    pub fn with_secret(mut self, secret: impl Into<Secret>) -> Self {
        let secret = secret.into();
        if !secret.expose().is_empty() {
            self.keyed.extend(Keyed::new(secret.expose().as_bytes()));
        }
        self.secrets.push(secret);
        self
    }
    /// With `true`, only `Agora-Signature-V2` is accepted; a request with only the SHA-1
    /// header is rejected as missing its signature.
    pub fn require_v2(mut self, require: bool) -> Self {
        self.require_v2 = require;
        self
    }
    /// Largest body accepted, in bytes (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body(mut self, limit: usize) -> Self {
        self.max_body = limit;
        self
    }
    /// The configured body limit.
    pub fn body_limit(&self) -> usize {
        self.max_body
    }

    /// Verifies `body` (the raw request bytes, before any parsing) against the signatures.
    pub fn verify(
        &self,
        signatures: Signatures<'_>,
        body: &[u8],
    ) -> Result<SignatureKind, WebhookError> {
        if body.len() > self.max_body {
            return Err(WebhookError::BodyTooLarge {
                limit: self.max_body,
            });
        }
        if self.keyed.is_empty() {
            return Err(WebhookError::Config(
                "no non-empty webhook secret configured",
            ));
        }
        match (signatures.v2, signatures.v1) {
            (Some(v2), _) => {
                let digest = decode::<32>(v2, SIGNATURE_V2_HEADER)?;
                self.check(|k| &k.v2, &digest, body)
                    .then_some(SignatureKind::V2Sha256)
                    .ok_or(WebhookError::InvalidSignature(SIGNATURE_V2_HEADER))
            }
            (None, _) if self.require_v2 => {
                Err(WebhookError::MissingSignature(SIGNATURE_V2_HEADER))
            }
            (None, Some(v1)) => {
                let digest = decode::<20>(v1, SIGNATURE_HEADER)?;
                self.check(|k| &k.v1, &digest, body)
                    .then_some(SignatureKind::V1Sha1)
                    .ok_or(WebhookError::InvalidSignature(SIGNATURE_HEADER))
            }
            (None, None) => Err(WebhookError::MissingSignature(
                "Agora-Signature-V2 or Agora-Signature",
            )),
        }
    }

    /// Verifies against the signature headers of `headers`.
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<SignatureKind, WebhookError> {
        self.verify(Signatures::from_headers(headers), body)
    }

    fn check<M: Mac + Clone>(&self, mac: fn(&Keyed) -> &M, digest: &[u8], body: &[u8]) -> bool {
        // Every secret is tried (no early exit), so timing does not tell which one matched.
        self.keyed.iter().fold(false, |ok, k| {
            let mut m = mac(k).clone();
            m.update(body);
            m.verify_slice(digest).is_ok() | ok
        })
    }
}

/// One secret's keyed HMAC states.
#[derive(Clone)]
struct Keyed {
    v2: Hmac<sha2::Sha256>,
    v1: Hmac<sha1::Sha1>,
}

impl Keyed {
    /// `None` never happens (HMAC takes keys of any length), and would leave the secret out.
    fn new(key: &[u8]) -> Option<Self> {
        use hmac::digest::KeyInit;
        Some(Keyed {
            v2: <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).ok()?,
            v1: <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key).ok()?,
        })
    }
}

impl std::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

/// Decodes a hex digest of exactly `N` bytes (either case), without echoing it in errors.
fn decode<const N: usize>(text: &str, header: &'static str) -> Result<[u8; N], WebhookError> {
    let text = text.trim();
    if text.len() != N * 2 {
        return Err(WebhookError::MalformedSignature {
            header,
            reason: if N == 32 {
                "expected 64 hex characters"
            } else {
                "expected 40 hex characters"
            },
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| WebhookError::MalformedSignature {
        header,
        reason: "not hexadecimal",
    })?;
    Ok(out)
}

/// Hex HMAC-SHA256 of `body` under `secret`: the `Agora-Signature-V2` value a sender puts on
/// the request.
pub fn sign_v2(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let Ok(mut mac) = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Hex HMAC-SHA1 of `body` under `secret`: the `Agora-Signature` value.
pub fn sign_v1(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let Ok(mut mac) = <Hmac<sha1::Sha1> as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
