//! Recorded terminal sessions, replayed by the demo binary.
//!
//! A session is a text file, one event per line:
//!
//! ```text
//! # a comment; blank lines are ignored
//! out <text>          a line of terminal output (everything after "out ")
//! in <text>           a chunk of input; escapes: \n \r \t \e (ESC) \\ \xHH
//! resize <cols>x<rows>
//! ```

use std::path::{Path, PathBuf};

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A line of output.
    Output(String),
    /// A chunk of input bytes.
    Input(Vec<u8>),
    /// A resize.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
}

/// A session file that cannot be parsed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The file could not be read.
    #[error("{path}: cannot read session file: {source}")]
    Io {
        /// The session file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a valid event.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The session file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Read and parse a session file.
pub fn read_session(path: impl AsRef<Path>) -> Result<Vec<SessionEvent>, SessionError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| SessionError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_session(&text, path)
}

/// Parse session text; `path` names it in errors.
pub fn parse_session(text: &str, path: &Path) -> Result<Vec<SessionEvent>, SessionError> {
    let mut events = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let err = |message: String| SessionError::Syntax {
            path: path.to_owned(),
            line: i + 1,
            message,
        };
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let (kind, rest) = raw.split_once(' ').unwrap_or((raw, ""));
        match kind {
            "out" => events.push(SessionEvent::Output(rest.to_owned())),
            "in" => events.push(SessionEvent::Input(unescape(rest).map_err(err)?)),
            "resize" => {
                let (c, r) = rest
                    .trim()
                    .split_once('x')
                    .ok_or_else(|| err(format!("expected `resize <cols>x<rows>`, got `{raw}`")))?;
                let num = |s: &str| {
                    s.parse::<u16>()
                        .map_err(|_| err(format!("`{s}` is not a size between 0 and 65535")))
                };
                events.push(SessionEvent::Resize {
                    cols: num(c)?,
                    rows: num(r)?,
                });
            }
            other => {
                return Err(err(format!(
                    "unknown event `{other}`; expected `out`, `in` or `resize`"
                )))
            }
        }
    }
    Ok(events)
}

fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('e') => out.push(0x1b),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let b = u8::from_str_radix(&hex, 16)
                    .map_err(|_| format!("bad escape `\\x{hex}`: expected two hex digits"))?;
                out.push(b);
            }
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a `\\` at the end of the line escapes nothing".to_owned()),
        }
    }
    Ok(out)
}
