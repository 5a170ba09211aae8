//! From a comparator [`Comparison`] to what GitHub shows: the markdown for the
//! sticky comment, the check run's title, summary, annotations and embedded
//! machine-readable results, and the `irgate github post` flow.
//!
//! # The results the accept command reads
//!
//! When the verdict is published as a check run, the check's `output.text`
//! carries the comparison JSON (compact, inside a collapsed `<details>` block
//! after [`RESULTS_MARKER`]). A check run belongs to one commit, so "the results
//! for the pull request's current head sha" are simply the latest "irgate"
//! check run on that sha: nothing else needs storing, and results of an older
//! push cannot be mistaken for the current ones. With the commit-status fallback
//! (no check runs) the accept command needs the results as files instead
//! (`--results DIR`, see [`crate::results`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use irgate_core::render::{escape_markdown, markdown, why_plain_lines, MarkdownOptions};
use irgate_core::source::definition_line;
use irgate_core::{Comparison, Gate, Verdict};

use crate::check::{self, Annotation, CheckOptions, CheckReport, Published, Repo};
use crate::client::{decode_contents, encode_path, encode_segment, ApiError, GithubClient};
use crate::comment::{self, CommentOutcome, PullRequest, StickyOptions};

/// Marker in a check run's `output.text` before the embedded comparison JSON.
pub const RESULTS_MARKER: &str = "<!-- irgate:comparison -->";

/// Largest comparison JSON embedded in a check run (the text limit is 65,535).
pub const MAX_EMBEDDED_JSON: usize = 60_000;

/// True when the comparison has anything worth a new comment: the gate did not
/// pass, a benchmark moved, appeared or vanished, or the environment changed.
pub fn something_changed(c: &Comparison) -> bool {
    c.gate != Gate::Passed
        || c.counts.regressed + c.counts.improved + c.counts.new + c.counts.missing > 0
        || c.environment_changed()
}

/// One-line title for the check run and commit status.
pub fn title(c: &Comparison) -> String {
    match c.gate {
        Gate::Passed => format!(
            "No regressions ({} benchmarks, {} improved)",
            c.counts.total(),
            c.counts.improved
        ),
        Gate::Failed => match c.reasons.first() {
            Some(first) if c.reasons.len() > 1 => {
                format!("{first} (+{} more)", c.reasons.len() - 1)
            }
            Some(first) => first.clone(),
            None => "Gate failed".to_string(),
        },
        Gate::CouldNotJudge => format!(
            "Could not judge: {}",
            c.reasons
                .first()
                .map(String::as_str)
                .unwrap_or("no reason given")
        ),
    }
}

/// A repository-relative path that cannot escape the checkout.
fn safe_relative(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The bench files (repository-relative, checked not to escape the checkout)
/// that annotations will point at: those of the regressed benchmarks that fail
/// the gate.
pub fn annotated_files(c: &Comparison) -> BTreeSet<String> {
    c.failures()
        .filter(|b| b.verdict == Verdict::Regressed)
        .filter_map(|b| b.source_file.clone())
        .filter(|f| safe_relative(f))
        .collect()
}

/// Bench-file texts by repository-relative path, for annotation lines.
pub type Sources = BTreeMap<String, String>;

/// Annotations for the benchmarks that fail the gate, pointing at the line that
/// defines each one in `sources` (line 1 when the file is not there).
pub fn annotations(c: &Comparison, sources: &Sources) -> Vec<Annotation> {
    let mut out = Vec::new();
    for b in c.failures().filter(|b| b.verdict == Verdict::Regressed) {
        let Some(file) = b.source_file.as_deref().filter(|f| safe_relative(f)) else {
            continue;
        };
        let line = sources
            .get(file)
            .map(|src| definition_line(src, b.id.function(), b.id.case()))
            .unwrap_or(1);
        let change = match (b.baseline, b.current, b.change_pct) {
            (Some(old), Some(new), Some(pct)) => {
                format!("{} {old} → {new} ({pct:+.2}%)", b.metric)
            }
            (Some(old), Some(new), None) => format!("{} {old} → {new}", b.metric),
            _ => b.metric.clone(),
        };
        let mut message = format!(
            "{} regressed: {change}; the threshold is {}% (changes under {} are ignored).\n\
             If this is intended, a maintainer can comment `/irgate accept <reason>`.",
            b.id, b.threshold_pct, b.floor
        );
        // Which functions moved (plain text: annotations are not markdown, and every
        // name is cleaned of control and invisible characters).
        for line in why_plain_lines(b) {
            message.push('\n');
            message.push_str(&line);
        }
        out.push(Annotation::failure(
            file,
            line,
            &format!("Benchmark regressed: {}", b.id),
            &message,
        ));
    }
    out
}

/// The check run's `output.text`: the comparison JSON for the accept command.
pub fn embedded_results(c: &Comparison) -> String {
    let json = serde_json::to_string(c).unwrap_or_default();
    if json.len() > MAX_EMBEDDED_JSON {
        return format!(
            "The machine-readable results ({} bytes) are too large to keep in the check run; \
             `/irgate accept` reads them from the gate workflow's `{}` artifact.",
            json.len(),
            crate::artifact::DEFAULT_ARTIFACT_NAME
        );
    }
    format!(
        "<details><summary>Machine-readable results (read by <code>/irgate accept</code>)</summary>\n\n\
         {RESULTS_MARKER}\n```json\n{json}\n```\n</details>\n"
    )
}

/// Reads the comparison back out of a check run's `output.text`.
pub fn extract_results(text: &str) -> Option<Result<Comparison, irgate_core::ComparisonError>> {
    let after = text.split_once(RESULTS_MARKER)?.1;
    let body = after.trim_start().strip_prefix("```json")?;
    let end = body.find("\n```")?;
    Some(Comparison::from_json(body[..end].trim()))
}

/// The markdown verdict (without the sticky marker, added by [`comment`]).
pub fn verdict_markdown(c: &Comparison, details_url: Option<&str>) -> String {
    markdown(
        c,
        &MarkdownOptions {
            details_url: details_url.map(String::from),
            ..MarkdownOptions::default()
        },
    )
}

/// Where GitHub shows commit `sha` of `repo`.
pub fn commit_url(repo: &Repo, sha: &str) -> String {
    format!(
        "https://github.com/{}/{}/commit/{}",
        encode_segment(&repo.owner),
        encode_segment(&repo.name),
        encode_segment(sha)
    )
}

/// The line of the sticky comment that names the commit it describes: the
/// short sha (7 characters) linked to the commit. A sha that is not plain hex
/// (it came from outside) is shown escaped and not linked.
pub fn commit_line(repo: &Repo, sha: &str) -> String {
    if !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        let short = sha.get(..7).unwrap_or(sha);
        format!("For commit [`{short}`]({}).", commit_url(repo, sha))
    } else {
        format!("For commit {}.", escape_markdown(sha))
    }
}

/// The sticky comment's markdown: the verdict with, under its heading, the
/// line naming the commit, so that each push changes the comment.
pub fn comment_markdown(verdict: &str, repo: &Repo, sha: &str) -> String {
    let line = commit_line(repo, sha);
    match verdict.split_once('\n') {
        Some((heading, rest)) if heading.starts_with('#') => {
            format!("{heading}\n\n{line}\n{rest}")
        }
        _ => format!("{line}\n\n{verdict}"),
    }
}

/// The check run (or status) for `c` on `head_sha`.
pub fn check_report(
    c: &Comparison,
    head_sha: &str,
    sources: &Sources,
    details_url: Option<&str>,
) -> CheckReport {
    CheckReport {
        head_sha: head_sha.to_string(),
        outcome: c.gate,
        title: title(c),
        summary: verdict_markdown(c, details_url),
        text: Some(embedded_results(c)),
        annotations: annotations(c, sources),
        details_url: details_url.map(String::from),
    }
}

/// Most bench files read for annotation lines.
const MAX_SOURCE_FILES: usize = 20;

/// Reads the annotated bench files from `source_root`, or else from the commit
/// through the contents API. Best effort: a file that cannot be had gives
/// line 1 annotations.
pub async fn read_sources(
    client: &GithubClient,
    repo: &Repo,
    head_sha: &str,
    c: &Comparison,
    source_root: Option<&Path>,
) -> Sources {
    let mut out = Sources::new();
    for file in annotated_files(c).into_iter().take(MAX_SOURCE_FILES) {
        let text = match source_root {
            Some(root) => std::fs::read_to_string(root.join(&file)).ok(),
            None => {
                let api = format!(
                    "{}/contents/{}?ref={}",
                    repo.path(),
                    encode_path(&file),
                    encode_segment(head_sha)
                );
                match client.get(&api).await {
                    Ok(resp) => resp
                        .body
                        .get("content")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|b64| decode_contents(b64).ok())
                        .and_then(|bytes| String::from_utf8(bytes).ok()),
                    Err(e) => {
                        tracing::warn!(%file, error = %e, "bench file not readable; annotating line 1");
                        None
                    }
                }
            }
        };
        if let Some(text) = text {
            out.insert(file, text);
        }
    }
    out
}

/// Options of `irgate github post`.
#[derive(Debug, Clone, Default)]
pub struct PostOptions {
    /// Sticky-comment behaviour.
    pub sticky: StickyOptions,
    /// Check-run / status behaviour.
    pub check: CheckOptions,
    /// Checkout the bench files are relative to (for annotation lines). Without
    /// one, the files are read from the commit through the contents API.
    pub source_root: Option<std::path::PathBuf>,
    /// "Details" link (the workflow run).
    pub details_url: Option<String>,
    /// Skip the comment, post only the check.
    pub no_comment: bool,
    /// For a commit without a pull request ([`post_check`]): when the gate
    /// fails or cannot judge, also comment on the commit with the verdict, so
    /// that a regression on the default branch is seen (GitHub notifies the
    /// commit's author and the repository's watchers).
    pub commit_comment_on_failure: bool,
}

/// What `post` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostResult {
    /// The sticky comment, unless skipped.
    pub comment: Option<CommentOutcome>,
    /// The check run or status.
    pub check: Published,
}

/// Posts the verdict: the check run (or status) first, so that a merge is
/// blocked even if the comment then fails, then the sticky comment.
pub async fn post(
    client: &GithubClient,
    pr: &PullRequest,
    head_sha: &str,
    c: &Comparison,
    opts: &PostOptions,
) -> Result<PostResult, ApiError> {
    let (report, published) = publish_report(client, &pr.repo, head_sha, c, opts).await?;
    let comment = if opts.no_comment {
        None
    } else {
        Some(
            comment::upsert_sticky(
                client,
                pr,
                &comment_markdown(&report.summary, &pr.repo, head_sha),
                something_changed(c),
                &opts.sticky,
            )
            .await?,
        )
    };
    Ok(PostResult {
        comment,
        check: published,
    })
}

/// Posts only the check run (or status) for a commit that belongs to no pull
/// request: a merge queue's merge commit (`merge_group`) or a push to the
/// default branch. Branch protection and the merge queue read it there.
pub async fn post_check(
    client: &GithubClient,
    repo: &Repo,
    head_sha: &str,
    c: &Comparison,
    opts: &PostOptions,
) -> Result<CheckPosted, ApiError> {
    let (report, check) = publish_report(client, repo, head_sha, c, opts).await?;
    let commit_comment = if opts.commit_comment_on_failure && report.outcome != Gate::Passed {
        Some(comment_on_commit(client, repo, head_sha, &report.summary).await?)
    } else {
        None
    };
    Ok(CheckPosted {
        check,
        commit_comment,
    })
}

/// What [`post_check`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckPosted {
    /// The check run or status.
    pub check: Published,
    /// The id of the comment on the commit, when one was made.
    pub commit_comment: Option<u64>,
}

/// Comments the verdict on commit `sha` (`POST
/// /repos/{owner}/{repo}/commits/{sha}/comments`); returns the comment's id.
/// Not retried after a lost answer: a second comment would notify twice.
pub async fn comment_on_commit(
    client: &GithubClient,
    repo: &Repo,
    sha: &str,
    verdict: &str,
) -> Result<u64, ApiError> {
    let body = comment::sticky_body(&comment_markdown(verdict, repo, sha));
    let path = format!("{}/commits/{}/comments", repo.path(), encode_segment(sha));
    let answer = client
        .request(
            http::Method::POST,
            &path,
            Some(&serde_json::json!({ "body": body })),
            crate::client::Idempotency::CreatesResource,
        )
        .await?;
    let created: crate::payload::Created = crate::client::decode_answer(
        "the commit comment",
        http::Method::POST,
        &path,
        &answer.body,
    )?;
    Ok(created.id)
}

/// Builds the check report for `head_sha` and publishes it.
async fn publish_report(
    client: &GithubClient,
    repo: &Repo,
    head_sha: &str,
    c: &Comparison,
    opts: &PostOptions,
) -> Result<(CheckReport, Published), ApiError> {
    let sources = read_sources(client, repo, head_sha, c, opts.source_root.as_deref()).await;
    let report = check_report(c, head_sha, &sources, opts.details_url.as_deref());
    let published = check::publish(client, repo, &report, &opts.check).await?;
    Ok((report, published))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_names_its_commit_under_the_heading() {
        let repo = Repo::parse("Owner/Re po").unwrap();
        let sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
        assert_eq!(
            comment_markdown("### ✅ passed\n\n- body\n", &repo, sha),
            "### ✅ passed\n\nFor commit [`ec26c3e`](https://github.com/Owner/Re%20po/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821).\n\n- body\n"
        );
        assert_eq!(
            comment_markdown("plain", &repo, sha),
            format!("{}\n\nplain", commit_line(&repo, sha))
        );
        // A sha from outside that is not hex is neither linked nor markup.
        let odd = commit_line(&repo, "[x](http://evil)");
        assert_eq!(
            odd,
            format!("For commit {}.", escape_markdown("[x](http://evil)"))
        );
        assert!(!odd.contains("[x]"), "{odd}");
    }

    #[test]
    fn an_annotation_lists_the_movers_with_hostile_names_made_inert() {
        use irgate_core::why::{Mover, MoverKind, Why, WhyStatus};
        use irgate_core::{BenchComparison, EnvironmentCheck, RunVerdict, Verdict};
        let mover = |function: &str, self_delta: i64| Mover {
            function: function.into(),
            kind: MoverKind::Changed,
            baseline_self: Some(10),
            current_self: 10 + self_delta as u64,
            baseline_inclusive: Some(10),
            current_inclusive: 10 + self_delta as u64,
            self_delta,
            inclusive_delta: self_delta,
            self_share_pct: Some(self_delta as f64),
        };
        let b = BenchComparison {
            id: "pkg/ir/g/f".parse().unwrap(),
            verdict: Verdict::Regressed,
            action: irgate_core::Action::Fail,
            metric: "Ir".into(),
            baseline: Some(1000),
            current: Some(1100),
            delta: Some(100),
            change_pct: Some(10.0),
            threshold_pct: 0.5,
            floor: 10,
            source_file: Some("crates/a/benches/b.rs".into()),
            current_metrics: irgate_core::Metrics::default(),
            why: Some(Why {
                status: WhyStatus::Explained,
                message: "m".into(),
                self_movers: vec![
                    mover("@octocat \u{202e}evil\u{1b}[2J", 70),
                    mover("malloc", 30),
                ],
                inclusive_movers: Vec::new(),
                unlisted_self_delta: 0,
                stored_complete: true,
            }),
        };
        let c = Comparison::new(
            "Ir",
            vec![b],
            EnvironmentCheck {
                verdict: RunVerdict::Consistent,
                action: irgate_core::Action::Fail,
                changes: Vec::new(),
                current: irgate_core::Environment::default(),
                informational: Vec::new(),
                evidence_rule: true,
            },
        );
        let a = annotations(&c, &Sources::new());
        assert_eq!(a.len(), 1);
        let m = &a[0].message;
        assert!(m.contains("\nwhy (+100 Ir;"), "{m}");
        assert!(
            m.contains("\n  +70 @octocat <U+202E>evil?[2J (70.0%)"),
            "{m}"
        );
        assert!(m.contains("\n  +30 malloc (30.0%)"), "{m}");
        assert!(!m.contains('\u{202e}') && !m.contains('\u{1b}'), "{m}");
    }

    #[test]
    fn unsafe_paths_rejected() {
        assert!(safe_relative("crates/a/benches/b.rs"));
        assert!(!safe_relative("../etc/passwd"));
        assert!(!safe_relative("/etc/passwd"));
        assert!(!safe_relative(""));
    }
}
