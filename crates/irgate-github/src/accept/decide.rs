//! The decision of an accept, apart from GitHub: from what was read (the
//! asker's permission, the pull request's head, the gate results, the
//! baselines on the branch) either a [`Plan`] of what to commit or the
//! [`Refusal`] to reply with.

use std::path::Path;

use irgate_core::baseline::{plan_accept, AcceptOptions, PlannedFile};
use irgate_core::{Baseline, BaselineSet, Provenance, Run};

use super::contents::ExistingFile;
use super::{AcceptRequest, Permission, Refusal, Trigger};
use crate::results::GateResults;

/// The pull request's head as GitHub reports it when the accept is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The head commit.
    pub sha: String,
    /// The branch.
    pub branch: String,
    /// `owner/name` of the repository the branch is in; `None` when that fork
    /// was deleted.
    pub repo: Option<String>,
}

/// Everything the decision looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Who asked, why, and how.
    pub request: &'a AcceptRequest,
    /// The asker's role on the repository.
    pub permission: &'a Permission,
    /// The pull request's head now.
    pub head: &'a Head,
    /// The gate results stored for the head commit, if any.
    pub results: Option<&'a GateResults>,
    /// The baselines on the branch, parsed.
    pub baselines: &'a BaselineSet,
    /// The same baselines as files (their texts and blob shas).
    pub existing: &'a [ExistingFile],
    /// The baseline directory in the repository, without a trailing `/`.
    pub baselines_dir: &'a str,
    /// When the accept happens (RFC 3339), recorded in the provenance.
    pub accepted_at: &'a str,
}

/// One file to commit to the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// Repository-relative path.
    pub path: String,
    /// The new text.
    pub contents: String,
    /// The blob the file replaces; `None` for a new file.
    pub old_sha: Option<String>,
}

/// What an accept does, once decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The reason given.
    pub reason: String,
    /// The run being accepted (the gate results as a run).
    pub run: Run,
    /// Every baseline file the accept plans, changed or not.
    pub files: Vec<PlannedFile>,
    /// The files whose text changes, to be committed in this order.
    pub writes: Vec<FileWrite>,
    /// The commit message of each write.
    pub message: String,
    /// Benchmarks accepted.
    pub accepted: usize,
}

/// The asker may accept and gave a reason: `admin`, `maintain` or `write`
/// permission. Returns the reason.
pub fn check_asker<'r>(
    request: &'r AcceptRequest,
    permission: &Permission,
) -> Result<&'r str, Refusal> {
    if !permission.may_accept() {
        return Err(Refusal::NotPermitted {
            login: request.actor.clone(),
            permission: permission.clone(),
        });
    }
    request.reason.as_deref().ok_or(Refusal::NoReason)
}

/// The branch is in the repository itself (irgate cannot commit to a fork),
/// and a button was pressed on the check run of the current head.
pub fn check_head(request: &AcceptRequest, head: &Head) -> Result<(), Refusal> {
    let base_repo = format!("{}/{}", request.pr.repo.owner, request.pr.repo.name);
    let head_repo = head.repo.as_deref().unwrap_or("(deleted fork)");
    if !head_repo.eq_ignore_ascii_case(&base_repo) {
        return Err(Refusal::Fork {
            head_repo: head_repo.to_string(),
        });
    }
    if let Trigger::Button { head_sha: clicked } = &request.trigger {
        if *clicked != head.sha {
            return Err(Refusal::Stale {
                results_sha: clicked.clone(),
                head_sha: head.sha.clone(),
            });
        }
    }
    Ok(())
}

/// The results are for the head commit and hold benchmarks: the run to accept.
pub fn check_results(head: &Head, results: Option<&GateResults>) -> Result<Run, Refusal> {
    let Some(results) = results else {
        return Err(Refusal::NoResults {
            head_sha: head.sha.clone(),
        });
    };
    if results.head_sha != head.sha {
        return Err(Refusal::Stale {
            results_sha: results.head_sha.clone(),
            head_sha: head.sha.clone(),
        });
    }
    let run = results.comparison.to_run();
    if run.is_empty() {
        return Err(Refusal::Nothing(
            "the gate run has no benchmark results".into(),
        ));
    }
    Ok(run)
}

/// Decides an accept: the checks above in order, then the new baseline files
/// (with the comparator's [`plan_accept`]) and which of them change.
pub fn decide(facts: &Facts<'_>) -> Result<Plan, Refusal> {
    let request = facts.request;
    let reason = check_asker(request, facts.permission)?;
    check_head(request, facts.head)?;
    let run = check_results(facts.head, facts.results)?;
    let head_sha = &facts.head.sha;
    let provenance = Provenance {
        commit: head_sha.clone(),
        accepted_at: facts.accepted_at.to_string(),
        accepted_by: request.actor.clone(),
        reason: reason.to_string(),
    };
    let metrics = irgate_core::baseline::default_metrics();
    let files = plan_accept(
        facts.baselines,
        &run,
        &AcceptOptions {
            only: None,
            provenance: &provenance,
            metrics: &metrics,
            profiles: None,
        },
    )
    .map_err(|e| Refusal::Nothing(e.to_string()))?;

    let short = head_sha.get(..7).unwrap_or(head_sha);
    let message = format!(
        "irgate: accept benchmark results of {short}\n\nReason: {reason}\nAccepted-by: {}",
        request.actor
    );
    let mut writes = Vec::new();
    for f in &files {
        let old = facts
            .existing
            .iter()
            .find(|e| e.relative_path == f.relative_path);
        if old.is_some_and(|e| e.file.text == f.contents) || holds_same_numbers(facts.baselines, f)
        {
            continue;
        }
        writes.push(FileWrite {
            path: format!("{}/{}", facts.baselines_dir, slash_path(&f.relative_path)),
            contents: f.contents.clone(),
            old_sha: old.map(|e| e.file.sha.clone()),
        });
    }
    if writes.is_empty() {
        // No number would move (at most a version 1 file would be rewritten
        // as version 2): a commit would record nothing new.
        return Err(Refusal::Nothing(ALREADY_HELD.into()));
    }
    Ok(Plan {
        reason: reason.to_string(),
        run,
        accepted: files.iter().map(|f| f.accepted.len()).sum(),
        files,
        writes,
        message,
    })
}

/// Why an accept that changes no number is refused.
pub const ALREADY_HELD: &str = "the baselines already hold these numbers";

/// The branch's baseline of `planned`'s suite already records what `planned`
/// would: the same benchmarks, numbers, provenance, environment and source file.
/// [`plan_accept`] keeps the old provenance of every number it does not move, so
/// this is plain equality of the parsed files; it differs from comparing texts
/// only for a schema version 1 file, whose rewrite in version 2 alone is not
/// worth a commit. A planned text that does not parse counts as a change (and
/// fails later, where the new baselines are read back).
fn holds_same_numbers(baselines: &BaselineSet, planned: &PlannedFile) -> bool {
    let Ok(new) = Baseline::parse(&planned.relative_path, &planned.contents) else {
        return false;
    };
    baselines.suites.get(&new.suite()) == Some(&new)
}

/// `a/b.toml` whatever the platform's separator.
fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use irgate_core::Comparison;

    use super::super::contents::RepoFile;
    use super::*;
    use crate::comment::PullRequest;

    const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

    fn request(reason: Option<&str>, trigger: Trigger) -> AcceptRequest {
        AcceptRequest {
            pr: PullRequest::new("Owner/Repo", 2).unwrap(),
            actor: "maint".into(),
            reason: reason.map(String::from),
            trigger,
        }
    }

    fn comment() -> Trigger {
        Trigger::Comment { comment_id: 7 }
    }

    fn head(repo: Option<&str>) -> Head {
        Head {
            sha: SHA.into(),
            branch: "topic".into(),
            repo: repo.map(String::from),
        }
    }

    fn results(sha: &str) -> GateResults {
        GateResults {
            head_sha: sha.into(),
            comparison: Comparison::from_json(include_str!(
                "../../tests/fixtures/comparison-sample.json"
            ))
            .unwrap(),
        }
    }

    /// Decides with the given parts and no baselines on the branch.
    fn decide_with(
        request: &AcceptRequest,
        permission: Permission,
        head: &Head,
        results: Option<&GateResults>,
        existing: &[ExistingFile],
    ) -> Result<Plan, Refusal> {
        let baselines = BaselineSet::from_texts(
            existing
                .iter()
                .map(|e| (e.relative_path.as_path(), e.file.text.as_str())),
        )
        .unwrap();
        decide(&Facts {
            request,
            permission: &permission,
            head,
            results,
            baselines: &baselines,
            existing,
            baselines_dir: "baselines",
            accepted_at: "2026-01-02T03:04:05Z",
        })
    }

    #[test]
    fn refusals() {
        let ok = request(Some("intended"), comment());
        let same = head(Some("owner/repo"));
        let r = results(SHA);
        let refusal = |req: &AcceptRequest, perm: Permission, head: &Head, res| {
            decide_with(req, perm, head, res, &[]).unwrap_err()
        };
        assert_eq!(
            refusal(&ok, Permission::Read, &same, Some(&r)),
            Refusal::NotPermitted {
                login: "maint".into(),
                permission: Permission::Read
            }
        );
        assert_eq!(
            refusal(&ok, Permission::Triage, &same, Some(&r)),
            Refusal::NotPermitted {
                login: "maint".into(),
                permission: Permission::Triage
            }
        );
        assert_eq!(
            refusal(
                &request(None, comment()),
                Permission::Write,
                &same,
                Some(&r)
            ),
            Refusal::NoReason
        );
        assert_eq!(
            refusal(&ok, Permission::Admin, &head(Some("fork/repo")), Some(&r)),
            Refusal::Fork {
                head_repo: "fork/repo".into()
            }
        );
        assert_eq!(
            refusal(&ok, Permission::Admin, &head(None), Some(&r)),
            Refusal::Fork {
                head_repo: "(deleted fork)".into()
            }
        );
        let button = request(
            Some("button"),
            Trigger::Button {
                head_sha: "0ld".into(),
            },
        );
        assert_eq!(
            refusal(&button, Permission::Maintain, &same, Some(&r)),
            Refusal::Stale {
                results_sha: "0ld".into(),
                head_sha: SHA.into()
            }
        );
        assert_eq!(
            refusal(&ok, Permission::Write, &same, None),
            Refusal::NoResults {
                head_sha: SHA.into()
            }
        );
        let old = results("0ld");
        assert_eq!(
            refusal(&ok, Permission::Write, &same, Some(&old)),
            Refusal::Stale {
                results_sha: "0ld".into(),
                head_sha: SHA.into()
            }
        );
        let empty = GateResults {
            head_sha: SHA.into(),
            comparison: Comparison::could_not_judge("no results", None),
        };
        assert_eq!(
            refusal(&ok, Permission::Write, &same, Some(&empty)),
            Refusal::Nothing("the gate run has no benchmark results".into())
        );
    }

    #[test]
    fn a_plan_writes_the_changed_files() {
        let req = request(Some("intended"), comment());
        let r = results(SHA);
        let plan = decide_with(
            &req,
            Permission::Write,
            &head(Some("Owner/Repo")),
            Some(&r),
            &[],
        )
        .unwrap();
        assert_eq!(plan.reason, "intended");
        assert_eq!(plan.run, r.comparison.to_run());
        assert!(!plan.files.is_empty());
        assert_eq!(plan.writes.len(), plan.files.len());
        assert_eq!(
            plan.accepted,
            plan.files.iter().map(|f| f.accepted.len()).sum::<usize>()
        );
        assert_eq!(plan.accepted, r.comparison.to_run().benchmarks.len());
        for (w, f) in plan.writes.iter().zip(&plan.files) {
            assert_eq!(
                w.path,
                format!("baselines/{}", slash_path(&f.relative_path))
            );
            assert_eq!(w.contents, f.contents);
            assert_eq!(w.old_sha, None);
            assert!(
                f.contents.contains("accepted_by = \"maint\""),
                "{}",
                f.contents
            );
            assert!(f.contents.contains("2026-01-02T03:04:05Z"));
        }
        assert_eq!(
            plan.message,
            "irgate: accept benchmark results of ec26c3e\n\nReason: intended\nAccepted-by: maint"
        );

        // The same accept again changes nothing, and neither does one with
        // another reason: both are refused rather than committed.
        let existing: Vec<ExistingFile> = plan
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| ExistingFile {
                relative_path: f.relative_path.clone(),
                file: RepoFile {
                    text: f.contents.clone(),
                    sha: format!("{i:040x}"),
                },
            })
            .collect();
        let nothing = Refusal::Nothing(ALREADY_HELD.into());
        let again = decide_with(
            &req,
            Permission::Write,
            &head(Some("owner/repo")),
            Some(&r),
            &existing,
        );
        assert_eq!(again.unwrap_err(), nothing);
        let other = request(Some("another reason"), comment());
        let reworded = decide_with(
            &other,
            Permission::Admin,
            &head(Some("owner/repo")),
            Some(&r),
            &existing,
        );
        assert_eq!(reworded.unwrap_err(), nothing);

        // A file whose numbers differ is replaced naming its blob.
        let mut changed_existing = existing.clone();
        let first = &mut changed_existing[0];
        let mut b = Baseline::parse(&first.relative_path, &first.file.text).unwrap();
        let key = b.benchmarks.keys().next().unwrap().clone();
        let ir = b.benchmarks[&key].metrics.ir().unwrap();
        b.benchmarks
            .get_mut(&key)
            .unwrap()
            .metrics
            .insert("Ir", ir + 1);
        first.file.text = b.to_toml().unwrap();
        let changed = decide_with(
            &other,
            Permission::Admin,
            &head(Some("owner/repo")),
            Some(&r),
            &changed_existing,
        )
        .unwrap();
        assert_eq!(changed.writes.len(), 1);
        assert_eq!(
            changed.writes[0].old_sha,
            Some(existing[0].file.sha.clone())
        );
        assert_eq!(changed.writes[0].contents, changed.files[0].contents);
        // Only the moved benchmark takes the new reason; the others keep theirs.
        let written =
            Baseline::parse(&changed.files[0].relative_path, &changed.writes[0].contents).unwrap();
        for (k, e) in &written.benchmarks {
            let want = if *k == key {
                "another reason"
            } else {
                "intended"
            };
            assert_eq!(e.provenance.reason, want, "{k}");
        }

        // A schema version 1 file with the same numbers is not rewritten either:
        // the change of format alone is not worth a commit.
        let v1: Vec<ExistingFile> = existing
            .iter()
            .map(|e| {
                // The v2 text with its shared provenance moved to the file level.
                let b = Baseline::parse(&e.relative_path, &e.file.text).unwrap();
                let p = &b.benchmarks.values().next().unwrap().provenance;
                let provenance = format!(
                    "[provenance]\ncommit = {:?}\naccepted_at = {:?}\naccepted_by = {:?}\nreason = {:?}\n\n[environment]",
                    p.commit, p.accepted_at, p.accepted_by, p.reason
                );
                let text = e
                    .file
                    .text
                    .lines()
                    .filter(|l| {
                        !["accepted_at = ", "accepted_by = ", "accepted_in = ", "reason = "]
                            .iter()
                            .any(|k| l.starts_with(k))
                    })
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
                    .replacen("schema_version = 2", "schema_version = 1", 1)
                    .replacen("[environment]", &provenance, 1);
                assert_eq!(Baseline::parse(&e.relative_path, &text).unwrap(), b);
                ExistingFile {
                    relative_path: e.relative_path.clone(),
                    file: RepoFile {
                        text,
                        sha: e.file.sha.clone(),
                    },
                }
            })
            .collect();
        let from_v1 = decide_with(
            &other,
            Permission::Admin,
            &head(Some("owner/repo")),
            Some(&r),
            &v1,
        );
        assert_eq!(from_v1.unwrap_err(), nothing);
    }
}
