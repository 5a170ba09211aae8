//! Finding the files to read, and reading them while the search goes on: the walk
//! hands what it finds, in batches, to reader threads.

use std::path::{Path, PathBuf};

use super::id::SourceCache;
use super::{read_file_into, FileResult, ReadError, ReadOptions};

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
pub(super) fn find_and_read(
    paths: &[PathBuf],
    options: &ReadOptions,
) -> Result<Vec<FileResult>, ReadError> {
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
