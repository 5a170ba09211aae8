//! Another revision of the repository, checked out beside the work tree: a detached
//! `git worktree` in a temporary directory, removed when dropped. Used by
//! `compare --rebase-on-drift` and `irgate bisect`, which build and run other
//! revisions' benchmarks without touching the user's checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A git command that failed, and what git said.
#[derive(Debug, thiserror::Error)]
#[error("git {args} (in {dir}): {message}")]
pub struct GitError {
    /// The arguments.
    pub args: String,
    /// Where it ran.
    pub dir: PathBuf,
    /// What git said, or why it could not start.
    pub message: String,
}

/// Runs `git args` in `dir`; its trimmed stdout, or the error with git's stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let error = |message: String| GitError {
        args: args.join(" "),
        dir: dir.to_owned(),
        message,
    };
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| error(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(error(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The top directory of the git work tree holding `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, GitError> {
    git(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from)
}

/// The full commit id `rev` names in the repository at `top`.
pub fn resolve(top: &Path, rev: &str) -> Result<String, GitError> {
    git(
        top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|e| GitError {
        message: format!("{rev:?} names no commit of this repository"),
        ..e
    })
}

/// `dir`'s path below `top` (empty when it is `top` or not below it).
pub fn relative_to(dir: &Path, top: &Path) -> PathBuf {
    let (Ok(dir), Ok(top)) = (dir.canonicalize(), top.canonicalize()) else {
        return PathBuf::new();
    };
    dir.strip_prefix(top)
        .map(Path::to_owned)
        .unwrap_or_default()
}

/// A detached checkout of one commit in a temporary directory.
#[derive(Debug)]
pub struct Worktree {
    repo: PathBuf,
    dir: tempfile::TempDir,
}

impl Worktree {
    /// Checks `commit` out of the repository at `top` into a new temporary directory.
    pub fn add(top: &Path, commit: &str) -> Result<Self, GitError> {
        let dir = tempfile::Builder::new()
            .prefix("irgate-worktree-")
            .tempdir()
            .map_err(|e| GitError {
                args: "worktree add".into(),
                dir: top.to_owned(),
                message: format!("cannot make a temporary directory: {e}"),
            })?;
        let path = dir.path().to_string_lossy().into_owned();
        git(
            top,
            &["worktree", "add", "--detach", "--force", &path, commit],
        )?;
        Ok(Self {
            repo: top.to_owned(),
            dir,
        })
    }

    /// The checkout's top directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let path = self.dir.path().to_string_lossy().into_owned();
        let _ = git(&self.repo, &["worktree", "remove", "--force", &path]);
        let _ = git(&self.repo, &["worktree", "prune"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_that_names_no_commit_says_so() {
        let t = tempfile::tempdir().unwrap();
        git(t.path(), &["init", "-q"]).unwrap();
        let e = resolve(t.path(), "no-such-rev").unwrap_err().to_string();
        assert!(e.contains("\"no-such-rev\" names no commit"), "{e}");
        let e = toplevel(&std::env::temp_dir().join("irgate-not-a-repo-anywhere"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rev-parse"), "{e}");
    }
}
