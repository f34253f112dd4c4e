//! Clients for the spec's two security schemes: a bearer credential (`bearerAuth`) or the
//! secret of a user access token (`accessToken`). The credential rides on every request as a
//! default header marked sensitive, and no exchange is recorded (`Observer::default()`).

use crate::generated::{Client, security};
use crate::observer::Observer;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::time::Duration;

// `Auth::Bearer` writes RFC 6750's `Bearer <token>`; stop the build if the spec's bearerAuth
// ever names another HTTP scheme, instead of sending a header the server does not expect.
const _: () = assert!(
    security::BEARER_AUTH_SCHEME.eq_ignore_ascii_case("bearer"),
    "the spec's bearerAuth is no longer an HTTP bearer scheme; update Auth::Bearer"
);

/// The api-key header, checked at compile time (`from_static` rejects an invalid name).
const ACCESS_TOKEN: HeaderName = HeaderName::from_static(security::ACCESS_TOKEN_HEADER);

/// The timeout of [`Client::with_bearer`] and [`Client::with_access_token`], connect and
/// whole request alike: the one progenitor's [`Client::new`] uses.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A credential, in one of the two security schemes the spec accepts on every operation.
///
/// Its `Debug` output never shows the credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `bearerAuth`: sent as `Authorization: Bearer <token>`.
    Bearer(String),
    /// `accessToken`: the secret of a user access token (the `token` field of a
    /// `create_my_token` answer), sent in the [`security::ACCESS_TOKEN_HEADER`] header.
    AccessToken(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
            Auth::AccessToken(_) => "Auth::AccessToken(<redacted>)",
        })
    }
}

impl Auth {
    /// The header this credential travels in. The value is marked sensitive, so it is
    /// redacted from `Debug` output and never added to an HTTP/2 header compression table.
    pub fn header(&self) -> Result<(HeaderName, HeaderValue), BuildError> {
        let (name, text) = match self {
            Auth::Bearer(token) => (AUTHORIZATION, format!("Bearer {token}")),
            Auth::AccessToken(secret) => (ACCESS_TOKEN, secret.clone()),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| BuildError::InvalidCredential)?;
        value.set_sensitive(true);
        Ok((name, value))
    }
}

/// Why a client could not be built. The message never contains the credential.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The credential has bytes an HTTP header value cannot carry (a newline, a control
    /// character).
    InvalidCredential,
    /// reqwest could not build its HTTP client (for example, its TLS backend failed to
    /// initialise).
    Http(reqwest::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidCredential => {
                f.write_str("the credential contains characters not allowed in an HTTP header")
            }
            BuildError::Http(_) => f.write_str("cannot build the HTTP client"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::InvalidCredential => None,
            BuildError::Http(e) => Some(e),
        }
    }
}

impl Client {
    /// A client that authenticates every request with `Authorization: Bearer <token>`.
    ///
    /// `baseurl` includes the path stem, e.g. `https://abp-api.akinon.net/api/v1`. Requests
    /// time out after [`DEFAULT_TIMEOUT`], and redirects are not followed (see
    /// [`Client::with_auth`]).
    pub fn with_bearer(baseurl: &str, token: &str) -> Result<Client, BuildError> {
        Client::with_auth(baseurl, &Auth::Bearer(token.to_owned()), default_http())
    }

    /// A client that authenticates every request with a user access token's secret in the
    /// [`security::ACCESS_TOKEN_HEADER`] header. Otherwise like [`Client::with_bearer`].
    pub fn with_access_token(baseurl: &str, secret: &str) -> Result<Client, BuildError> {
        Client::with_auth(
            baseurl,
            &Auth::AccessToken(secret.to_owned()),
            default_http(),
        )
    }

    /// A client with the credential added to `http`'s default headers, for callers who need
    /// their own reqwest settings (proxy, TLS roots, timeouts).
    ///
    /// The credential is sent on every request, including to wherever a redirect points.
    /// reqwest drops `Authorization` on a redirect to another host but not the
    /// `x-access-token` header, so the other constructors do not follow redirects (the spec
    /// documents none); do the same with `.redirect(reqwest::redirect::Policy::none())`
    /// unless every redirect target may see the credential.
    pub fn with_auth(
        baseurl: &str,
        auth: &Auth,
        http: reqwest::ClientBuilder,
    ) -> Result<Client, BuildError> {
        let (name, value) = auth.header()?;
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        let http = http
            .default_headers(headers)
            .build()
            .map_err(BuildError::Http)?;
        Ok(Client::new_with_client(baseurl, http, Observer::default()))
    }
}

fn default_http() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(DEFAULT_TIMEOUT)
        .timeout(DEFAULT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_sensitive_and_named_by_the_spec() {
        let (name, value) = Auth::Bearer("abc".into()).header().unwrap();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value, "Bearer abc");
        assert!(value.is_sensitive());
        let (name, value) = Auth::AccessToken("uat_x".into()).header().unwrap();
        assert_eq!(name.as_str(), security::ACCESS_TOKEN_HEADER);
        assert_eq!(value, "uat_x");
        assert!(value.is_sensitive());
    }

    #[test]
    fn a_credential_with_a_newline_is_refused_without_echoing_it() {
        let err = Client::with_bearer("http://localhost", "abc\r\nx-injected: 1").unwrap_err();
        assert!(matches!(err, BuildError::InvalidCredential));
        assert!(!err.to_string().contains("abc"), "{err}");
        let err = Client::with_access_token("http://localhost", "s\n").unwrap_err();
        assert!(matches!(err, BuildError::InvalidCredential));
    }

    #[test]
    fn debug_output_hides_the_credential() {
        let shown = format!(
            "{:?} {:?}",
            Auth::Bearer("s3cr3t".into()),
            Auth::AccessToken("uat_s3cr3t".into())
        );
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
