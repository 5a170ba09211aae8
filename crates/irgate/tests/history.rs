//! `irgate history`: the accepted values of each benchmark from the git log of
//! the baselines, with the real binary in a real git repository (three accepts on
//! `main`, one through a merged branch), in every format, and its bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use irgate_core::history::History;

mod common;

use common::*;

fn history(repo: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irgate"))
        .arg("history")
        .args(args)
        .current_dir(repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json(repo: &Path, args: &[&str]) -> History {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = history(repo, &all);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `main`: first baselines, then three accepts of `compute/scaled` (one of them
/// on a branch merged with a merge commit), and one commit that does not touch
/// the baselines. Returns the repository and the first-parent commits, oldest
/// first, that changed the value.
fn three_accepts() -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
    let (tmp, repo, scratch, env) = base();
    let mut commits = vec![git_ok(&repo, &["rev-parse", "HEAD"])];
    let r = results(&scratch.join("s1"), &[("compute/scaled", 80_000)]);
    accept(&repo, &env, &r, "faster <b>hash</b> @team", &[]);
    git_ok(&repo, &["commit", "-qam", "accept 1"]);
    commits.push(git_ok(&repo, &["rev-parse", "HEAD"]));

    std::fs::write(repo.join("README"), "y\n").unwrap();
    git_ok(&repo, &["commit", "-qam", "not about baselines"]);

    git_ok(&repo, &["checkout", "-q", "-b", "topic", "main"]);
    let r = results(&scratch.join("s2"), &[("compute/scaled", 80_800)]);
    accept(&repo, &env, &r, "one more check", &[]);
    git_ok(&repo, &["commit", "-qam", "accept 2 on a branch"]);
    git_ok(&repo, &["checkout", "-q", "main"]);
    git_ok(&repo, &["merge", "-q", "--no-ff", "--no-edit", "topic"]);
    commits.push(git_ok(&repo, &["rev-parse", "HEAD"]));

    let r = results(&scratch.join("s3"), &[("compute/scaled", 80_400)]);
    accept(&repo, &env, &r, "cache the table", &[]);
    git_ok(&repo, &["commit", "-qam", "accept 3"]);
    commits.push(git_ok(&repo, &["rev-parse", "HEAD"]));
    (tmp, repo, commits)
}

#[test]
fn every_accepted_value_is_listed_with_commit_who_why_and_change() {
    let (_tmp, repo, commits) = three_accepts();
    let first = load_at(&repo, &commits[0]);
    let h = json(&repo, &["--bench", "compute/scaled"]);
    assert_eq!(h.metric, "Ir");
    assert_eq!(h.benchmarks.len(), 1);
    let b = &h.benchmarks[0];
    assert_eq!(b.id, "irgate-fixture-bench/fixture/compute/scaled");
    let values: Vec<u64> = b.points.iter().map(|p| p.value).collect();
    assert_eq!(
        values,
        vec![ir(&first, "compute/scaled"), 80_000, 80_800, 80_400]
    );
    let at: Vec<&str> = b.points.iter().map(|p| p.commit.as_str()).collect();
    assert_eq!(at, commits.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(b.points[0].change, None);
    assert_eq!(b.points[2].change, Some(800));
    assert_eq!(b.points[3].change, Some(-400));
    let pct = b.points[2].change_pct.unwrap();
    assert!((pct - 1.0).abs() < 1e-9, "{pct}");
    assert_eq!(b.points[1].reason, "faster <b>hash</b> @team");
    assert_eq!(b.points[2].reason, "one more check");
    assert!(b.points.iter().all(|p| p.accepted_by == "tester"));
    // A benchmark that never moved has one point.
    let h = json(&repo, &["--bench", "memory/*"]);
    assert_eq!(h.benchmarks.len(), 1);
    assert_eq!(h.benchmarks[0].points.len(), 1);
    // All four benchmarks without --bench; the full id matches too.
    assert_eq!(json(&repo, &[]).benchmarks.len(), 4);
    let full = json(&repo, &["--bench", "irgate-fixture-bench/*/compute/**"]);
    assert_eq!(full.benchmarks.len(), 3);
}

fn load_at(repo: &Path, commit: &str) -> irgate_core::Baseline {
    let text = git_ok(repo, &["show", &format!("{commit}:{FILE}")]);
    irgate_core::Baseline::parse(Path::new(FILE), &text).unwrap()
}

#[test]
fn since_keeps_the_value_at_the_revision_as_the_start() {
    let (_tmp, repo, commits) = three_accepts();
    let h = json(
        &repo,
        &["--bench", "compute/scaled", "--since", &commits[2]],
    );
    let values: Vec<u64> = h.benchmarks[0].points.iter().map(|p| p.value).collect();
    assert_eq!(values, vec![80_800, 80_400]);
}

#[test]
fn terminal_and_markdown_show_the_same_values_with_names_inert() {
    let (_tmp, repo, commits) = three_accepts();
    let out = history(&repo, &["--bench", "compute/scaled"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.contains("irgate-fixture-bench/fixture/compute/scaled (Ir)"),
        "{t}"
    );
    assert!(t.contains("80,800  +800 (+1.00%)"), "{t}");
    assert!(t.contains(&commits[3][..7]), "{t}");

    let out = history(
        &repo,
        &["--bench", "compute/scaled", "--format", "markdown"],
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("| 80,400 | -400 (-0.50%) | cache the table |"),
        "{md}"
    );
    // The reason's HTML and mention are escaped.
    assert!(!md.contains("<b>") && !md.contains("@team"), "{md}");
    assert!(md.contains("&lt;b&gt;hash&lt;/b&gt;"), "{md}");
}

#[test]
fn the_svg_is_a_well_formed_chart_per_benchmark() {
    let (tmp, repo, commits) = three_accepts();
    let file = tmp.path().join("trend.svg");
    let out = history(
        &repo,
        &[
            "--bench",
            "compute/**",
            "--format",
            "svg",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let svg = std::fs::read_to_string(&file).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    // One titled panel per benchmark, its commits on the x axis, its values on y.
    for id in [
        "compute/scaled",
        "compute/fibonacci/large",
        "compute/fibonacci/small",
    ] {
        let title = format!("irgate-fixture-bench/fixture/{id} (Ir)");
        assert!(texts.contains(&title), "{title} not in {texts:?}");
    }
    assert!(texts.iter().any(|t| t == "80,000"), "{texts:?}");
    for c in &commits {
        assert!(texts.contains(&c[..7].to_string()), "{c} not in {texts:?}");
    }
    // Four points on the scaled chart, one on each other: circles.
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(circles, 4 + 1 + 1);
}

#[test]
fn outside_git_or_with_an_unknown_revision_it_exits_2_saying_why() {
    let (tmp, repo, _) = three_accepts();
    let out = history(&repo, &["--since", "no-such-rev"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("`no-such-rev` is not a revision"),
        "{}",
        text(&out)
    );
    let outside = tmp.path().join("scratch");
    let out = history(&outside, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("not inside a git repository"),
        "{}",
        text(&out)
    );
    let out = history(&repo, &["--bench", "a[b"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_file_that_does_not_parse_at_one_commit_is_skipped_with_a_warning() {
    let (_tmp, repo, _) = three_accepts();
    std::fs::write(repo.join(FILE), "schema_version = 2\npackage = [broken\n").unwrap();
    git_ok(&repo, &["commit", "-qam", "break the file"]);
    let out = history(&repo, &["--bench", "compute/scaled", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fixture.toml:2:"), "{err}");
    assert!(err.contains("skipped"), "{err}");
    let h: History = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h.benchmarks[0].points.len(), 4);
    assert_eq!(h.warnings.len(), 1);
}

/// This repository's own history: `dispatch/output/processing` from the commit
/// that added the first baselines to the one committed now. (Skipped, saying so,
/// in a shallow clone or a source tree without git, which hold no history.)
#[test]
fn this_repository_s_history_starts_at_the_first_baselines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = "baselines/scarab-plugins/ir.toml";
    let shallow = git(&root, &["rev-parse", "--is-shallow-repository"]);
    if !shallow.status.success() || String::from_utf8_lossy(&shallow.stdout).trim() != "false" {
        eprintln!("skipped: the source tree is not a full git clone");
        return;
    }
    let added = git_ok(
        &root,
        &["log", "--diff-filter=A", "--format=%H", "--", file],
    );
    let Some(first) = added.lines().last() else {
        eprintln!("skipped: {file} is not in the history");
        return;
    };
    let key = "dispatch/output/processing";
    let value_at = |rev: &str| {
        let text = git_ok(&root, &["show", &format!("{rev}:{file}")]);
        ir(
            &irgate_core::Baseline::parse(Path::new(file), &text).unwrap(),
            key,
        )
    };
    let h = json(&root, &["--bench", key]);
    assert_eq!(h.benchmarks.len(), 1, "{h:?}");
    let points = &h.benchmarks[0].points;
    assert_eq!(points[0].value, value_at(first));
    assert_eq!(points.last().unwrap().value, value_at("HEAD"));
    // The first point is on the first-parent line at or after the commit that
    // added the file (the same commit when it was made on the main line).
    let ancestry = git(
        &root,
        &["merge-base", "--is-ancestor", first, &points[0].commit],
    );
    assert!(ancestry.status.success(), "{:?}", points[0]);
}

/// `irgate compare` in `repo` with the policy text `policy`, as JSON.
fn compare(repo: &Path, env: &Path, results: &Path, policy: &str) -> (i32, serde_json::Value) {
    let file = repo.join("irgate.toml");
    std::fs::write(&file, policy).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(["compare", "--format", "json", "--env"])
        .arg(env)
        .arg(results)
        .current_dir(repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code().unwrap(), json)
}

#[test]
fn creep_of_three_small_accepts_is_reported_against_the_anchor() {
    let (_tmp, repo, scratch, env) = base();
    git_ok(&repo, &["tag", "anchor"]);
    // Three accepts of +2% each: each one passes review, together +6.12%.
    let mut value = ir(&load(&repo), "compute/scaled");
    let start = value;
    for step in 1..=3 {
        value = value * 102 / 100;
        let r = results(
            &scratch.join(format!("c{step}")),
            &[("compute/scaled", value)],
        );
        accept(&repo, &env, &r, &format!("small step {step}"), &[]);
        git_ok(&repo, &["commit", "-qam", &format!("accept {step}")]);
    }
    let now = results(&scratch.join("now"), &[("compute/scaled", value)]);
    let rise = (value - start) as f64 * 100.0 / start as f64;
    assert!(rise > 6.0 && rise < 6.2, "{rise}");

    // Warn (the default): the gate passes, the creep section names the benchmark.
    let (code, c) = compare(
        &repo,
        &env,
        &now,
        "creep = { anchor = \"anchor\", max_pct = 5 }\n",
    );
    assert_eq!(code, 0, "{c:#}");
    assert_eq!(c["gate"], "passed");
    let creep = &c["creep"];
    assert_eq!(creep["anchor"], "anchor");
    assert_eq!(
        creep["anchor_commit"].as_str().unwrap(),
        git_ok(&repo, &["rev-parse", "anchor"])
    );
    assert_eq!(creep["compared"], 4);
    let crept = creep["benchmarks"].as_array().unwrap();
    assert_eq!(crept.len(), 1, "{creep:#}");
    assert_eq!(
        crept[0]["id"],
        "irgate-fixture-bench/fixture/compute/scaled"
    );
    assert_eq!(crept[0]["anchor_value"], start);
    assert_eq!(crept[0]["current"], value);
    assert!((crept[0]["change_pct"].as_f64().unwrap() - rise).abs() < 1e-9);

    // on_creep = "fail" fails the gate, saying why; the JSON stays consistent.
    let policy = "on_creep = \"fail\"\ncreep = { anchor = \"anchor\", max_pct = 5 }\n";
    let (code, c) = compare(&repo, &env, &now, policy);
    assert_eq!(code, 1, "{c:#}");
    assert_eq!(c["gate"], "failed");
    let reasons = c["reasons"].to_string();
    assert!(
        reasons.contains("crept more than 5% above their value at the anchor anchor"),
        "{reasons}"
    );
    irgate_core::Comparison::from_json(&c.to_string()).unwrap();
    // The markdown and terminal renderings carry the section.
    let saved = scratch.join("creep.json");
    std::fs::write(&saved, c.to_string()).unwrap();
    for (format, expect) in [
        ("markdown", "#### Creep against anchor ("),
        (
            "markdown",
            "| irgate-fixture-bench/fixture/compute/scaled |",
        ),
        ("terminal", "creep against anchor ("),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(["report", "--format", format])
            .arg(&saved)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(shown.contains(expect), "{format}: {expect} not in {shown}");
    }

    // A wider limit lets the same history pass without entries.
    let (code, c) = compare(
        &repo,
        &env,
        &now,
        "on_creep = \"fail\"\ncreep = { anchor = \"anchor\", max_pct = 7 }\n",
    );
    assert_eq!(code, 0, "{c:#}");
    assert_eq!(c["creep"]["benchmarks"].as_array().unwrap().len(), 0);

    // An anchor git does not know: the gate cannot judge, and says why.
    let (code, c) = compare(
        &repo,
        &env,
        &now,
        "creep = { anchor = \"v9.9\", max_pct = 5 }\n",
    );
    assert_eq!(code, 2, "{c:#}");
    assert!(
        c["reasons"]
            .to_string()
            .contains("`v9.9` is not a revision"),
        "{c:#}"
    );
}
