//! Where the accept command finds the latest gate run's results.
//!
//! - [`ResultsSource::Artifact`] (the default, service and Actions mode): the
//!   gate workflow's `irgate-comparison` artifact for the pull request's
//!   current head sha, through the Actions artifacts API (see
//!   [`crate::artifact`]); it works at any number of benchmarks. When the head
//!   commit has no such artifact (an older workflow, an expired artifact), or
//!   the token may not read artifacts, the check run below is read instead.
//! - [`ResultsSource::CheckRun`]: the comparison JSON that `post` embedded in
//!   the latest "irgate" check run on the commit (see [`crate::report`]),
//!   looked up by the head sha, so older results are never found. GitHub cuts
//!   a check run's text at 65,535 characters, so this holds results only for
//!   small runs (a few hundred benchmarks).
//! - [`ResultsSource::Dir`] (Actions mode with the commit-status fallback): a
//!   directory holding `comparison.json` (the comparator's JSON) and `head-sha`
//!   (the commit the run measured, one line), e.g. the gate workflow's artifact
//!   downloaded by the accept workflow. Both files are untrusted input: sizes
//!   are bounded and the JSON is parsed strictly by the comparator. Results
//!   whose `head-sha` is not the pull request's head are refused as stale.

use std::io::Read;
use std::path::{Path, PathBuf};

use irgate_core::comparison::ComparisonFileError;
use irgate_core::Comparison;

use crate::artifact::{ArtifactError, ArtifactSource};
use crate::check::{find_check_run, Repo};
use crate::client::{ApiError, GithubClient};
use crate::report::extract_results;

/// Largest `head-sha` file read from a results directory.
const MAX_HEAD_SHA_BYTES: u64 = 1024;

/// A gate run's results and the commit they were measured on.
#[derive(Debug, Clone)]
pub struct GateResults {
    /// The commit the benchmarks ran on.
    pub head_sha: String,
    /// The comparator's output.
    pub comparison: Comparison,
}

/// Where results come from.
#[derive(Debug, Clone)]
pub enum ResultsSource {
    /// The gate workflow's artifact for the head sha; the check run when
    /// there is none.
    Artifact(ArtifactSource),
    /// The latest "irgate" check run on the head sha.
    CheckRun,
    /// A directory with `comparison.json` and `head-sha`.
    Dir(PathBuf),
}

impl Default for ResultsSource {
    fn default() -> Self {
        ResultsSource::Artifact(ArtifactSource::default())
    }
}

/// Why results could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// GitHub failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The artifact was found but cannot be downloaded or read.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The `comparison.json` of a results directory is missing, too large
    /// ([`irgate_core::comparison::MAX_JSON_BYTES`]) or malformed.
    #[error(transparent)]
    Comparison(#[from] ComparisonFileError),
    /// The `head-sha` file is missing, too large or not a commit sha.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The check run's embedded results are malformed.
    #[error("the results in check run {check_run_id} cannot be read: {reason}")]
    Embedded {
        /// Check run id.
        check_run_id: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Reads at most `max` bytes of a small text file (more is refused unread).
fn read_bounded(path: &Path, max: u64) -> Result<String, ResultsError> {
    let err = |reason: String| ResultsError::File {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut text = String::new();
    file.take(max + 1)
        .read_to_string(&mut text)
        .map_err(|e| err(e.to_string()))?;
    if text.len() as u64 > max {
        return Err(err(format!("more than the {max} bytes allowed")));
    }
    Ok(text)
}

impl ResultsSource {
    /// Loads the latest results for `head_sha`. `Ok(None)` means there are none
    /// for that commit (the gate has not reported, or reported for another sha).
    pub async fn load(
        &self,
        client: &GithubClient,
        repo: &Repo,
        head_sha: &str,
    ) -> Result<Option<GateResults>, ResultsError> {
        match self {
            ResultsSource::Dir(dir) => {
                let sha_path = dir.join("head-sha");
                let sha = read_bounded(&sha_path, MAX_HEAD_SHA_BYTES)?
                    .trim()
                    .to_string();
                if sha.len() < 7 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ResultsError::File {
                        path: sha_path,
                        reason: format!("`{sha}` is not a commit sha"),
                    });
                }
                let comparison = Comparison::load(&dir.join("comparison.json"))?;
                Ok(Some(GateResults {
                    head_sha: sha,
                    comparison,
                }))
            }
            ResultsSource::Artifact(source) => {
                match source.find(client, repo, head_sha).await {
                    Ok(Some(artifact)) => {
                        let (sha, comparison) = source.fetch(client, repo, &artifact).await?;
                        return Ok(Some(GateResults {
                            head_sha: sha,
                            comparison,
                        }));
                    }
                    Ok(None) => {
                        tracing::info!(
                            artifact = %source.name,
                            head_sha,
                            "no gate artifact for the head commit; reading the check run"
                        );
                    }
                    // A token without `actions: read`, or Actions switched off.
                    Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(403 | 404)) => {
                        tracing::warn!(
                            error = %e,
                            "the gate's artifacts cannot be listed (the token needs actions: read); reading the check run"
                        );
                    }
                    Err(e) => return Err(e.into()),
                }
                from_check_run(client, repo, head_sha).await
            }
            ResultsSource::CheckRun => from_check_run(client, repo, head_sha).await,
        }
    }
}

/// The results embedded in the latest "irgate" check run on `head_sha`.
async fn from_check_run(
    client: &GithubClient,
    repo: &Repo,
    head_sha: &str,
) -> Result<Option<GateResults>, ResultsError> {
    let Some(run) = find_check_run(client, repo, head_sha).await? else {
        return Ok(None);
    };
    let (id, sha) = (run.id, run.head_sha);
    let text = run.output.and_then(|o| o.text).unwrap_or_default();
    match extract_results(&text) {
        None => Ok(None),
        Some(Ok(comparison)) => Ok(Some(GateResults {
            head_sha: sha,
            comparison,
        })),
        Some(Err(e)) => Err(ResultsError::Embedded {
            check_run_id: id,
            reason: e.to_string(),
        }),
    }
}
