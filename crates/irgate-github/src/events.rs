//! The GitHub event handlers, shared by the webhook service
//! ([`crate::server`], through [`EventHandler`]) and Actions mode
//! (`irgate github handle-event`).
//!
//! | event | action | what happens |
//! |-------|--------|--------------|
//! | `issue_comment` | `created` | `/irgate accept <reason>` ([`crate::accept`]) |
//! | `issue_comment` | `edited` | a command in it is refused with a reply |
//! | `check_run` | `requested_action` (`irgate-accept`) | the "Accept" button, same checks |
//! | `check_run` | `rerequested` | the stored verdict for that commit is published again |
//! | `pull_request` | `opened`, `reopened`, `synchronize` | a queued "irgate" check (or pending status) |
//! | `merge_group` | `checks_requested` | a queued "irgate" check on the queue's merge commit |
//!
//! The verdict for a merge queue's commit comes from the gate workflow, which
//! also runs on `merge_group` and judges that commit: the baselines and code of
//! every pull request ahead in the queue together.
//!
//! Everything else is ignored. Payloads are read with irgate's own small
//! structs (the crate's `payload` module) rather than octocrab's typed
//! webhook model, which drops `requested_action.identifier`; a missing field
//! is an error naming it.

use std::path::Path;

use serde_json::Value;

use crate::accept::{
    self, find_command, AcceptConfig, AcceptOutcome, AcceptRequest, Command, Refusal, Trigger,
};
use crate::check::Repo;
use crate::check::{self, find_check_run, ReportMode, ACCEPT_ACTION_ID, CHECK_NAME};
use crate::client::{ApiError, Auth, ClientConfig, GithubClient};
use crate::comment::PullRequest;
use crate::payload::{
    self, CheckRun, Comment, Envelope, Issue, MergeGroup, PayloadError, PullRequestInfo,
    RepositoryRef,
};
use crate::report;
use crate::results::ResultsSource;
use crate::server::{Delivery, EventHandler};

/// Largest event file read in Actions mode.
pub const MAX_EVENT_BYTES: u64 = 25 * 1024 * 1024;

/// What a delivery led to (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Nothing to do, and why.
    Ignored(&'static str),
    /// The accept path ran.
    Accept(AcceptOutcome),
    /// A pending check/status was set on this commit.
    Pending(String),
    /// The verdict was published again on this commit.
    Republished(String),
}

/// A delivery that could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The payload is not what the event promises.
    #[error("{event} payload: {reason}")]
    Payload {
        /// Event name.
        event: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// The event file could not be read (Actions mode).
    #[error("event file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// GitHub failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The accept path failed.
    #[error(transparent)]
    Accept(#[from] accept::AcceptError),
    /// The stored results could not be read.
    #[error(transparent)]
    Results(#[from] crate::results::ResultsError),
}

/// How the handler gets a client for a delivery.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// One client for everything (a token, or an App with a fixed installation).
    Fixed(ClientConfig),
    /// A GitHub App whose installation is read from each delivery's
    /// `installation.id`.
    AppPerInstallation {
        /// App id.
        app_id: u64,
        /// Private key, PEM.
        private_key_pem: String,
        /// API root.
        base_url: String,
        /// Retry policy.
        retry: crate::client::RetryPolicy,
    },
}

/// The real GitHub handlers.
pub struct GithubHandler {
    credentials: Credentials,
    clients: std::sync::Mutex<std::collections::HashMap<u64, GithubClient>>,
    /// Accept-path settings.
    pub accept: AcceptConfig,
    /// Check-run or status for pending marks.
    pub mode: ReportMode,
}

/// Turns a payload decoding error into the delivery's error.
type Bad<'a> = dyn Fn(PayloadError) -> EventError + Sync + 'a;

/// The webhook events the bot acts on (the `X-GitHub-Event` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// `issue_comment`: the `/irgate accept` command.
    IssueComment,
    /// `check_run`: the Accept button and re-run requests.
    CheckRun,
    /// `pull_request`: a pending check on a new head.
    PullRequest,
    /// `merge_group`: a pending check on the queued merge commit.
    MergeGroup,
}

impl Event {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "issue_comment" => Self::IssueComment,
            "check_run" => Self::CheckRun,
            "pull_request" => Self::PullRequest,
            "merge_group" => Self::MergeGroup,
            _ => return None,
        })
    }
}

impl GithubHandler {
    /// A handler with these credentials and settings.
    pub fn new(credentials: Credentials, accept: AcceptConfig, mode: ReportMode) -> Self {
        Self {
            credentials,
            clients: std::sync::Mutex::new(std::collections::HashMap::new()),
            accept,
            mode,
        }
    }

    fn client_for(&self, envelope: &Envelope) -> Result<GithubClient, ApiError> {
        let installation = envelope.installation.map_or(0, |i| i.id);
        let mut cache = match self.clients.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if let Some(c) = cache.get(&installation) {
            return Ok(c.clone());
        }
        let config = match &self.credentials {
            Credentials::Fixed(c) => c.clone(),
            Credentials::AppPerInstallation {
                app_id,
                private_key_pem,
                base_url,
                retry,
            } => {
                if installation == 0 {
                    return Err(ApiError::Config(
                        "the delivery names no installation; is the App installed on this repository?".into(),
                    ));
                }
                ClientConfig {
                    base_url: base_url.clone(),
                    auth: Auth::App {
                        app_id: *app_id,
                        private_key_pem: private_key_pem.clone(),
                        installation_id: installation,
                    },
                    retry: retry.clone(),
                }
            }
        };
        let client = GithubClient::new(&config)?;
        cache.insert(installation, client.clone());
        Ok(client)
    }

    /// Handles one event given its name and raw JSON body. Events other than
    /// those of [`Event`] are answered [`Handled::Ignored`] unread.
    pub async fn dispatch(&self, event: &str, body: &[u8]) -> Result<Handled, EventError> {
        let payload: Value = serde_json::from_slice(body).map_err(|e| EventError::Payload {
            event: event.into(),
            reason: format!("not JSON: {e}"),
        })?;
        let bad = |e: PayloadError| EventError::Payload {
            event: event.into(),
            reason: e.message,
        };
        let Some(kind) = Event::from_name(event) else {
            return Ok(Handled::Ignored("event not handled"));
        };
        let envelope: Envelope = payload::decode(event, &payload).map_err(bad)?;
        let action = envelope.action.as_deref().unwrap_or("");
        match kind {
            Event::IssueComment => self.issue_comment(&payload, &envelope, action, &bad).await,
            Event::CheckRun => self.check_run(&payload, &envelope, action, &bad).await,
            Event::PullRequest => self.pull_request(&payload, &envelope, action, &bad).await,
            Event::MergeGroup => self.merge_group(&payload, &envelope, action, &bad).await,
        }
    }

    async fn issue_comment(
        &self,
        p: &Value,
        envelope: &Envelope,
        action: &str,
        bad: &Bad<'_>,
    ) -> Result<Handled, EventError> {
        let issue: Issue = payload::decode_at("issue_comment", p, "issue").map_err(bad)?;
        if issue.pull_request.is_none() {
            return Ok(Handled::Ignored("comment on an issue, not a pull request"));
        }
        let comment: Comment = payload::decode_at("issue_comment", p, "comment").map_err(bad)?;
        let user = comment
            .user
            .ok_or_else(|| bad(PayloadError::missing("issue_comment", "comment.user")))?;
        if user.is_bot() {
            return Ok(Handled::Ignored("comment by a bot"));
        }
        let Some(command) = find_command(comment.body.as_deref().unwrap_or("")) else {
            return Ok(Handled::Ignored("no command"));
        };
        let pr = self.pull_request_of(p, issue.number, bad)?;
        let req = AcceptRequest {
            pr,
            actor: user.login,
            reason: match command {
                Command::Accept { reason } => Some(reason),
                Command::AcceptWithoutReason => None,
            },
            trigger: Trigger::Comment {
                comment_id: comment.id,
            },
        };
        let client = self.client_for(envelope)?;
        match action {
            "created" => Ok(Handled::Accept(
                accept::accept(&client, &req, &self.accept).await?,
            )),
            "edited" => Ok(Handled::Accept(
                accept::refuse(&client, &req, Refusal::Edited).await?,
            )),
            _ => Ok(Handled::Ignored("comment action not handled")),
        }
    }

    /// The delivery's repository.
    fn repository_of(&self, p: &Value, bad: &Bad<'_>) -> Result<Repo, EventError> {
        let repository: RepositoryRef =
            payload::decode_at("delivery", p, "repository").map_err(bad)?;
        Repo::parse(&repository.full_name).ok_or_else(|| bad(bad_full_name(&repository)))
    }

    /// Pull request `number` of the delivery's repository.
    fn pull_request_of(
        &self,
        p: &Value,
        number: u64,
        bad: &Bad<'_>,
    ) -> Result<PullRequest, EventError> {
        Ok(PullRequest {
            repo: self.repository_of(p, bad)?,
            number,
        })
    }

    async fn check_run(
        &self,
        p: &Value,
        envelope: &Envelope,
        action: &str,
        bad: &Bad<'_>,
    ) -> Result<Handled, EventError> {
        let run: CheckRun = payload::decode_at("check_run", p, "check_run").map_err(bad)?;
        if run.name != CHECK_NAME {
            return Ok(Handled::Ignored("another check run"));
        }
        let repo = self.repository_of(p, bad)?;
        let head_sha = run.head_sha;
        let Some(number) = run.pull_requests.first().map(|pr| pr.number) else {
            return Ok(Handled::Ignored("check run belongs to no pull request"));
        };
        let pr = PullRequest { repo, number };
        match action {
            "requested_action" => {
                // Read from the raw payload: octocrab's model drops it.
                let identifier = envelope
                    .requested_action
                    .as_ref()
                    .map(|a| a.identifier.as_str());
                if identifier != Some(ACCEPT_ACTION_ID) {
                    return Ok(Handled::Ignored("unknown requested action"));
                }
                let sender = envelope
                    .sender
                    .as_ref()
                    .ok_or_else(|| bad(PayloadError::missing("check_run", "sender")))?;
                if sender.is_bot() {
                    return Ok(Handled::Ignored("action requested by a bot"));
                }
                let req = AcceptRequest {
                    pr,
                    actor: sender.login.clone(),
                    reason: Some("accepted with the check run's Accept button".into()),
                    trigger: Trigger::Button { head_sha },
                };
                let client = self.client_for(envelope)?;
                Ok(Handled::Accept(
                    accept::accept(&client, &req, &self.accept).await?,
                ))
            }
            "rerequested" => {
                let client = self.client_for(envelope)?;
                // A results directory belongs to one Actions run; a re-run
                // reads GitHub's copies (the artifact, else the check run).
                let source = match &self.accept.results {
                    ResultsSource::Dir(_) => ResultsSource::default(),
                    other => other.clone(),
                };
                let results = source.load(&client, &pr.repo, &head_sha).await?;
                match results {
                    Some(r) => {
                        report::post(&client, &pr, &head_sha, &r.comparison, &self.accept.post)
                            .await?;
                        Ok(Handled::Republished(head_sha))
                    }
                    None => {
                        check::mark_pending(&client, &pr.repo, &head_sha, self.mode).await?;
                        Ok(Handled::Pending(head_sha))
                    }
                }
            }
            _ => Ok(Handled::Ignored("check_run action not handled")),
        }
    }

    async fn pull_request(
        &self,
        p: &Value,
        envelope: &Envelope,
        action: &str,
        bad: &Bad<'_>,
    ) -> Result<Handled, EventError> {
        if !matches!(action, "opened" | "reopened" | "synchronize") {
            return Ok(Handled::Ignored("pull_request action not handled"));
        }
        let repo = self.repository_of(p, bad)?;
        let pull: PullRequestInfo =
            payload::decode_at("pull_request", p, "pull_request").map_err(bad)?;
        let sha = pull.head.sha;
        let client = self.client_for(envelope)?;
        self.mark_pending_unless_reported(&client, &repo, sha).await
    }

    /// Marks the "irgate" check pending on `sha`, unless a verdict is already
    /// there (e.g. posted by the accept path, whose commit triggered this
    /// `synchronize`): a pending mark must never cover a verdict.
    async fn mark_pending_unless_reported(
        &self,
        client: &GithubClient,
        repo: &Repo,
        sha: String,
    ) -> Result<Handled, EventError> {
        if self.mode != ReportMode::Status {
            match find_check_run(client, repo, &sha).await {
                Ok(Some(_)) => return Ok(Handled::Ignored("commit already has an irgate check")),
                Ok(None) => {}
                Err(e) if self.mode == ReportMode::Auto && check::check_runs_refused(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        check::mark_pending(client, repo, &sha, self.mode).await?;
        Ok(Handled::Pending(sha))
    }

    /// A merge queue asks for checks on its merge commit: the "irgate" check is
    /// marked pending there until the gate workflow's run reports, so that the
    /// queue waits for the verdict on the combination.
    async fn merge_group(
        &self,
        p: &Value,
        envelope: &Envelope,
        action: &str,
        bad: &Bad<'_>,
    ) -> Result<Handled, EventError> {
        if action != "checks_requested" {
            return Ok(Handled::Ignored("merge_group action not handled"));
        }
        let repo = self.repository_of(p, bad)?;
        let group: MergeGroup = payload::decode_at("merge_group", p, "merge_group").map_err(bad)?;
        if !irgate_core::baseline::is_sha1_hex(&group.head_sha) {
            return Err(bad(PayloadError {
                what: "merge_group".into(),
                message: format!(
                    "`merge_group.head_sha` is `{}`, not a commit id",
                    group.head_sha
                ),
            }));
        }
        let client = self.client_for(envelope)?;
        self.mark_pending_unless_reported(&client, &repo, group.head_sha)
            .await
    }

    /// Actions mode: handles the event in `$GITHUB_EVENT_PATH`.
    pub async fn handle_event_file(&self, event: &str, path: &Path) -> Result<Handled, EventError> {
        let err = |reason: String| EventError::File {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_EVENT_BYTES {
            return Err(err(format!(
                "{} bytes, more than {MAX_EVENT_BYTES}",
                meta.len()
            )));
        }
        let body = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        self.dispatch(event, &body).await
    }
}

impl EventHandler for GithubHandler {
    type Error = EventError;

    async fn handle(&self, delivery: Delivery) -> Result<(), EventError> {
        let handled = self.dispatch(&delivery.event, &delivery.body).await?;
        tracing::info!(delivery = %delivery.delivery_id, event = %delivery.event, ?handled, "delivery handled");
        Ok(())
    }
}

/// The error for a `repository.full_name` that is not `owner/name`.
fn bad_full_name(repository: &RepositoryRef) -> PayloadError {
    PayloadError {
        what: "delivery".into(),
        message: format!(
            "`repository.full_name` is `{}`, not `owner/name`",
            repository.full_name
        ),
    }
}
