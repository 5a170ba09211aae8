//! `irgate bench`: the pinned run of a workspace's Callgrind benchmarks.
//!
//! The first stage of the data flow. It finds the bench targets that use `gungraun`
//! (cargo metadata), checks that the runner on hand has the library's exact version,
//! chooses `GLIBC_TUNABLES` for the glibc it finds ([`crate::glibc`]), builds the
//! entropy preload and the canary once per source hash, runs each bench binary from
//! one fixed directory ([`pinning::EXEC_DIR`]) so that counts do not follow the
//! checkout path, and leaves a run directory that `compare` and `accept` read:
//!
//! ```text
//! <out>/
//!   gungraun/<package>/<bench>/<group>/<function>[.<id>]/summary.json  (+ callgrind.*.out)
//!   environment.json   the fingerprint (valgrind, runner, rustc, glibc, tunables, canary, …)
//!   run.toml           facts about the run: suites, benchmark count, filter, seconds
//!   canary.callgrind.out
//! ```
//!
//! This file is over 600 lines because [`run`] is one sequence of steps (discover,
//! check, pin, build, run, record) that reads best top to bottom; the parts that stand
//! alone (cargo discovery, pinning, the canary, the doctor) are already submodules.

pub mod canary;
pub mod cargo;
pub mod doctor;
pub mod pinning;
pub mod runner;
pub mod shard;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::env::{self as penv, CaptureOptions};
use crate::model::Environment;
use cargo::{Harness, Suite};
use pinning::{ExecDir, Pinning};
use runner::Capabilities;
use shard::Shard;

/// Callgrind arguments without cache simulation: Ir only.
pub const CALLGRIND_NO_CACHE: &str = "--cache-sim=no";
/// Callgrind arguments with a pinned cache geometry, for cache metrics.
pub const CALLGRIND_PINNED_CACHE: &str =
    "--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64";

/// What to run and how.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// A directory inside the cargo workspace (default `.`).
    pub workspace: PathBuf,
    /// Only these packages (default: every package with a Callgrind suite).
    pub packages: Vec<String>,
    /// Only these bench targets.
    pub benches: Vec<String>,
    /// A glob over `group/function/id` (`*` any text); without `*` or `?` a prefix.
    pub filter: Option<String>,
    /// The run directory.
    pub out: PathBuf,
    /// The runner executable (default: the one `irgate setup` installed into the
    /// cache, else one on `PATH` or in `~/.cargo/bin`, of the library's exact version).
    pub runner: Option<PathBuf>,
    /// The valgrind executable.
    pub valgrind: PathBuf,
    /// An explicit `GLIBC_TUNABLES` value instead of the table's.
    pub glibc_tunables: Option<String>,
    /// Run without the entropy preload (experiments; recorded as `preload = none`).
    pub no_preload: bool,
    /// Simulate caches with a pinned geometry (for cache metrics).
    pub cache_sim: bool,
    /// Benchmarks run at once (the runner's `--parallel` where it has one, else that
    /// many runner processes); counts do not depend on it.
    pub jobs: usize,
    /// Run only this shard of the benchmarks.
    pub shard: Option<Shard>,
    /// Pass `--locked` to cargo.
    pub locked: bool,
    /// Where the preload and canary builds are kept.
    pub cache_dir: Option<PathBuf>,
    /// The fixed execution directory (default [`pinning::EXEC_DIR`]; tests only).
    pub exec_dir: PathBuf,
    /// Extra arguments for the harness (after `--`).
    pub harness_args: Vec<String>,
    /// Extra environment for the harness's driver process (the runner clears it for
    /// the measured process; `irgate doctor` uses this to prove it).
    pub driver_env: Vec<(String, String)>,
    /// Print progress to stderr.
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            workspace: PathBuf::from("."),
            packages: Vec::new(),
            benches: Vec::new(),
            filter: None,
            out: PathBuf::from("target/irgate/run"),
            runner: None,
            valgrind: PathBuf::from("valgrind"),
            glibc_tunables: None,
            no_preload: false,
            cache_sim: false,
            jobs: 1,
            shard: None,
            locked: false,
            cache_dir: None,
            exec_dir: PathBuf::from(pinning::EXEC_DIR),
            harness_args: Vec::new(),
            driver_env: Vec::new(),
            progress: true,
        }
    }
}

/// What a finished run left.
#[derive(Debug, Clone)]
pub struct BenchOutcome {
    /// The run directory.
    pub out: PathBuf,
    /// Benchmarks run.
    pub benchmarks: usize,
    /// The fingerprint written to `environment.json`.
    pub environment: Environment,
    /// Wall-clock seconds of the whole command.
    pub seconds: f64,
    /// Things the user should know (e.g. an unpinned run).
    pub warnings: Vec<String>,
}

/// Why a run could not be made. Every one of these is exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A tool is missing or failed.
    #[error("{tool}: {message}")]
    Tool {
        /// The tool.
        tool: String,
        /// What happened and what to do.
        message: String,
    },
    /// The runner is missing or at the wrong version.
    #[error("{0}")]
    Runner(String),
    /// glibc not in the table and no explicit tunables.
    #[error("{0}")]
    Glibc(String),
    /// No suite to run.
    #[error("{0}")]
    NoSuite(String),
    /// The bench build failed.
    #[error("build: {0}")]
    Build(String),
    /// The canary could not be built or run.
    #[error("canary: {0}")]
    Canary(String),
    /// The fixed execution directory could not be used.
    #[error("execution directory: {0}")]
    ExecDir(String),
    /// The benchmarks failed.
    #[error("{0}")]
    Run(String),
    /// The run directory could not be written.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What happened.
        message: String,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BenchError + '_ {
    move |e| BenchError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Translates a `group/function/id` glob into the harness's filter for `bench`
/// (`<bench>::group::function::id`); a pattern without `*` or `?` matches as a prefix.
pub fn harness_filter(bench: &str, glob: &str) -> String {
    let mut f = format!("{bench}::{}", glob.replace('/', "::"));
    if !glob.contains(['*', '?']) {
        f.push('*');
    }
    f
}

/// Finds `name` on `PATH`, then in `~/.cargo/bin`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin").join(name)))
        .find(|p| p.is_file())
}

/// The tunables for this machine's glibc, or an explicit value.
fn choose_tunables(explicit: Option<&str>) -> Result<(String, Option<String>), BenchError> {
    let glibc = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(t) = explicit {
        return Ok((t.to_owned(), glibc));
    }
    let Some(text) = glibc.clone() else {
        return Err(BenchError::Glibc(
            "cannot tell the C library's version (`getconf GNU_LIBC_VERSION` failed): not glibc? \
             Give --glibc-tunables VALUE explicitly (\"\" for none)"
                .into(),
        ));
    };
    let version = crate::glibc::parse_version(&text);
    match version.and_then(crate::glibc::pinned_tunables) {
        Some(t) => Ok((t, glibc)),
        None => {
            let known: Vec<String> = crate::glibc::TABLE
                .iter()
                .map(|r| format!("{}.{}", r.version.0, r.version.1))
                .collect();
            Err(BenchError::Glibc(format!(
                "{text}: no pinned GLIBC_TUNABLES for this glibc (the table covers {}); give \
                 --glibc-tunables VALUE explicitly, switching off every hwcap its x86-64 string \
                 ifunc selectors test",
                known.join(", ")
            )))
        }
    }
}

/// Picks the suites asked for.
fn select(all: Vec<Suite>, options: &BenchOptions) -> Result<Vec<Suite>, BenchError> {
    let names: Vec<String> = all
        .iter()
        .map(|s| format!("{}/{}", s.package, s.bench))
        .collect();
    let unknown = |what: String| {
        let suites = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        BenchError::NoSuite(format!("{what} (suites: {suites})"))
    };
    if let Some(p) = options
        .packages
        .iter()
        .find(|p| !all.iter().any(|s| &s.package == *p))
    {
        return Err(unknown(format!(
            "--package {p}: no Callgrind suite in that package"
        )));
    }
    if let Some(b) = options
        .benches
        .iter()
        .find(|b| !all.iter().any(|s| &s.bench == *b))
    {
        return Err(unknown(format!(
            "--bench {b}: no Callgrind bench target of that name"
        )));
    }
    let chosen: Vec<Suite> = all
        .into_iter()
        .filter(|s| options.packages.is_empty() || options.packages.contains(&s.package))
        .filter(|s| options.benches.is_empty() || options.benches.contains(&s.bench))
        .collect();
    if chosen.is_empty() {
        return Err(BenchError::NoSuite(
            "no bench target of this workspace uses gungraun or iai-callgrind \
             (a bench target with `harness = false` whose source calls `gungraun::main!`)"
                .into(),
        ));
    }
    for s in &chosen {
        if runner::capabilities(s.harness, &s.version).is_none() {
            return Err(BenchError::NoSuite(format!(
                "{}/{} uses {} {}; irgate bench pins {}. Run that suite with \
                 `cargo bench` and judge its summaries with `irgate compare`",
                s.package,
                s.bench,
                s.harness.library(),
                s.version,
                runner::SUPPORTED_TEXT
            )));
        }
    }
    Ok(chosen)
}

/// `irgate setup`: makes the runner of every harness version the workspace at
/// `workspace` uses available (see [`runner::setup`]), in `cache` (default
/// [`pinning::default_cache_dir`]).
pub fn setup(
    workspace: &Path,
    cache: Option<&Path>,
    locked: bool,
) -> Result<Vec<runner::Setup>, BenchError> {
    let ws = cargo::discover(workspace, locked)?;
    if ws.suites.is_empty() {
        return Err(BenchError::NoSuite(
            "no bench target of this workspace uses gungraun or iai-callgrind, so no runner is needed"
                .into(),
        ));
    }
    let cache = cache.map_or_else(|| pinning::default_cache_dir(&ws.root), Path::to_path_buf);
    let mut needed: Vec<(Harness, String)> = ws
        .suites
        .iter()
        .map(|s| (s.harness, s.version.clone()))
        .collect();
    needed.sort();
    needed.dedup();
    needed
        .iter()
        .map(|(h, v)| runner::setup(&cache, *h, v))
        .collect()
}

/// Runs the suites pinned and writes the run directory.
pub fn run(options: &BenchOptions) -> Result<BenchOutcome, BenchError> {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let say = |m: &str| {
        if options.progress {
            eprintln!("irgate bench: {m}");
        }
    };

    let valgrind_version = Command::new(&options.valgrind)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .ok_or_else(|| BenchError::Tool {
            tool: "valgrind".into(),
            message: format!(
                "{} not found or not working: install valgrind (Debian/Ubuntu: `apt-get install valgrind`, or `ci/setup`)",
                options.valgrind.display()
            ),
        })?;

    let ws = cargo::discover(&options.workspace, options.locked)?;
    let suites = select(ws.suites, options)?;
    let first = &suites[0];
    let cache = options
        .cache_dir
        .clone()
        .unwrap_or_else(|| pinning::default_cache_dir(&ws.root));
    let (runner, runner_line) = runner::find(
        options.runner.as_deref(),
        &cache,
        first.harness,
        &first.version,
    )?;
    let caps = runner::capabilities(first.harness, &first.version).ok_or_else(|| {
        BenchError::NoSuite(format!(
            "{} {}: irgate bench pins {}",
            first.harness.library(),
            first.version,
            runner::SUPPORTED_TEXT
        ))
    })?;
    for s in &suites[1..] {
        if (s.harness, &s.version) != (first.harness, &first.version) {
            return Err(BenchError::Runner(format!(
                "{}/{} uses {} {} but {}/{} uses {} {}: run them with separate `irgate bench --package` calls",
                s.package, s.bench, s.harness.library(), s.version,
                first.package, first.bench, first.harness.library(), first.version
            )));
        }
    }
    let (tunables, glibc) = choose_tunables(options.glibc_tunables.as_deref())?;

    let (preload_built, preload_missing) = if options.no_preload {
        (None, Some("--no-preload".to_owned()))
    } else {
        match pinning::build_preload(&cache) {
            Ok(p) => (Some(p), None),
            Err(e) => {
                let w = format!(
                    "the entropy preload could not be built ({e}); running UNPINNED: hash seeds and clocks vary, so counts may not repeat (install a C compiler, e.g. `apt-get install gcc`)"
                );
                say(&format!("warning: {w}"));
                warnings.push(w);
                (None, Some("could not be built".to_owned()))
            }
        }
    };

    let rustc_vv = Command::new(canary::rustc())
        .current_dir(&ws.root)
        .arg("-vV")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .ok_or_else(|| BenchError::Tool {
            tool: "rustc".into(),
            message: "`rustc -vV` failed in the workspace".into(),
        })?;
    let canary_built = canary::build(&cache, &ws.root, &rustc_vv)?;

    // Held from the build to the end: the fixed paths are this run's alone.
    let exec = ExecDir::lock(&options.exec_dir).map_err(BenchError::ExecDir)?;
    say(&format!(
        "building {} suite{} (cargo bench --no-run, through {})",
        suites.len(),
        if suites.len() == 1 { "" } else { "s" },
        exec.source().display()
    ));
    let fixed_root = exec.link_source(&ws.root).map_err(BenchError::ExecDir)?;
    let exes = cargo::build(&fixed_root, &suites, options.locked, &[])?;

    let preload = match &preload_built {
        Some(p) => {
            exec.install(p, &exec.preload())
                .map_err(BenchError::ExecDir)?;
            Some(exec.preload())
        }
        None => None,
    };
    exec.install(&canary_built, &exec.canary())
        .map_err(BenchError::ExecDir)?;
    let pinning = Pinning {
        glibc_tunables: tunables.clone(),
        preload,
        preload_missing,
        callgrind_args: if options.cache_sim {
            CALLGRIND_PINNED_CACHE
        } else {
            CALLGRIND_NO_CACHE
        }
        .to_owned(),
    };

    std::fs::create_dir_all(&options.out).map_err(io_err(&options.out))?;
    let out = options.out.canonicalize().map_err(io_err(&options.out))?;
    // A run directory holds exactly one run: no stale summary of a renamed benchmark.
    for stale in [
        "gungraun",
        "environment.json",
        "run.toml",
        "comparison.json",
        "comparison.md",
    ] {
        let p = out.join(stale);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        if let Err(e) = r {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(io_err(&p)(e));
            }
        }
    }
    let home = out.join("gungraun");

    // Runners without `--envs` get the pinned environment from a valgrind wrapper
    // first on their PATH (and, before Gungraun 0.19.1, the workspace's metadata).
    let cargo_wrapper = if caps.envs {
        None
    } else {
        let real_valgrind = if options.valgrind.components().count() > 1 {
            options.valgrind.clone()
        } else {
            which(&options.valgrind.to_string_lossy()).ok_or_else(|| BenchError::Tool {
                tool: "valgrind".into(),
                message: format!("{} not found on PATH", options.valgrind.display()),
            })?
        };
        let env_tool = which("env").ok_or_else(|| BenchError::Tool {
            tool: "env".into(),
            message: "the `env` command is not on PATH; irgate needs it to pin runners before Gungraun 0.18".into(),
        })?;
        let metadata = if caps.workspace_root {
            None
        } else {
            Some(cargo::metadata_no_deps(&fixed_root, options.locked)?)
        };
        exec.write_wrappers(
            &real_valgrind,
            &env_tool,
            &pinning.client_env(),
            metadata.as_deref(),
        )
        .map_err(BenchError::ExecDir)?
    };
    let path_env = {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if !caps.envs {
            dirs.push(exec.wrapper_dir());
        }
        dirs.extend(runner.parent().map(Path::to_path_buf));
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).unwrap_or_default()
    };
    let drive = Driver {
        root: &ws.root,
        path_env: &path_env,
        cargo: cargo_wrapper.as_deref(),
        caps,
        options,
    };

    let mut installed = Vec::new();
    for (s, exe) in suites.iter().zip(&exes) {
        let fixed = exec.bench(&s.bench);
        exec.install(exe, &fixed).map_err(BenchError::ExecDir)?;
        installed.push(fixed);
    }

    // List first: for progress, and for the shards.
    let mut listed: Vec<Vec<String>> = Vec::new();
    for (s, fixed) in suites.iter().zip(&installed) {
        let cwd = exec
            .working_dir(&s.package_dir)
            .map_err(BenchError::ExecDir)?;
        let mut cmd = drive.command(fixed, s, &cwd);
        // With --home the runner needs no `cargo metadata` (the working directory is
        // not a cargo package).
        cmd.args(["--bench", "--list"])
            .arg(format!("--home={}", home.display()));
        if let Some(f) = &options.filter {
            cmd.arg(harness_filter(&s.bench, f));
        }
        let o = cmd
            .output()
            .map_err(|e| BenchError::Run(format!("cannot run {}: {e}", fixed.display())))?;
        if !o.status.success() {
            return Err(BenchError::Run(format!(
                "{}/{}: listing the benchmarks failed ({}): {}",
                s.package,
                s.bench,
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        let names: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(": benchmark"))
            .map(str::to_owned)
            .filter(|name| {
                options
                    .shard
                    .is_none_or(|sh| sh.holds(&shard::list_name_to_id(&s.package, name)))
            })
            .collect();
        listed.push(names);
    }
    let total: usize = listed.iter().map(Vec::len).sum();
    if total == 0 {
        match (&options.filter, options.shard) {
            (Some(f), _) => {
                return Err(BenchError::NoSuite(format!(
                    "--filter {f:?} matches no benchmark (ids look like `group/function/id`)"
                )))
            }
            // An empty shard is a legitimate part of a matrix: its run directory
            // says so, and `compare` passes over it.
            (None, Some(sh)) => {
                let w = format!(
                    "shard {sh} holds no benchmark (the suites have few benchmarks for {} shards); the run directory records an empty shard",
                    sh.count
                );
                say(&format!("warning: {w}"));
                warnings.push(w);
            }
            (None, None) => {
                return Err(BenchError::NoSuite("the suites define no benchmark".into()))
            }
        }
    }
    say(&format!("GLIBC_TUNABLES={tunables}"));
    say(&format!(
        "{total} benchmark{} under Callgrind{}, from {}; summaries -> {}",
        if total == 1 { "" } else { "s" },
        options
            .shard
            .map_or_else(String::new, |sh| format!(" (shard {sh})")),
        exec.path().display(),
        home.display()
    ));

    // One runner process per suite, unless the benchmarks must be picked one by one
    // (a shard) or run side by side by irgate (a runner without `--parallel`).
    let one_by_one = options.shard.is_some() || (options.jobs > 1 && !caps.parallel);
    let done = AtomicUsize::new(0);
    for ((s, fixed), names) in suites.iter().zip(&installed).zip(&listed) {
        if names.is_empty() {
            continue;
        }
        let cwd = exec
            .working_dir(&s.package_dir)
            .map_err(BenchError::ExecDir)?;
        let log_path = out.join(format!("{}-{}.log", s.package, s.bench));
        let log = Mutex::new(std::fs::File::create(&log_path).map_err(io_err(&log_path))?);
        let run_one = |filter: Option<String>, parallel: bool| -> Result<(), BenchError> {
            let mut cmd = drive.command(fixed, s, &cwd);
            cmd.arg("--bench")
                .arg("--save-summary=json")
                .arg(format!("--home={}", home.display()))
                .arg(format!("--callgrind-args={}", pinning.callgrind_args))
                .arg("--output-format=json");
            if caps.envs {
                for (k, v) in pinning.client_env() {
                    cmd.arg(format!("--envs={k}={v}"));
                }
            }
            if parallel {
                cmd.arg(format!("--parallel={}", options.jobs));
            }
            if let Some(f) = filter {
                cmd.arg(f);
            }
            cmd.args(&options.harness_args);
            stream(
                cmd,
                s,
                fixed,
                &log,
                &log_path,
                &done,
                total,
                options.progress,
            )
        };
        if one_by_one {
            let next = AtomicUsize::new(0);
            let failure: Mutex<Option<BenchError>> = Mutex::new(None);
            std::thread::scope(|scope| {
                for _ in 0..options.jobs.clamp(1, names.len()) {
                    scope.spawn(|| loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(name) = names.get(i) else { break };
                        if failure.lock().is_ok_and(|f| f.is_some()) {
                            break;
                        }
                        if let Err(e) = run_one(Some(shard::exact_filter(name)), false) {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    });
                }
            });
            if let Some(e) = failure.into_inner().ok().flatten() {
                return Err(e);
            }
        } else {
            run_one(
                options
                    .filter
                    .as_deref()
                    .map(|f| harness_filter(&s.bench, f)),
                options.jobs > 1 && caps.parallel,
            )?;
        }
    }
    let done = done.into_inner();

    say("canary (calibration workload)");
    let canary = canary::run(&options.valgrind, &exec, &pinning, &out)?;
    drop(exec);

    let mut env = penv::capture_with_tunables(
        &CaptureOptions {
            valgrind: options.valgrind.clone(),
            runner: Some(runner.clone()),
            workspace: ws.root.clone(),
            rustc: canary::rustc(),
            target: None,
            cache: Some(if options.cache_sim {
                CALLGRIND_PINNED_CACHE.to_owned()
            } else {
                "none (cache simulation off)".to_owned()
            }),
        },
        tunables,
    );
    env.valgrind = Some(valgrind_version.lines().next().unwrap_or("").to_owned());
    env.runner = Some(runner_line);
    let (rustc, host) = penv::parse_rustc_vv(&rustc_vv);
    env.rustc = rustc;
    env.target = host;
    env.glibc = glibc;
    env.canary = canary;
    env.extra
        .insert("callgrind_args".into(), pinning.callgrind_args.clone());
    env.extra.insert("preload".into(), pinning.preload_fact());
    env.extra
        .insert("exec_dir".into(), options.exec_dir.display().to_string());

    let env_path = out.join("environment.json");
    let mut json = serde_json::to_string_pretty(&env).map_err(|e| BenchError::Io {
        path: env_path.clone(),
        message: e.to_string(),
    })?;
    json.push('\n');
    crate::baseline::write_atomic(&env_path, json.as_bytes()).map_err(|e| BenchError::Io {
        path: env_path.clone(),
        message: e.to_string(),
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let suites_text: Vec<String> = suites
        .iter()
        .map(|s| format!("\"{}/{}\"", s.package, s.bench))
        .collect();
    let run_toml = format!(
        "# Facts about this run. Written by `irgate bench`.\nsuites = [{}]\nbenchmarks = {done}\nfilter = {}\nshard = {}\nwall_seconds = {}\n",
        suites_text.join(", "),
        toml_string(options.filter.as_deref().unwrap_or("")),
        toml_string(&options.shard.map_or_else(String::new, |sh| sh.to_string())),
        seconds.round() as u64
    );
    let command = RunCommand {
        workspace: std::fs::canonicalize(&options.workspace)
            .unwrap_or_else(|_| options.workspace.clone()),
        packages: options.packages.clone(),
        benches: options.benches.clone(),
        filter: options.filter.clone().unwrap_or_default(),
        runner: runner.clone(),
        valgrind: options.valgrind.clone(),
        no_preload: options.no_preload,
        cache_sim: options.cache_sim,
        locked: options.locked,
        harness_args: options.harness_args.clone(),
    };
    let run_toml = match toml::to_string(&CommandTable { command }) {
        Ok(t) => format!("{run_toml}\n{t}"),
        Err(_) => run_toml,
    };
    let run_path = out.join("run.toml");
    crate::baseline::write_atomic(&run_path, run_toml.as_bytes()).map_err(|e| BenchError::Io {
        path: run_path.clone(),
        message: e.to_string(),
    })?;
    say(&format!(
        "done: {done} benchmark{} in {seconds:.0} s; environment: {}",
        if done == 1 { "" } else { "s" },
        env_path.display()
    ));
    Ok(BenchOutcome {
        out,
        benchmarks: done,
        environment: env,
        seconds,
        warnings,
    })
}

/// What `run.toml` says about a run directory (the parts read back).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RunFacts {
    /// Benchmarks the run measured.
    #[serde(default)]
    pub benchmarks: usize,
    /// The shard (`K/N`), empty for a whole run.
    #[serde(default)]
    pub shard: String,
    /// How the run was made, to make another one like it (absent in runs of irgate
    /// before it recorded this).
    #[serde(default)]
    pub command: Option<RunCommand>,
}

/// The `[command]` table of `run.toml`: the options of `irgate bench` that chose and
/// ran the benchmarks, so that `compare --rebase-on-drift` can run another revision
/// the same way. (The tunables are the environment's, in `environment.json`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunCommand {
    /// The workspace directory, absolute.
    pub workspace: PathBuf,
    /// `--package` values.
    #[serde(default)]
    pub packages: Vec<String>,
    /// `--bench` values.
    #[serde(default)]
    pub benches: Vec<String>,
    /// `--filter` (empty for none).
    #[serde(default)]
    pub filter: String,
    /// The runner executable used.
    pub runner: PathBuf,
    /// The valgrind executable used.
    pub valgrind: PathBuf,
    /// `--no-preload`.
    #[serde(default)]
    pub no_preload: bool,
    /// `--cache-sim`.
    #[serde(default)]
    pub cache_sim: bool,
    /// `--locked`.
    #[serde(default)]
    pub locked: bool,
    /// Arguments after `--`.
    #[serde(default)]
    pub harness_args: Vec<String>,
}

#[derive(serde::Serialize)]
struct CommandTable {
    command: RunCommand,
}

impl RunFacts {
    /// Reads `<dir>/run.toml`; `None` when `dir` is not a directory or has none (not
    /// a run of `irgate bench`).
    pub fn load(dir: &Path) -> Result<Option<Self>, String> {
        if !dir.is_dir() {
            return Ok(None);
        }
        let path = dir.join("run.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {}", path.display(), e.message())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Whether this is a shard that held no benchmark (nothing to read, not an error).
    pub fn is_empty_shard(&self) -> bool {
        self.benchmarks == 0 && !self.shard.is_empty()
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// What every command that drives a suite shares.
struct Driver<'a> {
    root: &'a Path,
    path_env: &'a std::ffi::OsStr,
    /// The `cargo` wrapper for runners that ask `cargo metadata`.
    cargo: Option<&'a Path>,
    caps: Capabilities,
    options: &'a BenchOptions,
}

impl Driver<'_> {
    /// The command that drives one suite: the fixed copy of its bench binary, run in
    /// the fixed stand-in `cwd` for its package directory (where cargo would run it),
    /// with the runner (and any wrappers) first on `PATH`.
    fn command(&self, fixed: &Path, s: &Suite, cwd: &Path) -> Command {
        let mut cmd = Command::new(fixed);
        cmd.current_dir(cwd)
            .env("PATH", self.path_env)
            .env("CARGO_PKG_NAME", &s.package)
            .stdin(Stdio::null());
        if self.caps.workspace_root {
            cmd.env("GUNGRAUN_WORKSPACE_ROOT", self.root);
        }
        if let Some(c) = self.cargo {
            cmd.env("CARGO", c);
        }
        for (k, v) in &self.options.driver_env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Runs one driver command to its end: its stdout goes to the suite's log (whole, so
/// that runs side by side do not interleave lines) and its JSON lines to progress.
#[allow(clippy::too_many_arguments)]
fn stream(
    mut cmd: Command,
    s: &Suite,
    fixed: &Path,
    log: &Mutex<std::fs::File>,
    log_path: &Path,
    done: &AtomicUsize,
    total: usize,
    progress: bool,
) -> Result<(), BenchError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| BenchError::Run(format!("cannot run {}: {e}", fixed.display())))?;
    let mut text = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(io_err(log_path))?;
            writeln!(text, "{line}").map_err(io_err(log_path))?;
            match progress_line(&line) {
                Some((id, ir)) => {
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if progress {
                        eprintln!("[{n}/{total}] {}/{}/{id}  Ir {ir}", s.package, s.bench);
                    }
                }
                None if progress && !line.trim().is_empty() => eprintln!("{line}"),
                None => {}
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| BenchError::Run(format!("{}: {e}", fixed.display())))?;
    if let Ok(mut f) = log.lock() {
        f.write_all(&text).map_err(io_err(log_path))?;
    }
    if !status.success() {
        return Err(BenchError::Run(format!(
            "{}/{}: the benchmark run failed ({status}); its output is in {}",
            s.package,
            s.bench,
            log_path.display()
        )));
    }
    Ok(())
}

/// `(group/function[/id], Ir)` from one `--output-format=json` line, when it is one.
fn progress_line(line: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let function = v.get("function_name")?.as_str()?;
    // v7 names the group; older schemas have it in the module path
    // (`bench::group::function`).
    let group = match v.get("group").and_then(|g| g.as_str()) {
        Some(g) => g.to_owned(),
        None => {
            let path = v.get("module_path")?.as_str()?;
            let parts: Vec<&str> = path.split("::").collect();
            parts.get(1..parts.len().saturating_sub(1))?.join("::")
        }
    };
    let mut id = format!("{group}/{function}");
    if let Some(case) = v.get("id").and_then(|i| i.as_str()) {
        id.push('/');
        id.push_str(case);
    }
    // v7 keeps the new value under `values/new`; v4 to v6 under `metrics`, as a
    // number, `{"Int": n}` or `{"Left"|"Both": …}`; v3 in its callgrind summary.
    let ir = [
        "/profiles/0/data/total/metrics/Ir/values/new",
        "/profiles/0/summaries/total/summary/Callgrind/Ir/metrics",
        "/callgrind_summary/callgrind_run/total/summary/Ir/metrics",
    ]
    .iter()
    .find_map(|p| v.pointer(p))
    .and_then(progress_number)
    .unwrap_or_else(|| "?".into());
    Some((id, ir))
}

/// The integer of a metric value in any summary schema's shape, as text.
fn progress_number(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::Object(m) => m
            .get("Int")
            .or_else(|| m.get("Left"))
            .or_else(|| m.get("Both").and_then(|b| b.get(0)))
            .or_else(|| m.get("new"))
            .and_then(progress_number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_translate_to_the_harness_syntax() {
        assert_eq!(harness_filter("ir", "dispatch/*"), "ir::dispatch::*");
        assert_eq!(harness_filter("ir", "loading/dir"), "ir::loading::dir*");
        assert_eq!(harness_filter("ir", "a/b?/c"), "ir::a::b?::c");
    }

    #[test]
    fn progress_reads_json_lines() {
        let l = r#"{"group":"g","function_name":"f","id":"x","profiles":[{"data":{"total":{"metrics":{"Ir":{"values":{"new":1234}}}}}}]}"#;
        assert_eq!(progress_line(l), Some(("g/f/x".into(), "1234".into())));
        assert_eq!(progress_line("ir::g::f x"), None);
        let v6 = r#"{"module_path":"ir::g::f","function_name":"f","id":"x","profiles":[]}"#;
        assert_eq!(progress_line(v6), Some(("g/f/x".into(), "?".into())));
        let v6 = r#"{"module_path":"ir::g::f","function_name":"f","profiles":[{"summaries":{"total":{"summary":{"Callgrind":{"Ir":{"metrics":{"Left":{"Int":178240}}}}}}}}]}"#;
        assert_eq!(progress_line(v6), Some(("g/f".into(), "178240".into())));
        let both = r#"{"module_path":"ir::g::f","function_name":"f","profiles":[{"summaries":{"total":{"summary":{"Callgrind":{"Ir":{"metrics":{"Both":[{"Int":5},{"Int":4}]}}}}}}}]}"#;
        assert_eq!(progress_line(both), Some(("g/f".into(), "5".into())));
    }
}
