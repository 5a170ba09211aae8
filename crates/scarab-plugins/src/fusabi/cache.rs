//! Compiled scripts, cached by the hash of their source text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fusabi_vm::Chunk;

use super::bytecode::{compile_source, decode_fzb, encode_fzb, verify_chunk, MAX_FZB_BYTES};
use crate::error::LoadError;

/// Content hash of a script (BLAKE3 over the compiler version and the source text).
pub type CacheKey = [u8; 32];

/// Counters of a [`ScriptCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from memory or disk.
    pub hits: u64,
    /// Of the hits, those answered from the disk directory.
    pub disk_hits: u64,
    /// Lookups that had to compile.
    pub misses: u64,
    /// Chunks held in memory.
    pub entries: usize,
}

/// Cache of compiled `.fsx` scripts keyed by content hash, in memory and optionally
/// as `.fzb` files in a directory, so that a script is compiled once per content.
#[derive(Debug, Default)]
pub struct ScriptCache {
    entries: Mutex<HashMap<CacheKey, Arc<Chunk>>>,
    dir: Option<PathBuf>,
    hits: AtomicU64,
    disk_hits: AtomicU64,
    misses: AtomicU64,
}

impl ScriptCache {
    /// A cache held in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// A cache that also keeps `<hash>.fzb` files in `dir` (created if missing).
    pub fn with_dir(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir: Some(dir),
            ..Self::default()
        })
    }

    /// The content hash under which `source` is cached.
    pub fn key(source: &str) -> CacheKey {
        let mut h = blake3::Hasher::new();
        // The Fusabi version here follows the exact `=0.35.0` pin in the workspace
        // Cargo.toml; change both together so old cache files stop matching.
        h.update(b"scarab-plugins fsx cache v1\0fusabi 0.35.0\0");
        h.update(source.as_bytes());
        *h.finalize().as_bytes()
    }

    /// The compiled chunk for `source`, compiling it (and storing it) on a miss.
    /// `path` only names the file in errors.
    pub fn get_or_compile(&self, source: &str, path: &Path) -> Result<Arc<Chunk>, LoadError> {
        let key = Self::key(source);
        if let Some(chunk) = self.lock().get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(chunk));
        }
        if let Some(chunk) = self.read_disk(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            self.disk_hits.fetch_add(1, Ordering::Relaxed);
            let chunk = Arc::new(chunk);
            self.lock().insert(key, Arc::clone(&chunk));
            return Ok(chunk);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let chunk = Arc::new(compile_source(source, path)?);
        self.write_disk(&key, &chunk, path);
        self.lock().insert(key, Arc::clone(&chunk));
        Ok(chunk)
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.lock().len(),
        }
    }

    /// Drop the in-memory entries (the disk directory is kept).
    pub fn clear_memory(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<Chunk>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn disk_path(&self, key: &CacheKey) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        Some(dir.join(format!("{hex}.fzb")))
    }

    fn read_disk(&self, key: &CacheKey) -> Option<Chunk> {
        let path = self.disk_path(key)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::open(&path).ok()?, MAX_FZB_BYTES + 1),
            &mut bytes,
        )
        .ok()?;
        // A damaged cache file is treated as a miss and rewritten.
        let chunk = decode_fzb(&bytes, &path).ok()?;
        verify_chunk(&chunk, &path).ok()?;
        Some(chunk)
    }

    fn write_disk(&self, key: &CacheKey, chunk: &Chunk, origin: &Path) {
        let Some(path) = self.disk_path(key) else {
            return;
        };
        let result = encode_fzb(chunk, origin)
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::write_atomic(&path, &bytes).map_err(|e| e.to_string()));
        if let Err(e) = result {
            tracing::warn!(cache_file = %path.display(), "cannot write script cache: {e}");
        }
    }
}
