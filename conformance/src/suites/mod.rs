//! Scenario suites. Scenarios are data generated from the spec (so `--spec` changes them),
//! executed by the runner through [`execute`].

pub mod auth;
pub mod boundary;
pub mod classes;
pub mod corpus;
pub mod effects;
pub mod injected;
pub mod lifecycle;
pub mod model;
pub mod near_miss;
pub mod schemes;
pub mod stored;
pub mod unstated;
pub mod validation;

use crate::api::Contract;
use crate::config::RunConfig;
use crate::context::Ctx;
use crate::error::RunError;
use crate::roles::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suite {
    Lifecycle,
    Validation,
    Auth,
    Model,
}

impl Suite {
    pub const ALL: [Suite; 4] = [
        Suite::Lifecycle,
        Suite::Validation,
        Suite::Auth,
        Suite::Model,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Lifecycle => "lifecycle",
            Suite::Validation => "validation",
            Suite::Auth => "auth",
            Suite::Model => "model",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Suite::Lifecycle => {
                "create, list, authenticate with and delete tokens; isolation between users"
            }
            Suite::Validation => {
                "inputs at the spec's limits: bad ones get 400 and change nothing, valid edge cases are stored as sent"
            }
            Suite::Auth => {
                "missing, malformed, unknown, expired and forbidden credentials on every operation"
            }
            Suite::Model => {
                "seeded random sequences of operations across roles, checked against a model of the spec; failures shrink to a replay"
            }
        }
    }

    pub fn from_name(name: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[derive(Debug, Clone)]
pub enum Kind {
    Lifecycle(lifecycle::Case),
    Validation(validation::Case),
    Auth(auth::Case),
    Model(model::Case),
    Boundary(boundary::Case),
    Stored(stored::Case),
    Unstated(unstated::Case),
    Schemes(schemes::Case),
    Injected(injected::Case),
    NearMiss(near_miss::Case),
    Effects(effects::Case),
}

#[derive(Debug, Clone)]
pub struct Scenario {
    /// `suite/name`, unique; what `--scenario` globs match.
    pub name: String,
    pub suite: Suite,
    pub summary: String,
    /// Credentials the scenario cannot run without; missing ones make it skipped.
    pub needs: Vec<Role>,
    pub kind: Kind,
}

impl Scenario {
    /// The `conformance run` flags that select exactly this scenario again: its name, or for
    /// a model lane the suite, seed, budget and lane that regenerate its sequence.
    pub fn rerun_flags(&self) -> String {
        match &self.kind {
            Kind::Model(case) => format!(
                "--suite model --seed {} --model-steps {} --model-lane {}",
                case.seed.unwrap_or_default(),
                case.steps,
                case.lane + 1
            ),
            _ => format!("--scenario {}", model::shell_word(&self.name)),
        }
    }
}

/// Every scenario the spec yields, in run order.
pub fn all(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let mut out = lifecycle::scenarios(api)?;
    out.extend(validation::scenarios(api)?);
    out.extend(boundary::scenarios(api)?);
    out.extend(stored::scenarios(api)?);
    out.extend(corpus::scenarios(api)?);
    out.extend(injected::scenarios(api)?);
    out.extend(unstated::scenarios(api)?);
    out.extend(effects::scenarios(api)?);
    out.extend(auth::scenarios(api)?);
    out.extend(schemes::scenarios(api));
    out.extend(near_miss::scenarios(api)?);
    out.extend(model::scenarios());
    // In suite order, each suite's scenarios as generated: a lifecycle scenario derived next
    // to the validation cases it shares facts with is still listed and run with its suite.
    out.sort_by_key(|s| s.suite);
    Ok(out)
}

/// The scenarios of `all` (every scenario the spec yields) that `--suite` and `--scenario`
/// select, the model lanes configured by the run's seed and budget.
pub fn select(config: &RunConfig, all: Vec<Scenario>) -> Result<Vec<Scenario>, RunError> {
    let mut suites = Vec::new();
    for name in &config.suites {
        suites.push(Suite::from_name(name).ok_or_else(|| {
            RunError::Config(format!(
                "unknown suite `{name}` (suites: lifecycle, validation, auth, model)"
            ))
        })?);
    }
    let glob = match &config.scenario_glob {
        Some(g) => Some(
            globset::Glob::new(g)
                .map_err(|e| RunError::Config(format!("invalid --scenario glob `{g}`: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let lanes = model::configure(
        all,
        config.model_seed,
        config.model_steps,
        config.model_lane,
    )?;
    let selected: Vec<Scenario> = lanes
        .into_iter()
        .filter(|s| suites.is_empty() || suites.contains(&s.suite))
        .filter(|s| glob.as_ref().is_none_or(|g| g.is_match(&s.name)))
        .collect();
    if selected.is_empty() {
        return Err(RunError::Config(
            "no scenario matches the selection (`conformance list` shows them)".into(),
        ));
    }
    Ok(selected)
}

/// Runs a scenario's steps. A scenario that stopped has already reported why.
pub async fn execute(scenario: &Scenario, ctx: &mut Ctx<'_>) {
    let _stopped = match &scenario.kind {
        Kind::Lifecycle(case) => lifecycle::run(case, ctx).await,
        Kind::Validation(case) => validation::run(case, ctx).await,
        Kind::Auth(case) => auth::run(case, ctx).await,
        Kind::Model(case) => model::run(case, ctx).await,
        Kind::Boundary(case) => boundary::run(case, ctx).await,
        Kind::Stored(case) => stored::run(case, ctx).await,
        Kind::Unstated(case) => unstated::run(case, ctx).await,
        Kind::Schemes(case) => schemes::run(case, ctx).await,
        Kind::Injected(case) => injected::run(case, ctx).await,
        Kind::NearMiss(case) => near_miss::run(case, ctx).await,
        Kind::Effects(case) => effects::run(case, ctx).await,
    };
}

/// Stands in for the scenario's prefixed token name in a body generated before the run knows
/// its prefix. Plain ASCII that JSON does not escape, so it survives serialization and is
/// replaced in the bytes.
pub const NAME_SLOT: &str = "{{run-name}}";

/// The body field that holds the token name: the one a valid body filled with [`NAME_SLOT`].
pub fn name_field(body: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    body.iter()
        .find(|(_, v)| v.as_str() == Some(NAME_SLOT))
        .map(|(k, _)| k.as_str())
}

/// A request body that the spec says is valid: each property's first enum value or its
/// example, the name (the field `api.fields` names) set to `name`.
pub fn valid_create_body(api: &Contract, name: &str) -> serde_json::Value {
    api.create_body.valid_example(&api.fields.name, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model lane is selected again by its seed, budget and lane, not by its name (a name
    /// alone would draw another seed).
    #[test]
    fn a_model_lane_reruns_with_its_seed() {
        let all = all(&Contract::embedded()).unwrap();
        let lanes = model::configure(all, Some(5), Some(200), None).unwrap();
        let lane = lanes
            .iter()
            .find(|s| matches!(s.kind, Kind::Model(_)))
            .unwrap();
        assert_eq!(
            lane.rerun_flags(),
            "--suite model --seed 5 --model-steps 200 --model-lane 1"
        );
        let other = lanes.iter().find(|s| s.suite == Suite::Lifecycle).unwrap();
        assert_eq!(other.rerun_flags(), format!("--scenario {}", other.name));
    }
}
