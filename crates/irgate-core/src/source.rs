//! Places in source texts: the line and column of a byte offset (for errors that
//! name the place in a configuration file) and the line that defines a benchmark
//! in a Rust bench file (for annotations on the regressed benchmark's definition).

/// 1-based line and column (in characters) of byte `offset` in `text`. An offset
/// past the end counts as the end; one inside a character as that character's start.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Finds the line that defines a benchmark in its bench file.
///
/// The function is the `fn <function>` marked `#[library_benchmark]` (any
/// `fn <function>` when none is marked). With a case id, the line is that
/// case's `#[bench::<id>(...)]` attribute *in the function's own attribute
/// block* (several functions often share case names such as `none`), or the
/// `#[benches::<name>(...)]` attribute that generates ids `<name>_0`,
/// `<name>_1`, ...; otherwise it is the `fn` line. Returns 1 when nothing
/// matches.
pub fn definition_line(source: &str, function: &str, case: Option<&str>) -> u64 {
    let lines: Vec<&str> = source.lines().collect();
    let defines = |line: &str| {
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        t.strip_prefix("fn ")
            .and_then(|rest| rest.strip_prefix(function))
            .is_some_and(|rest| rest.starts_with('(') || rest.starts_with('<'))
    };
    // The attribute block above line `i`: up to the previous item, i.e. the
    // nearest line above at column 0 that is not an attribute, a comment or
    // the closing of a multi-line attribute.
    let block = |i: usize| {
        let mut start = i;
        while start > 0 {
            let l = lines[start - 1];
            let boundary = l.chars().next().is_some_and(|c| !c.is_whitespace())
                && !["#", "//", ")", "]"].iter().any(|p| l.starts_with(p));
            if boundary {
                break;
            }
            start -= 1;
        }
        start..i
    };
    let candidates: Vec<usize> = (0..lines.len()).filter(|&i| defines(lines[i])).collect();
    let Some(&fn_idx) = candidates
        .iter()
        .find(|&&i| {
            block(i)
                .map(|j| lines[j].trim_start())
                .any(|l| l.starts_with("#[library_benchmark"))
        })
        .or(candidates.first())
    else {
        return 1;
    };
    let Some(case) = case else {
        return fn_idx as u64 + 1;
    };
    let attr = |kind: &str, name: &str, line: &str| {
        line.strip_prefix(&format!("#[{kind}::{name}"))
            .is_some_and(|rest| rest.starts_with('(') || rest.starts_with(']'))
    };
    let generated_from = case
        .rsplit_once('_')
        .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map(|(name, _)| name);
    let in_block: Vec<(usize, &str)> = block(fn_idx).map(|j| (j, lines[j].trim_start())).collect();
    if let Some((j, _)) = in_block.iter().find(|(_, l)| attr("bench", case, l)) {
        return *j as u64 + 1;
    }
    if let Some(name) = generated_from {
        if let Some((j, _)) = in_block.iter().find(|(_, l)| attr("benches", name, l)) {
            return *j as u64 + 1;
        }
    }
    fn_idx as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_an_offset() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        // Columns count characters: `é` is two bytes.
        assert_eq!(line_col(text, 10), (2, 4));
        // Inside `é`: its start. Past the end: the end.
        assert_eq!(line_col(text, 8), (2, 2));
        assert_eq!(line_col(text, 99), (3, 1));
    }

    #[test]
    fn finds_definition_lines() {
        let src = "use x;\n\n#[library_benchmark]\n#[bench::small(1)]\n#[bench::large(2)]\nfn load(n: u8) {}\n\npub fn other<T>() {}\n";
        assert_eq!(definition_line(src, "load", Some("large")), 5);
        assert_eq!(definition_line(src, "load", None), 6);
        assert_eq!(definition_line(src, "other", None), 8);
        assert_eq!(definition_line(src, "lo", None), 1);
        assert_eq!(definition_line(src, "missing", Some("x")), 1);
        // An unknown case falls back to the function's line.
        assert_eq!(definition_line(src, "load", Some("huge")), 6);
    }

    #[test]
    fn case_names_shared_by_several_functions() {
        let src = "\
#[library_benchmark]
#[bench::none(args = (1), setup = s)]
#[bench::noop(
    args = (2),
    setup = s,
)]
fn output(n: u8) {}

#[library_benchmark]
#[bench::none(args = (1), setup = s)]
#[bench::noop(
    args = (2),
    setup = s,
)]
fn input(n: u8) {}

#[library_benchmark]
#[benches::sizes(args = [1, 2, 3])]
fn many(n: u8) {}

mod helpers {
    pub fn input() {}
}
";
        assert_eq!(definition_line(src, "output", Some("none")), 2);
        assert_eq!(definition_line(src, "input", Some("none")), 10);
        assert_eq!(definition_line(src, "input", Some("noop")), 11);
        assert_eq!(definition_line(src, "input", None), 15);
        assert_eq!(definition_line(src, "many", Some("sizes_2")), 18);
    }
}
