//! When and how long to wait before trying a request again.
//!
//! Modelled on the official OpenAI SDK (openai/openai-python, src/openai/_base_client.py,
//! `_parse_retry_after_header`, `_calculate_retry_timeout`, `_should_retry`; constants in
//! src/openai/_constants.py): 2 retries by default, exponential backoff from 0.5 s capped at
//! 8 s with up to 25 % jitter, a server's `retry-after-ms` / `Retry-After` (seconds or HTTP
//! date) honoured up to 120 s, and no retry when the server asks for longer than that.

use std::time::{Duration, SystemTime};

/// Retry settings of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each time.
    pub initial_delay: Duration,
    /// Cap on the computed backoff.
    pub max_delay: Duration,
    /// A server-requested delay longer than this is not waited for: the error is returned.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based), or `None` when no retry should happen.
    /// `retry_after` is what the server asked for, if anything.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        match retry_after {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) if !asked.is_zero() => Some(asked),
            _ => {
                let backoff = self.initial_delay.saturating_mul(1u32 << retry.min(16)).min(self.max_delay);
                // Jitter: 75 %..100 % of the backoff, as the OpenAI SDK does.
                Some(backoff.mul_f64(1.0 - 0.25 * fastrand::f64()))
            }
        }
    }
}

/// The delay a response asks for: `retry-after-ms` (milliseconds, non-standard but sent by
/// OpenAI), else `Retry-After` as seconds (fractions allowed) or as an HTTP date.
pub fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(&headers(&[("retry-after", "2")])), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&headers(&[("retry-after", "0.5")])), Some(Duration::from_millis(500)));
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "9")])),
            Some(Duration::from_millis(250))
        );
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let d = retry_after(&headers(&[("retry-after", &future)])).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28), "{d:?}");
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_and_stops() {
        let p = RetryPolicy { max_retries: 3, ..Default::default() };
        let first = p.delay(0, None).unwrap();
        assert!(first <= Duration::from_millis(500) && first >= Duration::from_millis(375));
        let third = p.delay(2, None).unwrap();
        assert!(third <= Duration::from_secs(2) && third >= Duration::from_millis(1500));
        assert_eq!(p.delay(3, None), None);
        assert_eq!(p.delay(0, Some(Duration::from_secs(7))), Some(Duration::from_secs(7)));
        assert_eq!(p.delay(0, Some(Duration::from_secs(600))), None);
    }
}
