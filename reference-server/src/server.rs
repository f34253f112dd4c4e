//! Running the app: in the foreground with a banner (`serve`) or embedded in a tokio task.

use crate::conditions::TestConditions;
use crate::error::ServerError;
use crate::fault::Fault;
use crate::fixtures::{Credentials, Fixtures};
use crate::guard::{ConnectionLimits, Guarded};
use crate::router::app;
use crate::state::{AppState, Config, DEFAULT_REQUEST_TIMEOUT};
use crate::variant::{Variant, variant_catalog};
use crate::wire::WireListener;
use chrono::Utc;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The command-line options of `reference-server` (and `conformance serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5001")]
    pub listen: String,
    /// TOML file of organizations and users (default: the built-in development fixture).
    #[arg(long, value_name = "PATH")]
    pub fixtures: Option<PathBuf>,
    /// Keep tokens in this SQLite database (default: in memory).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Answer 408 (JSON error body) to a request not answered within this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Sleep this many milliseconds before answering each request.
    #[arg(long, value_name = "N", help_heading = CONDITIONS_HEADING)]
    pub latency_ms: Option<u64>,
    /// Above RPS requests per second (all clients together), answer 429 Too Many Requests with
    /// `Retry-After: 1` and the spec's JSON error body.
    #[arg(long, value_name = "RPS", help_heading = CONDITIONS_HEADING)]
    pub rate_limit: Option<NonZeroU32>,
    /// On every Nth GET or DELETE (counted across the server), close the connection without
    /// any answer. The request is handled first: a dropped DELETE has deleted the token (a lost
    /// response, not a lost request).
    #[arg(long, value_name = "N", help_heading = CONDITIONS_HEADING)]
    pub drop_every: Option<NonZeroU64>,
    /// Answer the first N creates (POST) with 500 and no effect, then serve normally: a
    /// server warming up, for testing re-runs of failed scenarios (--rerun-failures).
    #[arg(long, value_name = "N", help_heading = CONDITIONS_HEADING)]
    pub fail_first_creates: Option<NonZeroU64>,
    /// Play nginx's `limit_req` (with `nodelay`): a burst of BURST requests, refilled at RATE
    /// a second; beyond it nginx's HTML 503 page with no Retry-After.
    #[arg(long, value_name = "RATE,BURST", value_parser = parse_pair::<NonZeroU32, NonZeroU32>, help_heading = CONDITIONS_HEADING)]
    pub limit_req: Option<(NonZeroU32, NonZeroU32)>,
    /// Play `express-rate-limit`: LIMIT requests per fixed window of SECONDS; beyond it 429
    /// with Retry-After, and the RateLimit-* fields on every answer.
    #[arg(long, value_name = "LIMIT,SECONDS", value_parser = parse_pair::<NonZeroU32, NonZeroU64>, help_heading = CONDITIONS_HEADING)]
    pub fixed_window: Option<(NonZeroU32, NonZeroU64)>,
    /// N workers: every request needs one, a create holds it for MS milliseconds (hashing a
    /// secret synchronously); the rest queue.
    #[arg(long, value_name = "N,MS", value_parser = parse_pair::<NonZeroU32, NonZeroU64>, help_heading = CONDITIONS_HEADING)]
    pub workers: Option<(NonZeroU32, NonZeroU64)>,
    /// After N requests, accept connections and never answer (a hung release).
    #[arg(long, value_name = "N", help_heading = CONDITIONS_HEADING)]
    pub stall_after: Option<NonZeroU64>,
    /// Switch on a deliberate bug (repeatable); see --list-faults.
    #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault, help_heading = FAULTS_HEADING)]
    pub faults: Vec<Fault>,
    /// Print the fault catalog and exit.
    #[arg(long, help_heading = FAULTS_HEADING)]
    pub list_faults: bool,
    /// Switch on a conformant variant (repeatable); see --list-variants.
    #[arg(long = "variant", value_name = "NAME", value_parser = parse_variant, help_heading = VARIANTS_HEADING)]
    pub variants: Vec<Variant>,
    /// Print the catalog of conformant variants and exit.
    #[arg(long, help_heading = VARIANTS_HEADING)]
    pub list_variants: bool,
}

const VARIANTS_HEADING: &str = "CONFORMANT VARIANTS (correct behaviours that differ from the defaults, for specificity testing)";

fn parse_variant(name: &str) -> Result<Variant, String> {
    Variant::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Variant::ALL.iter().map(|v| v.name()).collect();
        format!(
            "unknown variant `{name}`; known variants: {}",
            names.join(", ")
        )
    })
}

/// Test conditions make a correct server busy or flaky; faults make it wrong.
const CONDITIONS_HEADING: &str =
    "TEST CONDITIONS (a correct server, busy or behind a flaky network; not faults)";
const FAULTS_HEADING: &str = "FAULTS (deliberate bugs, for mutation testing)";

impl Default for ServeArgs {
    fn default() -> ServeArgs {
        ServeArgs {
            listen: "127.0.0.1:5001".into(),
            fixtures: None,
            db: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT.as_secs(),
            latency_ms: None,
            rate_limit: None,
            drop_every: None,
            fail_first_creates: None,
            limit_req: None,
            fixed_window: None,
            workers: None,
            stall_after: None,
            faults: Vec::new(),
            list_faults: false,
            variants: Vec::new(),
            list_variants: false,
        }
    }
}

impl ServeArgs {
    /// The test conditions these options switch on.
    pub fn conditions(&self) -> TestConditions {
        TestConditions {
            rate_limit: self.rate_limit,
            drop_every: self.drop_every,
            fail_first_creates: self.fail_first_creates,
            limit_req: self.limit_req,
            fixed_window: self.fixed_window,
            workers: self.workers,
            stall_after: self.stall_after,
        }
    }
}

/// `A,B`: two numbers, as `--limit-req 50,50` takes them.
fn parse_pair<A: std::str::FromStr, B: std::str::FromStr>(text: &str) -> Result<(A, B), String> {
    let (a, b) = text
        .split_once(',')
        .ok_or_else(|| format!("`{text}`: expected two numbers separated by a comma"))?;
    let a = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a positive whole number"))?;
    let b = b
        .trim()
        .parse()
        .map_err(|_| format!("`{b}` is not a positive whole number"))?;
    Ok((a, b))
}

fn parse_fault(name: &str) -> Result<Fault, String> {
    Fault::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
        format!("unknown fault `{name}`; known faults: {}", names.join(", "))
    })
}

/// The fault catalog, one line each: `name  area  description`.
pub fn fault_catalog() -> String {
    let width = Fault::ALL.iter().map(|f| f.name().len()).max().unwrap_or(0);
    Fault::ALL
        .iter()
        .map(|f| {
            format!(
                "{:width$}  {:10}  {}\n",
                f.name(),
                f.area(),
                f.description()
            )
        })
        .collect()
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Another subscriber (e.g. the conformance runner's) may already be installed; keep it.
    // Colour only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .try_init();
}

/// `http://localhost:PORT` and the base path for loopback and wildcard addresses, else the
/// address itself.
fn base_url(addr: SocketAddr, base_path: &str) -> String {
    let ip = addr.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        format!("http://localhost:{}{base_path}", addr.port())
    } else {
        format!("http://{addr}{base_path}")
    }
}

fn banner(addr: SocketAddr, base_path: &str, fixtures: &Fixtures, args: &ServeArgs) -> String {
    let mut out = String::new();
    out.push_str("reference-server: a DEVELOPMENT server for the User Access Token API; not for production use\n");
    out.push_str(&format!(
        "listening on {} (bound to {addr})\n",
        base_url(addr, base_path)
    ));
    match &args.db {
        Some(path) => out.push_str(&format!("storage: SQLite database {}\n", path.display())),
        None => out.push_str("storage: in memory (lost on exit)\n"),
    }
    if let Some(ms) = args.latency_ms {
        out.push_str(&format!("added latency: {ms} ms per request\n"));
    }
    if let Some(rps) = args.rate_limit {
        out.push_str(&format!(
            "rate limit: {rps} requests/s, then 429 with Retry-After: 1\n"
        ));
    }
    if let Some(n) = args.drop_every {
        out.push_str(&format!(
            "dropped answers: every {n}th GET/DELETE is handled, then its connection closed\n"
        ));
    }
    if let Some((rate, burst)) = args.limit_req {
        out.push_str(&format!(
            "limit_req: {rate} requests/s, burst {burst}, then nginx's HTML 503 (no Retry-After)\n"
        ));
    }
    if let Some((limit, seconds)) = args.fixed_window {
        out.push_str(&format!(
            "fixed window: {limit} requests per {seconds} s, then 429 with Retry-After; RateLimit-* on every answer\n"
        ));
    }
    if let Some((n, ms)) = args.workers {
        out.push_str(&format!(
            "workers: {n}, a create holding one for {ms} ms (every request queues for one)\n"
        ));
    }
    if let Some(n) = args.stall_after {
        out.push_str(&format!(
            "stall: after {n} requests, connections are accepted and never answered\n"
        ));
    }
    if let Some(n) = args.fail_first_creates {
        out.push_str(&format!(
            "warming up: the first {n} creates answer 500 with no effect\n"
        ));
    }
    out.push_str("development credentials (Authorization: Bearer <credential>):\n");
    let now = Utc::now();
    for user in &fixtures.users {
        let role = if user.is_expired(now) {
            "expired credential (401)"
        } else if user.may_manage_tokens() {
            "may manage tokens"
        } else {
            "may not manage tokens (403)"
        };
        out.push_str(&format!(
            "  {:8} {:28} {}\n",
            if user.name.is_empty() {
                &user.id
            } else {
                &user.name
            },
            role,
            user.credential
        ));
    }
    // What a developer pastes to point the conformance runner (or a client) at this server.
    let managing: Vec<&str> = fixtures
        .users
        .iter()
        .filter(|u| !u.is_expired(now) && u.may_manage_tokens())
        .map(|u| u.credential.as_str())
        .collect();
    let forbidden = fixtures
        .users
        .iter()
        .find(|u| !u.is_expired(now) && !u.may_manage_tokens());
    let expired = fixtures.users.iter().find(|u| u.is_expired(now));
    let mut exports = Vec::new();
    for (var, credential) in [
        ("ABP_TOKEN", managing.first().copied()),
        ("ABP_OTHER_USER_TOKEN", managing.get(1).copied()),
        (
            "ABP_FORBIDDEN_TOKEN",
            forbidden.map(|u| u.credential.as_str()),
        ),
        ("ABP_EXPIRED_TOKEN", expired.map(|u| u.credential.as_str())),
    ] {
        if let Some(c) = credential {
            exports.push(format!("export {var}={c}"));
        }
    }
    if !exports.is_empty() {
        out.push_str("to test it: paste these, then `conformance run --base-url ");
        out.push_str(&base_url(addr, base_path));
        out.push_str(
            "`
",
        );
        for line in exports {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if !args.faults.is_empty() {
        let names: Vec<_> = args.faults.iter().map(|f| f.name()).collect();
        out.push_str(&format!(
            "WARNING: faults enabled, this server is deliberately wrong: {}\n",
            names.join(", ")
        ));
    }
    if !args.variants.is_empty() {
        let names: Vec<_> = args.variants.iter().map(|v| v.name()).collect();
        out.push_str(&format!("conformant variants: {}\n", names.join(", ")));
    }
    out
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Runs the server in the foreground until SIGINT or SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), ServerError> {
    if args.list_faults {
        print!("{}", fault_catalog());
        return Ok(());
    }
    if args.list_variants {
        print!("{}", variant_catalog());
        return Ok(());
    }
    init_tracing();
    let fixtures = match &args.fixtures {
        Some(path) => Fixtures::load(path)?,
        None => Fixtures::development(),
    };
    let state = AppState::new(Config {
        fixtures: fixtures.clone(),
        faults: args.faults.clone(),
        latency: args.latency_ms.map(Duration::from_millis),
        db: args.db.clone(),
        conditions: args.conditions(),
        request_timeout: Duration::from_secs(args.request_timeout),
        variants: args.variants.clone(),
    })?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: args.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    print!(
        "{}",
        banner(addr, &state.contract().base_path, &fixtures, &args)
    );
    if !args.faults.is_empty() {
        tracing::warn!(faults = ?args.faults.iter().map(|f| f.name()).collect::<Vec<_>>(), "faults enabled");
    }
    let listener = Guarded::new(WireListener(listener), ConnectionLimits::default());
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServerError::Serve)
}

/// A server running in a tokio task of the caller's runtime.
#[derive(Debug)]
pub struct EmbeddedServer {
    /// E.g. `http://127.0.0.1:PORT/api/v1`.
    pub base_url: String,
    pub credentials: Credentials,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), std::io::Error>>>,
}

impl EmbeddedServer {
    /// Stops accepting, lets in-flight requests finish, and waits for the task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Starts a server on `127.0.0.1:0` with fresh random credentials and in-memory storage.
pub async fn start_embedded(faults: Vec<Fault>) -> Result<EmbeddedServer, ServerError> {
    start_embedded_with(faults, TestConditions::default()).await
}

/// Like [`start_embedded`], under test conditions (rate limit, dropped answers).
pub async fn start_embedded_with(
    faults: Vec<Fault>,
    conditions: TestConditions,
) -> Result<EmbeddedServer, ServerError> {
    start_with(Config {
        fixtures: Fixtures::random(),
        faults,
        conditions,
        ..Config::default()
    })
    .await
}

/// Like [`start_embedded`], with conformant variants switched on (and faults, if any).
pub async fn start_embedded_variants(
    faults: Vec<Fault>,
    variants: Vec<Variant>,
) -> Result<EmbeddedServer, ServerError> {
    start_with(Config {
        fixtures: Fixtures::random(),
        faults,
        variants,
        ..Config::default()
    })
    .await
}

/// Like [`start_embedded`] with any configuration; the fixture must have all four roles.
pub async fn start_with(config: Config) -> Result<EmbeddedServer, ServerError> {
    start_guarded(config, ConnectionLimits::default()).await
}

/// Like [`start_with`], with other bounds on what clients may hold (tests use short ones).
pub async fn start_guarded(
    config: Config,
    limits: ConnectionLimits,
) -> Result<EmbeddedServer, ServerError> {
    let credentials = config
        .fixtures
        .credentials()
        .ok_or_else(|| ServerError::FixturesInvalid {
            path: PathBuf::from("<fixtures>"),
            message: "the fixture lacks one of the four roles (two managers, one without the privilege, one expired)".into(),
        })?;
    let state = AppState::new(config)?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| ServerError::Bind {
            addr: "127.0.0.1:0".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let base_url = format!("http://{addr}{}", state.contract().base_path);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(Guarded::new(WireListener(listener), limits), app(state))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(EmbeddedServer {
        base_url,
        credentials,
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_one_line_per_fault() {
        let catalog = fault_catalog();
        assert_eq!(catalog.lines().count(), Fault::ALL.len());
        assert!(catalog.lines().next().unwrap().starts_with("delete-noop "));
    }

    #[test]
    fn banner_warns_and_names_credentials() {
        let args = ServeArgs {
            faults: vec![Fault::DeleteNoop],
            ..ServeArgs::default()
        };
        let text = banner(
            "127.0.0.1:5001".parse().unwrap(),
            "/api/v1",
            &Fixtures::development(),
            &args,
        );
        assert!(text.contains("http://localhost:5001/api/v1"));
        assert!(text.contains("dev-alice-token"));
        assert!(text.contains("export ABP_TOKEN=dev-alice-token"), "{text}");
        assert!(text.contains("export ABP_EXPIRED_TOKEN="), "{text}");
        assert!(text.contains("DEVELOPMENT server"));
        assert!(text.contains("WARNING") && text.contains("delete-noop"));
    }
}
