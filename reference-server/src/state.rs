//! The server's configuration and the state every handler shares.

use crate::behaviour::{Behaviour, compile};
use crate::conditions::{Conditions, TestConditions};
use crate::contract::Contract;
use crate::error::{ApiError, ServerError};
use crate::fault::Fault;
use crate::fixtures::Fixtures;
use crate::store::{Store, TokenStore};
use crate::variant::{self, Variant, Variants};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a request may take before it is answered 408, unless configured otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    pub fixtures: Fixtures,
    pub faults: Vec<Fault>,
    /// Extra delay per request (a test condition; counted in the request timeout).
    pub latency: Option<Duration>,
    /// SQLite database; in memory when `None`.
    pub db: Option<PathBuf>,
    /// Rate limit and dropped answers; all off by default.
    pub conditions: TestConditions,
    /// A request not answered within this time gets a JSON 408.
    pub request_timeout: Duration,
    /// Conformant variants (`--variant`); none by default.
    pub variants: Vec<Variant>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            fixtures: Fixtures::development(),
            faults: Vec::new(),
            latency: None,
            db: None,
            conditions: TestConditions::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            variants: Vec::new(),
        }
    }
}

/// The state every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub contract: Contract,
    pub behaviour: Behaviour,
    pub fixtures: Fixtures,
    pub faults: Vec<Fault>,
    /// The state of the conditions' middleware (latency and the request timeout among them).
    pub conditions: Arc<Conditions>,
    /// The state of the variants' middleware.
    pub variants: Arc<Variants>,
}

impl AppState {
    pub fn new(config: Config) -> Result<AppState, ServerError> {
        let contract = Contract::embedded()?;
        config
            .fixtures
            .check()
            .map_err(|message| ServerError::FixturesInvalid {
                path: PathBuf::from("<fixtures>"),
                message,
            })?;
        let store: Arc<dyn TokenStore> = match &config.db {
            Some(path) => Arc::new(Store::sqlite(path)?),
            None => Arc::new(Store::memory()),
        };
        let mut behaviour = compile(
            &config.faults,
            &contract,
            config.fixtures.users.first(),
            store,
        );
        let variants = Variants::new(&config.variants, Arc::clone(&contract.spec));
        variant::apply(&variants, &mut behaviour);
        variant::seed(&variants, &config.fixtures, &behaviour)?;
        let faults = Fault::ALL
            .iter()
            .copied()
            .filter(|f| config.faults.contains(f))
            .collect();
        Ok(AppState {
            inner: Arc::new(Inner {
                contract,
                behaviour,
                fixtures: config.fixtures,
                faults,
                conditions: Arc::new(Conditions::new(
                    config.conditions,
                    config.latency,
                    config.request_timeout,
                )),
                variants: Arc::new(variants),
            }),
        })
    }

    pub fn fixtures(&self) -> &Fixtures {
        &self.inner.fixtures
    }

    /// The enabled faults, in catalog order.
    pub fn faults(&self) -> Vec<Fault> {
        self.inner.faults.clone()
    }

    /// The largest create body accepted (the spec's `x-max-body-bytes`).
    pub fn body_limit(&self) -> usize {
        self.inner.contract.body_limit
    }

    pub(crate) fn contract(&self) -> &Contract {
        &self.inner.contract
    }

    /// The switched-on conformant variants, in catalog order.
    pub fn variants(&self) -> Vec<Variant> {
        self.inner.variants.list().to_vec()
    }

    /// The state of the variants' middleware.
    pub(crate) fn variant_state(&self) -> Arc<Variants> {
        Arc::clone(&self.inner.variants)
    }

    /// The state of the conditions' middleware.
    pub(crate) fn conditions(&self) -> Arc<Conditions> {
        Arc::clone(&self.inner.conditions)
    }

    pub(crate) fn behaviour(&self) -> &Behaviour {
        &self.inner.behaviour
    }

    /// Runs a store operation; SQLite calls block, so they go to the blocking pool. A storage
    /// failure is logged and answered with a 500.
    pub(crate) async fn store<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TokenStore) -> Result<R, ServerError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let store = Arc::clone(&self.inner.behaviour.store);
        let result = if store.blocks() {
            tokio::task::spawn_blocking(move || f(store.as_ref()))
                .await
                .map_err(|e| ServerError::Storage(e.to_string()))
                .and_then(|r| r)
        } else {
            f(store.as_ref())
        };
        result.map_err(|e| {
            tracing::error!(error = %e, "storage failed");
            ApiError::internal("storage failed")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_builds_from_the_spec() {
        let state = AppState::new(Config::default()).unwrap();
        assert!(state.contract().spec.lifetimes.len() >= 2);
        assert_eq!(
            state.contract().spec.example_lifetime.duration,
            chrono::TimeDelta::days(7)
        );
        assert!(state.faults().is_empty());
    }
}
