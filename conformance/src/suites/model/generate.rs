//! The generator: a lane's sequence of steps from (seed, lane) alone, so `--seed N
//! --model-lane K` sends the same requests again.
//!
//! Coverage does not depend on luck. Every lane runs a skeleton whose details (lifetimes,
//! privileges, which token, how many copies) the seed chooses: creates of every kind at once
//! (both users, several lifetimes), each operation by each role and scheme (bearer, a live
//! token's secret, a deleted token's secret, the forbidden and expired credentials) on live,
//! deleted, another user's and unknown tokens, a delete of the user's oldest token while newer
//! ones live (what a stale index gets wrong), a race of copies of one delete, and a list right
//! after each kind of write; it ends by deleting everything it holds and listing again. The
//! first lane also grows one user's live tokens past a page (more than
//! [`VOLUME`]) before a list. The rest of the lane's budget is random steps.

use super::ops::{Caller, Op, Step, Target};
use super::reference::State;
use crate::roles::Role;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

/// One user's live tokens the first lane holds at one list: more than a typical page (20).
pub const VOLUME: usize = 25;

/// The most creates of one step.
pub const MAX_BURST: usize = 8;

/// The most copies of one raced delete.
const MAX_COPIES: usize = 5;

/// Steps of a lane's skeleton (the first lane's adds its growth and a list).
pub const SKELETON_STEPS: usize = 12;

/// What the environment and the spec let a sequence do.
#[derive(Debug, Clone)]
pub struct Env {
    /// Users who may manage tokens: the owner, and the other user when set.
    pub users: Vec<Role>,
    pub forbidden: bool,
    pub expired: bool,
    pub lifetimes: usize,
    /// Privilege lists to create with, from the spec's examples; `None` leaves the field out.
    pub privileges: Vec<Option<Vec<String>>>,
}

/// A lane's random source: a pure function of the seed and the lane.
fn rng(seed: u64, lane: usize) -> StdRng {
    let mixed = seed ^ (lane as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    StdRng::seed_from_u64(mixed)
}

struct Builder<'e> {
    env: &'e Env,
    rng: StdRng,
    state: State,
    steps: Vec<Step>,
    /// The next slot a create takes (refused creates take one too).
    slot: usize,
    user: Role,
    other: Option<Role>,
}

impl Builder<'_> {
    fn push(&mut self, step: Step) {
        if step.is_empty() {
            return;
        }
        self.state.apply_step(&step);
        self.steps.push(step);
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.rng.random_range(0..items.len())])
    }

    fn create(&mut self, by: Caller) -> Op {
        let slot = self.slot;
        self.slot += 1;
        let lifetime = self.rng.random_range(0..self.env.lifetimes.max(1));
        let p = self.rng.random_range(0..self.env.privileges.len().max(1));
        Op::Create {
            by,
            slot,
            lifetime,
            privileges: self.env.privileges.get(p).cloned().flatten(),
        }
    }

    /// Creates by one user at once, with lifetimes that differ (as far as there are enough).
    fn creates(&mut self, by: Role, n: usize) -> Vec<Op> {
        let first = self.rng.random_range(0..self.env.lifetimes.max(1));
        (0..n)
            .map(|i| {
                let mut op = self.create(Caller::Bearer(by));
                if let Op::Create { lifetime, .. } = &mut op {
                    *lifetime = (first + i) % self.env.lifetimes.max(1);
                }
                op
            })
            .collect()
    }

    /// Lists by every user: a list right after the step before.
    fn lists(&self) -> Step {
        std::iter::once(self.user)
            .chain(self.other)
            .map(|u| Op::List {
                by: Caller::Bearer(u),
            })
            .collect()
    }

    fn unknown_id(&mut self) -> Target {
        Target::Unknown(
            (0..12)
                .map(|_| format!("{:02x}", self.rng.random::<u8>()))
                .collect(),
        )
    }

    /// Requests that must all be refused, sent at once: each refused credential on each
    /// operation, deletes of deleted, another user's and unknown tokens.
    fn refusals(&mut self) -> Step {
        let mut out = Vec::new();
        let live = self.state.live_of(self.user);
        let Some(target) = self.pick(&live) else {
            return out;
        };
        let mut refused: Vec<Caller> = Vec::new();
        if self.env.forbidden {
            refused.push(Caller::Bearer(Role::Forbidden));
        }
        if self.env.expired {
            refused.push(Caller::Bearer(Role::Expired));
        }
        let deleted = self.state.deleted();
        if let Some(d) = self.pick(&deleted) {
            refused.push(Caller::Secret(d));
        }
        // A deleted token, deleted again by its owner (the owner's, when there is one).
        let again = deleted
            .iter()
            .copied()
            .find(|d| self.state.slot(*d).is_some_and(|t| t.owner == self.user))
            .or(deleted.first().copied());
        if let Some(t) = again.and_then(|d| self.state.slot(d).map(|t| (d, t.owner))) {
            out.push(Op::Delete {
                by: Caller::Bearer(t.1),
                target: Target::Slot(t.0),
            });
        }
        for by in refused {
            out.push(self.create(by));
            out.push(Op::List { by });
            out.push(Op::Delete {
                by,
                target: Target::Slot(target),
            });
        }
        // Another user's token, by bearer and by one of their own token's secret.
        if let Some(other) = self.other {
            out.push(Op::Delete {
                by: Caller::Bearer(other),
                target: Target::Slot(target),
            });
            let theirs = self.state.live_of(other);
            if let Some(s) = self.pick(&theirs) {
                out.push(Op::Delete {
                    by: Caller::Secret(s),
                    target: Target::Slot(target),
                });
            }
        }
        let unknown = self.unknown_id();
        out.push(Op::Delete {
            by: Caller::Bearer(self.user),
            target: unknown,
        });
        let unknown = self.unknown_id();
        out.push(Op::Delete {
            by: Caller::Secret(target),
            target: unknown,
        });
        out
    }

    /// One random step, from what the state allows.
    fn random_step(&mut self) -> Step {
        let users: Vec<Role> = std::iter::once(self.user).chain(self.other).collect();
        let by_user = if users.len() > 1 && self.rng.random_bool(0.25) {
            users[1]
        } else {
            users[0]
        };
        let live = self.state.live();
        let live_slots: Vec<usize> = live.iter().map(|(s, _)| *s).collect();
        match self.rng.random_range(0..10u32) {
            0..=2 => {
                let by = match self.pick(&live_slots) {
                    Some(s) if self.rng.random_bool(0.3) => Caller::Secret(s),
                    _ => Caller::Bearer(by_user),
                };
                vec![self.create(by)]
            }
            3 => {
                let n = self.rng.random_range(2..=MAX_BURST);
                self.creates(by_user, n)
            }
            4..=5 => {
                let by = match self.pick(&live_slots) {
                    Some(s) if self.rng.random_bool(0.3) => Caller::Secret(s),
                    _ => Caller::Bearer(by_user),
                };
                vec![Op::List { by }]
            }
            6..=7 => {
                let Some((slot, owner)) = self.pick(&live) else {
                    return vec![self.create(Caller::Bearer(by_user))];
                };
                let mine = self.state.live_of(owner);
                let by = match self.pick(&mine) {
                    Some(s) if self.rng.random_bool(0.3) => Caller::Secret(s),
                    _ => Caller::Bearer(owner),
                };
                vec![Op::Delete {
                    by,
                    target: Target::Slot(slot),
                }]
            }
            8 => match self.pick(&live_slots) {
                Some(slot) => vec![Op::Race {
                    slot,
                    copies: self.rng.random_range(2..=MAX_COPIES),
                }],
                None => vec![self.create(Caller::Bearer(by_user))],
            },
            _ => self.refusals(),
        }
    }
}

/// How many steps each lane of a `total` budget runs: `lanes` shares that add up to it, but
/// never fewer than the skeleton.
pub fn share(total: usize, lanes: usize, lane: usize) -> usize {
    let lanes = lanes.max(1);
    total / lanes + usize::from(lane < total % lanes)
}

/// The steps of lane `lane` (0-based), `budget` of them (more when the skeleton needs them).
pub fn generate(seed: u64, lane: usize, budget: usize, env: &Env) -> Vec<Step> {
    let mut b = Builder {
        env,
        rng: rng(seed, lane),
        state: State::default(),
        steps: Vec::new(),
        slot: 0,
        user: env.users.first().copied().unwrap_or(Role::User),
        other: env.users.get(1).copied(),
    };
    // The skeleton, in this order: the seed's choices are drawn in it, so reordering the
    // steps would change every lane a seed gives.
    b.burst_creates();
    b.by_secret();
    b.burst_deletes();
    b.all_refused();
    if lane == 0 {
        b.past_a_page();
    }
    b.raced_delete();
    b.random_steps(budget);
    b.drain();
    b.steps
}

impl Builder<'_> {
    /// Lists by every user, as a step of its own.
    fn push_lists(&mut self) {
        let lists = self.lists();
        self.push(lists);
    }

    /// Creates at once: several lifetimes of the owner, and the other user's; then lists.
    fn burst_creates(&mut self) {
        let n = self.rng.random_range(3..=5);
        let mut grow = self.creates(self.user, n);
        if let Some(o) = self.other {
            let n = self.rng.random_range(2..=3);
            grow.extend(self.creates(o, n));
        }
        self.push(grow);
        self.push_lists();
    }

    /// A create with a live token's secret (the access-token scheme), then a list that way.
    fn by_secret(&mut self) {
        let (user, other) = (self.user, self.other);
        let mine = self.state.live_of(user);
        let with = self.pick(&mine).unwrap_or(0);
        let mut step = vec![self.create(Caller::Secret(with))];
        if let Some(o) = other {
            let theirs = self.state.live_of(o);
            if let Some(s) = self.pick(&theirs) {
                step.push(self.create(Caller::Secret(s)));
            }
        }
        self.push(step);
        let mine = self.state.live_of(user);
        let with = self.pick(&mine).unwrap_or(0);
        let mut step = vec![Op::List {
            by: Caller::Secret(with),
        }];
        step.extend(other.map(|o| Op::List {
            by: Caller::Bearer(o),
        }));
        self.push(step);
    }

    /// Deletes at once: the owner's oldest token while newer ones live (a stale index moves
    /// the newest into its place), one by another live token's secret, and the other user's
    /// token by its own secret; then lists.
    fn burst_deletes(&mut self) {
        let user = self.user;
        let mine = self.state.live_of(user);
        let mut step = Vec::new();
        if let [oldest, rest @ ..] = mine.as_slice() {
            step.push(Op::Delete {
                by: Caller::Bearer(user),
                target: Target::Slot(*oldest),
            });
            if let [by, .., target] = rest {
                step.push(Op::Delete {
                    by: Caller::Secret(*by),
                    target: Target::Slot(*target),
                });
            }
        }
        if let Some(o) = self.other {
            let theirs = self.state.live_of(o);
            if let Some(s) = self.pick(&theirs) {
                step.push(Op::Delete {
                    by: Caller::Secret(s),
                    target: Target::Slot(s),
                });
            }
        }
        self.push(step);
        self.push_lists();
    }

    /// Everything that must be refused, at once; then the lists must not have changed.
    fn all_refused(&mut self) {
        let refusals = self.refusals();
        self.push(refusals);
        self.push_lists();
    }

    /// The owner's live tokens grown past a page, then listed (the first lane only).
    fn past_a_page(&mut self) {
        let user = self.user;
        while self.state.live_of(user).len() < VOLUME {
            let n = (VOLUME - self.state.live_of(user).len()).min(MAX_BURST);
            let step = self.creates(user, n);
            self.push(step);
        }
        let step = vec![Op::List {
            by: Caller::Bearer(user),
        }];
        self.push(step);
    }

    /// Copies of one delete at once; then lists.
    fn raced_delete(&mut self) {
        let live: Vec<usize> = self.state.live().iter().map(|(s, _)| *s).collect();
        if let Some(slot) = self.pick(&live) {
            let copies = self.rng.random_range(2..=MAX_COPIES);
            self.push(vec![Op::Race { slot, copies }]);
            self.push_lists();
        }
    }

    /// Random steps, each followed by a list now and then, until two steps are left.
    fn random_steps(&mut self, budget: usize) {
        while self.steps.len() + 2 < budget {
            let step = self.random_step();
            let writes = step.iter().any(|op| !matches!(op, Op::List { .. }));
            self.push(step);
            if writes && self.steps.len() + 2 < budget && self.rng.random_bool(0.4) {
                self.push_lists();
            }
        }
    }

    /// Everything still live deleted at once by its owner, then every list must be empty.
    fn drain(&mut self) {
        let drain: Step = self
            .state
            .live()
            .into_iter()
            .map(|(s, owner)| Op::Delete {
                by: Caller::Bearer(owner),
                target: Target::Slot(s),
            })
            .collect();
        self.push(drain);
        self.push_lists();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suites::model::reference::Expect;

    fn env(users: &[Role]) -> Env {
        Env {
            users: users.to_vec(),
            forbidden: true,
            expired: true,
            lifetimes: 6,
            privileges: vec![None, Some(vec![]), Some(vec!["a".into()])],
        }
    }

    #[test]
    fn a_seed_and_lane_give_the_same_sequence() {
        let e = env(&[Role::User, Role::OtherUser]);
        assert_eq!(generate(7, 2, 15, &e), generate(7, 2, 15, &e));
        assert_ne!(generate(7, 2, 15, &e), generate(8, 2, 15, &e));
        assert_ne!(generate(7, 2, 15, &e), generate(7, 3, 15, &e));
    }

    #[test]
    fn shares_add_up_to_the_budget() {
        for total in [1, 15, 120, 121, 1000] {
            for lanes in [1, 3, 8] {
                let sum: usize = (0..lanes).map(|l| share(total, lanes, l)).sum();
                assert_eq!(sum, total);
            }
        }
    }

    /// The patterns every lane holds, whatever the seed: checked through the reference model.
    #[test]
    fn every_lane_covers_every_pattern_whatever_the_seed() {
        let e = env(&[Role::User, Role::OtherUser]);
        for seed in 0..200 {
            for lane in 0..8 {
                let steps = generate(seed, lane, share(120, 8, lane), &e);
                let mut state = State::default();
                let mut seen: std::collections::BTreeSet<String> = Default::default();
                let mut peak = 0;
                let mut last_write: Option<&'static str> = None;
                for step in &steps {
                    // A step's operations do not depend on each other's order: no token
                    // written twice, no secret used beside its token's delete, no list beside
                    // a write.
                    let written: Vec<usize> = step
                        .iter()
                        .filter(|op| state.changes(op).is_some())
                        .filter_map(|op| match op {
                            Op::Delete {
                                target: Target::Slot(s),
                                ..
                            }
                            | Op::Race { slot: s, .. } => Some(*s),
                            other => other.creates(),
                        })
                        .collect();
                    let mut distinct = written.clone();
                    distinct.sort();
                    distinct.dedup();
                    assert_eq!(
                        distinct.len(),
                        written.len(),
                        "seed {seed} lane {lane}: {step:?}"
                    );
                    for op in step {
                        if let Op::List { .. } = op {
                            assert!(written.is_empty(), "a list beside a write: {step:?}");
                        }
                        // A token may delete itself with its own secret, not another's.
                        let own = match op {
                            Op::Delete {
                                target: Target::Slot(t),
                                ..
                            } => Some(*t),
                            _ => None,
                        };
                        if let Op::Create {
                            by: Caller::Secret(s),
                            ..
                        }
                        | Op::List {
                            by: Caller::Secret(s),
                        }
                        | Op::Delete {
                            by: Caller::Secret(s),
                            ..
                        } = op
                        {
                            assert!(
                                own == Some(*s) || !written.contains(s),
                                "a secret beside its delete: {step:?}"
                            );
                        }
                    }
                    for op in step {
                        let who = match op {
                            Op::Create { by, .. } | Op::List { by } | Op::Delete { by, .. } => {
                                match by {
                                    Caller::Bearer(r) => format!("{r:?}"),
                                    Caller::Secret(s) if state.slot(*s).is_some_and(|t| t.live) => {
                                        "live-secret".into()
                                    }
                                    Caller::Secret(_) => "deleted-secret".into(),
                                }
                            }
                            Op::Race { .. } => "race".into(),
                        };
                        let what = match op {
                            Op::Create { .. } => "create".to_owned(),
                            Op::List { .. } => "list".to_owned(),
                            Op::Race { .. } => "race".to_owned(),
                            Op::Delete { by, target } => {
                                let on = match target {
                                    Target::Unknown(_) => "unknown",
                                    Target::Slot(s) => {
                                        match (state.slot(*s), state.identity(*by)) {
                                            (Some(t), _) if !t.live => "deleted",
                                            (Some(t), Ok(w)) if t.owner != w => "foreign",
                                            _ => "live",
                                        }
                                    }
                                };
                                format!("delete-{on}")
                            }
                        };
                        seen.insert(format!("{what} by {who}"));
                        seen.insert(what.clone());
                        if let (Op::List { .. }, Some(w)) = (op, last_write) {
                            seen.insert(format!("list after {w}"));
                        }
                        if state.expect(op) != Expect::Ok {
                            seen.insert(format!("refused {what}"));
                        }
                    }
                    last_write = if step.iter().all(|o| matches!(o, Op::List { .. })) {
                        None
                    } else if step.iter().any(|o| matches!(o, Op::Race { .. })) {
                        Some("race")
                    } else if step.iter().all(|o| state.changes(o).is_none()) {
                        Some("refused")
                    } else if step
                        .iter()
                        .filter(|o| {
                            matches!(
                                o,
                                Op::Create {
                                    by: Caller::Bearer(_),
                                    ..
                                }
                            )
                        })
                        .count()
                        > 1
                    {
                        Some("burst-create")
                    } else if step
                        .iter()
                        .any(|o| state.changes(o).is_some() && matches!(o, Op::Delete { .. }))
                    {
                        Some("delete")
                    } else if step.iter().any(|o| state.changes(o).is_some()) {
                        Some("create")
                    } else {
                        Some("refused")
                    };
                    state.apply_step(step);
                    peak = peak.max(state.live_of(Role::User).len());
                }
                for want in [
                    "create by User",
                    "create by OtherUser",
                    "create by live-secret",
                    "create by Forbidden",
                    "create by Expired",
                    "create by deleted-secret",
                    "list by User",
                    "list by OtherUser",
                    "list by live-secret",
                    "list by Forbidden",
                    "list by Expired",
                    "list by deleted-secret",
                    "delete-live by User",
                    "delete-live by live-secret",
                    "delete-deleted by User",
                    "delete-foreign by OtherUser",
                    "delete-foreign by live-secret",
                    "delete-unknown by User",
                    "delete-unknown by live-secret",
                    "delete-live by Forbidden",
                    "delete-live by Expired",
                    "delete-live by deleted-secret",
                    "race",
                    "list after burst-create",
                    "list after create",
                    "list after delete",
                    "list after refused",
                    "list after race",
                ] {
                    assert!(seen.contains(want), "seed {seed} lane {lane}: no `{want}`");
                }
                // Everything is deleted by the end.
                assert!(state.live().is_empty(), "seed {seed} lane {lane}");
                if lane == 0 {
                    assert!(peak >= VOLUME, "seed {seed}: peak {peak}");
                }
            }
        }
    }
}
