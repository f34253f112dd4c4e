//! The clean-up ledger's rules: a scenario deletes, at its end, every token it created and did
//! not delete itself, each by the role that created it, and never an id a list showed as a
//! token this run did not create.

use super::{Ctx, RawRequest};
use crate::api::OperationId;
use crate::checks;
use crate::transport::Auth;

impl<'a> Ctx<'a> {
    /// Never harm the account: a DELETE of an id a list showed as a token this run did not
    /// create (a person's, which a hostile create answer named) is not sent. The step fails.
    pub(super) fn refuses_to_delete(&mut self, id: &str) -> bool {
        if !self.shared.seen.is_foreign(id) {
            return false;
        }
        self.step_failed(&format!(
            "not deleting {id}: {}, and a list showed it as a token this run did not create",
            checks::unique::NOT_JUST_CREATED
        ));
        true
    }

    /// Deletes what the scenario created and did not delete itself, all at once (the deletes
    /// are independent, and against a remote target each is a round trip); returns how many
    /// deletions were not confirmed (no answer, or one that is neither the success nor the
    /// unknown-id status). Only the role that created a token deletes it: never anyone else's.
    pub(crate) async fn clean_up(&mut self) -> usize {
        let mut pending = std::mem::take(&mut self.to_clean);
        let before = pending.len();
        pending.retain(|(_, id)| !self.refuses_to_delete(id));
        let refused = before - pending.len();
        if pending.is_empty() {
            return refused;
        }
        let delete = &self.shared.api.delete;
        let mut accepted: Vec<u16> = delete.success_status().into_iter().collect();
        accepted.extend(delete.unknown_id_status);
        let requests: Vec<RawRequest> = pending
            .iter()
            .map(|(role, id)| RawRequest {
                kind: OperationId::DeleteMyToken,
                path: delete.path_with(id),
                auth: Auth::Role(*role),
                headers: Vec::new(),
                body: None,
                expected: accepted.clone(),
            })
            .collect();
        let answers = self.burst(&requests).await;
        refused
            + answers
                .iter()
                .filter(|a| !a.as_ref().is_some_and(|r| accepted.contains(&r.status)))
                .count()
    }
}
