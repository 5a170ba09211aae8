//! Turning plugin files into checked Fusabi chunks: compile `.fsx` source, encode and
//! decode `.fzb`, read plugin headers, and verify decoded bytecode before it runs.
//!
//! Each step is a separate function so that callers (and benchmarks) can run them one
//! at a time.

use std::path::Path;

use fusabi_vm::{Chunk, Instruction, Value};

use crate::error::LoadError;
use crate::plugin::PluginMetadata;

/// The four bytes every `.fzb` file starts with. Files are told apart by this magic,
/// never by their extension.
pub const FZB_MAGIC: &[u8; 4] = b"FZB\x01";

/// Largest `.fzb` file the host accepts: 1 MiB. The decoder has no size limit of its
/// own, so the host checks the file size before decoding.
pub const MAX_FZB_BYTES: u64 = 1024 * 1024;

/// Largest `.fsx` source file the host accepts: 1 MiB.
pub const MAX_FSX_BYTES: u64 = 1024 * 1024;

/// Whether `bytes` is Fusabi bytecode (starts with [`FZB_MAGIC`]).
pub fn is_bytecode(bytes: &[u8]) -> bool {
    bytes.starts_with(FZB_MAGIC)
}

/// Compile Fusabi source text to a chunk. `path` only names the file in errors.
///
/// Lexer and parser errors become [`LoadError::Syntax`] with the line and column.
pub fn compile_source(source: &str, path: &Path) -> Result<Chunk, LoadError> {
    use fusabi_frontend::{CompilationError, LexError, ParseError};
    match fusabi_frontend::compile_program_from_source(source) {
        Ok(chunk) => Ok(chunk),
        Err(CompilationError::LexError(e)) => {
            let pos = match &e {
                LexError::UnexpectedChar(_, p)
                | LexError::UnterminatedString(p)
                | LexError::InvalidNumber(_, p)
                | LexError::UnterminatedComment(p)
                | LexError::UnknownDirective(_, p) => *p,
            };
            Err(LoadError::Syntax {
                path: path.to_owned(),
                line: pos.line,
                column: pos.column,
                message: strip_position(&e.to_string()),
            })
        }
        Err(CompilationError::ParseError(e)) => {
            let (line, column) = match &e {
                ParseError::UnexpectedToken { pos, .. } | ParseError::InvalidExpr { pos, .. } => {
                    (pos.line, pos.column)
                }
                ParseError::UnexpectedEof { .. } => end_position(source),
            };
            Err(LoadError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: strip_position(&e.to_string()),
            })
        }
        Err(CompilationError::CompileError(e)) => Err(LoadError::Compile {
            path: path.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// Drop the parser's own "Parse error" wording and "at line:col" positions; the host
/// prints `file:line:column:` in front instead.
fn strip_position(message: &str) -> String {
    let mut m = message
        .strip_prefix("Parse error: ")
        .or_else(|| message.strip_prefix("Parse error "))
        .unwrap_or(message);
    // "at 3:8: expected ..." (parser)
    if let Some(rest) = m.strip_prefix("at ") {
        if let Some((pos, tail)) = rest.split_once(": ") {
            if is_position(pos) {
                m = tail;
            }
        }
    }
    // "Unexpected character '$' at 2:5" (lexer)
    if let Some((head, pos)) = m.rsplit_once(" at ") {
        if is_position(pos) {
            m = head;
        }
    }
    m.to_owned()
}

fn is_position(s: &str) -> bool {
    s.split_once(':').is_some_and(|(l, c)| {
        !l.is_empty()
            && !c.is_empty()
            && l.bytes().all(|b| b.is_ascii_digit())
            && c.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Line and column just past the last character, 1-based.
fn end_position(source: &str) -> (usize, usize) {
    let line = source.lines().count().max(1);
    let column = source.lines().last().map_or(0, |l| l.chars().count()) + 1;
    if source.ends_with('\n') {
        (line + 1, 1)
    } else {
        (line, column)
    }
}

/// Encode a chunk as `.fzb` bytes (magic, version byte, body).
pub fn encode_fzb(chunk: &Chunk, path: &Path) -> Result<Vec<u8>, LoadError> {
    fusabi_vm::serialize_chunk(chunk).map_err(|e| LoadError::BadBytecode {
        path: path.to_owned(),
        reason: format!("cannot encode: {e}"),
    })
}

/// Decode `.fzb` bytes into a chunk, enforcing [`MAX_FZB_BYTES`] first.
///
/// This does not verify the chunk; call [`verify_chunk`] before running it.
pub fn decode_fzb(bytes: &[u8], path: &Path) -> Result<Chunk, LoadError> {
    if bytes.len() as u64 > MAX_FZB_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit: MAX_FZB_BYTES,
            kind: ".fzb",
        });
    }
    if !is_bytecode(bytes) {
        return Err(LoadError::BadBytecode {
            path: path.to_owned(),
            reason: "missing FZB\\x01 magic".to_owned(),
        });
    }
    fusabi_vm::deserialize_chunk(bytes).map_err(|e| LoadError::BadBytecode {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Check a decoded chunk, and every function nested in its constants, before it runs.
///
/// Fusabi 0.35 pops the operands of `Add`, `Sub`, `Mul` and `Div` without checking
/// that the stack holds them, which is undefined behaviour on a short stack in a
/// release build. The verifier walks every path through each function, keeping a
/// lower bound of the stack depth (counting a function's arguments as its starting
/// depth), and rejects code where one of those instructions can run with fewer than
/// two values. It also rejects jumps that leave the function, constant indices out of
/// range, and closures built from constants that are not functions. Every other
/// instruction checks its own operands at run time and fails with an error.
pub fn verify_chunk(chunk: &Chunk, path: &Path) -> Result<(), LoadError> {
    verify_function(chunk, 0, "<top level>", 0).map_err(|reason| LoadError::Unverified {
        path: path.to_owned(),
        reason,
    })
}

/// Deepest nesting of functions the verifier follows; deeper bytecode is rejected.
const MAX_NESTING: usize = 64;

fn verify_function(chunk: &Chunk, arity: u8, name: &str, nesting: usize) -> Result<(), String> {
    if nesting > MAX_NESTING {
        return Err(format!("functions nested deeper than {MAX_NESTING}"));
    }
    let code = &chunk.instructions;
    let n_consts = chunk.constants.len();
    let const_ok = |idx: u16, at: usize| -> Result<(), String> {
        if usize::from(idx) < n_consts {
            Ok(())
        } else {
            Err(format!(
                "function {name}, instruction {at}: constant index {idx} out of range ({n_consts} constants)"
            ))
        }
    };

    // First pass: operands that do not depend on the path taken.
    for (at, instr) in code.iter().enumerate() {
        match instr {
            Instruction::LoadConst(idx)
            | Instruction::LoadGlobal(idx)
            | Instruction::CallMethod(idx, _) => const_ok(*idx, at)?,
            Instruction::MakeClosure(idx, _) => {
                const_ok(*idx, at)?;
                if !matches!(chunk.constants[usize::from(*idx)], Value::Closure(_)) {
                    return Err(format!(
                        "function {name}, instruction {at}: MakeClosure refers to a constant that is not a function"
                    ));
                }
            }
            Instruction::Jump(off) | Instruction::JumpIfFalse(off) => {
                jump_target(at, *off, code.len()).ok_or_else(|| {
                    format!("function {name}, instruction {at}: jump by {off} leaves the function")
                })?;
            }
            _ => {}
        }
    }

    // Second pass: lowest stack depth reaching each instruction, over all paths.
    let mut depth: Vec<Option<usize>> = vec![None; code.len() + 1];
    let mut work = vec![(0usize, usize::from(arity))];
    while let Some((at, d)) = work.pop() {
        if at >= code.len() {
            continue; // running off the end is a checked VM error
        }
        match depth[at] {
            Some(seen) if seen <= d => continue,
            _ => depth[at] = Some(d),
        }
        let instr = &code[at];
        let (pops, pushes) = stack_effect(instr);
        if matches!(
            instr,
            Instruction::Add | Instruction::Sub | Instruction::Mul | Instruction::Div
        ) && d < 2
        {
            return Err(format!(
                "function {name}, instruction {at} ({instr}): needs two values on the stack but may have {d}"
            ));
        }
        let next = d.saturating_sub(pops) + pushes;
        match instr {
            Instruction::Return => {}
            Instruction::Jump(off) => {
                if let Some(t) = jump_target(at, *off, code.len()) {
                    work.push((t, next));
                }
            }
            Instruction::JumpIfFalse(off) => {
                if let Some(t) = jump_target(at, *off, code.len()) {
                    work.push((t, next));
                }
                work.push((at + 1, next));
            }
            _ => work.push((at + 1, next)),
        }
    }

    for (i, c) in chunk.constants.iter().enumerate() {
        if let Value::Closure(f) = c {
            let inner = f.name.clone().unwrap_or_else(|| format!("{name}/#{i}"));
            verify_function(&f.chunk, f.arity, &inner, nesting + 1)?;
        }
    }
    Ok(())
}

/// Where a jump at `at` by `off` lands (relative to the next instruction), if inside
/// the function (the end itself counts as inside: it is a checked error).
fn jump_target(at: usize, off: i16, len: usize) -> Option<usize> {
    let base = at as i64 + 1;
    let t = base + i64::from(off);
    if (0..=len as i64).contains(&t) {
        Some(t as usize)
    } else {
        None
    }
}

/// Values an instruction removes from and adds to the stack, as a lower bound of what
/// the Fusabi 0.35 interpreter does (a call to a closure pops nothing, a call to a
/// native function pops its arguments; we count the larger).
fn stack_effect(instr: &Instruction) -> (usize, usize) {
    use Instruction as I;
    match instr {
        I::LoadConst(_)
        | I::LoadLocal(_)
        | I::LoadUpvalue(_)
        | I::LoadGlobal(_)
        | I::Dup
        | I::CheckInt(_)
        | I::CheckBool(_)
        | I::CheckString(_)
        | I::CheckTupleLen(_)
        | I::GetTupleElem(_) => (0, 1),
        I::StoreLocal(_) | I::StoreUpvalue(_) | I::Pop | I::JumpIfFalse(_) => (1, 0),
        I::Add
        | I::Sub
        | I::Mul
        | I::Div
        | I::Concat
        | I::Eq
        | I::Neq
        | I::Lt
        | I::Lte
        | I::Gt
        | I::Gte
        | I::And
        | I::Or
        | I::Cons
        | I::ArrayGet
        | I::GetRecordField => (2, 1),
        I::Not
        | I::GetTupleField(_)
        | I::ListHead
        | I::ListTail
        | I::IsNil
        | I::ArrayLength
        | I::CheckVariantTag(_)
        | I::GetVariantField(_) => (1, 1),
        I::ArraySet | I::ArrayUpdate => (3, 1),
        I::Jump(_) | I::CloseUpvalue(_) | I::Return => (0, 0),
        I::Call(argc) | I::TailCall(argc) => (usize::from(*argc), 1),
        I::CallMethod(_, argc) => (usize::from(*argc) + 1, 1),
        I::MakeTuple(n) | I::MakeList(n) | I::MakeArray(n) => (usize::from(*n), 1),
        I::MakeRecord(n) => (2 * usize::from(*n), 1),
        I::UpdateRecord(n) => (2 * usize::from(*n) + 1, 1),
        I::MakeVariant(n) => (usize::from(*n) + 2, 1),
        I::MakeClosure(_, k) => (usize::from(*k), 1),
    }
}

/// Read the plugin header: leading `// @name x`, `// @version x`, `// @priority n`
/// comment lines. Missing keys default to the file stem, `0.0.0` and `0`.
///
/// The header ends at the first line that is neither blank nor a `//` comment.
pub fn parse_header(source: &str, path: &Path) -> Result<PluginMetadata, LoadError> {
    let mut meta = PluginMetadata::new(default_name(path));
    for (i, line) in source.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix("//") else {
            break;
        };
        let Some(rest) = comment.trim().strip_prefix('@') else {
            continue;
        };
        let (key, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let value = value.trim();
        let bad = |message: String| LoadError::Header {
            path: path.to_owned(),
            line: i + 1,
            message,
        };
        match key {
            "name" => {
                if !valid_name(value) {
                    return Err(bad(format!(
                        "plugin name `{value}` must be 1-64 characters of letters, digits, `-` and `_`"
                    )));
                }
                meta.name = value.to_owned();
            }
            "version" => {
                if value.is_empty() || value.contains(['@', '#']) || value.len() > 64 {
                    return Err(bad(format!("bad version `{value}`")));
                }
                meta.version = value.to_owned();
            }
            "priority" => {
                meta.priority = value
                    .parse()
                    .map_err(|_| bad(format!("priority `{value}` is not an integer")))?;
            }
            other => return Err(bad(format!("unknown header key `@{other}`"))),
        }
    }
    Ok(meta)
}

/// The name a plugin gets when its header names none: the file stem.
pub fn default_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".to_owned())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Store plugin metadata in a chunk, so that it survives compilation to `.fzb`.
///
/// It goes into the chunk's name as `name@version#priority`.
pub fn stamp_metadata(chunk: &mut Chunk, meta: &PluginMetadata) {
    chunk.name = Some(format!("{}@{}#{}", meta.name, meta.version, meta.priority));
}

/// Read metadata stored by [`stamp_metadata`]; falls back to the file stem.
pub fn stamped_metadata(chunk: &Chunk, path: &Path) -> PluginMetadata {
    let parsed = chunk.name.as_deref().and_then(|s| {
        let (name, rest) = s.split_once('@')?;
        let (version, priority) = rest.rsplit_once('#')?;
        if !valid_name(name) {
            return None;
        }
        Some(
            PluginMetadata::new(name)
                .with_version(version)
                .with_priority(priority.parse().ok()?),
        )
    });
    parsed.unwrap_or_else(|| PluginMetadata::new(default_name(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keys_and_defaults() {
        let p = Path::new("dir/my-plugin.fsx");
        let m = parse_header(
            "// @name x_1\n//  @priority -7\n\n// @version 2.0\nlet a = 1 in a\n// @name late",
            p,
        )
        .unwrap();
        assert_eq!(
            m,
            PluginMetadata::new("x_1")
                .with_priority(-7)
                .with_version("2.0")
        );
        let d = parse_header("{ on_output = 1 }", p).unwrap();
        assert_eq!(d, PluginMetadata::new("my-plugin"));
        for bad in [
            "// @name a b",
            "// @name ",
            "// @priority x",
            "// @colour red",
            "// @version a@b",
        ] {
            assert!(
                matches!(parse_header(bad, p), Err(LoadError::Header { line: 1, .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn metadata_survives_the_chunk_name() {
        let mut c = Chunk::new();
        let m = PluginMetadata::new("n")
            .with_version("1.2#3")
            .with_priority(-4);
        stamp_metadata(&mut c, &m);
        assert_eq!(stamped_metadata(&c, Path::new("f.fzb")), m);
        c.name = Some("garbage".into());
        assert_eq!(
            stamped_metadata(&c, Path::new("f.fzb")),
            PluginMetadata::new("f")
        );
    }

    #[test]
    fn positions_are_stripped_from_messages() {
        assert_eq!(
            strip_position("Parse error at 3:8: expected x"),
            "expected x"
        );
        assert_eq!(
            strip_position("Unexpected character '$' at 2:5"),
            "Unexpected character '$'"
        );
        assert_eq!(strip_position("look at this: x"), "look at this: x");
        assert_eq!(end_position("ab\ncd"), (2, 3));
        assert_eq!(end_position("ab\n"), (2, 1));
        assert_eq!(end_position(""), (1, 1));
    }

    #[test]
    fn jump_targets() {
        assert_eq!(jump_target(0, 0, 3), Some(1));
        assert_eq!(jump_target(0, 2, 3), Some(3));
        assert_eq!(jump_target(0, 3, 3), None);
        assert_eq!(jump_target(2, -3, 3), Some(0));
        assert_eq!(jump_target(2, -4, 3), None);
    }
}
