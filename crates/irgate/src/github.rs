//! `irgate github ...`: the command-line face of the GitHub bot (`irgate-github`).
//!
//! ```text
//! irgate github post --repo OWNER/NAME --pr N --sha HEAD_SHA --comparison comparison.json
//! irgate github handle-event --event-name "$GITHUB_EVENT_NAME" --event-path "$GITHUB_EVENT_PATH"
//! irgate github serve [--config irgate-bot.toml]
//! ```
//!
//! Credentials: `GITHUB_TOKEN` (or `--token-env NAME`), or a GitHub App with
//! `--app-id`/`GITHUB_APP_ID`, `--app-key-file`/`GITHUB_APP_PRIVATE_KEY_PATH` and
//! `--installation-id`/`GITHUB_APP_INSTALLATION_ID`; the App wins when both are
//! given. `--api-url`/`GITHUB_API_URL` points at GitHub Enterprise or a test
//! server; it and `--details-url` must be `http(s)://HOST...` URLs. `post`
//! takes a pull-request number of 1 or more and a full 40-hex `--sha`.
//! Exit codes: `0` done, `2` could not do it (bad input, GitHub refused
//! or kept failing); `post --exit-with-gate` returns the gate's 0/1/2 instead
//! of 0 after posting.
//!
//! This module owns what a process needs and the library must not decide: the
//! tokio runtime, the tracing subscriber and the exit codes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use irgate_core::Comparison;
use irgate_github::accept::AcceptConfig;
use irgate_github::artifact::ArtifactSource;
use irgate_github::check::{CheckOptions, Repo, ReportMode, DEFAULT_MAX_ANNOTATIONS};
use irgate_github::client::{
    check_http_url, Auth, ClientConfig, GithubClient, RetryPolicy, DEFAULT_API_URL,
};
use irgate_github::comment::{PullRequest, StickyOptions};
use irgate_github::events::{Credentials, GithubHandler};
use irgate_github::report::{self, PostOptions};
use irgate_github::results::ResultsSource;
use irgate_github::server::{self, ServerConfig};

/// `irgate github` subcommands.
#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Post a comparison to a pull request: check run (or commit status) and sticky comment.
    Post(PostArgs),
    /// Run the webhook service (GitHub App mode).
    Serve(ServeArgs),
    /// Handle one GitHub event inside a workflow (Actions mode).
    HandleEvent(HandleEventArgs),
}

/// How to reach and authenticate against GitHub.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// REST API root (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, env = "GITHUB_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Environment variable holding the token.
    #[arg(long, default_value = "GITHUB_TOKEN")]
    pub token_env: String,
    /// GitHub App id (App authentication instead of a token).
    #[arg(long, env = "GITHUB_APP_ID")]
    pub app_id: Option<u64>,
    /// GitHub App private key, PEM file.
    #[arg(long, env = "GITHUB_APP_PRIVATE_KEY_PATH")]
    pub app_key_file: Option<PathBuf>,
    /// The App's installation id on the repository's owner.
    #[arg(long, env = "GITHUB_APP_INSTALLATION_ID")]
    pub installation_id: Option<u64>,
    /// Retries of a failing request (5xx, 429, rate limit, timeout).
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// Bound on one request including its retries and waits, seconds.
    #[arg(long, default_value_t = 120)]
    pub request_budget_secs: u64,
    /// Bound on one attempt, seconds.
    #[arg(long, default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Bound on the whole command (`post`, `handle-event`), seconds.
    #[arg(long, default_value_t = 600)]
    pub total_timeout_secs: u64,
}

impl ConnectionArgs {
    /// Runs `work` within the total time bound.
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        let limit = Duration::from_secs(self.total_timeout_secs);
        tokio::time::timeout(limit, work)
            .await
            .unwrap_or_else(|_| Err(format!("gave up after the {limit:?} total time bound")))
    }
}

impl ConnectionArgs {
    fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            total_budget: Duration::from_secs(self.request_budget_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            ..RetryPolicy::default()
        }
    }

    fn app_key(&self) -> Result<Option<(u64, String)>, String> {
        match (self.app_id, &self.app_key_file) {
            (Some(id), Some(path)) => std::fs::read_to_string(path)
                .map(|pem| Some((id, pem)))
                .map_err(|e| format!("GitHub App private key {}: {e}", path.display())),
            (Some(_), None) => {
                Err("--app-id needs --app-key-file (GITHUB_APP_PRIVATE_KEY_PATH)".into())
            }
            (None, Some(_)) => Err("--app-key-file needs --app-id (GITHUB_APP_ID)".into()),
            (None, None) => Ok(None),
        }
    }

    /// Client configuration for one installation or token.
    fn client_config(&self) -> Result<ClientConfig, String> {
        check_http_url(&self.api_url).map_err(|e| format!("--api-url (GITHUB_API_URL): {e}"))?;
        let auth = match self.app_key()? {
            Some((app_id, private_key_pem)) => Auth::App {
                app_id,
                private_key_pem,
                installation_id: self.installation_id.ok_or(
                    "GitHub App authentication needs --installation-id (GITHUB_APP_INSTALLATION_ID)",
                )?,
            },
            None => Auth::Token(
                std::env::var(&self.token_env)
                    .ok()
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| {
                        format!(
                            "no credentials: set {} or give GitHub App credentials (--app-id, --app-key-file, --installation-id)",
                            self.token_env
                        )
                    })?,
            ),
        };
        Ok(ClientConfig {
            base_url: self.api_url.clone(),
            auth,
            retry: self.retry(),
        })
    }
}

/// Where the verdict goes, as given on the command line ([`ReportMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Check run, falling back to a commit status when not allowed.
    Auto,
    /// Check run only.
    Check,
    /// Commit status only.
    Status,
}

impl From<ModeArg> for ReportMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Auto => ReportMode::Auto,
            ModeArg::Check => ReportMode::Check,
            ModeArg::Status => ReportMode::Status,
        }
    }
}

/// How the verdict is shown.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Check run, commit status, or check run with status fallback.
    #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
    pub mode: ModeArg,
    /// Make "could not judge" a failing check (`failure`) instead of `neutral`.
    #[arg(long)]
    pub fail_closed: bool,
    /// Login the bot posts as (`github-actions[bot]`, `<app-slug>[bot]`); only
    /// its comments are taken for the sticky one. Default: any bot account's.
    #[arg(long, env = "IRGATE_BOT_LOGIN")]
    pub bot_login: Option<String>,
    /// Create the comment only when something changed (an existing one is still updated).
    #[arg(long)]
    pub only_when_changed: bool,
    /// Post only the check run / status, no comment.
    #[arg(long)]
    pub no_comment: bool,
    /// Leave the "Accept" button off a failed check run (Actions-only mode:
    /// GitHub delivers button presses only to the App that made the run).
    #[arg(long)]
    pub no_accept_button: bool,
    /// Checkout of the measured commit, for annotation line numbers (default:
    /// read the bench files from the commit through the API).
    #[arg(long)]
    pub source_root: Option<PathBuf>,
    /// "Details" link, e.g. the workflow run.
    #[arg(long)]
    pub details_url: Option<String>,
    /// At most this many annotations on the check run (the summary says how
    /// many regressions were left without one).
    #[arg(long, env = "IRGATE_MAX_ANNOTATIONS", default_value_t = DEFAULT_MAX_ANNOTATIONS)]
    pub max_annotations: usize,
    /// Milliseconds between the requests that carry annotations beyond the
    /// first 50 (GitHub asks bulk writers to pace themselves).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub annotation_interval_ms: u64,
}

impl ShowArgs {
    /// Checks the options that GitHub would refuse only after the first posts.
    fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.details_url {
            check_http_url(url).map_err(|e| format!("--details-url: {e}"))?;
        }
        Ok(())
    }

    fn post_options(&self) -> PostOptions {
        PostOptions {
            sticky: StickyOptions {
                bot_login: self.bot_login.clone(),
                only_when_changed: self.only_when_changed,
                in_process_lock: true,
            },
            check: CheckOptions {
                mode: self.mode.into(),
                fail_closed: self.fail_closed,
                accept_button: !self.no_accept_button,
                max_annotations: self.max_annotations,
                annotation_interval: Duration::from_millis(self.annotation_interval_ms),
            },
            source_root: self.source_root.clone(),
            details_url: self.details_url.clone(),
            no_comment: self.no_comment,
            commit_comment_on_failure: false,
        }
    }
}

/// Arguments of `irgate github post`.
#[derive(Debug, Clone, Args)]
pub struct PostArgs {
    /// Repository, OWNER/NAME.
    #[arg(long)]
    pub repo: String,
    /// Pull-request number (1 or more). Without it only the check run (or
    /// status) is posted, on `--sha`: the merge commit of a merge queue
    /// (`merge_group`) or a commit pushed to the default branch.
    #[arg(long, value_parser = pr_number)]
    pub pr: Option<u64>,
    /// The commit the benchmarks ran on (the PR's head sha, all 40 hex digits).
    #[arg(long, value_parser = commit_sha)]
    pub sha: String,
    /// Without `--pr` (a push to the default branch): when the gate fails or
    /// cannot judge, also comment the verdict on the commit, so that a
    /// regression that got through is seen the same day.
    #[arg(long, conflicts_with = "pr")]
    pub commit_comment_on_failure: bool,
    /// The comparator's JSON (`irgate compare --format json`).
    #[arg(long, required_unless_present = "could_not_judge")]
    pub comparison: Option<PathBuf>,
    /// Post "could not judge" with this reason instead of a comparison (the
    /// gate produced no comparison, e.g. the benchmarks did not build).
    #[arg(long, value_name = "REASON", conflicts_with = "comparison")]
    pub could_not_judge: Option<String>,
    /// Exit with the gate's code (0 pass, 1 fail, 2 could not judge) after posting.
    #[arg(long)]
    pub exit_with_gate: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub show: ShowArgs,
}

/// Parses `--pr`: a pull-request number, 1 or more.
fn pr_number(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{value}` is not a pull-request number: it must be a whole number, 1 or more"
        )),
    }
}

/// Parses `--sha`: a full commit id, 40 hex digits (GitHub's check runs and
/// statuses need the whole id), returned in lower case.
fn commit_sha(value: &str) -> Result<String, String> {
    if irgate_core::baseline::is_sha1_hex(value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{value}` is not a full commit id: it must be 40 hex digits (git rev-parse HEAD)"
        ))
    }
}

/// Parses `--results-artifact`: a name `actions/upload-artifact` accepts (not
/// empty, none of `" : < > | * ? \ /`, no control characters).
fn artifact_name(value: &str) -> Result<String, String> {
    let bad = value
        .chars()
        .find(|c| c.is_control() || "\":<>|*?\\/".contains(*c));
    match bad {
        _ if value.trim().is_empty() => Err("an artifact name cannot be empty".into()),
        Some(c) => Err(format!(
            "`{}` is not an artifact name: it holds {c:?}",
            value.escape_debug()
        )),
        None => Ok(value.to_string()),
    }
}

/// Settings of the accept path shared by `serve` and `handle-event`.
#[derive(Debug, Clone, Args)]
pub struct AcceptArgs {
    /// Gate results as files (`comparison.json` + `head-sha`) instead of
    /// GitHub's copies (the artifact, else the check run).
    #[arg(long, conflicts_with = "results_artifact")]
    pub results: Option<PathBuf>,
    /// The gate workflow's artifact to read results from, through the Actions
    /// artifacts API (the token needs `actions: read`). When the head commit
    /// has none, the results embedded in the "irgate" check run are read,
    /// which GitHub cuts at 65,535 characters (a few hundred benchmarks).
    #[arg(
        long,
        env = "IRGATE_RESULTS_ARTIFACT",
        default_value = irgate_github::artifact::DEFAULT_ARTIFACT_NAME,
        value_parser = artifact_name
    )]
    pub results_artifact: String,
    /// Read only the check run, never the artifact.
    #[arg(long, conflicts_with_all = ["results", "results_artifact"])]
    pub no_results_artifact: bool,
    /// Largest artifact zip downloaded, in bytes.
    #[arg(
        long,
        env = "IRGATE_MAX_ARTIFACT_BYTES",
        default_value_t = irgate_github::artifact::DEFAULT_MAX_ZIP_BYTES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_artifact_bytes: u64,
    /// Baseline directory in the repository.
    #[arg(long, default_value = "baselines")]
    pub baselines_dir: String,
    /// Policy file in the repository.
    #[arg(long, default_value = "irgate.toml")]
    pub policy: String,
}

/// Arguments of `irgate github handle-event`.
#[derive(Debug, Clone, Args)]
pub struct HandleEventArgs {
    /// The event's name (`$GITHUB_EVENT_NAME`).
    #[arg(long, env = "GITHUB_EVENT_NAME")]
    pub event_name: String,
    /// The event's JSON payload (`$GITHUB_EVENT_PATH`).
    #[arg(long, env = "GITHUB_EVENT_PATH")]
    pub event_path: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub accept: AcceptArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub show: ShowArgs,
}

/// Arguments of `irgate github serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Service configuration file (TOML); the environment overrides it.
    #[arg(long, env = "IRGATE_BOT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub accept: AcceptArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub show: ShowArgs,
}

fn accept_config(a: &AcceptArgs, show: &ShowArgs) -> AcceptConfig {
    AcceptConfig {
        results: match &a.results {
            Some(dir) => ResultsSource::Dir(dir.clone()),
            None if a.no_results_artifact => ResultsSource::CheckRun,
            None => ResultsSource::Artifact(ArtifactSource {
                name: a.results_artifact.clone(),
                max_zip_bytes: a.max_artifact_bytes,
            }),
        },
        baselines_dir: a.baselines_dir.clone(),
        policy_path: a.policy.clone(),
        post: show.post_options(),
    }
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a `irgate github` subcommand on its own tokio runtime and returns
/// the process exit code.
pub fn run(cmd: GithubCommand) -> u8 {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("irgate github: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let result = runtime.block_on(async move {
        match cmd {
            GithubCommand::Post(args) => post(args).await,
            GithubCommand::HandleEvent(args) => handle_event(args).await,
            GithubCommand::Serve(args) => serve(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("irgate github: {message}");
            2
        }
    }
}

async fn post(args: PostArgs) -> Result<u8, String> {
    args.show.check()?;
    let repo = Repo::parse(&args.repo)
        .ok_or_else(|| format!("--repo `{}` is not OWNER/NAME", args.repo))?;
    let comparison = match (&args.comparison, &args.could_not_judge) {
        (Some(path), _) => Comparison::load(path).map_err(|e| e.to_string())?,
        (None, Some(reason)) => Comparison::could_not_judge(reason.clone(), None),
        (None, None) => return Err("give --comparison FILE or --could-not-judge REASON".into()),
    };
    let client = GithubClient::new(&args.connection.client_config()?).map_err(|e| e.to_string())?;
    let opts = PostOptions {
        commit_comment_on_failure: args.commit_comment_on_failure,
        ..args.show.post_options()
    };
    let posted = args
        .connection
        .bounded(async {
            match args.pr {
                Some(number) => {
                    let pr = PullRequest {
                        repo: repo.clone(),
                        number,
                    };
                    report::post(&client, &pr, &args.sha, &comparison, &opts)
                        .await
                        .map(|r| format!("{:?}; comment {:?}", r.check, r.comment))
                }
                None => report::post_check(&client, &repo, &args.sha, &comparison, &opts)
                    .await
                    .map(|p| {
                        format!(
                            "{:?} (no pull request); commit comment {:?}",
                            p.check, p.commit_comment
                        )
                    }),
            }
            .map_err(|e| e.to_string())
        })
        .await?;
    eprintln!("irgate github: posted {posted}");
    Ok(if args.exit_with_gate {
        u8::try_from(comparison.exit_code()).unwrap_or(2)
    } else {
        0
    })
}

async fn handle_event(args: HandleEventArgs) -> Result<u8, String> {
    args.show.check()?;
    let config = args.connection.client_config()?;
    let handler = GithubHandler::new(
        Credentials::Fixed(config),
        accept_config(&args.accept, &args.show),
        args.show.mode.into(),
    );
    let handled = args
        .connection
        .bounded(async {
            handler
                .handle_event_file(&args.event_name, &args.event_path)
                .await
                .map_err(|e| e.to_string())
        })
        .await?;
    eprintln!("irgate github: {handled:?}");
    Ok(0)
}

async fn serve(args: ServeArgs) -> Result<u8, String> {
    args.show.check()?;
    let config = ServerConfig::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    let base_url = config
        .github
        .api_url
        .clone()
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let credentials = match (&config.github.app_id, &config.github.private_key_path) {
        (Some(app_id), Some(path)) => Credentials::AppPerInstallation {
            app_id: *app_id,
            private_key_pem: std::fs::read_to_string(path)
                .map_err(|e| format!("GitHub App private key {}: {e}", path.display()))?,
            base_url,
            retry: RetryPolicy::default(),
        },
        _ => {
            let token = std::env::var("GITHUB_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .ok_or("the service needs GitHub App credentials ([github] app_id and private_key_path, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY_PATH) or GITHUB_TOKEN")?;
            Credentials::Fixed(ClientConfig {
                base_url,
                auth: Auth::Token(token),
                retry: RetryPolicy::default(),
            })
        }
    };
    // Fail at start-up, not on the first delivery, when the key is unusable.
    if let Credentials::AppPerInstallation {
        app_id,
        private_key_pem,
        base_url,
        retry,
    } = &credentials
    {
        GithubClient::new(&ClientConfig {
            base_url: base_url.clone(),
            auth: Auth::App {
                app_id: *app_id,
                private_key_pem: private_key_pem.clone(),
                installation_id: 1,
            },
            retry: retry.clone(),
        })
        .map_err(|e| e.to_string())?;
    }
    let handler = Arc::new(GithubHandler::new(
        credentials,
        accept_config(&args.accept, &args.show),
        args.show.mode.into(),
    ));
    let report = server::serve(config, handler)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("irgate github: service stopped: {report:?}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        cmd: GithubCommand,
    }

    #[test]
    fn post_shape_parses() {
        let top = Top::try_parse_from([
            "github",
            "post",
            "--repo",
            "o/r",
            "--pr",
            "7",
            "--sha",
            "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            "--comparison",
            "c.json",
            "--mode",
            "status",
            "--only-when-changed",
        ])
        .unwrap();
        let GithubCommand::Post(p) = top.cmd else {
            panic!("not post")
        };
        assert_eq!(p.pr, Some(7));
        assert_eq!(p.show.mode, ModeArg::Status);
        assert!(p.show.only_when_changed);
    }

    #[test]
    fn handle_event_shape_parses() {
        let top = Top::try_parse_from([
            "github",
            "handle-event",
            "--event-name",
            "issue_comment",
            "--event-path",
            "e.json",
            "--results",
            "dir",
        ])
        .unwrap();
        assert!(matches!(top.cmd, GithubCommand::HandleEvent(_)));
    }

    #[test]
    fn missing_key_file_is_reported() {
        let c = ConnectionArgs {
            api_url: DEFAULT_API_URL.into(),
            token_env: "IRGATE_TEST_NO_SUCH_TOKEN".into(),
            app_id: Some(1),
            app_key_file: None,
            installation_id: None,
            max_retries: 1,
            request_budget_secs: 1,
            request_timeout_secs: 1,
            total_timeout_secs: 1,
        };
        assert!(c.client_config().unwrap_err().contains("--app-key-file"));
        let c = ConnectionArgs { app_id: None, ..c };
        assert!(c
            .client_config()
            .unwrap_err()
            .contains("IRGATE_TEST_NO_SUCH_TOKEN"));
    }
}
