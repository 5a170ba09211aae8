//! Deriving what a summary is about: its [`BenchId`] (package, bench, group, function,
//! id) and its bench source file relative to the repository root.

use std::path::{Component, Path, PathBuf};

use super::summary::Summary;
use super::{ReadError, ReadOptions};
use crate::model::{BenchId, BenchIdError};

/// The benchmark id of `s`, read from `path`; `shape` makes the error for a summary
/// that lacks what an id is made of.
pub(super) fn bench_id(
    path: &Path,
    s: &Summary<'_>,
    shape: impl FnOnce(String) -> ReadError,
) -> Result<BenchId, ReadError> {
    derive_id(s).map_err(|e| match e {
        IdProblem::Shape(m) => shape(m),
        IdProblem::Id(source) => ReadError::Id {
            path: path.to_owned(),
            source,
        },
    })
}

/// The bench source file of `s` (see [`source_file`]), looked up in `cache` first.
pub(super) fn cached_source_file(
    s: &Summary<'_>,
    options: &ReadOptions,
    cache: &mut SourceCache,
) -> Option<String> {
    match &s.benchmark_file {
        Some(file) => {
            cache.get_or_insert(s.project_root.as_deref(), file, || source_file(s, options))
        }
        None => None,
    }
}

/// Source-file lookups already made: `(project_root, benchmark_file)` → result.
/// Every benchmark of a bench target names the same file, so this saves the
/// filesystem probes of [`source_file`] for all but the first. A run has a handful of
/// bench files, so a list searched without allocating beats a map.
#[derive(Default)]
pub(super) struct SourceCache(Vec<(Option<String>, String, Option<String>)>);

impl SourceCache {
    pub(super) fn new() -> Self {
        Self::default()
    }

    fn get_or_insert(
        &mut self,
        root: Option<&str>,
        file: &str,
        make: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        if let Some((_, _, v)) = self
            .0
            .iter()
            .find(|(r, f, _)| r.as_deref() == root && f == file)
        {
            return v.clone();
        }
        let v = make();
        self.0
            .push((root.map(str::to_owned), file.to_owned(), v.clone()));
        v
    }
}

enum IdProblem {
    Shape(String),
    Id(BenchIdError),
}

/// Normal path components of `p` as strings.
fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

fn derive_id(s: &Summary<'_>) -> Result<BenchId, IdProblem> {
    let module_path = s
        .module_path
        .as_deref()
        .ok_or_else(|| IdProblem::Shape("missing `module_path`".into()))?;
    let bench = module_path
        .split("::")
        .next()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| IdProblem::Shape(format!("bad `module_path` {module_path:?}")))?;
    let function = s
        .function_name
        .as_deref()
        .or_else(|| module_path.rsplit("::").next())
        .ok_or_else(|| IdProblem::Shape("missing `function_name`".into()))?;
    let group = match &s.group {
        Some(g) => g.clone().into_owned(),
        None => {
            let parts: Vec<&str> = module_path.split("::").collect();
            if parts.len() >= 3 {
                parts[1..parts.len() - 1].join("::")
            } else {
                return Err(IdProblem::Shape(format!(
                    "`module_path` {module_path:?} has no group"
                )));
            }
        }
    };
    let package = package_name(s, bench).ok_or_else(|| {
        IdProblem::Shape(
            "cannot tell the package: neither `output_dir`, `summary_output.path` nor \
             `package_dir` names it"
                .into(),
        )
    })?;
    BenchId::new(
        package,
        bench,
        group,
        function,
        s.id.as_deref().map(str::to_owned),
    )
    .map_err(IdProblem::Id)
}

/// The package name: the directory above `<bench>` in the output layout
/// (`.../<package>/<bench>/<group>/<function>`), else the package directory's name.
fn package_name(s: &Summary<'_>, bench: &str) -> Option<String> {
    let from_layout = |dir: &str| {
        let mut c = components(dir);
        if c.last().is_some_and(|l| l == "summary.json") {
            c.pop();
        }
        // .../<package>/<bench>/<group>/<function>[.<id>]
        let n = c.len();
        if n >= 4 && c[n - 3] == bench {
            Some(c[n - 4].clone())
        } else {
            None
        }
    };
    if let Some(p) = s.output_dir.as_deref().and_then(from_layout) {
        return Some(p);
    }
    if let Some(p) = s
        .summary_output
        .as_ref()
        .and_then(|o| o.path.as_deref())
        .and_then(from_layout)
    {
        return Some(p);
    }
    s.package_dir.as_deref().and_then(|d| components(d).pop())
}

/// The bench source file relative to the repository root, never absolute.
fn source_file(s: &Summary<'_>, options: &ReadOptions) -> Option<String> {
    let file = Path::new(s.benchmark_file.as_deref()?);
    let project_root = s.project_root.as_deref().map(Path::new);
    let absolute = if file.is_absolute() {
        file.to_owned()
    } else {
        match project_root {
            Some(root) => root.join(file),
            None => file.to_owned(),
        }
    };
    if let Some(repo) = &options.repo_root {
        if let Ok(rel) = absolute.strip_prefix(repo) {
            return to_slash(rel);
        }
        // From another machine: the longest suffix that exists below the repo root.
        let parts = components(&absolute.to_string_lossy());
        for start in 0..parts.len() {
            let rel: PathBuf = parts[start..].iter().collect();
            if repo.join(&rel).is_file() {
                return to_slash(&rel);
            }
        }
    }
    if file.is_relative() {
        to_slash(file)
    } else {
        None
    }
}

fn to_slash(p: &Path) -> Option<String> {
    let parts: Vec<String> = p
        .components()
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::CurDir => Some(String::new()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}
