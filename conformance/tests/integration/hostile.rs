//! Hostile targets: a small HTTP/1.1 proxy in front of the reference server, correct except
//! for one named misbehaviour, and the `conformance` binary run against it as a new user
//! would. Every case asserts the exit code, a bounded time and peak memory, no credential or
//! token secret in stdout, stderr or any report, no terminal control byte passed through,
//! and that none of a person's tokens was deleted.

use conformance::exit;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The one thing the hostile target does wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Misbehaviour {
    /// A create's answer has an invalid UTF-8 byte inside `name`.
    InvalidUtf8Name,
    /// A create's answer says a `Content-Length` 10 bytes short of its body.
    ShortContentLength,
    /// Every answer echoes the request's `Authorization` in `Content-Type` parameters and
    /// `WWW-Authenticate`.
    EchoCredential,
    /// Every answer redirects with the credential in the `Location` query.
    RedirectWithCredential,
    /// Lists show a person's pre-existing tokens with their full secrets.
    UnmaskPersonsTokens,
    /// Lists show a person's pre-existing tokens with full secrets of an older format:
    /// another length, no prefix, the same alphabet.
    UnmaskPersonsOlderTokens,
    /// A create answers with the `_id` of one of a person's tokens.
    PersonsIdOnCreate,
    /// After first contact, a list answer's body never ends.
    EndlessList,
    /// After first contact, every answer trickles in, a byte at a time.
    Trickle,
    /// After first contact, nothing is ever answered.
    NeverAnswers,
    /// A bearer credential with a space inside is never answered (a regex that backtracks
    /// forever on it); everything else is answered as usual.
    HangsOnSpacedCredential,
    /// A create whose body holds an HTML entity (`&amp;`) is never answered (a sanitizer
    /// that loops on it); everything else is answered as usual.
    HangsOnEntityInName,
    /// Error bodies carry terminal escapes (clear screen, a green `PASSED`, a bell, NUL).
    EscapesInErrors,
    /// Every DELETE answers 500 and deletes nothing.
    DeletesFail,
}

/// What the proxy learned: every secret a create answered with, and the person's tokens.
#[derive(Default)]
struct Seen {
    secrets: Mutex<Vec<String>>,
    persons: Mutex<HashMap<String, String>>,
    creates: AtomicUsize,
    lists: AtomicUsize,
}

/// First contact sends five lists (anonymous and the four roles): answered correctly.
const FIRST_CONTACT_LISTS: usize = 5;

struct Hostile {
    addr: std::net::SocketAddr,
    seen: Arc<Seen>,
}

async fn start_hostile(upstream: &str, misbehaviour: Misbehaviour) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let upstream = upstream.trim_end_matches("/api/v1").to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let state = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (upstream, http, seen) = (upstream.clone(), http.clone(), state.clone());
            tokio::spawn(async move {
                let _ = serve(stream, &upstream, &http, &seen, misbehaviour).await;
            });
        }
    });
    Hostile { addr, seen }
}

/// One request per connection: read it, forward it, answer with the misbehaviour.
async fn serve(
    mut stream: TcpStream,
    upstream: &str,
    http: &reqwest::Client,
    seen: &Seen,
    misbehaviour: Misbehaviour,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let (method, path) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let authorization = headers
        .iter()
        .find(|(k, _)| k == "authorization" || k == "x-access-token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();

    let is_list = method == "GET" && path.ends_with("/me/tokens");
    let is_create = method == "POST" && path.ends_with("/me/tokens");
    let list_no = if is_list {
        seen.lists.fetch_add(1, Ordering::SeqCst)
    } else {
        0
    };
    let after_first_contact = seen.lists.load(Ordering::SeqCst) > FIRST_CONTACT_LISTS;

    if misbehaviour == Misbehaviour::RedirectWithCredential && !authorization.is_empty() {
        let credential = authorization.trim_start_matches("Bearer ");
        let answer = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://elsewhere.invalid/login?access_token={credential}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        return stream.write_all(answer.as_bytes()).await;
    }
    if misbehaviour == Misbehaviour::DeletesFail && method == "DELETE" {
        let body = r#"{"code":"internal","message":"the store is read-only"}"#;
        let answer = format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        return stream.write_all(answer.as_bytes()).await;
    }
    if misbehaviour == Misbehaviour::HangsOnSpacedCredential
        && authorization
            .strip_prefix("Bearer ")
            .is_some_and(|c| c.trim().contains(' '))
    {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Ok(());
    }
    if misbehaviour == Misbehaviour::HangsOnEntityInName
        && method == "POST"
        && String::from_utf8_lossy(&body).contains("&amp;")
    {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Ok(());
    }
    if misbehaviour == Misbehaviour::NeverAnswers && after_first_contact {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Ok(());
    }
    if misbehaviour == Misbehaviour::EndlessList && is_list && list_no >= FIRST_CONTACT_LISTS {
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[",
            )
            .await?;
        let item =
            br#"{"_id":"0123456789abcdef01234567","name":"x","token":"uat_****"},"#.repeat(1024);
        loop {
            stream.write_all(&item).await?;
        }
    }

    let mut forward = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
        format!("{upstream}{path}"),
    );
    for (k, v) in &headers {
        if !matches!(k.as_str(), "host" | "content-length" | "connection") {
            forward = forward.header(k.as_str(), v.as_str());
        }
    }
    let answer = match forward.body(body).send().await {
        Ok(a) => a,
        Err(_) => return Ok(()),
    };
    let status = answer.status().as_u16();
    let mut out_headers: Vec<(String, String)> = answer
        .headers()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "content-length" | "transfer-encoding" | "connection"
            )
        })
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let mut out = answer.bytes().await.unwrap_or_default().to_vec();
    if is_create
        && status == 201
        && let Ok(serde_json::Value::Object(created)) = serde_json::from_slice(&out)
    {
        if let Some(secret) = created.get("token").and_then(|t| t.as_str()) {
            seen.secrets.lock().unwrap().push(secret.to_owned());
        }
        let n = seen.creates.fetch_add(1, Ordering::SeqCst);
        if misbehaviour == Misbehaviour::PersonsIdOnCreate {
            let persons: Vec<String> = {
                let mut ids: Vec<String> = seen.persons.lock().unwrap().keys().cloned().collect();
                ids.sort();
                ids
            };
            let mut created = created.clone();
            created.insert("_id".into(), persons[n % persons.len()].clone().into());
            out = serde_json::to_vec(&created).unwrap();
        }
    }
    let mut declared = out.len();
    match misbehaviour {
        Misbehaviour::InvalidUtf8Name if is_create && status == 201 => {
            if let Some(p) = out.windows(8).position(|w| w == b"\"name\":\"") {
                out.insert(p + 8, 0xff);
                declared = out.len();
            }
        }
        Misbehaviour::ShortContentLength if is_create && status == 201 => {
            declared = out.len().saturating_sub(10);
        }
        Misbehaviour::EchoCredential => {
            for (k, v) in &mut out_headers {
                if k == "content-type" {
                    *v = format!("{v}; echo=\"{authorization}\"");
                }
            }
            out_headers.push((
                "www-authenticate".into(),
                format!("Bearer realm=\"{authorization}\""),
            ));
        }
        Misbehaviour::UnmaskPersonsTokens | Misbehaviour::UnmaskPersonsOlderTokens
            if is_list && status == 200 =>
        {
            let older = misbehaviour == Misbehaviour::UnmaskPersonsOlderTokens;
            if let Ok(serde_json::Value::Array(mut items)) = serde_json::from_slice(&out) {
                let persons = seen.persons.lock().unwrap().clone();
                for item in &mut items {
                    let id = item["_id"].as_str().unwrap_or_default().to_owned();
                    if let Some(secret) = persons.get(&id) {
                        let shown = match secret.split_once('_') {
                            Some((_, random)) if older => format!("{random}{random}"),
                            _ => secret.clone(),
                        };
                        item["token"] = shown.into();
                    }
                }
                out = serde_json::to_vec(&items).unwrap();
                declared = out.len();
            }
        }
        Misbehaviour::EscapesInErrors if status >= 400 => {
            out = b"\x1b[2J\x1b[H\x1b[32m PASSED \x1b[0m\x07\x00\r all good".to_vec();
            declared = out.len();
        }
        _ => {}
    }
    let mut response = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in &out_headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str(&format!(
        "content-length: {declared}\r\nconnection: close\r\n\r\n"
    ));
    if misbehaviour == Misbehaviour::Trickle && after_first_contact {
        let mut all = response.into_bytes();
        all.extend_from_slice(&out);
        for b in all {
            stream.write_all(&[b]).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        return Ok(());
    }
    stream.write_all(response.as_bytes()).await?;
    stream.write_all(&out).await
}

/// What a run of the binary left behind.
struct Run {
    code: Option<i32>,
    elapsed: Duration,
    peak_kib: u64,
    /// stdout, stderr and every report file, as bytes.
    outputs: Vec<(String, Vec<u8>)>,
}

impl Run {
    fn text(&self) -> String {
        self.outputs
            .iter()
            .map(|(name, bytes)| format!("--- {name}\n{}", String::from_utf8_lossy(bytes)))
            .collect()
    }
}

/// The peak resident set of a running process, in KiB (0 once it is gone).
fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `conformance run` against `base_url` with the given credentials, polling its peak
/// memory; a run still going after 400 s is killed (and fails the bounded-time assertion).
fn run_binary(base_url: &str, creds: &reference_server::Credentials, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let stdout = std::fs::File::create(file("stdout")).unwrap();
    let stderr = std::fs::File::create(file("stderr")).unwrap();
    let mut command = crate::common::binary();
    command
        .args(["run", "--base-url", base_url, "--snapshot-dir"])
        .arg(file("snapshots"))
        .arg("--report")
        .arg(format!("json={}", file("report.json").display()))
        .arg("--report")
        .arg(format!("junit={}", file("report.xml").display()))
        .arg("--report")
        .arg(format!("html={}", file("report.html").display()))
        .args(extra)
        .env("ABP_TOKEN", &creds.user)
        .env("ABP_OTHER_USER_TOKEN", &creds.other_user)
        .env("ABP_FORBIDDEN_TOKEN", &creds.forbidden)
        .env("ABP_EXPIRED_TOKEN", &creds.expired)
        .stdout(stdout)
        .stderr(stderr);
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        peak = peak.max(peak_kib(pid));
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(400) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut outputs = Vec::new();
    for name in [
        "stdout",
        "stderr",
        "report.json",
        "report.xml",
        "report.html",
    ] {
        let mut bytes = Vec::new();
        if let Ok(mut f) = std::fs::File::open(file(name)) {
            f.read_to_end(&mut bytes).unwrap();
        }
        outputs.push((name.to_owned(), bytes));
    }
    for entry in walk(&file("snapshots")) {
        outputs.push((entry.display().to_string(), std::fs::read(&entry).unwrap()));
    }
    Run {
        code: status.and_then(|s| s.code()),
        elapsed,
        peak_kib: peak,
        outputs,
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A person's tokens, created on the server before the run: (id, secret).
async fn persons_tokens(base_url: &str, credential: &str, n: usize) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for i in 0..n {
        let created: serde_json::Value = http
            .post(format!("{base_url}/me/tokens"))
            .bearer_auth(credential)
            .header("api-version", abp_spec::Spec::embedded().version())
            .json(&serde_json::json!({"name": format!("my laptop {i}"), "lifetime": "one-week", "privileges": []}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.push((
            created["_id"].as_str().unwrap().to_owned(),
            created["token"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

/// Everything a case asserts beyond its exit code.
fn assert_contained(run: &Run, secrets: &[String], what: &str) {
    let text = run.text();
    assert!(
        run.code.is_some() && run.elapsed < Duration::from_secs(300),
        "{what}: the run did not end in bounded time ({:?})\n{text}",
        run.elapsed
    );
    assert!(
        run.peak_kib < 200 * 1024,
        "{what}: peak memory {} KiB",
        run.peak_kib
    );
    for secret in secrets {
        for (name, bytes) in &run.outputs {
            assert!(
                !String::from_utf8_lossy(bytes).contains(secret.as_str()),
                "{what}: a secret is in {name}"
            );
        }
    }
    for (name, bytes) in &run.outputs {
        if let Some(b) = bytes
            .iter()
            .find(|b| matches!(**b, 0x1b | 0x07 | 0x00 | b'\r'))
        {
            panic!("{what}: control byte {b:#04x} in {name}");
        }
    }
    assert!(!text.contains("panicked"), "{what}: a panic\n{text}");
}

fn credentials(c: &reference_server::Credentials) -> Vec<String> {
    vec![
        c.user.clone(),
        c.other_user.clone(),
        c.forbidden.clone(),
        c.expired.clone(),
    ]
}

/// Starts a reference server with three of a person's tokens on the user's account, a hostile
/// proxy in front of it, and runs the binary; asserts the common bounds and that none of the
/// person's tokens is gone. Returns the run for the case's own assertions.
async fn case(misbehaviour: Misbehaviour, extra: &[&str]) -> Run {
    let server = reference_server::start_embedded(Vec::new()).await.unwrap();
    let persons = persons_tokens(&server.base_url, &server.credentials.user, 3).await;
    let hostile = start_hostile(&server.base_url, misbehaviour).await;
    hostile
        .seen
        .persons
        .lock()
        .unwrap()
        .extend(persons.iter().cloned());
    let base_url = format!("http://{}/api/v1", hostile.addr);
    let creds = server.credentials.clone();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        run_binary(&base_url, &creds, &extra)
    })
    .await
    .unwrap();
    let mut secrets = credentials(&server.credentials);
    secrets.extend(hostile.seen.secrets.lock().unwrap().iter().cloned());
    secrets.extend(persons.iter().map(|(_, s)| s.clone()));
    assert_contained(&run, &secrets, &format!("{misbehaviour:?}"));
    eprintln!(
        "{misbehaviour:?}: exit {:?} after {:.1} s, peak {} KiB",
        run.code,
        run.elapsed.as_secs_f64(),
        run.peak_kib
    );
    let left: Vec<String> = crate::common::tokens(&server.base_url, &server.credentials.user)
        .await
        .iter()
        .filter_map(|t| t["_id"].as_str().map(str::to_owned))
        .collect();
    for (id, _) in &persons {
        assert!(
            left.contains(id),
            "{misbehaviour:?}: a person's token was deleted\n{}",
            run.text()
        );
    }
    server.shutdown().await;
    run
}

fn stderr(run: &Run) -> String {
    String::from_utf8_lossy(&run.outputs[1].1).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_answer_with_invalid_utf8_leaks_no_secret() {
    let run = case(Misbehaviour::InvalidUtf8Name, &["--suite", "lifecycle"]).await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn create_answer_cut_short_leaks_no_secret() {
    let run = case(Misbehaviour::ShortContentLength, &["--suite", "lifecycle"]).await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn credential_echoed_in_headers_is_redacted() {
    let run = case(Misbehaviour::EchoCredential, &["--suite", "auth"]).await;
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_with_the_credential_in_location_is_redacted() {
    let run = case(Misbehaviour::RedirectWithCredential, &[]).await;
    assert_eq!(run.code, Some(exit::USAGE.into()), "{}", run.text());
    let err = stderr(&run);
    assert!(err.contains("redirects"), "{err}");
    assert!(err.contains("[ABP_"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_persons_tokens_listed_unmasked_fail_the_run() {
    let run = case(Misbehaviour::UnmaskPersonsTokens, &["--suite", "lifecycle"]).await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    assert!(
        run.text()
            .contains("which this run did not create, unmasked"),
        "{}",
        run.text()
    );
}

/// A person's secret of another format (another length, no prefix) is a leak too when it is
/// in the secrets' alphabet and longer than every mask (TRANSCRIPTION.md, "Other people's
/// secrets").
#[tokio::test(flavor = "multi_thread")]
async fn a_persons_older_format_secrets_listed_unmasked_fail_the_run() {
    let run = case(
        Misbehaviour::UnmaskPersonsOlderTokens,
        &["--suite", "lifecycle"],
    )
    .await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    assert!(
        run.text()
            .contains("which this run did not create, unmasked"),
        "{}",
        run.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_answering_with_a_persons_id_deletes_nothing_of_theirs() {
    let run = case(Misbehaviour::PersonsIdOnCreate, &["--suite", "lifecycle"]).await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    assert!(
        run.text()
            .contains("the server returned an id that is not the token just created"),
        "{}",
        run.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_list_body_is_cut_at_the_cap() {
    let run = case(
        Misbehaviour::EndlessList,
        &["--suite", "lifecycle", "--max-retries", "1"],
    )
    .await;
    // Exit 1 when a scenario's list meets it, 2 when first contact does (the probes' order
    // decides which request the target streams to): the target was reached, and what it
    // sent is said, never "cannot reach".
    assert!(matches!(run.code, Some(1 | 2)), "{}", run.text());
    assert!(
        run.text().contains("more than the 8388608-byte cap"),
        "{}",
        run.text()
    );
    assert!(!run.text().contains("cannot reach"), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_target_ends_at_the_deadline() {
    let run = case(
        Misbehaviour::Trickle,
        &[
            "--suite",
            "lifecycle",
            "--timeout",
            "2",
            "--max-retries",
            "1",
        ],
    )
    .await;
    assert!(matches!(run.code, Some(1 | 3)), "{}", run.text());
    assert!(run.text().contains("timed out after 2 s"), "{}", run.text());
}

/// Tokens are live credentials: a run whose deletions fail says how many of its tokens it
/// left and how to remove them.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_whose_deletion_failed_are_counted_with_the_cleanup_command() {
    let run = case(Misbehaviour::DeletesFail, &["--suite", "lifecycle"]).await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    let text = run.text();
    let line = text
        .lines()
        .find(|l| l.contains("could not be confirmed deleted"))
        .unwrap_or_else(|| panic!("no count of the tokens left:\n{text}"));
    let count: usize = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line}"));
    assert!(count >= 5, "{line}");
    // The command names this run's target, as every replay line does.
    assert!(
        line.contains("`conformance cleanup --base-url http://") && line.contains(" --yes`"),
        "{line}"
    );
}

/// One input the target never answers, while it answers everything else: a robustness
/// failure that names the request, not a run without a verdict.
#[tokio::test(flavor = "multi_thread")]
async fn an_input_the_target_never_answers_fails_naming_it() {
    let run = case(
        Misbehaviour::HangsOnSpacedCredential,
        &["--suite", "auth", "--timeout", "2", "--max-retries", "1"],
    )
    .await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    assert!(
        run.text().contains("answers_every_input")
            && run.text().contains("this request hangs the server"),
        "{}",
        run.text()
    );
}

/// A create is sent once; one that hangs while the target answers others is checked against
/// the list (nothing stored) and sent again, and its second silence names the input.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_body_the_target_never_answers_fails_naming_it() {
    let run = case(
        Misbehaviour::HangsOnEntityInName,
        &[
            "--suite",
            "validation",
            "--timeout",
            "2",
            "--max-retries",
            "1",
        ],
    )
    .await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    assert!(
        run.text().contains("answers_every_input")
            && run.text().contains("POST")
            && run.text().contains("this request hangs the server"),
        "{}",
        run.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_stops_answering_ends_at_the_deadline() {
    let run = case(
        Misbehaviour::NeverAnswers,
        &[
            "--suite",
            "lifecycle",
            "--timeout",
            "2",
            "--max-retries",
            "1",
        ],
    )
    .await;
    assert!(matches!(run.code, Some(1 | 3)), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn terminal_escapes_in_error_bodies_never_reach_an_output() {
    let run = case(Misbehaviour::EscapesInErrors, &["--suite", "validation"]).await;
    assert_eq!(run.code, Some(exit::FAILED.into()), "{}", run.text());
    assert!(run.text().contains("\\u{1b}"), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_correct_account_passes() {
    let server = reference_server::start_embedded(Vec::new()).await.unwrap();
    let http = reqwest::Client::new();
    let version = abp_spec::Spec::embedded().version().to_owned();
    let creates = (0..3000).map(|i| {
        let request = http
            .post(format!("{}/me/tokens", server.base_url))
            .bearer_auth(&server.credentials.user)
            .header("api-version", version.as_str())
            .json(&serde_json::json!({"name": format!("old token {i}"), "lifetime": "one-year", "privileges": []}));
        async move { request.send().await.unwrap().status() }
    });
    use futures_util::StreamExt;
    let statuses: Vec<_> = futures_util::stream::iter(creates)
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 201));
    let base_url = server.base_url.clone();
    let creds = server.credentials.clone();
    // The list-heavy suite: the whole run takes minutes in a debug build on a loaded machine.
    let run = tokio::task::spawn_blocking(move || {
        run_binary(&base_url, &creds, &["--suite", "lifecycle"])
    })
    .await
    .unwrap();
    assert_contained(&run, &credentials(&server.credentials), "large account");
    assert_eq!(
        run.code,
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&run.outputs[0].1),
        stderr(&run)
    );
    assert_eq!(
        crate::common::tokens(&server.base_url, &server.credentials.user)
            .await
            .len(),
        3000
    );
    eprintln!(
        "large account: {:?}, peak {} KiB",
        run.elapsed, run.peak_kib
    );
    server.shutdown().await;
}
