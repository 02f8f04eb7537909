//! `/v2/phone-numbers…`: imported phone numbers are added, listed, read, updated and
//! deleted.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::common::{json, ApiResult, Shr};
use super::extract::Body;
use crate::error::ApiError;
use crate::shared::Shared;
use crate::validate::{self, opt, opt_bool, opt_str, req_obj, req_str};

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/phone-numbers", get(list_numbers).post(add_number))
        .route(
            "/v2/phone-numbers/:number",
            get(get_number).patch(update_number).delete(delete_number),
        )
}

async fn list_numbers(State(s): Shr) -> ApiResult {
    let st = s.store();
    json(Value::Array(
        st.numbers.values().cloned().map(Value::Object).collect(),
    ))
}

async fn add_number(State(s): Shr, Body(body): Body) -> ApiResult {
    let body = validate::parse_object(&body, false)?;
    let provider = req_str(&body, "provider", "")?;
    if provider != "byo" && provider != "twilio" {
        return Err(ApiError::invalid("provider", "must be byo or twilio"));
    }
    let number = req_str(&body, "phone_number", "")?;
    validate::check_e164(number, "phone_number")?;
    let label = req_str(&body, "label", "")?;
    let inbound = opt_bool(&body, "inbound", "")?.unwrap_or(false);
    let outbound = opt_bool(&body, "outbound", "")?.unwrap_or(false);
    let inbound_config = req_obj(&body, "inbound_config", "")?;
    if let Some(a) = opt(inbound_config, "allowed_addresses") {
        if !a.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err(ApiError::invalid(
                "inbound_config.allowed_addresses",
                "must be an array of strings",
            ));
        }
    }
    let outbound_config = req_obj(&body, "outbound_config", "")?;
    for key in ["address", "transport", "prefix"] {
        opt_str(outbound_config, key, "outbound_config")?;
    }
    let mut st = s.store();
    if st.numbers.contains_key(number) {
        return Err(ApiError::conflict(format!(
            "{number} is already configured"
        )));
    }
    let mut record = Map::new();
    for (k, v) in [
        ("provider", json!(provider)),
        ("phone_number", json!(number)),
        ("label", json!(label)),
        ("inbound", json!(inbound)),
        ("outbound", json!(outbound)),
        ("associated_pipeline", Value::Null),
        ("inbound_config", Value::Object(inbound_config.clone())),
        ("outbound_config", Value::Object(outbound_config.clone())),
    ] {
        record.insert(k.into(), v);
    }
    st.numbers.insert(number.to_owned(), record);
    let created = json!({"phone_number": number, "label": label, "provider": provider,
                         "inbound": inbound, "outbound": outbound, "associated_pipeline": null});
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn number_not_found(number: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("phone number {number} not found"),
    )
}

async fn get_number(State(s): Shr, Path(number): Path<String>) -> ApiResult {
    let st = s.store();
    let n = st
        .numbers
        .get(&number)
        .ok_or_else(|| number_not_found(&number))?;
    json(Value::Object(n.clone()))
}

async fn update_number(State(s): Shr, Path(number): Path<String>, Body(body): Body) -> ApiResult {
    let body = validate::parse_object(&body, true)?;
    let mut changes = Vec::new();
    for key in ["inbound_config", "outbound_config"] {
        match body.get(key) {
            None => {}
            Some(Value::Null) => changes.push((key, Value::Null)),
            Some(Value::Object(o)) => {
                opt_str(o, "pipeline_id", key)?;
                changes.push((key, Value::Object(o.clone())));
            }
            Some(_) => return Err(ApiError::invalid(key, "must be an object or null")),
        }
    }
    let mut st = s.store();
    let n = st
        .numbers
        .get_mut(&number)
        .ok_or_else(|| number_not_found(&number))?;
    for (key, value) in changes {
        let pipeline = value
            .get("pipeline_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        n.insert(key.into(), value);
        if let Some(p) = pipeline {
            n.insert(
                "associated_pipeline".into(),
                json!({"pipeline_id": p, "pipeline_name": format!("pipeline {p}")}),
            );
        }
    }
    let none_left = ["inbound_config", "outbound_config"]
        .iter()
        .all(|k| n.get(*k).is_none_or(|v| v.get("pipeline_id").is_none()));
    if none_left {
        n.insert("associated_pipeline".into(), Value::Null);
    }
    json(Value::Object(n.clone()))
}

async fn delete_number(State(s): Shr, Path(number): Path<String>) -> ApiResult {
    let mut st = s.store();
    st.numbers
        .remove(&number)
        .ok_or_else(|| number_not_found(&number))?;
    Ok(StatusCode::OK.into_response())
}
