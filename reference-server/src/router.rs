//! The router: each operation of the contract at its spec path under the spec's base path,
//! JSON answers for unknown routes and methods, and the middleware around them.

use crate::conditions;
use crate::contract::{Contract, Endpoint};
use crate::error::ApiError;
use crate::handlers;
use crate::state::AppState;
use crate::variant;
use abp_spec::OperationId;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use std::collections::BTreeMap;
use std::time::Instant;

async fn route_not_found() -> Response {
    ApiError::not_found("no such route").into_response()
}

fn method_not_allowed(allow: HeaderValue) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || {
        let mut r = ApiError::method_not_allowed().into_response();
        r.headers_mut().insert(header::ALLOW, allow.clone());
        std::future::ready(r)
    }
}

/// Logs method, path, status and latency; never a header value.
async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method: Method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

fn filter(endpoint: &Endpoint) -> MethodFilter {
    MethodFilter::try_from(endpoint.method.clone())
        .expect("the operations of the spec use the methods axum routes")
}

/// The endpoint and handler of an operation. The match is exhaustive: an operation added to
/// the spec (and so to `OperationId` by `cargo xtask regenerate`) must be given a handler here.
fn handler(contract: &Contract, id: OperationId) -> (&Endpoint, MethodRouter<AppState>) {
    match id {
        OperationId::ListMyTokens => (&contract.list, on(filter(&contract.list), handlers::list)),
        OperationId::CreateMyToken => (
            &contract.create,
            on(filter(&contract.create), handlers::create),
        ),
        OperationId::DeleteMyToken => (
            &contract.delete,
            on(filter(&contract.delete), handlers::delete),
        ),
    }
}

/// The API under the spec's base path, with JSON answers for unknown routes and methods.
pub fn app(state: AppState) -> Router {
    let contract = state.contract();
    let handlers = OperationId::ALL.map(|id| handler(contract, id));
    // Operations that share a path share one method router, whose `Allow` lists them all.
    let mut paths: BTreeMap<&str, (MethodRouter<AppState>, Vec<&str>)> = BTreeMap::new();
    for (endpoint, route) in handlers {
        let mut methods = vec![endpoint.method.as_str()];
        if endpoint.method == Method::GET {
            // axum answers HEAD with the GET handler.
            methods.push(Method::HEAD.as_str());
        }
        let (router, allow) = paths
            .entry(&endpoint.path)
            .or_insert_with(|| (MethodRouter::new(), Vec::new()));
        *router = std::mem::take(router).merge(route);
        allow.extend(methods);
    }
    let mut api = Router::new();
    for (path, (router, mut allow)) in paths {
        allow.sort_unstable();
        let allow = HeaderValue::from_str(&allow.join(", ")).expect("method names are ASCII");
        api = api.route(path, router.fallback(method_not_allowed(allow)));
    }
    // Layers run outermost first: log, conformant variants, finite-staging shapes (stall,
    // limit_req, fixed window, workers), rate limit, dropped answers, timeout, latency.
    use axum::middleware::from_fn_with_state as with;
    Router::new()
        .nest(&contract.base_path, api)
        .fallback(route_not_found)
        .layer(with(state.conditions(), conditions::latency))
        .layer(with(state.conditions(), conditions::timeout))
        .layer(with(state.conditions(), conditions::fail_first_creates))
        .layer(with(state.conditions(), conditions::drop_every))
        .layer(with(state.conditions(), conditions::rate_limit))
        .layer(with(state.conditions(), conditions::finite))
        .layer(with(state.variant_state(), variant::rewrite))
        .layer(axum::middleware::from_fn(log))
        .with_state(state)
}
