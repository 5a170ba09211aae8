//! Gate results from the gate workflow's artifact, through the Actions
//! artifacts API: the path the accept command takes at any scale.
//!
//! The check run's text, the other place results are kept, is cut by GitHub
//! at 65,535 characters, which the embedded comparison passes at a few hundred
//! benchmarks. The gate workflow therefore also uploads a small artifact,
//! [`DEFAULT_ARTIFACT_NAME`], holding `comparison.json` and `head-sha` at its
//! top level. Reading it:
//!
//! 1. list the repository's artifacts by name (newest first, a bounded number
//!    of pages), and keep the newest unexpired one whose workflow run checked
//!    out the head commit;
//! 2. ask for its zip: GitHub answers with a redirect to a short-lived storage
//!    link, which is downloaded WITHOUT GitHub's credentials (the token never
//!    leaves GitHub) and read to at most [`ArtifactSource::max_zip_bytes`];
//! 3. read only the two files from the zip, each bounded by its size limit
//!    however large its header claims it is, and parse them strictly
//!    (`head-sha`: 40 hex digits; `comparison.json`: the comparator's schema).
//!
//! Nothing from the archive is written to disk, so entry names cannot reach
//! the file system. The artifact was produced by the pull request's code, like
//! every gate result: it is data, judged again by the bot before anything is
//! committed.

use std::io::{Cursor, Read};

use http::Method;
use irgate_core::comparison::MAX_JSON_BYTES;
use irgate_core::Comparison;

use crate::check::Repo;
use crate::client::{decode_answer, encode_segment, ApiError, GithubClient};
use crate::payload::ArtifactList;
pub use crate::payload::{Artifact, ArtifactRun};

/// The artifact the gate workflow uploads for the bot: `comparison.json` and
/// `head-sha` (and `pr-number` on pull requests), nothing else.
pub const DEFAULT_ARTIFACT_NAME: &str = "irgate-comparison";

/// Largest artifact zip downloaded by default: the comparison document may be
/// [`MAX_JSON_BYTES`] uncompressed, and compresses well.
pub const DEFAULT_MAX_ZIP_BYTES: u64 = MAX_JSON_BYTES as u64;

/// Pages of 100 artifacts looked through for the head commit's artifact.
const MAX_PAGES: u32 = 10;

/// Largest `head-sha` entry read.
const MAX_HEAD_SHA_BYTES: u64 = 1024;

/// Which artifact to read, and how much of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSource {
    /// The artifact's name.
    pub name: String,
    /// Largest zip downloaded; a larger artifact is refused before download.
    pub max_zip_bytes: u64,
}

impl Default for ArtifactSource {
    fn default() -> Self {
        Self {
            name: DEFAULT_ARTIFACT_NAME.into(),
            max_zip_bytes: DEFAULT_MAX_ZIP_BYTES,
        }
    }
}

/// Why an artifact's contents cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a zip archive, or a damaged one.
    #[error("not a readable zip archive: {0}")]
    Zip(String),
    /// A file the bot needs is not in the archive.
    #[error("the archive has no `{0}` at its top level")]
    Missing(&'static str),
    /// A file is larger than its limit (by its header, or once decompressed).
    #[error("`{name}` is larger than the {limit} bytes allowed")]
    TooLarge {
        /// The entry.
        name: &'static str,
        /// Its limit.
        limit: u64,
    },
    /// A file cannot be read (encrypted, unsupported compression, bad CRC).
    #[error("`{name}` cannot be read: {reason}")]
    Entry {
        /// The entry.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// `head-sha` is not a full commit sha.
    #[error("`head-sha` holds `{0}`, not a 40-digit commit sha")]
    HeadSha(String),
    /// `comparison.json` does not parse as the comparator's JSON.
    #[error("`comparison.json`: {0}")]
    Comparison(String),
}

/// Reads `comparison.json` and `head-sha` from the artifact zip `bytes`.
/// Returns the commit the gate measured and its comparison.
pub fn read_archive(bytes: &[u8]) -> Result<(String, Comparison), ArchiveError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ArchiveError::Zip(e.to_string()))?;
    let sha_text = read_entry(&mut zip, "head-sha", MAX_HEAD_SHA_BYTES)?;
    let sha = sha_text.trim();
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        let shown: String = sha.chars().take(60).collect();
        return Err(ArchiveError::HeadSha(shown.escape_debug().to_string()));
    }
    let json = read_entry(&mut zip, "comparison.json", MAX_JSON_BYTES as u64)?;
    let comparison =
        Comparison::from_json(&json).map_err(|e| ArchiveError::Comparison(e.to_string()))?;
    Ok((sha.to_ascii_lowercase(), comparison))
}

/// One top-level text entry, read to at most `limit` bytes whatever its header
/// says (a header can lie about the decompressed size).
fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &'static str,
    limit: u64,
) -> Result<String, ArchiveError> {
    let entry = match zip.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Err(ArchiveError::Missing(name)),
        Err(e) => {
            return Err(ArchiveError::Entry {
                name,
                reason: e.to_string(),
            })
        }
    };
    if entry.size() > limit {
        return Err(ArchiveError::TooLarge { name, limit });
    }
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ArchiveError::Entry {
            name,
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > limit {
        return Err(ArchiveError::TooLarge { name, limit });
    }
    String::from_utf8(bytes).map_err(|_| ArchiveError::Entry {
        name,
        reason: "not UTF-8 text".into(),
    })
}

/// Why the artifact path failed.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// GitHub failed, or refused.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The artifact is larger than the configured limit.
    #[error("artifact `{name}` ({id}) is {size} bytes, more than the {limit} allowed")]
    TooLarge {
        /// Its name.
        name: String,
        /// Its id.
        id: u64,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Its contents cannot be used.
    #[error("artifact `{name}` ({id}): {source}")]
    Archive {
        /// Its name.
        name: String,
        /// Its id.
        id: u64,
        /// What is wrong.
        source: ArchiveError,
    },
}

impl ArtifactSource {
    /// The newest unexpired artifact of this name from a run on `head_sha`, or
    /// `None` when there is none in the newest [`MAX_PAGES`] pages.
    pub async fn find(
        &self,
        client: &GithubClient,
        repo: &Repo,
        head_sha: &str,
    ) -> Result<Option<Artifact>, ApiError> {
        let mut best: Option<Artifact> = None;
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}/actions/artifacts?name={}&per_page=100&page={page}",
                repo.path(),
                encode_segment(&self.name)
            );
            let resp = client.get(&path).await?;
            let list: ArtifactList = decode_answer("artifacts", Method::GET, &path, &resp.body)?;
            let n = list.artifacts.len();
            for a in list.artifacts {
                let on_head = a
                    .workflow_run
                    .as_ref()
                    .and_then(|r| r.head_sha.as_deref())
                    .is_some_and(|s| s.eq_ignore_ascii_case(head_sha));
                if a.name == self.name
                    && !a.expired
                    && on_head
                    && best.as_ref().is_none_or(|b| a.id > b.id)
                {
                    best = Some(a);
                }
            }
            // Newest first: once one is found, later pages are older.
            if best.is_some() || n < 100 {
                break;
            }
        }
        Ok(best)
    }

    /// Downloads `artifact` and reads the gate's results from it.
    pub async fn fetch(
        &self,
        client: &GithubClient,
        repo: &Repo,
        artifact: &Artifact,
    ) -> Result<(String, Comparison), ArtifactError> {
        if artifact.size_in_bytes > self.max_zip_bytes {
            return Err(ArtifactError::TooLarge {
                name: artifact.name.clone(),
                id: artifact.id,
                size: artifact.size_in_bytes,
                limit: self.max_zip_bytes,
            });
        }
        let path = format!("{}/actions/artifacts/{}/zip", repo.path(), artifact.id);
        let link = client.redirect_location(&path).await?;
        let bytes = client.download(&link, self.max_zip_bytes).await?;
        read_archive(&bytes).map_err(|source| ArtifactError::Archive {
            name: artifact.name.clone(),
            id: artifact.id,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

    fn sample() -> String {
        include_str!("../tests/fixtures/comparison-sample.json").to_string()
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, opts).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_the_two_files_and_ignores_the_rest() {
        let json = sample();
        let z = zip_of(&[
            ("run/summary.json", b"{}"),
            ("head-sha", format!("{}\n", SHA.to_uppercase()).as_bytes()),
            ("comparison.json", json.as_bytes()),
            ("../../etc/passwd", b"x"),
        ]);
        let (sha, c) = read_archive(&z).unwrap();
        assert_eq!(sha, SHA);
        assert_eq!(c, Comparison::from_json(&json).unwrap());
    }

    #[test]
    fn missing_files_and_bad_contents_are_named() {
        let json = sample();
        let no_sha = zip_of(&[("comparison.json", json.as_bytes())]);
        assert_eq!(
            read_archive(&no_sha).unwrap_err(),
            ArchiveError::Missing("head-sha")
        );
        let nested = zip_of(&[
            ("out/head-sha", SHA.as_bytes()),
            ("out/comparison.json", json.as_bytes()),
        ]);
        assert_eq!(
            read_archive(&nested).unwrap_err(),
            ArchiveError::Missing("head-sha")
        );
        let short = zip_of(&[
            ("head-sha", b"abc1234"),
            ("comparison.json", json.as_bytes()),
        ]);
        assert!(matches!(
            read_archive(&short).unwrap_err(),
            ArchiveError::HeadSha(s) if s == "abc1234"
        ));
        let bad = zip_of(&[
            ("head-sha", SHA.as_bytes()),
            ("comparison.json", b"{\"gate\":"),
        ]);
        let err = read_archive(&bad).unwrap_err();
        assert!(matches!(err, ArchiveError::Comparison(_)), "{err}");
        assert!(err.to_string().starts_with("`comparison.json`: "), "{err}");
        let err = read_archive(b"PK\x03\x04 not really").unwrap_err();
        assert!(matches!(err, ArchiveError::Zip(_)), "{err}");
        assert!(matches!(
            read_archive(&[]).unwrap_err(),
            ArchiveError::Zip(_)
        ));
    }

    #[test]
    fn a_bomb_is_cut_at_the_limit() {
        // 1 MiB of zeros compresses to about a kilobyte; `head-sha` may hold 1 KiB.
        let zeros = vec![b'0'; 1024 * 1024];
        let z = zip_of(&[("head-sha", &zeros), ("comparison.json", b"{}")]);
        assert!(z.len() < 10 * 1024, "{} bytes", z.len());
        assert_eq!(
            read_archive(&z).unwrap_err(),
            ArchiveError::TooLarge {
                name: "head-sha",
                limit: MAX_HEAD_SHA_BYTES
            }
        );
    }

    #[test]
    fn a_header_that_understates_the_size_does_not_get_past_the_limit() {
        // Claim 10 bytes, in the local header and in the central directory,
        // for an entry that inflates to 1 MiB.
        let zeros = vec![b'0'; 1024 * 1024];
        let mut z = zip_of(&[("head-sha", &zeros), ("comparison.json", b"{}")]);
        let fake = 10u32.to_le_bytes();
        let find = |z: &[u8], sig: [u8; 4]| z.windows(4).position(|w| w == sig).unwrap();
        // Uncompressed size: offset 22 of a local file header, 24 of a
        // central directory header (APPNOTE 4.3.7 and 4.3.12).
        let local = find(&z, [0x50, 0x4b, 0x03, 0x04]);
        z[local + 22..local + 26].copy_from_slice(&fake);
        let central = find(&z, [0x50, 0x4b, 0x01, 0x02]);
        z[central + 24..central + 28].copy_from_slice(&fake);
        let err = read_archive(&z).unwrap_err();
        // Either the reader notices the lie, or it stops at the claimed size:
        // it never hands back more than the limit.
        assert!(
            matches!(
                err,
                ArchiveError::Entry { .. }
                    | ArchiveError::HeadSha(_)
                    | ArchiveError::TooLarge { .. }
            ),
            "{err}"
        );
    }
}
