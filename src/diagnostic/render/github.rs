//! `--format github`: GitHub Actions workflow commands on stdout, which the
//! runner turns into annotations on the pull request's diff:
//! `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE::message`.

use super::Region;
use crate::diagnostic::{FileDiagnostics, Severity};

pub fn render_github(reports: &[FileDiagnostics]) -> String {
    let mut out = String::new();
    for report in reports {
        for d in &report.diagnostics {
            let command = match d.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            let mut properties = vec![format!("file={}", escape_property(&report.file.name))];
            if let Some(span) = &d.span {
                let r = Region::of(&report.file, span);
                properties.push(format!("line={}", r.line));
                properties.push(format!("col={}", r.column));
                properties.push(format!("endLine={}", r.end_line));
                properties.push(format!("endColumn={}", r.end_column));
            }
            let title = format!("{} ({})", d.rule.code, d.rule.name);
            properties.push(format!("title={}", escape_property(&title)));
            let mut message = d.message.clone();
            if let Some(label) = &d.label {
                message.push_str(&format!(": {label}"));
            }
            if let Some(help) = &d.help {
                message.push_str(&format!("\nhelp: {help}"));
            }
            out.push_str(&format!(
                "::{command} {}::{}\n",
                properties.join(","),
                escape_data(&message)
            ));
        }
    }
    out
}

/// The runner's escaping of a command's message (`@actions/core`'s
/// `escapeData`): `%`, CR and LF, so a message is one line.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value (`escapeProperty`): also `:` and `,`, which end it.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_actions_runner_reads() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_data("a: b, c"), "a: b, c");
        assert_eq!(
            escape_property("dir,with:odd%name\n.toml"),
            "dir%2Cwith%3Aodd%25name%0A.toml"
        );
    }
}
