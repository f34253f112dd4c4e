//! The model suite's vocabulary: who sends a request ([`Caller`]), which token a delete names
//! ([`Target`]), one operation ([`Op`]) and one step ([`Step`]: operations sent at the same
//! time). Tokens are named by slot, the position of the create that made them in the lane.

use crate::roles::Role;
use std::collections::BTreeSet;

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// `Authorization: Bearer` with the role's credential.
    Bearer(Role),
    /// The secret of the lane's token in this slot, in the access-token header.
    Secret(usize),
}

/// Which token a delete names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The token the lane created in this slot (live or deleted by then).
    Slot(usize),
    /// A well-formed id nobody created.
    Unknown(String),
}

/// One operation. A create names the slot its token takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        by: Caller,
        slot: usize,
        /// Index into the spec's lifetimes.
        lifetime: usize,
        /// `None`: the optional field is left out.
        privileges: Option<Vec<String>>,
    },
    List {
        by: Caller,
    },
    Delete {
        by: Caller,
        target: Target,
    },
    /// The same delete sent this many times at once by the token's owner: exactly one may
    /// succeed.
    Race {
        slot: usize,
        copies: usize,
    },
}

/// Operations sent at the same time. The generator only groups operations whose answers do
/// not depend on each other's order (writes to distinct tokens, lists with no write beside
/// them), so the reference model predicts each from the state before the step.
pub type Step = Vec<Op>;

impl Op {
    /// The slot this operation creates.
    pub fn creates(&self) -> Option<usize> {
        match self {
            Op::Create { slot, .. } => Some(*slot),
            _ => None,
        }
    }

    /// Slots this operation needs to exist.
    pub fn uses(&self) -> Vec<usize> {
        let caller = |c: &Caller| match c {
            Caller::Secret(s) => vec![*s],
            Caller::Bearer(_) => Vec::new(),
        };
        match self {
            Op::Create { by, .. } | Op::List { by } => caller(by),
            Op::Delete { by, target } => {
                let mut v = caller(by);
                if let Target::Slot(s) = target {
                    v.push(*s);
                }
                v
            }
            Op::Race { slot, .. } => vec![*slot],
        }
    }

    /// Requests this operation sends.
    pub fn requests(&self) -> usize {
        match self {
            Op::Race { copies, .. } => *copies,
            _ => 1,
        }
    }
}

/// Every operation's position, (step, index in the step), in order.
pub fn positions(steps: &[Step]) -> Vec<(usize, usize)> {
    steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| (0..s.len()).map(move |j| (i, j)))
        .collect()
}

/// The sequence without the operations at `drop`, and without every later operation that
/// needs a token one of them created. Slots keep their numbers; emptied steps go.
pub fn without(steps: &[Step], drop: &BTreeSet<(usize, usize)>) -> Vec<Step> {
    let mut gone: BTreeSet<usize> = BTreeSet::new();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mut kept = Vec::new();
        for (j, op) in step.iter().enumerate() {
            if drop.contains(&(i, j)) || op.uses().iter().any(|s| gone.contains(s)) {
                gone.extend(op.creates());
                continue;
            }
            kept.push(op.clone());
        }
        if !kept.is_empty() {
            out.push(kept);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_a_create_drops_the_operations_that_need_its_token() {
        let steps = vec![
            vec![Op::Create {
                by: Caller::Bearer(Role::User),
                slot: 0,
                lifetime: 0,
                privileges: None,
            }],
            vec![
                Op::List {
                    by: Caller::Secret(0),
                },
                Op::List {
                    by: Caller::Bearer(Role::User),
                },
            ],
            vec![Op::Delete {
                by: Caller::Bearer(Role::User),
                target: Target::Slot(0),
            }],
        ];
        let rest = without(&steps, &BTreeSet::from([(0, 0)]));
        assert_eq!(rest, vec![vec![steps[1][1].clone()]]);
    }
}
