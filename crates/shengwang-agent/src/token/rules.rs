//! Input rules checked before anything is signed. Messages name the field and never echo a
//! certificate.

use crate::{Error, Result};

/// Longest channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 64;
/// Longest string account (string uid), in bytes.
pub const MAX_ACCOUNT_LEN: usize = 255;
/// Longest RTM user id, in bytes.
pub const MAX_USER_ID_LEN: usize = 64;
/// Longest token or privilege lifetime, in seconds (24 h).
pub const MAX_EXPIRE_SECS: u32 = 86_400;

/// Checks that an app id is 32 hexadecimal characters.
pub fn validate_app_id(app_id: &str) -> Result<()> {
    if is_hex32(app_id) {
        Ok(())
    } else {
        Err(Error::invalid(
            "app_id",
            format!(
                "must be 32 hexadecimal characters (got {} characters{})",
                app_id.chars().count(),
                if app_id.chars().all(|c| c.is_ascii_hexdigit()) {
                    ""
                } else {
                    ", not all hex"
                }
            ),
        ))
    }
}

/// Checks that an app certificate is 32 hexadecimal characters. The message never contains it.
pub fn validate_app_certificate(certificate: &str) -> Result<()> {
    if is_hex32(certificate) {
        Ok(())
    } else {
        Err(Error::invalid(
            "app_certificate",
            "must be 32 hexadecimal characters",
        ))
    }
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Characters Agora allows in channel names and string accounts besides ASCII letters and
/// digits.
const EXTRA_CHARS: &[u8] = b" !#$%&()+-:;<=.>?@[]^_{}|~,";

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || EXTRA_CHARS.contains(&b)
}

/// Checks a channel name: 1 to 64 bytes of letters, digits, space and `!#$%&()+-:;<=.>?@[]^_{}|~,`.
pub fn validate_channel(channel: &str) -> Result<()> {
    validate_name("channel", channel, MAX_CHANNEL_LEN)
}

/// Checks a string account (string uid): up to 255 bytes of the channel-name characters.
/// Empty is allowed by the builders that document it as "any uid".
pub fn validate_account(field: &str, account: &str) -> Result<()> {
    if account.is_empty() {
        return Ok(());
    }
    validate_name(field, account, MAX_ACCOUNT_LEN)
}

/// Checks an RTM user id: 1 to 64 bytes, no control characters.
pub fn validate_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() {
        return Err(Error::invalid("user_id", "must not be empty"));
    }
    if user_id.len() > MAX_USER_ID_LEN {
        return Err(Error::invalid(
            "user_id",
            format!(
                "must be at most {MAX_USER_ID_LEN} bytes (got {})",
                user_id.len()
            ),
        ));
    }
    if user_id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "user_id",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn validate_name(field: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} bytes (got {})", value.len()),
        ));
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii() || !allowed(*c as u8)) {
        return Err(Error::invalid(
            field,
            format!(
                "contains {c:?}; allowed are ASCII letters, digits, space and {}",
                std::str::from_utf8(EXTRA_CHARS)
                    .unwrap_or_default()
                    .trim_start()
            ),
        ));
    }
    Ok(())
}

/// Checks a token lifetime: 1 to 86 400 seconds.
pub fn validate_token_expire(field: &str, secs: u32) -> Result<()> {
    if secs == 0 || secs > MAX_EXPIRE_SECS {
        return Err(Error::invalid(
            field,
            format!("must be between 1 and {MAX_EXPIRE_SECS} seconds (got {secs})"),
        ));
    }
    Ok(())
}

/// Checks a privilege lifetime: 0 (= the token's lifetime) to 86 400 seconds.
pub fn validate_privilege_expire(field: &str, secs: u32) -> Result<()> {
    if secs > MAX_EXPIRE_SECS {
        return Err(Error::invalid(
            field,
            format!("must be between 0 and {MAX_EXPIRE_SECS} seconds (got {secs})"),
        ));
    }
    Ok(())
}
