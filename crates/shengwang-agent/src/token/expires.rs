//! Validation of a session token's lifetime (`expires_in`, agentkit spec §5.3).
//!
//! Same range and message as the Python SDK (1 to 86 400 seconds), with two deliberate
//! differences: a lifetime under one second is an error instead of a silent 0-second token,
//! and a lifetime over 24 h is an error instead of a warning and a cap.

use std::time::Duration;

use crate::validate::MAX_EXPIRE_SECS;
use crate::{Error, Result};

/// Checks a lifetime (1 second to [`MAX_EXPIRE_SECS`], 24 h) and returns it in whole seconds
/// (fractions are dropped once the value is known to be at least one second). For minutes or
/// hours, pass `Duration::from_secs(minutes * 60)` and the like.
///
/// [`MAX_EXPIRE_SECS`]: crate::validate::MAX_EXPIRE_SECS
pub fn expires_in(lifetime: Duration) -> Result<u32> {
    if lifetime < Duration::from_secs(1) || lifetime > Duration::from_secs(MAX_EXPIRE_SECS.into()) {
        return Err(Error::invalid(
            "expires_in",
            format!(
                "must be between 1 and {MAX_EXPIRE_SECS} seconds (got {})",
                seconds(lifetime)
            ),
        ));
    }
    // In range, so it fits.
    Ok(lifetime.as_secs() as u32)
}

/// `90000 seconds`, `0.5 seconds`: the unit the rule is stated in.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} seconds", d.as_secs())
    } else {
        format!("{:.3} seconds", d.as_secs_f64())
    }
}

/// Seconds since the Unix epoch on this machine's clock (0 if the clock is before 1970): the
/// one clock that token lifetimes, header-token reuse and session records read.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
