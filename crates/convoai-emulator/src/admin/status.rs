//! `/_emulator/agents/{id}/recovering` and `/recover`: move an agent to `RECOVERING` and
//! back to `RUNNING` (with a `101`), for clients that wait until their agent is ready.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::shared::Shared;

type JsonObject = Result<Json<Map<String, Value>>, axum::extract::rejection::JsonRejection>;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/agents/:id/recovering", post(recovering))
        .route("/_emulator/agents/:id/recover", post(recover))
}

/// Requires a JSON object body (`{}`), like the dashboard's other buttons, so a cross-site
/// form cannot trigger it.
fn object(body: JsonObject) -> Result<(), ApiError> {
    body.map(|_| ()).map_err(|e| ApiError::body(e.body_text()))
}

async fn recovering(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    object(body)?;
    if crate::readiness::recovering(&s, &id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "agent {id} is not starting or running"
        )))
    }
}

async fn recover(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    object(body)?;
    if crate::readiness::recover(&s, &id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("agent {id} is not recovering")))
    }
}
