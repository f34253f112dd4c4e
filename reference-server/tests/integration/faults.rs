//! Each fault changes behaviour: the same probe gives a different observation on a correct
//! server and on one with the fault switched on. The match in `observe` is exhaustive, so the
//! test lists every fault of the catalog. That each fault changes only one aspect of the
//! server is proven where faults are compiled (`src/behaviour.rs`,
//! `every_fault_changes_exactly_one_field_or_wraps_the_store_once`).

use crate::common::{Raw, bearer, example_lifetime, raw_http, server};
use abp_spec::Spec;
use reference_server::{EmbeddedServer, Fault};
use reqwest::Method;
use serde_json::json;

/// What a probe sees, as text; the match is exhaustive, so a new fault needs a probe.
async fn observe(fault: Fault, srv: &EmbeddedServer, raw: &Raw) -> String {
    let c = &raw.creds;
    let lifetime = example_lifetime();
    match fault {
        Fault::DeleteNoop => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let status = raw.delete(&c.user, &id).await.status;
            format!("{status} {}", raw.list(&c.user).await.len())
        }
        Fault::ListShowsOtherUsers => {
            raw.create_ok(&c.other_user).await;
            raw.list(&c.user).await.len().to_string()
        }
        Fault::DeleteOtherUsers => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let status = raw.delete(&c.other_user, &id).await.status;
            format!("{status} {}", raw.list(&c.user).await.len())
        }
        Fault::SecondDeleteSucceeds => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_owned();
            raw.delete(&c.user, &id).await;
            raw.delete(&c.user, &id).await.status.to_string()
        }
        Fault::SecretSurvivesDelete => {
            let t = raw.create_ok(&c.user).await;
            raw.delete(&c.user, t["_id"].as_str().unwrap()).await;
            let secret = t["token"].as_str().unwrap();
            raw.list_with(&[("x-access-token", secret)])
                .await
                .status
                .to_string()
        }
        Fault::ReusedSecret => {
            let a = raw.create_ok(&c.user).await;
            let b = raw.create_ok(&c.user).await;
            (a["token"] == b["token"]).to_string()
        }
        Fault::WrongExpiry => {
            let longest = Spec::embedded()
                .lifetimes()
                .unwrap()
                .last()
                .unwrap()
                .name
                .clone();
            let t = raw
                .create(&c.user, json!({"name": "e", "lifetime": longest}))
                .await
                .json();
            format!("{} {}", t["createdAt"], t["expiresOn"])
        }
        Fault::PrivilegesDropped => {
            let t = raw
                .create(
                    &c.user,
                    json!({"name": "p", "lifetime": lifetime, "privileges": ["a"]}),
                )
                .await
                .json();
            t["privileges"].to_string()
        }
        Fault::AcceptMissingName => raw
            .create(&c.user, json!({"lifetime": lifetime}))
            .await
            .status
            .to_string(),
        Fault::MalformedJson500 => raw
            .create_raw(&c.user, "application/json", b"{".to_vec())
            .await
            .status
            .to_string(),
        Fault::AcceptUnknownLifetime => raw
            .create(&c.user, json!({"name": "u", "lifetime": "forever"}))
            .await
            .status
            .to_string(),
        Fault::AcceptNestedPrivileges => raw
            .create(
                &c.user,
                json!({"name": "n", "lifetime": lifetime, "privileges": [["a"], "b"]}),
            )
            .await
            .status
            .to_string(),
        Fault::StringCastToArray => raw
            .create(
                &c.user,
                json!({"name": "c", "lifetime": lifetime, "privileges": "project:read"}),
            )
            .await
            .status
            .to_string(),
        Fault::ArrayOfOneUnwrapped => raw
            .create(&c.user, json!({"name": "u", "lifetime": [lifetime]}))
            .await
            .status
            .to_string(),
        Fault::NoBodyLimit => {
            let mut body = json!({"name": "big", "lifetime": lifetime})
                .to_string()
                .into_bytes();
            let limit = Spec::embedded()
                .operation("createMyToken")
                .and_then(|o| o.body)
                .and_then(|b| b.max_bytes)
                .expect("the spec sets x-max-body-bytes") as usize;
            body.resize(limit + 1, b' ');
            raw.create_raw(&c.user, "application/json", body)
                .await
                .status
                .to_string()
        }
        Fault::BadTokenId404 => raw.delete(&c.user, "xyz").await.status.to_string(),
        Fault::AnyBearerAccepted => raw
            .list_with(&[("authorization", "Bearer whatever")])
            .await
            .status
            .to_string(),
        Fault::ExpiredAccepted => raw
            .list_with(&[("authorization", &bearer(&c.expired))])
            .await
            .status
            .to_string(),
        Fault::LowercaseSchemeRejected => raw
            .list_with(&[("authorization", &format!("bearer {}", c.user))])
            .await
            .status
            .to_string(),
        Fault::ForbiddenAllowed => raw
            .list_with(&[("authorization", &bearer(&c.forbidden))])
            .await
            .status
            .to_string(),
        Fault::AuthErrorPlainText => {
            let a = raw.list_with(&[]).await;
            format!(
                "{} {:?} {}",
                a.status,
                a.content_type,
                String::from_utf8_lossy(&a.body)
            )
        }
        Fault::TimestampsNotIso => {
            raw.create_ok(&c.user).await["createdAt"].as_str().unwrap()[10..11].to_owned()
        }
        Fault::CreateReturns200 => raw
            .create(&c.user, json!({"name": "s", "lifetime": lifetime}))
            .await
            .status
            .to_string(),
        Fault::ListUnmasked => {
            let secret = raw.create_ok(&c.user).await["token"].clone();
            (raw.list(&c.user).await[0]["token"] == secret).to_string()
        }
        Fault::MissingUserId => raw
            .create_ok(&c.user)
            .await
            .get("userId")
            .is_some()
            .to_string(),
        Fault::DeleteReturnsBody => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let request = format!(
                "DELETE /api/v1/me/tokens/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
                bearer(&c.user)
            );
            let answer = raw_http(srv.addr, request.as_bytes()).await;
            let body = answer
                .split_once("\r\n\r\n")
                .map(|(_, b)| b.to_owned())
                .unwrap_or_default();
            format!("{} {body}", &answer[..12])
        }
        Fault::ErrorMessageChanged => {
            let a = raw.delete(&c.user, "0123456789abcdef01234567").await;
            format!("{} {}", a.status, a.json()["message"])
        }
        Fault::DeleteStaleIndex => {
            let mut ids = Vec::new();
            for _ in 0..3 {
                ids.push(
                    raw.create_ok(&c.user).await["_id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            raw.delete(&c.user, &ids[0]).await;
            raw.delete(&c.user, &ids[2]).await.status.to_string()
        }
        Fault::NamesAsciiOnly => {
            raw.create(&c.user, json!({"name": "tøken-名前", "lifetime": lifetime}))
                .await;
            raw.list(&c.user).await[0]["name"].to_string()
        }
        Fault::ListTruncated => {
            for _ in 0..25 {
                raw.create_ok(&c.user).await;
            }
            raw.list(&c.user).await.len().to_string()
        }
        Fault::NoWwwAuthenticate => raw
            .send(Method::GET, "/me/tokens", &[], None)
            .await
            .www_authenticate
            .unwrap_or_default(),
        Fault::NamesTrimmed
        | Fault::NamesNfcNormalized
        | Fault::NamesHtmlEscaped
        | Fault::PrivilegesSorted
        | Fault::PrivilegesDeduplicated
        | Fault::PrivilegesCapped => {
            let privileges: Vec<String> = ["b", "a", "b"]
                .into_iter()
                .map(str::to_owned)
                .chain((0..70).map(|i| format!("p{i}")))
                .collect();
            raw.create(
                &c.user,
                json!({"name": "<t&'e\u{301}> ", "lifetime": lifetime, "privileges": privileges}),
            )
            .await;
            let listed = &raw.list(&c.user).await[0];
            format!("{} {}", listed["name"], listed["privileges"])
        }
        Fault::NameLengthInBytes | Fault::NameLengthInUtf16Units => {
            let name = "\u{e9}".repeat(64) + &"\u{1d11e}".repeat(64);
            raw.create(&c.user, json!({"name": name, "lifetime": lifetime}))
                .await
                .status
                .to_string()
        }
        Fault::MaskShowsMost => {
            let secret = raw.create_ok(&c.user).await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let shown = raw.list(&c.user).await[0]["token"].clone();
            shown.as_str().unwrap().contains(&secret[8..20]).to_string()
        }
        Fault::UpdatedAtSeconds => {
            raw.create_ok(&c.user).await;
            let listed = &raw.list(&c.user).await[0];
            format!("{} {}", listed["createdAt"], listed["updatedAt"])
        }
        Fault::AccessTokenDeleteAnyOwner => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let theirs = raw.create_ok(&c.other_user).await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let status = raw
                .send(
                    Method::DELETE,
                    &format!("/me/tokens/{id}"),
                    &[("x-access-token", &theirs)],
                    None,
                )
                .await
                .status;
            format!("{status} {}", raw.list(&c.user).await.len())
        }
        Fault::UniqueNames => {
            raw.create_ok(&c.user).await;
            raw.create(
                &c.user,
                json!({"name": "t", "lifetime": lifetime, "privileges": ["project:read"]}),
            )
            .await
            .status
            .to_string()
        }
        Fault::MediaTypeCaseSensitive => raw
            .create_raw(
                &c.user,
                "Application/JSON; Charset=UTF-8",
                json!({"name": "m", "lifetime": lifetime})
                    .to_string()
                    .into_bytes(),
            )
            .await
            .status
            .to_string(),
        Fault::TokenIdLowercaseOnly | Fault::TokenIdCaseSensitive => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_ascii_uppercase();
            let status = raw.delete(&c.user, &id).await.status;
            format!("{status} {}", raw.list(&c.user).await.len())
        }
        Fault::RacyDelete => {
            let id = raw.create_ok(&c.user).await["_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let (a, b) = tokio::join!(raw.delete(&c.user, &id), raw.delete(&c.user, &id));
            let mut statuses = [a.status, b.status];
            statuses.sort_unstable();
            format!("{statuses:?}")
        }
        Fault::CreateTakesId
        | Fault::CreateTakesOwner
        | Fault::CreateTakesTimestamps
        | Fault::CreateTakesExpiry
        | Fault::CreateTakesSecret
        | Fault::CreateTakesOrganization => {
            let t = raw
                .create(
                    &c.user,
                    json!({
                        "name": "m", "lifetime": lifetime,
                        "_id": "c0ffeec0ffeec0ffeec0ffee",
                        "userId": "someone-else",
                        "createdAt": "2001-02-03T04:05:06.789Z",
                        "updatedAt": "2001-02-03T04:05:06.789Z",
                        "expiresOn": "2099-02-03T04:05:06.789Z",
                        "token": "uat_chosen-by-the-client",
                        "organizationId": "another-organization",
                    }),
                )
                .await
                .json();
            format!(
                "{} {} {} {} {} {} {}",
                t["_id"] == "c0ffeec0ffeec0ffeec0ffee",
                t["userId"] == "someone-else",
                t["createdAt"] == "2001-02-03T04:05:06.789Z",
                t["updatedAt"] == "2001-02-03T04:05:06.789Z",
                t["expiresOn"] == "2099-02-03T04:05:06.789Z",
                t["token"] == "uat_chosen-by-the-client",
                t["organizationId"] == "another-organization",
            )
        }
        Fault::PrototypePollution | Fault::SetOperatorApplied => {
            let key = if fault == Fault::PrototypePollution {
                "__proto__"
            } else {
                "$set"
            };
            let mut body = json!({"name": "p", "lifetime": lifetime});
            body[key] = json!({"privileges": ["admin"]});
            let t = raw.create(&c.user, body).await.json();
            t["privileges"].to_string()
        }
        Fault::PrivilegesSimpleArray
        | Fault::PrivilegesObjectKeysDropped
        | Fault::PrivilegesCutAt255
        | Fault::NamesCutAtNul
        | Fault::NamesControlsStripped => {
            let long = "x".repeat(300);
            raw.create(
                &c.user,
                json!({
                    "name": "a\u{0}b\u{1b}c", "lifetime": lifetime,
                    "privileges": ["a,b", "", "constructor", long],
                }),
            )
            .await;
            let listed = &raw.list(&c.user).await[0];
            format!("{} {}", listed["name"], listed["privileges"])
        }
        Fault::SecretCaseInsensitive
        | Fault::SecretPrefixMatch
        | Fault::SecretExtensionAccepted
        | Fault::SecretMatchedByMask
        | Fault::AccessTokenStripsBearer
        | Fault::CredentialWhitespaceRemoved => {
            let secret = raw.create_ok(&c.user).await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let masked = raw.list(&c.user).await[0]["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let mid = secret.len() / 2;
            let mut statuses = Vec::new();
            for bent in [
                secret.to_ascii_uppercase(),
                secret[..secret.len() - 1].to_owned(),
                format!("{secret}A"),
                masked,
                format!("Bearer {secret}"),
                format!("{} {}", &secret[..mid], &secret[mid..]),
            ] {
                statuses.push(raw.list_with(&[("x-access-token", &bent)]).await.status);
            }
            format!("{statuses:?}")
        }
        Fault::SchemeWordOptional => {
            let mut statuses = Vec::new();
            for value in [c.user.clone(), format!("Bearer Bearer {}", c.user)] {
                statuses.push(raw.list_with(&[("authorization", &value)]).await.status);
            }
            format!("{statuses:?}")
        }
        Fault::DeleteByName => {
            let a = raw.create_ok(&c.user).await;
            raw.create_ok(&c.user).await;
            raw.delete(&c.user, a["_id"].as_str().unwrap()).await;
            raw.list(&c.user).await.len().to_string()
        }
        Fault::ListRowPerPrivilege => {
            raw.create(
                &c.user,
                json!({"name": "r", "lifetime": lifetime, "privileges": ["a", "b"]}),
            )
            .await;
            raw.list(&c.user).await.len().to_string()
        }
        Fault::ChallengeBasic => raw
            .list_with(&[])
            .await
            .www_authenticate
            .unwrap_or_default(),
    }
}

#[tokio::test]
async fn every_fault_changes_what_a_probe_sees() {
    let mut same = Vec::new();
    for &fault in Fault::ALL {
        // Fresh servers for both sides, so earlier probes leave no state behind.
        let (good, good_raw) = server(vec![]).await;
        let (bad, bad_raw) = server(vec![fault]).await;
        let expected = observe(fault, &good, &good_raw).await;
        let actual = observe(fault, &bad, &bad_raw).await;
        if actual == expected {
            same.push(format!("{}: both `{actual}`", fault.name()));
        }
        good.shutdown().await;
        bad.shutdown().await;
    }
    assert!(
        same.is_empty(),
        "faults without effect:\n{}",
        same.join("\n")
    );
}

#[tokio::test]
async fn no_fault_gives_a_5xx_except_the_one_that_must() {
    // Only malformed-json-500 answers 5xx, and only for malformed JSON.
    let (srv, raw) = server(vec![Fault::MalformedJson500]).await;
    let c = raw.creds.clone();
    assert_eq!(
        raw.create_raw(&c.user, "application/json", b"{".to_vec())
            .await
            .status,
        500
    );
    assert_eq!(
        raw.create_raw(&c.user, "application/json", Vec::new())
            .await
            .status,
        400
    );
    let a = raw
        .send(
            Method::GET,
            "/me/tokens",
            &[("authorization", &bearer(&c.user))],
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    srv.shutdown().await;
}
