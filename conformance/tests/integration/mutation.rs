//! The suite's own mutation test: for every fault in the reference server's catalog, a run
//! against the server with that fault on must fail, and fail through the check that is
//! meant to see it. Prints the table fault → detecting checks. The README's mutation table is
//! produced from the catalog and the check each fault must trip, and checked like generated
//! code: `UPDATE_README=1 cargo test -p conformance --test integration mutation::` rewrites it.

use crate::common::{Creds, run_against};
use reference_server::Fault;

/// The check each fault must trip (it may trip others too). The match is exhaustive: a fault
/// added to the catalog does not compile here until it names the check that must catch it.
fn expected_check(fault: Fault) -> &'static str {
    use conformance::checks::*;
    match fault {
        Fault::DeleteNoop => DELETE_REMOVES_TOKEN,
        Fault::ListShowsOtherUsers => ISOLATION_LIST,
        Fault::DeleteOtherUsers => ISOLATION_DELETE,
        Fault::SecondDeleteSucceeds => STATUS_EXPECTED,
        Fault::SecretSurvivesDelete => ACCESS_TOKEN_REVOKED,
        Fault::ReusedSecret => IDS_AND_SECRETS_UNIQUE,
        Fault::WrongExpiry => EXPIRY_MATCHES_LIFETIME,
        Fault::PrivilegesDropped => CREATE_ECHOES_REQUEST,
        Fault::AcceptMissingName => REJECTION_CHANGES_NOTHING,
        Fault::MalformedJson500 => NOT_A_SERVER_ERROR,
        Fault::AcceptUnknownLifetime => REJECTION_CHANGES_NOTHING,
        Fault::AcceptNestedPrivileges => REJECTION_CHANGES_NOTHING,
        Fault::StringCastToArray => REJECTION_CHANGES_NOTHING,
        Fault::ArrayOfOneUnwrapped => REJECTION_CHANGES_NOTHING,
        Fault::NoBodyLimit => STATUS_EXPECTED,
        Fault::BadTokenId404 => STATUS_EXPECTED,
        Fault::AnyBearerAccepted => STATUS_EXPECTED,
        Fault::ExpiredAccepted => STATUS_EXPECTED,
        Fault::LowercaseSchemeRejected => STATUS_EXPECTED,
        Fault::ForbiddenAllowed => STATUS_EXPECTED,
        Fault::AuthErrorPlainText => CONTENT_TYPE,
        Fault::TimestampsNotIso => RESPONSE_SCHEMA,
        Fault::CreateReturns200 => STATUS_DOCUMENTED,
        Fault::ListUnmasked => NO_SECRET_LEAK,
        Fault::MissingUserId => RESPONSE_SCHEMA,
        Fault::DeleteReturnsBody => CONTENT_TYPE,
        Fault::ErrorMessageChanged => SNAPSHOT,
        Fault::DeleteStaleIndex => MODEL_MATCHES,
        Fault::ListTruncated => MODEL_MATCHES,
        Fault::NamesAsciiOnly => STORED_AS_SENT,
        Fault::RacyDelete => MODEL_MATCHES,
        Fault::NoWwwAuthenticate => WWW_AUTHENTICATE,
        Fault::NamesTrimmed => STORED_AS_SENT,
        Fault::NamesNfcNormalized => STORED_AS_SENT,
        Fault::NamesHtmlEscaped => STORED_AS_SENT,
        Fault::PrivilegesSorted => STORED_AS_SENT,
        Fault::PrivilegesDeduplicated => STORED_AS_SENT,
        Fault::PrivilegesCapped => STORED_AS_SENT,
        Fault::NameLengthInBytes => STATUS_EXPECTED,
        Fault::NameLengthInUtf16Units => STATUS_EXPECTED,
        Fault::MaskShowsMost => SECRET_EXPOSURE,
        Fault::UpdatedAtSeconds => TOKEN_INVARIANTS,
        Fault::AccessTokenDeleteAnyOwner => ISOLATION_DELETE,
        Fault::UniqueNames => STATUS_EXPECTED,
        Fault::MediaTypeCaseSensitive => STATUS_EXPECTED,
        Fault::TokenIdLowercaseOnly => STATUS_EXPECTED,
        Fault::TokenIdCaseSensitive => STATUS_EXPECTED,
        Fault::CreateTakesId
        | Fault::CreateTakesOwner
        | Fault::CreateTakesTimestamps
        | Fault::CreateTakesExpiry
        | Fault::CreateTakesSecret
        | Fault::CreateTakesOrganization
        | Fault::PrototypePollution
        | Fault::SetOperatorApplied => EXTRA_PROPERTIES_IGNORED,
        Fault::PrivilegesSimpleArray
        | Fault::PrivilegesObjectKeysDropped
        | Fault::PrivilegesCutAt255
        | Fault::NamesCutAtNul
        | Fault::NamesControlsStripped => STORED_AS_SENT,
        Fault::SecretCaseInsensitive
        | Fault::SecretPrefixMatch
        | Fault::SecretExtensionAccepted
        | Fault::SecretMatchedByMask
        | Fault::SchemeWordOptional
        | Fault::AccessTokenStripsBearer
        | Fault::CredentialWhitespaceRemoved => CREDENTIAL_REFUSED,
        Fault::DeleteByName => DELETE_SPARES_OTHERS,
        Fault::ListRowPerPrivilege => LIST_ITEMS_UNIQUE,
        Fault::ChallengeBasic => WWW_AUTHENTICATE,
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
