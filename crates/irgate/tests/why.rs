//! End to end, "which functions moved": the scarab-plugins output-dispatch benchmarks
//! under real Callgrind, accepted with their profiles; then an extra `String` clone is
//! put into `PluginManager::dispatch_output` of a copy of this workspace (the test
//! patches the copy's source text; product code has no hook for it) and the comparison
//! must name the dispatch function and the allocator as the top movers, with deltas
//! that add up to each benchmark's change. Then the bad inputs: a corrupt profile
//! file, a truncated Callgrind output, a stale profile.
//!
//! Needs valgrind and gungraun-runner 0.20.0 (`ci/setup`); builds into cargo's
//! scratch directory for tests (`CARGO_TARGET_TMPDIR`), so only its first run
//! compiles the workspace's bench profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_dir, text};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The runner, as `irgate setup` installs it for this workspace.
fn runner(target: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(["setup", "--locked", "--workspace"])
        .arg(workspace_root())
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(out.status.success(), "irgate setup failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Ctx {
    work: tempfile::TempDir,
    target: PathBuf,
    runner: String,
}

impl Ctx {
    fn repo(&self) -> PathBuf {
        self.work.path().join("repo")
    }

    fn irgate(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(args)
            .current_dir(self.work.path())
            .env("NO_COLOR", "1")
            .env("CARGO_TARGET_DIR", &self.target)
            .output()
            .unwrap()
    }

    fn bench(&self, out: &str) {
        let repo = self.repo();
        let o = self.irgate(&[
            "bench",
            "--locked",
            "--workspace",
            repo.to_str().unwrap(),
            "-p",
            "scarab-plugins",
            "--bench",
            "ir",
            "--filter",
            "dispatch/output/*",
            "--runner",
            &self.runner,
            "--out",
            out,
        ]);
        assert!(o.status.success(), "irgate bench failed:\n{}", text(&o));
    }

    fn compare(&self, format: &str, run: &str) -> Output {
        self.irgate(&["compare", "--baselines", "bl", "--format", format, run])
    }
}

const DISPATCH: &str = "scarab_plugins::manager::PluginManager::dispatch_output";

#[test]
fn an_extra_clone_in_dispatch_is_named_under_each_regression() {
    assert!(
        Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "this test needs valgrind on PATH (ci/setup)"
    );
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("irgate-why");
    let ctx = Ctx {
        work: tempfile::tempdir().unwrap(),
        runner: runner(&target),
        target,
    };
    copy_dir(&workspace_root(), &ctx.repo());

    ctx.bench("base");
    let o = ctx.irgate(&["accept", "--baselines", "bl", "--reason", "base", "base"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("bl/scarab-plugins/ir.profile.toml"),
        "{}",
        text(&o)
    );

    // The extra clone, in the copy's source only.
    let manager = ctx.repo().join("crates/scarab-plugins/src/manager.rs");
    let src = std::fs::read_to_string(&manager).unwrap();
    let at = "        let mut current: Cow<'a, str> = Cow::Borrowed(line);\n        let ctx = self.ctx();\n";
    assert_eq!(src.matches(at).count(), 1, "dispatch_output changed shape");
    let patched = src.replace(
        at,
        &format!("{at}        let extra: String = line.to_owned();\n        std::hint::black_box(&extra);\n"),
    );
    std::fs::write(&manager, patched).unwrap();
    ctx.bench("new");

    let o = ctx.compare("json", "new");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let c = irgate_core::Comparison::from_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let regressed: Vec<_> = c.regressions().collect();
    assert_eq!(
        regressed.len(),
        4,
        "every output-dispatch benchmark regressed"
    );
    let md = String::from_utf8_lossy(&ctx.compare("markdown", "new").stdout).into_owned();
    for b in &regressed {
        let why = b.why.as_ref().unwrap();
        assert_eq!(
            why.status,
            irgate_core::why::WhyStatus::Explained,
            "{}",
            why.message
        );
        let delta = b.delta.unwrap();
        // The listed movers alone add up to the change within 1%.
        let listed: i64 = why.self_movers.iter().map(|m| m.self_delta).sum();
        assert!(
            (listed - delta).abs() * 100 <= delta.abs(),
            "{}: movers {listed} vs change {delta}",
            b.id
        );
        let names: Vec<&str> = why.self_movers[..5]
            .iter()
            .map(|m| m.function.as_str())
            .collect();
        assert!(names.contains(&DISPATCH), "{}: {names:?}", b.id);
        for alloc in ["malloc", "free"] {
            assert!(names.contains(&alloc), "{}: {names:?}", b.id);
        }

        // The markdown names the benchmark and, under it, the same functions; its
        // rows (five functions and the rest) add up to the change.
        let title = format!("<details><summary>Why: {}", b.id);
        let start = md
            .find(&title)
            .unwrap_or_else(|| panic!("{title} in\n{md}"));
        let block = &md[start..start + md[start..].find("</details>").unwrap()];
        let escaped = irgate_core::render::escape_markdown(DISPATCH);
        assert!(block.contains(&format!("| {escaped} |")), "{block}");
        assert!(block.contains("| malloc |"), "{block}");
        let sum: i64 = block
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Function"))
            .map(|l| {
                let cell = l.split(" | ").nth(1).unwrap().replace([',', '+'], "");
                cell.trim_start_matches("≥ ").parse::<i64>().unwrap()
            })
            .sum();
        assert_eq!(sum, delta, "{block}");
    }
    // The markdown's why blocks come under the regressions table.
    assert!(md.find("#### Regressions").unwrap() < md.find("<details><summary>Why").unwrap());

    // A truncated Callgrind output: named with its line; the verdict stands.
    let out = std::fs::read_dir(
        ctx.work
            .path()
            .join("new/gungraun/scarab-plugins/ir/dispatch"),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .find(|p| p.to_string_lossy().contains("output.noop"))
    .unwrap();
    let cg = irgate_core::callgrind::outputs_in(&out).unwrap();
    let whole = std::fs::read_to_string(&cg[0]).unwrap();
    let cut = whole.find("\ncalls=").unwrap() + "\ncalls=1 0".len();
    std::fs::write(&cg[0], &whole[..cut]).unwrap();
    let o = ctx.compare("json", "new");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let c = irgate_core::Comparison::from_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let noop = c
        .benchmarks
        .iter()
        .find(|b| b.id.to_string().ends_with("output/noop"))
        .unwrap();
    let why = noop.why.as_ref().unwrap();
    assert_eq!(
        why.status,
        irgate_core::why::WhyStatus::UnreadableRunProfile
    );
    let line = whole[..cut].lines().count();
    let file_name = cg[0].file_name().unwrap().to_string_lossy().into_owned();
    let named = format!("{file_name}:{line}:");
    assert!(
        why.message.contains(&named),
        "{} lacks {named}",
        why.message
    );
    std::fs::write(&cg[0], &whole).unwrap();

    // A corrupt profile file: a note naming it, the gate judges on totals.
    let profile = ctx.work.path().join("bl/scarab-plugins/ir.profile.toml");
    let stored = std::fs::read_to_string(&profile).unwrap();
    let lines: Vec<&str> = stored.lines().collect();
    std::fs::write(&profile, lines[..lines.len() / 2].join("\n")).unwrap();
    let o = ctx.compare("json", "new");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let c = irgate_core::Comparison::from_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    assert_eq!(c.regressions().count(), 4);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("bl/scarab-plugins/ir.profile.toml:")),
        "{:?}",
        c.notes
    );
    assert!(c
        .regressions()
        .all(|b| b.why.as_ref().unwrap().status == irgate_core::why::WhyStatus::UnreadableProfile));
    std::fs::write(&profile, &stored).unwrap();

    // An accept that writes no profile (as the bot's) leaves the profile stale: the
    // comparison says so instead of explaining with it.
    let o = ctx.irgate(&[
        "accept",
        "--baselines",
        "bl",
        "--reason",
        "bot-like",
        "--profile-top",
        "0",
        "new",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // The base run against the new baselines improves, and the stale profile is named.
    let o = ctx.compare("markdown", "base");
    let md = text(&o);
    assert!(!md.contains("#### Regressions"), "{md}");
    let o = ctx.compare("json", "base");
    let c = irgate_core::Comparison::from_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let improved: Vec<_> = c.improvements().collect();
    assert_eq!(improved.len(), 4);
    for b in improved {
        let why = b.why.as_ref().unwrap();
        assert_eq!(why.status, irgate_core::why::WhyStatus::StaleProfile);
        assert!(why.self_movers.is_empty());
    }
}
