//! `--live`: the service's clock, authentication in each configured mode, and the probe.

use std::time::{Duration, SystemTime};

use serde_json::json;
use shengwang_agent::{Client, HeaderMap};

use super::offline::Setup;
use super::{Report, Status};

mod probe;

/// A clock further off than this makes tokens fail (they are signed with the local time).
const MAX_SKEW: Duration = Duration::from_secs(60);

/// Runs the live checks with the clients the offline checks built.
pub async fn run(setup: &Setup, report: &mut Report) {
    let token_client = setup.token_client.as_ref().unwrap_or(&setup.client);
    let token = auth(report, "auth_token", token_client, "app-credentials token").await;
    let basic = match &setup.token_client {
        Some(_) => Some(auth(report, "auth_basic", &setup.client, "Basic").await),
        None => {
            report.push(
                "auth_basic",
                Status::Skip,
                "no customer id and secret configured",
            );
            None
        }
    };
    let date = token
        .as_ref()
        .ok()
        .cloned()
        .or_else(|| basic.as_ref().and_then(|b| b.as_ref().ok().cloned()));
    clock(report, date);
    let authenticated = token.is_ok() && basic.as_ref().is_none_or(Result::is_ok);
    if authenticated {
        probe::run(&setup.client, report).await;
    } else {
        report.push(
            "probe",
            Status::Skip,
            "needs every authentication check to pass",
        );
    }
}

/// When the service's answer was dated, and when it arrived here.
#[derive(Clone)]
struct Dated {
    server: Option<SystemTime>,
    local: SystemTime,
}

/// A list call in one auth mode; the response's date on success.
async fn auth(
    report: &mut Report,
    name: &'static str,
    client: &Client,
    mode: &str,
) -> Result<Dated, ()> {
    match client.agents().list().limit(1).page_with_response().await {
        Ok(resp) => {
            let local = SystemTime::now();
            report.push(
                name,
                Status::Ok,
                format!("{mode} accepted: agents list answered {}", resp.http_status),
            );
            Ok(Dated {
                server: date(&resp.http_headers),
                local,
            })
        }
        Err(e) => {
            let hint = match e.status() {
                Some(401 | 403) => " (the service refused these credentials)",
                _ => "",
            };
            report.push(name, Status::Fail, format!("{mode}: {e}{hint}"));
            Err(())
        }
    }
}

fn date(headers: &HeaderMap) -> Option<SystemTime> {
    let value = headers.get("date")?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
}

/// The service's `Date` against the local clock (the header has whole seconds).
fn clock(report: &mut Report, dated: Option<Dated>) {
    let Some(dated) = dated else {
        report.push(
            "clock",
            Status::Skip,
            "no answer from the service to compare",
        );
        return;
    };
    let Some(server) = dated.server else {
        report.push(
            "clock",
            Status::Warn,
            "the service sent no Date header; cannot compare clocks",
        );
        return;
    };
    // Positive: the local clock is ahead of the service's.
    let skew = match dated.local.duration_since(server) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    };
    let whole = skew.trunc() as i64;
    let detail = json!({"skew_seconds": whole, "max_seconds": MAX_SKEW.as_secs()});
    if skew.abs() > MAX_SKEW.as_secs_f64() {
        let side = if skew > 0.0 { "ahead of" } else { "behind" };
        report.push_detail(
            "clock",
            Status::Warn,
            format!(
                "local clock is {}s {side} the service's: tokens may be refused; sync the clock (NTP)",
                whole.abs()
            ),
            detail,
        );
    } else {
        report.push_detail(
            "clock",
            Status::Ok,
            format!("local clock within {whole:+}s of the service's Date header"),
            detail,
        );
    }
}
