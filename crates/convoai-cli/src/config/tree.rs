//! Text → one JSON tree, whatever the file's format, so interpolation and deserialization
//! see a single shape.
//!
//! Syntax errors are reported from the parser's message and position only: the parsers'
//! rendered errors quote the offending source line, which may hold a key.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::de::{path_string, Seg};
use crate::error::CliError;

/// The formats a config file can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Toml,
    Json,
    Yaml,
}

/// The format `name`'s extension names.
pub(super) fn format_of(name: &str) -> Result<Format, CliError> {
    let ext = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("toml") => Ok(Format::Toml),
        Some("json") => Ok(Format::Json),
        Some("yaml" | "yml") => Ok(Format::Yaml),
        _ => Err(CliError::Invalid(format!(
            "{name}: unknown config file format (the name must end in .toml, .json, .yaml or .yml)"
        ))),
    }
}

/// Parses `text` into the top-level table.
pub(super) fn parse(
    name: &str,
    text: &str,
    format: Format,
) -> Result<Map<String, Value>, CliError> {
    let root = match format {
        Format::Toml => {
            // Through `Ordered`, not `toml::Table`: the table type sorts keys, and the tree
            // keeps the file's order (errors come in reading order, extras are sent in it).
            let Ordered(v) = toml::from_str(text).map_err(|e| {
                let at = e.span().map(|s| line_col(text, s.start));
                syntax(name, at, e.message())
            })?;
            v
        }
        Format::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            let at = (e.line() > 0).then(|| (e.line(), e.column()));
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            syntax(name, at, full.strip_suffix(&suffix).unwrap_or(&full))
        })?,
        Format::Yaml => {
            let mut v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
                let at = e.location().map(|l| (l.line(), l.column()));
                syntax(name, at, &strip_marks(&e.to_string()))
            })?;
            // `<<: *anchor` merge keys, as YAML users expect them to work.
            v.apply_merge().map_err(|e| {
                CliError::Invalid(format!(
                    "{name}: {}",
                    one_line(&strip_marks(&e.to_string()))
                ))
            })?;
            yaml_to_json(v, &mut Vec::new())
                .map_err(|m| CliError::Invalid(format!("{name}: {m}")))?
        }
    };
    match root {
        Value::Object(map) => Ok(map),
        // An empty YAML document is no table at all; treat it like an empty TOML file.
        Value::Null => Ok(Map::new()),
        _ => Err(CliError::Invalid(format!(
            "{name}: the top level must be a table (an object of options)"
        ))),
    }
}

fn syntax(name: &str, at: Option<(usize, usize)>, message: &str) -> CliError {
    let message = one_line(message);
    CliError::Invalid(match at {
        Some((line, col)) => format!("{name}:{line}:{col}: syntax error: {message}"),
        None => format!("{name}: syntax error: {message}"),
    })
}

/// Folds a multi-line parser message into one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Removes libyaml's ` at line N column M` and ` at position N` marks; the position is
/// reported separately, in front.
fn strip_marks(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(" at ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        if let Some(len) = mark_len(after) {
            rest = &after[len..];
        } else {
            out.push_str(" at ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The length of `line N column M` or `position N` at the start of `s`.
fn mark_len(s: &str) -> Option<usize> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    if let Some(r) = s.strip_prefix("line ") {
        let n = digits(r);
        let r2 = r[n..].strip_prefix(" column ")?;
        let m = digits(r2);
        (n > 0 && m > 0).then_some("line ".len() + n + " column ".len() + m)
    } else if let Some(r) = s.strip_prefix("position ") {
        let n = digits(r);
        (n > 0).then_some("position ".len() + n)
    } else {
        None
    }
}

fn float(f: f64, path: &[Seg]) -> Result<Value, String> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("{}: not a finite number", display_path(path)))
}

fn yaml_to_json(v: serde_yaml::Value, path: &mut Vec<Seg>) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                float(n.as_f64().unwrap_or(f64::NAN), path)?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.push(Seg::Index(i));
                out.push(yaml_to_json(item, path)?);
                path.pop();
            }
            Value::Array(out)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, item) in m {
                // Scalar keys (`8000: …`) read as the text they were written as.
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    _ => {
                        return Err(format!(
                            "{}: table keys must be strings",
                            display_path(path)
                        ))
                    }
                };
                path.push(Seg::Key(key.clone()));
                let item = yaml_to_json(item, path)?;
                path.pop();
                out.insert(key, item);
            }
            Value::Object(out)
        }
        Y::Tagged(_) => {
            return Err(format!(
                "{}: YAML tags (!name) are not supported",
                display_path(path)
            ))
        }
    })
}

fn display_path(path: &[Seg]) -> String {
    if path.is_empty() {
        "(top level)".to_owned()
    } else {
        path_string(path)
    }
}

/// A JSON tree read from any serde format, keeping map order.
struct Ordered(Value);

/// The key under which the `toml` crate hands a datetime to a visitor.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Ordered, E> {
        Ok(Ordered(Value::Bool(b)))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Ordered, E> {
        Ok(Ordered(Value::from(n)))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Ordered, E> {
        Ok(Ordered(Value::from(n)))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Ordered, E> {
        Number::from_f64(f)
            .map(|n| Ordered(Value::Number(n)))
            .ok_or_else(|| E::custom("not a finite number (nan and inf are not allowed)"))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Ordered, E> {
        Ok(Ordered(Value::String(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Ordered, E> {
        Ok(Ordered(Value::String(s)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Ordered, D::Error> {
        Ordered::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut out = Vec::new();
        while let Some(Ordered(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Ordered(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Ordered(v) = map.next_value()?;
            if key == TOML_DATETIME_KEY && out.is_empty() {
                // A TOML datetime: no option takes one, so it is kept as its text.
                return Ok(Ordered(v));
            }
            out.insert(key, v);
        }
        Ok(Ordered(Value::Object(out)))
    }
}
