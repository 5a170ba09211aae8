//! Large `--output-format=json` streams parsed in parts on a few threads.
//!
//! Measured on the 10,000-summary stream (51 MB) on 2 cores: 219 ms with the parts,
//! 349 ms in one pass (`cargo bench -p irgate-core --bench compare --
//! pipeline_10k/stream.jsonl`); the CPU time is the same, the second core is used.

use std::path::Path;

use super::id::SourceCache;
use super::{parse_sequential, ReadOptions, ReadResult};

/// Streams at least this large are parsed in parts on several threads.
pub(super) const PARALLEL_STREAM_BYTES: usize = 4 * 1024 * 1024;

/// Where a stream can be cut into parts: the starts of lines that begin with `{`, near
/// `parts` evenly spaced offsets. A raw newline never occurs inside a JSON string, so a
/// cut falls between two tokens.
pub(super) fn stream_cuts(bytes: &[u8], parts: usize) -> Vec<usize> {
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
/// stream is too small, cannot be cut or any part fails: the caller then parses the
/// whole stream in one pass, so what is accepted, and every error and its line and
/// column, are the same as without this.
pub(super) fn parse_in_parts(
    path: &Path,
    bytes: &[u8],
    options: &ReadOptions,
) -> Option<Vec<ReadResult>> {
    if bytes.len() < PARALLEL_STREAM_BYTES {
        return None;
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn cuts_fall_at_lines_that_open_an_object() {
        let line = format!(
            "{{\"version\": \"7\", \"pad\": \"{}\"}}\n",
            "x".repeat(5_000)
        );
        let text = line.repeat(1_000);
        assert!(
            text.len() >= super::PARALLEL_STREAM_BYTES,
            "make the stream larger"
        );
        let cuts = super::stream_cuts(text.as_bytes(), 4);
        assert_eq!(cuts.len(), 5, "{cuts:?}");
        assert_eq!((cuts[0], cuts[4]), (0, text.len()));
        for w in cuts.windows(2) {
            assert!(w[0] < w[1], "{cuts:?}");
        }
        for &c in &cuts[1..4] {
            assert_eq!(&text.as_bytes()[c - 1..=c], b"\n{");
        }
        // A stream without a line that opens an object cannot be cut.
        assert_eq!(super::stream_cuts(b"[1,\n2]", 4), vec![0, 6]);
    }
}
