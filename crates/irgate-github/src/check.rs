//! The "irgate" check run, its annotations, and the commit-status fallback.
//!
//! # What branch protection sees
//!
//! | gate outcome     | check run conclusion | commit status | passes a required check? |
//! |------------------|----------------------|---------------|--------------------------|
//! | pass             | `success`            | `success`     | yes                      |
//! | fail             | `failure`            | `failure`     | no                       |
//! | could not judge  | `neutral`            | `error`       | check run: **yes**; status: no |
//! | (results pending)| `queued`/`in_progress` | `pending`   | no (waits)               |
//!
//! Branch protection treats the check-run conclusions `success`, `neutral` and
//! `skipped` as passing, everything else (`failure`, `action_required`,
//! `cancelled`, `timed_out`, `stale`) as failing; for commit statuses only
//! `success` passes. Commit statuses have no neutral state, so "could not
//! judge" is `error` there. A repository that wants a could-not-judge run to
//! block merges with check runs too sets [`CheckOptions::fail_closed`], which
//! makes it `failure`.
//!
//! # Which one is used
//!
//! Check runs need a GitHub App token (an App installation, or `GITHUB_TOKEN`
//! with `checks: write`); a personal access token gets `403`. In
//! [`ReportMode::Auto`] a `403` or `404` from the check-run endpoints falls back
//! to a commit status with context `irgate` (`statuses: write`).
//!
//! # How many annotations
//!
//! GitHub takes 50 annotations per request, and every follow-up request must
//! resend the output's title and summary (up to 64 KB). So the annotations are
//! capped ([`CheckOptions::max_annotations`], [`DEFAULT_MAX_ANNOTATIONS`] by
//! default): the summary then says how many regressions were left without one
//! (the comparison in the summary still lists them all), and follow-up requests
//! beyond the first 50 are paced ([`CheckOptions::annotation_interval`], one
//! second by default, as GitHub asks of integrations that write in bulk).

use http::{Method, StatusCode};
use irgate_core::render::thousands;
use irgate_core::Gate;
use serde::Serialize;
use serde_json::{json, Value};

use crate::client::{decode_answer, encode_segment, ApiError, GithubClient, Idempotency};
use crate::payload::{CheckRun, CheckRunList, Created};

/// The check run's (and the status context's) name.
pub const CHECK_NAME: &str = "irgate";

/// `external_id` that marks the check runs irgate created.
pub const EXTERNAL_ID: &str = "irgate";

/// Identifier of the check run's "Accept" button.
pub const ACCEPT_ACTION_ID: &str = "irgate-accept";

/// GitHub's limit for `output.summary` and `output.text`, in characters.
pub const MAX_OUTPUT_CHARS: usize = 65_535;

/// Annotations GitHub takes in one request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// Annotations a check run gets by default: one request's worth.
pub const DEFAULT_MAX_ANNOTATIONS: usize = ANNOTATIONS_PER_REQUEST;

/// Default wait between the requests that carry further annotations.
pub const DEFAULT_ANNOTATION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// One annotation on a line of a file in the pull request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Annotation {
    /// Repository-relative file path.
    pub path: String,
    /// First line (1-based).
    pub start_line: u64,
    /// Last line.
    pub end_line: u64,
    /// `notice`, `warning` or `failure`.
    pub annotation_level: String,
    /// What is wrong.
    pub message: String,
    /// Short title (≤ 255 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Annotation {
    /// A `failure` annotation for a regressed benchmark.
    pub fn failure(path: &str, line: u64, title: &str, message: &str) -> Self {
        Self {
            path: path.to_string(),
            start_line: line.max(1),
            end_line: line.max(1),
            annotation_level: "failure".into(),
            message: truncate_chars(message, 60_000),
            title: Some(truncate_chars(title, 255)),
        }
    }
}

/// Everything a check run or status shows for one commit.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The commit (the pull request's head sha).
    pub head_sha: String,
    /// Gate outcome.
    pub outcome: Gate,
    /// One-line title, e.g. "2 benchmarks regressed".
    pub title: String,
    /// The markdown verdict (cut to 65,535 characters).
    pub summary: String,
    /// Further details (`output.text`, cut to 65,535 characters).
    pub text: Option<String>,
    /// Annotations for regressed benchmarks.
    pub annotations: Vec<Annotation>,
    /// Link for "Details" (the workflow run), if any.
    pub details_url: Option<String>,
}

/// Where the verdict goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMode {
    /// Check run, falling back to a commit status when not allowed.
    Auto,
    /// Check run only.
    Check,
    /// Commit status only.
    Status,
}

/// Options for publishing.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Check run, status, or check with fallback.
    pub mode: ReportMode,
    /// Map "could not judge" to `failure` instead of `neutral`.
    pub fail_closed: bool,
    /// Offer the "Accept" button on a failed check.
    pub accept_button: bool,
    /// At most this many annotations (the first ones, in the comparison's
    /// order); the summary says how many were left out.
    pub max_annotations: usize,
    /// Wait between the requests that carry annotations beyond the first 50.
    pub annotation_interval: std::time::Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            mode: ReportMode::Auto,
            fail_closed: false,
            accept_button: true,
            max_annotations: DEFAULT_MAX_ANNOTATIONS,
            annotation_interval: DEFAULT_ANNOTATION_INTERVAL,
        }
    }
}

/// Where the verdict went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A check run with this id; `requests` counts the API calls that carried
    /// annotations.
    CheckRun {
        /// Check-run id.
        id: u64,
        /// Requests made to send the check and its annotations.
        requests: usize,
    },
    /// A commit status.
    Status,
}

/// Check-run conclusion for an outcome.
pub fn conclusion(outcome: Gate, fail_closed: bool) -> &'static str {
    match outcome {
        Gate::Passed => "success",
        Gate::Failed => "failure",
        Gate::CouldNotJudge if fail_closed => "failure",
        Gate::CouldNotJudge => "neutral",
    }
}

/// Commit-status state for an outcome.
pub fn status_state(outcome: Gate) -> &'static str {
    match outcome {
        Gate::Passed => "success",
        Gate::Failed => "failure",
        Gate::CouldNotJudge => "error",
    }
}

/// Cuts `s` to at most `max` characters.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    /// Owner.
    pub owner: String,
    /// Name.
    pub name: String,
}

impl Repo {
    /// Parses `owner/name`.
    pub fn parse(full: &str) -> Option<Self> {
        let (owner, name) = full.split_once('/')?;
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        Some(Self {
            owner: owner.into(),
            name: name.into(),
        })
    }

    /// `/repos/{owner}/{name}`.
    pub fn path(&self) -> String {
        format!(
            "/repos/{}/{}",
            encode_segment(&self.owner),
            encode_segment(&self.name)
        )
    }
}

/// Finds this commit's latest "irgate" check run made by irgate (name
/// "irgate" and `external_id` [`EXTERNAL_ID`]), if any.
pub async fn find_check_run(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
) -> Result<Option<CheckRun>, ApiError> {
    Ok(latest_check_run(client, repo, sha)
        .await?
        .map(|(run, _)| run))
}

/// [`find_check_run`], with the fields irgate reads decoded.
async fn latest_check_run(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
) -> Result<Option<(CheckRun, Value)>, ApiError> {
    let path = format!(
        "{}/commits/{}/check-runs?check_name={CHECK_NAME}&filter=latest&per_page=100",
        repo.path(),
        encode_segment(sha)
    );
    let resp = client.get(&path).await?;
    let list: CheckRunList = decode_answer("check runs", Method::GET, &path, &resp.body)?;
    let mut latest: Option<(CheckRun, Value)> = None;
    for raw in list.check_runs {
        let run: CheckRun = decode_answer("check run", Method::GET, &path, &raw)?;
        // Only irgate's own runs: a workflow job named "irgate" also
        // shows up as a check run of that name.
        let ours = run.name == CHECK_NAME && run.external_id.as_deref() == Some(EXTERNAL_ID);
        if ours && latest.as_ref().is_none_or(|(l, _)| run.id > l.id) {
            latest = Some((run, raw));
        }
    }
    Ok(latest)
}

/// Publishes the verdict as a check run (annotations in batches of 50) or a
/// commit status, per `opts.mode`.
pub async fn publish(
    client: &GithubClient,
    repo: &Repo,
    report: &CheckReport,
    opts: &CheckOptions,
) -> Result<Published, ApiError> {
    match opts.mode {
        ReportMode::Status => publish_status(client, repo, report).await,
        ReportMode::Check => publish_check_run(client, repo, report, opts).await,
        ReportMode::Auto => match publish_check_run(client, repo, report, opts).await {
            Err(e) if check_runs_refused(&e) => {
                tracing::warn!(error = %e, "cannot create check runs with these credentials; using a commit status");
                publish_status(client, repo, report).await
            }
            other => other,
        },
    }
}

/// Whether `e` is GitHub refusing check runs to these credentials (403 or
/// 404), the case in which `auto` mode falls back to a commit status.
pub(crate) fn check_runs_refused(e: &ApiError) -> bool {
    matches!(
        e.status(),
        Some(StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
    )
}

/// Publishes the verdict as a commit status (the `status` mode, and `auto`'s
/// fallback when check runs are refused).
async fn publish_status(
    client: &GithubClient,
    repo: &Repo,
    report: &CheckReport,
) -> Result<Published, ApiError> {
    post_status(
        client,
        repo,
        &report.head_sha,
        report.outcome,
        &report.title,
        report.details_url.as_deref(),
    )
    .await?;
    Ok(Published::Status)
}

/// The note ending the summary when annotations were left out.
pub fn annotations_left_out_note(left_out: usize, max: usize) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        format!(
            "{} {}",
            thousands(n as u64),
            if n == 1 { one } else { many }
        )
    };
    format!(
        "\n\n> {} left without an annotation: a check run gets at most {} (`--max-annotations`); the comparison lists them all.\n",
        plural(left_out, "regression is", "regressions are"),
        thousands(max as u64),
    )
}

/// The summary as sent: cut to GitHub's limit, keeping room for `note`.
fn summary_with(report: &CheckReport, note: &str) -> String {
    if note.is_empty() {
        return truncate_chars(&report.summary, MAX_OUTPUT_CHARS);
    }
    let room = MAX_OUTPUT_CHARS.saturating_sub(note.chars().count());
    let mut s = truncate_chars(&report.summary, room);
    s.push_str(note);
    s
}

fn output(report: &CheckReport, summary: &str, annotations: &[Annotation]) -> Value {
    let mut out = json!({
        "title": truncate_chars(&report.title, 255),
        "summary": summary,
    });
    if let Some(text) = &report.text {
        out["text"] = json!(truncate_chars(text, MAX_OUTPUT_CHARS));
    }
    if !annotations.is_empty() {
        out["annotations"] = json!(annotations);
    }
    out
}

async fn publish_check_run(
    client: &GithubClient,
    repo: &Repo,
    report: &CheckReport,
    opts: &CheckOptions,
) -> Result<Published, ApiError> {
    let kept = report.annotations.len().min(opts.max_annotations);
    let left_out = report.annotations.len() - kept;
    let note = if left_out > 0 {
        annotations_left_out_note(left_out, opts.max_annotations)
    } else {
        String::new()
    };
    let summary = summary_with(report, &note);
    let mut batches = report.annotations[..kept].chunks(ANNOTATIONS_PER_REQUEST);
    let first = batches.next().unwrap_or(&[]);
    let mut body = json!({
        "name": CHECK_NAME,
        "external_id": EXTERNAL_ID,
        "status": "completed",
        "conclusion": conclusion(report.outcome, opts.fail_closed),
        "output": output(report, &summary, first),
    });
    if let Some(url) = &report.details_url {
        body["details_url"] = json!(url);
    }
    if opts.accept_button && report.outcome == Gate::Failed {
        body["actions"] = json!([{
            "label": "Accept",
            "description": "Accept these results as baselines",
            "identifier": ACCEPT_ACTION_ID,
        }]);
    } else {
        body["actions"] = json!([]);
    }
    // Annotations append to a check run, so a completed run is never reused
    // (that would repeat them); only a queued or in-progress one (from
    // `mark_pending`) is completed in place. GitHub and branch protection
    // show the latest run of a name on a commit.
    let existing = latest_check_run(client, repo, &report.head_sha).await?;
    let pending = existing
        .as_ref()
        .filter(|(run, _)| run.status != "completed")
        .map(|(run, _)| run.id);
    let before = existing.map(|(run, _)| run.id);
    let id = match pending {
        Some(id) => {
            let path = format!("{}/check-runs/{id}", repo.path());
            client
                .request(
                    Method::PATCH,
                    &path,
                    Some(&body),
                    Idempotency::CreatesResource,
                )
                .await
                .or_else(|e| tolerate_lost_answer(e, "the first annotations"))?;
            id
        }
        None => create_check_run(client, repo, &report.head_sha, body, before).await?,
    };
    let mut requests = 1;
    for batch in batches {
        tokio::time::sleep(opts.annotation_interval).await;
        let path = format!("{}/check-runs/{id}", repo.path());
        let body = json!({ "output": output(report, &summary, batch) });
        // Annotations append: repeating a PATCH whose answer was lost would
        // show them twice, so such a batch is given up instead.
        client
            .request(
                Method::PATCH,
                &path,
                Some(&body),
                Idempotency::CreatesResource,
            )
            .await
            .or_else(|e| tolerate_lost_answer(e, "a batch of annotations"))?;
        requests += 1;
    }
    Ok(Published::CheckRun { id, requests })
}

/// Turns "may or may not have been carried out" into a warning.
fn tolerate_lost_answer(e: ApiError, what: &str) -> Result<crate::client::ApiResponse, ApiError> {
    match e {
        ApiError::Ambiguous { reason, .. } => {
            tracing::warn!(%reason, "{what} may not have reached GitHub; not repeating it");
            Ok(crate::client::ApiResponse {
                status: StatusCode::OK,
                headers: http::HeaderMap::new(),
                body: Value::Null,
            })
        }
        other => Err(other),
    }
}

/// Creates a check run. After a lost answer it looks for a run newer than
/// `before` before trying again, so one verdict makes one run.
async fn create_check_run(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
    mut body: Value,
    before: Option<u64>,
) -> Result<u64, ApiError> {
    body["head_sha"] = json!(sha);
    let path = format!("{}/check-runs", repo.path());
    let mut last = String::new();
    for _ in 0..3 {
        match client
            .request(
                Method::POST,
                &path,
                Some(&body),
                Idempotency::CreatesResource,
            )
            .await
        {
            Ok(resp) => {
                let created: Created =
                    decode_answer("created check run", Method::POST, &path, &resp.body)?;
                return Ok(created.id);
            }
            Err(ApiError::Ambiguous { reason, .. }) => {
                if let Some(run) = find_check_run(client, repo, sha).await? {
                    if Some(run.id) != before {
                        return Ok(run.id);
                    }
                }
                last = reason;
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::GaveUp {
        method: Method::POST,
        path,
        attempts: 3,
        elapsed: std::time::Duration::ZERO,
        last,
    })
}

/// Posts a commit status with context `irgate`.
pub async fn post_status(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
    outcome: Gate,
    description: &str,
    target_url: Option<&str>,
) -> Result<(), ApiError> {
    post_status_state(
        client,
        repo,
        sha,
        status_state(outcome),
        description,
        target_url,
    )
    .await
}

async fn post_status_state(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
    state: &str,
    description: &str,
    target_url: Option<&str>,
) -> Result<(), ApiError> {
    let mut body = json!({
        "state": state,
        "context": CHECK_NAME,
        // GitHub cuts status descriptions at 140 characters.
        "description": truncate_chars(description, 140),
    });
    if let Some(url) = target_url {
        body["target_url"] = json!(url);
    }
    let path = format!("{}/statuses/{}", repo.path(), encode_segment(sha));
    client
        .request(Method::POST, &path, Some(&body), Idempotency::Idempotent)
        .await
        .map(|_| ())
}

/// Marks the commit as waiting for benchmark results: a `queued` check run (or
/// a `pending` status in fallback).
pub async fn mark_pending(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
    mode: ReportMode,
) -> Result<Published, ApiError> {
    let title = "Waiting for benchmark results";
    if mode != ReportMode::Status {
        let body = json!({
            "name": CHECK_NAME,
            "external_id": EXTERNAL_ID,
            "status": "queued",
            "output": { "title": title, "summary": "The irgate benchmarks for this commit have not reported yet." },
        });
        match create_check_run(client, repo, sha, body, None).await {
            Ok(id) => return Ok(Published::CheckRun { id, requests: 1 }),
            Err(e) if mode == ReportMode::Auto && check_runs_refused(&e) => {}
            Err(e) => return Err(e),
        }
    }
    post_status_state(client, repo, sha, "pending", title, None).await?;
    Ok(Published::Status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conclusions() {
        assert_eq!(conclusion(Gate::Passed, false), "success");
        assert_eq!(conclusion(Gate::Failed, false), "failure");
        assert_eq!(conclusion(Gate::CouldNotJudge, false), "neutral");
        assert_eq!(conclusion(Gate::CouldNotJudge, true), "failure");
        assert_eq!(status_state(Gate::CouldNotJudge), "error");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        let a = Annotation::failure("x.rs", 0, &"t".repeat(300), "m");
        assert_eq!(a.start_line, 1);
        assert_eq!(a.title.unwrap().chars().count(), 255);
    }
}
