//! `convoai webhooks listen` and `convoai webhooks verify`: receive notification callbacks
//! locally (from the service through a tunnel, or from the emulator) and check signatures.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use clap::{Args, Subcommand};
use shengwang_agent::redact::sanitize;
use shengwang_agent::webhooks::{
    parse, Event, MemoryStore, Notification, Signatures, Verifier, WebhookError, DEFAULT_MAX_BODY,
    DEFAULT_TTL,
};
use tokio::sync::mpsc;

use crate::commands::Ctx;
use crate::error::CliError;
use crate::output::{json_text, stderr_line};

/// Receive and check notification callbacks.
#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Answer callbacks on a local port: verify each, print it once, optionally forward it.
    #[command(
        after_help = "Prints one line per verified notice (with --json: the body as received, one JSON object per line). Bad signatures get 401 and a line on stderr.\n\nExample:\n  convoai webhooks listen --port 8787 --secret \"$SHENGWANG_WEBHOOK_SECRET\" --forward-to http://127.0.0.1:3000/callbacks"
    )]
    Listen(ListenArgs),
    /// Check a body (a file, or stdin) against a signature: exit 0 on a match, 1 otherwise.
    #[command(
        after_help = "Example:\n  convoai webhooks verify --secret s3cret --signature-v2 80287bc4… body.json"
    )]
    Verify(VerifyArgs),
}

/// `webhooks listen`.
#[derive(Args)]
pub struct ListenArgs {
    /// Port to listen on (0: any free port; the address is printed on stderr).
    #[arg(long)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The webhook secret from the console. Never printed.
    #[arg(long, env = "SHENGWANG_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// Pass every verified request on, unchanged, to this URL, and answer with its reply.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
}

/// `webhooks verify`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("sig").required(true).args(["signature_v2", "signature"])))]
pub struct VerifyArgs {
    /// The webhook secret. Never printed.
    #[arg(long, env = "SHENGWANG_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The Agora-Signature-V2 header (hex HMAC-SHA256).
    #[arg(long, value_name = "HEX")]
    pub signature_v2: Option<String>,
    /// The Agora-Signature header (hex HMAC-SHA1).
    #[arg(long, value_name = "HEX")]
    pub signature: Option<String>,
    /// The raw body; - or nothing reads stdin.
    pub file: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, cmd: WebhooksCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        WebhooksCommand::Verify(args) => verify(args, out),
        WebhooksCommand::Listen(args) => listen(ctx.global.json, args, out).await,
    }
}

fn verify(args: VerifyArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if args.secret.is_empty() {
        return Err(CliError::Invalid("--secret must not be empty".into()));
    }
    let limit = DEFAULT_MAX_BODY * 16;
    let mut body = Vec::new();
    let read = match args.file.as_deref() {
        None => std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut body),
        Some(p) if p.as_os_str() == "-" => std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut body),
        Some(p) => {
            std::fs::File::open(p).and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut body))
        }
    };
    read.map_err(|e| CliError::Invalid(format!("cannot read the body: {}", e.kind())))?;
    let verifier = Verifier::new(args.secret.as_str()).max_body(limit);
    let sigs = Signatures {
        v2: args.signature_v2.as_deref(),
        v1: args.signature.as_deref(),
    };
    match verifier.verify(sigs, &body) {
        Ok(kind) => {
            let header = match kind {
                shengwang_agent::webhooks::SignatureKind::V2Sha256 => "Agora-Signature-V2",
                shengwang_agent::webhooks::SignatureKind::V1Sha1 => "Agora-Signature",
            };
            writeln!(out, "ok: {header} matches the body ({} bytes)", body.len())?;
            Ok(())
        }
        Err(e @ WebhookError::InvalidSignature(_)) => Err(CliError::Failed(e.to_string())),
        Err(e) => Err(CliError::Invalid(e.to_string())),
    }
}

struct Listener {
    verifier: Verifier,
    seen: MemoryStore,
    json: bool,
    lines: mpsc::UnboundedSender<String>,
    forward_to: Option<reqwest::Url>,
    http: reqwest::Client,
}

/// Connections `webhooks listen` keeps open at once (the idle ones make room for new ones).
const LISTEN_MAX_CONNECTIONS: usize = 512;

/// How long a forwarded request may take (the service waits 10 s for its answer).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(9);

async fn listen(json: bool, args: ListenArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if args.secret.is_empty() {
        return Err(CliError::Invalid("--secret must not be empty".into()));
    }
    let forward_to = args
        .forward_to
        .as_deref()
        .map(|u| {
            reqwest::Url::parse(u)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    CliError::Invalid("--forward-to must be an http:// or https:// URL".into())
                })
        })
        .transpose()?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let state = Arc::new(Listener {
        verifier: Verifier::new(args.secret.as_str()),
        seen: MemoryStore::default(),
        json,
        lines: tx,
        forward_to,
        http: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FORWARD_TIMEOUT)
            .build()
            .map_err(|_| CliError::Failed("cannot build the HTTP client".into()))?,
    });
    let app = axum::Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(DEFAULT_MAX_BODY))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
        .await
        .map_err(|e| {
            CliError::Failed(format!(
                "cannot listen on {}:{}: {}",
                args.host,
                args.port,
                e.kind()
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Failed(format!("cannot listen: {e}")))?;
    stderr_line(&format!("listening on http://{addr} (Ctrl-C to stop)"));
    let mut shutdown = convoai_emulator::cli::Shutdown::listen()
        .map_err(|e| CliError::Failed(format!("cannot watch for Ctrl-C: {e}")))?;
    // Bounded like `serve`: silent and half-open clients are closed, not kept forever.
    let limits = crate::listen::Limits {
        max_connections: LISTEN_MAX_CONNECTIONS,
        header_read: Duration::from_secs(10),
        request: Duration::from_secs(30),
        timed_out: || reply(StatusCode::SERVICE_UNAVAILABLE, "timed out"),
        span: |_| tracing::Span::none(),
    };
    let server = tokio::spawn(crate::listen::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    loop {
        tokio::select! {
            line = rx.recv() => {
                let Some(line) = line else { break };
                writeln!(out, "{line}")?;
                out.flush()?;
            }
            _ = shutdown.wait() => break,
        }
    }
    server.abort();
    Ok(())
}

fn reply(status: StatusCode, msg: &'static str) -> Response {
    let code = u8::from(status != StatusCode::OK);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        format!("{{\"code\":{code},\"msg\":\"{msg}\"}}"),
    )
        .into_response()
}

async fn receive(
    State(l): State<Arc<Listener>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            stderr_line(&format!(
                "rejected: body larger than {DEFAULT_MAX_BODY} bytes (413)"
            ));
            return reply(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
        }
        Err(_) => return reply(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    if let Err(e) = l.verifier.verify_headers(&headers, &body) {
        stderr_line(&format!("rejected: {e} (401)"));
        return reply(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let n = match parse(&body) {
        Ok(n) => n,
        Err(e) => {
            stderr_line(&format!("rejected: {e} (400)"));
            return reply(StatusCode::BAD_REQUEST, "malformed body");
        }
    };
    if l.seen.claim_now(&n.dedupe_key(), DEFAULT_TTL) {
        let line = if l.json {
            json_line(&body)
        } else {
            text_line(&n)
        };
        let _ = l.lines.send(line);
    }
    match &l.forward_to {
        None => reply(StatusCode::OK, "ok"),
        Some(target) => forward(&l.http, target, method, &uri, &headers, body).await,
    }
}

/// The request as received — method, headers (the signatures included) and body bytes — to
/// `target`; the reply comes back to the sender, so a failing receiver makes it resend.
async fn forward(
    http: &reqwest::Client,
    target: &reqwest::Url,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut url = target.clone();
    if let Some(q) = uri.query() {
        url.set_query(Some(q));
    }
    let mut req = http.request(method, url).body(body);
    for (name, value) in headers {
        // Hop-by-hop headers and Host belong to the first connection.
        if !matches!(
            name.as_str(),
            "host"
                | "connection"
                | "keep-alive"
                | "transfer-encoding"
                | "te"
                | "upgrade"
                | "content-length"
        ) {
            req = req.header(name, value);
        }
    }
    match req.send().await {
        Ok(res) => {
            let status =
                StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let ctype = res.headers().get(axum::http::header::CONTENT_TYPE).cloned();
            let bytes = res.bytes().await.unwrap_or_default();
            let mut r = (status, bytes).into_response();
            if let Some(c) = ctype {
                r.headers_mut().insert(axum::http::header::CONTENT_TYPE, c);
            }
            r
        }
        Err(e) => {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            stderr_line(&format!(
                "forward to {} failed: {why} (502)",
                target.host_str().unwrap_or("?")
            ));
            reply(StatusCode::BAD_GATEWAY, "forward failed")
        }
    }
}

/// The body as received when it is one line; otherwise compact JSON of it, so each
/// notice stays one line. Either way, what a terminal would act on is escaped ([`json_text`]).
fn json_line(body: &[u8]) -> String {
    let text = match std::str::from_utf8(body) {
        Ok(s) if !s.contains(['\n', '\r']) => s.to_owned(),
        _ => serde_json::from_slice::<serde_json::Value>(body)
            .map(|v| v.to_string())
            .unwrap_or_default(),
    };
    json_text(text)
}

fn text_line(n: &Notification) -> String {
    let mut line = format!(
        "{} {} {}",
        sanitize(n.notice_id.as_str()),
        n.event_type,
        n.event.kind()
    );
    if !n.is_convoai() {
        line.push_str(&format!(" product={}", n.product_id));
    }
    if let Some(a) = n.agent_id() {
        line.push_str(&format!(" agent={}", sanitize(a.as_str())));
    }
    if let Some(c) = n.channel() {
        line.push_str(&format!(" channel={}", sanitize(c)));
    }
    match &n.event {
        Event::AgentLeft(l) => line.push_str(&format!(
            " status={} message={:?}",
            sanitize(l.status.as_str()),
            sanitize(&l.message)
        )),
        Event::AgentError(e) => {
            for err in &e.errors {
                line.push_str(&format!(
                    " error={}:{}",
                    sanitize(err.module.as_str()),
                    err.code.unwrap_or_default()
                ));
            }
        }
        Event::InboundCall(c) | Event::OutboundCall(c) => {
            line.push_str(&format!(" state={}", sanitize(c.state.as_str())))
        }
        _ => {}
    }
    line
}
