//! How results reach the user. Tables and `label: value` lines look the same on a terminal
//! and in a pipe (aligned columns, so `grep` and `awk` work on them); colours only on a
//! terminal and without `NO_COLOR`; JSON lines with `--json`; spinners only on an
//! interactive stderr.
//!
//! Everything printed goes through this module, which neutralises text from outside (the
//! service, a token, a webhook) with the rule the SDK's errors use,
//! [`shengwang_agent::redact::escape`]: control characters (ESC, BEL, CR, LF, DEL, C1) and
//! bidi controls become visible escapes such as `\u{1b}`, so server text can neither drive
//! the terminal nor break a table row. Colours are added after that, by this module only.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use shengwang_agent::redact::{self, needs_escape};

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

    /// An agent or call status (already neutralised), coloured by what it means.
    fn status(&self, status: &str) -> String {
        let style = match status.to_ascii_uppercase().as_str() {
            "RUNNING" | "ANSWERED" => Style::new().green(),
            "FAILED" => Style::new().red(),
            "STARTING" | "STOPPING" | "RECOVERING" => Style::new().yellow(),
            _ => Style::new().dim(),
        };
        self.paint(style, status)
    }

    /// One JSON document on its own line (see [`json_text`]).
    pub fn json_line(&self, out: &mut dyn Write, value: &impl Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string(value)
            .map_err(|e| CliError::Failed(format!("cannot print JSON: {e}")))?;
        writeln!(out, "{}", json_text(text))?;
        Ok(())
    }

    /// A table with a bold header; columns padded to their widest cell. Cells are plain
    /// text: each is neutralised and capped ([`redact::sanitize`]), then a `STATUS` or
    /// `STATE` column is coloured by meaning.
    pub fn table(
        &self,
        out: &mut dyn Write,
        headers: &[&str],
        rows: &[Vec<String>],
    ) -> Result<(), CliError> {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.iter().map(|c| redact::sanitize(c)).collect())
            .collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(console::measure_text_width(cell));
            }
        }
        // (text as shown, its visible width): colour codes take no room.
        let line = |cells: Vec<(String, usize)>| {
            let last = cells.len().saturating_sub(1);
            let mut s = String::new();
            for (i, ((shown, width), w)) in cells.into_iter().zip(&widths).enumerate() {
                s.push_str(&shown);
                if i < last {
                    s.push_str(&" ".repeat(w.saturating_sub(width) + 2));
                }
            }
            s
        };
        let header = headers
            .iter()
            .map(|h| (self.paint(Style::new().bold(), h), h.len()))
            .collect();
        writeln!(out, "{}", line(header))?;
        for row in rows {
            let cells = row
                .into_iter()
                .enumerate()
                .map(|(i, cell)| {
                    let width = console::measure_text_width(&cell);
                    match headers.get(i) {
                        Some(h) if is_status(h) => (self.status(&cell), width),
                        _ => (cell, width),
                    }
                })
                .collect();
            writeln!(out, "{}", line(cells))?;
        }
        Ok(())
    }

    /// `label: value` lines, labels padded to one width; values neutralised like table cells
    /// (nothing cut), a `status` or `state` value coloured by meaning.
    pub fn fields(&self, out: &mut dyn Write, fields: &[(&str, String)]) -> Result<(), CliError> {
        for (label, value) in fields {
            let value = clean(value);
            let value = if is_status(label) {
                self.status(&value)
            } else {
                value.into_owned()
            };
            writeln!(out, "{:<9} {value}", format!("{label}:"))?;
        }
        Ok(())
    }

    /// One line of text, neutralised: a newline inside `text` shows as `\n`.
    pub fn line(&self, out: &mut dyn Write, text: &str) -> Result<(), CliError> {
        writeln!(out, "{}", clean(text))?;
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
        bar.set_message(clean(message).into_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Some(bar)
    }

    /// A status line for people, on stderr (stdout stays for data); not with `--json`.
    pub fn note(&self, message: &str) {
        if !self.json {
            stderr_line(message);
        }
    }
}

fn is_status(name: &str) -> bool {
    name.eq_ignore_ascii_case("status") || name.eq_ignore_ascii_case("state")
}

/// Text made safe for a terminal line: [`redact::escape`], the rule the SDK's errors use.
pub fn clean(text: &str) -> Cow<'_, str> {
    redact::escape(text)
}

/// A message on stderr, each of its lines neutralised (a message of this tool may span
/// lines; server text in it comes already escaped from the SDK, or through [`clean`]). A
/// closed stderr is not worth a panic: the message is dropped.
pub fn stderr_line(text: &str) {
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(clean).collect();
    let _ = writeln!(std::io::stderr().lock(), "{}", lines.join("\n"));
}

/// JSON text with the characters a terminal acts on but `serde_json` leaves as they are (DEL,
/// the C1 controls, bidi controls) written as `\uXXXX` escapes. They occur only inside
/// strings, where the escape stands for the same character: the document is unchanged. The
/// whitespace of pretty-printed JSON stays.
pub fn json_text(text: String) -> String {
    let unsafe_char = |c: char| needs_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    if !text.chars().any(unsafe_char) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where `-v` logs go: stderr, each event neutralised like every other line (the SDK escapes
/// the server text it logs; this covers whatever it or another crate does not).
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole event, ending in a newline.
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let _ = write!(std::io::stderr().lock(), "{}{end}", clean(body));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
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
        let rows = vec![vec!["a".to_string(), "RUNNING".to_string()]];
        out.table(&mut buf, &["ID", "STATUS"], &rows).unwrap();
        let raw = std::str::from_utf8(&buf).unwrap();
        assert!(raw.contains("\x1b[32mRUNNING"), "{raw:?}");
        let text = console::strip_ansi_codes(raw).to_string();
        assert_eq!(text, "ID  STATUS\na   RUNNING\n");
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let out = Output {
            json: false,
            color: true,
            interactive: false,
        };
        let hostile = "x\u{1b}[31m\u{1b}]0;t\u{7}\r\ny\u{9b}2J\u{202e}";
        let mut buf = Vec::new();
        let rows = vec![vec![hostile.to_string(), hostile.to_string()]];
        out.table(&mut buf, &["ID", "STATUS"], &rows).unwrap();
        out.fields(
            &mut buf,
            &[("status", hostile.into()), ("id", hostile.into())],
        )
        .unwrap();
        out.line(&mut buf, hostile).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let ours = console::strip_ansi_codes(&text);
        assert!(
            !ours.chars().any(|c| needs_escape(c) && c != '\n'),
            "{text:?}"
        );
        assert_eq!(text.lines().count(), 5, "one line per row: {text:?}");
        assert!(ours.contains("x\\u{1b}[31m\\u{1b}]0;t\\u{7}\\r\\ny\\u{9b}2J\\u{202e}"));
    }

    #[test]
    fn json_text_escapes_what_serde_leaves_and_stays_the_same_json() {
        let value = serde_json::json!({"n": "a\u{1b}b\u{7f}c\u{9b}d\u{202e}e\u{1F600}"});
        let text = json_text(serde_json::to_string(&value).unwrap());
        assert!(!text.chars().any(needs_escape), "{text}");
        assert!(
            text.contains("\\u001b") && text.contains("\\u009b"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        let pretty = json_text(serde_json::to_string_pretty(&value).unwrap());
        assert!(pretty.contains('\n'));
    }
}
