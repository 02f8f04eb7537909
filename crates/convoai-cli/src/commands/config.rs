//! `convoai config …`: write a sample agent config, and check one without sending anything.

use std::io::Write;
use std::path::Path;

use shengwang_agent::redact::{redact_json, REDACTED};
use shengwang_agent::Client;

use super::agents::build_session;
use super::Ctx;
use crate::cli::ConfigCommand;
use crate::config;
use crate::error::CliError;

/// The channel `config check` shows when neither the flags nor the file name one.
const EXAMPLE_CHANNEL: &str = "example-channel";

pub fn run(ctx: &Ctx, cmd: ConfigCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::Init { path, force } => init(ctx, &path, force, out),
        ConfigCommand::Check { path, session } => {
            let file = config::load(&path)?;
            if session.channel.is_none() && file.session.channel.is_none() {
                ctx.out.note(&format!(
                    "no --channel given: showing the request for channel {EXAMPLE_CHANNEL:?}"
                ));
            }
            // Nothing is sent and the token is a placeholder, so the client needs no real
            // credentials: the check works before any are set.
            let offline = Client::builder()
                .app_id("0".repeat(32))
                .app_certificate("0".repeat(32))
                .base_url("http://127.0.0.1:9")
                .build()?;
            let request = build_session(&offline, &file, &session, Some(EXAMPLE_CHANNEL))?
                .token(REDACTED)
                .build()
                .start_request()?;
            request.validate()?;
            let mut json = serde_json::to_value(&request)
                .map_err(|e| CliError::Failed(format!("cannot encode the request: {e}")))?;
            redact_json(&mut json);
            if ctx.out.json {
                // JSON lines, like every other command's --json.
                ctx.out.json_line(out, &json)?;
            } else {
                let text = serde_json::to_string_pretty(&json)
                    .map_err(|e| CliError::Failed(format!("cannot encode the request: {e}")))?;
                writeln!(out, "{text}")?;
            }
            ctx.out.note(&format!(
                "{}: ok (secrets shown as {REDACTED})",
                path.display()
            ));
            Ok(())
        }
    }
}

fn init(ctx: &Ctx, path: &Path, force: bool, out: &mut dyn Write) -> Result<(), CliError> {
    if path == Path::new("-") {
        if ctx.out.json {
            ctx.out.json_line(
                out,
                &serde_json::json!({"path": "-", "format": "toml", "config": config::SAMPLE_TOML}),
            )?;
        } else {
            out.write_all(config::SAMPLE_TOML.as_bytes())?;
        }
        return Ok(());
    }
    if path.exists() && !force {
        return Err(CliError::Invalid(format!(
            "{} exists; use --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(path, config::SAMPLE_TOML)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    if ctx.out.json {
        ctx.out.json_line(
            out,
            &serde_json::json!({"path": path.display().to_string(), "written": true}),
        )?;
    }
    ctx.out.note(&format!(
        "wrote {p}. Set LLM_URL, LLM_API_KEY and MINIMAX_KEY (or edit the file), then:\n  convoai config check {p}\n  convoai agents start --config {p} --channel demo",
        p = path.display()
    ));
    Ok(())
}
