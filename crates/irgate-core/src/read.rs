//! Reading benchmark results: Gungraun summary schema v7, iai-callgrind schema v6, and
//! the one-object-per-line stream of `cargo bench -- --output-format=json`.
//!
//! Layout this module expects (both tools write it; only the file name matters here):
//!
//! ```text
//! target/gungraun/<package>/<bench>/<group>/<function>[.<id>]/summary.json   (v7)
//! target/iai/<package>/<bench>/<group>/<function>[.<id>]/summary.json        (v6)
//! ```
//!
//! Any number of files and directories can be given (shards of a CI matrix); their
//! results are merged, and a benchmark that appears twice is an error. Every error
//! names the file it came from.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::model::{BenchId, BenchIdError, BenchResult, Environment, Metrics, Run};

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
    #[error("{path}: unsupported summary schema version {version:?} (irgate reads Gungraun v7 and iai-callgrind v6)")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found (`<none>` when absent).
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
    /// summaries carry it, v6 ones do not).
    pub duration_ns: Option<u64>,
    /// When the benchmark started, as the summary gives it (`started_at`, RFC 3339;
    /// Gungraun v7 summaries carry it, v6 ones do not).
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

/// The results of one file, in file order.
type FileResult = Result<Vec<ReadResult>, ReadError>;

/// Drops what only [`read_results`] reports.
fn pairs(results: Vec<ReadResult>) -> Vec<(BenchId, BenchResult)> {
    results.into_iter().map(|r| (r.id, r.result)).collect()
}

/// Summaries handed to a reader thread at a time.
const BATCH: usize = 32;

/// Files found so far, and the readers they are handed to in batches as they are found.
struct Found<'q> {
    files: Vec<PathBuf>,
    /// How many of `files` have been handed out.
    sent: usize,
    queue: &'q Queue,
}

/// Batches of `(index of the first file, files)` waiting for a reader; `None` once the
/// search is over.
type Queue = std::sync::Mutex<Option<std::sync::mpsc::Receiver<(usize, Vec<PathBuf>)>>>;

impl<'q> Found<'q> {
    fn push(&mut self, file: PathBuf, tx: &mut Sender<'_, 'q>) {
        self.files.push(file);
        if self.files.len() - self.sent >= BATCH {
            self.flush(tx);
        }
    }

    fn flush(&mut self, tx: &mut Sender<'_, 'q>) {
        if self.sent < self.files.len() {
            let batch = self.files[self.sent..].to_vec();
            // The readers only stop when the sender is gone, so this cannot fail.
            let _ = tx.send(self.sent, batch, self.queue);
            self.sent = self.files.len();
        }
    }
}

/// The sending side of [`Queue`], which starts the reader threads with the first batch.
struct Sender<'scope, 'env> {
    tx: Option<std::sync::mpsc::Sender<(usize, Vec<PathBuf>)>>,
    scope: &'scope std::thread::Scope<'scope, 'env>,
    readers: Vec<std::thread::ScopedJoinHandle<'scope, Vec<(usize, FileResult)>>>,
    options: &'env ReadOptions,
}

impl<'scope, 'env> Sender<'scope, 'env> {
    fn send(
        &mut self,
        start: usize,
        batch: Vec<PathBuf>,
        queue: &'env Queue,
    ) -> Result<(), std::sync::mpsc::SendError<(usize, Vec<PathBuf>)>> {
        if self.tx.is_none() {
            let (tx, rx) = std::sync::mpsc::channel();
            if let Ok(mut q) = queue.lock() {
                *q = Some(rx);
            }
            self.tx = Some(tx);
            let threads = std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .clamp(1, 8);
            for _ in 0..threads {
                let options = self.options;
                self.readers
                    .push(self.scope.spawn(move || read_batches(queue, options)));
            }
        }
        match &self.tx {
            Some(tx) => tx.send((start, batch)),
            None => Err(std::sync::mpsc::SendError((start, batch))),
        }
    }
}

/// Takes batches from `queue` until it is closed and empty, reading each file; one
/// source cache and one read buffer serve all the files this thread reads (every
/// summary of a bench target names the same source file, and summaries are of
/// similar size).
fn read_batches(queue: &Queue, options: &ReadOptions) -> Vec<(usize, FileResult)> {
    let mut cache = SourceCache::new();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        let next = match queue.lock() {
            Ok(q) => match q.as_ref() {
                Some(rx) => rx.recv().ok(),
                None => None,
            },
            Err(_) => None,
        };
        let Some((start, batch)) = next else {
            return out;
        };
        for (i, f) in batch.iter().enumerate() {
            out.push((start + i, read_file_into(f, options, &mut cache, &mut buf)));
        }
    }
}

/// Finds the files to read (directories are searched for `summary.json`) and reads
/// them, in the order found. Reading starts on a few threads while the search goes on:
/// summaries are many and small, and the search is mostly waiting for the file system.
fn find_and_read(paths: &[PathBuf], options: &ReadOptions) -> Result<Vec<FileResult>, ReadError> {
    let queue: Queue = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        let mut tx = Sender {
            tx: None,
            scope,
            readers: Vec::new(),
            options,
        };
        let mut found = Found {
            files: Vec::new(),
            sent: 0,
            queue: &queue,
        };
        let searched = find_all(paths, &mut found, &mut tx);
        if searched.is_ok() && tx.tx.is_some() {
            // The readers are running: hand them the last, partial batch too.
            found.flush(&mut tx);
        }
        // Close the queue: the readers finish what is queued, then stop.
        let readers = std::mem::take(&mut tx.readers);
        let Found { files, sent, .. } = found;
        drop(tx);
        let mut parsed: Vec<Option<FileResult>> = Vec::new();
        parsed.resize_with(files.len(), || None);
        for h in readers {
            // A reader that panicked leaves its files unread; they are reported below.
            if let Ok(results) = h.join() {
                for (i, r) in results {
                    parsed[i] = Some(r);
                }
            }
        }
        searched?;
        // Too few files for a batch: read here.
        let mut cache = SourceCache::new();
        let mut buf = Vec::new();
        for (i, f) in files.iter().enumerate().skip(sent) {
            parsed[i] = Some(read_file_into(f, options, &mut cache, &mut buf));
        }
        let parsed = parsed
            .into_iter()
            .zip(&files)
            .map(|(r, f)| {
                // A panic while parsing is a bug; report it against the file, never pass.
                r.unwrap_or_else(|| {
                    Err(ReadError::Shape {
                        path: f.clone(),
                        bench: "?".into(),
                        message: "internal error while reading this file".into(),
                    })
                })
            })
            .collect();
        Ok(parsed)
    })
}

/// Adds the files named in `paths`, and the summaries found below the directories among
/// them, to `found`. A directory without any summary is an error.
fn find_all<'q>(
    paths: &[PathBuf],
    found: &mut Found<'q>,
    tx: &mut Sender<'_, 'q>,
) -> Result<(), ReadError> {
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let before = found.files.len();
            find_summaries(path, found, tx)?;
            if found.files.len() == before {
                return Err(ReadError::NoSummaries(path.clone()));
            }
        } else {
            found.push(path.clone(), tx);
        }
    }
    Ok(())
}

/// Collects `summary.json` files below `dir`, sorted. Symbolic links to directories are
/// not followed (no loops); an entry named `summary.json` must resolve to a regular file,
/// and one that does not (a dangling or looping link, a directory, a FIFO) is an error:
/// a result that cannot be read never just goes missing.
fn find_summaries<'q>(
    dir: &Path,
    out: &mut Found<'q>,
    tx: &mut Sender<'_, 'q>,
) -> Result<(), ReadError> {
    let io = |source| ReadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort_by_cached_key(std::fs::DirEntry::file_name);
    for e in entries {
        let path = e.path();
        let ft = e.file_type().map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        if e.file_name() == "summary.json" {
            // Only a link needs a second look (the entry's own type is free).
            let is_file = ft.is_file()
                || (ft.is_symlink()
                    && std::fs::metadata(&path)
                        .map_err(|source| ReadError::Io {
                            path: path.clone(),
                            source,
                        })?
                        .is_file());
            if !is_file {
                return Err(ReadError::Io {
                    path,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "a summary must be a regular file",
                    ),
                });
            }
            out.push(path, tx);
        } else if ft.is_dir() {
            find_summaries(&path, out, tx)?;
        }
    }
    Ok(())
}

/// Reads one file: a single summary or a stream of summaries.
pub fn read_file(
    path: &Path,
    options: &ReadOptions,
) -> Result<Vec<(BenchId, BenchResult)>, ReadError> {
    read_file_into(path, options, &mut SourceCache::new(), &mut Vec::new()).map(pairs)
}

/// Source-file lookups already made: `(project_root, benchmark_file)` → result.
/// Every benchmark of a bench target names the same file, so this saves the
/// filesystem probes of [`source_file`] for all but the first. A run has a handful of
/// bench files, so a list searched without allocating beats a map.
#[derive(Default)]
struct SourceCache(Vec<(Option<String>, String, Option<String>)>);

impl SourceCache {
    fn new() -> Self {
        Self::default()
    }

    fn get_or_insert(
        &mut self,
        root: Option<&str>,
        file: &str,
        make: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        if let Some((_, _, v)) = self
            .0
            .iter()
            .find(|(r, f, _)| r.as_deref() == root && f == file)
        {
            return v.clone();
        }
        let v = make();
        self.0
            .push((root.map(str::to_owned), file.to_owned(), v.clone()));
        v
    }
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
    parse_bytes_with(path, buf, options, cache)
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
    parse_bytes_with(path, bytes, options, &mut SourceCache::new()).map(pairs)
}

/// Streams at least this large are parsed in parts on several threads.
const PARALLEL_STREAM_BYTES: usize = 4 * 1024 * 1024;

fn parse_bytes_with(
    path: &Path,
    bytes: &[u8],
    options: &ReadOptions,
    cache: &mut SourceCache,
) -> FileResult {
    if bytes.len() >= PARALLEL_STREAM_BYTES {
        if let Some(out) = parse_stream_parallel(path, bytes, options) {
            return Ok(out);
        }
    }
    parse_sequential(path, bytes, options, cache)
}

/// Where a stream can be cut into parts: the starts of lines that begin with `{`, near
/// `parts` evenly spaced offsets. A raw newline never occurs inside a JSON string, so a
/// cut falls between two tokens.
fn stream_cuts(bytes: &[u8], parts: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for k in 1..parts {
        let target = (bytes.len() / parts * k).max(cuts[cuts.len() - 1] + 1);
        let Some(rest) = bytes.get(target..) else {
            break;
        };
        match rest.windows(2).position(|w| w == b"\n{") {
            Some(i) => cuts.push(target + i + 1),
            None => break,
        }
    }
    cuts.push(bytes.len());
    cuts
}

/// Parses a large stream in parts on a few threads. Each part starts at a line that
/// begins with `{`; when every part is a complete sequence of summaries, the parts'
/// values are exactly the whole stream's values, in order. Returns `None` when the
/// stream cannot be cut or any part fails: the caller then parses the whole stream in
/// one pass, so what is accepted, and every error and its line and column, are the same
/// as without this.
fn parse_stream_parallel(
    path: &Path,
    bytes: &[u8],
    options: &ReadOptions,
) -> Option<Vec<ReadResult>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8);
    if threads == 1 {
        return None;
    }
    let cuts = stream_cuts(bytes, threads);
    if cuts.len() < 3 {
        return None;
    }
    let parts: Vec<&[u8]> = cuts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| {
                scope.spawn(move || {
                    parse_sequential(path, part, options, &mut SourceCache::new()).ok()
                })
            })
            .collect();
        let mut out = Vec::new();
        let mut complete = true;
        for h in handles {
            match h.join() {
                Ok(Some(results)) if complete => out.extend(results),
                _ => complete = false,
            }
        }
        complete.then_some(out)
    })
}

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

/// The fields of a v6 or v7 summary that irgate uses; everything else is skipped
/// without being built.
#[derive(Deserialize)]
struct Summary<'a> {
    version: Option<Value>,
    #[serde(borrow)]
    module_path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    function_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    group: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    output_dir: Option<Cow<'a, str>>,
    #[serde(borrow)]
    package_dir: Option<Cow<'a, str>>,
    #[serde(borrow)]
    benchmark_file: Option<Cow<'a, str>>,
    #[serde(borrow)]
    project_root: Option<Cow<'a, str>>,
    #[serde(borrow)]
    summary_output: Option<SummaryOutput<'a>>,
    #[serde(borrow)]
    profiles: Option<Vec<Profile<'a>>>,
    /// v7: how long the benchmark ran. Kept as any JSON value, so that a value of
    /// another shape is ignored, not an error.
    duration_ns: Option<Value>,
    /// v7: when the benchmark started (RFC 3339); like `duration_ns`, any shape.
    started_at: Option<Value>,
}

#[derive(Deserialize)]
struct SummaryOutput<'a> {
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Profile<'a> {
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    /// v7.
    #[serde(borrow)]
    data: Option<DataV7<'a>>,
    /// v6.
    summaries: Option<SummariesV6>,
}

#[derive(Deserialize)]
struct DataV7<'a> {
    #[serde(borrow)]
    total: Option<TotalV7<'a>>,
}

#[derive(Deserialize)]
struct TotalV7<'a> {
    #[serde(borrow, default, deserialize_with = "metric_pairs")]
    metrics: Option<MetricPairs<'a>>,
}

/// Metric names with their values, in file order.
type MetricPairs<'a> = Vec<(Cow<'a, str>, MetricV7)>;

/// Reads a JSON object of metrics as `(name, value)` pairs in file order: cheaper than
/// building a map that is only iterated once.
fn metric_pairs<'de, D>(d: D) -> Result<Option<MetricPairs<'de>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Option<MetricPairs<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of metrics")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(32));
            while let Some(k) = map.next_key::<BorrowedName<'de>>()? {
                out.push((k.0, map.next_value()?));
            }
            Ok(Some(out))
        }
    }
    d.deserialize_any(Pairs)
}

/// A metric name, borrowed from the input when it holds no escapes.
#[derive(Deserialize)]
struct BorrowedName<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct MetricV7 {
    values: Option<ValuesV7>,
}

#[derive(Deserialize)]
struct ValuesV7 {
    new: Option<Value>,
}

#[derive(Deserialize)]
struct SummariesV6 {
    total: Option<TotalV6>,
}

#[derive(Deserialize)]
struct TotalV6 {
    summary: Option<BTreeMap<String, BTreeMap<String, MetricV6>>>,
}

#[derive(Deserialize)]
struct MetricV6 {
    metrics: Option<Value>,
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
        "7" => metrics_v7(s).map_err(shape)?,
        "6" => metrics_v6(s).map_err(shape)?,
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
    let id = derive_id(s).map_err(|e| match e {
        IdProblem::Shape(m) => shape(m),
        IdProblem::Id(source) => ReadError::Id {
            path: path.to_owned(),
            source,
        },
    })?;
    let source_file = match &s.benchmark_file {
        Some(file) => {
            cache.get_or_insert(s.project_root.as_deref(), file, || source_file(s, options))
        }
        None => None,
    };
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

enum IdProblem {
    Shape(String),
    Id(BenchIdError),
}

/// Normal path components of `p` as strings.
fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

fn derive_id(s: &Summary<'_>) -> Result<BenchId, IdProblem> {
    let module_path = s
        .module_path
        .as_deref()
        .ok_or_else(|| IdProblem::Shape("missing `module_path`".into()))?;
    let bench = module_path
        .split("::")
        .next()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| IdProblem::Shape(format!("bad `module_path` {module_path:?}")))?;
    let function = s
        .function_name
        .as_deref()
        .or_else(|| module_path.rsplit("::").next())
        .ok_or_else(|| IdProblem::Shape("missing `function_name`".into()))?;
    let group = match &s.group {
        Some(g) => g.clone().into_owned(),
        None => {
            let parts: Vec<&str> = module_path.split("::").collect();
            if parts.len() >= 3 {
                parts[1..parts.len() - 1].join("::")
            } else {
                return Err(IdProblem::Shape(format!(
                    "`module_path` {module_path:?} has no group"
                )));
            }
        }
    };
    let package = package_name(s, bench).ok_or_else(|| {
        IdProblem::Shape(
            "cannot tell the package: neither `output_dir`, `summary_output.path` nor \
             `package_dir` names it"
                .into(),
        )
    })?;
    BenchId::new(
        package,
        bench,
        group,
        function,
        s.id.as_deref().map(str::to_owned),
    )
    .map_err(IdProblem::Id)
}

/// The package name: the directory above `<bench>` in the output layout
/// (`.../<package>/<bench>/<group>/<function>`), else the package directory's name.
fn package_name(s: &Summary<'_>, bench: &str) -> Option<String> {
    let from_layout = |dir: &str| {
        let mut c = components(dir);
        if c.last().is_some_and(|l| l == "summary.json") {
            c.pop();
        }
        // .../<package>/<bench>/<group>/<function>[.<id>]
        let n = c.len();
        if n >= 4 && c[n - 3] == bench {
            Some(c[n - 4].clone())
        } else {
            None
        }
    };
    if let Some(p) = s.output_dir.as_deref().and_then(from_layout) {
        return Some(p);
    }
    if let Some(p) = s
        .summary_output
        .as_ref()
        .and_then(|o| o.path.as_deref())
        .and_then(from_layout)
    {
        return Some(p);
    }
    s.package_dir.as_deref().and_then(|d| components(d).pop())
}

/// The bench source file relative to the repository root, never absolute.
fn source_file(s: &Summary<'_>, options: &ReadOptions) -> Option<String> {
    let file = Path::new(s.benchmark_file.as_deref()?);
    let project_root = s.project_root.as_deref().map(Path::new);
    let absolute = if file.is_absolute() {
        file.to_owned()
    } else {
        match project_root {
            Some(root) => root.join(file),
            None => file.to_owned(),
        }
    };
    if let Some(repo) = &options.repo_root {
        if let Ok(rel) = absolute.strip_prefix(repo) {
            return to_slash(rel);
        }
        // From another machine: the longest suffix that exists below the repo root.
        let parts = components(&absolute.to_string_lossy());
        for start in 0..parts.len() {
            let rel: PathBuf = parts[start..].iter().collect();
            if repo.join(&rel).is_file() {
                return to_slash(&rel);
            }
        }
    }
    if file.is_relative() {
        to_slash(file)
    } else {
        None
    }
}

fn to_slash(p: &Path) -> Option<String> {
    let parts: Vec<String> = p
        .components()
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::CurDir => Some(String::new()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// Names of Callgrind metrics that are ratios, not counts; they are skipped.
fn is_rate(name: &str) -> bool {
    name.ends_with("Rate")
}

/// Converts a count value to `u64`, refusing negative, fractional and non-numbers.
fn count(name: &str, value: &Value) -> Result<Option<u64>, String> {
    if is_rate(name) {
        return Ok(None);
    }
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else if n.as_i64().is_some() {
                Err(format!("metric {name} has a negative count {n}"))
            } else {
                match n.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(Some(f as u64)),
                    _ => Err(format!("metric {name} has a non-integer count {n}")),
                }
            }
        }
        // A v6 metric is `{"Int": n}` or `{"Float": x}`.
        Value::Object(m) if m.len() == 1 => match (m.get("Int"), m.get("Float")) {
            (Some(inner), _) => count(name, inner),
            (_, Some(inner)) => count(name, inner),
            _ => Err(format!("metric {name} has an unknown value shape {value}")),
        },
        other => Err(format!("metric {name} is not a number: {other}")),
    }
}

/// The Callgrind profile of a summary (the element of `profiles` with tool Callgrind).
fn callgrind_profile<'s, 'a>(s: &'s Summary<'a>) -> Result<&'s Profile<'a>, String> {
    s.profiles
        .as_ref()
        .ok_or("missing `profiles` array")?
        .iter()
        .find(|p| p.tool.as_deref() == Some("Callgrind"))
        .ok_or_else(|| "no Callgrind profile (did the benchmark fail?)".to_owned())
}

/// v7: `profiles[tool=Callgrind].data.total.metrics.<name>.values.new`.
fn metrics_v7(s: &Summary<'_>) -> Result<Metrics, String> {
    let p = callgrind_profile(s)?;
    let total = p
        .data
        .as_ref()
        .and_then(|d| d.total.as_ref())
        .and_then(|t| t.metrics.as_ref())
        .ok_or("missing `data.total.metrics` in the Callgrind profile")?;
    let mut m = Metrics::default();
    for (name, entry) in total {
        let new = entry
            .values
            .as_ref()
            .and_then(|v| v.new.as_ref())
            .ok_or_else(|| format!("metric {name} has no `values.new`"))?;
        if let Some(c) = count(name, new)? {
            m.insert(name.as_ref(), c);
        }
    }
    Ok(m)
}

/// v6: `profiles[tool=Callgrind].summaries.total.summary.Callgrind.<name>.metrics`
/// with `{"Left": new}` or `{"Both": [new, old]}`.
fn metrics_v6(s: &Summary<'_>) -> Result<Metrics, String> {
    let p = callgrind_profile(s)?;
    let total = p
        .summaries
        .as_ref()
        .and_then(|x| x.total.as_ref())
        .and_then(|t| t.summary.as_ref())
        .and_then(|s| s.get("Callgrind"))
        .ok_or("missing `summaries.total.summary.Callgrind` in the Callgrind profile")?;
    let mut m = Metrics::default();
    for (name, entry) in total {
        let metrics = entry
            .metrics
            .as_ref()
            .ok_or_else(|| format!("metric {name} has no `metrics`"))?;
        let new = if let Some(l) = metrics.get("Left") {
            l
        } else if let Some(b) = metrics.get("Both").and_then(Value::as_array) {
            b.first()
                .ok_or_else(|| format!("metric {name}: empty `Both`"))?
        } else if metrics.get("Right").is_some() {
            return Err(format!(
                "metric {name} has only an old value (`Right`): the benchmark did not run"
            ));
        } else {
            return Err(format!("metric {name}: unknown `metrics` shape {metrics}"));
        };
        if let Some(c) = count(name, new)? {
            m.insert(name.clone(), c);
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// `n` distinct summaries made from the real `compute/scaled` one, one per line,
    /// with `sep` put after every `"data":` (a raw newline before a nested `{` when
    /// `sep` is `"\n"`).
    fn stream(n: usize, sep: &str) -> String {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/v7/irgate-fixture-bench/fixture/compute/scaled/summary.json"
        ))
        .unwrap();
        let mut out = String::new();
        for i in 0..n {
            let one = text
                .trim()
                .replace(
                    "\"function_name\":\"scaled\"",
                    &format!("\"function_name\":\"f{i}\""),
                )
                .replace("compute::scaled", &format!("compute::f{i}"))
                .replace("compute/scaled", &format!("compute/f{i}"))
                .replace("\"data\":", &format!("\"data\":{sep}"));
            out.push_str(&one);
            out.push('\n');
        }
        out
    }

    fn ids(v: &[(BenchId, BenchResult)]) -> Vec<String> {
        v.iter().map(|(id, _)| id.to_string()).collect()
    }

    #[test]
    fn cuts_fall_at_lines_that_open_an_object() {
        let text = stream(1_000, "");
        assert!(
            text.len() >= PARALLEL_STREAM_BYTES,
            "make the stream larger"
        );
        let cuts = stream_cuts(text.as_bytes(), 4);
        assert_eq!(cuts.len(), 5, "{cuts:?}");
        assert_eq!(cuts[0], 0);
        assert_eq!(cuts[4], text.len());
        for w in cuts.windows(2) {
            assert!(w[0] < w[1], "{cuts:?}");
        }
        for &c in &cuts[1..4] {
            assert_eq!(&text.as_bytes()[c - 1..=c], b"\n{");
        }
    }

    #[test]
    fn a_stream_read_in_parts_equals_one_read_in_one_pass() {
        let opts = ReadOptions::default();
        for sep in ["", "\n"] {
            // With "\n" some cuts land inside an object; the parts then fail and the
            // whole stream is read in one pass.
            let text = stream(1_000, sep);
            assert!(
                text.len() >= PARALLEL_STREAM_BYTES,
                "make the stream larger"
            );
            let path = Path::new("s.jsonl");
            let all = parse_bytes(path, text.as_bytes(), &opts).unwrap();
            let one_pass = pairs(
                parse_sequential(path, text.as_bytes(), &opts, &mut SourceCache::new()).unwrap(),
            );
            assert_eq!(all.len(), 1_000);
            assert_eq!(ids(&all), ids(&one_pass));
            assert_eq!(
                all.iter().map(|(_, b)| b.metrics.ir()).collect::<Vec<_>>(),
                one_pass
                    .iter()
                    .map(|(_, b)| b.metrics.ir())
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn an_error_in_a_late_part_keeps_its_line_and_column() {
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
