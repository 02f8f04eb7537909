//! `/_emulator/inbound-calls…`: phone calls arriving at imported numbers (see `calls`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::calls::{self, CallEnd};
use crate::error::ApiError;
use crate::reqlog::plausible_id;
use crate::shared::Shared;

type Shr = State<Arc<Shared>>;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/inbound-calls", post(receive))
        .route("/_emulator/inbound-calls/:id/hangup", post(hang_up))
        .route("/_emulator/inbound-calls/:id/transfer", post(transfer))
}

#[derive(Deserialize)]
struct Incoming {
    to_number: String,
    from_number: String,
    labels: Option<Map<String, Value>>,
}

async fn receive(
    State(s): Shr,
    body: Result<Json<Incoming>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(c) = body.map_err(|e| ApiError::body(e.body_text()))?;
    let call = calls::receive(&s, &c.to_number, &c.from_number, c.labels)?;
    let body = json!({"agent_id": call.agent_id, "channel": call.channel,
                      "pipeline_id": call.pipeline_id});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn end(s: &Shared, id: &str, how: CallEnd) -> Result<StatusCode, ApiError> {
    if !plausible_id(id) {
        return Err(ApiError::not_found("no such inbound call"));
    }
    calls::end(s, id, how).map(|()| StatusCode::NO_CONTENT)
}

async fn hang_up(State(s): Shr, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    end(&s, &id, CallEnd::HangUp)
}

async fn transfer(State(s): Shr, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    end(&s, &id, CallEnd::Transfer)
}
