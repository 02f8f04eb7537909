//! The webhook module's error type.

/// Why a callback was rejected, or why the de-duplication store failed.
///
/// `Display` is one line and never echoes a secret, a signature or the body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The request carried no signature header that the verifier accepts.
    #[error("missing signature: no {0} header")]
    MissingSignature(&'static str),
    /// A signature header is not the hex digest it should be (wrong length or not hex).
    #[error("malformed {header} header: {reason}")]
    MalformedSignature {
        /// The header at fault.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signature does not match the body under any configured secret.
    #[error("invalid signature: {0} does not match the body")]
    InvalidSignature(&'static str),
    /// The body is larger than the configured limit.
    #[error("body too large: more than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body is not the JSON envelope the service sends.
    #[error("malformed callback body: {0}")]
    Body(String),
    /// The verifier was configured without a usable secret.
    #[error("webhook configuration error: {0}")]
    Config(&'static str),
    /// The de-duplication store could not be reached or answered an error.
    #[error("dedupe store error: {0}")]
    Store(String),
}

impl WebhookError {
    /// True for a failure of the signature check (missing, malformed or wrong), which a
    /// receiver answers with 401.
    pub fn is_signature(&self) -> bool {
        matches!(
            self,
            Self::MissingSignature(_) | Self::MalformedSignature { .. } | Self::InvalidSignature(_)
        )
    }
}
