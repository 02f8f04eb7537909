//! The checks that need no network: credentials, area, base URL, TLS roots, a token.

use serde_json::json;
use shengwang_agent::token::{self, TokenBuilder, Validation};
use shengwang_agent::{validate, Area, Client};

use super::{Report, Status};
use crate::cli::Global;
use crate::commands::Ctx;
use crate::output;

/// Stand-ins for checks that are about something else than the credentials (base URL,
/// TLS), so that a bad certificate does not hide a bad URL.
const PLACEHOLDER_APP_ID: &str = "0123456789abcdef0123456789abcdef";
const PLACEHOLDER_CERTIFICATE: &str = "fedcba9876543210fedcba9876543210";

/// Channel and account the sample token is signed for.
const TOKEN_CHANNEL: &str = "convoai-doctor";
const TOKEN_ACCOUNT: &str = "1001";
/// Lifetime of the sample token.
const TOKEN_EXPIRE: u32 = 3600;

/// What the live checks use: the client as configured, and, when it uses Basic auth, a
/// second one that signs app-credentials tokens.
pub struct Setup {
    /// The client the flags describe (Basic when customer credentials are set).
    pub client: Client,
    /// An app-credentials (token) client, when `client` uses Basic.
    pub token_client: Option<Client>,
}

/// Runs the offline checks; the clients for the live checks when every one passed.
pub fn run(ctx: &Ctx, report: &mut Report) -> Option<Setup> {
    let g = &ctx.global;
    let credentials = check_app_id(g, report) & check_certificate(g, report);
    let customer = check_customer(g, report);
    let area = check_area(g, report);
    let base_url = if area {
        check_base_url(ctx, report)
    } else {
        report.push("base_url", Status::Skip, "depends on a valid area");
        false
    };
    let tls = check_tls(ctx, report);
    if credentials {
        check_token(g, report);
    } else {
        report.push(
            "token",
            Status::Skip,
            "needs a valid app id and certificate",
        );
    }
    if !(credentials && customer && area && base_url && tls) {
        return None;
    }
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => {
            report.push("client", Status::Fail, e.to_string());
            return None;
        }
    };
    let token_client = if client.auth_mode() == "basic" {
        match with_global(ctx, |g| (g.customer_id, g.customer_secret) = (None, None)).client() {
            Ok(c) => Some(c),
            Err(e) => {
                report.push("client", Status::Fail, e.to_string());
                return None;
            }
        }
    } else {
        None
    };
    Some(Setup {
        client,
        token_client,
    })
}

/// A copy of the context with some global settings changed.
fn with_global(ctx: &Ctx, change: impl FnOnce(&mut Global)) -> Ctx {
    let mut global = ctx.global.clone();
    change(&mut global);
    Ctx {
        global,
        out: ctx.out,
    }
}

fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn check_app_id(g: &Global, report: &mut Report) -> bool {
    let Some(id) = set(&g.app_id) else {
        report.push(
            "app_id",
            Status::Fail,
            "missing --app-id (or set SHENGWANG_APP_ID)",
        );
        return false;
    };
    match validate::validate_app_id(id) {
        Ok(()) => {
            report.push("app_id", Status::Ok, format!("{id} (32 hex characters)"));
            true
        }
        Err(e) => {
            report.push("app_id", Status::Fail, e.to_string());
            false
        }
    }
}

fn check_certificate(g: &Global, report: &mut Report) -> bool {
    let Some(cert) = set(&g.app_certificate) else {
        report.push(
            "app_certificate",
            Status::Fail,
            "missing --app-certificate (or set SHENGWANG_APP_CERTIFICATE)",
        );
        return false;
    };
    // The SDK's message names the rule, never the value.
    match validate::validate_app_certificate(cert) {
        Ok(()) => {
            report.push(
                "app_certificate",
                Status::Ok,
                "32 hex characters (not shown)",
            );
            true
        }
        Err(e) => {
            report.push("app_certificate", Status::Fail, e.to_string());
            false
        }
    }
}

fn check_customer(g: &Global, report: &mut Report) -> bool {
    let (status, reason) = match (&g.customer_id, &g.customer_secret) {
        (None, None) => (
            Status::Ok,
            "not set: requests use app-credentials tokens".to_owned(),
        ),
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => (
            Status::Ok,
            "customer id and secret set (secret not shown): requests use Basic auth".to_owned(),
        ),
        (Some(_), Some(_)) => (
            Status::Fail,
            "--customer-id and --customer-secret must not be empty".to_owned(),
        ),
        (Some(_), None) => (
            Status::Fail,
            "--customer-id is set but --customer-secret (SHENGWANG_CUSTOMER_SECRET) is not: they go together".to_owned(),
        ),
        (None, Some(_)) => (
            Status::Fail,
            "--customer-secret is set but --customer-id (SHENGWANG_CUSTOMER_ID) is not: they go together".to_owned(),
        ),
    };
    report.push("customer", status, reason);
    status == Status::Ok
}

fn check_area(g: &Global, report: &mut Report) -> bool {
    match g.area.as_deref() {
        None => {
            report.push("area", Status::Ok, "cn (the default)");
            true
        }
        Some(text) => match text.parse::<Area>() {
            Ok(area) => {
                report.push("area", Status::Ok, area.to_string());
                true
            }
            Err(e) => {
                report.push("area", Status::Fail, e.to_string());
                false
            }
        },
    }
}

/// Builds a client with the configured area, base URL and timeout (placeholder credentials,
/// no extra roots) and reports what `build()` says and where requests go.
fn check_base_url(ctx: &Ctx, report: &mut Report) -> bool {
    let probe = with_global(ctx, |g| {
        g.app_id = Some(PLACEHOLDER_APP_ID.into());
        g.app_certificate = Some(PLACEHOLDER_CERTIFICATE.into());
        (g.customer_id, g.customer_secret, g.ca_cert) = (None, None, None);
    });
    let client = match probe.client() {
        Ok(c) => c,
        Err(e) => {
            report.push("base_url", Status::Fail, e.to_string());
            return false;
        }
    };
    let effective = client.current_base_url();
    let given = ctx.global.base_url.as_deref();
    let detail = json!({"given": given, "effective": effective});
    let mut reason = match given {
        Some(_) => format!("requests go to {effective} (from --base-url)"),
        None => format!("requests go to {effective} (the area's hosts)"),
    };
    let status = if plain_http_to_remote(&effective) {
        reason.push_str("; plain http to a remote host sends credentials unencrypted");
        Status::Warn
    } else {
        Status::Ok
    };
    report.push_detail("base_url", status, reason, detail);
    true
}

fn plain_http_to_remote(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let loopback = url.host_str().is_none_or(|host| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.parse::<std::net::IpAddr>()
            .map_or(host.eq_ignore_ascii_case("localhost"), |ip| {
                ip.is_loopback()
            })
    });
    url.scheme() == "http" && !loopback
}

/// The SDK's TLS stack and roots, and whether `--ca-cert` holds a usable certificate.
fn check_tls(ctx: &Ctx, report: &mut Report) -> bool {
    let backend = shengwang_agent::tls_backend();
    let Some(path) = &ctx.global.ca_cert else {
        report.push_detail(
            "tls",
            Status::Ok,
            backend,
            json!({"backend": backend, "ca_cert": null}),
        );
        return true;
    };
    let shown = path.display().to_string();
    let probe = with_global(ctx, |g| {
        g.app_id = Some(PLACEHOLDER_APP_ID.into());
        g.app_certificate = Some(PLACEHOLDER_CERTIFICATE.into());
        (g.customer_id, g.customer_secret, g.base_url, g.area) = (None, None, None, None);
    });
    let detail = json!({"backend": backend, "ca_cert": shown});
    match probe.client() {
        Ok(_) => {
            let reason = format!("{backend}, plus the CA certificate(s) in {shown}");
            report.push_detail("tls", Status::Ok, reason, detail);
            true
        }
        Err(e) => {
            report.push_detail("tls", Status::Fail, e.to_string(), detail);
            false
        }
    }
}

/// Signs a ConvoAI token for the configured app with the SDK and verifies it: services and
/// expiry are reported, the token never is.
fn check_token(g: &Global, report: &mut Report) {
    let (Some(app_id), Some(cert)) = (set(&g.app_id), set(&g.app_certificate)) else {
        return;
    };
    let verified = TokenBuilder::new(app_id, cert)
        .and_then(|b| {
            b.convo_ai(TOKEN_CHANNEL, TOKEN_ACCOUNT)
                .expire(TOKEN_EXPIRE)
                .build()
        })
        .and_then(|t| {
            let v = Validation::new(app_id, cert)?.require_rtc_join(TOKEN_CHANNEL, TOKEN_ACCOUNT);
            token::verify(&t, &v)
        });
    match verified {
        Ok(content) => {
            let services: Vec<&str> = content
                .services
                .iter()
                .map(|s| s.service_type().name())
                .collect();
            let expires = output::time(Some(content.expires_at()));
            report.push_detail(
                "token",
                Status::Ok,
                format!(
                    "ConvoAI token signed and verified (services {}; expires {expires})",
                    services.join(", ")
                ),
                json!({"services": services, "issue_ts": content.issue_ts, "expires_at": content.expires_at()}),
            );
        }
        Err(e) => report.push("token", Status::Fail, e.to_string()),
    }
}
