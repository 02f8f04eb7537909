//! Validation of a session token's lifetime (`expires_in`, agentkit spec §5.3).
//!
//! Same range and message as the Python SDK (1 to 86 400 seconds), with two deliberate
//! differences: a lifetime under one second is an error instead of a silent 0-second token,
//! and a lifetime over 24 h is an error instead of a warning and a cap.

use std::time::Duration;

use super::rules::MAX_EXPIRE_SECS;
use crate::{Error, Result};

/// Longest session token lifetime: 24 hours.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(MAX_EXPIRE_SECS as u64);

/// Checks a lifetime and returns it in whole seconds (fractions are dropped once the
/// value is known to be at least one second).
pub fn expires_in(lifetime: Duration) -> Result<u32> {
    if lifetime < Duration::from_secs(1) || lifetime > MAX_EXPIRES_IN {
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

/// [`expires_in`] for a number of seconds.
pub fn expires_in_seconds(secs: u64) -> Result<u32> {
    expires_in(Duration::from_secs(secs))
}

/// [`expires_in`] for a number of minutes.
pub fn expires_in_minutes(minutes: u64) -> Result<u32> {
    expires_in(Duration::from_secs(minutes.saturating_mul(60)))
}

/// [`expires_in`] for a number of hours.
pub fn expires_in_hours(hours: u64) -> Result<u32> {
    expires_in(Duration::from_secs(hours.saturating_mul(3600)))
}
