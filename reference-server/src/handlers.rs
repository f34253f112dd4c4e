//! The three operations. Each runs authentication, then the privilege check, then validation,
//! then its effect, in that order, and reads every status, format and limit from the contract
//! and the behaviour.

use crate::answers::{TokenJson, json_response};
use crate::decode::{create_request, read_body, token_id};
use crate::error::{ApiError, Refusal};
use crate::state::AppState;
use crate::store::TokenRecord;
use crate::tokens::{now_ms, object_id, sha256_hex};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::Utc;

/// An answer either way: handlers stop early with `?` and the refusal's answer.
type Answer = Result<Response, Refusal>;

/// Lists the caller's tokens that have not expired, oldest first, secrets masked.
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = state.authorize(&headers).await?;
    let records = state.store(move |s| s.list(Some(&user.id))).await?;
    let behaviour = state.behaviour();
    let now = Utc::now();
    let items: Vec<TokenJson<'_>> = records
        .iter()
        .filter(|r| r.expires_on > now)
        .map(|r| behaviour.token_json(r, &r.masked))
        .collect();
    Ok(json_response(StatusCode::OK, &items))
}

/// Creates a token; the answer is the only place its secret is ever shown.
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Answer {
    let user = state.authorize(&headers).await?;
    let (contract, behaviour) = (state.contract(), state.behaviour());
    let bytes = read_body(behaviour.body_limit, &headers, request.into_body()).await?;
    let req = create_request(contract, behaviour, &headers, &bytes)?;
    let property = &contract.spec.lifetime_property;
    let lifetime = contract.spec.lifetime(&req.lifetime).ok_or_else(|| {
        ApiError::bad_request(Some(property), format!("{property}: unknown lifetime"))
    })?;
    let duration = behaviour
        .fixed_lifetime
        .as_ref()
        .unwrap_or(lifetime)
        .duration;
    let mut secret = behaviour.secrets.secret(&user.id);
    let now = now_ms();
    let mut record = TokenRecord {
        id: object_id(now),
        name: req.name,
        hash: sha256_hex(&secret),
        masked: (behaviour.mask)(&secret),
        privileges: if behaviour.keep_privileges {
            req.privileges
        } else {
            Vec::new()
        },
        user_id: user.id.clone(),
        organization_id: user.organization.clone(),
        created_at: now,
        updated_at: now,
        expires_on: now + duration,
    };
    if !behaviour.takes.is_empty()
        && let Ok(serde_json::Value::Object(body)) = serde_json::from_slice(&bytes)
    {
        crate::taken::apply(
            &behaviour.takes,
            &contract.spec.fields,
            &body,
            &mut record,
            &mut secret,
        );
        record.hash = sha256_hex(&secret);
        record.masked = (behaviour.mask)(&secret);
    }
    if behaviour.secret_match != crate::behaviour::SecretMatch::Exact {
        behaviour
            .plain_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(secret.clone());
    }
    let stored = record.clone();
    state.store(move |s| s.insert(&stored)).await?;
    Ok(json_response(
        behaviour.create_status,
        &behaviour.token_json(&record, &secret),
    ))
}

/// Deletes one of the caller's tokens; an id that names none of them changes nothing.
pub(crate) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let user = state.authorize(&headers).await?;
    let (contract, behaviour) = (state.contract(), state.behaviour());
    let id = token_id(contract, behaviour, id)?;
    // `Authorization` wins when both schemes are sent (auth.rs), so without it the caller
    // authenticated with the access-token header.
    let by_api_key = !headers.contains_key(header::AUTHORIZATION);
    let owner = (behaviour.api_key_delete_checks_owner || !by_api_key).then_some(user.id);
    let deleted = state
        .store(move |s| s.delete(&id, owner.as_deref()))
        .await?;
    Ok(if deleted {
        behaviour.deleted(contract)
    } else {
        behaviour.unknown_id(contract)
    })
}
