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
//! - the command is on a line of its own, outside quoted text (`> `) and code
//!   (fenced or indented): quoting someone's command in a reply is not a
//!   command;
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
//! 1. Reads the existing baseline files from the PR branch (contents API), plans
//!    the new ones with the comparator's [`plan_accept`], recording the reason,
//!    the accepter, the commit and the time.
//! 2. Commits each changed file to the PR branch with the contents API (one
//!    commit per file; a file that would not change is not written).
//! 3. Re-runs the comparison of the same results against the new baselines and
//!    publishes it (check run or status, and the sticky comment) on the new head
//!    commit, so the check turns green without re-running the benchmarks: the
//!    new commit changes only `baselines/`.
//! 4. Reacts `+1` to the comment and replies with what was accepted.
//!
//! Branches in forks are refused: the App cannot push to them. The author then
//! runs `irgate accept` locally and pushes.

use std::path::{Path, PathBuf};

use base64::Engine;
use http::{Method, StatusCode};
use irgate_core::baseline::{plan_accept, AcceptOptions, DEFAULT_METRICS};
use irgate_core::render::escape_markdown;
use irgate_core::{BaselineError, BaselineSet, Policy, Provenance};
use serde_json::json;

use crate::client::{
    decode_answer, decode_contents, encode_path, encode_segment, ApiError, GithubClient,
    Idempotency,
};
use crate::comment::PullRequest;
pub use crate::payload::Permission;
use crate::payload::{
    self, ContentsEntry, ContentsFile, FileCommit, PermissionAnswer, PullRequestInfo,
};
use crate::report::{self, PostOptions};
use crate::results::{ResultsError, ResultsSource};

/// The command word.
pub const COMMAND: &str = "/irgate accept";

/// A command found in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/irgate accept <reason>`.
    Accept {
        /// The reason, trimmed.
        reason: String,
    },
    /// `/irgate accept` with no reason.
    AcceptWithoutReason,
}

/// Finds `/irgate accept` on a line of its own, outside quotes and code.
pub fn find_command(body: &str) -> Option<Command> {
    let mut fence: Option<&str> = None;
    let mut in_quote = false;
    for line in body.lines() {
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() {
            in_quote = false;
            continue;
        }
        // A line right after a quote line is part of the quote (markdown's
        // lazy continuation) until a blank line ends it.
        if trimmed.starts_with('>') || in_quote {
            in_quote = true;
            continue;
        }
        if line.starts_with('\t') || indent >= 4 {
            continue;
        }
        let Some(rest) = trimmed.strip_prefix(COMMAND) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            continue;
        }
        let reason = rest.trim();
        return Some(if reason.is_empty() {
            Command::AcceptWithoutReason
        } else {
            Command::Accept {
                reason: reason.chars().take(500).collect(),
            }
        });
    }
    None
}

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
            results: ResultsSource::CheckRun,
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

/// A file read through the contents API.
struct RepoFile {
    text: String,
    sha: String,
}

async fn get_file(
    client: &GithubClient,
    pr: &PullRequest,
    path: &str,
    branch: &str,
) -> Result<Option<RepoFile>, AcceptError> {
    let api = format!(
        "{}/contents/{}?ref={}",
        pr.repo.path(),
        encode_path(path),
        encode_segment(branch)
    );
    let resp = match client.get(&api).await {
        Ok(r) => r,
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let bad = |reason: &str| AcceptError::RepoFile {
        path: path.to_string(),
        branch: branch.to_string(),
        reason: reason.to_string(),
    };
    // A directory answers with the list of its entries.
    if !resp.body.is_object() {
        return Err(bad("not a file"));
    }
    let file: ContentsFile =
        payload::decode("contents", &resp.body).map_err(|e| bad(&e.to_string()))?;
    if file.encoding != "base64" {
        return Err(bad(&format!(
            "content sent in encoding `{}`, not base64 (files over 1 MB are not sent inline)",
            file.encoding
        )));
    }
    let bytes = decode_contents(&file.content).map_err(|e| bad(&format!("bad base64: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
    Ok(Some(RepoFile {
        text,
        sha: file.sha,
    }))
}

/// Lists `<dir>/<package>/<bench>.toml` on the branch.
async fn list_baselines(
    client: &GithubClient,
    pr: &PullRequest,
    dir: &str,
    branch: &str,
) -> Result<Vec<String>, AcceptError> {
    let list = |path: String| async move {
        let api = format!(
            "{}/contents/{}?ref={}",
            pr.repo.path(),
            encode_path(&path),
            encode_segment(branch)
        );
        match client.get(&api).await {
            // A file where a directory was expected lists nothing.
            Ok(r) if !r.body.is_array() => Ok(Vec::new()),
            Ok(r) => Ok(decode_answer::<Vec<ContentsEntry>>(
                "directory listing",
                Method::GET,
                &api,
                &r.body,
            )?),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Vec::new()),
            Err(e) => Err(AcceptError::from(e)),
        }
    };
    let mut files = Vec::new();
    for entry in list(dir.to_string()).await? {
        if entry.kind != "dir" {
            continue;
        }
        for f in list(entry.path).await? {
            if f.kind == "file" && f.name.ends_with(".toml") {
                files.push(f.path);
            }
        }
    }
    Ok(files)
}

async fn put_file(
    client: &GithubClient,
    pr: &PullRequest,
    path: &str,
    branch: &str,
    contents: &str,
    old_sha: Option<&str>,
    message: &str,
) -> Result<Option<String>, AcceptError> {
    let mut body = json!({
        "message": message,
        "content": base64::engine::general_purpose::STANDARD.encode(contents),
        "branch": branch,
    });
    if let Some(sha) = old_sha {
        body["sha"] = json!(sha);
    }
    let api = format!("{}/contents/{}", pr.repo.path(), encode_path(path));
    // With `sha` the PUT is conditional (409 when the file moved on), so a
    // retry cannot write twice; a new file's retry answers 422 "sha wasn't
    // supplied", which surfaces as an error instead of a duplicate.
    let resp = client
        .request(Method::PUT, &api, Some(&body), Idempotency::Idempotent)
        .await?;
    let written: FileCommit = decode_answer("file commit", Method::PUT, &api, &resp.body)?;
    Ok(written.commit.sha)
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
    let pr = &req.pr;
    let permission = permission_of(client, pr, &req.actor).await?;
    if !permission.may_accept() {
        return refuse(
            client,
            req,
            Refusal::NotPermitted {
                login: req.actor.clone(),
                permission,
            },
        )
        .await;
    }
    let Some(reason) = req.reason.clone() else {
        return refuse(client, req, Refusal::NoReason).await;
    };

    let pull_path = format!("{}/pulls/{}", pr.repo.path(), pr.number);
    let pull: PullRequestInfo = decode_answer(
        "pull request",
        Method::GET,
        &pull_path,
        &client.get(&pull_path).await?.body,
    )?;
    let head_sha = pull.head.sha;
    let head_ref = pull.head.git_ref;
    let head_repo = pull
        .head
        .repo
        .map_or_else(|| "(deleted fork)".to_string(), |r| r.full_name);
    let base_repo = format!("{}/{}", pr.repo.owner, pr.repo.name);
    if !head_repo.eq_ignore_ascii_case(&base_repo) {
        return refuse(client, req, Refusal::Fork { head_repo }).await;
    }
    if let Trigger::Button { head_sha: clicked } = &req.trigger {
        if *clicked != head_sha {
            return refuse(
                client,
                req,
                Refusal::Stale {
                    results_sha: clicked.clone(),
                    head_sha,
                },
            )
            .await;
        }
    }
    let Some(results) = cfg.results.load(client, &pr.repo, &head_sha).await? else {
        return refuse(client, req, Refusal::NoResults { head_sha }).await;
    };
    if results.head_sha != head_sha {
        return refuse(
            client,
            req,
            Refusal::Stale {
                results_sha: results.head_sha,
                head_sha,
            },
        )
        .await;
    }
    let run = results.comparison.to_run();
    if run.is_empty() {
        return refuse(
            client,
            req,
            Refusal::Nothing("the gate run has no benchmark results".into()),
        )
        .await;
    }

    // Existing baselines on the branch.
    let dir = cfg.baselines_dir.trim_end_matches('/');
    let mut existing: Vec<(PathBuf, String, String)> = Vec::new();
    for path in list_baselines(client, pr, dir, &head_ref).await? {
        if let Some(f) = get_file(client, pr, &path, &head_ref).await? {
            let rel = PathBuf::from(path.strip_prefix(&format!("{dir}/")).unwrap_or(&path));
            existing.push((rel, f.text, f.sha));
        }
    }
    // Both baseline sets (before and after the plan) are read from `dir` on the branch.
    let unreadable_baselines = |e: BaselineError| AcceptError::RepoFile {
        path: dir.to_string(),
        branch: head_ref.clone(),
        reason: e.to_string(),
    };
    let set = BaselineSet::from_texts(existing.iter().map(|(p, t, _)| (p.as_path(), t.as_str())))
        .map_err(&unreadable_baselines)?;
    let provenance = Provenance {
        commit: head_sha.clone(),
        accepted_at: irgate_core::baseline::now_rfc3339(),
        accepted_by: req.actor.clone(),
        reason: reason.clone(),
    };
    let metrics: Vec<String> = DEFAULT_METRICS.iter().map(|s| (*s).to_string()).collect();
    let plan = match plan_accept(
        &set,
        &run,
        &AcceptOptions {
            only: None,
            provenance: &provenance,
            metrics: &metrics,
        },
    ) {
        Ok(p) => p,
        Err(e) => return refuse(client, req, Refusal::Nothing(e.to_string())).await,
    };

    // Commit the changed files.
    let short = head_sha.get(..7).unwrap_or(&head_sha);
    let message = format!(
        "irgate: accept benchmark results of {short}\n\nReason: {reason}\nAccepted-by: {}",
        req.actor
    );
    let mut new_head = head_sha.clone();
    let mut files = Vec::new();
    let mut accepted = 0;
    for f in &plan {
        accepted += f.accepted.len();
        let old = existing.iter().find(|(p, _, _)| *p == f.relative_path);
        if old.is_some_and(|(_, text, _)| *text == f.contents) {
            continue;
        }
        let repo_path = format!("{dir}/{}", slash_path(&f.relative_path));
        if let Some(sha) = put_file(
            client,
            pr,
            &repo_path,
            &head_ref,
            &f.contents,
            old.map(|(_, _, sha)| sha.as_str()),
            &message,
        )
        .await?
        {
            new_head = sha;
        }
        files.push(repo_path);
    }

    // Refresh the gate on the new head with the new baselines.
    let mut merged: Vec<(PathBuf, String)> = existing
        .iter()
        .map(|(p, t, _)| (p.clone(), t.clone()))
        .collect();
    for f in &plan {
        merged.retain(|(p, _)| *p != f.relative_path);
        merged.push((f.relative_path.clone(), f.contents.clone()));
    }
    let new_set = BaselineSet::from_texts(merged.iter().map(|(p, t)| (p.as_path(), t.as_str())))
        .map_err(&unreadable_baselines)?;
    let mut policy_file = get_file(client, pr, &cfg.policy_path, &head_ref)
        .await?
        .map(|f| (cfg.policy_path.clone(), f));
    if policy_file.is_none() && cfg.policy_path == irgate_core::policy::POLICY_FILE {
        // The one compatibility rule of the rename: the old name is read when
        // the new one is absent.
        let legacy = irgate_core::policy::LEGACY_POLICY_FILE;
        policy_file = get_file(client, pr, legacy, &head_ref)
            .await?
            .map(|f| (legacy.to_owned(), f));
        if policy_file.is_some() {
            tracing::warn!(
                "reading the policy from {legacy} because there is no {}; rename it",
                cfg.policy_path
            );
        }
    }
    let policy = match policy_file {
        Some((path, f)) => {
            Policy::parse(Path::new(&path), &f.text).map_err(|e| AcceptError::RepoFile {
                path: path.clone(),
                branch: head_ref.clone(),
                reason: e.to_string(),
            })?
        }
        None => Policy::default(),
    };
    let refreshed = match irgate_core::compare(&run, &new_set, &policy) {
        Ok(c) => c,
        Err(e) => {
            irgate_core::Comparison::could_not_judge(e.to_string(), Some(run.environment.clone()))
        }
    };
    report::post(client, pr, &new_head, &refreshed, &cfg.post).await?;

    react(client, pr, &req.trigger, "+1").await;
    let file_list = if files.is_empty() {
        "no baseline file needed a change".to_string()
    } else {
        files
            .iter()
            .map(|f| escape_markdown(f))
            .collect::<Vec<_>>()
            .join(", ")
    };
    reply(
        client,
        pr,
        &format!(
            "irgate: accepted {accepted} benchmark result(s) of {} as baselines, asked by {} ({file_list}). Reason: {}",
            escape_markdown(short),
            escape_markdown(&req.actor),
            escape_markdown(&reason)
        ),
    )
    .await?;
    Ok(AcceptOutcome::Accepted {
        files,
        new_head,
        benchmarks: accepted,
    })
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_parsing() {
        assert_eq!(
            find_command("/irgate accept faster parser is slower on tiny input"),
            Some(Command::Accept {
                reason: "faster parser is slower on tiny input".into()
            })
        );
        assert_eq!(
            find_command("LGTM\n\n  /irgate accept  ok  \n"),
            Some(Command::Accept {
                reason: "ok".into()
            })
        );
        assert_eq!(
            find_command("/irgate accept"),
            Some(Command::AcceptWithoutReason)
        );
        assert_eq!(find_command("/irgate accepted"), None);
        assert_eq!(find_command("> /irgate accept quoted"), None);
        assert_eq!(find_command(" > /irgate accept quoted"), None);
        assert_eq!(find_command("```\n/irgate accept code\n```"), None);
        assert_eq!(find_command("~~~sh\n/irgate accept code\n~~~"), None);
        assert_eq!(find_command("    /irgate accept indented"), None);
        assert_eq!(find_command("please run `/irgate accept x`"), None);
        assert_eq!(find_command("> you said\n/irgate accept lazy"), None);
        assert_eq!(
            find_command("> you said\n\n/irgate accept mine\r\n"),
            Some(Command::Accept {
                reason: "mine".into()
            })
        );
        assert_eq!(
            find_command("```\nx\n```\n/irgate accept after"),
            Some(Command::Accept {
                reason: "after".into()
            })
        );
    }

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
