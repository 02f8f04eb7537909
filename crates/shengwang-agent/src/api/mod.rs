//! One handle per API resource; each method describes its call and the transport sends it.

pub(crate) mod agents;
mod phone_numbers;
mod telephony;

pub use agents::{Agents, ListAgents, ListTurns, MAX_TURN_PAGES, MAX_TURN_PAGE_SIZE};
pub use phone_numbers::PhoneNumbers;
pub use telephony::{ListCalls, Telephony};

use crate::{Error, Result};

/// Path parameters go into URLs verbatim (as the service expects, e.g. `+861…`), so they
/// must not be able to change the path.
pub(crate) fn path_param(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            field,
            "must not contain '/', '?', '#', '%' or whitespace",
        ));
    }
    Ok(())
}

/// E.164: `+`, then 2 to 15 digits not starting with 0.
pub(crate) fn e164(field: &str, number: &str) -> Result<()> {
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
