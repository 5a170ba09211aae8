//! The command line of `irgate`: its subcommands, their options and their help.
//! Parsing only; `main.rs` runs what was asked.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use irgate_core::bench::{self, doctor};
use irgate_core::init;
use irgate_core::render::Format;

pub(crate) const AFTER_HELP: &str = "\
Exit codes: 0 the gate passed, 1 the gate failed (regression, missing benchmark, or
environment drift under a strict policy), 2 could not judge (bad input, I/O, usage).

Typical use, at the root of a cargo workspace whose bench targets use gungraun:
  irgate init                                # once: irgate.toml, .github/workflows/irgate*.yml
  irgate bench --out target/irgate/run       # the pinned run: summaries + environment.json
  irgate accept --reason 'first baselines' target/irgate/run    # once: writes baselines/
  irgate compare target/irgate/run           # every change: judge against baselines/
`irgate bench` names the bench targets itself, so libtest and criterion targets of the
same package are not handed Gungraun's options.";

/// CI regression gate for instruction-count benchmarks (Gungraun / iai-callgrind).
#[derive(Parser, Debug)]
#[command(name = "irgate", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Print (or write) this machine's environment fingerprint as JSON.
    ///
    /// Records valgrind, runner, rustc, target, glibc, GLIBC_TUNABLES (from this
    /// process's environment: run it with the value the benchmarks get), CPU model, the
    /// CPU flags glibc's ifunc choice depends on, and the cache geometry.
    Env {
        /// Write the fingerprint to FILE instead of stdout (atomically).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The cache geometry passed to Callgrind, when pinned
        /// (e.g. "--I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64").
        #[arg(long, value_name = "GEOMETRY")]
        cache: Option<String>,
        /// The runner executable whose version to record (default: the runner the
        /// workspace's Cargo.lock names; it must match the gungraun or iai-callgrind
        /// version there). A path that does not answer `--version` is an error.
        #[arg(long, value_name = "PATH")]
        runner: Option<PathBuf>,
        /// The cargo workspace whose Cargo.lock names the runner.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
        /// The valgrind executable.
        #[arg(long, value_name = "PATH", default_value = "valgrind")]
        valgrind: PathBuf,
        /// The target triple the benchmarks are built for (default: rustc's host).
        #[arg(long, value_name = "TRIPLE")]
        target: Option<String>,
        /// The GLIBC_TUNABLES value the benchmarks run with (default: this process's
        /// GLIBC_TUNABLES, empty when unset).
        #[arg(long, value_name = "VALUE")]
        glibc_tunables: Option<String>,
        /// A further fact the instruction counts depend on, recorded and compared as
        /// `extra.KEY` (repeatable; KEY is a-z, 0-9, _; e.g.
        /// `--extra callgrind_args=--cache-sim=no`).
        #[arg(long, value_name = "KEY=VALUE")]
        extra: Vec<String>,
    },
    /// Compare benchmark results with the committed baselines and judge them.
    Compare {
        #[command(flatten)]
        inputs: Inputs,
        /// The policy file. Default: ./irgate.toml when it exists, else built-in defaults.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Output format for stdout (or --output): terminal, markdown or json.
        #[arg(long, default_value = "terminal", value_parser = parse_format)]
        format: Format,
        /// Write the rendered output to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also write the JSON comparison to FILE (also when the gate cannot judge).
        #[arg(long, value_name = "FILE")]
        save_json: Option<PathBuf>,
        /// Also write the markdown rendering to FILE (e.g. $GITHUB_STEP_SUMMARY).
        #[arg(long, value_name = "FILE")]
        save_markdown: Option<PathBuf>,
        /// Judge only benchmarks whose id matches GLOB (repeatable; `*` stays within
        /// one `/` part, `**` crosses parts), in the run and in the baselines alike, so
        /// that a partial run does not report the rest as Missing.
        #[arg(long, value_name = "GLOB")]
        only: Vec<String>,
        /// The run is a deliberate part of the suite (e.g. `ci/gate --filter`): judge
        /// only the benchmarks it has, so baselines without a result are not Missing.
        #[arg(long)]
        partial: bool,
        /// When the environment changed since the baselines, build and run REV's
        /// benchmarks in this environment (a temporary git worktree, the head run's
        /// `irgate bench` options and GLIBC_TUNABLES), report each benchmark's change
        /// split into the environment's share and the code's, and judge the code's
        /// share. Costs one more build and run. Without drift, judges as usual.
        #[arg(long, value_name = "REV")]
        rebase_on_drift: Option<String>,
        /// Where --rebase-on-drift leaves REV's run.
        #[arg(long, value_name = "DIR", default_value = "target/irgate/rebase")]
        rebase_out: PathBuf,
        #[command(flatten)]
        look: Look,
    },
    /// Write the current results into the baselines (only the benchmarks named).
    ///
    /// Refuses an empty run and any result that cannot be read. With --only, touches
    /// only matching benchmarks and refuses to mix environments in one baseline file.
    /// The files are replaced as one change: killed midway, the old baselines stand,
    /// or a journal is left that `irgate baseline recover` (or the next accept)
    /// finishes. `accepted_at` is the clock's time, or $SOURCE_DATE_EPOCH's when set.
    Accept {
        #[command(flatten)]
        inputs: Inputs,
        /// Why these numbers are right (recorded in the baseline files).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Accept only benchmarks whose id matches GLOB (repeatable; `*` stays within
        /// one `/`-separated part, `**` crosses parts).
        #[arg(long, value_name = "GLOB")]
        only: Vec<String>,
        /// The commit the results come from: a full sha, or a revision git resolves to
        /// one (default: $GITHUB_SHA, else `git rev-parse HEAD`).
        #[arg(long, value_name = "SHA")]
        commit: Option<String>,
        /// Who accepts (default: $GITHUB_ACTOR, else $USER).
        #[arg(long, value_name = "NAME")]
        accepted_by: Option<String>,
        /// Metrics to store besides Ir (repeatable; default: Dr, Dw when recorded).
        #[arg(long, value_name = "NAME")]
        metric: Vec<String>,
        /// How many functions by self and by inclusive Ir to store per benchmark in
        /// `<bench>.profile.toml`, from the Callgrind outputs beside each summary.json
        /// (0: write no profile).
        #[arg(long, value_name = "N", default_value_t = irgate_core::profile::DEFAULT_TOP)]
        profile_top: usize,
    },
    /// Inspect the committed baselines, or finish an interrupted accept.
    Baseline {
        #[command(subcommand)]
        command: BaselineCmd,
    },
    /// Find the first commit whose count of one benchmark moved past its threshold.
    ///
    /// Works in a temporary git worktree (your checkout is not touched): measures the
    /// benchmark at BAD and at GOOD, refuses when BAD is within the threshold of
    /// GOOD, then runs `git bisect run` with a step that builds and runs only that
    /// benchmark and compares it with GOOD's value (counts are deterministic, so one
    /// run per commit decides). A commit that moved the way BAD did is bad; one that
    /// does not build or lacks the benchmark is skipped. Prints the first bad
    /// commit, its subject and its count. Exits 0 when git named one commit, 2 when
    /// it could not (nothing moved, only skipped commits left, or an error).
    #[command(
        after_help = "Example:\n  irgate bisect v1.2.0 HEAD --bench scarab-plugins/ir/dispatch/output/processing"
    )]
    Bisect {
        /// The last commit known good.
        good: String,
        /// A commit known bad (e.g. HEAD).
        bad: String,
        /// The benchmark: its full id, `package/bench/group/function[/case]`.
        #[arg(long, value_name = "ID")]
        bench: String,
        /// A directory inside the cargo workspace, in the repository's work tree.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
        /// The policy whose rule for the benchmark (threshold, floor) decides what
        /// moved (default: ./irgate.toml, else the built-in defaults).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// The threshold in percent, instead of the policy's.
        #[arg(long, value_name = "PCT")]
        threshold_pct: Option<f64>,
        /// Where the runs, each step's configuration and the values measured go.
        #[arg(long, value_name = "DIR", default_value = "target/irgate/bisect")]
        out: PathBuf,
        /// The runner executable (default: as for `irgate bench`).
        #[arg(long, value_name = "PATH")]
        runner: Option<PathBuf>,
        /// The valgrind executable.
        #[arg(long, value_name = "PATH", default_value = "valgrind")]
        valgrind: PathBuf,
        /// Use this GLIBC_TUNABLES value instead of the pinned one for this glibc.
        #[arg(long, value_name = "VALUE", env = "IRGATE_GLIBC_TUNABLES")]
        glibc_tunables: Option<String>,
        /// Pass --locked to cargo.
        #[arg(long)]
        locked: bool,
        /// Where the preload and canary builds are kept (as for `irgate bench`).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One step of `irgate bisect`, run by `git bisect run` (exit 0 good, 1 bad,
    /// 125 skip, 128 error).
    #[command(hide = true)]
    BisectStep {
        /// The step's configuration, written by `irgate bisect`.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// The accepted values of each benchmark, from the git history of the baselines.
    ///
    /// Follows the first parent from HEAD (the default branch's line of commits) and
    /// lists, for each benchmark, every value of the metric it was given: the commit,
    /// the date it was accepted, who accepted it, the reason, and the change from
    /// the value before. Uncommitted changes are not read. Exits 2 outside a git
    /// repository, or when --since names no commit.
    History {
        /// The baseline directory (a path inside the git work tree).
        #[arg(long, value_name = "DIR", default_value = "baselines")]
        baselines: PathBuf,
        /// Only benchmarks whose id (`package/bench/group/function[/case]`) or key
        /// in its suite (`group/function[/case]`) matches GLOB (repeatable; `*` stays
        /// within one `/` part, `**` crosses parts).
        #[arg(long, value_name = "GLOB")]
        bench: Vec<String>,
        /// Only values accepted after REV (each benchmark's value at REV is kept as
        /// the starting point).
        #[arg(long, value_name = "REV")]
        since: Option<String>,
        /// The metric followed.
        #[arg(long, value_name = "NAME", default_value = "Ir")]
        metric: String,
        /// Output format: terminal, markdown, json, or svg (a trend chart per benchmark).
        #[arg(long, default_value = "terminal", value_parser = ["terminal", "markdown", "json", "svg"])]
        format: String,
        /// Write to FILE instead of stdout (atomically).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Re-render a saved JSON comparison.
    Report {
        /// The comparison JSON written by `compare --save-json` or `--format json`.
        file: PathBuf,
        /// Output format: terminal, markdown or json.
        #[arg(long, default_value = "markdown", value_parser = parse_format)]
        format: Format,
        /// Write to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit with the comparison's gate code (0/1/2) instead of 0.
        #[arg(long)]
        exit_status: bool,
        #[command(flatten)]
        look: Look,
    },
    /// Set a repository up for the gate: irgate.toml and the three workflows.
    ///
    /// Run at the root of a cargo workspace (the repository root). Finds the bench
    /// targets that use gungraun or iai-callgrind (cargo metadata) and the runner
    /// version they need (the library's), then writes irgate.toml (every key
    /// commented out at its default) and .github/workflows/irgate.yml (the gate: pull_request, read-only
    /// token), irgate-report.yml (posts the verdict: workflow_run) and
    /// irgate-accept.yml (`/irgate accept`: issue_comment), filled in with the suites,
    /// the runner version and where the workflows get irgate from. A file that exists
    /// with other contents is left alone unless --force. Prints what it wrote and
    /// skipped, and the three commands that make the first baselines and open the
    /// first gated pull request.
    #[command(after_help = INIT_AFTER_HELP)]
    Init {
        /// A directory inside the cargo workspace; the files go to its root.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
        /// Overwrite files that exist with other contents.
        #[arg(long)]
        force: bool,
        /// The GitHub repository the workflows take irgate from (the action and
        /// `cargo install --git`).
        #[arg(long, value_name = "OWNER/NAME", default_value = init::DEFAULT_REPO)]
        irgate_repo: String,
        /// The tag or full commit id of that repository the workflows pin.
        #[arg(long, value_name = "REF", default_value = DEFAULT_REF)]
        irgate_ref: String,
    },
    /// Run a workspace's Callgrind benchmarks in the pinned environment.
    ///
    /// Finds the bench targets that use gungraun (0.17 to 0.20) or iai-callgrind (0.14
    /// to 0.16) through cargo metadata, checks that the runner has the library's exact
    /// version (`irgate setup` installs it), chooses GLIBC_TUNABLES for this glibc,
    /// builds the entropy preload and the canary, runs each bench binary from a fixed
    /// directory (so counts do not follow the checkout path) and writes a run directory
    /// with the summaries and environment.json, ready for `compare` and `accept`.
    #[command(after_help = BENCH_AFTER_HELP)]
    Bench {
        #[command(flatten)]
        args: BenchArgs,
    },
    /// Install the benchmark runner the workspace's Callgrind benches need.
    ///
    /// Reads the gungraun or iai-callgrind version from Cargo.lock (cargo metadata)
    /// and makes the runner of exactly that version available: when irgate's cache,
    /// PATH or ~/.cargo/bin already has it, nothing is installed; otherwise
    /// `cargo install --locked` puts it in <cache>/runners/<runner>-<version>/, where
    /// `irgate bench` looks first. Prints each runner's path on stdout.
    #[command(
        after_help = "Example (CI, with the cache directory cached between runs):
  IRGATE_CACHE_DIR=~/.cache/irgate irgate setup && irgate bench"
    )]
    Setup {
        /// A directory inside the cargo workspace.
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
        /// Where runners are installed (default: $IRGATE_CACHE_DIR,
        /// $XDG_CACHE_HOME/irgate or ~/.cache/irgate).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Pass --locked to cargo metadata.
        #[arg(long)]
        locked: bool,
    },
    /// Measure how much each benchmark moves under the known false-alarm sources.
    ///
    /// Runs the suite once, then once per variation: `rerun` (the same again),
    /// `relocate` (the tree copied to a path 64 characters longer, built and run there),
    /// `env` (256 extra environment variables, one of 64 KiB) and `no-preload` (without
    /// the entropy preload). Reports per benchmark the Ir change under each, and marks
    /// (!) changes that reach half the benchmark's threshold.
    Doctor {
        #[command(flatten)]
        args: BenchArgs,
        /// The variations to try, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "rerun,relocate,env,no-preload"
        )]
        sources: Vec<String>,
        /// Where the runs and the relocated copy go (default: target/irgate/doctor).
        #[arg(long, value_name = "DIR")]
        work: Option<PathBuf>,
        /// The policy whose thresholds mark the risky changes (default: ./irgate.toml).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// How many characters longer the relocated checkout's path is.
        #[arg(long, value_name = "N", default_value_t = doctor::RELOCATE_BY)]
        relocate_by: usize,
        /// Exit 1 when any benchmark moved under any of the chosen variations.
        #[arg(long)]
        fail_on_move: bool,
        /// Also write the findings as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Talk to GitHub: post a verdict, handle an event, or run the webhook service.
    ///
    /// See docs/GITHUB.md for set-up, credentials and permissions.
    #[cfg(feature = "github")]
    #[command(subcommand)]
    Github(crate::github::GithubCommand),
}

/// The irgate tag the written workflows pin by default: this binary's version.
const DEFAULT_REF: &str = concat!("v", env!("CARGO_PKG_VERSION"));

pub(crate) const INIT_AFTER_HELP: &str = "\
Exit codes: 0 the files are in place (written, or left as they were), 2 nothing to set
up (no bench target uses gungraun or iai-callgrind, a harness version irgate bench
does not pin, suites at different versions) or a file could not be written.

Example, at the repository root:
  irgate init                 # writes irgate.toml and .github/workflows/irgate*.yml
  irgate init --force         # the same, overwriting files that differ";

pub(crate) const BENCH_AFTER_HELP: &str = "\
Exit codes: 0 the run finished, 2 it could not be made (no runner, a runner at another
version than the library, no valgrind, a glibc outside the tunables table without
--glibc-tunables, a canary that cannot run, a failed build or benchmark).

The process start is pinned: GLIBC_TUNABLES switches off every hwcap glibc's string
ifunc selectors test (per glibc version), a preload fixes getrandom/time/clock_gettime,
Callgrind runs with --cache-sim=no, and each bench binary runs from /tmp/irgate/run/.

Runners without --envs (gungraun 0.17, iai-callgrind) get the same environment from a
valgrind wrapper in /tmp/irgate/bin; the bench sources need no edit.

Example:
  irgate setup && irgate bench --out target/irgate/run
  irgate compare --baselines baselines target/irgate/run

Sharded over a CI matrix (one job per K), then judged together:
  irgate bench --shard 2/4 --out run-2
  irgate compare --baselines baselines run-1 run-2 run-3 run-4";

/// What `bench` and `doctor` run.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// A directory inside the cargo workspace.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) workspace: PathBuf,
    /// Only this package's suites (repeatable).
    #[arg(long, short = 'p', value_name = "PACKAGE")]
    pub(crate) package: Vec<String>,
    /// Only this bench target (repeatable).
    #[arg(long, value_name = "NAME")]
    pub(crate) bench: Vec<String>,
    /// Only benchmarks whose `group/function/id` matches GLOB (`*` any text); a
    /// pattern without `*` or `?` matches as a prefix.
    #[arg(long, value_name = "GLOB")]
    pub(crate) filter: Option<String>,
    /// The run directory.
    #[arg(long, value_name = "DIR", default_value = "target/irgate/run")]
    pub(crate) out: PathBuf,
    /// The runner executable (default: the one `irgate setup` put in the cache, else
    /// one on PATH or in ~/.cargo/bin; it must have the version of the gungraun or
    /// iai-callgrind library in Cargo.lock, or the run stops).
    #[arg(long, value_name = "PATH")]
    pub(crate) runner: Option<PathBuf>,
    /// The valgrind executable.
    #[arg(long, value_name = "PATH", default_value = "valgrind")]
    pub(crate) valgrind: PathBuf,
    /// Use this GLIBC_TUNABLES value instead of the pinned one for this glibc.
    #[arg(long, value_name = "VALUE", env = "IRGATE_GLIBC_TUNABLES")]
    pub(crate) glibc_tunables: Option<String>,
    /// Run without the entropy preload (experiments only; recorded as preload = none).
    #[arg(long)]
    pub(crate) no_preload: bool,
    /// Simulate caches with a pinned geometry (for gating on cache metrics).
    #[arg(long)]
    pub(crate) cache_sim: bool,
    /// Benchmarks to run at once (counts do not depend on it).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1)]
    pub(crate) jobs: usize,
    /// Run only shard K of N: a fixed 1/N of the benchmarks, split by a hash of each
    /// benchmark's id (adding a benchmark moves no other). Give every shard its own
    /// --out; `irgate compare` takes all the run directories at once.
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<bench::shard::Shard>,
    /// Pass --locked to cargo.
    #[arg(long)]
    pub(crate) locked: bool,
    /// Where the preload and canary builds are kept (default: $IRGATE_CACHE_DIR,
    /// $XDG_CACHE_HOME/irgate or ~/.cache/irgate).
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Arguments for the harness itself (after --).
    #[arg(last = true, value_name = "HARNESS_ARGS")]
    pub(crate) harness_args: Vec<String>,
}

impl BenchArgs {
    pub(crate) fn options(&self) -> bench::BenchOptions {
        bench::BenchOptions {
            workspace: self.workspace.clone(),
            packages: self.package.clone(),
            benches: self.bench.clone(),
            filter: self.filter.clone(),
            out: self.out.clone(),
            runner: self.runner.clone(),
            valgrind: self.valgrind.clone(),
            glibc_tunables: self.glibc_tunables.clone(),
            no_preload: self.no_preload,
            cache_sim: self.cache_sim,
            jobs: self.jobs.max(1),
            shard: self.shard,
            locked: self.locked,
            cache_dir: self.cache_dir.clone(),
            harness_args: self.harness_args.clone(),
            ..bench::BenchOptions::default()
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum BaselineCmd {
    /// Print what the baselines hold.
    Show {
        /// The baseline directory.
        #[arg(long, value_name = "DIR", default_value = "baselines")]
        baselines: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Finish an accept that was interrupted (killed, or the machine stopped) while it
    /// replaced baseline files.
    ///
    /// An accept that got as far as its journal (`.irgate-accept.toml` in the
    /// baseline directory) is completed: its new files are put in place, each checked
    /// against the hash the journal records. One interrupted earlier left only
    /// `.*.irgate-new` files beside the old baselines; they are removed. Until then,
    /// `compare` refuses a directory with a journal. `irgate accept` does this first
    /// on its own; this command is for a tree where no new accept is wanted.
    Recover {
        /// The baseline directory.
        #[arg(long, value_name = "DIR", default_value = "baselines")]
        baselines: PathBuf,
    },
}

/// Where results and baselines come from.
#[derive(clap::Args, Debug)]
pub(crate) struct Inputs {
    /// The baseline directory (one <package>/<bench>.toml per bench target).
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub(crate) baselines: PathBuf,
    /// The environment fingerprint of the run: the JSON of `irgate env --output`.
    /// Default: the `environment.json` that `irgate bench` left in (or beside) a
    /// results directory, else captured now, on this machine (without extras, and
    /// with GLIBC_TUNABLES unknown: only the benchmark process saw it).
    #[arg(long, value_name = "FILE")]
    pub(crate) env: Option<PathBuf>,
    /// The repository root, to name bench source files relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) repo_root: PathBuf,
    /// Result directories (searched recursively for summary.json) or files (a
    /// summary.json or the `--output-format=json` stream). Shards are merged; a
    /// benchmark present twice is an error.
    #[arg(required = true, value_name = "RESULTS")]
    pub(crate) results: Vec<PathBuf>,
}

/// Presentation options.
#[derive(clap::Args, Debug)]
pub(crate) struct Look {
    /// Colour: auto follows NO_COLOR and whether stdout is a terminal.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub(crate) color: ColorArg,
    /// List unchanged benchmarks in the terminal table too.
    #[arg(long)]
    pub(crate) show_unchanged: bool,
}

/// `--format`'s value, with the possible values listed on error.
pub(crate) fn parse_format(s: &str) -> std::result::Result<Format, String> {
    s.parse()
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColorArg {
    Auto,
    Always,
    Never,
}
