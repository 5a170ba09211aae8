//! Writing several baseline files as one change: either every file is replaced or
//! none is, even when the process is killed in the middle.
//!
//! One rename per file makes each file atomic on its own (a reader sees the old file
//! or the new one, whole), but an accept that writes several files and is killed
//! between two renames would leave some suites accepted and others not. So the files
//! go through a journal in the baseline directory:
//!
//! 1. every new file is written beside its target as `.<name>.irgate-new`, and synced;
//! 2. the journal, `.irgate-accept.toml`, is written (through its own temporary file
//!    and rename) naming each target and the SHA-256 of its new contents: this is the
//!    moment the accept is decided;
//! 3. each `.irgate-new` file is renamed over its target;
//! 4. the journal is removed.
//!
//! What is left after a kill:
//!
//! - before step 2: the old files, untouched, and some `.irgate-new` files, which
//!   no reader looks at. [`recover`] removes them: the accept did not happen.
//! - from step 2 until step 4 is done: the journal. Readers ([`load_dir`]) refuse the
//!   directory while it is there, naming it, because the set may be half replaced;
//!   [`recover`] (`irgate baseline recover`, and every `irgate accept` before it
//!   starts) finishes the renames, checking each file against its recorded hash,
//!   and removes the journal: the accept happened, whole.
//!
//! Recovery is itself safe to kill and to repeat. Every baseline file, at every
//! moment, is either its old version or its new one, whole and parseable.
//!
//! [`load_dir`]: crate::baseline::load_dir

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::baseline::BaselineError;

/// The journal's file name, in the baseline directory.
pub const JOURNAL_FILE: &str = ".irgate-accept.toml";

/// The suffix of a new file waiting for its rename (after a leading dot).
const STAGED_SUFFIX: &str = ".irgate-new";

/// The journal on disk: the files an accept is replacing.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    /// Version of this format.
    schema_version: u32,
    /// The files, in the order they are renamed.
    file: Vec<JournalEntry>,
}

/// One file of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalEntry {
    /// The target, relative to the baseline directory (`/`-separated).
    path: String,
    /// SHA-256 of the new contents, lower-case hex.
    sha256: String,
}

const JOURNAL_SCHEMA_VERSION: u32 = 1;

/// What [`recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Files an interrupted accept had decided to write, now in place (relative to the
    /// baseline directory). Empty when there was no journal.
    pub finished: Vec<PathBuf>,
    /// Staged files of an accept interrupted before it was decided, now removed.
    pub discarded: Vec<PathBuf>,
}

impl Recovery {
    /// True when there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.discarded.is_empty()
    }
}

/// Whether an interrupted accept's journal is in `dir`. Readers refuse such a
/// directory: some of its files may be replaced and others not yet.
pub fn check_no_journal(dir: &Path) -> Result<(), BaselineError> {
    let journal = dir.join(JOURNAL_FILE);
    if journal.exists() {
        return Err(BaselineError::Interrupted { journal });
    }
    Ok(())
}

/// Replaces the files `(path relative to dir, contents)` in `dir` as one change, as
/// the module documentation describes. Refuses when a journal is already there (run
/// [`recover`] first).
pub fn write_files(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), BaselineError> {
    check_no_journal(dir)?;
    if files.is_empty() {
        return Ok(());
    }
    let mut entries = Vec::with_capacity(files.len());
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (rel, bytes) in files {
        let target = target_path(dir, rel)?;
        let parent = parent_of(&target);
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let staged = staged_path(&target)?;
        write_synced(&staged, bytes, &target)?;
        if !dirs.contains(&parent) {
            dirs.push(parent);
        }
        entries.push(JournalEntry {
            path: slash_path(rel)?,
            sha256: sha256_hex(bytes),
        });
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    let journal = Journal {
        schema_version: JOURNAL_SCHEMA_VERSION,
        file: entries,
    };
    let text = toml::to_string(&journal).map_err(|e| BaselineError::Journal {
        path: dir.join(JOURNAL_FILE),
        message: format!("cannot write it as TOML: {e}"),
    })?;
    let text = format!(
        "# irgate: an accept is replacing these files. If it was interrupted, run\n\
         # `irgate baseline recover` to finish it.\n{text}"
    );
    crate::baseline::write_atomic(&dir.join(JOURNAL_FILE), text.as_bytes())?;
    sync_dir(dir)?;
    finish(dir, &journal, Staged::JustWritten)?;
    Ok(())
}

/// Finishes or discards whatever an interrupted [`write_files`] left in `dir`: with a
/// journal, renames the staged files it names into place (each checked against its
/// hash) and removes it; without one, removes staged files. Safe to repeat and to
/// interrupt. A directory that does not exist has nothing to recover.
pub fn recover(dir: &Path) -> Result<Recovery, BaselineError> {
    let mut recovery = Recovery::default();
    if !dir.exists() {
        return Ok(recovery);
    }
    let journal_path = dir.join(JOURNAL_FILE);
    if journal_path.exists() {
        let text = std::fs::read_to_string(&journal_path).map_err(io(&journal_path))?;
        let journal: Journal = toml::from_str(&text).map_err(|e| BaselineError::Journal {
            path: journal_path.clone(),
            message: format!("{e} (it is written whole or not at all, so this is not one irgate wrote; move it away and re-run `irgate accept`)"),
        })?;
        if journal.schema_version != JOURNAL_SCHEMA_VERSION {
            return Err(BaselineError::Journal {
                path: journal_path,
                message: format!(
                    "schema_version {} (this irgate reads {JOURNAL_SCHEMA_VERSION})",
                    journal.schema_version
                ),
            });
        }
        finish(dir, &journal, Staged::Left)?;
        recovery.finished = journal
            .file
            .iter()
            .map(|e| PathBuf::from(&e.path))
            .collect();
    }
    for staged in staged_files(dir)? {
        std::fs::remove_file(&staged).map_err(io(&staged))?;
        recovery
            .discarded
            .push(staged.strip_prefix(dir).unwrap_or(&staged).to_owned());
    }
    Ok(recovery)
}

/// What [`finish`] knows of the staged files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Staged {
    /// This process wrote and synced them a moment ago: rename them.
    JustWritten,
    /// An interrupted accept left them: check each against its hash first.
    Left,
}

/// Steps 3 and 4: the renames, then the journal's removal. A target already holding
/// its new contents (a rename done before a kill) is left as it is.
fn finish(dir: &Path, journal: &Journal, origin: Staged) -> Result<(), BaselineError> {
    let journal_path = dir.join(JOURNAL_FILE);
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in &journal.file {
        let target =
            target_path(dir, Path::new(&entry.path)).map_err(|_| BaselineError::Journal {
                path: journal_path.clone(),
                message: format!(
                    "path {:?} is not a file inside the baseline directory",
                    entry.path
                ),
            })?;
        let staged = staged_path(&target)?;
        let parent = parent_of(&target);
        if origin == Staged::JustWritten {
            std::fs::rename(&staged, &target).map_err(io(&target))?;
        } else if staged.exists() {
            let bytes = std::fs::read(&staged).map_err(io(&staged))?;
            if sha256_hex(&bytes) != entry.sha256 {
                return Err(BaselineError::Journal {
                    path: journal_path,
                    message: format!(
                        "{} does not hold the contents the journal records for {}; \
                         nothing was renamed over it",
                        staged.display(),
                        entry.path
                    ),
                });
            }
            std::fs::rename(&staged, &target).map_err(io(&target))?;
        } else {
            let current = std::fs::read(&target).ok();
            if current.as_deref().map(sha256_hex).as_deref() != Some(entry.sha256.as_str()) {
                return Err(BaselineError::Journal {
                    path: journal_path,
                    message: format!(
                        "neither {} nor {} holds the contents the journal records",
                        staged.display(),
                        target.display()
                    ),
                });
            }
        }
        if !dirs.contains(&parent) {
            dirs.push(parent);
        }
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    std::fs::remove_file(&journal_path).map_err(io(&journal_path))?;
    sync_dir(dir)?;
    Ok(())
}

/// The staged files (`.*.irgate-new`) in `dir` and its package directories.
fn staged_files(dir: &Path) -> Result<Vec<PathBuf>, BaselineError> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_type().map_err(io(&entry.path()))?.is_dir() {
            dirs.push(entry.path());
        }
    }
    for d in dirs {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let entry = entry.map_err(io(&d))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(STAGED_SUFFIX) {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `dir/rel`, refusing a `rel` that is absolute or leaves `dir`.
fn target_path(dir: &Path, rel: &Path) -> Result<PathBuf, BaselineError> {
    use std::path::Component;
    let ok =
        rel.components().count() > 0 && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !ok {
        return Err(BaselineError::Journal {
            path: dir.join(JOURNAL_FILE),
            message: format!(
                "{} is not a file inside the baseline directory",
                rel.display()
            ),
        });
    }
    Ok(dir.join(rel))
}

fn staged_path(target: &Path) -> Result<PathBuf, BaselineError> {
    let name = target
        .file_name()
        .ok_or_else(|| BaselineError::Journal {
            path: target.to_owned(),
            message: "has no file name".into(),
        })?
        .to_string_lossy();
    Ok(parent_of(target).join(format!(".{name}{STAGED_SUFFIX}")))
}

fn slash_path(rel: &Path) -> Result<String, BaselineError> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| BaselineError::Journal {
            path: rel.to_owned(),
            message: "is not valid UTF-8".into(),
        })
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `staged` (replacing it), with the permissions of `target` (or
/// 0644), and syncs it.
fn write_synced(staged: &Path, bytes: &[u8], target: &Path) -> Result<(), BaselineError> {
    let mut f = std::fs::File::create(staged).map_err(io(staged))?;
    f.write_all(bytes).map_err(io(staged))?;
    crate::baseline::set_permissions_of(&f, target).map_err(io(staged))?;
    f.sync_all().map_err(io(staged))?;
    Ok(())
}

/// Makes a directory's entries (renames, new files) durable. A no-op where
/// directories cannot be opened as files.
fn sync_dir(dir: &Path) -> Result<(), BaselineError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BaselineError {
    let path = path.to_owned();
    move |source| BaselineError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize, tag: &str) -> Vec<(PathBuf, Vec<u8>)> {
        (0..n)
            .map(|i| {
                (
                    PathBuf::from(format!("pkg{}/b{i}.toml", i % 2)),
                    format!("{tag} {i}\n").into_bytes(),
                )
            })
            .collect()
    }

    fn read_all(dir: &Path, n: usize) -> Vec<String> {
        files(n, "")
            .iter()
            .map(|(rel, _)| std::fs::read_to_string(dir.join(rel)).unwrap_or_default())
            .collect()
    }

    #[test]
    fn writes_every_file_and_leaves_no_journal_or_staged_file() {
        let t = tempfile::tempdir().unwrap();
        write_files(t.path(), &files(3, "old")).unwrap();
        write_files(t.path(), &files(3, "new")).unwrap();
        assert_eq!(read_all(t.path(), 3), ["new 0\n", "new 1\n", "new 2\n"]);
        assert!(!t.path().join(JOURNAL_FILE).exists());
        assert!(staged_files(t.path()).unwrap().is_empty());
        assert!(recover(t.path()).unwrap().is_empty());
    }

    /// Replays an interrupted write: the staged files, then (when `decided`) the
    /// journal, then the first `renamed` renames, as a kill would leave them.
    fn interrupted(dir: &Path, new: &[(PathBuf, Vec<u8>)], decided: bool, renamed: usize) {
        for (rel, bytes) in new {
            let target = dir.join(rel);
            write_synced(&staged_path(&target).unwrap(), bytes, &target).unwrap();
        }
        if decided {
            let journal = Journal {
                schema_version: JOURNAL_SCHEMA_VERSION,
                file: new
                    .iter()
                    .map(|(rel, b)| JournalEntry {
                        path: slash_path(rel).unwrap(),
                        sha256: sha256_hex(b),
                    })
                    .collect(),
            };
            std::fs::write(dir.join(JOURNAL_FILE), toml::to_string(&journal).unwrap()).unwrap();
        }
        for (rel, _) in new.iter().take(renamed) {
            let target = dir.join(rel);
            std::fs::rename(staged_path(&target).unwrap(), &target).unwrap();
        }
    }

    #[test]
    fn a_kill_before_the_journal_leaves_the_old_files_and_recovery_discards_the_rest() {
        let t = tempfile::tempdir().unwrap();
        write_files(t.path(), &files(3, "old")).unwrap();
        interrupted(t.path(), &files(3, "new"), false, 0);
        check_no_journal(t.path()).unwrap();
        assert_eq!(read_all(t.path(), 3), ["old 0\n", "old 1\n", "old 2\n"]);
        let r = recover(t.path()).unwrap();
        assert!(r.finished.is_empty());
        assert_eq!(r.discarded.len(), 3);
        assert_eq!(read_all(t.path(), 3), ["old 0\n", "old 1\n", "old 2\n"]);
        assert!(staged_files(t.path()).unwrap().is_empty());
    }

    #[test]
    fn a_kill_after_the_journal_is_refused_by_readers_and_recovery_finishes_it() {
        for renamed in 0..=3 {
            let t = tempfile::tempdir().unwrap();
            write_files(t.path(), &files(3, "old")).unwrap();
            interrupted(t.path(), &files(3, "new"), true, renamed);
            let e = check_no_journal(t.path()).unwrap_err().to_string();
            assert!(
                e.contains(JOURNAL_FILE) && e.contains("irgate baseline recover"),
                "{e}"
            );
            let r = recover(t.path()).unwrap();
            assert_eq!(r.finished.len(), 3, "after {renamed} renames");
            assert_eq!(read_all(t.path(), 3), ["new 0\n", "new 1\n", "new 2\n"]);
            check_no_journal(t.path()).unwrap();
            // Repeating it finds nothing more.
            assert!(recover(t.path()).unwrap().is_empty());
        }
    }

    #[test]
    fn a_staged_file_that_does_not_match_its_hash_is_not_renamed() {
        let t = tempfile::tempdir().unwrap();
        write_files(t.path(), &files(2, "old")).unwrap();
        interrupted(t.path(), &files(2, "new"), true, 0);
        let staged = staged_path(&t.path().join("pkg1/b1.toml")).unwrap();
        std::fs::write(&staged, "tampered\n").unwrap();
        let e = recover(t.path()).unwrap_err().to_string();
        assert!(e.contains(JOURNAL_FILE) && e.contains("b1.toml"), "{e}");
        assert_eq!(
            std::fs::read_to_string(t.path().join("pkg1/b1.toml")).unwrap(),
            "old 1\n"
        );
    }

    #[test]
    fn a_corrupt_journal_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join(JOURNAL_FILE), "schema_version = [").unwrap();
        let e = recover(t.path()).unwrap_err().to_string();
        assert!(e.contains(JOURNAL_FILE), "{e}");
    }

    #[test]
    fn a_path_leaving_the_directory_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let e = write_files(t.path(), &[(PathBuf::from("../x.toml"), b"x".to_vec())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a file inside"), "{e}");
    }
}
