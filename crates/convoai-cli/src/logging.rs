//! The `tracing` subscriber of every command: one place, so every command's log lines go
//! through the same neutralising writer.
//!
//! One-shot commands log nothing unless asked (`-v`). `convoai serve` is a service: it logs at
//! `info` by default, as text or as JSON lines (`--log-format`), and may add a layer that
//! exports its spans over OpenTelemetry. Server-controlled text is neutralised either way:
//! the text writer escapes control and bidi characters ([`crate::output::clean`]), the JSON
//! writer writes the ones `serde_json` leaves raw as `\uXXXX` escapes
//! ([`crate::output::json_text`]), so every JSON line still parses.

use std::io::Write;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// How `convoai serve` writes its log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields, spans).
    Json,
}

/// A layer added to the subscriber (the OpenTelemetry trace export of `serve`).
pub type ExtraLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The filter for `verbose` when `RUST_LOG` is unset. The SDK's tracing is tested to carry no
/// secret; other crates stay at `warn` even with `-vv`, theirs is not ours to promise.
fn filter(verbose: u8, service: bool) -> Option<EnvFilter> {
    let default = match (verbose, service) {
        (0, false) => return None,
        (0, true) => "warn,shengwang_agent=info,convoai=info,convoai_emulator=info",
        (1, _) => "warn,shengwang_agent=debug,convoai=debug,convoai_emulator=info",
        _ => "warn,shengwang_agent=trace,convoai=trace,convoai_emulator=debug",
    };
    Some(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)))
}

/// `-v`: each request of this tool and the SDK; `-vv`: everything they trace. `RUST_LOG`
/// overrides both. Without `-v` nothing is logged.
pub fn init_cli(verbose: u8) {
    let Some(filter) = filter(verbose, false) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::output::LogWriter)
        .with_ansi(false)
        .init();
}

/// The subscriber of a long-running service: `info` by default (`-v`, `-vv` and `RUST_LOG` as
/// for every command), lines in `format`, and `extra` (span export) when given. The filter
/// applies to every layer, so exported spans are the ones the log level admits (the SDK's are
/// at `info`).
pub fn init_service(verbose: u8, format: LogFormat, extra: Option<ExtraLayer>) {
    let filter = filter(verbose, true).unwrap_or_else(|| EnvFilter::new("info"));
    let lines: ExtraLayer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(|| crate::output::LogWriter)
            .with_ansi(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(|| JsonLogWriter)
            .boxed(),
    };
    let layers: Vec<ExtraLayer> = std::iter::once(lines).chain(extra).collect();
    let _ = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
}

/// Stderr for JSON log lines: each line is a JSON document, so the characters a terminal acts
/// on are written as JSON escapes instead of the text writer's `\u{..}` (which would break the
/// document).
struct JsonLogWriter;

impl Write for JsonLogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr()
            .lock()
            .write_all(json_line(buf).as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// One formatted JSON event with the characters a terminal acts on written as JSON escapes.
fn json_line(buf: &[u8]) -> String {
    crate::output::json_text(String::from_utf8_lossy(buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_stay_json_without_raw_controls() {
        let raw = "{\"message\":\"agent \u{9b}31m left \u{202e}gnp.exe \u{7f}\"}\n";
        let line = json_line(raw.as_bytes());
        assert!(!line.contains(['\u{9b}', '\u{202e}', '\u{7f}']), "{line:?}");
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["message"], "agent \u{9b}31m left \u{202e}gnp.exe \u{7f}");
    }

    #[test]
    fn one_shot_commands_are_quiet_without_verbose() {
        assert!(filter(0, false).is_none());
        assert!(filter(0, true).is_some());
        assert!(filter(1, false).is_some());
    }
}
