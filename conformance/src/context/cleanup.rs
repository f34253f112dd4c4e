//! The clean-up ledger's rules: a scenario deletes, at its end, every token it created and did
//! not delete itself, each by the role that created it, and never an id a list showed as a
//! token this run did not create.

use super::Ctx;
use crate::checks;

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

    /// Deletes what the scenario created and did not delete itself; returns how many deletions were not confirmed (no
    /// answer, or one that is neither the success nor the unknown-id status).
    pub(crate) async fn clean_up(&mut self) -> usize {
        let pending = std::mem::take(&mut self.to_clean);
        let delete = &self.shared.api.delete;
        let mut accepted: Vec<u16> = delete.success_status().into_iter().collect();
        accepted.extend(delete.unknown_id_status);
        let mut unconfirmed = 0;
        for (role, id) in pending {
            // Only the role that created a token deletes it: never anyone else's.
            let status = self.delete(role, &id, &accepted).await;
            if !status.is_some_and(|s| accepted.contains(&s)) {
                unconfirmed += 1;
            }
        }
        unconfirmed
    }
}
