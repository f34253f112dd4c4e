//! The suite's own mutation test: for every fault in the reference server's catalog, a run
//! against the server with that fault on must fail, and fail through the check that is
//! meant to see it. Prints the table fault → detecting checks. The README's mutation table is
//! produced from the catalog and the check each fault must trip, and checked like generated
//! code: `UPDATE_README=1 cargo test -p conformance --test integration mutation::` rewrites it.

use crate::common::{Creds, run_against};
use reference_server::Fault;

/// The check each fault must trip (it may trip others too).
fn expected_check(fault: Fault) -> &'static str {
    use conformance::checks::*;
    match fault.name() {
        "delete-noop" => DELETE_REMOVES_TOKEN,
        "list-shows-other-users" => ISOLATION_LIST,
        "delete-other-users" => ISOLATION_DELETE,
        "second-delete-succeeds" => STATUS_EXPECTED,
        "secret-survives-delete" => ACCESS_TOKEN_REVOKED,
        "reused-secret" => IDS_AND_SECRETS_UNIQUE,
        "wrong-expiry" => EXPIRY_MATCHES_LIFETIME,
        "privileges-dropped" => CREATE_ECHOES_REQUEST,
        "accept-missing-name" => REJECTION_CHANGES_NOTHING,
        "malformed-json-500" => NOT_A_SERVER_ERROR,
        "accept-unknown-lifetime" => REJECTION_CHANGES_NOTHING,
        "accept-nested-privileges" => REJECTION_CHANGES_NOTHING,
        "no-body-limit" => STATUS_EXPECTED,
        "bad-token-id-404" => STATUS_EXPECTED,
        "any-bearer-accepted" => STATUS_EXPECTED,
        "expired-accepted" => STATUS_EXPECTED,
        "lowercase-scheme-rejected" => STATUS_EXPECTED,
        "forbidden-allowed" => STATUS_EXPECTED,
        "auth-error-plain-text" => CONTENT_TYPE,
        "timestamps-not-iso" => RESPONSE_SCHEMA,
        "create-returns-200" => STATUS_DOCUMENTED,
        "list-unmasked" => NO_SECRET_LEAK,
        "missing-user-id" => RESPONSE_SCHEMA,
        "delete-returns-body" => CONTENT_TYPE,
        "error-message-changed" => SNAPSHOT,
        "delete-stale-index" => MODEL_MATCHES,
        "list-truncated" => MODEL_MATCHES,
        "names-ascii-only" => CREATE_ECHOES_REQUEST,
        "racy-delete" => MODEL_MATCHES,
        "no-www-authenticate" => WWW_AUTHENTICATE,
        "names-trimmed" => STORED_AS_SENT,
        "names-nfc-normalized" => STORED_AS_SENT,
        "names-html-escaped" => STORED_AS_SENT,
        "privileges-sorted" => STORED_AS_SENT,
        "privileges-deduplicated" => STORED_AS_SENT,
        "privileges-capped" => STORED_AS_SENT,
        "name-length-in-bytes" => STATUS_EXPECTED,
        "name-length-in-utf16-units" => STATUS_EXPECTED,
        "mask-shows-most" => SECRET_EXPOSURE,
        "updated-at-seconds" => TOKEN_INVARIANTS,
        "access-token-delete-any-owner" => ISOLATION_DELETE,
        "unique-names" => STATUS_EXPECTED,
        "media-type-case-sensitive" => STATUS_EXPECTED,
        "token-id-lowercase-only" => STATUS_EXPECTED,
        "token-id-case-sensitive" => STATUS_EXPECTED,
        "create-takes-id"
        | "create-takes-owner"
        | "create-takes-timestamps"
        | "create-takes-expiry"
        | "create-takes-secret"
        | "create-takes-organization"
        | "prototype-pollution"
        | "set-operator-applied" => EXTRA_PROPERTIES_IGNORED,
        "privileges-simple-array"
        | "privileges-object-keys-dropped"
        | "privileges-cut-at-255"
        | "names-cut-at-nul"
        | "names-controls-stripped" => STORED_AS_SENT,
        "secret-case-insensitive"
        | "secret-prefix-match"
        | "secret-extension-accepted"
        | "secret-matched-by-mask"
        | "scheme-word-optional"
        | "access-token-strips-bearer"
        | "credential-whitespace-removed" => CREDENTIAL_REFUSED,
        "delete-by-name" => DELETE_SPARES_OTHERS,
        "list-row-per-privilege" => LIST_ITEMS_UNIQUE,
        "challenge-basic" => WWW_AUTHENTICATE,
        other => panic!("fault `{other}` has no expected check: add it to this table"),
    }
}

const TABLE_START: &str = "<!-- mutation table: written by the mutation test -->\n";
const TABLE_END: &str = "<!-- end of the mutation table -->\n";

/// The README's mutation table: every fault of the catalog, its area, and the check that must
/// catch it (the test below demands it of every run).
fn mutation_table() -> String {
    let mut table = String::from(
        "| fault | area | caught by | what the server does wrong |\n|---|---|---|---|\n",
    );
    for &fault in Fault::ALL {
        table.push_str(&format!(
            "| {} | {} | `{}` | {} |\n",
            fault.name(),
            fault.area(),
            expected_check(fault),
            fault.description().replace('|', "\\|")
        ));
    }
    table
}

/// The table in the README is the catalog's: a fault added, renamed or given another check
/// fails here until the README is rewritten (`UPDATE_README=1`).
#[test]
fn the_readme_mutation_table_is_the_catalogs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (readme.find(TABLE_START), readme.find(TABLE_END)) else {
        panic!("README.md has no mutation table between `{TABLE_START}` and `{TABLE_END}`");
    };
    let current = &readme[start + TABLE_START.len()..end];
    let wanted = mutation_table();
    if current == wanted {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!(
            "{}{wanted}{}",
            &readme[..start + TABLE_START.len()],
            &readme[end..]
        );
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let diff = similar::TextDiff::from_lines(current, wanted.as_str())
        .unified_diff()
        .header("README.md", "the catalog")
        .to_string();
    panic!(
        "README.md's mutation table is stale: run `UPDATE_README=1 cargo test -p conformance --test integration mutation::the_readme` and commit it\n{diff}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn every_fault_is_detected_by_its_check() {
    let mut rows = Vec::new();
    let mut missed = Vec::new();
    for &fault in Fault::ALL {
        // The model suite's sequence depends on its seed, and a short random sequence can miss
        // a fault (seed 2 misses delete-stale-index): the score is measured with a fixed seed
        // so that it is reproducible. Random seeds run against a correct server in model.rs.
        let outcome = run_against(vec![fault], Creds::All, |c| {
            c.model_seed = Some(7);
            // Detection is the question, not the minimal sequence: no replays.
            c.model_shrink = false;
        })
        .await;
        let failed = outcome.failed_checks();
        let want = expected_check(fault);
        let detected = !outcome.stats.success() && failed.iter().any(|c| c == want);
        if !detected {
            missed.push(format!(
                "{}: expected {want}, run {} with failing checks {failed:?}",
                fault.name(),
                if outcome.stats.success() {
                    "passed"
                } else {
                    "failed"
                }
            ));
        }
        rows.push((fault.name(), detected, failed.join(", ")));
    }
    let detected = rows.iter().filter(|r| r.1).count();
    println!("\n{:<27} {:<9} detecting checks", "fault", "detected");
    for (name, ok, checks) in &rows {
        println!("{name:<27} {:<9} {checks}", if *ok { "yes" } else { "NO" });
    }
    println!(
        "\nmutation score: {detected}/{} faults detected",
        rows.len()
    );
    assert!(
        missed.is_empty(),
        "faults not detected:\n{}",
        missed.join("\n")
    );
}

/// The faults only the model suite can see: with it left out (and one scenario at a time, so
/// no two scenarios' tokens mix), no spec check of the other suites fails against them. The
/// snapshot gate is left out: it sees `delete-stale-index` in a clean-up delete's 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_faults_escape_the_hand_written_suites() {
    for fault in [
        Fault::DeleteStaleIndex,
        Fault::ListTruncated,
        Fault::RacyDelete,
    ] {
        let outcome = run_against(vec![fault], Creds::All, |c| {
            c.suites = vec!["lifecycle".into(), "validation".into(), "auth".into()];
            c.jobs = 1;
            c.checks =
                conformance::checks::Selection::new(&[], &[conformance::checks::SNAPSHOT.into()])
                    .unwrap();
        })
        .await;
        assert!(
            outcome.stats.success(),
            "{fault}: the hand-written suites see it too: {:?}",
            outcome.failed_checks()
        );
    }
}
