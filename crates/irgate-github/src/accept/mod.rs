//! `/irgate accept <reason>`: accepting an intentional change from the pull
//! request, as a comment or with the check run's "Accept" button.
//!
//! # Who and what is honoured
//!
//! A comment is acted on only when **all** hold:
//! - the comment was just created (`action: created`): an edit could turn an
//!   old, innocent comment into a command after review;
//! - its author is not a bot (`user.type == "Bot"` or a `[bot]` login): no
//!   loops with this or any other bot, and no laundering through automation;
//! - the command is on a line of its own, outside quoted text (`> `), code
//!   (fenced or indented) and HTML comments (`<!-- -->`): quoting someone's
//!   command in a reply is not a command, and neither is one the thread does
//!   not show;
//! - the author's permission on the repository is `admin`, `maintain` or
//!   `write`, read from `GET /repos/{owner}/{repo}/collaborators/{user}/permission`
//!   (through the generic request path: octocrab's typed method cannot parse
//!   GitHub's answer);
//! - there are gate results for the pull request's **current** head sha
//!   ([`crate::results`]); results for an older push are refused as stale.
//!
//! A bot's comment and a comment without the command are ignored silently;
//! every other refusal gets a short reply saying why, and a `confused` reaction.
//!
//! # What accepting does
//!
//! The decision is pure ([`decide()`], from what was read to a [`Plan`] or a
//! [`Refusal`]); reading and committing files goes through [`RepoContents`]
//! (GitHub's contents API in [`GithubContents`]).
//!
//! 1. Reads the existing baseline files from the PR branch (contents API),
//!    plans the new ones with the comparator's
//!    [`plan_accept`](irgate_core::baseline::plan_accept), recording the
//!    reason, the accepter, the commit and the time.
//! 2. Commits each changed file to the PR branch with the contents API (one
//!    commit per file). Benchmarks whose numbers do not move keep their old
//!    provenance, so a file whose numbers would not change is not written (nor
//!    is a schema version 1 file that would only be rewritten as version 2);
//!    when no file changes, nothing is committed and the reply says "nothing to
//!    accept: the baselines already hold these numbers". A failed commit is
//!    answered like a refusal ([`Refusal::CommitFailed`], naming the files
//!    already committed). A 409 (a file's blob sha is stale) is retried once:
//!    the head is read again, and only if the branch still ends where it
//!    should (the results' commit, or this accept's own last commit) are the
//!    baselines re-read and the accept re-planned and committed; otherwise, or
//!    on a second failure, the requester is told.
//! 3. Re-runs the comparison of the same results against the new baselines and
//!    publishes it (check run or status, and the sticky comment) on the new head
//!    commit, so the check turns green without re-running the benchmarks: the
//!    new commit changes only `baselines/`.
//! 4. Reacts `+1` to the comment and replies with what was accepted.
//!
//! Branches in forks are refused: the App cannot push to them. The author then
//! runs `irgate accept` locally and pushes.

mod command;
mod contents;
mod decide;

use std::path::Path;

use http::{Method, StatusCode};
use irgate_core::render::escape_markdown;
use irgate_core::{BaselineError, BaselineSet, Policy};
use serde_json::json;

pub use self::command::{find_command, Command, COMMAND};
pub use self::contents::{
    read_baselines, ContentsEntry, ExistingFile, GithubContents, RepoContents, RepoFile,
};
pub use self::decide::{
    check_asker, check_head, check_results, decide, Facts, FileWrite, Head, Plan,
};
use crate::artifact::ArtifactError;
use crate::client::{decode_answer, encode_segment, ApiError, GithubClient, Idempotency};
use crate::comment::PullRequest;
pub use crate::payload::Permission;
use crate::payload::{PermissionAnswer, PullRequestInfo};
use crate::report::{self, PostOptions};
use crate::results::{GateResults, ResultsError, ResultsSource};

/// How an accept was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A new PR comment.
    Comment {
        /// The comment's id (reacted to).
        comment_id: u64,
    },
    /// The "Accept" button on the check run of commit `head_sha`.
    Button {
        /// The commit the check run was for.
        head_sha: String,
    },
}

/// A request to accept, after the event has been read.
#[derive(Debug, Clone)]
pub struct AcceptRequest {
    /// The pull request.
    pub pr: PullRequest,
    /// Who asked.
    pub actor: String,
    /// The reason given.
    pub reason: Option<String>,
    /// Comment or button.
    pub trigger: Trigger,
}

/// Why an accept was refused (the text is the reply).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The command was in an edited comment.
    #[error("commands in edited comments are not honoured; post `/irgate accept <reason>` as a new comment")]
    Edited,
    /// The author lacks write access.
    #[error("{login} has `{permission}` permission here; accepting needs `write`, `maintain` or `admin`")]
    NotPermitted {
        /// Who asked.
        login: String,
        /// What they have.
        permission: Permission,
    },
    /// No reason given.
    #[error("a reason is required: `/irgate accept <why this change is intended>`")]
    NoReason,
    /// The branch is in a fork.
    #[error("the branch is in a fork ({head_repo}), where irgate cannot commit; run `irgate accept` locally and push the baselines")]
    Fork {
        /// The fork.
        head_repo: String,
    },
    /// No results for the head commit.
    #[error("there are no gate results for the current head commit {head_sha}; wait for the benchmarks to finish, then ask again")]
    NoResults {
        /// The head commit.
        head_sha: String,
    },
    /// The gate's results were found but cannot be read (a damaged or
    /// oversized artifact, malformed embedded results).
    #[error("the gate results cannot be read: {reason}; re-run the gate workflow, then ask again")]
    ResultsUnreadable {
        /// What is wrong.
        reason: String,
    },
    /// Results are for another commit.
    #[error("the gate results are for {results_sha}, but the pull request's head is now {head_sha}; wait for the benchmarks of the new commit")]
    Stale {
        /// What the results measured.
        results_sha: String,
        /// The PR's head.
        head_sha: String,
    },
    /// The gate results cannot be accepted.
    #[error("nothing to accept: {0}")]
    Nothing(String),
    /// Committing the new baselines failed (after one retry for a 409).
    #[error("committing the new baselines failed: {reason}{}; ask again with `/irgate accept <reason>`, or run `irgate accept` locally and push the baselines", committed_note(committed))]
    CommitFailed {
        /// What went wrong.
        reason: String,
        /// Files committed before the failure, repository-relative.
        committed: Vec<String>,
    },
}

/// The part of [`Refusal::CommitFailed`]'s text naming what was committed.
fn committed_note(committed: &[String]) -> String {
    if committed.is_empty() {
        "; nothing was committed".to_string()
    } else {
        format!(
            "; already committed: {} (the rest was not)",
            committed.join(", ")
        )
    }
}

impl Refusal {
    /// The reply posted on the pull request: the message, with every value
    /// that came from outside (logins, repository names, shas, comparator
    /// errors that may quote benchmark names) escaped for markdown, so that a
    /// reply never mentions anyone, links anything or carries HTML.
    pub fn reply_text(&self) -> String {
        let e = escape_markdown;
        match self {
            Refusal::NotPermitted { login, permission } => {
                let permission: String = permission
                    .as_str()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                    .collect();
                format!(
                    "{} has `{permission}` permission here; accepting needs `write`, `maintain` or `admin`",
                    e(login)
                )
            }
            Refusal::Fork { head_repo } => Refusal::Fork {
                head_repo: e(head_repo),
            }
            .to_string(),
            Refusal::NoResults { head_sha } => Refusal::NoResults {
                head_sha: e(head_sha),
            }
            .to_string(),
            Refusal::Stale {
                results_sha,
                head_sha,
            } => Refusal::Stale {
                results_sha: e(results_sha),
                head_sha: e(head_sha),
            }
            .to_string(),
            Refusal::Nothing(reason) => Refusal::Nothing(e(reason)).to_string(),
            Refusal::ResultsUnreadable { reason } => {
                Refusal::ResultsUnreadable { reason: e(reason) }.to_string()
            }
            Refusal::CommitFailed { reason, committed } => Refusal::CommitFailed {
                reason: e(reason),
                committed: committed.iter().map(|c| e(c)).collect(),
            }
            .to_string(),
            Refusal::Edited | Refusal::NoReason => self.to_string(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// Baselines committed and the gate refreshed.
    Accepted {
        /// Files written, repository-relative.
        files: Vec<String>,
        /// The head commit after the baseline commits.
        new_head: String,
        /// Benchmarks accepted.
        benchmarks: usize,
    },
    /// Refused, with a reply.
    Refused(Refusal),
}

/// Settings of the accept path.
#[derive(Debug, Clone)]
pub struct AcceptConfig {
    /// Where the gate results come from.
    pub results: ResultsSource,
    /// Baseline directory in the repository.
    pub baselines_dir: String,
    /// Policy file in the repository (absent: the comparator's defaults).
    pub policy_path: String,
    /// How the refreshed verdict is posted.
    pub post: PostOptions,
}

impl Default for AcceptConfig {
    fn default() -> Self {
        Self {
            results: ResultsSource::default(),
            baselines_dir: "baselines".into(),
            policy_path: "irgate.toml".into(),
            post: PostOptions::default(),
        }
    }
}

/// A failure of the accept path that is not a refusal (GitHub or data errors).
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// GitHub failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Results unreadable.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A baseline or policy file in the repository is invalid.
    #[error("{path} on branch {branch}: {reason}")]
    RepoFile {
        /// The file.
        path: String,
        /// The branch.
        branch: String,
        /// What is wrong.
        reason: String,
    },
}

/// `login`'s role on the repository; [`Permission::may_accept`] says whether
/// it may accept.
pub async fn permission_of(
    client: &GithubClient,
    pr: &PullRequest,
    login: &str,
) -> Result<Permission, ApiError> {
    let path = format!(
        "{}/collaborators/{}/permission",
        pr.repo.path(),
        encode_segment(login)
    );
    match client.get(&path).await {
        Ok(resp) => Ok(decode_answer::<PermissionAnswer>(
            "collaborator permission",
            Method::GET,
            &path,
            &resp.body,
        )?
        .effective()),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Permission::None),
        Err(e) => Err(e),
    }
}

/// The pull request's head as GitHub reports it now.
async fn read_head(client: &GithubClient, pr: &PullRequest) -> Result<Head, ApiError> {
    let path = format!("{}/pulls/{}", pr.repo.path(), pr.number);
    let pull: PullRequestInfo = decode_answer(
        "pull request",
        Method::GET,
        &path,
        &client.get(&path).await?.body,
    )?;
    Ok(Head {
        sha: pull.head.sha,
        branch: pull.head.git_ref,
        repo: pull.head.repo.map(|r| r.full_name),
    })
}

async fn react(client: &GithubClient, pr: &PullRequest, trigger: &Trigger, content: &str) {
    if let Trigger::Comment { comment_id } = trigger {
        let path = format!("{}/issues/comments/{comment_id}/reactions", pr.repo.path());
        // A reaction is a courtesy: its failure must not fail the accept.
        if let Err(e) = client
            .request(
                Method::POST,
                &path,
                Some(&json!({ "content": content })),
                Idempotency::Idempotent,
            )
            .await
        {
            tracing::warn!(error = %e, "could not react to the comment");
        }
    }
}

/// Posts a plain (non-sticky) reply on the pull request.
pub async fn reply(client: &GithubClient, pr: &PullRequest, text: &str) -> Result<(), ApiError> {
    let path = format!("{}/issues/{}/comments", pr.repo.path(), pr.number);
    match client
        .request(
            Method::POST,
            &path,
            Some(&json!({ "body": text })),
            Idempotency::CreatesResource,
        )
        .await
    {
        Ok(_) => Ok(()),
        // A lost answer to a short reply: better no second copy.
        Err(ApiError::Ambiguous { reason, .. }) => {
            tracing::warn!(%reason, "reply may not have been posted");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Refuses: reply and react.
pub async fn refuse(
    client: &GithubClient,
    req: &AcceptRequest,
    refusal: Refusal,
) -> Result<AcceptOutcome, AcceptError> {
    tracing::info!(actor = %req.actor, %refusal, "accept refused");
    react(client, &req.pr, &req.trigger, "confused").await;
    reply(
        client,
        &req.pr,
        &format!("irgate: not accepted: {}.", refusal.reply_text()),
    )
    .await?;
    Ok(AcceptOutcome::Refused(refusal))
}

/// Runs an accept request end to end (permission, results, baselines, commit,
/// refresh, reply). Refusals are answered on the pull request.
pub async fn accept(
    client: &GithubClient,
    req: &AcceptRequest,
    cfg: &AcceptConfig,
) -> Result<AcceptOutcome, AcceptError> {
    let contents = GithubContents {
        client,
        repo: &req.pr.repo,
    };
    accept_through(client, &contents, req, cfg).await
}

/// [`accept`] with the repository's files read and written through `contents`.
///
/// [`decide()`] makes the decision once everything is read; its checks also run
/// as soon as their facts are, so that a refused request reads no more than it
/// needs (no results for an asker without permission, no baselines for a fork).
pub async fn accept_through(
    client: &GithubClient,
    contents: &impl RepoContents,
    req: &AcceptRequest,
    cfg: &AcceptConfig,
) -> Result<AcceptOutcome, AcceptError> {
    let pr = &req.pr;
    let permission = permission_of(client, pr, &req.actor).await?;
    if let Err(refusal) = check_asker(req, &permission) {
        return refuse(client, req, refusal).await;
    }
    let head = read_head(client, pr).await?;
    if let Err(refusal) = check_head(req, &head) {
        return refuse(client, req, refusal).await;
    }
    let results = match cfg.results.load(client, &pr.repo, &head.sha).await {
        Ok(results) => results,
        // GitHub failing is an error (the delivery is retried); results that
        // are there but unusable get a reply saying why.
        Err(e @ (ResultsError::Api(_) | ResultsError::Artifact(ArtifactError::Api(_)))) => {
            return Err(e.into())
        }
        Err(e) => {
            let refusal = Refusal::ResultsUnreadable {
                reason: e.to_string(),
            };
            return refuse(client, req, refusal).await;
        }
    };
    if let Err(refusal) = check_results(&head, results.as_ref()) {
        return refuse(client, req, refusal).await;
    }

    // Plan against the baselines on the branch, and commit the changed files.
    // A 409 (a file moved on since it was read) is retried once, after
    // checking that the branch still ends at the commit expected and
    // re-planning against the files as they are now.
    let dir = cfg.baselines_dir.trim_end_matches('/');
    let accepted_at = irgate_core::baseline::now_rfc3339();
    let mut new_head = head.sha.clone();
    let mut files: Vec<String> = Vec::new();
    let mut retried = false;
    let (set, plan) = loop {
        let (set, plan) = match plan_on_branch(
            contents,
            req,
            &permission,
            &head,
            results.as_ref(),
            dir,
            &accepted_at,
        )
        .await?
        {
            Ok(planned) => planned,
            // On the first pass this is an ordinary refusal; after a 409 the
            // files already committed are named too.
            Err(refusal) if files.is_empty() => return refuse(client, req, refusal).await,
            Err(refusal) => {
                let failure = Refusal::CommitFailed {
                    reason: format!("after a conflict, re-planning refused: {refusal}"),
                    committed: files,
                };
                return refuse(client, req, failure).await;
            }
        };
        match commit_writes(contents, &head.branch, &plan, &mut new_head, &mut files).await {
            Ok(()) => break (set, plan),
            Err(e) if !retried && is_conflict(&e) => {
                retried = true;
                tracing::warn!(error = %e, "a baseline file moved on while committing; re-reading");
                // Our own commits move the branch; anything else moving it
                // means the results may no longer be for its head.
                let moved = match read_head(client, pr).await {
                    Ok(now) if now.sha == new_head && now.branch == head.branch => None,
                    Ok(now) => Some(format!(
                        "the branch moved to {} while the baselines were being committed ({e})",
                        now.sha
                    )),
                    Err(read) => Some(format!(
                        "{e}; the pull request could not be re-read to retry: {read}"
                    )),
                };
                if let Some(reason) = moved {
                    let failure = Refusal::CommitFailed {
                        reason,
                        committed: files,
                    };
                    return refuse(client, req, failure).await;
                }
            }
            Err(e) => {
                let reason = if retried {
                    format!("{e} (after one retry with the files re-read)")
                } else {
                    e.to_string()
                };
                let failure = Refusal::CommitFailed {
                    reason,
                    committed: files,
                };
                return refuse(client, req, failure).await;
            }
        }
    };
    let unreadable_baselines = |e: BaselineError| AcceptError::RepoFile {
        path: dir.to_string(),
        branch: head.branch.clone(),
        reason: e.to_string(),
    };

    // Refresh the gate on the new head with the new baselines.
    let new_set = set
        .with_planned(&plan.files)
        .map_err(&unreadable_baselines)?;
    let policy = read_policy(contents, &cfg.policy_path, &head.branch).await?;
    let run = &plan.run;
    let refreshed = match irgate_core::compare(run, &new_set, &policy) {
        Ok(c) => c,
        Err(e) => {
            irgate_core::Comparison::could_not_judge(e.to_string(), Some(run.environment.clone()))
        }
    };
    report::post(client, pr, &new_head, &refreshed, &cfg.post).await?;

    react(client, pr, &req.trigger, "+1").await;
    // Never empty: an accept that changes no number is refused in `decide`.
    let file_list = files
        .iter()
        .map(|f| escape_markdown(f))
        .collect::<Vec<_>>()
        .join(", ");
    let short = head.sha.get(..7).unwrap_or(&head.sha);
    reply(
        client,
        pr,
        &format!(
            "irgate: accepted {} benchmark result(s) of {} as baselines, asked by {} ({file_list}). Reason: {}",
            plan.accepted,
            escape_markdown(short),
            escape_markdown(&req.actor),
            escape_markdown(&plan.reason)
        ),
    )
    .await?;
    Ok(AcceptOutcome::Accepted {
        files,
        new_head,
        benchmarks: plan.accepted,
    })
}

/// Reads the baselines in `dir` on the head branch and decides: the set read
/// and the plan, or why not.
async fn plan_on_branch(
    contents: &impl RepoContents,
    req: &AcceptRequest,
    permission: &Permission,
    head: &Head,
    results: Option<&GateResults>,
    dir: &str,
    accepted_at: &str,
) -> Result<Result<(BaselineSet, Plan), Refusal>, AcceptError> {
    let existing = read_baselines(contents, dir, &head.branch).await?;
    let set = BaselineSet::from_texts(
        existing
            .iter()
            .map(|e| (e.relative_path.as_path(), e.file.text.as_str())),
    )
    .map_err(|e| AcceptError::RepoFile {
        path: dir.to_string(),
        branch: head.branch.clone(),
        reason: e.to_string(),
    })?;
    Ok(decide(&Facts {
        request: req,
        permission,
        head,
        results,
        baselines: &set,
        existing: &existing,
        baselines_dir: dir,
        accepted_at,
    })
    .map(|plan| (set, plan)))
}

/// Commits `plan`'s writes in order to `branch`, recording each written path
/// in `files` and the newest commit GitHub names in `new_head`; stops at the
/// first failure.
async fn commit_writes(
    contents: &impl RepoContents,
    branch: &str,
    plan: &Plan,
    new_head: &mut String,
    files: &mut Vec<String>,
) -> Result<(), AcceptError> {
    for w in &plan.writes {
        if let Some(sha) = contents
            .put(
                &w.path,
                branch,
                &w.contents,
                w.old_sha.as_deref(),
                &plan.message,
            )
            .await?
        {
            *new_head = sha;
        }
        files.push(w.path.clone());
    }
    Ok(())
}

/// Whether a failed write was GitHub's 409: the file's blob sha named is no
/// longer the file's on the branch.
fn is_conflict(e: &AcceptError) -> bool {
    matches!(e, AcceptError::Api(api) if api.status() == Some(StatusCode::CONFLICT))
}

/// The policy on the branch: `policy_path`, or the comparator's defaults when
/// there is none.
async fn read_policy(
    contents: &impl RepoContents,
    policy_path: &str,
    branch: &str,
) -> Result<Policy, AcceptError> {
    let mut policy_file = contents
        .get(policy_path, branch)
        .await?
        .map(|f| (policy_path.to_owned(), f));
    if policy_file.is_none() && policy_path == irgate_core::policy::POLICY_FILE {
        // The one compatibility rule of the rename: the old name is read when
        // the new one is absent.
        let legacy = irgate_core::policy::LEGACY_POLICY_FILE;
        policy_file = contents
            .get(legacy, branch)
            .await?
            .map(|f| (legacy.to_owned(), f));
        if policy_file.is_some() {
            tracing::warn!(
                "reading the policy from {legacy} because there is no {policy_path}; rename it"
            );
        }
    }
    match policy_file {
        Some((path, f)) => {
            Policy::parse(Path::new(&path), &f.text).map_err(|e| AcceptError::RepoFile {
                path: path.clone(),
                branch: branch.to_owned(),
                reason: e.to_string(),
            })
        }
        None => Ok(Policy::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        let t = irgate_core::baseline::now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20"), "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn permissions() {
        let may_accept = |name: &str| Permission::from(name).may_accept();
        assert!(may_accept("admin") && may_accept("maintain") && may_accept("write"));
        assert!(!may_accept("read") && !may_accept("triage") && !may_accept("none"));
    }
}
