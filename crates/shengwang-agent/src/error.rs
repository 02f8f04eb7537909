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
    /// The session's state does not allow the operation; nothing was sent.
    #[error("cannot {operation} while the session is {state}")]
    State {
        /// What was asked.
        operation: crate::agentkit::session::vocab::Operation,
        /// The state it was asked in.
        state: crate::agentkit::session::vocab::SessionState,
    },
    /// The operation needs an agent id and the session has none for its current run.
    #[error("cannot {operation}: the session has no agent id (start it first)")]
    NoAgentId {
        /// What was asked.
        operation: crate::agentkit::session::vocab::Operation,
    },
    /// The service answered with a non-2xx status.
    #[error("{}", api_line(*status, reason, detail, request_id.as_deref()))]
    Api {
        /// HTTP status.
        status: u16,
        /// The service's stable error code (`reason`), if the body had one.
        reason: ErrorReason,
        /// The service's human-readable `detail`, if any.
        detail: Option<String>,
        /// The request id from the `X-Request-Id` header or the body, if any.
        request_id: Option<String>,
        /// The response body: parsed JSON, or the raw text as a JSON string. Boxed so the
        /// error stays small on the happy path.
        body: Box<serde_json::Value>,
    },
    /// The request or the response did not finish in time: the SDK's own deadline or
    /// per-attempt timeout, or the HTTP library's. [`Error::is_timeout`] tells it apart.
    #[error("request timed out: {message}")]
    Timeout {
        /// What timed out: one line, without secrets.
        message: String,
        /// The HTTP library's error (without the request's URL) when it reported the
        /// timeout; `None` for the SDK's own deadlines.
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// No connection could be made (or it broke before an answer came).
    /// [`Error::is_connect`] tells it apart.
    #[error("connection failed: {message}")]
    Connect {
        /// What failed: one line, without secrets.
        message: String,
        /// The HTTP library's error, without the request's URL.
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// The TLS handshake failed: the server's certificate is not trusted (see
    /// `ClientBuilder::add_root_certificate`), has the wrong name, or the handshake broke.
    #[error("TLS error: {message}")]
    Tls {
        /// The TLS library's refusal and the origin: one line, without secrets.
        message: String,
        /// The HTTP library's error (its chain ends in the TLS library's), without the
        /// request's URL.
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// The server answered with a redirect. The API never redirects, so it is not followed:
    /// following it could send credentials or a request body to another host.
    #[error("unexpected redirect {status}{}", location_host.as_deref().map(|h| format!(" to {h}")).unwrap_or_default())]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The host named by `Location`, if any (never its path or query).
        location_host: Option<String>,
    },
    /// A request that is not safe to repeat failed after it may have reached the service:
    /// it may or may not have been carried out, and it was not sent again.
    #[error("outcome unknown (the service may have acted on the request): {source}")]
    OutcomeUnknown {
        /// The failure of the last attempt.
        source: Box<Error>,
    },
    /// A session may have left an agent running and cannot prove which one is its own: the
    /// agents listed here are running in its channel and started in its time window. Nothing
    /// was adopted or stopped; stop the right one by id, or call the operation again later.
    #[error("cannot tell which agent session {name} started in channel {channel} ({} candidates: {})", candidates.len(), candidates.join(", "))]
    AgentUnresolved {
        /// The session's agent name.
        name: String,
        /// The session's channel.
        channel: String,
        /// Ids of the running agents that may be the session's own.
        candidates: Vec<String>,
    },
    /// `resume` refused the agent id: the service does not know it, or it is not running.
    #[error("cannot resume agent {agent_id}: {reason}")]
    NotResumable {
        /// The id that was given (already checked to be a valid path segment).
        agent_id: String,
        /// Why: not found, or its status.
        reason: String,
    },
    /// [`wait_ready`](crate::agentkit::Session::wait_ready) learned that the agent will not
    /// join its channel: it failed, left (an agent-left notice, even one that came before
    /// the agent-joined one) or is gone. Running out of time is [`Error::Timeout`] instead.
    #[error("agent {agent_id} will not get ready: {cause}: {message}")]
    NotReady {
        /// The agent.
        agent_id: String,
        /// Why, as a kind.
        cause: crate::agentkit::session::vocab::NotReadyCause,
        /// What the service said (the status message or the leave reason), one line.
        message: String,
    },
    /// An update would merge LLM or MLLM params onto the params the agent runs with, and the
    /// session does not know them: it was resumed from an agent id (`SessionBuilder::resume`,
    /// `resume_unchecked`) rather than started with its configuration. Nothing was sent.
    /// Send the complete params with `Update::replace_params()`; after that the session
    /// knows them and merges again.
    #[error("cannot merge {field}: the session does not know the params its agent runs with (it was resumed, not started, here); send the complete params with update().replace_params()")]
    UnknownMergeBase {
        /// `llm.params` or `mllm.params`.
        field: String,
    },
    /// A session record (from a [`SessionStore`](crate::agentkit::SessionStore)) was written
    /// by a newer release than this one: its schema version is higher than the one this
    /// release knows. It is refused rather than read partly; upgrade this process.
    #[error("session record {key} has schema version {found}, newer than {known} (the newest this release reads): upgrade")]
    RecordTooNew {
        /// The record's key.
        key: String,
        /// The record's schema version.
        found: u32,
        /// The newest schema version this release reads.
        known: u32,
    },
    /// The fleet's shared store (Redis) cannot be reached or did not answer in time. Nothing
    /// was started; a notice was not recorded (answer non-200 so that the service resends
    /// it). [`Error::is_fleet_unavailable`] tells it apart.
    #[error("fleet store unavailable: {reason}")]
    FleetUnavailable {
        /// What failed, one line, without the store's address or password.
        reason: String,
    },
    /// A fleet start for a key whose live agent was started with other parameters: it is
    /// refused, never silently joined.
    #[error("fleet key {key} already has a live agent started with another {difference}")]
    FleetConflict {
        /// The fleet key (a channel name).
        key: String,
        /// What differs, e.g. `agent_uid (1001, asked 1002)`.
        difference: String,
    },
    /// This process does not own the fleet session (any more): it was taken over, or its
    /// lease could not be renewed in time (fenced). Nothing was sent to the agent.
    #[error("not the owner of fleet key {key}: {reason}")]
    NotOwner {
        /// The fleet key.
        key: String,
        /// Why, one line.
        reason: String,
    },
    /// A response arrived but could not be read as the expected type.
    #[error("cannot decode the {status} response: {message}")]
    Decode {
        /// HTTP status of the response (also for a 2xx).
        status: u16,
        /// What failed.
        message: String,
        /// The start of the raw body.
        body: String,
    },
    /// A blocking call was made on a thread that runs async tasks (a runtime's worker, or the
    /// thread of a current-thread runtime): waiting there would stall every task of that
    /// runtime. Nothing was sent. Use the async [`crate::Client`] there, or move the blocking
    /// code into `tokio::task::spawn_blocking`.
    #[error("the blocking client cannot wait on an async runtime's thread: use shengwang_agent::Client there, or call it from spawn_blocking")]
    BlockingInAsync,
}

fn api_line(
    status: u16,
    reason: &ErrorReason,
    detail: &Option<String>,
    id: Option<&str>,
) -> String {
    let mut line = format!("API error {status}");
    if !matches!(reason, ErrorReason::Unknown) {
        line.push_str(&format!(" {reason}"));
    }
    if let Some(d) = detail {
        line.push_str(&format!(": {d}"));
    }
    if let Some(cause) = reason.cause() {
        line.push_str(&format!(" ({cause})"));
    }
    if let Some(id) = id {
        line.push_str(&format!(" (request id {id})"));
    }
    line
}

/// The `reason` codes the service documents; unknown codes are kept as `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorReason {
    /// The body had no `reason`.
    Unknown,
    /// `ServiceNotEnabled`
    ServiceNotEnabled,
    /// `AccountSuspended`
    AccountSuspended,
    /// `InternalError`
    InternalError,
    /// `InvalidPermission`
    InvalidPermission,
    /// `InvalidRequestBody`
    InvalidRequestBody,
    /// `MissingRequiredField`
    MissingRequiredField,
    /// `InvalidFieldValue`
    InvalidFieldValue,
    /// `ResourceQuotaLimitExceeded`
    ResourceQuotaLimitExceeded,
    /// `ConcurrencyLimitExceeded`
    ConcurrencyLimitExceeded,
    /// `ServiceUnavailable`
    ServiceUnavailable,
    /// `ResourceAllocationFailed`
    ResourceAllocationFailed,
    /// `TaskConflict`: the name is in use.
    TaskConflict,
    /// `TaskNotFound`: no such agent, or it has exited.
    TaskNotFound,
    /// `TaskOperationTimeout`
    TaskOperationTimeout,
    /// `NotImplemented`
    NotImplemented,
    /// Any other code.
    Other(String),
}

impl ErrorReason {
    /// Parses a `reason` string.
    pub fn parse(s: &str) -> Self {
        match s {
            "ServiceNotEnabled" => Self::ServiceNotEnabled,
            "AccountSuspended" => Self::AccountSuspended,
            "InternalError" => Self::InternalError,
            "InvalidPermission" => Self::InvalidPermission,
            "InvalidRequestBody" => Self::InvalidRequestBody,
            "MissingRequiredField" => Self::MissingRequiredField,
            "InvalidFieldValue" => Self::InvalidFieldValue,
            "ResourceQuotaLimitExceeded" => Self::ResourceQuotaLimitExceeded,
            "ConcurrencyLimitExceeded" => Self::ConcurrencyLimitExceeded,
            "ServiceUnavailable" => Self::ServiceUnavailable,
            "ResourceAllocationFailed" => Self::ResourceAllocationFailed,
            "TaskConflict" => Self::TaskConflict,
            "TaskNotFound" => Self::TaskNotFound,
            "TaskOperationTimeout" => Self::TaskOperationTimeout,
            "NotImplemented" => Self::NotImplemented,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl ErrorReason {
    /// What usually causes this error, in a few words, for the codes whose cause the
    /// service documents; `None` for the others.
    pub fn cause(&self) -> Option<&'static str> {
        Some(match self {
            Self::ServiceNotEnabled => {
                "the Conversational AI service is not enabled for this project"
            }
            Self::AccountSuspended => "the account is suspended (billing or policy)",
            Self::InvalidPermission => "the credentials may not use this project or API",
            Self::ResourceQuotaLimitExceeded => "the project's agent quota is used up",
            Self::ConcurrencyLimitExceeded => {
                "too many agents are running at once for this project"
            }
            Self::ResourceAllocationFailed => {
                "the service could not allocate an agent; retry later"
            }
            Self::TaskConflict => "an agent with this name is already running",
            Self::TaskNotFound => "no such agent, or it has already stopped",
            Self::TaskOperationTimeout => "the agent did not complete the operation in time",
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Unknown => "",
            Self::ServiceNotEnabled => "ServiceNotEnabled",
            Self::AccountSuspended => "AccountSuspended",
            Self::InternalError => "InternalError",
            Self::InvalidPermission => "InvalidPermission",
            Self::InvalidRequestBody => "InvalidRequestBody",
            Self::MissingRequiredField => "MissingRequiredField",
            Self::InvalidFieldValue => "InvalidFieldValue",
            Self::ResourceQuotaLimitExceeded => "ResourceQuotaLimitExceeded",
            Self::ConcurrencyLimitExceeded => "ConcurrencyLimitExceeded",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::ResourceAllocationFailed => "ResourceAllocationFailed",
            Self::TaskConflict => "TaskConflict",
            Self::TaskNotFound => "TaskNotFound",
            Self::TaskOperationTimeout => "TaskOperationTimeout",
            Self::NotImplemented => "NotImplemented",
            Self::Other(s) => s,
        };
        f.write_str(s)
    }
}

impl Error {
    /// The HTTP status, for API errors and decode errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Redirect { status, .. } => Some(*status),
            Error::OutcomeUnknown { source } => source.status(),
            _ => None,
        }
    }

    /// The numeric error `code` of the service's error body, when it has one (some front
    /// ends answer `{"code": …, "message": …}`).
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api { body, .. } => body.get("code").and_then(serde_json::Value::as_i64),
            Error::OutcomeUnknown { source } => source.code(),
            _ => None,
        }
    }

    /// The request id the service assigned, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } => request_id.as_deref(),
            Error::OutcomeUnknown { source } => source.request_id(),
            _ => None,
        }
    }

    /// True for failures that may succeed if sent again: timeouts, connection failures,
    /// 408, 429 and 5xx. Never 409 (a name conflict does not go away by retrying), a TLS
    /// refusal or a response too large to read. The one definition of "transient": the
    /// client's retries use it too.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Connect { .. } => true,
            Error::Api { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    /// True when the request or its response did not finish in time: the SDK's deadline or
    /// per-attempt timeout, or the HTTP library's (also inside [`Error::OutcomeUnknown`]).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::OutcomeUnknown { source } => source.is_timeout(),
            _ => false,
        }
    }

    /// True when no connection could be made or it broke before an answer came (also inside
    /// [`Error::OutcomeUnknown`]). A refused TLS handshake is [`Error::Tls`], not this.
    pub fn is_connect(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::OutcomeUnknown { source } => source.is_connect(),
            _ => false,
        }
    }

    /// True when the request may have been carried out although it failed: a create that
    /// timed out or lost its connection after sending ([`Error::OutcomeUnknown`]).
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// True when the fleet's shared store (Redis) is unreachable ([`Error::FleetUnavailable`]).
    pub fn is_fleet_unavailable(&self) -> bool {
        matches!(self, Error::FleetUnavailable { .. })
    }

    /// True when the service said the agent (or call, or number) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { status: 404, .. })
    }
}

impl Error {
    /// The same invalid-input error for another field name.
    pub(crate) fn renamed(self, field: &str) -> Self {
        match self {
            Error::InvalidInput { reason, .. } => Error::invalid(field, reason),
            other => other,
        }
    }

    /// [`Error::Timeout`] of the SDK's own deadline: no underlying error.
    pub(crate) fn timeout(message: impl Into<String>) -> Self {
        Error::Timeout {
            message: message.into(),
            source: None,
        }
    }

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
