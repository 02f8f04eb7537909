//! Every input rule the SDK checks before it signs or sends anything: ids that go into URL
//! paths, channel names, accounts (string uids), app ids and certificates, phone numbers,
//! lifetimes, the client's base URL and the URLs in vendor options. Messages name the field
//! and never echo a secret.
//!
//! Ids from a caller's own users often reach [`Client`](crate::Client) methods unchanged
//! (`stop_agent(id_from_the_request)`), so an id must never be able to change which endpoint
//! a request goes to. Each kind of id has a safe set of characters; anything outside it is
//! refused locally, and what is inside is percent-encoded as exactly one path segment.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::area::Area;
use crate::{Error, Result};

/// Longest channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 64;
/// Longest string account (string uid), in bytes.
pub const MAX_ACCOUNT_LEN: usize = 255;
/// Longest RTM user id, in bytes.
pub const MAX_USER_ID_LEN: usize = 64;
/// Longest token or privilege lifetime, in seconds (24 h).
pub const MAX_EXPIRE_SECS: u32 = 86_400;
/// Longest id accepted in a URL path (agent ids, call ids), in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Characters left as they are in a path segment: RFC 3986's unreserved set. Everything else
/// is percent-encoded, so no accepted id can add a segment, a query or a fragment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Characters refused in ids even though they could be encoded: separators that some
/// servers and proxies treat as `/` (`\`) or decode a second time (`%`).
const REFUSED_IN_IDS: &[char] = &['/', '\\', '?', '#', '%'];

/// One URL path segment, already checked and percent-encoded; `Display` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment(String);

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agent id, call id or similar service-assigned id, as one path segment.
///
/// Accepted: 1 to [`MAX_ID_LEN`] bytes of printable ASCII except space and `/ \ ? # %`,
/// and neither `.` nor `..`. Characters outside `A-Z a-z 0-9 - . _ ~` are percent-encoded.
pub(crate) fn id_segment(field: &str, value: &str) -> Result<Segment> {
    check_id(field, value)?;
    Ok(Segment(utf8_percent_encode(value, SEGMENT).to_string()))
}

/// Checks an agent id, call id or similar service-assigned id that goes into a URL path:
/// 1 to [`MAX_ID_LEN`] bytes of printable ASCII except space and `/ \ ? # %`, and neither
/// `.` nor `..`.
pub fn check_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_ID_LEN} bytes (got {})", value.len()),
        ));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid(field, "must not be \".\" or \"..\""));
    }
    if value
        .chars()
        .any(|c| !c.is_ascii_graphic() || REFUSED_IN_IDS.contains(&c))
    {
        return Err(Error::invalid(
            field,
            "may contain only printable ASCII without space, '/', '\\', '?', '#' or '%'",
        ));
    }
    Ok(())
}

/// A phone number as one path segment: E.164 (see [`validate_e164`]); `+` and digits need
/// no encoding, and the service expects the `+` as it is.
pub(crate) fn phone_segment(field: &str, number: &str) -> Result<Segment> {
    validate_e164(field, number)?;
    Ok(Segment(number.to_owned()))
}

/// Checks an E.164 number: `+`, then 2 to 15 digits not starting with 0.
pub fn validate_e164(field: &str, number: &str) -> Result<()> {
    let digits = number.strip_prefix('+').unwrap_or("");
    if (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must be an E.164 number such as +8613800000000",
        ))
    }
}

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

/// Checks a numeric uid given as text: a 32-bit unsigned integer.
pub fn validate_int_uid(field: &str, uid: &str) -> Result<()> {
    uid.parse::<u32>().map(|_| ()).map_err(|_| {
        Error::invalid(
            field,
            "must be a 32-bit unsigned integer as text unless string uids are enabled",
        )
    })
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
    if value.chars().any(|c| !c.is_ascii() || !allowed(c as u8)) {
        return Err(Error::invalid(
            field,
            format!(
                "contains a character outside ASCII letters, digits, space and {}",
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

/// Checks a base URL ([`ClientBuilder::base_url`](crate::ClientBuilder::base_url),
/// `SHENGWANG_BASE_URL`) and returns it as requests use it: `http` or `https`, a host, no
/// user name, password, query or fragment, and one of these paths:
///
/// - none (or `/`): the API path of `area` is appended, so `http://127.0.0.1:8080` means
///   `http://127.0.0.1:8080/cn/api/conversational-ai-agent` in the CN area;
/// - exactly an API path, `/cn/api/conversational-ai-agent` or `/api/conversational-ai-agent`
///   (either, whatever the area: the emulator and proxies serve both), a trailing `/`
///   allowed: used as it is.
///
/// Any other path is refused with the two accepted shapes. Messages never repeat the user
/// name, password, query or fragment (they may hold a secret).
pub(crate) fn base_url(url: &str, area: Area) -> Result<String> {
    let field = "base_url";
    let parsed = url::Url::parse(url.trim()).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => Error::invalid(
            field,
            "has no scheme: write the whole URL, such as http://127.0.0.1:8080",
        ),
        e => Error::invalid(field, format!("not a URL ({e})")),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(Error::invalid(field, "must be an http(s) URL with a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            field,
            "must not contain a user name or password (use basic(...) for credentials)",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::invalid(field, "must not have a query or fragment"));
    }
    // The parsed form: normalised, so `..` or `\\` in the base cannot surprise later joins.
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    if path.is_empty() {
        return Ok(format!("{origin}{}", area.path()));
    }
    if API_AREAS.iter().any(|a| a.path() == path) {
        return Ok(format!("{origin}{path}"));
    }
    // The parser percent-encodes the path, so it holds no control character; long ones are cut.
    let shown: String = path.chars().take(64).collect();
    let cut = if shown.len() < path.len() { "…" } else { "" };
    Err(Error::invalid(
        field,
        format!(
            "path `{shown}{cut}` is not the API path; use `{origin}` or `{origin}{}`",
            area.path()
        ),
    ))
}

/// Areas whose API paths a base URL may end with (together, every distinct path).
const API_AREAS: [Area; 4] = [Area::Cn, Area::Us, Area::Eu, Area::Ap];

/// Checks a URL option of a vendor configuration that the service calls over HTTP (an LLM's
/// `url`, `greeting_audio_url`, an MCP server's `endpoint`, a tool server's `url`): an
/// `http://` or `https://` URL with a host. The message names `field`, never the value (a
/// URL may carry a key in its query).
pub fn validate_http_url(field: &str, url: &str) -> Result<()> {
    check_url(field, url, &["http", "https"])
}

/// Checks a URL option that the service opens as a WebSocket (an MLLM's `url`, MiniMax's
/// `url`): a `ws://` or `wss://` URL with a host. `http://` and `https://` are accepted too
/// (a WebSocket starts as an HTTP request, and some vendors document their endpoints that way);
/// what this catches is a URL without a scheme or host. The message names `field`, never the
/// value.
pub fn validate_ws_url(field: &str, url: &str) -> Result<()> {
    check_url(field, url, &["ws", "wss", "http", "https"])
}

fn check_url(field: &str, url: &str, schemes: &[&str]) -> Result<()> {
    let shape = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ");
    if url.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if url.trim() != url {
        return Err(Error::invalid(
            field,
            "must not start or end with white space",
        ));
    }
    let parsed = match url::Url::parse(url) {
        Ok(p) => p,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(Error::invalid(
                field,
                format!("has no scheme: write the whole URL, starting with {shape}"),
            ))
        }
        Err(e) => return Err(Error::invalid(field, format!("not a URL ({e})"))),
    };
    if !schemes.contains(&parsed.scheme()) || parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(
            field,
            format!("must start with {shape} and name a host"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_walk_the_path_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "..\\..\\admin",
            "a/b",
            "a?b",
            "a#b",
            "%2e%2e",
            "a b",
            "a\nb",
            "a\u{1b}b",
            "é",
        ] {
            assert!(id_segment("agent_id", bad).is_err(), "{bad:?}");
        }
        assert!(id_segment("agent_id", &"A".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn accepted_ids_are_one_encoded_segment() {
        assert_eq!(
            id_segment("id", "1NT29X10YH").unwrap().to_string(),
            "1NT29X10YH"
        );
        assert_eq!(
            id_segment("id", "a.b-c_d~e").unwrap().to_string(),
            "a.b-c_d~e"
        );
        assert_eq!(id_segment("id", "...").unwrap().to_string(), "...");
        assert_eq!(
            id_segment("id", "a:b@c+d").unwrap().to_string(),
            "a%3Ab%40c%2Bd"
        );
    }

    #[test]
    fn vendor_urls_need_their_scheme_and_a_host_and_are_never_echoed() {
        for ok in [
            "https://llm.example/v1/chat/completions",
            "http://127.0.0.1:8000",
        ] {
            assert!(validate_http_url("llm.url", ok).is_ok(), "{ok}");
        }
        for ok in ["wss://api.minimax.chat/ws/v1/t2a_v2", "ws://127.0.0.1:9/rt"] {
            assert!(validate_ws_url("mllm.url", ok).is_ok(), "{ok}");
        }
        let no_scheme = validate_http_url("llm.url", "llm.example/SENTINEL")
            .unwrap_err()
            .to_string();
        assert_eq!(
            no_scheme,
            "invalid llm.url: has no scheme: write the whole URL, starting with http:// or https://"
        );
        for bad in [
            "",
            " https://llm.example",
            "ftp://llm.example/SENTINEL",
            "wss://llm.example/SENTINEL",
            "https://",
            "localhost:8080/SENTINEL",
            "file:///SENTINEL",
        ] {
            let e = validate_http_url("llm.url", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid llm.url: "), "{bad:?}: {e}");
            assert!(!e.contains("SENTINEL"), "{e}");
        }
        assert!(validate_ws_url("tts.params.url", "https://api.minimax.chat").is_ok());
        assert!(validate_ws_url("tts.params.url", "ftp://api.minimax.chat").is_err());
        assert!(validate_ws_url("tts.params.url", "api.minimax.chat/ws").is_err());
    }

    #[test]
    fn a_host_only_base_url_gets_the_area_path_and_api_paths_stay() {
        let cn = "http://127.0.0.1:8080/cn/api/conversational-ai-agent";
        let global = "http://127.0.0.1:8080/api/conversational-ai-agent";
        for host_only in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            " http://127.0.0.1:8080 ",
        ] {
            assert_eq!(base_url(host_only, Area::Cn).unwrap(), cn);
            assert_eq!(base_url(host_only, Area::Us).unwrap(), global);
        }
        for area in [Area::Cn, Area::Eu] {
            assert_eq!(base_url(cn, area).unwrap(), cn);
            assert_eq!(base_url(&format!("{global}/"), area).unwrap(), global);
        }
        assert_eq!(
            base_url("https://[::1]:443/", Area::Ap).unwrap(),
            "https://[::1]/api/conversational-ai-agent"
        );
    }

    #[test]
    fn any_other_base_url_path_is_refused_with_the_expected_shape() {
        let e = base_url("http://127.0.0.1:8080/foo", Area::Cn)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid base_url: path `/foo` is not the API path; use `http://127.0.0.1:8080` or \
             `http://127.0.0.1:8080/cn/api/conversational-ai-agent`"
        );
        for bad in [
            "http://h/api",
            "http://h/cn/api/conversational-ai-agent/v2",
            "http://h//api/conversational-ai-agent",
        ] {
            assert!(base_url(bad, Area::Cn).is_err(), "{bad}");
        }
        let long = format!("http://h/{}", "p".repeat(500));
        assert!(base_url(&long, Area::Cn).unwrap_err().to_string().len() < 200);
        assert!(base_url("127.0.0.1:8080", Area::Cn)
            .unwrap_err()
            .to_string()
            .contains("has no scheme"));
        let creds = base_url("http://user:SENTINEL@h/foo", Area::Cn)
            .unwrap_err()
            .to_string();
        assert!(!creds.contains("SENTINEL"), "{creds}");
    }

    #[test]
    fn channel_message_does_not_echo_the_value() {
        let e = validate_channel("bad\u{1b}]0;pwned")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pwned") && !e.contains('\u{1b}'), "{e}");
    }
}
