//! Retry policy: which failures are retried, how long to wait, and the server's hints.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;

use super::{Failure, Idempotency};
use crate::Error;

/// How failed requests are retried. Retries are on by default (the Python SDK's are off).
///
/// Retried: timeouts, connection failures, 408, 429 and 5xx, never 409. The wait is
/// the server's `retry-after-ms` or `Retry-After` (seconds or an HTTP date) when present
///, else exponential backoff with full jitter; both are capped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Three retries, 200 ms base backoff, 5 s cap, server hints honoured up to 30 s.
    pub fn standard() -> Self {
        Self::default()
    }
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }
    /// Retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// First backoff step (doubles per retry, with full jitter).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }
    /// Longest backoff.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }
    /// Longest wait a server hint may impose; longer hints are cut to this.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Full jitter: uniform in [0, min(max, base × 2^attempt)].
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let nanos = ceiling.as_nanos().min(u128::from(u64::MAX)) as u64;
        Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
    }

    /// The wait before the next attempt, given the failed response's headers, if any.
    pub(crate) fn delay(&self, attempt: u32, headers: Option<&HeaderMap>) -> Duration {
        match headers.and_then(retry_after) {
            Some(hint) => hint.min(self.max_retry_after),
            None => self.backoff(attempt),
        }
    }
}

/// Longest server hint that is taken as meant; a larger, negative or non-finite value is
/// ignored (the policy's own backoff applies), so no header can overflow a duration.
const MAX_HINT: Duration = Duration::from_secs(24 * 3600);

/// Longest header value looked at.
const MAX_HINT_TEXT: usize = 64;

/// `retry-after-ms` (milliseconds) wins over `Retry-After` (seconds or an HTTP date). Any
/// value a server sends is safe here: unparsable, negative, non-finite or huge values are
/// ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| v.len() <= MAX_HINT_TEXT)
    };
    let seconds = |v: &str, scale: f64| {
        let n = v.parse::<f64>().ok()? / scale;
        let d = Duration::try_from_secs_f64(n).ok()?;
        (d <= MAX_HINT).then_some(d)
    };
    if let Some(d) = text("retry-after-ms").and_then(|v| seconds(v, 1000.0)) {
        return Some(d);
    }
    let v = text("retry-after")?;
    if v.bytes().all(|b| {
        b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+' || b == b'e' || b == b'E'
    }) {
        return seconds(v, 1.0);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let d = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    (d <= MAX_HINT).then_some(d)
}

/// The error of a failed attempt, whether the engine may send the request again, and the
/// headers whose `Retry-After` sets the wait. Marks `ambiguous` when the request may have
/// been carried out.
pub(super) fn classify(
    kind: Idempotency,
    failure: Failure,
    ambiguous: &mut bool,
) -> (Error, bool, Option<HeaderMap>) {
    match failure {
        Failure::Status(error, headers) => {
            let status = error.status().unwrap_or(0);
            let transient = error.is_retryable();
            // A 5xx may come after the service acted; a 408 or 429 says it did not.
            let after_acting = status >= 500;
            match kind {
                Idempotency::Idempotent => (error, transient, Some(headers)),
                Idempotency::Join => {
                    *ambiguous |= after_acting;
                    (error, transient, Some(headers))
                }
                Idempotency::Create if status == 429 => (error, true, Some(headers)),
                Idempotency::Create if after_acting => (outcome_unknown(error), false, None),
                Idempotency::Create => (error, false, None),
            }
        }
        Failure::Transport { error, sent } => {
            // `is_retryable` is the one definition of transient: a response larger than the
            // bound is an answer, a refused certificate is refused on every attempt.
            let transient = error.is_retryable();
            match kind {
                Idempotency::Idempotent => (error, transient, None),
                Idempotency::Join => {
                    *ambiguous |= sent;
                    (error, transient, None)
                }
                Idempotency::Create if !sent => (error, transient, None),
                Idempotency::Create => (outcome_unknown(error), false, None),
            }
        }
    }
}

pub(super) fn outcome_unknown(e: Error) -> Error {
    match e {
        e @ Error::OutcomeUnknown { .. } => e,
        e => Error::OutcomeUnknown {
            source: Box::new(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn server_hints_in_every_form() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2"), ("retry-after-ms", "150")])),
            Some(Duration::from_millis(150))
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let d = retry_after(&headers(&[("retry-after", &later)])).unwrap();
        assert!(
            d > Duration::from_secs(85) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(90));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        for hostile in [
            "1e20",
            "1e308",
            "inf",
            "NaN",
            "-0.5",
            "99999999999999999999",
            "1e30",
        ] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", hostile)])),
                None,
                "{hostile}"
            );
            assert_eq!(
                retry_after(&headers(&[("retry-after-ms", hostile)])),
                None,
                "{hostile}"
            );
        }
        let far = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(400 * 86_400));
        assert_eq!(retry_after(&headers(&[("retry-after", &far)])), None);
    }

    #[test]
    fn hints_are_capped_and_backoff_is_bounded_full_jitter() {
        let p = RetryPolicy::standard().max_retry_after(Duration::from_secs(3));
        assert_eq!(
            p.delay(0, Some(&headers(&[("retry-after", "3600")]))),
            Duration::from_secs(3)
        );
        for attempt in 0..40 {
            let ceiling =
                (Duration::from_millis(200) * 2u32.pow(attempt.min(5))).min(Duration::from_secs(5));
            assert!(p.backoff(attempt) <= ceiling);
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(spread.len() > 40, "jitter varies");
    }
}
