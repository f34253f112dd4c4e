//! The model suite: seeded random sequences of operations, each answer checked against a
//! model of what the server must hold.
//!
//! A sequence is generated from a seed alone ([`generate`]), so `--seed N` sends the same
//! requests again. It mixes the roles the environment provides (the owner, the other user,
//! secrets of tokens the sequence created in the access-token header, the forbidden and
//! expired credentials), creates with every lifetime, with and without privileges, lists,
//! deletes of one's own, another user's, unknown and already deleted tokens, and bursts of
//! concurrent requests. It grows until dozens of tokens are live at once, then interleaves
//! deletes with creates.
//!
//! The `Model` is built from the spec: the statuses of each operation, the unknown-id
//! status (`x-unknown-id-status`), the lifetimes and their durations, the masking rule (a
//! listed token never shows its secret). It predicts every answer: the status, a create's
//! echo and expiry, and for a list the exact set of this sequence's tokens the caller must
//! see, with the fields they were created with. Tokens outside the sequence are ignored.
//!
//! On the first mismatch the sequence stops and is shrunk: shorter sequences (always with
//! fresh tokens) are replayed until none of the remaining steps can be dropped without the
//! mismatch going away. The failure of [`checks::MODEL_MATCHES`] shows the minimal sequence
//! as numbered steps, a `curl` script that replays it, and the seed.

use super::{Kind, Scenario, Suite};
use crate::api::{Api, OpKind};
use crate::checks::{self, Failure};
use crate::context::{Ctx, RUN_NAME_PREFIX, RawRequest};
use crate::roles::Role;
use crate::transport::Auth;
use abp_spec::Spec;
use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Operations per sequence unless `--model-steps` says otherwise: enough for dozens of live
/// tokens, small enough that the suite adds well under 2 s against the embedded server.
pub const DEFAULT_STEPS: usize = 120;

/// The most replays a shrink may use; each replays at most the failing prefix.
const MAX_REPLAYS: usize = 200;

/// A shrink stops after this many requests per step of the budget (`--model-steps`).
const SHRINK_REQUESTS_PER_STEP: usize = 25;

/// The most requests of one burst.
const MAX_BURST: usize = 5;

#[derive(Debug, Clone)]
pub struct Case {
    /// Chosen by the run (`--seed`, else drawn) before the scenario starts.
    pub seed: Option<u64>,
    pub steps: usize,
}

pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        name: "model/random-sequence".into(),
        suite: Suite::Model,
        summary: summary(None, DEFAULT_STEPS),
        needs: vec![],
        kind: Kind::Model(Case {
            seed: None,
            steps: DEFAULT_STEPS,
        }),
    }]
}

pub fn summary(seed: Option<u64>, steps: usize) -> String {
    let seed = seed.map_or_else(|| "a random seed".to_owned(), |s| format!("seed {s}"));
    format!(
        "a random sequence of {steps} operations ({seed}) across every role, checked against the spec's model; a mismatch is shrunk to a minimal replay"
    )
}

/// Fixes the seed and budget of the model scenarios from the run's configuration.
pub fn configure(scenario: &mut Scenario, seed: Option<u64>, steps: Option<usize>) {
    if let Kind::Model(case) = &mut scenario.kind {
        case.seed = Some(seed.unwrap_or_else(|| rand::rng().random::<u64>() >> 12));
        if let Some(steps) = steps {
            case.steps = steps;
        }
        scenario.summary = summary(case.seed, case.steps);
    }
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// `Authorization: Bearer` with the role's credential.
    Bearer(Role),
    /// The secret of the sequence's token in this slot, in the access-token header.
    Secret(usize),
}

/// Which token a delete names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The token the sequence created in this slot (live or deleted by then).
    Slot(usize),
    /// A well-formed id nobody created.
    Unknown(String),
}

/// One step of a sequence. Tokens are named by slot: the create that made them says which.
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
    /// Creates sent at the same time by one user.
    BurstCreate {
        by: Role,
        slots: Vec<usize>,
        lifetime: usize,
    },
    /// The same delete sent this many times at once by the token's owner.
    BurstDelete {
        slot: usize,
        copies: usize,
    },
}

impl Op {
    /// Slots this step creates.
    fn creates(&self) -> Vec<usize> {
        match self {
            Op::Create { slot, .. } => vec![*slot],
            Op::BurstCreate { slots, .. } => slots.clone(),
            _ => Vec::new(),
        }
    }

    /// Slots this step needs to exist.
    fn uses(&self) -> Vec<usize> {
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
            Op::BurstCreate { .. } => Vec::new(),
            Op::BurstDelete { slot, .. } => vec![*slot],
        }
    }
}

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

/// The generator's view of a token: who owns it and whether it is live.
#[derive(Debug, Clone, Copy)]
struct SimToken {
    owner: Role,
    live: bool,
    /// False for a create the model expects refused: no token to name later.
    exists: bool,
}

/// A sequence of `steps` operations from `seed`: the same seed and environment give the same
/// sequence. The generator follows the model's state, so deletes name tokens that exist.
pub fn generate(seed: u64, steps: usize, env: &Env) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tokens: Vec<SimToken> = Vec::new();
    let mut ops = Vec::with_capacity(steps);
    let users = if env.users.is_empty() {
        vec![Role::User]
    } else {
        env.users.clone()
    };
    while ops.len() < steps {
        // The first half grows the store (dozens of live tokens); the second churns it.
        let growing = ops.len() < steps * 3 / 5;
        let live: Vec<usize> = (0..tokens.len()).filter(|i| tokens[*i].live).collect();
        let dead: Vec<usize> = (0..tokens.len())
            .filter(|i| tokens[*i].exists && !tokens[*i].live)
            .collect();
        let pick_user = |rng: &mut StdRng| {
            // The owner acts most; the other user enough to hold tokens of their own.
            if users.len() > 1 && rng.random_bool(0.25) {
                users[1]
            } else {
                users[0]
            }
        };
        // Every sequence holds at least one burst of each kind (past a quarter and three
        // quarters of the budget), whatever the dice say.
        let burst_creates = ops.iter().any(|o| matches!(o, Op::BurstCreate { .. }));
        let burst_deletes = ops.iter().any(|o| matches!(o, Op::BurstDelete { .. }));
        let force_create = !burst_creates && ops.len() >= steps / 4;
        let force_delete = !burst_deletes && ops.len() >= steps * 3 / 4 && !live.is_empty();
        let roll = rng.random_range(0..100u32);
        // Thresholds of create, list, delete and burst; the rest are refused credentials.
        let [create, list, delete, burst] = if growing {
            [66, 80, 90, 96]
        } else {
            [30, 45, 75, 85]
        };
        let op = if force_create || force_delete {
            if force_create {
                let n = rng.random_range(2..=MAX_BURST);
                Op::BurstCreate {
                    by: pick_user(&mut rng),
                    slots: (tokens.len()..tokens.len() + n).collect(),
                    lifetime: rng.random_range(0..env.lifetimes.max(1)),
                }
            } else {
                Op::BurstDelete {
                    slot: live[rng.random_range(0..live.len())],
                    copies: rng.random_range(2..=MAX_BURST),
                }
            }
        } else if roll < create || live.is_empty() {
            let by = if !live.is_empty() && rng.random_bool(0.15) {
                Caller::Secret(live[rng.random_range(0..live.len())])
            } else if !dead.is_empty() && rng.random_bool(0.03) {
                Caller::Secret(dead[rng.random_range(0..dead.len())])
            } else {
                Caller::Bearer(pick_user(&mut rng))
            };
            Op::Create {
                by,
                slot: tokens.len(),
                lifetime: rng.random_range(0..env.lifetimes.max(1)),
                privileges: env.privileges[rng.random_range(0..env.privileges.len())].clone(),
            }
        } else if roll < list {
            let by = match rng.random_range(0..10u32) {
                0..=1 if !live.is_empty() => Caller::Secret(live[rng.random_range(0..live.len())]),
                2 if !dead.is_empty() => Caller::Secret(dead[rng.random_range(0..dead.len())]),
                _ => Caller::Bearer(pick_user(&mut rng)),
            };
            Op::List { by }
        } else if roll < delete {
            let slot = live[rng.random_range(0..live.len())];
            let owner = tokens[slot].owner;
            let others: Vec<Role> = users.iter().copied().filter(|u| *u != owner).collect();
            let same_owner: Vec<usize> = live
                .iter()
                .copied()
                .filter(|i| tokens[*i].owner == owner)
                .collect();
            match rng.random_range(0..10u32) {
                // Another user's token: refused with the unknown-id status.
                0 if !others.is_empty() => Op::Delete {
                    by: Caller::Bearer(others[rng.random_range(0..others.len())]),
                    target: Target::Slot(slot),
                },
                1 if !dead.is_empty() => {
                    let gone = dead[rng.random_range(0..dead.len())];
                    Op::Delete {
                        by: Caller::Bearer(tokens[gone].owner),
                        target: Target::Slot(gone),
                    }
                }
                2 => Op::Delete {
                    by: Caller::Bearer(pick_user(&mut rng)),
                    target: Target::Unknown(
                        (0..12)
                            .map(|_| format!("{:02x}", rng.random::<u8>()))
                            .collect(),
                    ),
                },
                // Authenticated by a secret of the same user (possibly the token's own).
                3 => Op::Delete {
                    by: Caller::Secret(same_owner[rng.random_range(0..same_owner.len())]),
                    target: Target::Slot(slot),
                },
                _ => Op::Delete {
                    by: Caller::Bearer(owner),
                    target: Target::Slot(slot),
                },
            }
        } else if roll < burst {
            if rng.random_bool(0.5) {
                let n = rng.random_range(2..=MAX_BURST);
                Op::BurstCreate {
                    by: pick_user(&mut rng),
                    slots: (tokens.len()..tokens.len() + n).collect(),
                    lifetime: rng.random_range(0..env.lifetimes.max(1)),
                }
            } else {
                Op::BurstDelete {
                    slot: live[rng.random_range(0..live.len())],
                    copies: rng.random_range(2..=MAX_BURST),
                }
            }
        } else {
            let mut roles = Vec::new();
            if env.forbidden {
                roles.push(Role::Forbidden);
            }
            if env.expired {
                roles.push(Role::Expired);
            }
            let Some(role) = roles.get(rng.random_range(0..roles.len().max(1))).copied() else {
                continue;
            };
            let by = Caller::Bearer(role);
            match rng.random_range(0..3u32) {
                0 => Op::List { by },
                1 => Op::Create {
                    by,
                    slot: tokens.len(),
                    lifetime: 0,
                    privileges: None,
                },
                _ => Op::Delete {
                    by,
                    target: Target::Slot(live[rng.random_range(0..live.len())]),
                },
            }
        };
        let follow_with_list = apply(&op, &mut tokens);
        ops.push(op);
        // Lists right after writes: the answer must already show the write.
        if let Some(owner) = follow_with_list
            && ops.len() < steps
            && rng.random_bool(0.3)
        {
            ops.push(Op::List {
                by: Caller::Bearer(owner),
            });
        }
    }
    ops
}

/// Who a caller authenticates as in the simulation, if anyone.
fn sim_identity(by: Caller, tokens: &[SimToken]) -> Option<Role> {
    match by {
        Caller::Bearer(r @ (Role::User | Role::OtherUser)) => Some(r),
        Caller::Bearer(_) => None,
        Caller::Secret(s) => tokens.get(s).filter(|t| t.live).map(|t| t.owner),
    }
}

/// Advances the simulation; returns the user whose list a write changed.
fn apply(op: &Op, tokens: &mut Vec<SimToken>) -> Option<Role> {
    match op {
        Op::Create { by, slot, .. } => {
            let owner = sim_identity(*by, tokens);
            // A refused create still takes its slot, so slots stay positions.
            debug_assert_eq!(*slot, tokens.len());
            tokens.push(SimToken {
                owner: owner.unwrap_or(Role::User),
                live: owner.is_some(),
                exists: owner.is_some(),
            });
            owner
        }
        Op::BurstCreate { by, slots, .. } => {
            for _ in slots {
                tokens.push(SimToken {
                    owner: *by,
                    live: true,
                    exists: true,
                });
            }
            Some(*by)
        }
        Op::Delete {
            by,
            target: Target::Slot(s),
        } => {
            let who = sim_identity(*by, tokens)?;
            let t = &mut tokens[*s];
            (t.live && t.owner == who).then(|| {
                t.live = false;
                who
            })
        }
        Op::BurstDelete { slot, .. } => {
            tokens[*slot].live = false;
            Some(tokens[*slot].owner)
        }
        Op::List { .. } | Op::Delete { .. } => None,
    }
}

/// The sequence without the steps in `drop`, and without every later step that needs a
/// token one of them created. Slots keep their numbers.
fn without(ops: &[Op], drop: std::ops::Range<usize>) -> Vec<Op> {
    let mut gone: BTreeSet<usize> = BTreeSet::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if drop.contains(&i) || op.uses().iter().any(|s| gone.contains(s)) {
            gone.extend(op.creates());
            continue;
        }
        out.push(op.clone());
    }
    out
}

/// The API's facts the model predicts from, read from the spec.
struct Facts {
    list_ok: u16,
    create_ok: u16,
    delete_ok: u16,
    unknown_id: u16,
    unauthorized: u16,
    forbidden: u16,
    header: String,
    content_type: String,
    lifetimes: Vec<abp_spec::Lifetime>,
    secret_fields: Vec<String>,
    /// The token schema's properties: only these are compared between create and list (a
    /// server may add others, whose values may change on every answer).
    documented_fields: Vec<String>,
    create_path: String,
    list_path: String,
}

/// The property names of an operation's success schema (`$ref`s and `allOf` followed).
fn documented_fields(spec: &Spec, op: &abp_spec::Operation, status: u16) -> Vec<String> {
    fn collect(spec: &Spec, schema: &Value, out: &mut Vec<String>) {
        let (schema, _) = spec.resolve(schema, String::new());
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
        for member in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(spec, member, out);
        }
    }
    let mut out = Vec::new();
    for (_, schema) in op.response(status).map(|r| &r.content[..]).unwrap_or(&[]) {
        if let Some(schema) = schema {
            collect(spec, schema, &mut out);
        }
    }
    out
}

impl Facts {
    fn read(api: &Api, spec: &Spec) -> Result<Facts, String> {
        let need = |op: &abp_spec::Operation, what: &str, s: Option<u16>| {
            s.ok_or_else(|| format!("the spec gives {} no {what}", op.id))
        };
        let documented = |op: &abp_spec::Operation, status: u16| {
            op.response(status)
                .map(|_| status)
                .ok_or_else(|| format!("the spec does not document {status} for {}", op.id))
        };
        Ok(Facts {
            list_ok: need(&api.list, "success status", api.list.success_status())?,
            create_ok: need(&api.create, "success status", api.create.success_status())?,
            delete_ok: need(&api.delete, "success status", api.delete.success_status())?,
            unknown_id: need(
                &api.delete,
                "x-unknown-id-status",
                api.delete.unknown_id_status,
            )?,
            unauthorized: documented(&api.list, 401)?,
            forbidden: documented(&api.list, 403)?,
            header: api.access_token_header.clone(),
            content_type: api
                .create
                .body
                .as_ref()
                .map(|b| b.content_type.clone())
                .ok_or_else(|| format!("{} has no request body", api.create.id))?,
            lifetimes: spec.lifetimes().map_err(|e| e.to_string())?,
            secret_fields: api.secret_fields.clone(),
            documented_fields: documented_fields(
                spec,
                &api.create,
                api.create.success_status().unwrap_or_default(),
            ),
            create_path: api.create.path.clone(),
            list_path: api.list.path.clone(),
        })
    }
}

/// Privilege lists from the spec's examples of the create body and of the token, plus the
/// empty list and the field left out.
fn privilege_choices(spec: &Spec, api: &Api) -> Vec<Option<Vec<String>>> {
    let mut pool: BTreeSet<String> = BTreeSet::new();
    let mut collect = |v: Option<&Value>| {
        for p in v.and_then(Value::as_array).into_iter().flatten() {
            if let Some(p) = p.as_str() {
                pool.insert(p.to_owned());
            }
        }
    };
    if let Ok(body) = super::valid_create_body(spec, &api.create, "x") {
        collect(body.get("privileges"));
    }
    collect(
        spec.document()
            .pointer("/components/schemas/UserAccessToken/properties/privileges/example"),
    );
    for op in [&api.list, &api.create] {
        for r in &op.responses {
            for (_, example) in &r.content {
                let first = example.as_ref().map(|e| match e {
                    Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                });
                collect(first.as_ref().and_then(|e| e.get("privileges")));
            }
        }
    }
    let pool: Vec<String> = pool.into_iter().collect();
    let mut out = vec![None, Some(Vec::new())];
    out.extend(pool.iter().map(|p| Some(vec![p.clone()])));
    if pool.len() > 1 {
        out.push(Some(pool.clone()));
    }
    out
}

/// A token as the model holds it.
#[derive(Debug, Clone)]
struct Token {
    owner: Role,
    live: bool,
    id: String,
    secret: String,
    /// The create's answer: what every later list must show (but the masked secret).
    created: Value,
    /// The masked value of the first list that showed it: later lists show the same.
    masked: Option<String>,
}

/// Where and how the answers left the model.
#[derive(Debug, Clone)]
struct Mismatch {
    /// Index into the sequence.
    step: usize,
    /// What kind of divergence: a shrink keeps only replays that fail the same way.
    kind: &'static str,
    message: String,
    expected: String,
    actual: String,
    pointer: Option<String>,
}

enum Stop {
    /// The answers left the model.
    Mismatch(Mismatch),
    /// A step could not be carried out (no answer); already reported by the context.
    Aborted,
}

/// The model while a sequence runs: the tokens it created and what each user must see.
struct Model<'f> {
    facts: &'f Facts,
    /// Names of this sequence's tokens start with this.
    prefix: String,
    tokens: BTreeMap<usize, Token>,
    /// The userId each user's tokens carry, from the first of them.
    user_ids: BTreeMap<Role, String>,
    ids: BTreeSet<String>,
    secrets: BTreeSet<String>,
    peak_live: usize,
}

fn status_of(r: &Option<abp_tokens_client::RecordedResponse>) -> Option<u16> {
    r.as_ref().map(|r| r.status)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn timestamp(v: &Value, field: &str) -> Option<DateTime<Utc>> {
    v.get(field)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl<'f> Model<'f> {
    fn new(facts: &'f Facts, prefix: String) -> Self {
        Model {
            facts,
            prefix,
            tokens: BTreeMap::new(),
            user_ids: BTreeMap::new(),
            ids: BTreeSet::new(),
            secrets: BTreeSet::new(),
            peak_live: 0,
        }
    }

    fn name(&self, slot: usize) -> String {
        format!("{}t{slot}", self.prefix)
    }

    /// Who the caller is, or the status that refuses them.
    fn identity(&self, by: Caller) -> Result<Role, u16> {
        match by {
            Caller::Bearer(r @ (Role::User | Role::OtherUser)) => Ok(r),
            Caller::Bearer(Role::Forbidden) => Err(self.facts.forbidden),
            Caller::Bearer(Role::Expired) => Err(self.facts.unauthorized),
            Caller::Secret(s) => match self.tokens.get(&s) {
                Some(t) if t.live => Ok(t.owner),
                _ => Err(self.facts.unauthorized),
            },
        }
    }

    fn auth(&self, by: Caller) -> Auth {
        match by {
            Caller::Bearer(r) => Auth::Role(r),
            Caller::Secret(s) => {
                let t = &self.tokens[&s];
                Auth::Header {
                    name: self.facts.header.clone(),
                    value: t.secret.clone(),
                    owner: Some(t.owner),
                }
            }
        }
    }

    fn create_body(&self, slot: usize, lifetime: usize, privileges: &Option<Vec<String>>) -> Value {
        let mut body = json!({
            "name": self.name(slot),
            "lifetime": self.facts.lifetimes[lifetime].name,
        });
        if let Some(p) = privileges {
            body["privileges"] = json!(p);
        }
        body
    }

    fn create_request(&self, by: Caller, body: &Value, expected: u16) -> RawRequest {
        RawRequest {
            kind: OpKind::Create,
            path: self.facts.create_path.clone(),
            auth: self.auth(by),
            headers: vec![("content-type", self.facts.content_type.clone())],
            body: Some(serde_json::to_vec(body).unwrap_or_default()),
            expected: vec![expected],
        }
    }

    fn delete_path(&self, ctx: &Ctx<'_>, target: &Target) -> String {
        let id = match target {
            Target::Slot(s) => self.tokens[s].id.clone(),
            Target::Unknown(id) => id.clone(),
        };
        ctx.api().delete.path_with(&id)
    }

    fn live_count(&self) -> usize {
        self.tokens.values().filter(|t| t.live).count()
    }

    async fn step(&mut self, ctx: &mut Ctx<'_>, index: usize, op: &Op) -> Result<(), Stop> {
        let mismatch = |kind, message: String, expected: String, actual: String| {
            Stop::Mismatch(Mismatch {
                step: index,
                kind,
                message,
                expected,
                actual,
                pointer: None,
            })
        };
        match op {
            Op::Create {
                by,
                slot,
                lifetime,
                privileges,
            } => {
                let who = self.identity(*by);
                let expected = who.map_or_else(|s| s, |_| self.facts.create_ok);
                let body = self.create_body(*slot, *lifetime, privileges);
                let request = self.create_request(*by, &body, expected);
                let response = ctx
                    .raw(
                        OpKind::Create,
                        &request.path,
                        request.auth,
                        &[("content-type", self.facts.content_type.clone())],
                        request.body,
                        &[expected],
                    )
                    .await;
                let Some(r) = response else {
                    return Err(Stop::Aborted);
                };
                if r.status != expected {
                    return Err(mismatch(
                        "status",
                        "a create got another status than the model predicts".into(),
                        expected.to_string(),
                        r.status.to_string(),
                    ));
                }
                if let Ok(owner) = who {
                    let token = r.json().unwrap_or(Value::Null);
                    self.created(ctx, index, *slot, owner, &body, *lifetime, token)?;
                }
            }
            Op::BurstCreate {
                by,
                slots,
                lifetime,
            } => {
                let bodies: Vec<Value> = slots
                    .iter()
                    .map(|s| self.create_body(*s, *lifetime, &None))
                    .collect();
                let requests: Vec<RawRequest> = bodies
                    .iter()
                    .map(|b| self.create_request(Caller::Bearer(*by), b, self.facts.create_ok))
                    .collect();
                let answers = ctx.burst(&requests).await;
                // Every answer is recorded before any is judged, so clean-up sees them all.
                for ((slot, body), answer) in slots.iter().zip(&bodies).zip(&answers) {
                    let Some(r) = answer else {
                        return Err(Stop::Aborted);
                    };
                    if r.status != self.facts.create_ok {
                        return Err(mismatch(
                            "burst-create",
                            format!(
                                "one of {} creates sent at the same time got another status",
                                slots.len()
                            ),
                            self.facts.create_ok.to_string(),
                            r.status.to_string(),
                        ));
                    }
                    let token = r.json().unwrap_or(Value::Null);
                    self.created(ctx, index, *slot, *by, body, *lifetime, token)?;
                }
            }
            Op::List { by } => {
                let who = self.identity(*by);
                let expected = who.map_or_else(|s| s, |_| self.facts.list_ok);
                let auth = self.auth(*by);
                let path = self.facts.list_path.clone();
                let Some(r) = ctx
                    .raw(OpKind::List, &path, auth, &[], None, &[expected])
                    .await
                else {
                    return Err(Stop::Aborted);
                };
                if r.status != expected {
                    return Err(mismatch(
                        "status",
                        "a list got another status than the model predicts".into(),
                        expected.to_string(),
                        r.status.to_string(),
                    ));
                }
                if let Ok(owner) = who {
                    let items = r.json().and_then(|v| v.as_array().cloned());
                    let Some(items) = items else {
                        return Err(mismatch(
                            "list-body",
                            "the list answer is not a JSON array".into(),
                            "a JSON array".into(),
                            String::from_utf8_lossy(&r.body).chars().take(200).collect(),
                        ));
                    };
                    self.listed(index, owner, &items)?;
                }
            }
            Op::Delete { by, target } => {
                let who = self.identity(*by);
                let expected = match (who, target) {
                    (Err(s), _) => s,
                    (Ok(w), Target::Slot(s))
                        if self.tokens[s].live && self.tokens[s].owner == w =>
                    {
                        self.facts.delete_ok
                    }
                    _ => self.facts.unknown_id,
                };
                let auth = self.auth(*by);
                let path = self.delete_path(ctx, target);
                let before = ctx.requests();
                let Some(r) = ctx
                    .raw(OpKind::Delete, &path, auth, &[], None, &[expected])
                    .await
                else {
                    return Err(Stop::Aborted);
                };
                // A retry after a lost answer meets the deletion that lost attempt made.
                let lost = ctx.lost_answers(before..ctx.requests()) > 0;
                let retried_success = lost && expected == self.facts.delete_ok;
                if r.status != expected && !(retried_success && r.status == self.facts.unknown_id) {
                    return Err(mismatch(
                        "status",
                        "a delete got another status than the model predicts".into(),
                        expected.to_string(),
                        r.status.to_string(),
                    ));
                }
                if expected == self.facts.delete_ok
                    && let Target::Slot(s) = target
                    && let Some(t) = self.tokens.get_mut(s)
                {
                    t.live = false;
                }
            }
            Op::BurstDelete { slot, copies } => {
                let owner = self.tokens[slot].owner;
                let path = self.delete_path(ctx, &Target::Slot(*slot));
                let ok = self.facts.delete_ok;
                let gone = self.facts.unknown_id;
                let request = RawRequest {
                    kind: OpKind::Delete,
                    path,
                    auth: Auth::Role(owner),
                    headers: Vec::new(),
                    body: None,
                    expected: vec![ok, gone],
                };
                let before = ctx.requests();
                let answers = ctx.burst(&vec![request; *copies]).await;
                // A copy retried after a lost answer may have been the one that deleted it.
                let lost = ctx.lost_answers(before..ctx.requests());
                let mut statuses = Vec::new();
                for a in &answers {
                    statuses.push(status_of(a).ok_or(Stop::Aborted)?);
                }
                // A shrunk sequence may have deleted the token already: then none succeeds.
                let want = usize::from(self.tokens[slot].live);
                let successes = statuses.iter().filter(|s| **s == ok).count();
                let others = statuses.iter().filter(|s| **s != ok && **s != gone).count();
                let explained = successes == want || (successes < want && lost > 0);
                if !explained || others > 0 {
                    return Err(mismatch(
                        "burst-delete",
                        format!(
                            "{copies} deletes of one token sent at the same time: exactly one may succeed, the others find it gone"
                        ),
                        format!("{want} × {ok} and {} × {gone}", copies - want),
                        format!("{statuses:?}"),
                    ));
                }
                if let Some(t) = self.tokens.get_mut(slot) {
                    t.live = false;
                }
            }
        }
        self.peak_live = self.peak_live.max(self.live_count());
        Ok(())
    }

    /// Judges a create's answer against the request and the model, and adds the token.
    #[allow(clippy::too_many_arguments)]
    fn created(
        &mut self,
        ctx: &mut Ctx<'_>,
        index: usize,
        slot: usize,
        owner: Role,
        sent: &Value,
        lifetime: usize,
        token: Value,
    ) -> Result<(), Stop> {
        let fail = |kind, message: String, expected: String, actual: String| {
            Stop::Mismatch(Mismatch {
                step: index,
                kind,
                message,
                expected,
                actual,
                pointer: None,
            })
        };
        let text = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).map(str::to_owned);
        let id = text(&token, "_id").unwrap_or_default();
        let secret = self
            .facts
            .secret_fields
            .first()
            .and_then(|f| text(&token, f))
            .unwrap_or_default();
        if text(&token, "name") != text(sent, "name") {
            return Err(fail(
                "echo",
                "the created token's name differs from the requested one".into(),
                format!("{:?}", text(sent, "name")),
                format!("{:?}", text(&token, "name")),
            ));
        }
        let want_privileges = sent.get("privileges").cloned().unwrap_or(json!([]));
        if token.get("privileges") != Some(&want_privileges) {
            return Err(fail(
                "echo",
                "the created token's privileges differ from the requested ones".into(),
                want_privileges.to_string(),
                token
                    .get("privileges")
                    .map_or("none".into(), Value::to_string),
            ));
        }
        let l = &self.facts.lifetimes[lifetime];
        if let (Some(created), Some(expires)) = (
            timestamp(&token, "createdAt"),
            timestamp(&token, "expiresOn"),
        ) {
            let off = expires - (created + l.duration);
            if off.abs() > TimeDelta::seconds(1) {
                return Err(Stop::Mismatch(Mismatch {
                    step: index,
                    kind: "expiry",
                    message: format!("expiresOn is not createdAt + {} (`{}`)", l.iso8601, l.name),
                    expected: iso(created + l.duration),
                    actual: iso(expires),
                    pointer: Some(format!(
                        "{}/x-durations/{}",
                        abp_spec::LIFETIME_SCHEMA,
                        abp_spec::escape_pointer(&l.name)
                    )),
                }));
            }
        }
        if id.is_empty() || secret.is_empty() {
            return Err(fail(
                "echo",
                "the created token has no id or no secret".into(),
                "an `_id` and a secret".into(),
                format!("id {id:?}, secret present: {}", !secret.is_empty()),
            ));
        }
        if !self.ids.insert(id.clone()) {
            return Err(fail(
                "unique",
                "a create answered an id the sequence has seen before".into(),
                "a new id".into(),
                id,
            ));
        }
        if !self.secrets.insert(secret.clone()) {
            return Err(fail(
                "unique",
                "a create answered a secret the sequence has seen before".into(),
                "a new secret".into(),
                "a secret already handed out".into(),
            ));
        }
        let unique = ctx.shared.seen.check_new(&id, &secret);
        ctx.check(checks::IDS_AND_SECRETS_UNIQUE, unique);
        if let Some(user_id) = text(&token, "userId") {
            let known = self
                .user_ids
                .entry(owner)
                .or_insert_with(|| user_id.clone());
            if *known != user_id {
                return Err(fail(
                    "owner",
                    format!(
                        "a token created as {} carries another userId than the user's earlier tokens",
                        owner.env_var()
                    ),
                    known.clone(),
                    user_id,
                ));
            }
            let others: Vec<&String> = self
                .user_ids
                .iter()
                .filter(|(r, _)| **r != owner)
                .map(|(_, u)| u)
                .collect();
            if others.contains(&&user_id) {
                return Err(fail(
                    "owner",
                    "tokens of two users carry the same userId".into(),
                    "a userId per user".into(),
                    user_id,
                ));
            }
        }
        self.tokens.insert(
            slot,
            Token {
                owner,
                live: true,
                id,
                secret,
                created: token,
                masked: None,
            },
        );
        Ok(())
    }

    /// Judges a list against the model: exactly the caller's live tokens of this sequence,
    /// each masked and with the fields it was created with.
    fn listed(&mut self, index: usize, owner: Role, items: &[Value]) -> Result<(), Stop> {
        let fail = |kind, message: String, expected: String, actual: String| {
            Stop::Mismatch(Mismatch {
                step: index,
                kind,
                message,
                expected,
                actual,
                pointer: None,
            })
        };
        let ours: Vec<&Value> = items
            .iter()
            .filter(|item| {
                let named = item
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.starts_with(&self.prefix));
                let id = item.get("_id").and_then(Value::as_str).unwrap_or("");
                named || self.ids.contains(id)
            })
            .collect();
        let slot_of = |id: &str| {
            self.tokens
                .iter()
                .find(|(_, t)| t.id == id)
                .map(|(s, _)| *s)
        };
        let want: BTreeSet<usize> = self
            .tokens
            .iter()
            .filter(|(_, t)| t.live && t.owner == owner)
            .map(|(s, _)| *s)
            .collect();
        let mut got: BTreeSet<usize> = BTreeSet::new();
        let mut strangers = Vec::new();
        for item in &ours {
            let id = item.get("_id").and_then(Value::as_str).unwrap_or("");
            match slot_of(id) {
                Some(s) if got.insert(s) => {}
                Some(s) => strangers.push(format!("t{s} listed twice")),
                None => strangers.push(format!("unknown id {id}")),
            }
        }
        let slots = |set: &BTreeSet<usize>| {
            if set.is_empty() {
                return "none".to_owned();
            }
            set.iter()
                .map(|s| format!("t{s}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let missing: BTreeSet<usize> = want.difference(&got).copied().collect();
        let extra: BTreeSet<usize> = got.difference(&want).copied().collect();
        if !missing.is_empty() || !extra.is_empty() || !strangers.is_empty() {
            let mut actual = Vec::new();
            if !missing.is_empty() {
                actual.push(format!("missing {}", slots(&missing)));
            }
            for s in &extra {
                let t = &self.tokens[s];
                let why = if t.owner != owner {
                    format!("t{s} (another user's)")
                } else {
                    format!("t{s} (deleted)")
                };
                actual.push(format!("extra {why}"));
            }
            actual.extend(strangers);
            let kind = if !missing.is_empty() {
                "list-missing"
            } else {
                "list-extra"
            };
            return Err(fail(
                kind,
                format!(
                    "the list of {} does not show exactly the user's live tokens of this sequence ({} of them)",
                    owner.env_var(),
                    want.len()
                ),
                format!("{} live: {}", want.len(), slots(&want)),
                actual.join("; "),
            ));
        }
        let found: Vec<(usize, &Value)> = ours
            .iter()
            .filter_map(|item| {
                let id = item.get("_id").and_then(Value::as_str).unwrap_or("");
                slot_of(id).map(|s| (s, *item))
            })
            .collect();
        for (slot, item) in found {
            let token = self.tokens.get_mut(&slot).expect("slot_of found it");
            for (field, want) in token.created.as_object().into_iter().flatten() {
                if self.facts.secret_fields.contains(field)
                    || !self.facts.documented_fields.contains(field)
                {
                    continue;
                }
                let same = match (timestamp(&token.created, field), timestamp(item, field)) {
                    (Some(a), Some(b)) => a == b,
                    _ => item.get(field) == Some(want),
                };
                // `updatedAt` may move; nothing in this API updates a token, but the spec
                // does not promise it.
                if !same && field != "updatedAt" {
                    return Err(fail(
                        "list-fields",
                        format!(
                            "t{slot} is listed with another `{field}` than it was created with"
                        ),
                        want.to_string(),
                        item.get(field).map_or("nothing".into(), Value::to_string),
                    ));
                }
            }
            for field in &self.facts.secret_fields {
                let shown = item.get(field).and_then(Value::as_str).unwrap_or("");
                if shown.is_empty() || shown.contains(&token.secret) {
                    return Err(fail(
                        "masking",
                        format!("t{slot}'s `{field}` is not masked in the list"),
                        "a masked value that does not contain the secret".into(),
                        if shown.is_empty() {
                            "nothing".into()
                        } else {
                            "the secret".into()
                        },
                    ));
                }
                match &token.masked {
                    None => token.masked = Some(shown.to_owned()),
                    Some(m) if m != shown => {
                        return Err(fail(
                            "masking",
                            format!("t{slot}'s masked `{field}` changed between two lists"),
                            m.clone(),
                            shown.to_owned(),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// How a sequence ended.
struct Outcome {
    /// `None`: every answer matched the model (or a step could not be carried out).
    mismatch: Option<Mismatch>,
    aborted: bool,
    peak_live: usize,
}

/// Runs `ops` in `ctx`, naming tokens with `prefix`. Stops at the first mismatch.
async fn execute(ctx: &mut Ctx<'_>, facts: &Facts, ops: &[Op], prefix: String) -> Outcome {
    let mut model = Model::new(facts, prefix);
    let mut outcome = Outcome {
        mismatch: None,
        aborted: false,
        peak_live: 0,
    };
    for (i, op) in ops.iter().enumerate() {
        if ctx
            .shared
            .config
            .cancel
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            break;
        }
        match model.step(ctx, i, op).await {
            Ok(()) => {}
            Err(Stop::Mismatch(m)) => {
                outcome.mismatch = Some(m);
                break;
            }
            Err(Stop::Aborted) => {
                outcome.aborted = true;
                break;
            }
        }
    }
    outcome.peak_live = model.peak_live;
    outcome
}

/// A replay in a context of its own: its events are not reported (the shrunk sequence is),
/// its tokens are deleted at once. Returns the mismatch and the requests it took.
async fn replay(
    ctx: &Ctx<'_>,
    facts: &Facts,
    ops: &[Op],
    attempt: usize,
) -> (Option<Mismatch>, usize) {
    let mut quiet = Ctx::new(ctx.shared, &ctx.scenario, 0);
    quiet.prefix = ctx.prefix.clone();
    let prefix = quiet.token_name(&format!("r{attempt}-"));
    let outcome = execute(&mut quiet, facts, ops, prefix).await;
    quiet.clean_up().await;
    let requests = quiet.tally.stats.requests;
    (outcome.mismatch, requests)
}

/// Shrinks a failing sequence: drops chunks of steps (halving their size) as long as the
/// replay still fails the same way. Deterministic for a deterministic server.
async fn shrink(
    ctx: &Ctx<'_>,
    facts: &Facts,
    ops: &[Op],
    first: Mismatch,
    max_requests: usize,
) -> (Vec<Op>, Mismatch, usize, usize) {
    let mut current: Vec<Op> = ops[..=first.step].to_vec();
    let mut best = first;
    let (mut replays, mut requests) = (0, 0);
    let mut chunk = current.len().div_ceil(2).max(1);
    loop {
        let mut progressed = false;
        let mut start = 0;
        // Never drop the failing step itself: it is what the shrink keeps.
        while start + 1 < current.len() && replays < MAX_REPLAYS && requests < max_requests {
            let end = (start + chunk).min(current.len() - 1);
            let candidate = without(&current, start..end);
            if candidate.len() == current.len() || candidate.is_empty() {
                start = end;
                continue;
            }
            replays += 1;
            let (mismatch, n) = replay(ctx, facts, &candidate, replays).await;
            requests += n;
            match mismatch {
                Some(m) if m.kind == best.kind => {
                    current = candidate[..=m.step].to_vec();
                    best = m;
                    progressed = true;
                }
                _ => start = end,
            }
        }
        if replays >= MAX_REPLAYS || requests >= max_requests || (chunk == 1 && !progressed) {
            break;
        }
        if !progressed {
            chunk = chunk.div_ceil(2);
        }
    }
    (current, best, replays, requests)
}

fn caller_text(by: Caller) -> String {
    match by {
        Caller::Bearer(r) => format!("as {}", r.env_var()),
        Caller::Secret(s) => format!("with t{s}'s secret"),
    }
}

/// One step in words, for the numbered list.
fn describe(op: &Op, facts: &Facts) -> String {
    let privileges = |p: &Option<Vec<String>>| match p {
        None => "no privileges field".to_owned(),
        Some(p) if p.is_empty() => "privileges []".to_owned(),
        Some(p) => format!("privileges {p:?}"),
    };
    match op {
        Op::Create {
            by,
            slot,
            lifetime,
            privileges: p,
        } => format!(
            "create t{slot} {} (lifetime {}, {})",
            caller_text(*by),
            facts.lifetimes[*lifetime].name,
            privileges(p)
        ),
        Op::List { by } => format!("list {}", caller_text(*by)),
        Op::Delete {
            by,
            target: Target::Slot(s),
        } => format!("delete t{s} {}", caller_text(*by)),
        Op::Delete {
            by,
            target: Target::Unknown(id),
        } => format!("delete the unknown id {id} {}", caller_text(*by)),
        Op::BurstCreate {
            by,
            slots,
            lifetime,
        } => format!(
            "at the same time, create {} as {} (lifetime {})",
            slots
                .iter()
                .map(|s| format!("t{s}"))
                .collect::<Vec<_>>()
                .join(", "),
            by.env_var(),
            facts.lifetimes[*lifetime].name
        ),
        Op::BurstDelete { slot, copies } => {
            format!("at the same time, delete t{slot} {copies} times as its owner")
        }
    }
}

/// A shell script that replays the steps with curl and jq. Credentials are the run's
/// environment variables; created ids and secrets are captured into `ID_n`/`SECRET_n`.
fn script(ops: &[Op], facts: &Facts, api: &Api, base_url: &str) -> String {
    let auth = |by: Caller| match by {
        Caller::Bearer(r) => format!("-H \"Authorization: Bearer ${}\"", r.env_var()),
        Caller::Secret(s) => format!("-H \"{}: $SECRET_{s}\"", facts.header),
    };
    let secret = facts.secret_fields.first().map_or("token", String::as_str);
    // The id is a shell variable: put it in after the path is built, so it is not escaped.
    let delete_path = |id: &str| api.delete.path_with("IDMARK").replace("IDMARK", id);
    let body = |slot: usize, lifetime: usize, p: &Option<Vec<String>>| {
        let mut b = json!({
            "name": format!("{RUN_NAME_PREFIX}replay-t{slot}"),
            "lifetime": facts.lifetimes[lifetime].name,
        });
        if let Some(p) = p {
            b["privileges"] = json!(p);
        }
        b.to_string().replace('\'', "'\\''")
    };
    let capture = |slot: usize, var: &str| {
        format!(
            "ID_{slot}=$(printf '%s' \"${var}\" | jq -r '._id'); SECRET_{slot}=$(printf '%s' \"${var}\" | jq -r '.{secret}')\n"
        )
    };
    let mut out = format!(
        "# needs curl and jq; the credentials come from the same variables as the run\nBASE='{base_url}'\nTMP=$(mktemp -d)\n"
    );
    let ct = format!("-H 'content-type: {}'", facts.content_type);
    for (n, op) in ops.iter().enumerate() {
        let _ = writeln!(out, "# {}. {}", n + 1, describe(op, facts));
        match op {
            Op::Create {
                by,
                slot,
                lifetime,
                privileges,
            } => {
                let _ = writeln!(
                    out,
                    "R=$(curl -sS -X POST \"$BASE{}\" {} {ct} --data-binary '{}'); echo \"$R\"",
                    facts.create_path,
                    auth(*by),
                    body(*slot, *lifetime, privileges)
                );
                out.push_str(&capture(*slot, "R"));
            }
            Op::List { by } => {
                let _ = writeln!(
                    out,
                    "curl -sS -i \"$BASE{}\" {}; echo",
                    facts.list_path,
                    auth(*by)
                );
            }
            Op::Delete { by, target } => {
                let id = match target {
                    Target::Slot(s) => format!("$ID_{s}"),
                    Target::Unknown(id) => id.clone(),
                };
                let _ = writeln!(
                    out,
                    "curl -sS -i -X DELETE \"$BASE{}\" {}; echo",
                    delete_path(&id),
                    auth(*by)
                );
            }
            Op::BurstCreate {
                by,
                slots,
                lifetime,
            } => {
                for s in slots {
                    let _ = writeln!(
                        out,
                        "curl -sS -X POST \"$BASE{}\" {} {ct} --data-binary '{}' > \"$TMP/{s}\" &",
                        facts.create_path,
                        auth(Caller::Bearer(*by)),
                        body(*s, *lifetime, &None)
                    );
                }
                out.push_str("wait\n");
                for s in slots {
                    let _ = writeln!(out, "R=$(cat \"$TMP/{s}\"); echo \"$R\"");
                    out.push_str(&capture(*s, "R"));
                }
            }
            Op::BurstDelete { slot, copies } => {
                for _ in 0..*copies {
                    let _ = writeln!(
                        out,
                        "curl -sS -o /dev/null -w '%{{http_code}}\\n' -X DELETE \"$BASE{}\" -H \"Authorization: Bearer $OWNER_{slot}\" &",
                        delete_path(&format!("$ID_{slot}"))
                    );
                }
                out.push_str("wait\n");
            }
        }
    }
    // A burst delete authenticates as the token's owner: name them.
    let owners = owners(ops);
    if !owners.is_empty() {
        let mut head = String::new();
        for (slot, role) in owners {
            let _ = writeln!(head, "OWNER_{slot}=\"${}\"", role.env_var());
        }
        out = out.replacen(
            "TMP=$(mktemp -d)\n",
            &format!("TMP=$(mktemp -d)\n{head}"),
            1,
        );
    }
    out
}

/// The owner of every token a burst delete names, by replaying the simulation.
fn owners(ops: &[Op]) -> Vec<(usize, Role)> {
    let mut tokens: BTreeMap<usize, SimToken> = BTreeMap::new();
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Create { by, slot, .. } => {
                let owner = match by {
                    Caller::Bearer(r) => Some(*r),
                    Caller::Secret(s) => tokens.get(s).map(|t| t.owner),
                };
                tokens.insert(
                    *slot,
                    SimToken {
                        owner: owner.unwrap_or(Role::User),
                        live: true,
                        exists: true,
                    },
                );
            }
            Op::BurstCreate { by, slots, .. } => {
                for s in slots {
                    tokens.insert(
                        *s,
                        SimToken {
                            owner: *by,
                            live: true,
                            exists: true,
                        },
                    );
                }
            }
            Op::BurstDelete { slot, .. } => {
                if let Some(t) = tokens.get(slot) {
                    out.push((*slot, t.owner));
                }
            }
            _ => {}
        }
    }
    out
}

/// The environment a sequence may use: who has credentials, what the spec offers.
fn env(ctx: &Ctx<'_>, facts: &Facts) -> Env {
    let has = |r: Role| ctx.credential(r).is_some();
    Env {
        users: [Role::User, Role::OtherUser]
            .into_iter()
            .filter(|r| has(*r))
            .collect(),
        forbidden: has(Role::Forbidden),
        expired: has(Role::Expired),
        lifetimes: facts.lifetimes.len(),
        privileges: privilege_choices(&ctx.shared.config.spec, ctx.api()),
    }
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) {
    // The requests depend on the seed: a snapshot of them would never match.
    ctx.snapshot = false;
    let facts = match Facts::read(ctx.api(), &ctx.shared.config.spec) {
        Ok(f) => f,
        Err(why) => {
            ctx.step_failed(&why);
            return;
        }
    };
    if facts.lifetimes.is_empty() {
        ctx.step_failed("the spec has no lifetimes to create tokens with");
        return;
    }
    let seed = case.seed.unwrap_or_default();
    let env = env(ctx, &facts);
    let ops = generate(seed, case.steps, &env);
    let prefix = ctx.token_name("s-");
    let outcome = execute(ctx, &facts, &ops, prefix).await;
    if outcome.aborted {
        return;
    }
    let Some(first) = outcome.mismatch else {
        ctx.check(checks::MODEL_MATCHES, Ok(()));
        return;
    };
    let original = first.step + 1;
    // Delete what the failing sequence created before the replays start.
    ctx.clean_up().await;
    let budget = SHRINK_REQUESTS_PER_STEP * case.steps;
    let (minimal, last, replays, requests) = shrink(ctx, &facts, &ops, first, budget).await;
    ctx.tally.stats.requests += requests;
    let mut message = format!(
        "the answers left the model: {} (seed {seed}, step {original} of {}; shrunk to {} steps in {replays} replays, {requests} requests)\n",
        last.message,
        ops.len(),
        minimal.len()
    );
    for (n, op) in minimal.iter().enumerate() {
        let _ = write!(message, "{:>3}. {}", n + 1, describe(op, &facts));
        if n == last.step {
            let _ = write!(
                message,
                "  ← expected {}, got {}",
                last.expected, last.actual
            );
        }
        message.push('\n');
    }
    let _ = writeln!(
        message,
        "replay exactly: conformance run --suite model --seed {seed} --model-steps {}",
        case.steps
    );
    message.push_str("or with this script:\n");
    message.push_str(&script(
        &minimal,
        &facts,
        ctx.api(),
        ctx.shared.transport.base_url(),
    ));
    let mut failure = Failure::new(message.trim_end().to_owned())
        .expected(last.expected)
        .actual(last.actual);
    if let Some(p) = last.pointer {
        failure = failure.at(p);
    }
    ctx.check(checks::MODEL_MATCHES, Err(failure));
}

/// The shrunk sequence a failing seed ends with, for tests: the steps in words.
pub fn describe_all(ops: &[Op], spec: &Spec) -> Vec<String> {
    let Ok(api) = Api::from_spec(spec) else {
        return Vec::new();
    };
    let Ok(facts) = Facts::read(&api, spec) else {
        return Vec::new();
    };
    ops.iter().map(|op| describe(op, &facts)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_seed_gives_the_same_sequence() {
        let e = env(&[Role::User, Role::OtherUser]);
        assert_eq!(generate(7, 120, &e), generate(7, 120, &e));
        assert_ne!(generate(7, 120, &e), generate(8, 120, &e));
        assert_eq!(generate(7, 120, &e).len(), 120);
    }

    #[test]
    fn sequences_hold_dozens_of_live_tokens_and_use_every_kind_of_step() {
        let e = env(&[Role::User, Role::OtherUser]);
        for seed in 0..20 {
            let ops = generate(seed, DEFAULT_STEPS, &e);
            let mut tokens = Vec::new();
            let mut peak = 0;
            for op in &ops {
                apply(op, &mut tokens);
                let owned = tokens.iter().filter(|t| t.live && t.owner == Role::User);
                peak = peak.max(owned.count());
            }
            // More than a typical page (20) for one user, at some point.
            assert!(peak >= 25, "seed {seed}: peak {peak}");
            let has = |f: fn(&Op) -> bool| ops.iter().any(f);
            assert!(has(|o| matches!(o, Op::BurstCreate { .. })), "seed {seed}");
            assert!(has(|o| matches!(o, Op::BurstDelete { .. })), "seed {seed}");
            assert!(has(|o| matches!(o, Op::List { .. })));
            assert!(has(|o| matches!(o, Op::Delete { .. })));
            assert!(has(|o| matches!(
                o,
                Op::Create {
                    by: Caller::Secret(_),
                    ..
                }
            )));
        }
    }

    #[test]
    fn dropping_a_create_drops_the_steps_that_need_its_token() {
        let ops = vec![
            Op::Create {
                by: Caller::Bearer(Role::User),
                slot: 0,
                lifetime: 0,
                privileges: None,
            },
            Op::List {
                by: Caller::Secret(0),
            },
            Op::Delete {
                by: Caller::Bearer(Role::User),
                target: Target::Slot(0),
            },
            Op::List {
                by: Caller::Bearer(Role::User),
            },
        ];
        let rest = without(&ops, 0..1);
        assert_eq!(rest, vec![ops[3].clone()]);
    }
}
