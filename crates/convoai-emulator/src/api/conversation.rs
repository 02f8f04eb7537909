//! `/agents/{id}/speak`, `/interrupt`, `/think` and `/turns`: what a running agent says and
//! hears.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;

use super::common::{json, ApiResult, Shr};
use super::extract::{Body, Params};
use crate::error::ApiError;
use crate::shared::Shared;
use crate::turns::MAX_PAGE_SIZE;
use crate::validate::{self, opt_bool, opt_obj, opt_str, req_str};

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/projects/:appid/agents/:id/speak", post(speak))
        .route("/v2/projects/:appid/agents/:id/interrupt", post(interrupt))
        .route("/v2/projects/:appid/agents/:id/think", post(think))
        .route("/v2/projects/:appid/agents/:id/turns", get(turns))
}

async fn speak(
    State(s): Shr,
    Path((appid, id)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, false)?;
    let speak = validate::speak_body(&body)?;
    let now_ms = s.clock.now_ms();
    json(s.store().speak(&id, &speak, now_ms)?)
}

async fn interrupt(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let now_ms = s.clock.now_ms();
    json(s.store().interrupt(&id, now_ms)?)
}

async fn think(
    State(s): Shr,
    Path((appid, id)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, false)?;
    let text = req_str(&body, "text", "")?;
    for (key, allowed) in [
        (
            "on_listening_action",
            &["inject", "interrupt", "ignore", "append"][..],
        ),
        ("on_thinking_action", &["interrupt", "ignore", "append"][..]),
        ("on_speaking_action", &["interrupt", "ignore", "append"][..]),
    ] {
        if let Some(v) = opt_str(&body, key, "")? {
            if !allowed.contains(&v) {
                return Err(ApiError::invalid(
                    key,
                    format!("must be one of {allowed:?}"),
                ));
            }
        }
    }
    opt_bool(&body, "interruptable", "")?;
    opt_obj(&body, "metadata", "")?;
    let ignore = opt_str(&body, "on_speaking_action", "")? == Some("ignore");
    let now_ms = s.clock.now_ms();
    json(s.store().think(&id, text, ignore, now_ms)?)
}

async fn turns(State(s): Shr, Path((appid, id)): Path<(String, String)>, q: Params) -> ApiResult {
    s.project(&appid)?;
    let page_index = match q.uint("page_index")? {
        None => 1,
        Some(0) => return Err(ApiError::invalid("page_index", "starts at 1")),
        Some(n) => n,
    };
    let page_size = match q.uint("page_size")? {
        None => 20,
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "page_size",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ))
        }
    };
    let now_ms = s.clock.now_ms();
    json(s.store().turns_page(&id, page_index, page_size, now_ms)?)
}
