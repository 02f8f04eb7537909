//! The SDK's `tracing` spans, after the OpenTelemetry HTTP client conventions: one span per
//! operation, a child of the caller's current span, and one child span per HTTP attempt.
//! Retry and failover decisions are events on the operation's span (`convoai.event`).

use reqwest::Method;

use super::{Call, Endpoints};
use crate::error::ErrorReason;
use crate::Error;

/// The span of one SDK operation (one REST call with all its attempts), a child of the
/// caller's current span. Fields: `convoai.operation` (a fixed name, [`operation_of`]),
/// `convoai.agent_id` when the path names an agent, `convoai.area` when requests go to an
/// area's hosts (not a base-URL override), and `error.type` when the call fails. Retries and
/// failovers are events on it (`convoai.event`). Never a URL, a body, a channel or a secret.
pub(super) fn operation_span(
    call: &Call,
    operation: &'static str,
    endpoints: &Endpoints,
) -> tracing::Span {
    let area = match endpoints {
        Endpoints::Area(pool) => Some(tracing::field::display(pool.area())),
        Endpoints::Fixed { .. } => None,
    };
    tracing::info_span!(
        "convoai.request",
        otel.name = operation,
        convoai.operation = operation,
        convoai.agent_id = agent_id_of(&call.path),
        convoai.area = area,
        error.type = tracing::field::Empty,
    )
}

/// The span of one HTTP attempt, after the OpenTelemetry HTTP client conventions:
/// `http.request.method`, `server.address` (the host only) and `server.port`,
/// `http.request.resend_count` on re-sends, and, when known, `http.response.status_code`,
/// `error.type` ([`error_type`]) and `latency_ms`. A child of the operation's span.
pub(super) fn attempt_span(call: &Call, attempt: u32, base: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "convoai.attempt",
        otel.name = %call.method,
        otel.kind = "client",
        http.request.method = %call.method,
        server.address = tracing::field::Empty,
        server.port = tracing::field::Empty,
        http.request.resend_count = (attempt > 0).then_some(attempt),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    // Parsing the base URL costs more than the rest of the span: only when it is recorded.
    if !span.is_disabled() {
        let (host, port) = server_of(base);
        span.record("server.address", tracing::field::display(&host));
        if let Some(port) = port {
            span.record("server.port", port);
        }
    }
    span
}

/// The fixed, low-cardinality name of the operation a call carries out, from its method and
/// path (`agents.start`, `agents.speak`, `telephony.call`, ...; `other` for anything else).
pub(super) fn operation_of(method: &Method, path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match parts.as_slice() {
        ["v2", "projects", _, rest @ ..] => rest,
        ["v2", "phone-numbers", rest @ ..] => {
            return match (method.as_str(), rest.len()) {
                ("GET", 0) => "phone_numbers.list",
                ("POST", 0) => "phone_numbers.add",
                ("GET", 1) => "phone_numbers.get",
                ("PATCH", 1) => "phone_numbers.update",
                ("DELETE", 1) => "phone_numbers.delete",
                _ => "other",
            }
        }
        _ => return "other",
    };
    match (method.as_str(), rest) {
        ("POST", ["join"]) => "agents.start",
        ("GET", ["agents"]) => "agents.list",
        ("GET", ["agents", _]) => "agents.get",
        ("GET", ["agents", _, "history"]) => "agents.history",
        ("GET", ["agents", _, "turns"]) => "agents.turns",
        ("POST", ["agents", _, "leave"]) => "agents.stop",
        ("POST", ["agents", _, "update"]) => "agents.update",
        ("POST", ["agents", _, "speak"]) => "agents.speak",
        ("POST", ["agents", _, "interrupt"]) => "agents.interrupt",
        ("POST", ["agents", _, "think"]) => "agents.think",
        ("POST", ["call"]) => "telephony.call",
        ("GET", ["call"]) => "telephony.list",
        ("GET", ["calls", _]) => "telephony.get",
        ("POST", ["calls", _, "hangup"]) => "telephony.hangup",
        _ => "other",
    }
}

/// The agent id a path names (`.../agents/{id}[/...]`), as sent (a checked segment).
fn agent_id_of(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    parts.find(|p| *p == "agents")?;
    parts.next().filter(|id| !id.is_empty())
}

/// `error.type` of a failure, from a closed set: the service's `reason` when it is one the
/// SDK knows (`TaskConflict`, ...), `other` for any other reason, the status code when the
/// answer had none, or the kind of transport failure (`timeout`, `connect`, `tls`,
/// `decode`).
pub(crate) fn error_type(error: &Error) -> std::borrow::Cow<'static, str> {
    match error {
        Error::Api {
            reason: ErrorReason::Unknown,
            status,
            ..
        }
        | Error::Redirect { status, .. } => status.to_string().into(),
        Error::Api {
            reason: ErrorReason::Other(_),
            ..
        } => "other".into(),
        Error::Api { reason, .. } => reason.to_string().into(),
        Error::Timeout { .. } => "timeout".into(),
        Error::Connect { .. } => "connect".into(),
        Error::Tls { .. } => "tls".into(),
        Error::Decode { .. } => "decode".into(),
        Error::OutcomeUnknown { .. } => "outcome_unknown".into(),
        _ => "other".into(),
    }
}

/// The host (never user info, path or query) and port of a base URL.
pub(super) fn server_of(base: &str) -> (String, Option<u16>) {
    match url::Url::parse(base) {
        Ok(url) => (
            url.host_str().unwrap_or_default().to_owned(),
            url.port_or_known_default(),
        ),
        Err(_) => (String::new(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_a_fixed_operation_name() {
        let table = [
            ("POST", "P/join", "agents.start", None),
            ("GET", "P/agents", "agents.list", None),
            ("GET", "P/agents/A1", "agents.get", Some("A1")),
            ("GET", "P/agents/A1/history", "agents.history", Some("A1")),
            ("GET", "P/agents/A1/turns", "agents.turns", Some("A1")),
            ("POST", "P/agents/A1/leave", "agents.stop", Some("A1")),
            ("POST", "P/agents/A1/update", "agents.update", Some("A1")),
            ("POST", "P/agents/A1/speak", "agents.speak", Some("A1")),
            (
                "POST",
                "P/agents/A1/interrupt",
                "agents.interrupt",
                Some("A1"),
            ),
            ("POST", "P/agents/A1/think", "agents.think", Some("A1")),
            ("POST", "P/call", "telephony.call", None),
            ("GET", "P/call", "telephony.list", None),
            ("GET", "P/calls/C1", "telephony.get", None),
            ("POST", "P/calls/C1/hangup", "telephony.hangup", None),
            ("GET", "v2/phone-numbers", "phone_numbers.list", None),
            ("POST", "v2/phone-numbers", "phone_numbers.add", None),
            ("GET", "v2/phone-numbers/+86", "phone_numbers.get", None),
            (
                "PATCH",
                "v2/phone-numbers/+86",
                "phone_numbers.update",
                None,
            ),
            (
                "DELETE",
                "v2/phone-numbers/+86",
                "phone_numbers.delete",
                None,
            ),
            ("PUT", "P/agents/A1/speak", "other", Some("A1")),
            ("GET", "v3/anything", "other", None),
        ];
        for (method, path, name, agent) in table {
            let path = path.replace("P/", "v2/projects/0123456789abcdef0123456789abcdef/");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(operation_of(&method, &path), name, "{method} {path}");
            assert_eq!(agent_id_of(&path), agent, "{path}");
        }
    }

    #[test]
    fn error_types_are_a_closed_set() {
        let api = |reason| Error::Api {
            status: 503,
            reason,
            detail: None,
            request_id: None,
            body: Box::new(serde_json::Value::Null),
        };
        assert_eq!(error_type(&api(ErrorReason::TaskConflict)), "TaskConflict");
        assert_eq!(
            error_type(&api(ErrorReason::Other("x".repeat(64)))),
            "other"
        );
        assert_eq!(error_type(&api(ErrorReason::Unknown)), "503");
        assert_eq!(error_type(&Error::timeout("slow")), "timeout");
        assert_eq!(
            server_of("http://user:pw@example.com:8080/cn/api?x=1"),
            ("example.com".to_owned(), Some(8080))
        );
        assert_eq!(
            server_of("https://api.sd-rtn.com/api"),
            ("api.sd-rtn.com".to_owned(), Some(443))
        );
    }
}
