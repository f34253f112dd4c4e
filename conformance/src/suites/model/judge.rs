//! The judge: runs a lane's steps against the server and compares every answer with what
//! the reference model ([`super::reference::State`]) says it must be. Beyond the status it
//! judges a create's echo and expiry, the uniqueness of ids and secrets, and for a list the
//! exact set of this lane's tokens the caller must see, masked, with the fields they were
//! created with. Tokens outside the lane (other lanes, other scenarios, the account's own)
//! are ignored, so lanes running at once cannot cause false alarms.

use super::facts::{Facts, create_body};
use super::ops::{Caller, Op, Step, Target};
use super::reference::{Expect, State};
use crate::api::OperationId;
use crate::checks;
use crate::context::{Ctx, RawRequest};
use crate::roles::Role;
use crate::transport::Auth;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// What the server told the judge about a lane token.
#[derive(Debug, Clone)]
struct Token {
    id: String,
    secret: String,
    /// The create's answer: what every later list must show (but the masked secret).
    created: Value,
    /// The masked value of the first list that showed it: later lists show the same.
    masked: Option<String>,
}

/// Where and how the answers left the model.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// Index into the lane's steps, and of the operation in its step.
    pub step: usize,
    pub op: usize,
    /// What kind of divergence: a shrink keeps only replays that fail the same way.
    pub kind: &'static str,
    pub message: String,
    pub expected: String,
    pub actual: String,
    pub pointer: Option<String>,
}

pub enum Stop {
    /// The answers left the model.
    Mismatch(Box<Mismatch>),
    /// A step could not be carried out (no answer); already reported by the context.
    Aborted,
}

/// The judge while a lane runs: the reference state, and what the server said.
struct Judge<'f> {
    facts: &'f Facts,
    /// Names of this lane's tokens start with this.
    prefix: String,
    state: State,
    tokens: BTreeMap<usize, Token>,
    /// The owner field's value each user's tokens carry, from the first of them.
    user_ids: BTreeMap<Role, String>,
    ids: BTreeSet<String>,
    secrets: BTreeSet<String>,
}

fn timestamp(v: &Value, field: &str) -> Option<DateTime<Utc>> {
    v.get(field)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A value for a message: JSON, or `nothing`.
fn shown(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing".to_owned(), Value::to_string)
}

/// How many names a lane's tokens share. Siblings with one name (and, from the small pool
/// of privilege lists, the same privileges) meet by construction, whatever the seed: a delete
/// or an update that a server keys by name instead of id shows as a token missing or changed.
pub const NAME_POOL: usize = 3;

/// A token's name in a lane: the lane's prefix and one of [`NAME_POOL`] names by its slot.
pub fn token_name(prefix: &str, slot: usize) -> String {
    format!("{prefix}t{}", slot % NAME_POOL)
}

impl Judge<'_> {
    fn fail(
        step: (usize, usize),
        kind: &'static str,
        message: String,
        expected: String,
        actual: String,
    ) -> Stop {
        Stop::Mismatch(Box::new(Mismatch {
            step: step.0,
            op: step.1,
            kind,
            message,
            expected,
            actual,
            pointer: None,
        }))
    }

    fn auth(&self, by: Caller) -> Auth {
        match by {
            Caller::Bearer(r) => Auth::Role(r),
            Caller::Secret(s) => {
                let t = &self.tokens[&s];
                Auth::Header {
                    name: self.facts.header.clone(),
                    value: t.secret.clone(),
                    owner: self.state.slot(s).map(|t| t.owner),
                }
            }
        }
    }

    fn delete_path(&self, ctx: &Ctx<'_>, target: &Target) -> String {
        let id = match target {
            Target::Slot(s) => self.tokens[s].id.clone(),
            Target::Unknown(id) => id.clone(),
        };
        ctx.api().delete.path_with(&id)
    }

    /// The requests of one operation, and the body of a create.
    fn requests(&self, ctx: &Ctx<'_>, op: &Op, status: u16) -> (Vec<RawRequest>, Option<Value>) {
        match op {
            Op::Create {
                by,
                slot,
                lifetime,
                privileges,
            } => {
                let body = create_body(
                    self.facts,
                    token_name(&self.prefix, *slot),
                    *lifetime,
                    privileges,
                );
                let request = RawRequest {
                    kind: OperationId::CreateMyToken,
                    path: self.facts.create_path.clone(),
                    auth: self.auth(*by),
                    headers: vec![("content-type", self.facts.content_type.clone())],
                    body: Some(serde_json::to_vec(&body).unwrap_or_default()),
                    expected: vec![status],
                };
                (vec![request], Some(body))
            }
            Op::List { by } => (
                vec![RawRequest {
                    kind: OperationId::ListMyTokens,
                    path: self.facts.list_path.clone(),
                    auth: self.auth(*by),
                    headers: Vec::new(),
                    body: None,
                    expected: vec![status],
                }],
                None,
            ),
            Op::Delete { by, target } => (
                vec![RawRequest {
                    kind: OperationId::DeleteMyToken,
                    path: self.delete_path(ctx, target),
                    auth: self.auth(*by),
                    headers: Vec::new(),
                    body: None,
                    expected: vec![status],
                }],
                None,
            ),
            Op::Race { slot, copies } => {
                let owner = self.state.slot(*slot).map_or(Role::User, |t| t.owner);
                let request = RawRequest {
                    kind: OperationId::DeleteMyToken,
                    path: self.delete_path(ctx, &Target::Slot(*slot)),
                    auth: Auth::Role(owner),
                    headers: Vec::new(),
                    body: None,
                    expected: vec![self.facts.delete_ok, self.facts.unknown_id],
                };
                (vec![request; *copies], None)
            }
        }
    }

    /// Sends one step's requests at once and judges every answer.
    async fn step(&mut self, ctx: &mut Ctx<'_>, index: usize, step: &Step) -> Result<(), Stop> {
        let expects: Vec<Expect> = step.iter().map(|op| self.state.expect(op)).collect();
        let mut requests = Vec::new();
        let mut spans = Vec::new();
        let mut bodies = Vec::new();
        for (op, e) in step.iter().zip(&expects) {
            let (r, body) = self.requests(ctx, op, self.facts.status(op, *e));
            spans.push(requests.len()..requests.len() + r.len());
            requests.extend(r);
            bodies.push(body);
        }
        let before = ctx.requests();
        let answers = ctx.burst(&requests).await;
        let mut statuses = Vec::with_capacity(answers.len());
        for a in &answers {
            statuses.push(a.as_ref().map(|r| r.status).ok_or(Stop::Aborted)?);
        }
        // A delete retried after a lost answer may meet the deletion that attempt made.
        let lost = ctx.lost_answers(before..ctx.requests());
        for (j, (op, expect)) in step.iter().zip(&expects).enumerate() {
            let at = (index, j);
            let span = spans[j].clone();
            let want = self.facts.status(op, *expect);
            if let Op::Race { copies, .. } = op {
                self.race(at, *copies, *expect, &statuses[span], lost)?;
                continue;
            }
            let answer = answers[span.start].as_ref().ok_or(Stop::Aborted)?;
            let got = answer.status;
            // The lost attempt deleted the token: the retry meets the unknown id, or, for a
            // token deleting itself with its own secret, the 401 of a secret that is gone.
            let retried_success = lost > 0
                && *expect == Expect::Ok
                && match op {
                    Op::Delete { by, target } => {
                        got == self.facts.unknown_id
                            || (got == self.facts.unauthorized
                                && matches!((by, target), (Caller::Secret(s), Target::Slot(t)) if s == t))
                    }
                    _ => false,
                };
            if got != want && !retried_success {
                let what = match op {
                    Op::Create { .. } => "a create",
                    Op::List { .. } => "a list",
                    _ => "a delete",
                };
                let beside = if step.len() > 1 {
                    format!(
                        " (one of {} requests sent at the same time)",
                        requests.len()
                    )
                } else {
                    String::new()
                };
                return Err(Self::fail(
                    at,
                    "status",
                    format!("{what} got another status than the model predicts{beside}"),
                    want.to_string(),
                    got.to_string(),
                ));
            }
            match (
                op,
                self.state.identity(match op {
                    Op::Create { by, .. } | Op::List { by } | Op::Delete { by, .. } => *by,
                    Op::Race { .. } => Caller::Bearer(Role::User),
                }),
            ) {
                (Op::Create { slot, lifetime, .. }, Ok(owner)) if *expect == Expect::Ok => {
                    let token = answer.json().unwrap_or(Value::Null);
                    let sent = bodies[j].clone().unwrap_or(Value::Null);
                    self.created(ctx, at, *slot, owner, &sent, *lifetime, token)?;
                }
                (Op::List { .. }, Ok(owner)) if *expect == Expect::Ok => {
                    let items = answer.json().and_then(|v| v.as_array().cloned());
                    let Some(items) = items else {
                        return Err(Self::fail(
                            at,
                            "list-body",
                            "the list answer is not a JSON array".into(),
                            "a JSON array".into(),
                            String::from_utf8_lossy(&answer.body)
                                .chars()
                                .take(200)
                                .collect(),
                        ));
                    };
                    self.listed(at, owner, &items)?;
                }
                _ => {}
            }
        }
        // The step's creates took their slots in `created`; the rest advances the state.
        let writes: Step = step
            .iter()
            .filter(|op| !matches!(op, Op::Create { .. }))
            .cloned()
            .collect();
        self.state.apply_step(&writes);
        Ok(())
    }

    fn race(
        &self,
        at: (usize, usize),
        copies: usize,
        expect: Expect,
        statuses: &[u16],
        lost: usize,
    ) -> Result<(), Stop> {
        let (ok, gone) = (self.facts.delete_ok, self.facts.unknown_id);
        // A shrunk sequence may have deleted the token already: then none succeeds.
        let want = usize::from(expect == Expect::Ok);
        let successes = statuses.iter().filter(|s| **s == ok).count();
        let others = statuses.iter().filter(|s| **s != ok && **s != gone).count();
        let explained = successes == want || (successes < want && lost > 0);
        if explained && others == 0 {
            return Ok(());
        }
        let list = statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Err(Self::fail(
            at,
            "race",
            format!(
                "{copies} deletes of one token sent at the same time: exactly one may succeed, the others find it gone"
            ),
            format!("{want} × {ok} and {} × {gone}", copies - want),
            list,
        ))
    }

    /// Judges a create's answer against the request and the model, and adds the token.
    #[allow(clippy::too_many_arguments)]
    fn created(
        &mut self,
        ctx: &mut Ctx<'_>,
        at: (usize, usize),
        slot: usize,
        owner: Role,
        sent: &Value,
        lifetime: usize,
        token: Value,
    ) -> Result<(), Stop> {
        let fields = &self.facts.fields;
        let text = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).map(str::to_owned);
        let id = text(&token, &fields.id).unwrap_or_default();
        let secret = text(&token, &fields.secret).unwrap_or_default();
        let as_mismatch = |kind: &'static str, f: checks::Failure| {
            Stop::Mismatch(Box::new(Mismatch {
                step: at.0,
                op: at.1,
                kind,
                message: f.message,
                expected: f.expected.unwrap_or_default(),
                actual: f.actual.unwrap_or_default(),
                pointer: f.spec_pointer,
            }))
        };
        checks::echo::create_echoes(fields, sent, &token).map_err(|f| as_mismatch("echo", f))?;
        let l = &self.facts.lifetimes[lifetime];
        checks::echo::expiry_matches(fields, l, &token).map_err(|f| as_mismatch("expiry", f))?;
        if id.is_empty() || secret.is_empty() {
            return Err(Self::fail(
                at,
                "echo",
                "the created token has no id or no secret".into(),
                format!("an `{}` and a secret", fields.id),
                format!(
                    "id {}, {}",
                    shown(token.get(fields.id.as_str())),
                    if secret.is_empty() {
                        "no secret"
                    } else {
                        "a secret"
                    }
                ),
            ));
        }
        if !self.ids.insert(id.clone()) {
            return Err(Self::fail(
                at,
                "unique",
                "a create answered an id the lane has seen before".into(),
                "a new id".into(),
                id,
            ));
        }
        if !self.secrets.insert(secret.clone()) {
            return Err(Self::fail(
                at,
                "unique",
                "a create answered a secret the lane has seen before".into(),
                "a new secret".into(),
                "a secret already handed out".into(),
            ));
        }
        let unique = ctx.shared.seen.check_new(&id, &secret);
        ctx.check(checks::IDS_AND_SECRETS_UNIQUE, unique);
        if let Some(user_id) = text(&token, &fields.owner) {
            let known = self
                .user_ids
                .entry(owner)
                .or_insert_with(|| user_id.clone());
            if *known != user_id {
                return Err(Self::fail(
                    at,
                    "owner",
                    format!(
                        "a token created as {} carries another {} than the user's earlier tokens",
                        owner.env_var(),
                        fields.owner
                    ),
                    known.clone(),
                    user_id,
                ));
            }
            if self
                .user_ids
                .iter()
                .any(|(r, u)| *r != owner && *u == user_id)
            {
                return Err(Self::fail(
                    at,
                    "owner",
                    format!("tokens of two users carry the same {}", fields.owner),
                    format!("a {} per user", fields.owner),
                    user_id,
                ));
            }
        }
        self.state.apply(&Op::Create {
            by: Caller::Bearer(owner),
            slot,
            lifetime,
            privileges: None,
        });
        self.tokens.insert(
            slot,
            Token {
                id,
                secret,
                created: token,
                masked: None,
            },
        );
        Ok(())
    }

    /// Judges a list against the model: exactly the caller's live tokens of this lane, each
    /// masked and with the fields it was created with.
    fn listed(&mut self, at: (usize, usize), owner: Role, items: &[Value]) -> Result<(), Stop> {
        let ours = self.ours(items);
        self.listed_slots(at, owner, &ours)?;
        let facts = self.facts;
        let found: Vec<(usize, &Value)> = ours
            .iter()
            .filter_map(|item| {
                let id = facts.fields.id_of(item).unwrap_or("");
                self.slot_of(id).map(|s| (s, *item))
            })
            .collect();
        for (slot, item) in found {
            let Some(token) = self.tokens.get_mut(&slot) else {
                continue;
            };
            Self::listed_as_created(facts, at, slot, token, item)?;
            Self::listed_masked(facts, at, slot, token, item)?;
        }
        Ok(())
    }

    /// The list items of this lane: named with its prefix, or with an id it was answered.
    fn ours<'v>(&self, items: &'v [Value]) -> Vec<&'v Value> {
        items
            .iter()
            .filter(|item| {
                let named = self
                    .facts
                    .fields
                    .name_of(item)
                    .is_some_and(|n| n.starts_with(&self.prefix));
                let id = self.facts.fields.id_of(item).unwrap_or("");
                named || self.ids.contains(id)
            })
            .collect()
    }

    /// The slot of the lane token with this id.
    fn slot_of(&self, id: &str) -> Option<usize> {
        self.tokens
            .iter()
            .find(|(_, t)| t.id == id)
            .map(|(s, _)| *s)
    }

    /// Whether the lane's listed tokens are exactly the owner's live ones, each once.
    fn listed_slots(&self, at: (usize, usize), owner: Role, ours: &[&Value]) -> Result<(), Stop> {
        let want: BTreeSet<usize> = self.state.live_of(owner).into_iter().collect();
        let mut got: BTreeSet<usize> = BTreeSet::new();
        let mut strangers = Vec::new();
        for item in ours {
            let id = self.facts.fields.id_of(item).unwrap_or("");
            match self.slot_of(id) {
                Some(s) if got.insert(s) => {}
                Some(s) => strangers.push(format!("t{s} listed twice")),
                None => strangers.push(format!(
                    "unknown id {}",
                    shown(item.get(self.facts.fields.id.as_str()))
                )),
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
        if missing.is_empty() && extra.is_empty() && strangers.is_empty() {
            return Ok(());
        }
        let mut actual = Vec::new();
        if !missing.is_empty() {
            actual.push(format!("missing {}", slots(&missing)));
        }
        for s in &extra {
            let why = match self.state.slot(*s) {
                Some(t) if t.owner != owner => "another user's",
                _ => "deleted",
            };
            actual.push(format!("extra t{s} ({why})"));
        }
        actual.extend(strangers);
        let kind = if !missing.is_empty() {
            "list-missing"
        } else {
            "list-extra"
        };
        Err(Self::fail(
            at,
            kind,
            format!(
                "the list of {} does not show exactly the user's live tokens of this lane ({} of them)",
                owner.env_var(),
                want.len()
            ),
            format!("{} live: {}", want.len(), slots(&want)),
            actual.join("; "),
        ))
    }

    /// Whether a listed token shows every documented field but its secret as it was created.
    fn listed_as_created(
        facts: &Facts,
        at: (usize, usize),
        slot: usize,
        token: &Token,
        item: &Value,
    ) -> Result<(), Stop> {
        for (field, want) in token.created.as_object().into_iter().flatten() {
            if facts.secret_fields.contains(field) || !facts.documented_fields.contains(field) {
                continue;
            }
            let same = match (timestamp(&token.created, field), timestamp(item, field)) {
                (Some(a), Some(b)) => a == b,
                _ => item.get(field) == Some(want),
            };
            // A timestamp other than the creation and the expiry (`updatedAt`) may move;
            // nothing in this API updates a token, but the spec does not promise it.
            let fields = &facts.fields;
            let may_move = fields.timestamps.contains(field)
                && *field != fields.created
                && *field != fields.expires;
            if !same && !may_move {
                return Err(Self::fail(
                    at,
                    "list-fields",
                    format!("t{slot} is listed with another `{field}` than it was created with"),
                    want.to_string(),
                    shown(item.get(field)),
                ));
            }
        }
        Ok(())
    }

    /// Whether a listed token's secret fields are masked, and masked as the first list showed
    /// them (which this records).
    fn listed_masked(
        facts: &Facts,
        at: (usize, usize),
        slot: usize,
        token: &mut Token,
        item: &Value,
    ) -> Result<(), Stop> {
        for field in &facts.secret_fields {
            let value = item.get(field).and_then(Value::as_str).unwrap_or("");
            if value.is_empty() || value.contains(&token.secret) {
                return Err(Self::fail(
                    at,
                    "masking",
                    format!("t{slot}'s `{field}` is not masked in the list"),
                    "a masked value that does not contain the secret".into(),
                    if value.is_empty() {
                        "nothing".into()
                    } else {
                        "the secret".into()
                    },
                ));
            }
            match &token.masked {
                None => token.masked = Some(value.to_owned()),
                Some(m) if m != value => {
                    return Err(Self::fail(
                        at,
                        "masking",
                        format!("t{slot}'s masked `{field}` changed between two lists"),
                        json!(m).to_string(),
                        json!(value).to_string(),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// How a lane ended.
pub struct Outcome {
    /// `None`: every answer matched the model (or a step could not be carried out).
    pub mismatch: Option<Mismatch>,
    pub aborted: bool,
}

/// Runs `steps` in `ctx`, naming tokens with `prefix`. Stops at the first mismatch.
pub async fn execute(ctx: &mut Ctx<'_>, facts: &Facts, steps: &[Step], prefix: String) -> Outcome {
    let mut judge = Judge {
        facts,
        prefix,
        state: State::default(),
        tokens: BTreeMap::new(),
        user_ids: BTreeMap::new(),
        ids: BTreeSet::new(),
        secrets: BTreeSet::new(),
    };
    let mut outcome = Outcome {
        mismatch: None,
        aborted: false,
    };
    for (i, step) in steps.iter().enumerate() {
        if ctx.shared.control.is_cancelled() {
            break;
        }
        match judge.step(ctx, i, step).await {
            Ok(()) => {}
            Err(Stop::Mismatch(m)) => {
                outcome.mismatch = Some(*m);
                break;
            }
            Err(Stop::Aborted) => {
                outcome.aborted = true;
                break;
            }
        }
    }
    outcome
}
