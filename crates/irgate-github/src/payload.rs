//! The fields irgate reads from GitHub's JSON: REST answers and webhook
//! deliveries, as small serde structs.
//!
//! Each struct holds only what the bot reads. A field GitHub's contract marks
//! required is required here, and its absence is an error that names it with
//! its path (`pull request: missing field `head.sha``); a field GitHub may
//! leave out or set to `null` is an `Option`.
//!
//! Objects are decoded from a `serde_json::Value` with [`decode`] or
//! [`decode_at`]; objects nested inside a struct go through [`at`], which
//! puts the field's name in front of the inner error's path.

use std::fmt;

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// A GitHub answer or delivery without a field irgate needs, or with one of
/// the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct PayloadError {
    /// What was being read, e.g. "pull request".
    pub what: String,
    /// What is wrong, naming the field's path.
    pub message: String,
}

impl PayloadError {
    /// The error for a required field that is absent.
    pub fn missing(what: &str, path: &str) -> Self {
        Self {
            what: what.to_string(),
            message: format!("missing field `{path}`"),
        }
    }
}

/// Decodes `value` as `T`; `what` names it in errors.
pub fn decode<T: DeserializeOwned>(what: &str, value: &Value) -> Result<T, PayloadError> {
    T::deserialize(value).map_err(|e| PayloadError {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// Decodes the object at the dotted `path` inside `root` as `T`, naming the
/// path in errors. An absent or `null` object reads as `{}`, so the error names
/// the first field it lacks (`missing field `repository.full_name``).
pub fn decode_at<T: DeserializeOwned>(
    what: &str,
    root: &Value,
    path: &str,
) -> Result<T, PayloadError> {
    let empty = Value::Object(serde_json::Map::new());
    let value = path
        .split('.')
        .try_fold(root, |v, key| v.get(key))
        .filter(|v| !v.is_null())
        .unwrap_or(&empty);
    T::deserialize(value).map_err(|e| PayloadError {
        what: what.to_string(),
        message: prefixed(path, &e.to_string()),
    })
}

/// Puts `field` in front of the path an inner error names.
fn prefixed(field: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("missing field `") {
        format!("missing field `{field}.{rest}")
    } else if let Some(rest) = message.strip_prefix("in `") {
        format!("in `{field}.{rest}")
    } else {
        format!("in `{field}`: {message}")
    }
}

/// `deserialize_with` helpers for nested objects: each decodes its field and
/// prefixes the inner error's path with the field's name.
pub mod at {
    use super::*;

    fn within<'de, D, T>(d: D, field: &str) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        T::deserialize(d).map_err(|e| D::Error::custom(prefixed(field, &e.to_string())))
    }

    macro_rules! fields {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("Decodes the `", stringify!($name), "` field, naming it in errors.")]
            pub fn $name<'de, D, T>(d: D) -> Result<T, D::Error>
            where
                D: Deserializer<'de>,
                T: Deserialize<'de>,
            {
                within(d, stringify!($name))
            }
        )*};
    }

    fields!(
        head,
        repo,
        user,
        sender,
        requested_action,
        commit,
        pull_requests,
        artifacts,
        workflow_run
    );
}

/// A repository as GitHub names it in a payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepositoryRef {
    /// `owner/name`.
    pub full_name: String,
}

/// A pull request's head or base: the commit and the branch it is on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Branch {
    /// The commit.
    pub sha: String,
    /// The branch name.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The repository the branch is in; `null` when that fork was deleted.
    #[serde(default, deserialize_with = "at::repo")]
    pub repo: Option<RepositoryRef>,
}

/// A pull request (`GET /repos/{owner}/{repo}/pulls/{n}`, or the
/// `pull_request` of a delivery): what the bot reads of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestInfo {
    /// The branch being merged.
    #[serde(deserialize_with = "at::head")]
    pub head: Branch,
}

/// The `merge_group` of a `merge_group` delivery: the merge commit the queue
/// made and wants checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeGroup {
    /// The queued merge commit (what the gate judges and the check is set on).
    pub head_sha: String,
    /// The queue's temporary branch, `refs/heads/gh-readonly-queue/...`.
    pub head_ref: String,
}

/// A person's or a bot's account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The login.
    pub login: String,
    /// `User`, `Bot` or `Organization`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl User {
    /// Whether this is a bot account: `type` `Bot`, or a `[bot]` login.
    pub fn is_bot(&self) -> bool {
        self.kind == "Bot" || self.login.ends_with("[bot]")
    }
}

/// An issue or pull-request comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    /// The comment's id.
    pub id: u64,
    /// The text; GitHub may leave it out.
    #[serde(default)]
    pub body: Option<String>,
    /// The author; `null` for some deleted accounts.
    #[serde(default, deserialize_with = "at::user")]
    pub user: Option<User>,
}

/// Something GitHub created and answered with its id (a comment, a check run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Created {
    /// The new object's id.
    pub id: u64,
}

/// A pull request as a check run lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PullRequestNumber {
    /// The pull request's number.
    pub number: u64,
}

/// A check run, from the REST API or a `check_run` delivery.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckRun {
    /// The run's id.
    pub id: u64,
    /// The run's name.
    pub name: String,
    /// The commit it is for.
    pub head_sha: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: String,
    /// The creator's own id for the run; may be `null`.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The pull requests whose head is this commit (empty for forks).
    #[serde(default, deserialize_with = "at::pull_requests")]
    pub pull_requests: Vec<PullRequestNumber>,
    /// The run's output; its `text` holds the gate's results for small runs.
    #[serde(default)]
    pub output: Option<CheckRunOutput>,
}

/// A check run's `output`, as far as irgate reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct CheckRunOutput {
    /// The details text; `null` when the run has none.
    #[serde(default)]
    pub text: Option<String>,
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`; each run is kept as
/// GitHub sent it (callers read more of it) and decoded as [`CheckRun`] one by one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckRunList {
    /// The runs.
    pub check_runs: Vec<Value>,
}

/// A repository role: GitHub's `permission` or `role_name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "String")]
pub enum Permission {
    /// `admin`.
    Admin,
    /// `maintain` (`permission` shows it as `write`).
    Maintain,
    /// `write`.
    Write,
    /// `triage` (`permission` shows it as `read`).
    Triage,
    /// `read`.
    Read,
    /// `none`: no access.
    None,
    /// A role GitHub added, or an organisation's custom role name.
    Other(String),
}

impl Permission {
    /// Whether this role may accept results: `admin`, `maintain` or `write`.
    pub fn may_accept(&self) -> bool {
        matches!(
            self,
            Permission::Admin | Permission::Maintain | Permission::Write
        )
    }

    /// GitHub's name for the role.
    pub fn as_str(&self) -> &str {
        match self {
            Permission::Admin => "admin",
            Permission::Maintain => "maintain",
            Permission::Write => "write",
            Permission::Triage => "triage",
            Permission::Read => "read",
            Permission::None => "none",
            Permission::Other(name) => name,
        }
    }
}

impl From<String> for Permission {
    fn from(name: String) -> Self {
        match name.as_str() {
            "admin" => Permission::Admin,
            "maintain" => Permission::Maintain,
            "write" => Permission::Write,
            "triage" => Permission::Triage,
            "read" => Permission::Read,
            "none" => Permission::None,
            _ => Permission::Other(name),
        }
    }
}

impl From<&str> for Permission {
    fn from(name: &str) -> Self {
        Permission::from(name.to_string())
    }
}

impl PartialEq<str> for Permission {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /repos/{owner}/{repo}/collaborators/{user}/permission`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PermissionAnswer {
    /// `admin`, `write`, `read` or `none` (maintain shows as write, triage as read).
    pub permission: Permission,
    /// The finer role (`maintain`, `triage`, a custom role); read when present.
    #[serde(default)]
    pub role_name: Option<Permission>,
}

impl PermissionAnswer {
    /// The role that decides: `role_name` when it grants write access
    /// (`maintain` shows only there), otherwise `permission`.
    pub fn effective(self) -> Permission {
        match self.role_name {
            Some(role) if role.may_accept() => role,
            _ => self.permission,
        }
    }
}

/// One entry of a directory listing (`GET /repos/{owner}/{repo}/contents/{dir}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContentsEntry {
    /// `file`, `dir`, `symlink` or `submodule`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The file name.
    pub name: String,
    /// The repository-relative path.
    pub path: String,
}

/// A file read through the contents API (`GET /repos/{owner}/{repo}/contents/{path}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContentsFile {
    /// The blob sha (needed to update the file).
    pub sha: String,
    /// The content, in `encoding`.
    pub content: String,
    /// `base64`; `none` for files too large to be sent inline.
    pub encoding: String,
}

/// A blob read through the Git database API (`GET /repos/{owner}/{repo}/git/blobs/{sha}`),
/// which sends files the contents API leaves out for their size (1 to 100 MB).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GitBlob {
    /// The content, in `encoding`.
    pub content: String,
    /// `base64` (or `utf-8`).
    pub encoding: String,
}

/// A page of `GET /repos/{owner}/{repo}/actions/artifacts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ArtifactList {
    /// Artifacts of every run, newest first.
    #[serde(deserialize_with = "at::artifacts")]
    pub artifacts: Vec<Artifact>,
}

/// One workflow artifact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Artifact {
    /// Its id (for the download).
    pub id: u64,
    /// Its name.
    pub name: String,
    /// The zip's size.
    pub size_in_bytes: u64,
    /// Past its retention: it can no longer be downloaded.
    pub expired: bool,
    /// The run that uploaded it (GitHub may leave it out).
    #[serde(default, deserialize_with = "at::workflow_run")]
    pub workflow_run: Option<ArtifactRun>,
}

/// The workflow run an artifact came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ArtifactRun {
    /// The commit the run checked out (null in GitHub's contract for some runs).
    #[serde(default)]
    pub head_sha: Option<String>,
}

/// The commit a contents-API write made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommitRef {
    /// The commit's sha (GitHub's contract marks no field of it required).
    #[serde(default)]
    pub sha: Option<String>,
}

/// The answer to `PUT /repos/{owner}/{repo}/contents/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileCommit {
    /// The commit made.
    #[serde(deserialize_with = "at::commit")]
    pub commit: CommitRef,
}

/// The parts of a webhook delivery read before its event is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Envelope {
    /// The event's action (`created`, `opened`, …); some events have none.
    #[serde(default)]
    pub action: Option<String>,
    /// The App installation the delivery is for (absent outside Apps).
    #[serde(default)]
    pub installation: Option<Installation>,
    /// Who caused the delivery.
    #[serde(default, deserialize_with = "at::sender")]
    pub sender: Option<User>,
    /// The button pressed, in `check_run` `requested_action` deliveries.
    #[serde(default, deserialize_with = "at::requested_action")]
    pub requested_action: Option<RequestedAction>,
}

/// A GitHub App installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Installation {
    /// The installation's id.
    pub id: u64,
}

/// A check-run button that was pressed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RequestedAction {
    /// The button's identifier, as the check run declared it.
    pub identifier: String,
}

/// The issue of an `issue_comment` delivery.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Issue {
    /// The issue's (or pull request's) number.
    pub number: u64,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde::de::IgnoredAny>,
}

/// The body of a GitHub error answer; every part may be missing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorBody {
    /// GitHub's message.
    #[serde(default)]
    pub message: Option<String>,
    /// Validation errors, kept as GitHub sent them.
    #[serde(default)]
    pub errors: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_nested_field_is_named_with_its_path() {
        let err =
            decode::<PullRequestInfo>("pull request", &json!({"head": {"ref": "b"}})).unwrap_err();
        assert_eq!(err.to_string(), "pull request: missing field `head.sha`");
        let err = decode::<PullRequestInfo>("pull request", &json!({})).unwrap_err();
        assert_eq!(err.to_string(), "pull request: missing field `head`");
        let err = decode::<PullRequestInfo>(
            "pull request",
            &json!({"head": {"sha": "a", "ref": "b", "repo": {}}}),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pull request: missing field `head.repo.full_name`"
        );
        let err = decode_at::<RepositoryRef>("delivery", &json!({}), "repository").unwrap_err();
        assert_eq!(
            err.to_string(),
            "delivery: missing field `repository.full_name`"
        );
        let err = decode::<CheckRun>(
            "check run",
            &json!({"id": 1, "name": "irgate", "head_sha": "a", "status": "queued", "pull_requests": [{}]}),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "check run: missing field `pull_requests.number`"
        );
        let err = decode::<Envelope>("delivery", &json!({"sender": {"login": "x"}})).unwrap_err();
        assert_eq!(err.to_string(), "delivery: missing field `sender.type`");
        let err = decode::<Created>("comment", &json!({"id": "x"})).unwrap_err();
        assert!(
            err.to_string().starts_with("comment: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn deleted_fork_and_absent_optional_fields() {
        let pr: PullRequestInfo = decode(
            "pull request",
            &json!({"head": {"sha": "a", "ref": "b", "repo": null}}),
        )
        .unwrap();
        assert_eq!(pr.head.repo, None);
        let c: Comment = decode("comment", &json!({"id": 3, "user": null})).unwrap();
        assert_eq!((c.body, c.user), (None, None));
        let f: FileCommit = decode("file commit", &json!({"commit": {}})).unwrap();
        assert_eq!(f.commit.sha, None);
    }

    #[test]
    fn permissions() {
        for (name, may) in [
            ("admin", true),
            ("maintain", true),
            ("write", true),
            ("triage", false),
            ("read", false),
            ("none", false),
            ("security-manager", false),
        ] {
            let p = Permission::from(name.to_string());
            assert_eq!(p.may_accept(), may, "{name}");
            assert_eq!(p.to_string(), name);
        }
        let answer = |permission: &str, role: Option<&str>| {
            decode::<PermissionAnswer>(
                "permission",
                &json!({"permission": permission, "role_name": role}),
            )
            .unwrap()
            .effective()
        };
        assert_eq!(answer("write", Some("maintain")), Permission::Maintain);
        assert_eq!(answer("read", Some("triage")), Permission::Read);
        assert_eq!(answer("write", Some("custom-role")), Permission::Write);
        assert_eq!(answer("admin", None), Permission::Admin);
        let err =
            decode::<PermissionAnswer>("permission", &json!({"role_name": "admin"})).unwrap_err();
        assert_eq!(err.to_string(), "permission: missing field `permission`");
    }
}
