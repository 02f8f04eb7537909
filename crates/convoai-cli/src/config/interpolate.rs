//! `${VAR}` in string values, replaced from the environment; `$${` is a literal `${`.
//!
//! Done on the parsed tree, not the text, so a value can never change the file's structure
//! (a variable holding `"` or a newline stays inside its string).

use serde_json::Value;

use super::de::{path_string, Seg};

/// Replaces every `${VAR}` in every string of `v`. The error names the variable and the path
/// where it was used, never a value.
pub(super) fn interpolate(
    v: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    walk(v, &mut Vec::new(), env)
}

fn walk(
    v: &mut Value,
    path: &mut Vec<Seg>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    match v {
        Value::String(s) if s.contains('$') => {
            *s = expand(s, env).map_err(|e| format!("{}: {e}", path_string(path)))?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                walk(item, path, env)?;
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                path.push(Seg::Key(k.clone()));
                walk(item, path, env)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands one string.
pub(super) fn expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        if let Some(after) = at.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(body) = at.strip_prefix("${") {
            let end = body.find('}').ok_or_else(|| {
                "unterminated ${…} (close it with }, or write $${ for a literal ${)".to_owned()
            })?;
            let var = &body[..end];
            if !is_var_name(var) {
                // Not echoed: whatever sits between the braces may be a pasted secret.
                return Err(
                    "invalid ${…} reference (a variable name is letters, digits and _, not starting with a digit; write $${ for a literal ${)"
                        .to_owned(),
                );
            }
            match env(var) {
                Some(value) => out.push_str(&value),
                None => return Err(format!("environment variable {var} is not set")),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &at[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
