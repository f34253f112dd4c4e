//! The one reference model of the model suite: which lane token (by slot) is owned by whom
//! and whether it is live; what every operation must answer ([`State::expect`]); how it
//! changes the state ([`State::apply`]). The generator picks its operations from it, the judge
//! predicts each answer with it, the shrinker replays shortened sequences through it, and the
//! replay script names owners from it: one simulation, so they cannot drift apart.
//!
//! Answers are abstract ([`Expect`]); the judge maps them to the spec's statuses.

use super::ops::{Caller, Op, Target};
use crate::roles::Role;
use std::collections::BTreeMap;

/// What an operation must answer, before the spec turns it into a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The operation's documented success.
    Ok,
    /// The credential does not authenticate (missing, expired, a deleted token's secret).
    Unauthorized,
    /// The credential authenticates but may not manage tokens.
    Forbidden,
    /// The token does not exist for this caller (deleted, another user's, never created).
    UnknownId,
}

/// A token the lane created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub owner: Role,
    pub live: bool,
}

/// The lane's tokens: created ones by slot. A create the model expects refused takes no slot
/// entry, so nothing later names its token.
#[derive(Debug, Clone, Default)]
pub struct State {
    slots: BTreeMap<usize, Slot>,
}

impl State {
    pub fn slot(&self, slot: usize) -> Option<Slot> {
        self.slots.get(&slot).copied()
    }

    /// The next free slot number.
    pub fn next_slot(&self, reserved: usize) -> usize {
        reserved.max(self.slots.keys().next_back().map_or(0, |s| s + 1))
    }

    /// Live tokens, oldest first, with their owners.
    pub fn live(&self) -> Vec<(usize, Role)> {
        self.slots
            .iter()
            .filter(|(_, t)| t.live)
            .map(|(s, t)| (*s, t.owner))
            .collect()
    }

    /// Live tokens of `owner`, oldest first.
    pub fn live_of(&self, owner: Role) -> Vec<usize> {
        self.live()
            .into_iter()
            .filter(|(_, o)| *o == owner)
            .map(|(s, _)| s)
            .collect()
    }

    /// Deleted tokens, oldest first.
    pub fn deleted(&self) -> Vec<usize> {
        self.slots
            .iter()
            .filter(|(_, t)| !t.live)
            .map(|(s, _)| *s)
            .collect()
    }

    /// Who the caller authenticates as, or what refuses them.
    pub fn identity(&self, by: Caller) -> Result<Role, Expect> {
        match by {
            Caller::Bearer(r @ (Role::User | Role::OtherUser)) => Ok(r),
            Caller::Bearer(Role::Forbidden) => Err(Expect::Forbidden),
            Caller::Bearer(Role::Expired) => Err(Expect::Unauthorized),
            Caller::Secret(s) => match self.slots.get(&s) {
                Some(t) if t.live => Ok(t.owner),
                _ => Err(Expect::Unauthorized),
            },
        }
    }

    /// What `op` must answer in this state. A race answers it for its first copy; the others
    /// must find the token gone.
    pub fn expect(&self, op: &Op) -> Expect {
        match op {
            Op::Create { by, .. } | Op::List { by } => {
                self.identity(*by).map_or_else(|e| e, |_| Expect::Ok)
            }
            Op::Delete { by, target } => match (self.identity(*by), target) {
                (Err(e), _) => e,
                (Ok(who), Target::Slot(s))
                    if self.slot(*s)
                        == Some(Slot {
                            owner: who,
                            live: true,
                        }) =>
                {
                    Expect::Ok
                }
                _ => Expect::UnknownId,
            },
            Op::Race { slot, .. } => match self.slot(*slot) {
                Some(t) if t.live => Expect::Ok,
                _ => Expect::UnknownId,
            },
        }
    }

    /// The user whose list the operation changes, if it succeeds.
    pub fn changes(&self, op: &Op) -> Option<Role> {
        if self.expect(op) != Expect::Ok {
            return None;
        }
        match op {
            Op::Create { by, .. } => self.identity(*by).ok(),
            Op::Delete {
                target: Target::Slot(s),
                ..
            }
            | Op::Race { slot: s, .. } => self.slot(*s).map(|t| t.owner),
            Op::List { .. } | Op::Delete { .. } => None,
        }
    }

    /// Advances the state by `op`, answered as [`State::expect`] says.
    pub fn apply(&mut self, op: &Op) {
        let expect = self.expect(op);
        match op {
            Op::Create { by, slot, .. } => {
                if let (Expect::Ok, Ok(owner)) = (expect, self.identity(*by)) {
                    self.slots.insert(*slot, Slot { owner, live: true });
                }
            }
            Op::Delete {
                target: Target::Slot(s),
                ..
            }
            | Op::Race { slot: s, .. } => {
                if expect == Expect::Ok
                    && let Some(t) = self.slots.get_mut(s)
                {
                    t.live = false;
                }
            }
            Op::List { .. } | Op::Delete { .. } => {}
        }
    }

    /// Advances the state by every operation of a step (each predicted from the state
    /// before it: the step's operations are independent).
    pub fn apply_step(&mut self, step: &[Op]) {
        let before = self.clone();
        for op in step {
            let mut one = before.clone();
            one.apply(op);
            for (s, t) in one.slots {
                if before.slots.get(&s) != Some(&t) {
                    self.slots.insert(s, t);
                }
            }
        }
    }
}
