//! The scenario API: typed calls through the generated client (create, list, delete), raw
//! requests the typed client cannot express, bursts sent at once, and requests to methods
//! the spec does not document. Each goes through the run's transport and the recording
//! pipeline.

use super::{Created, Ctx, RawRequest};
use crate::api::OperationId;
use crate::checks;
use crate::exchange::RawResponse;
use crate::roles::Role;
use crate::transport::{Auth, Sent};
use abp_tokens_client::types;

impl<'a> Ctx<'a> {
    /// Makes a typed call as `role` and records every request it sent; returns the call's
    /// result and the last response. `None` (reported) when the role has no credential.
    pub(super) async fn call<T, F, Fut>(
        &mut self,
        role: Role,
        kind: OperationId,
        expected: &[u16],
        call: F,
    ) -> Option<(T, Option<RawResponse>)>
    where
        F: FnOnce(abp_tokens_client::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let transport = self.shared.transport.clone();
        let Some((result, sent)) = transport.typed(role, call).await else {
            self.missing(role);
            return None;
        };
        let raw = self.record_typed(sent, kind, expected, role);
        Some((result, raw))
    }

    pub(super) fn missing(&mut self, role: Role) {
        self.step_failed(&format!("{} is not set", role.env_var()));
    }

    /// Creates a token through the generated client. `None` when the step failed (already
    /// reported); the scenario should stop.
    pub async fn create(&mut self, role: Role, body: &serde_json::Value) -> Option<Created> {
        let expected: Vec<u16> = self.api().create.success_status().into_iter().collect();
        let request: types::CreateUserAccessTokenRequest =
            match serde_json::from_value(body.clone()) {
                Ok(r) => r,
                Err(e) => {
                    self.step_failed(&format!(
                        "the generated client cannot express this create body: {e}"
                    ));
                    return None;
                }
            };
        let (result, raw) = self
            .call(
                role,
                OperationId::CreateMyToken,
                &expected,
                |c| async move { c.create_my_token(&request).await },
            )
            .await?;
        let received_at = chrono::Utc::now();
        let token = match result {
            Ok(v) => v.into_inner(),
            Err(e) => {
                if let Some(r) = raw {
                    let why = crate::exchange::describe_client_error(&e, &self.shared.redactor);
                    self.step_failed(&format!("create answered {}: {why}", r.status));
                }
                return None;
            }
        };
        let created = Created {
            id: token.id.clone(),
            secret: token.token.to_string(),
            token,
            received_at,
        };
        let unique = self
            .shared
            .seen
            .check_new(created.id.as_str(), &created.secret);
        self.check(checks::IDS_AND_SECRETS_UNIQUE, unique);
        Some(created)
    }

    /// Lists the role's tokens through the generated client. Falls back to the raw body's
    /// items when the typed client cannot decode it (the schema check reports why).
    pub async fn list(&mut self, role: Role) -> Option<Vec<serde_json::Value>> {
        let expected: Vec<u16> = self.api().list.success_status().into_iter().collect();
        let (result, raw) = self
            .call(role, OperationId::ListMyTokens, &expected, |c| async move {
                c.list_my_tokens().await
            })
            .await?;
        let raw = raw?;
        let items = Some(&raw)
            .filter(|r| (200..300).contains(&r.status))
            .and_then(RawResponse::json)
            .and_then(|v| match v {
                serde_json::Value::Array(items) => Some(items),
                _ => None,
            });
        if items.is_none() {
            let why = match result {
                Ok(_) => "the list body is not a JSON array".to_owned(),
                Err(e) => crate::exchange::describe_client_error(&e, &self.shared.redactor),
            };
            self.step_failed(&format!("list answered {}: {why}", raw.status));
        }
        items
    }

    /// The ids in the role's list that this scenario answers for: tokens named with the
    /// scenario's prefix, and tokens a response of this scenario said it created. Other
    /// tokens are ignored, so a shared staging account, a concurrent scenario or a second
    /// run at the same time cannot cause false alarms.
    pub async fn list_ids(&mut self, role: Role) -> Option<Vec<String>> {
        let items = self.list(role).await?;
        Some(
            items
                .iter()
                .filter_map(|item| {
                    let id = self.shared.api.fields.id_of(item)?;
                    let named_ours = self
                        .shared
                        .api
                        .fields
                        .name_of(item)
                        .is_some_and(|n| n.starts_with(self.prefix.as_str()));
                    let created_here = self.to_clean.iter().any(|(_, i)| i == id);
                    (named_ours || created_here).then(|| id.to_owned())
                })
                .collect(),
        )
    }

    /// Deletes through the generated client; returns the status (or `None` on no response).
    pub async fn delete(&mut self, role: Role, id: &str, expected: &[u16]) -> Option<u16> {
        if self.refuses_to_delete(id) {
            return None;
        }
        let Ok(typed_id) = id.parse::<types::ObjectId>() else {
            self.step_failed(&format!("`{id}` is not an id the generated client accepts"));
            return None;
        };
        let (_, raw) = self
            .call(role, OperationId::DeleteMyToken, expected, |c| async move {
                c.delete_my_token(&typed_id).await
            })
            .await?;
        let raw = raw?;
        if (200..300).contains(&raw.status) {
            self.to_clean.retain(|(_, i)| i != id);
        } else if Some(raw.status) == self.api().delete.unknown_id_status {
            // The owner is told the token does not exist (say a retried DELETE whose first
            // attempt went through): nothing is left to clean up. Another user's 404 says
            // nothing about whether the token exists.
            self.to_clean.retain(|(r, i)| !(i == id && *r == role));
        }
        Some(raw.status)
    }

    /// Sends a request the typed client cannot express (a bad body, a bad credential, a
    /// secret in the access-token header). `path` is relative to the base URL.
    pub async fn raw(
        &mut self,
        kind: OperationId,
        path: &str,
        auth: Auth,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        expected: &[u16],
    ) -> Option<RawResponse> {
        if kind == OperationId::DeleteMyToken
            && self.refuses_to_delete(path.rsplit('/').next().unwrap_or(""))
        {
            return None;
        }
        let op = self.shared.api.operation(kind);
        let transport = self.shared.transport.clone();
        let sent = match transport
            .raw(&op.method, path, &auth, headers, body.clone(), &op.id)
            .await
        {
            Ok(s) => s,
            Err(why) => {
                self.step_failed(&why);
                return None;
            }
        };
        let sent = self
            .create_again_if_unanswered(sent, kind, path, &auth, headers, body)
            .await?;
        let index = self.exchanges;
        let mut response = self.settle_raw(sent, kind, path, &auth, expected)?;
        // The scenario is told what the snapshot records: the lost attempt's success (the
        // retry's status is reported with the exchange), so that a dropped answer does not
        // turn its next steps into "the delete failed".
        if self.lost_first.contains(&index) {
            self.as_success(kind, &mut response);
        }
        Some(response)
    }

    /// A create is sent once, so one that got no answer while the target answered others is
    /// no evidence yet: its input may hang the server, or the moment was slow. The caller's
    /// list says which: a token of that name means it was stored (slowly; the scenario gets no
    /// verdict); none means it is sent once more, the first attempt kept as a retry, so that
    /// a second silence names the input (`answers_every_input`, see [`Sent::hung`]).
    async fn create_again_if_unanswered(
        &mut self,
        sent: Sent,
        kind: OperationId,
        path: &str,
        auth: &Auth,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Option<Sent> {
        let evidence = sent
            .unanswered
            .is_some_and(|others| others >= crate::transport::HANG_EVIDENCE);
        let (Some(role), Some(bytes)) = (auth.owner(), body.as_ref()) else {
            return Some(sent);
        };
        let name = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|b| self.shared.api.fields.name_of(&b).map(str::to_owned));
        let Some(name) = name
            .filter(|_| kind == OperationId::CreateMyToken && evidence && sent.retries.is_empty())
        else {
            return Some(sent);
        };
        let listed = self.list(role).await?;
        let fields = &self.shared.api.fields;
        if listed
            .iter()
            .any(|t| fields.name_of(t) == Some(name.as_str()))
        {
            return Some(sent);
        }
        let op = self.shared.api.operation(kind);
        let transport = self.shared.transport.clone();
        let mut again = match transport
            .raw(&op.method, path, auth, headers, body, &op.id)
            .await
        {
            Ok(s) => s,
            Err(why) => {
                self.step_failed(&why);
                return None;
            }
        };
        again.retries.insert(
            0,
            crate::transport::Retry {
                attempt: sent.exchange,
                reason: "no answer within --timeout while the target answered others, and nothing stored (listed): sent once more".into(),
                wait: std::time::Duration::ZERO,
            },
        );
        if let (Some(first), Some(second)) = (sent.unanswered, again.unanswered) {
            again.unanswered = Some(first + second);
        }
        Some(again)
    }

    /// Records a raw request's exchange like [`Ctx::raw`] does.
    pub(super) fn settle_raw(
        &mut self,
        sent: Sent,
        kind: OperationId,
        path: &str,
        auth: &Auth,
        expected: &[u16],
    ) -> Option<RawResponse> {
        let index = self.exchanges;
        let response = self.record(sent, kind, expected, auth.owner());
        // A raw DELETE that succeeded leaves nothing for the clean-up to delete (nor does one
        // whose lost first attempt did the deletion).
        if kind == OperationId::DeleteMyToken
            && response
                .as_ref()
                .is_some_and(|r| (200..300).contains(&r.status) || self.lost_first.contains(&index))
        {
            let last = path.rsplit('/').next().unwrap_or_default();
            self.to_clean.retain(|(_, id)| id != last);
        }
        response
    }

    /// Sends the requests at the same time (a burst: parallel creates, racing deletes of one
    /// token) and then records them by status, then in the order given: which of several
    /// racing deletes wins is the server's choice, and the report must not depend on it.
    /// Returns one answer per request, in the order given.
    pub async fn burst(&mut self, requests: &[RawRequest]) -> Vec<Option<RawResponse>> {
        let foreign = requests.iter().find(|r| {
            r.kind == OperationId::DeleteMyToken
                && self
                    .shared
                    .seen
                    .is_foreign(r.path.rsplit('/').next().unwrap_or(""))
        });
        if let Some(r) = foreign {
            let id = r.path.rsplit('/').next().unwrap_or("").to_owned();
            self.refuses_to_delete(&id);
            return vec![None; requests.len()];
        }
        let shared = self.shared;
        let sends = requests.iter().map(|r| {
            let op = shared.api.operation(r.kind);
            let headers: Vec<(&str, String)> =
                r.headers.iter().map(|(k, v)| (*k, v.clone())).collect();
            let transport = shared.transport.clone();
            let body = r.body.clone();
            async move {
                transport
                    .raw(&op.method, &r.path, &r.auth, &headers, body, &op.id)
                    .await
            }
        });
        let transport = shared.transport.clone();
        let slot = transport.burst_slot(requests.len()).await;
        let sent = crate::transport::IN_BURST
            .scope(true, futures_util::future::join_all(sends))
            .await;
        drop(slot);
        let mut order: Vec<usize> = (0..sent.len()).collect();
        order.sort_by_key(|i| match &sent[*i] {
            Ok(s) => s.exchange.response.as_ref().map_or(0, |r| r.status),
            Err(_) => 0,
        });
        let mut sent: Vec<Option<Result<Sent, String>>> = sent.into_iter().map(Some).collect();
        let mut out = vec![None; requests.len()];
        for i in order {
            let r = &requests[i];
            out[i] = match sent[i].take() {
                Some(Ok(sent)) => self.settle_raw(sent, r.kind, &r.path, &r.auth, &r.expected),
                Some(Err(why)) => {
                    self.step_failed(&why);
                    None
                }
                None => None,
            };
        }
        out
    }

    /// Sends a request the spec does not document (say a method a path does not have). Its
    /// exchange is reported, but the response checks, which judge documented operations, do
    /// not run; the scenario judges the answer. `kind` names the operation whose path it is.
    pub async fn undocumented(
        &mut self,
        kind: OperationId,
        method: &str,
        path: &str,
        auth: Auth,
    ) -> Option<RawResponse> {
        let op = self.shared.api.operation(kind);
        let transport = self.shared.transport.clone();
        let sent = match transport.raw(method, path, &auth, &[], None, &op.id).await {
            Ok(s) => s,
            Err(why) => {
                self.step_failed(&why);
                return None;
            }
        };
        self.emit_retries(&sent, &op.id);
        let raw = sent.exchange;
        let index = self.exchanges;
        self.exchanges += 1;
        self.tally.stats.requests += 1 + sent.retries.len();
        self.emit_exchange(&raw, index, &op.id);
        if let Some(why) = &sent.gave_up {
            self.unserved(why);
            return None;
        }
        match raw.response {
            Ok(r) => Some(r),
            Err(e) => {
                self.step_failed(&format!(
                    "{method} {path} got no response: {}",
                    self.shared.redactor.apply(&e.message)
                ));
                None
            }
        }
    }
}
