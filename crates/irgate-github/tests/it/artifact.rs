//! The accept command reading the gate's results from the workflow artifact,
//! through the Actions artifacts API of the contract-checking fake GitHub:
//! at 10,000 benchmarks, with the check run as the fallback for small runs,
//! and with artifacts that are stale, damaged or too large.
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use crate::accept::{baseline_text, client_config, handler, new_comment, replies};
use crate::fake_github::FakeGithub;
use irgate_core::{
    BaselineSet, BenchId, BenchResult, Comparison, Environment, Gate, Metrics, Policy, Run,
};
use irgate_github::accept::{AcceptOutcome, Refusal};
use irgate_github::artifact::{ArtifactSource, DEFAULT_ARTIFACT_NAME};
use irgate_github::client::GithubClient;
use irgate_github::comment::PullRequest;
use irgate_github::events::Handled;
use irgate_github::report::{self, extract_results, PostOptions};
use irgate_github::results::ResultsSource;
use serde_json::json;

const REPO: &str = "Codertocat/Hello-World";
const PR: u64 = 2;
const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const OTHER_SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const BASELINE_PATH: &str = "baselines/wide/iai.toml";

/// `n` benchmarks of one suite, every one at `ir`.
fn run(n: usize, ir: u64) -> Run {
    let mut benchmarks = BTreeMap::new();
    for i in 0..n {
        let mut m = Metrics::default();
        m.insert("Ir", ir);
        benchmarks.insert(
            BenchId::new(
                "wide",
                "iai",
                format!("group_{:03}", i / 100),
                format!("case_{i:05}"),
                None,
            )
            .unwrap(),
            BenchResult {
                metrics: m,
                source_file: None,
            },
        );
    }
    Run {
        environment: Environment::default(),
        benchmarks,
    }
}

/// Every one of `n` benchmarks regressed from 1,000 to 1,500 Ir.
fn regressed(n: usize) -> Comparison {
    let base = baseline_text(&run(n, 1_000));
    let set =
        BaselineSet::from_texts([(std::path::Path::new("wide/iai.toml"), base.as_str())]).unwrap();
    irgate_core::compare(&run(n, 1_500), &set, &Policy::default()).unwrap()
}

/// The gate workflow's `irgate-comparison` artifact.
fn artifact_zip(head_sha: &str, comparison: &Comparison) -> Vec<u8> {
    zip_of(&[
        ("comparison.json", serde_json::to_vec(comparison).unwrap()),
        ("head-sha", format!("{head_sha}\n").into_bytes()),
        ("pr-number", format!("{PR}\n").into_bytes()),
    ])
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        out.start_file(*name, opts).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// A fake with `n` baselines at 1,000 Ir on the branch, a maintainer, and the
/// gate's verdict (all regressed) posted on the head commit.
async fn scenario(n: usize) -> (FakeGithub, Comparison) {
    let fake = FakeGithub::start().await;
    {
        let mut st = fake.st();
        st.head_repo = REPO.into();
        st.head_sha = SHA.into();
        st.files.insert(
            BASELINE_PATH.into(),
            (baseline_text(&run(n, 1_000)).into_bytes(), "b".repeat(40)),
        );
        st.permissions.insert("maint".into(), "write".into());
    }
    let comparison = regressed(n);
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    let pr = PullRequest::new(REPO, PR).unwrap();
    report::post(&client, &pr, SHA, &comparison, &PostOptions::default())
        .await
        .unwrap();
    (fake, comparison)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_benchmarks_are_accepted_through_the_artifact() {
    const N: usize = 10_000;
    let (fake, comparison) = scenario(N).await;
    assert_eq!(comparison.gate, Gate::Failed);
    // At this size the check run cannot carry the results: without the
    // artifact, accepting is impossible (what this path replaces).
    {
        let st = fake.st();
        let text = st.check_runs[0].output["text"].as_str().unwrap_or_default();
        assert!(
            extract_results(text).is_none(),
            "the check run holds results"
        );
        assert!(text.contains(DEFAULT_ARTIFACT_NAME), "{text}");
    }
    let refused = new_comment(
        &handler(&fake, ResultsSource::CheckRun),
        "maint",
        "/irgate accept wider on purpose",
    )
    .await;
    assert!(
        matches!(
            refused,
            Handled::Accept(AcceptOutcome::Refused(Refusal::NoResults { .. }))
        ),
        "{refused:?}"
    );

    // The gate workflow's artifact, with an older run's beside it.
    {
        let mut st = fake.st();
        let older = artifact_zip(OTHER_SHA, &regressed(3));
        st.add_artifact(DEFAULT_ARTIFACT_NAME, OTHER_SHA, older);
        st.add_artifact(DEFAULT_ARTIFACT_NAME, SHA, artifact_zip(SHA, &comparison));
        st.add_artifact("irgate-results", SHA, b"not the one".to_vec());
    }
    let started = Instant::now();
    let out = new_comment(
        &handler(&fake, ResultsSource::default()),
        "maint",
        "/irgate accept wider on purpose",
    )
    .await;
    let took = started.elapsed();
    let Handled::Accept(AcceptOutcome::Accepted {
        files, benchmarks, ..
    }) = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(benchmarks, N);
    assert_eq!(files, vec![BASELINE_PATH.to_string()]);

    let st = fake.st();
    // The baseline file on the branch is over 1 MB: it was read as a blob.
    assert!(st.count("git/get-blob") >= 1);
    // The committed file holds the 10,000 new numbers.
    let written = String::from_utf8(st.files[BASELINE_PATH].0.clone()).unwrap();
    let set = BaselineSet::from_texts([(std::path::Path::new("wide/iai.toml"), written.as_str())])
        .unwrap();
    let suite = set.suites.values().next().unwrap();
    assert_eq!(suite.benchmarks.len(), N);
    assert!(suite
        .benchmarks
        .values()
        .all(|e| e.metrics.get("Ir") == Some(1_500) && e.provenance.accepted_by == "maint"));
    // One download, from the storage link, without GitHub's token.
    assert_eq!(st.count("actions/download-artifact"), 1);
    assert_eq!(st.storage_auth, vec![None]);
    // The artifacts were looked up by name.
    let list = st
        .seen
        .iter()
        .find(|s| s.op == "actions/list-artifacts-for-repo")
        .unwrap();
    assert!(
        list.query.contains("name=irgate-comparison"),
        "{}",
        list.query
    );
    drop(st);
    let r = replies(&fake);
    assert!(
        r.last().unwrap().contains("accepted 10000 benchmark"),
        "{r:?}"
    );
    fake.assert_contract();
    eprintln!(
        "accepting {N} benchmarks through the artifact took {took:?}; the baseline file is {} bytes",
        written.len()
    );
}

/// With the default source, the three regressed benchmarks are accepted.
async fn accepts_the_three(fake: &FakeGithub) {
    let out = new_comment(
        &handler(fake, ResultsSource::default()),
        "maint",
        "/irgate accept small change",
    )
    .await;
    assert!(
        matches!(
            out,
            Handled::Accept(AcceptOutcome::Accepted { benchmarks: 3, .. })
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn without_an_artifact_a_small_run_is_read_from_the_check_run() {
    let (fake, _) = scenario(3).await;
    // An artifact of another commit does not count.
    {
        let mut st = fake.st();
        let other = artifact_zip(OTHER_SHA, &regressed(3));
        st.add_artifact(DEFAULT_ARTIFACT_NAME, OTHER_SHA, other);
    }
    accepts_the_three(&fake).await;
    let st = fake.st();
    assert_eq!(st.count("actions/list-artifacts-for-repo"), 1);
    assert_eq!(st.count("actions/download-artifact"), 0);
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn a_token_that_cannot_read_artifacts_falls_back_to_the_check_run() {
    let (fake, _) = scenario(3).await;
    fake.st().fault(
        "actions/list-artifacts-for-repo",
        crate::fake_github::Fault::Status(
            403,
            vec![],
            json!({"message": "Resource not accessible by integration"}),
        ),
    );
    accepts_the_three(&fake).await;
    fake.assert_contract();
}

#[tokio::test]
async fn a_storage_outage_during_the_download_is_retried() {
    let (fake, _) = scenario(3).await;
    {
        let mut st = fake.st();
        let zip = artifact_zip(SHA, &regressed(3));
        st.add_artifact(DEFAULT_ARTIFACT_NAME, SHA, zip);
        st.fault(
            crate::fake_github::STORAGE_OP,
            crate::fake_github::Fault::Status(502, vec![], json!({"message": "bad gateway"})),
        );
    }
    accepts_the_three(&fake).await;
    let st = fake.st();
    // The redirect is asked for once; the storage twice, never with the token.
    assert_eq!(st.count("actions/download-artifact"), 1);
    assert_eq!(st.storage_auth, vec![None, None]);
    drop(st);
    fake.assert_contract();
}

/// Accepting with this artifact on the head commit is refused with a reply
/// that says why, and nothing is committed.
async fn refused_with(zip: Vec<u8>, source: ResultsSource) -> String {
    let (fake, _) = scenario(3).await;
    fake.st().add_artifact(DEFAULT_ARTIFACT_NAME, SHA, zip);
    let out = new_comment(
        &handler(&fake, source),
        "maint",
        "/irgate accept small change",
    )
    .await;
    let Handled::Accept(AcceptOutcome::Refused(refusal)) = out else {
        panic!("{out:?}")
    };
    let st = fake.st();
    assert!(st.commits.is_empty());
    assert_eq!(st.reactions, vec![(777, "confused".to_string())]);
    drop(st);
    let r = replies(&fake);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].contains("not accepted"), "{}", r[0]);
    fake.assert_contract();
    format!("{refusal}")
}

#[tokio::test]
async fn a_damaged_artifact_is_refused_with_the_reason_not_skipped() {
    let text = refused_with(b"PK\x03\x04garbage".to_vec(), ResultsSource::default()).await;
    assert!(text.contains("not a readable zip archive"), "{text}");

    let no_json = zip_of(&[("head-sha", SHA.as_bytes().to_vec())]);
    let text = refused_with(no_json, ResultsSource::default()).await;
    assert!(text.contains("no `comparison.json`"), "{text}");

    let bad_json = zip_of(&[
        ("head-sha", SHA.as_bytes().to_vec()),
        (
            "comparison.json",
            b"{\"schema_version\": 1, \"gate\": 7}".to_vec(),
        ),
    ]);
    let text = refused_with(bad_json, ResultsSource::default()).await;
    assert!(text.contains("`comparison.json`"), "{text}");
}

#[tokio::test]
async fn an_artifact_over_the_limit_is_not_downloaded() {
    let zip = artifact_zip(SHA, &regressed(3));
    let size = zip.len() as u64;
    let source = ResultsSource::Artifact(ArtifactSource {
        name: DEFAULT_ARTIFACT_NAME.into(),
        max_zip_bytes: size - 1,
    });
    let text = refused_with(zip, source).await;
    assert!(
        text.contains(&format!(
            "is {size} bytes, more than the {} allowed",
            size - 1
        )),
        "{text}"
    );
}

#[tokio::test]
async fn an_artifact_of_a_stale_run_is_refused_as_stale() {
    // Listed under the head commit, but its own `head-sha` names another.
    let zip = artifact_zip(OTHER_SHA, &regressed(3));
    let text = refused_with(zip, ResultsSource::default()).await;
    assert!(text.contains("are for 0123456"), "{text}");
}
