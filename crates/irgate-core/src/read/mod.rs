//! Reading benchmark results: summary schemas v3 to v7 (iai-callgrind 0.14 to 0.16,
//! Gungraun 0.17 to 0.20; the `summary` module says which writes which), and the
//! one-object-per-line stream of `cargo bench -- --output-format=json`.
//!
//! Layout this module expects (both tools write it; only the file name matters here):
//!
//! ```text
//! target/gungraun/<package>/<bench>/<group>/<function>[.<id>]/summary.json   (v6, v7)
//! target/iai/<package>/<bench>/<group>/<function>[.<id>]/summary.json        (v3–v6)
//! ```
//!
//! Any number of files and directories can be given (shards of a CI matrix); their
//! results are merged, and a benchmark that appears twice is an error. Every error
//! names the file it came from.
//!
//! The modules: `summary` mirrors the schema versions, `find` searches directories and
//! reads what it finds on a few threads, and `id` derives a benchmark's id and source
//! file from its summary.

mod find;
mod id;
mod stream;
mod summary;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::{BenchId, BenchIdError, BenchResult, Environment, Run};
use find::find_and_read;
use id::SourceCache;
use summary::Summary;

/// Largest summary file read, in bytes (a summary is a few KiB; a stream a few MiB).
pub const MAX_SUMMARY_BYTES: u64 = 256 * 1024 * 1024;

/// Why results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_SUMMARY_BYTES`].
    #[error(
        "{path}: {size} bytes is larger than the {MAX_SUMMARY_BYTES} bytes allowed for a summary"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// Not valid JSON (truncated, malformed).
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: Box<str>,
    },
    /// The summary declares a schema version this build does not read.
    #[error(
        "{path}: unsupported summary schema version {version:?}; irgate reads {}",
        summary::SUPPORTED
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found (`<none>` when absent). The message also lists the versions
        /// read and the harness versions that write them.
        version: String,
    },
    /// Valid JSON, but not a summary of a known shape.
    #[error("{path}: benchmark {bench}: {message}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// Which benchmark (module path or `?`).
        bench: String,
        /// What is wrong.
        message: String,
    },
    /// A benchmark id could not be derived.
    #[error("{path}: cannot derive a benchmark id: {source}")]
    Id {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: BenchIdError,
    },
    /// The same benchmark appears twice (e.g. in two shards).
    #[error("benchmark {id} appears twice: in {first} and in {second}")]
    Duplicate {
        /// The benchmark.
        id: String,
        /// Where it was seen first.
        first: Box<PathBuf>,
        /// Where it was seen again.
        second: Box<PathBuf>,
    },
    /// A directory holds no `summary.json`.
    #[error("{0}: no summary.json found below this directory (did the benchmarks run with --save-summary=json?)")]
    NoSummaries(PathBuf),
    /// Nothing was given or nothing was found.
    #[error("the run is empty: no benchmark results were found in the given paths")]
    Empty,
}

/// Options for reading results.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The repository root, used to express bench source files relative to it.
    /// When `None`, a source file is kept only if the summary gives it relative.
    pub repo_root: Option<PathBuf>,
}

/// One benchmark result as read, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// The benchmark.
    pub id: BenchId,
    /// Its metrics and source file.
    pub result: BenchResult,
    /// The file it was read from (a `summary.json`, or the stream that held it).
    pub file: PathBuf,
    /// How long the benchmark took to run, in nanoseconds (`duration_ns`; Gungraun v7
    /// summaries carry it, v3 to v6 ones do not).
    pub duration_ns: Option<u64>,
    /// When the benchmark started, as the summary gives it (`started_at`, RFC 3339;
    /// Gungraun v7 summaries carry it, v3 to v6 ones do not).
    pub started_at: Option<String>,
}

/// Reads results from files and directories (directories are searched for
/// `summary.json`), sorted by id. Fails on an empty run, any unreadable summary and
/// duplicate ids.
pub fn read_results(
    paths: &[PathBuf],
    options: &ReadOptions,
) -> Result<Vec<ReadResult>, ReadError> {
    let parsed = find_and_read(paths, options)?;
    let mut all: Vec<ReadResult> = Vec::new();
    for result in parsed {
        all.extend(result?);
    }
    if all.is_empty() {
        return Err(ReadError::Empty);
    }
    // Stable: of two equal ids, the one from the earlier file comes first.
    all.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = all.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(ReadError::Duplicate {
            id: pair[0].id.to_string(),
            first: Box::new(pair[0].file.clone()),
            second: Box::new(pair[1].file.clone()),
        });
    }
    Ok(all)
}

/// Reads and merges results from files and directories into a [`Run`] with the given
/// environment. Fails on an empty run, any unreadable summary and duplicate ids.
pub fn read_paths(
    paths: &[PathBuf],
    environment: Environment,
    options: &ReadOptions,
) -> Result<Run, ReadError> {
    let all = read_results(paths, options)?;
    Ok(Run {
        environment,
        // Built from sorted, distinct keys in one pass.
        benchmarks: all.into_iter().map(|r| (r.id, r.result)).collect(),
    })
}

/// The benchmarks' files of a run, by id: the `summary.json` (or stream) each was
/// read from, beside which Gungraun leaves its Callgrind outputs.
pub type RunFiles = std::collections::BTreeMap<BenchId, PathBuf>;

/// [`read_paths`], with the file each benchmark was read from.
pub fn read_paths_with_files(
    paths: &[PathBuf],
    environment: Environment,
    options: &ReadOptions,
) -> Result<(Run, RunFiles), ReadError> {
    let all = read_results(paths, options)?;
    let files = all.iter().map(|r| (r.id.clone(), r.file.clone())).collect();
    let run = Run {
        environment,
        benchmarks: all.into_iter().map(|r| (r.id, r.result)).collect(),
    };
    Ok((run, files))
}

/// The results of one file, in file order.
type FileResult = Result<Vec<ReadResult>, ReadError>;

/// Drops what only [`read_results`] reports.
fn pairs(results: Vec<ReadResult>) -> Vec<(BenchId, BenchResult)> {
    results.into_iter().map(|r| (r.id, r.result)).collect()
}

/// Reads one file: a single summary or a stream of summaries.
pub fn read_file(
    path: &Path,
    options: &ReadOptions,
) -> Result<Vec<(BenchId, BenchResult)>, ReadError> {
    read_file_into(path, options, &mut SourceCache::new(), &mut Vec::new()).map(pairs)
}

/// Reads `path` into `buf` (cleared first, its capacity reused) and parses it. Only the
/// first file read into a buffer is `stat`ed (to size the buffer); the size limit is
/// also checked on the bytes read, so later summaries cost open, read, read (end of
/// file) and close.
fn read_file_into(
    path: &Path,
    options: &ReadOptions,
    cache: &mut SourceCache,
    buf: &mut Vec<u8>,
) -> FileResult {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    buf.clear();
    if buf.capacity() == 0 {
        // The first file read into this buffer (and the only one of a stream): size it
        // once instead of growing it by doubling.
        let size = file.metadata().map_err(io)?.len();
        if size > MAX_SUMMARY_BYTES {
            return Err(ReadError::TooLarge {
                path: path.to_owned(),
                size,
            });
        }
        buf.reserve_exact(usize::try_from(size).unwrap_or(0).saturating_add(1));
    }
    // One byte more than allowed tells a file at the limit from one above it, and
    // bounds the read even if the file grows while being read.
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut file, MAX_SUMMARY_BYTES + 1),
        buf,
    )
    .map_err(io)?;
    let read = buf.len() as u64;
    if read > MAX_SUMMARY_BYTES {
        // The error path only: report the size the file has, not the bytes read.
        let size = file.metadata().map_or(read, |m| m.len().max(read));
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    parse_with(path, buf, options, cache)
}

/// Parses summary text (one object, or a stream of objects); `path` names it in errors.
pub fn parse_text(
    path: &Path,
    text: &str,
    options: &ReadOptions,
) -> Result<Vec<(BenchId, BenchResult)>, ReadError> {
    parse_bytes(path, text.as_bytes(), options)
}

/// [`parse_text`] on raw bytes (invalid UTF-8 is reported as invalid JSON).
pub fn parse_bytes(
    path: &Path,
    bytes: &[u8],
    options: &ReadOptions,
) -> Result<Vec<(BenchId, BenchResult)>, ReadError> {
    parse_with(path, bytes, options, &mut SourceCache::new()).map(pairs)
}

/// Parses one summary or a stream: a large stream in parts ([`stream`]), else in one pass.
fn parse_with(
    path: &Path,
    bytes: &[u8],
    options: &ReadOptions,
    cache: &mut SourceCache,
) -> FileResult {
    if let Some(out) = stream::parse_in_parts(path, bytes, options) {
        return Ok(out);
    }
    parse_sequential(path, bytes, options, cache)
}

/// Parses one summary, or a stream of them, in one pass.
fn parse_sequential(
    path: &Path,
    bytes: &[u8],
    options: &ReadOptions,
    cache: &mut SourceCache,
) -> FileResult {
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Summary<'_>>();
    for summary in stream {
        let summary = summary.map_err(|e| ReadError::Json {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string().into(),
        })?;
        out.push(convert(path, &summary, options, cache)?);
    }
    if out.is_empty() {
        return Err(ReadError::Json {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "the file holds no JSON value".into(),
        });
    }
    Ok(out)
}

fn convert(
    path: &Path,
    s: &Summary<'_>,
    options: &ReadOptions,
    cache: &mut SourceCache,
) -> Result<ReadResult, ReadError> {
    let module_path = s.module_path.as_deref().unwrap_or("?");
    let shape = |message: String| ReadError::Shape {
        path: path.to_owned(),
        bench: module_path.to_owned(),
        message,
    };
    let version = match &s.version {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None => "<none>".to_owned(),
    };
    let metrics = match version.as_str() {
        "7" => summary::metrics_v7(s).map_err(shape)?,
        "4" | "5" | "6" => summary::metrics_v4_to_v6(s, &version).map_err(shape)?,
        "3" => summary::metrics_v3(s).map_err(shape)?,
        _ => {
            return Err(ReadError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            })
        }
    };
    if metrics.ir().is_none() {
        return Err(shape("no Callgrind `Ir` value in the summary".into()));
    }
    let id = id::bench_id(path, s, shape)?;
    let source_file = id::cached_source_file(s, options, cache);
    Ok(ReadResult {
        id,
        result: BenchResult {
            metrics,
            source_file,
        },
        file: path.to_owned(),
        duration_ns: s.duration_ns.as_ref().and_then(Value::as_u64),
        started_at: match &s.started_at {
            Some(Value::String(t)) => Some(t.clone()),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// `n` distinct summaries made from the real `compute/scaled` one, one per line,
    /// with `sep` put after every `"data":` (a raw newline before a nested `{` when
    /// `sep` is `"\n"`).
    fn stream(n: usize, sep: &str) -> String {
        let mut out = String::new();
        for i in 0..n {
            out.push_str(&summary(i, sep));
            out.push('\n');
        }
        out
    }

    /// The `i`th summary of [`stream`], on its own.
    fn summary(i: usize, sep: &str) -> String {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| {
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/v7/irgate-fixture-bench/fixture/compute/scaled/summary.json"
            ))
            .unwrap()
        });
        text.trim()
            .replace(
                "\"function_name\":\"scaled\"",
                &format!("\"function_name\":\"f{i}\""),
            )
            .replace("compute::scaled", &format!("compute::f{i}"))
            .replace("compute/scaled", &format!("compute/f{i}"))
            .replace("\"data\":", &format!("\"data\":{sep}"))
    }

    fn ids(v: &[(BenchId, BenchResult)]) -> Vec<String> {
        v.iter().map(|(id, _)| id.to_string()).collect()
    }

    #[test]
    fn a_stream_read_in_one_pass_equals_its_summaries_read_one_by_one() {
        let opts = ReadOptions::default();
        for sep in ["", "\n"] {
            // With "\n" a summary spans two lines, so lines and summaries differ.
            let text = stream(1_000, sep);
            assert!(text.len() >= 4 * 1024 * 1024, "make the stream larger");
            let path = Path::new("s.jsonl");
            let all = parse_bytes(path, text.as_bytes(), &opts).unwrap();
            let one_by_one: Vec<(BenchId, BenchResult)> = (0..1_000)
                .flat_map(|i| {
                    let one = summary(i, sep);
                    parse_bytes(path, one.as_bytes(), &opts).unwrap()
                })
                .collect();
            assert_eq!(all.len(), 1_000);
            assert_eq!(ids(&all), ids(&one_by_one));
            assert_eq!(
                all.iter().map(|(_, b)| b.metrics.ir()).collect::<Vec<_>>(),
                one_by_one
                    .iter()
                    .map(|(_, b)| b.metrics.ir())
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn an_error_late_in_a_stream_keeps_its_line_and_column() {
        let text = stream(1_000, "");
        let mut lines: Vec<&str> = text.lines().collect();
        lines[900] = "{\"version\": \"7\", oops}";
        let bad = lines.join("\n");
        let e = parse_bytes(
            Path::new("s.jsonl"),
            bad.as_bytes(),
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("s.jsonl:901:18:"), "{e}");
    }

    #[test]
    fn an_oversized_first_file_is_refused_before_it_is_read() {
        // The size check runs on the bytes read as well; here the cheap path is shown.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_SUMMARY_BYTES + 1).unwrap();
        let e = read_file(&p, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(e, ReadError::TooLarge { size, .. } if size == MAX_SUMMARY_BYTES + 1),
            "{e}"
        );
    }

    /// `n` summaries as `<root>/pkg/fixture/compute/f<i>/summary.json`.
    fn tree(root: &Path, n: usize) {
        let text = stream(n, "");
        for (i, line) in text.lines().enumerate() {
            let d = root.join(format!("pkg/fixture/compute/f{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("summary.json"), line).unwrap();
        }
    }

    #[test]
    fn many_summaries_read_while_searching_equal_a_stream_of_them() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path(), 1_000);
        let opts = ReadOptions::default();
        let run = read_paths(&[dir.path().to_owned()], Environment::default(), &opts).unwrap();
        let text = stream(1_000, "");
        let mut want = ids(&parse_bytes(Path::new("s"), text.as_bytes(), &opts).unwrap());
        want.sort();
        let got: Vec<String> = run.benchmarks.keys().map(ToString::to_string).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn errors_among_many_summaries_name_the_first_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path(), 300);
        let opts = ReadOptions::default();
        // Entries are read in name order: f250 comes before f260.
        let bad = |i: usize| {
            dir.path()
                .join(format!("pkg/fixture/compute/f{i}/summary.json"))
        };
        std::fs::write(bad(260), "{").unwrap();
        std::fs::write(bad(250), "[]").unwrap();
        let e = read_paths(&[dir.path().to_owned()], Environment::default(), &opts).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:1:", bad(250).display())),
            "{e}"
        );
        // A search error wins over reading, even with batches already read.
        std::fs::remove_file(bad(290)).unwrap();
        std::fs::create_dir(bad(290)).unwrap();
        let e = read_paths(&[dir.path().to_owned()], Environment::default(), &opts).unwrap_err();
        assert!(
            matches!(&e, ReadError::Io { path, .. } if *path == bad(290)),
            "{e}"
        );
    }

    #[test]
    fn a_duplicate_among_many_shards_names_both_files() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        tree(a.path(), 200);
        tree(b.path(), 3);
        let opts = ReadOptions::default();
        let e = read_paths(
            &[a.path().to_owned(), b.path().to_owned()],
            Environment::default(),
            &opts,
        )
        .unwrap_err();
        let ReadError::Duplicate { first, second, .. } = e else {
            panic!("{e}");
        };
        assert!(first.starts_with(a.path()), "{first:?}");
        assert!(second.starts_with(b.path()), "{second:?}");
    }
}
