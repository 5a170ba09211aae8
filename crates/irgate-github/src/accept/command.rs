//! Finding `/irgate accept <reason>` in a comment: on a line of its own,
//! outside quoted text, code and HTML comments (`<!-- ... -->`, which GitHub
//! does not show, so a command there would act unseen).

/// The command word.
pub const COMMAND: &str = "/irgate accept";

/// A command found in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/irgate accept <reason>`.
    Accept {
        /// The reason, trimmed.
        reason: String,
    },
    /// `/irgate accept` with no reason.
    AcceptWithoutReason,
}

/// Finds `/irgate accept` on a line of its own, outside quotes, code and HTML
/// comments. An HTML comment that is never closed hides the rest of the body.
pub fn find_command(body: &str) -> Option<Command> {
    let mut fence: Option<&str> = None;
    let mut in_quote = false;
    let mut in_comment = false;
    for raw in body.lines() {
        if let Some(f) = fence {
            if raw.trim_start().starts_with(f) {
                fence = None;
            }
            continue;
        }
        let shown = if in_comment || raw.contains("<!--") {
            let (shown, open) = without_html_comments(raw, in_comment);
            in_comment = open;
            if shown.trim().is_empty() {
                // All comment: neither text nor a blank line that ends a quote.
                continue;
            }
            std::borrow::Cow::Owned(shown)
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
        let line: &str = &shown;
        // A removed comment leaves a HIDDEN mark: it joins nothing into a command
        // (`/<!-- -->irgate` is not `/irgate`), and before the first word it is
        // no indentation.
        let trimmed = line.trim_start_matches(|c: char| c.is_whitespace() || c == HIDDEN);
        let lead: String = line[..line.len() - trimmed.len()]
            .chars()
            .filter(|c| *c != HIDDEN)
            .collect();
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let indent = lead.len();
        if trimmed.is_empty() {
            in_quote = false;
            continue;
        }
        // A line right after a quote line is part of the quote (markdown's
        // lazy continuation) until a blank line ends it.
        if trimmed.starts_with('>') || in_quote {
            in_quote = true;
            continue;
        }
        if lead.starts_with('\t') || indent >= 4 {
            continue;
        }
        let Some(rest) = trimmed.strip_prefix(COMMAND) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            continue;
        }
        // The reason as shown, without what the comments hid; where one was, a
        // space, so that the text around it cannot join into a new comment
        // (`<<!-->!--` is not `<!--`).
        let reason = rest
            .split(|c: char| c.is_whitespace() || c == HIDDEN)
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let reason = reason.as_str();
        return Some(if reason.is_empty() {
            Command::AcceptWithoutReason
        } else {
            Command::Accept {
                reason: reason.chars().take(500).collect(),
            }
        });
    }
    None
}

/// What stands where an HTML comment was removed from a line: a character no
/// command or reason is made of, so the text on its two sides is not joined.
const HIDDEN: char = '\0';

/// The text of `line` that is shown, with `<!-- ... -->` spans replaced by
/// [`HIDDEN`], and
/// whether a comment is still open at its end. `in_comment`: the line starts
/// inside a comment opened on an earlier line.
fn without_html_comments(line: &str, mut in_comment: bool) -> (String, bool) {
    let mut shown = String::new();
    let mut rest = line;
    loop {
        if in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + "-->".len()..];
                    in_comment = false;
                }
                None => return (shown, true),
            }
        }
        match rest.find("<!--") {
            Some(start) => {
                shown.push_str(&rest[..start]);
                shown.push(HIDDEN);
                rest = &rest[start + "<!--".len()..];
                // `<!-->` and `<!--->` are complete (empty) comments in HTML.
                if let Some(after) = rest.strip_prefix('>').or_else(|| rest.strip_prefix("->")) {
                    rest = after;
                } else {
                    in_comment = true;
                }
            }
            None => {
                shown.push_str(rest);
                return (shown, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_joins_nothing_into_a_command() {
        // Found by the fuzzer: GitHub shows `/<!-->irgate`, never `/irgate`.
        assert_eq!(find_command("LGTM\n\n  /<!-->irgate accept  ok  \n"), None);
        assert_eq!(find_command("/irgate<!-- -->accept ok"), None);
        assert_eq!(find_command("/irgate accept<!-- -->ok"), None);
        // A comment before the command hides nothing of it, and is no indentation.
        assert_eq!(
            find_command("<!--a--><!--b--><!--c--><!--d-->/irgate accept ok"),
            Some(Command::Accept {
                reason: "ok".into()
            })
        );
        // The reason is what is shown.
        assert_eq!(
            find_command("/irgate accept fix<!-- hidden --> more"),
            Some(Command::Accept {
                reason: "fix more".into()
            })
        );
        assert_eq!(
            find_command("/irgate accept <!-- nothing shown -->"),
            Some(Command::AcceptWithoutReason)
        );
        // Found by the fuzzer: what stands around a removed comment does not join
        // into another one.
        assert_eq!(
            find_command("/irgate accept <<!-->!-- c --> visible"),
            Some(Command::Accept {
                reason: "< !-- c --> visible".into()
            })
        );
    }

    #[test]
    fn command_parsing() {
        assert_eq!(
            find_command("/irgate accept faster parser is slower on tiny input"),
            Some(Command::Accept {
                reason: "faster parser is slower on tiny input".into()
            })
        );
        assert_eq!(
            find_command("LGTM\n\n  /irgate accept  ok  \n"),
            Some(Command::Accept {
                reason: "ok".into()
            })
        );
        assert_eq!(
            find_command("/irgate accept"),
            Some(Command::AcceptWithoutReason)
        );
        assert_eq!(find_command("/irgate accepted"), None);
        assert_eq!(find_command("> /irgate accept quoted"), None);
        assert_eq!(find_command(" > /irgate accept quoted"), None);
        assert_eq!(find_command("```\n/irgate accept code\n```"), None);
        assert_eq!(find_command("~~~sh\n/irgate accept code\n~~~"), None);
        assert_eq!(find_command("    /irgate accept indented"), None);
        assert_eq!(find_command("please run `/irgate accept x`"), None);
        assert_eq!(find_command("> you said\n/irgate accept lazy"), None);
        assert_eq!(
            find_command("> you said\n\n/irgate accept mine\r\n"),
            Some(Command::Accept {
                reason: "mine".into()
            })
        );
        assert_eq!(
            find_command("```\nx\n```\n/irgate accept after"),
            Some(Command::Accept {
                reason: "after".into()
            })
        );
    }
}
