//! The sticky pull-request comment: one per pull request, updated in place.
//!
//! The comment is found by a hidden marker at the start of its body **and** by
//! its author being the bot's own login (or, when no login is configured, any
//! bot account), so a user who pastes the marker into their own comment cannot
//! make the bot edit (or delete) it. All pages of
//! comments are read, 100 at a time.
//!
//! # Never two comments
//!
//! Two things can create a duplicate: a retried `POST` whose first attempt did
//! land, and two runs (two workflow runs, two service workers) that both list,
//! find nothing and both create. irgate handles them this way:
//!
//! - **In one process** every upsert for the same pull request holds the same
//!   async lock, so the webhook service's workers never race each other.
//! - **A create is never retried blindly.** [`Idempotency::CreatesResource`]
//!   turns a 5xx, a timeout or a broken connection after the `POST` into
//!   [`ApiError::Ambiguous`]; the comments are then listed again and the
//!   comment is updated if it landed, created only if it did not.
//! - **Across processes, converge after create.** After creating, the comments
//!   are listed again. The bot's marker comment with the lowest id (the
//!   oldest) is the sticky one; a run that finds its own new comment is not
//!   the oldest writes its body into the oldest and deletes its own; any other
//!   newer duplicates it sees are deleted too (a `404` on delete means the other
//!   run got there first). Both runs reach the same choice because ids only
//!   grow, so one comment is left whatever the interleaving, and it carries the
//!   body of the run that wrote last.
//!
//! A lock alone cannot cover two processes (GitHub offers no lock), and
//! convergence alone would let two workers in one process delete each other's
//! work in a busy loop; together they cover both. A reader may, for a moment,
//! see two comments while the newer one is being removed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use http::Method;
use serde_json::json;

use crate::check::Repo;
use crate::client::{decode_answer, ApiError, GithubClient, Idempotency};
use crate::payload::{Comment, Created};

/// Hidden marker that starts every sticky comment body.
pub const MARKER: &str = "<!-- irgate:sticky-comment -->";

/// GitHub's limit on a comment body, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// A pull request (an issue number) in a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullRequest {
    /// The repository.
    pub repo: Repo,
    /// Pull-request number.
    pub number: u64,
}

impl PullRequest {
    /// Parses `owner/name` plus a number.
    pub fn new(full_name: &str, number: u64) -> Option<Self> {
        Some(Self {
            repo: Repo::parse(full_name)?,
            number,
        })
    }

    /// `/repos/{owner}/{repo}` with both parts encoded.
    pub fn repo_path(&self) -> String {
        self.repo.path()
    }
}

/// How the sticky comment is written.
#[derive(Debug, Clone)]
pub struct StickyOptions {
    /// The login the bot posts as (`github-actions[bot]` for `GITHUB_TOKEN`,
    /// `<app-slug>[bot]` for an App). When set, only its comments are
    /// considered; when `None`, comments by any bot account (`user.type ==
    /// "Bot"`, which a person's account never is) carrying the marker are.
    pub bot_login: Option<String>,
    /// Create a new comment only when `something_changed` is true; an existing
    /// comment is still kept up to date so it never shows a stale verdict.
    pub only_when_changed: bool,
    /// Serialise upserts for the same pull request within this process.
    pub in_process_lock: bool,
}

impl Default for StickyOptions {
    fn default() -> Self {
        Self {
            bot_login: None,
            only_when_changed: false,
            in_process_lock: true,
        }
    }
}

/// What happened to the sticky comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOutcome {
    /// A new comment was created (and, if needed, converged to one).
    Created(u64),
    /// The existing comment was updated.
    Updated(u64),
    /// The existing comment already had this body.
    Unchanged(u64),
    /// No comment existed and nothing changed, in "only when changed" mode.
    Skipped,
}

impl CommentOutcome {
    /// The sticky comment's id, if there is one.
    pub fn id(&self) -> Option<u64> {
        match self {
            CommentOutcome::Created(id)
            | CommentOutcome::Updated(id)
            | CommentOutcome::Unchanged(id) => Some(*id),
            CommentOutcome::Skipped => None,
        }
    }
}

/// Builds the comment body: marker, then the markdown, cut to GitHub's limit
/// with a note saying so.
pub fn sticky_body(markdown: &str) -> String {
    let head = format!("{MARKER}\n");
    let full_len = head.chars().count() + markdown.chars().count();
    if full_len <= MAX_COMMENT_CHARS {
        return format!("{head}{markdown}");
    }
    let note = "\n\n… (report truncated to fit GitHub's comment limit; the full report is in the check run and the workflow artifact)\n";
    let keep = MAX_COMMENT_CHARS - head.chars().count() - note.chars().count();
    let mut cut: String = markdown.chars().take(keep).collect();
    // Do not leave half a table row.
    if let Some(pos) = cut.rfind('\n') {
        cut.truncate(pos);
    }
    format!("{head}{cut}{note}")
}

#[derive(Debug, Clone)]
struct Existing {
    id: u64,
    body: String,
}

fn locks() -> &'static Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    LOCKS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock_for(pr: &PullRequest) -> Arc<tokio::sync::Mutex<()>> {
    let key = format!("{}/{}#{}", pr.repo.owner, pr.repo.name, pr.number);
    let mut map = match locks().lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry(key).or_default().clone()
}

/// Lists the bot's marker comments on the pull request, oldest first, reading
/// every page.
async fn list_sticky(
    client: &GithubClient,
    pr: &PullRequest,
    bot_login: Option<&str>,
) -> Result<Vec<Existing>, ApiError> {
    const PER_PAGE: usize = 100;
    // A bound on paging, so that an answer that always promises a next page
    // cannot keep the bot listing forever (GitHub caps threads far below).
    const MAX_PAGES: usize = 500;
    let mut found = Vec::new();
    for page in 1.. {
        if page > MAX_PAGES {
            return Err(ApiError::Decode {
                method: Method::GET,
                path: format!("{}/issues/{}/comments", pr.repo_path(), pr.number),
                reason: format!("more than {MAX_PAGES} pages of comments"),
            });
        }
        let path = format!(
            "{}/issues/{}/comments?per_page={PER_PAGE}&page={page}",
            pr.repo_path(),
            pr.number
        );
        let resp = client.get(&path).await?;
        let items: Vec<Comment> = decode_answer("comments", Method::GET, &path, &resp.body)?;
        for c in &items {
            // A comment whose author is gone (`user: null`) is nobody's.
            let Some(user) = &c.user else { continue };
            let ours = match bot_login {
                Some(bot) => user.login.eq_ignore_ascii_case(bot),
                None => user.kind == "Bot",
            };
            let body = c.body.as_deref().unwrap_or("");
            if ours && body.starts_with(MARKER) {
                found.push(Existing {
                    id: c.id,
                    body: body.to_string(),
                });
            }
        }
        let has_next = resp
            .headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .map(|l| l.contains("rel=\"next\""));
        match has_next {
            Some(true) => continue,
            Some(false) => break,
            None if items.len() < PER_PAGE => break,
            None => continue,
        }
    }
    found.sort_by_key(|c| c.id);
    Ok(found)
}

async fn update(
    client: &GithubClient,
    pr: &PullRequest,
    id: u64,
    body: &str,
) -> Result<(), ApiError> {
    // The spec says PATCH; octocrab's typed update_comment sends POST.
    let path = format!("{}/issues/comments/{id}", pr.repo_path());
    client
        .request(
            Method::PATCH,
            &path,
            Some(&json!({ "body": body })),
            Idempotency::Idempotent,
        )
        .await
        .map(|_| ())
}

async fn delete(client: &GithubClient, pr: &PullRequest, id: u64) -> Result<(), ApiError> {
    let path = format!("{}/issues/comments/{id}", pr.repo_path());
    match client
        .request(Method::DELETE, &path, None, Idempotency::Idempotent)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates or updates the sticky comment with `markdown` (the marker is added
/// here). `something_changed` matters only in "only when changed" mode.
pub async fn upsert_sticky(
    client: &GithubClient,
    pr: &PullRequest,
    markdown: &str,
    something_changed: bool,
    opts: &StickyOptions,
) -> Result<CommentOutcome, ApiError> {
    let lock = lock_for(pr);
    let _guard = if opts.in_process_lock {
        Some(lock.lock().await)
    } else {
        None
    };
    let body = sticky_body(markdown);

    for _round in 0..3 {
        let existing = list_sticky(client, pr, opts.bot_login.as_deref()).await?;
        if let Some((first, rest)) = existing.split_first() {
            for dup in rest {
                delete(client, pr, dup.id).await?;
            }
            if first.body == body {
                return Ok(CommentOutcome::Unchanged(first.id));
            }
            update(client, pr, first.id, &body).await?;
            return Ok(CommentOutcome::Updated(first.id));
        }
        if opts.only_when_changed && !something_changed {
            return Ok(CommentOutcome::Skipped);
        }
        let path = format!("{}/issues/{}/comments", pr.repo_path(), pr.number);
        let created = client
            .request(
                Method::POST,
                &path,
                Some(&json!({ "body": body })),
                Idempotency::CreatesResource,
            )
            .await;
        let mine = match created {
            Ok(resp) => {
                decode_answer::<Created>("created comment", Method::POST, &path, &resp.body)?.id
            }
            Err(ApiError::Ambiguous { reason, .. }) => {
                tracing::warn!(%reason, "comment create may have landed; listing again");
                continue;
            }
            Err(e) => return Err(e),
        };
        // Converge with any run that created at the same time.
        let now = list_sticky(client, pr, opts.bot_login.as_deref()).await?;
        let Some(oldest) = now.first() else {
            return Ok(CommentOutcome::Created(mine));
        };
        if oldest.id >= mine {
            for dup in now.iter().filter(|c| c.id > mine) {
                delete(client, pr, dup.id).await?;
            }
            return Ok(CommentOutcome::Created(mine));
        }
        update(client, pr, oldest.id, &body).await?;
        for dup in now.iter().skip(1) {
            delete(client, pr, dup.id).await?;
        }
        if !now.iter().any(|c| c.id == mine) {
            delete(client, pr, mine).await?;
        }
        return Ok(CommentOutcome::Updated(oldest.id));
    }
    Err(ApiError::GaveUp {
        method: Method::POST,
        path: format!("{}/issues/{}/comments", pr.repo_path(), pr.number),
        attempts: 3,
        elapsed: std::time::Duration::ZERO,
        last: "the comment create kept failing ambiguously".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_fits_limit() {
        let md = "| a | b |\n".repeat(20_000);
        let body = sticky_body(&md);
        assert!(body.chars().count() <= MAX_COMMENT_CHARS);
        assert!(body.starts_with(MARKER));
        assert!(body.contains("truncated"));
        let short = sticky_body("hello");
        assert_eq!(short, format!("{MARKER}\nhello"));
    }

    #[test]
    fn multibyte_counted_in_chars() {
        let md = "é".repeat(MAX_COMMENT_CHARS);
        let body = sticky_body(&md);
        assert!(body.chars().count() <= MAX_COMMENT_CHARS);
    }

    #[test]
    fn pr_parsing() {
        assert!(PullRequest::new("a/b", 1).is_some());
        assert!(PullRequest::new("a/b/c", 1).is_none());
        assert!(PullRequest::new("ab", 1).is_none());
    }
}
