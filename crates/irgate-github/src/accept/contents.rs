//! The repository files accepting reads and writes: a small trait over the
//! contents API, and its implementation on [`GithubClient`].

use std::future::Future;

use base64::Engine;
use http::{Method, StatusCode};
use serde_json::json;

use super::AcceptError;
use crate::check::Repo;
use crate::client::{
    decode_answer, decode_contents, encode_path, encode_segment, GithubClient, Idempotency,
};
pub use crate::payload::ContentsEntry;
use crate::payload::{self, ContentsFile, FileCommit, GitBlob};

/// A text file read from a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// The file's text.
    pub text: String,
    /// Its blob sha, which a write replacing it must name.
    pub sha: String,
}

/// Reading and writing a repository's files on a branch: everything accepting
/// needs of the repository's contents.
pub trait RepoContents: Sync {
    /// The entries of directory `dir` on `branch`; none when it does not exist.
    fn list(
        &self,
        dir: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Vec<ContentsEntry>, AcceptError>> + Send;

    /// The text file at `path` on `branch`, or `None` when there is none.
    fn get(
        &self,
        path: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Option<RepoFile>, AcceptError>> + Send;

    /// Commits `contents` to `path` on `branch` with `message`; `old_sha` is the
    /// blob the file replaces (`None` for a new file). Returns the new commit's
    /// sha when GitHub says it.
    fn put(
        &self,
        path: &str,
        branch: &str,
        contents: &str,
        old_sha: Option<&str>,
        message: &str,
    ) -> impl Future<Output = Result<Option<String>, AcceptError>> + Send;
}

/// [`RepoContents`] through GitHub's contents API.
#[derive(Clone, Copy)]
pub struct GithubContents<'a> {
    /// The client.
    pub client: &'a GithubClient,
    /// The repository.
    pub repo: &'a Repo,
}

impl GithubContents<'_> {
    /// The blob `sha`, through the Git database API.
    async fn blob(&self, sha: &str) -> Result<GitBlob, AcceptError> {
        let api = format!("{}/git/blobs/{}", self.repo.path(), encode_segment(sha));
        let resp = self.client.get(&api).await?;
        Ok(decode_answer("blob", Method::GET, &api, &resp.body)?)
    }

    fn get_path(&self, path: &str, branch: &str) -> String {
        format!(
            "{}/contents/{}?ref={}",
            self.repo.path(),
            encode_path(path),
            encode_segment(branch)
        )
    }
}

impl RepoContents for GithubContents<'_> {
    async fn list(&self, dir: &str, branch: &str) -> Result<Vec<ContentsEntry>, AcceptError> {
        let api = self.get_path(dir, branch);
        match self.client.get(&api).await {
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
    }

    async fn get(&self, path: &str, branch: &str) -> Result<Option<RepoFile>, AcceptError> {
        let api = self.get_path(path, branch);
        let resp = match self.client.get(&api).await {
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
        let (content, encoding) = match file.encoding.as_str() {
            "base64" => (file.content, file.encoding),
            // Files over 1 MB come without their content (encoding `none`);
            // the Git database API sends them up to 100 MB.
            "none" => {
                let blob = self.blob(&file.sha).await?;
                (blob.content, blob.encoding)
            }
            other => {
                return Err(bad(&format!(
                    "content sent in encoding `{other}`, not base64"
                )))
            }
        };
        if encoding != "base64" {
            return Err(bad(&format!(
                "blob {} sent in encoding `{encoding}`, not base64",
                file.sha
            )));
        }
        let bytes = decode_contents(&content).map_err(|e| bad(&format!("bad base64: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        Ok(Some(RepoFile {
            text,
            sha: file.sha,
        }))
    }

    async fn put(
        &self,
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
        let api = format!("{}/contents/{}", self.repo.path(), encode_path(path));
        // With `sha` the PUT is conditional (409 when the file moved on), so a
        // retry cannot write twice; a new file's retry answers 422 "sha wasn't
        // supplied", which surfaces as an error instead of a duplicate.
        let resp = self
            .client
            .request(Method::PUT, &api, Some(&body), Idempotency::Idempotent)
            .await?;
        let written: FileCommit = decode_answer("file commit", Method::PUT, &api, &resp.body)?;
        Ok(written.commit.sha)
    }
}

/// A baseline file as it is on the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingFile {
    /// Path relative to the baseline directory, `<package>/<bench>.toml`.
    pub relative_path: std::path::PathBuf,
    /// The file.
    pub file: RepoFile,
}

/// Reads every `<dir>/<package>/<bench>.toml` on `branch` (not the profile files).
pub async fn read_baselines(
    contents: &impl RepoContents,
    dir: &str,
    branch: &str,
) -> Result<Vec<ExistingFile>, AcceptError> {
    let mut paths = Vec::new();
    for entry in contents.list(dir, branch).await? {
        if entry.kind != "dir" {
            continue;
        }
        for f in contents.list(&entry.path, branch).await? {
            // Profile files (`*.profile.toml`) are not baselines, and the bot's
            // accept writes none (it has no Callgrind outputs): they are left alone.
            if f.kind == "file"
                && f.name.ends_with(".toml")
                && !f.name.ends_with(irgate_core::profile::PROFILE_SUFFIX)
            {
                paths.push(f.path);
            }
        }
    }
    let mut existing = Vec::new();
    for path in paths {
        if let Some(file) = contents.get(&path, branch).await? {
            let rel = path.strip_prefix(&format!("{dir}/")).unwrap_or(&path);
            existing.push(ExistingFile {
                relative_path: rel.into(),
                file,
            });
        }
    }
    Ok(existing)
}
