//! The ConvoAI REST routes, one module per resource, behind the project's auth.

use std::sync::Arc;

use axum::middleware;
use axum::Router;

use crate::shared::Shared;

mod agents;
mod auth;
mod calls;
mod common;
mod conversation;
pub(crate) mod extract;
mod phone_numbers;

/// The paths the REST routes are served under: the global and the CN area.
pub(crate) const PREFIXES: [&str; 2] = [
    "/api/conversational-ai-agent",
    "/cn/api/conversational-ai-agent",
];

/// The REST routes under both prefixes.
pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let routes = Router::new()
        .merge(agents::router())
        .merge(conversation::router())
        .merge(calls::router())
        .merge(phone_numbers::router())
        .route_layer(middleware::from_fn_with_state(shared, auth::authenticate));
    let mut app = Router::new();
    for prefix in PREFIXES {
        app = app.nest(prefix, routes.clone());
    }
    app
}
