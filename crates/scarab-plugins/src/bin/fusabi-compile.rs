//! `fusabi-compile`: compile Fusabi plugin source (`.fsx`) to bytecode (`.fzb`).
//!
//! The plugin header (`// @name`, `// @version`, `// @priority`) is kept in the
//! bytecode. Errors name the file, line and column. Exit status: 0 on success, 1 when
//! a file does not compile, 2 on a usage or I/O error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use scarab_plugins::fusabi::bytecode::{
    compile_source, encode_fzb, parse_header, stamp_metadata, verify_chunk,
};
use scarab_plugins::LoadError;

/// Compile Fusabi plugin scripts (.fsx) to bytecode (.fzb).
#[derive(Debug, Parser)]
#[command(name = "fusabi-compile", version)]
struct Args {
    /// Source files to compile.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file (only with a single input). Default: the input with extension `.fzb`.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Directory for the outputs (default: next to each input).
    #[arg(long, conflicts_with = "output")]
    out_dir: Option<PathBuf>,
    /// Only check that the files compile; write nothing.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.output.is_some() && args.inputs.len() > 1 {
        eprintln!("fusabi-compile: --output needs exactly one input file");
        return ExitCode::from(2);
    }
    let mut status = 0u8;
    for input in &args.inputs {
        let out = match (&args.output, &args.out_dir) {
            (Some(o), _) => o.clone(),
            (None, Some(dir)) => dir.join(file_name_fzb(input)),
            (None, None) => input.with_extension("fzb"),
        };
        match compile_one(input, &out, args.check) {
            Ok(size) => {
                if !args.check {
                    eprintln!("{} -> {} ({size} bytes)", input.display(), out.display());
                }
            }
            Err(e) => {
                eprintln!("{e}");
                let code = match e {
                    LoadError::Io { .. } => 2,
                    _ => 1,
                };
                status = status.max(code);
            }
        }
    }
    ExitCode::from(status)
}

fn file_name_fzb(input: &Path) -> PathBuf {
    PathBuf::from(input.file_name().unwrap_or_default()).with_extension("fzb")
}

fn compile_one(input: &Path, out: &Path, check: bool) -> Result<usize, LoadError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| LoadError::Io { path, source }
    };
    // Bounded: a FIFO or a device is refused, never more than the bound is read.
    let bytes = scarab_plugins::fusabi::plugin::read_plugin_file(input)?;
    if bytes.len() as u64 > scarab_plugins::MAX_FSX_BYTES {
        return Err(LoadError::TooLarge {
            path: input.to_owned(),
            size: bytes.len() as u64,
            limit: scarab_plugins::MAX_FSX_BYTES,
            kind: ".fsx",
        });
    }
    let source = String::from_utf8(bytes).map_err(|_| LoadError::NotSource {
        path: input.to_owned(),
    })?;
    let meta = parse_header(&source, input)?;
    let mut chunk =
        std::panic::catch_unwind(|| compile_source(&source, input)).unwrap_or_else(|_| {
            Err(LoadError::Panicked {
                path: input.to_owned(),
                message: "the Fusabi compiler panicked".to_owned(),
            })
        })?;
    verify_chunk(&chunk, input)?;
    stamp_metadata(&mut chunk, &meta);
    let fzb = encode_fzb(&chunk, input)?;
    if fzb.len() as u64 > scarab_plugins::MAX_FZB_BYTES {
        return Err(LoadError::TooLarge {
            path: out.to_owned(),
            size: fzb.len() as u64,
            limit: scarab_plugins::MAX_FZB_BYTES,
            kind: ".fzb",
        });
    }
    if !check {
        scarab_plugins::write_atomic(out, &fzb).map_err(io(out))?;
    }
    Ok(fzb.len())
}
