//! How results reach the user: text tables and colours on a terminal, plain text when piped,
//! JSON with `--json`; spinners only on an interactive stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::CliError;

/// Output settings decided once per run.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`.
    pub json: bool,
    color: bool,
    interactive: bool,
}

impl Output {
    /// Colours only on a terminal and without `NO_COLOR`; spinners only when stderr is a
    /// terminal and the output is not JSON.
    pub fn detect(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            json,
            color: !no_color && std::io::stdout().is_terminal(),
            interactive: !json && std::io::stderr().is_terminal(),
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        style.force_styling(self.color).apply_to(text).to_string()
    }

    /// An agent or call status, coloured by what it means.
    pub fn status(&self, status: &str) -> String {
        let style = match status.to_ascii_uppercase().as_str() {
            "RUNNING" | "ANSWERED" => Style::new().green(),
            "FAILED" => Style::new().red(),
            "STARTING" | "STOPPING" | "RECOVERING" => Style::new().yellow(),
            _ => Style::new().dim(),
        };
        self.paint(style, status)
    }

    /// One JSON document on its own line.
    pub fn json_line(&self, out: &mut dyn Write, value: &impl Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string(value)
            .map_err(|e| CliError::Failed(format!("cannot print JSON: {e}")))?;
        writeln!(out, "{text}")?;
        Ok(())
    }

    /// A table with a bold header; columns padded to their widest cell. Cells may carry
    /// colour codes, so widths come from the uncoloured text.
    pub fn table(
        &self,
        out: &mut dyn Write,
        headers: &[&str],
        rows: &[Vec<String>],
    ) -> Result<(), CliError> {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(console::measure_text_width(cell));
            }
        }
        let line = |cells: Vec<String>| {
            let last = cells.len().saturating_sub(1);
            let mut s = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                s.push_str(cell);
                if i < last {
                    let pad = w.saturating_sub(console::measure_text_width(cell)) + 2;
                    s.push_str(&" ".repeat(pad));
                }
            }
            s
        };
        let header = headers
            .iter()
            .map(|h| self.paint(Style::new().bold(), h))
            .collect();
        writeln!(out, "{}", line(header))?;
        for row in rows {
            writeln!(out, "{}", line(row.clone()))?;
        }
        Ok(())
    }

    /// A spinner on stderr while `message` is in progress; `None` when not interactive.
    pub fn spinner(&self, message: &str) -> Option<ProgressBar> {
        if !self.interactive {
            return None;
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Some(bar)
    }

    /// A status line for people, on stderr (stdout stays for data).
    pub fn note(&self, message: &str) {
        if !self.json {
            eprintln!("{message}");
        }
    }
}

/// Stops a spinner, if there is one.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// A Unix time as RFC 3339 UTC, or `-` when unknown.
pub fn time(ts: Option<u64>) -> String {
    match ts.filter(|t| *t > 0) {
        Some(ts) => {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(ts))
                .to_string()
        }
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(time(Some(0)), "-");
        assert_eq!(time(None), "-");
        assert_eq!(time(Some(951_782_400)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn table_pads_by_visible_width() {
        let out = Output {
            json: false,
            color: true,
            interactive: false,
        };
        let mut buf = Vec::new();
        let rows = vec![vec!["a".to_string(), out.status("RUNNING")]];
        out.table(&mut buf, &["ID", "STATUS"], &rows).unwrap();
        let text = console::strip_ansi_codes(std::str::from_utf8(&buf).unwrap()).to_string();
        assert_eq!(text, "ID  STATUS\na   RUNNING\n");
    }
}
