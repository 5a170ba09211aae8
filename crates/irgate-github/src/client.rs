//! A GitHub REST client with irgate's own retry policy on top of octocrab.
//!
//! octocrab handles authentication (a token, or a GitHub App that mints and
//! refreshes installation tokens) and the transport. Its built-in retry layer is
//! switched off: every request goes through [`GithubClient::request`], which
//! retries 5xx answers, transport errors and timeouts with exponential backoff,
//! waits out `429` and `403` + `x-ratelimit-remaining: 0` as long as
//! `Retry-After` / `x-ratelimit-reset` say, and gives up when the total time
//! budget would be exceeded. A request that is not idempotent (creating a
//! comment) is never retried after an answer that might mean it was carried out
//! (5xx, timeout, broken connection): the caller reconciles instead, see
//! [`crate::comment`].

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

use crate::payload::ErrorBody;

/// How to authenticate against GitHub.
#[derive(Clone)]
pub enum Auth {
    /// A token: `GITHUB_TOKEN` in Actions, or a personal access token.
    Token(String),
    /// A GitHub App installation: octocrab signs a JWT with the private key and
    /// exchanges it for an installation token, refreshed when it expires.
    App {
        /// The App's numeric id.
        app_id: u64,
        /// The App's private key, PEM.
        private_key_pem: String,
        /// The installation on the repository's owner.
        installation_id: u64,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Auth::Token(<redacted>)"),
            Auth::App {
                app_id,
                installation_id,
                ..
            } => write!(
                f,
                "Auth::App {{ app_id: {app_id}, installation_id: {installation_id}, private_key_pem: <redacted> }}"
            ),
        }
    }
}

/// Retry and time limits for every request. Tests shrink the delays.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Upper bound for one backoff step (not for server-requested waits).
    pub max_backoff: Duration,
    /// Bound on the time one logical request may take, waits included. A
    /// server-requested wait that would pass it fails the request at once.
    pub total_budget: Duration,
    /// Bound on one attempt.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(16),
            total_budget: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Whether a request may be repeated after an answer that leaves open whether
/// GitHub carried it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PATCH, PUT with a blob sha, DELETE, statuses: safe to repeat.
    Idempotent,
    /// POST that creates something: repeated only after 429 / rate limit.
    CreatesResource,
}

/// Everything needed to build a [`GithubClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API root, `https://api.github.com` or `https://HOST/api/v3` on Enterprise.
    pub base_url: String,
    /// Credentials.
    pub auth: Auth,
    /// Retry and time limits.
    pub retry: RetryPolicy,
}

/// Default API root.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Checks that `url` is an absolute `http://` or `https://` URL with a host,
/// and says what is wrong otherwise (the caller names the option it came from).
///
/// Used for the API root and for links handed to GitHub (a check run's
/// "Details" link): `127.0.0.1:8080` without a scheme would otherwise reach the
/// HTTP stack, which cannot send to it.
pub fn check_http_url(url: &str) -> Result<(), String> {
    if !url.contains("://") {
        return Err(format!(
            "`{url}` has no scheme; write it as https://{url} (or http:// for a local test server)"
        ));
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL ({e}); write it as https://HOST[/PATH]"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) if !other.is_empty() => {
            return Err(format!(
                "`{url}` has the scheme `{other}`; it must start with https:// or http://"
            ))
        }
        _ => {
            return Err(format!(
                "`{url}` has no scheme; write it as https://HOST[/PATH]"
            ))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!(
            "`{url}` names no host; write it as https://HOST[/PATH]"
        ));
    }
    Ok(())
}

/// A failed GitHub request, with what a user needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad client configuration (base URL, private key).
    #[error("GitHub client configuration: {0}")]
    Config(String),
    /// GitHub answered with a status that retrying cannot fix.
    #[error("GitHub refused {method} {path}: HTTP {status}: {message}")]
    Status {
        /// HTTP method.
        method: Method,
        /// API path.
        path: String,
        /// HTTP status.
        status: StatusCode,
        /// GitHub's `message` field, or the start of the body.
        message: String,
    },
    /// Still failing after every retry, or out of the time budget.
    #[error(
        "GitHub request {method} {path} gave up after {attempts} attempt(s) in {elapsed:?}: {last}"
    )]
    GaveUp {
        /// HTTP method.
        method: Method,
        /// API path.
        path: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: String,
    },
    /// A non-idempotent request got an answer that leaves open whether it was
    /// carried out; the caller must look before trying again.
    #[error("GitHub request {method} {path} may or may not have been carried out: {reason}")]
    Ambiguous {
        /// HTTP method.
        method: Method,
        /// API path.
        path: String,
        /// What happened.
        reason: String,
    },
    /// The answer was not the JSON expected.
    #[error("GitHub answer to {method} {path} could not be read: {reason}")]
    Decode {
        /// HTTP method.
        method: Method,
        /// API path.
        path: String,
        /// Why.
        reason: String,
    },
}

impl ApiError {
    /// The HTTP status when GitHub refused the request.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One answer from GitHub.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status (always 2xx here; other statuses become [`ApiError`]).
    pub status: StatusCode,
    /// Response headers (`link` is used for paging).
    pub headers: HeaderMap,
    /// Parsed JSON body (`Null` when empty).
    pub body: Value,
}

/// The GitHub client irgate uses for every call.
#[derive(Clone)]
pub struct GithubClient {
    crab: Octocrab,
    /// A client without credentials, for the storage URLs GitHub redirects
    /// downloads to: a token sent there would leave GitHub.
    anon: Octocrab,
    /// Whether the API root is `https://` (then redirects must be too).
    https: bool,
    retry: RetryPolicy,
}

/// What one try of a request (or a download) came to.
enum Attempt<T = ApiResponse> {
    Done(T),
    /// Retry after this wait (`None`: use backoff). `sent` is true when GitHub
    /// may have acted on the request.
    Retry {
        wait: Option<Duration>,
        reason: String,
        maybe_done: bool,
    },
    Fatal(ApiError),
}

impl GithubClient {
    /// Builds a client. App credentials are checked here (the key must parse).
    pub fn new(config: &ClientConfig) -> Result<Self, ApiError> {
        let base = config.base_url.trim_end_matches('/').to_string();
        check_http_url(&config.base_url)
            .map_err(|e| ApiError::Config(format!("API base URL {e}")))?;
        let builder = Octocrab::builder()
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(config.retry.request_timeout))
            .set_read_timeout(Some(config.retry.request_timeout))
            .set_write_timeout(Some(config.retry.request_timeout))
            .base_uri(base.as_str())
            .map_err(|e| ApiError::Config(format!("base URL `{base}`: {e}")))?;
        let crab = match &config.auth {
            Auth::Token(token) => builder
                .personal_token(token.clone())
                .build()
                .map_err(|e| ApiError::Config(e.to_string()))?,
            Auth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key = octocrab::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(
                    |e| {
                        ApiError::Config(format!(
                            "GitHub App private key is not an RSA PEM key: {e}"
                        ))
                    },
                )?;
                let app = builder
                    .app((*app_id).into(), key)
                    .build()
                    .map_err(|e| ApiError::Config(e.to_string()))?;
                app.installation((*installation_id).into())
                    .map_err(|e| ApiError::Config(e.to_string()))?
            }
        };
        let anon = Octocrab::builder()
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(config.retry.request_timeout))
            .set_read_timeout(Some(config.retry.request_timeout))
            .build()
            .map_err(|e| ApiError::Config(e.to_string()))?;
        Ok(Self {
            crab,
            anon,
            https: base.starts_with("https://"),
            retry: config.retry.clone(),
        })
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// GET `path` (with query), retried.
    pub async fn get(&self, path: &str) -> Result<ApiResponse, ApiError> {
        self.request(Method::GET, path, None, Idempotency::Idempotent)
            .await
    }

    /// Sends one logical request under the retry policy.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<ApiResponse, ApiError> {
        self.send(method, path, body, idempotency, false).await
    }

    /// GET `path`, which GitHub answers with a redirect (a download link), under
    /// the retry policy: returns the `Location`, checked to be an absolute
    /// `https://` URL (`http://` only when the API root is `http://`, a local
    /// test server).
    pub async fn redirect_location(&self, path: &str) -> Result<String, ApiError> {
        let resp = self
            .send(Method::GET, path, None, Idempotency::Idempotent, true)
            .await?;
        let decode = |reason: String| ApiError::Decode {
            method: Method::GET,
            path: path.to_string(),
            reason,
        };
        if !resp.status.is_redirection() {
            return Err(decode(format!(
                "expected a redirect to the download, got HTTP {}",
                resp.status
            )));
        }
        let location = resp
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| decode("a redirect without a readable Location header".into()))?
            .to_string();
        check_http_url(&location).map_err(|e| decode(format!("redirect target {e}")))?;
        if self.https && !location.starts_with("https://") {
            return Err(decode(format!(
                "redirect target `{location}` is not https://; refusing to download over plain HTTP"
            )));
        }
        Ok(location)
    }

    /// Downloads the absolute `url` (a storage link from
    /// [`GithubClient::redirect_location`]) WITHOUT GitHub's credentials, and
    /// reads at most `max_bytes` of it: a larger answer is refused, by its
    /// `Content-Length` before reading or as soon as the stream passes the
    /// bound. Transport errors and 5xx are retried under the retry policy.
    pub async fn download(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, ApiError> {
        let shown = redact_query(url);
        // No per-try limit: a large download may take most of the budget.
        self.with_retries(
            &Method::GET,
            &shown,
            Idempotency::Idempotent,
            None,
            || async {
                match self.download_once(url, max_bytes).await {
                    Ok(bytes) => Attempt::Done(bytes),
                    Err(DownloadFailure::Fatal(e)) => Attempt::Fatal(e),
                    Err(DownloadFailure::Retry(reason)) => Attempt::Retry {
                        wait: None,
                        reason,
                        maybe_done: false,
                    },
                }
            },
        )
        .await
    }

    async fn download_once(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, DownloadFailure> {
        use http_body_util::BodyExt;
        let shown = redact_query(url);
        let too_large = |size: Option<u64>| {
            DownloadFailure::Fatal(ApiError::Decode {
                method: Method::GET,
                path: shown.clone(),
                reason: match size {
                    Some(n) => {
                        format!("the download is {n} bytes, more than the {max_bytes} allowed")
                    }
                    None => format!("the download is more than the {max_bytes} bytes allowed"),
                },
            })
        };
        let resp = self
            .anon
            ._get(url)
            .await
            .map_err(|e| DownloadFailure::Retry(format!("transport: {e}")))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(DownloadFailure::Retry(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(DownloadFailure::Fatal(ApiError::Status {
                method: Method::GET,
                path: shown.clone(),
                status,
                message: "the download link was refused (it may have expired)".into(),
            }));
        }
        let declared = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(n) = declared.filter(|n| *n > max_bytes) {
            return Err(too_large(Some(n)));
        }
        let mut body = resp.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| DownloadFailure::Retry(format!("reading the download: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() as u64 + data.len() as u64 > max_bytes {
                    return Err(too_large(None));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(bytes)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
        redirect: bool,
    ) -> Result<ApiResponse, ApiError> {
        let per_try = Some(self.retry.request_timeout);
        self.with_retries(&method, path, idempotency, per_try, || {
            self.once(&method, path, body, redirect)
        })
        .await
    }

    /// Runs `attempt` until it is done or fatal, under the retry policy: server-asked
    /// waits or exponential backoff between tries, at most `max_retries` retries and
    /// `total_budget` in all, each try within `per_try` (or what is left of the
    /// budget). A try that may have been carried out is not repeated for a request
    /// that creates something: that is [`ApiError::Ambiguous`].
    async fn with_retries<T, F, Fut>(
        &self,
        method: &Method,
        path: &str,
        idempotency: Idempotency,
        per_try: Option<Duration>,
        mut attempt: F,
    ) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let start = Instant::now();
        let mut attempts = 0u32;
        let mut backoff = self.retry.initial_backoff;
        loop {
            attempts += 1;
            let remaining = self.retry.total_budget.saturating_sub(start.elapsed());
            let timeout = per_try.map_or(remaining, |t| t.min(remaining));
            let outcome = match tokio::time::timeout(timeout, attempt()).await {
                Ok(outcome) => outcome,
                Err(_) => Attempt::Retry {
                    wait: None,
                    reason: format!("no answer within {timeout:?}"),
                    maybe_done: true,
                },
            };
            let (wait, reason) = match outcome {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fatal(e) => return Err(e),
                Attempt::Retry {
                    wait,
                    reason,
                    maybe_done,
                } => {
                    if maybe_done && idempotency == Idempotency::CreatesResource {
                        return Err(ApiError::Ambiguous {
                            method: method.clone(),
                            path: path.to_string(),
                            reason,
                        });
                    }
                    (wait, reason)
                }
            };
            let wait = match wait {
                Some(w) => w,
                None => {
                    let w = backoff;
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                    w
                }
            };
            let gave_up = |last: String| ApiError::GaveUp {
                method: method.clone(),
                path: path.to_string(),
                attempts,
                elapsed: start.elapsed(),
                last,
            };
            if attempts > self.retry.max_retries {
                return Err(gave_up(reason));
            }
            if start.elapsed() + wait >= self.retry.total_budget {
                return Err(gave_up(format!(
                    "{reason}; waiting {wait:?} more would pass the {:?} budget",
                    self.retry.total_budget
                )));
            }
            tracing::warn!(%method, path, attempts, ?wait, %reason, "retrying GitHub request");
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        redirect: bool,
    ) -> Attempt {
        let sent = match *method {
            Method::GET => self.crab._get(path).await,
            Method::POST => self.crab._post(path, body).await,
            Method::PATCH => self.crab._patch(path, body).await,
            Method::PUT => self.crab._put(path, body).await,
            Method::DELETE => self.crab._delete(path, body).await,
            _ => return Attempt::Fatal(ApiError::Config(format!("unsupported method {method}"))),
        };
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                let maybe_done = !matches!(e, octocrab::Error::Uri { .. });
                return Attempt::Retry {
                    wait: None,
                    reason: format!("transport: {e}"),
                    maybe_done,
                };
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        if redirect && status.is_redirection() {
            return Attempt::Done(ApiResponse {
                status,
                headers,
                body: Value::Null,
            });
        }
        let text = match self.crab.body_to_string(resp).await {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry {
                    wait: None,
                    reason: format!("reading the answer: {e}"),
                    maybe_done: true,
                }
            }
        };
        if status.is_success() {
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        return Attempt::Fatal(ApiError::Decode {
                            method: method.clone(),
                            path: path.to_string(),
                            reason: format!("not JSON: {e}"),
                        })
                    }
                }
            };
            return Attempt::Done(ApiResponse {
                status,
                headers,
                body,
            });
        }
        let message = github_message(&text);
        if let Some(wait) = rate_limit_wait(status, &headers) {
            return Attempt::Retry {
                wait: Some(wait),
                reason: format!("rate limited (HTTP {status}): {message}"),
                maybe_done: false,
            };
        }
        if status.is_server_error() {
            // A 503 may say when to come back.
            let wait = headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Attempt::Retry {
                wait,
                reason: format!("HTTP {status}: {message}"),
                maybe_done: true,
            };
        }
        Attempt::Fatal(ApiError::Status {
            method: method.clone(),
            path: path.to_string(),
            status,
            message,
        })
    }
}

/// Why one download attempt failed.
enum DownloadFailure {
    /// Worth another attempt (transport, 5xx).
    Retry(String),
    /// Not.
    Fatal(ApiError),
}

/// `url` without its query, which for a storage link is a signature that grants
/// access: errors and logs never show it.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

/// GitHub's `message` (plus validation `errors`) from an error body.
fn github_message(text: &str) -> String {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => {
            let mut msg = body.message.unwrap_or_else(|| "(no message)".to_string());
            if let Some(errors) = body.errors {
                msg.push_str(&format!(" {errors}"));
            }
            msg
        }
        Err(_) => text.chars().take(200).collect(),
    }
}

/// Decodes the answer `body` to `method path` as `T` (see [`crate::payload`]);
/// a missing or mistyped field is an [`ApiError::Decode`] naming it.
pub(crate) fn decode_answer<T: serde::de::DeserializeOwned>(
    what: &str,
    method: Method,
    path: &str,
    body: &Value,
) -> Result<T, ApiError> {
    crate::payload::decode(what, body).map_err(|e| ApiError::Decode {
        method,
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// How long GitHub asks us to wait, when the answer is a rate limit: `429`, or
/// `403` with `x-ratelimit-remaining: 0` or a `Retry-After` (secondary limit).
pub fn rate_limit_wait(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok());
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let is_limit = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (exhausted || retry_after.is_some()));
    if !is_limit {
        return None;
    }
    if let Some(secs) = retry_after {
        return Some(Duration::from_secs(secs));
    }
    if exhausted {
        if let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok()) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
        }
    }
    // GitHub's advice for a secondary limit without headers: wait a minute.
    Some(Duration::from_secs(60))
}

/// Percent-encodes one path segment (logins, branch names, file paths keep `/`
/// only where the caller joins segments).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes the `content` of a contents-API answer: base64 broken into lines.
pub(crate) fn decode_contents(b64: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact)
}

/// Encodes a repository file path, keeping `/` between segments.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h),
            Some(Duration::from_secs(3))
        );
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 5;
        h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let w = rate_limit_wait(StatusCode::FORBIDDEN, &h).unwrap();
        assert!(w >= Duration::from_secs(4) && w <= Duration::from_secs(5));
        assert_eq!(rate_limit_wait(StatusCode::NOT_FOUND, &h), None);
    }

    #[test]
    fn http_urls_are_checked() {
        for good in [
            "https://api.github.com",
            "http://127.0.0.1:8080",
            "https://ghe.example/api/v3/",
        ] {
            assert_eq!(check_http_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("127.0.0.1:8080", "no scheme"),
            ("ghe.example/api/v3", "no scheme"),
            ("ftp://ghe.example", "scheme `ftp`"),
            ("https://", "https://HOST"),
            ("", "no scheme"),
            ("https://a b", "not a URL"),
            ("://x", "no scheme"),
        ] {
            let err = check_http_url(bad).unwrap_err();
            assert!(
                err.contains(&format!("`{bad}`")) && err.contains(why),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn path_encoding() {
        assert_eq!(encode_segment("dependabot[bot]"), "dependabot%5Bbot%5D");
        assert_eq!(encode_path("baselines/a b.toml"), "baselines/a%20b.toml");
    }
}
