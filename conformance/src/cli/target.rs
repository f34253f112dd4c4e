//! Which server a command talks to, with which credentials and connection settings; and the
//! production guard: the spec's production server (`x-production: true`) is refused unless
//! `--allow-production` says otherwise, before anything is sent.

use super::CliError;
use abp_spec::{Contract, Spec};
use clap::Args;
use conformance::config::{Credentials, Role};
use conformance::transport::RetryPolicy;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct TargetArgs {
    /// The server's base URL including the path stem, e.g. https://host/api/v1.
    #[arg(long, value_name = "URL", conflicts_with = "server")]
    pub base_url: Option<String>,
    /// One of the spec's servers by name: production, test (staging) or local.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// The spec to test against (default: the one compiled into this binary).
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Allow the spec's production server as the target. Without it a command that would
    /// create or delete tokens there exits 2 before sending anything.
    #[arg(long)]
    pub allow_production: bool,
}

/// How requests go out: timeouts, pacing, retries, trust.
#[derive(Args)]
pub struct ConnectArgs {
    /// Per-request timeout, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Send at most this many requests per second (for rate-limited staging servers). After
    /// a 429 the runner slows down by itself; this sets a pace from the start.
    #[arg(long, value_name = "N", value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Retries per request after a 429/503 or a dropped connection (0: never retry). A POST
    /// is retried only when the connection was never established.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub max_retries: u32,
    /// The longest wait for one retry, in seconds; a Retry-After beyond it ends the request.
    /// The default waits out a one-minute rate-limit window (express-rate-limit's default).
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub max_retry_wait: u64,
    /// Trust this certificate authority (PEM) too, for a staging server with a private CA
    /// (repeatable). There is no option to skip certificate checks.
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Vec<PathBuf>,
    /// The largest response body read, in bytes (default 8 MiB); a longer one fails its
    /// exchange. Raise it for an account with a very large list.
    #[arg(long, value_name = "BYTES", default_value_t = abp_tokens_client::DEFAULT_MAX_BODY_BYTES, value_parser = parse_body_cap)]
    pub max_body_bytes: usize,
}

fn parse_body_cap(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1024..=(1 << 32)).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a byte count between 1024 and 4294967296"
        )),
    }
}

impl ConnectArgs {
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            max_wait: Duration::from_secs(self.max_retry_wait),
            first_contact: false,
        }
    }

    /// Reads every `--ca-cert` file; a missing or malformed one is a usage error.
    pub fn ca_certs(&self) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, CliError> {
        let mut out = Vec::new();
        for path in &self.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                CliError::Usage(format!("cannot read --ca-cert {}: {e}", path.display()))
            })?;
            let certs = conformance::tls::certificates_from_pem(&pem).map_err(|e| {
                CliError::Usage(format!(
                    "--ca-cert {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(CliError::Usage(format!(
                    "--ca-cert {} holds no PEM certificate",
                    path.display()
                )));
            }
            out.extend(certs);
        }
        Ok(out)
    }
}

fn parse_rps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.01 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a rate of at least 0.01 requests per second"
        )),
    }
}

/// The contract of `--spec PATH` (read, linted and compiled), or the embedded one.
pub fn load_spec(path: Option<&PathBuf>) -> Result<Arc<Contract>, CliError> {
    match path {
        Some(p) => Spec::load(p)
            .and_then(Contract::compile)
            .map(Arc::new)
            .map_err(|e| CliError::Usage(e.to_string())),
        None => Ok(Contract::embedded()),
    }
}

/// Checks a base URL and returns it without a trailing slash.
fn parse_base_url(url: &str) -> Result<String, CliError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| CliError::Usage(format!("invalid --base-url `{url}`: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(CliError::Usage(format!(
            "invalid --base-url `{url}`: expected an http:// or https:// URL with a host"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// A server outside this process.
pub struct Remote {
    pub base_url: String,
    /// The default baseline name: the `--server` name, or host, port and path stem.
    pub name: String,
    pub credentials: Credentials,
}

/// The remote target the flags name, or `None` for the embedded server. `doing` says what
/// the command would do there, for the production guard's message.
pub fn remote(
    args: &TargetArgs,
    contract: &Contract,
    doing: &str,
) -> Result<Option<Remote>, CliError> {
    let servers = &contract.servers;
    let (base_url, name) = match (&args.base_url, &args.server) {
        (Some(url), _) => {
            let url = parse_base_url(url)?;
            let name = conformance::snapshot::url_target_name(&url);
            (url, name)
        }
        (None, Some(name)) => {
            let server = servers.iter().find(|s| &s.name == name).ok_or_else(|| {
                let names: Vec<_> = servers.iter().map(|s| s.name.as_str()).collect();
                CliError::Usage(format!(
                    "unknown --server `{name}` (the spec names: {})",
                    names.join(", ")
                ))
            })?;
            (parse_base_url(&server.url)?, name.clone())
        }
        (None, None) => return Ok(None),
    };
    let production = servers
        .iter()
        .find(|s| s.production && s.url.trim_end_matches('/') == base_url);
    if let Some(p) = production
        && !args.allow_production
    {
        return Err(CliError::Usage(format!(
            "{base_url} is the spec's production server `{}`: {doing} there with the credentials in the ABP_* variables, on real accounts. Nothing was sent; pass --allow-production to do it anyway",
            p.name
        )));
    }
    let (user, credentials) = Credentials::from_env();
    if user.is_none() {
        return Err(CliError::Usage(format!(
            "{} is not set: a remote target needs the bearer credential of a user who may manage tokens",
            Role::User.env_var()
        )));
    }
    Ok(Some(Remote {
        base_url,
        name,
        credentials,
    }))
}
