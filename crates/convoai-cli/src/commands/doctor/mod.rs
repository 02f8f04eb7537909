//! `convoai doctor`: what a new user gets wrong, checked in one command. Offline by default
//! (credentials, area, base URL, TLS roots, a token signed and verified locally); `--live`
//! adds the service's clock, authentication in each configured mode and a conformance probe
//! (a probe agent started, started again, stopped and started once more).
//!
//! Every check is one line: `ok`, `warn`, `fail` or `skip` with a short reason. Secrets (the
//! certificate, the customer secret, tokens) are never printed; the app id may be.

mod live;
mod offline;

use std::io::Write;

use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::Ctx;
use crate::error::CliError;

/// `convoai doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also ask the service: its clock, authentication in each configured mode, and a probe
    /// that starts and stops short-lived agents (every one it starts is stopped).
    #[arg(long)]
    pub live: bool,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Ok,
    /// Works, but likely to bite later.
    Warn,
    /// Broken: the command exits 1.
    Fail,
    /// Not run (a check it depends on failed, or it does not apply).
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked (`app_certificate`, `clock`, `auth_basic`, …).
    pub name: &'static str,
    /// The verdict.
    pub status: Status,
    /// Why, in a few words.
    pub reason: String,
    /// Facts for a bug report (JSON only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// Every check, in the order they ran.
#[derive(Debug, Default)]
pub struct Report {
    checks: Vec<Check>,
}

impl Report {
    /// Adds a check.
    pub fn push(&mut self, name: &'static str, status: Status, reason: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            reason: reason.into(),
            detail: None,
        });
    }

    /// Adds a check with facts for the JSON report.
    pub fn push_detail(
        &mut self,
        name: &'static str,
        status: Status,
        reason: impl Into<String>,
        detail: serde_json::Value,
    ) {
        self.checks.push(Check {
            name,
            status,
            reason: reason.into(),
            detail: Some(detail),
        });
    }

    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    fn overall(&self) -> Status {
        if self.count(Status::Fail) > 0 {
            Status::Fail
        } else if self.count(Status::Warn) > 0 {
            Status::Warn
        } else {
            Status::Ok
        }
    }
}

/// Runs the checks and prints the report; exit 1 when a check failed, 0 when all passed or
/// only warned.
pub async fn run(ctx: &Ctx, args: DoctorArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let mut report = Report::default();
    let setup = offline::run(ctx, &mut report);
    match (args.live, setup) {
        (true, Some(setup)) => live::run(&setup, &mut report).await,
        (true, None) => report.push(
            "live",
            Status::Skip,
            "live checks need the offline checks above to pass",
        ),
        (false, _) => {}
    }
    print(ctx, &report, args.live, out)?;
    let failed = report.count(Status::Fail);
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} of {} doctor checks failed",
            report.checks.len()
        )));
    }
    Ok(())
}

fn print(ctx: &Ctx, report: &Report, live: bool, out: &mut dyn Write) -> Result<(), CliError> {
    if ctx.out.json {
        let app_id = ctx
            .global
            .app_id
            .as_deref()
            .filter(|id| shengwang_agent::validate::validate_app_id(id).is_ok());
        return ctx.out.json_line(
            out,
            &json!({
                "convoai": env!("CARGO_PKG_VERSION"),
                "live": live,
                "app_id": app_id,
                "result": report.overall(),
                "checks": report.checks,
            }),
        );
    }
    // The table neutralises every cell: reasons may quote the service (error details, field
    // names) or the user's input.
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                c.status.as_str().to_owned(),
                c.name.to_owned(),
                c.reason.clone(),
            ]
        })
        .collect();
    ctx.out.table(out, &["RESULT", "CHECK", "DETAIL"], &rows)?;
    let (warned, failed) = (report.count(Status::Warn), report.count(Status::Fail));
    let summary = match report.overall() {
        Status::Fail => format!("{failed} failed, {warned} warned"),
        Status::Warn => format!("all passed, {warned} warned"),
        _ => "all passed".to_owned(),
    };
    ctx.out.note(&format!("doctor: {summary}"));
    Ok(())
}
