//! What a verified notice does: one function, so that what "accepted" means stays in one
//! place while the HTTP side (`webhooks.rs`) stays the same.

use shengwang_agent::webhooks::Notification;

use super::routes::ApiError;
use super::state::AppState;

impl AppState {
    /// Accepts a verified notice (`body` is its raw, signed bytes): the fleet records it for
    /// the process owning its session (durably, with Redis) and applies it there (agent left,
    /// agent error, token renewal, turn metrics); applying twice is a no-op. An error answers
    /// 503, so the service resends the notice.
    pub async fn accept_notice(&self, body: &[u8], n: &Notification) -> Result<(), ApiError> {
        self.fleet()
            .record_notice(body, n)
            .await
            .map_err(|e| ApiError::unavailable(&crate::output::clean(&e.to_string())))
    }
}
