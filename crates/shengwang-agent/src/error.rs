//! The crate's one error type.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure the SDK reports.
///
/// `Display` is one line and never contains a secret (certificate, customer secret, token,
/// vendor key): the values a user passed are named by field, not echoed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value the caller passed breaks a documented rule; nothing was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument or JSON path at fault, e.g. `app_certificate` or `properties.channel`.
        field: String,
        /// What is wrong with it, without echoing secret values.
        reason: String,
    },
    /// The client or a builder was configured inconsistently.
    #[error("configuration error: {0}")]
    Config(String),
    /// An AccessToken2 could not be parsed or did not verify.
    #[error("invalid token: {0}")]
    Token(#[from] TokenError),
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why a token was rejected by [`token::decode`](crate::token::decode) or
/// [`token::verify`](crate::token::verify).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// The string does not start with the AccessToken2 version `007`.
    WrongPrefix,
    /// The part after the version is not strict standard base64.
    Base64,
    /// The decoded bytes are not a valid zlib stream.
    Inflate,
    /// The input or its inflated content is larger than a token can be.
    TooLarge {
        /// The bound that was exceeded, in bytes.
        limit: usize,
    },
    /// The content ended in the middle of a field.
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes remain after the last service.
    TrailingBytes(usize),
    /// The signature field is not 32 bytes long.
    SignatureLength(usize),
    /// A text field is not UTF-8.
    NotUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// Map keys out of order or repeated: not what any encoder writes.
    NonCanonical {
        /// The field being read.
        field: &'static str,
    },
    /// A service type this implementation does not know.
    UnknownService(u16),
    /// The token was issued for another app id.
    AppIdMismatch,
    /// The signature does not match: wrong certificate or tampered content.
    SignatureMismatch,
    /// The token has expired.
    Expired {
        /// Unix time (seconds) at which it expired.
        expired_at: u64,
    },
    /// A service the use requires is absent.
    MissingService(crate::token::ServiceType),
    /// The RTC service is for another channel.
    ChannelMismatch,
    /// The RTC service is for another uid.
    UidMismatch,
    /// A required privilege is absent or expired.
    MissingPrivilege {
        /// The service holding the privilege.
        service: crate::token::ServiceType,
        /// The privilege id.
        privilege: u16,
    },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::WrongPrefix => f.write_str("not an AccessToken2 (expected prefix \"007\")"),
            TokenError::Base64 => f.write_str("body is not valid standard base64"),
            TokenError::Inflate => f.write_str("body is not a valid zlib stream"),
            TokenError::TooLarge { limit } => write!(f, "larger than {limit} bytes"),
            TokenError::Truncated { field } => write!(f, "truncated while reading {field}"),
            TokenError::TrailingBytes(n) => {
                write!(f, "{n} unexpected bytes after the last service")
            }
            TokenError::SignatureLength(n) => write!(f, "signature is {n} bytes, expected 32"),
            TokenError::NotUtf8 { field } => write!(f, "{field} is not UTF-8"),
            TokenError::NonCanonical { field } => {
                write!(f, "{field} keys out of order or repeated")
            }
            TokenError::UnknownService(t) => write!(f, "unknown service type {t}"),
            TokenError::AppIdMismatch => f.write_str("issued for another app id"),
            TokenError::SignatureMismatch => {
                f.write_str("signature mismatch (wrong app certificate or altered token)")
            }
            TokenError::Expired { expired_at } => write!(f, "expired at unix time {expired_at}"),
            TokenError::MissingService(s) => write!(f, "no {s} service"),
            TokenError::ChannelMismatch => f.write_str("RTC service is for another channel"),
            TokenError::UidMismatch => f.write_str("RTC service is for another uid"),
            TokenError::MissingPrivilege { service, privilege } => {
                write!(f, "{service} privilege {privilege} missing or expired")
            }
        }
    }
}

impl std::error::Error for TokenError {}
