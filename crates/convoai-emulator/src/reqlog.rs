//! The request log: what each API request was and how it was answered, with its body's
//! secrets redacted before it is stored.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::Response;
use serde_json::Value;
use shengwang_agent::redact;

use crate::error::ApiError;
use crate::shared::Shared;
use crate::state::LoggedRequest;

/// Longest body text kept per request.
const BODY_TEXT_MAX: usize = 16 * 1024;
/// Largest response body read back to learn the id of the agent a join created.
const JOIN_REPLY_MAX: usize = 64 * 1024;

/// A request on its way through the emulator, logged once it is answered or dropped, or,
/// when the client goes away first (the future is dropped), as dropped.
pub(crate) struct Pending {
    shared: Arc<Shared>,
    entry: LoggedRequest,
    started: Instant,
    join: bool,
    logged: bool,
}

/// Reads the body (at most `max` bytes) so it can be logged, and hands the request back
/// with the same body; a larger body is answered with a JSON 413 here.
pub(crate) async fn arrive(
    req: Request<Body>,
    shared: &Arc<Shared>,
    max: usize,
) -> (Result<Request<Body>, ApiError>, Pending) {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let header = |name| text_header(&parts.headers, name);
    let mut entry = LoggedRequest {
        seq: 0,
        at_ms: shared.clock.now_ms(),
        method: parts.method.to_string(),
        agent_id: addressed_agent(parts.uri.path()),
        path,
        content_type: header(header::CONTENT_TYPE),
        content_length: header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        user_agent: header(header::USER_AGENT),
        auth_scheme: auth_scheme(header(header::AUTHORIZATION).as_deref()),
        status: None,
        latency_ms: 0,
        fault: None,
        request_id: None,
        body: None,
    };
    let join = parts.method == axum::http::Method::POST && parts.uri.path().ends_with("/join");
    let read = axum::body::to_bytes(body, max).await;
    let req = match read {
        Ok(bytes) => {
            entry.body = describe_body(&bytes);
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "InvalidRequestBody",
            format!("request body larger than {max} bytes"),
        )),
    };
    (
        req,
        Pending {
            shared: shared.clone(),
            entry,
            started,
            join,
            logged: false,
        },
    )
}

impl Pending {
    /// Notes the fault injected into this request.
    pub fn fault(&mut self, fault: &crate::fault::Fault) {
        self.entry.fault = Some(fault.to_string());
    }

    /// Learns the id of the agent a join created from a response that is not sent (the
    /// answer was replaced by a fault).
    pub async fn inner(&mut self, res: Response) {
        self.learn_agent(res).await;
    }

    /// Logs the answer and hands it back.
    pub async fn answered(mut self, res: Response) -> Response {
        self.entry.status = Some(res.status().as_u16());
        self.entry.request_id = text_header(res.headers(), "x-request-id");
        let res = self.learn_agent(res).await;
        self.log();
        res
    }

    /// Logs a connection closed without an answer.
    pub fn dropped(mut self) {
        self.entry.status = None;
        self.log();
    }

    /// For a join answered 200, notes the agent it created; hands the response back intact.
    async fn learn_agent(&mut self, res: Response) -> Response {
        if !self.join || res.status() != StatusCode::OK {
            return res;
        }
        let (parts, body) = res.into_parts();
        match axum::body::to_bytes(body, JOIN_REPLY_MAX).await {
            Ok(bytes) => {
                if let Some(id) = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .as_ref()
                    .and_then(|v| v.get("agent_id"))
                    .and_then(Value::as_str)
                    .filter(|id| plausible_id(id))
                {
                    self.entry.agent_id = Some(id.to_owned());
                }
                Response::from_parts(parts, Body::from(bytes))
            }
            // The emulator's own join reply is small; failing to read it back means it is
            // gone, and an empty answer is all that is left to send.
            Err(_) => Response::from_parts(parts, Body::from(Bytes::new())),
        }
    }

    fn log(&mut self) {
        if std::mem::replace(&mut self.logged, true) {
            return;
        }
        let mut entry = std::mem::take(&mut self.entry);
        entry.latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.shared.locked().record(entry);
    }
}

impl Drop for Pending {
    /// The client hung up before the answer (or a timeout of its own cut the request short):
    /// what it sent is still logged, with no status.
    fn drop(&mut self) {
        self.log();
    }
}

fn text_header(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The scheme only: the credentials themselves are never kept.
fn auth_scheme(auth: Option<&str>) -> String {
    match auth.unwrap_or_default() {
        "" => String::new(),
        a if a.starts_with("Basic ") => "Basic".into(),
        a if a.starts_with("agora token=") => "agora token".into(),
        _ => "other".into(),
    }
}

/// The id in `…/agents/{id}…` or `…/calls/{id}…`, if it looks like one.
fn addressed_agent(path: &str) -> Option<String> {
    let mut segments = path.split('/');
    while let Some(seg) = segments.next() {
        if seg == "agents" || seg == "calls" {
            return segments
                .next()
                .filter(|id| plausible_id(id))
                .map(str::to_owned);
        }
    }
    None
}

/// Ids the emulator hands out are short and alphanumeric; anything else is not kept as one.
pub(crate) fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// JSON with secret fields redacted, cut to [`BODY_TEXT_MAX`]; other bodies by size only,
/// because there is no field name to tell their secrets by.
fn describe_body(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return Some(format!("[{} bytes, not JSON: not shown]", bytes.len()));
    };
    redact::redact_json(&mut value);
    let mut text = value.to_string();
    if text.len() > BODY_TEXT_MAX {
        let mut cut = BODY_TEXT_MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_no_secret_and_stay_bounded() {
        let body = br#"{"name":"n","properties":{"token":"SENTINEL-T","llm":{"api_key":"SENTINEL-K","url":"u"}}}"#;
        let text = describe_body(body).unwrap();
        assert!(!text.contains("SENTINEL"), "{text}");
        assert!(text.contains(shengwang_agent::redact::REDACTED) && text.contains("\"url\":\"u\""));
        let raw = describe_body(b"token=SENTINEL-RAW").unwrap();
        assert!(!raw.contains("SENTINEL"), "{raw}");
        let big = format!("{{\"t\":\"{}\"}}", "é".repeat(BODY_TEXT_MAX));
        let cut = describe_body(big.as_bytes()).unwrap();
        assert!(cut.len() <= BODY_TEXT_MAX + '…'.len_utf8());
        assert_eq!(describe_body(b""), None);
    }

    #[test]
    fn agent_ids_come_from_paths_that_name_one() {
        let p = "/api/conversational-ai-agent/v2/projects/a/agents/ABC123/speak";
        assert_eq!(addressed_agent(p).as_deref(), Some("ABC123"));
        assert_eq!(
            addressed_agent("/v2/projects/a/calls/C1").as_deref(),
            Some("C1")
        );
        assert_eq!(addressed_agent("/v2/projects/a/agents"), None);
        assert_eq!(addressed_agent("/v2/projects/a/agents/%3Cscript%3E"), None);
        assert_eq!(auth_scheme(Some("Basic eA==")), "Basic");
        assert_eq!(auth_scheme(Some("Bearer SENTINEL")), "other");
    }
}
