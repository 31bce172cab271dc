//! BentoML tags: `name` or `name:version`, validated like BentoML's
//! `validate_tag_str` (`[a-z0-9]([-._a-z0-9]*[a-z0-9])?`, ≤ 63 characters
//! per part, lowercased first).

use std::fmt;

pub const MAX_PART_LEN: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// `None` or `Some("latest")` both mean the latest version.
    pub version: Option<String>,
}

impl Tag {
    /// Parses and validates a tag string. The error says which part is
    /// wrong and why.
    pub fn parse(input: &str) -> Result<Tag, String> {
        let lowered = input.to_lowercase();
        let (name, version) = match lowered.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (lowered.as_str(), None),
        };
        validate_part("name", name)?;
        if let Some(v) = version {
            if v.is_empty() {
                return Err("a tag must not end with `:`; write `name` or `name:version`".into());
            }
            validate_part("version", v)?;
        }
        Ok(Tag {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }

    pub fn wants_latest(&self) -> bool {
        matches!(self.version.as_deref(), None | Some("latest"))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}:{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Checks one tag part (name or version) against BentoML's rule.
pub fn validate_part(what: &str, part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!("the tag {what} is empty"));
    }
    if part.len() > MAX_PART_LEN {
        return Err(format!(
            "the tag {what} is {} characters long; BentoML allows at most {MAX_PART_LEN}",
            part.len()
        ));
    }
    let ok_inner =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_');
    let ok_edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if let Some(bad) = part.chars().find(|c| !ok_inner(*c)) {
        return Err(format!(
            "the tag {what} `{part}` contains {bad:?}; only a-z, 0-9, `-`, `.` and `_` are allowed"
        ));
    }
    let first = part.chars().next().unwrap_or('a');
    let last = part.chars().last().unwrap_or('a');
    if !ok_edge(first) || !ok_edge(last) {
        return Err(format!(
            "the tag {what} `{part}` must start and end with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bentoml_tags() {
        let t = Tag::parse("Iris_Classifier:UIPS").unwrap();
        assert_eq!(t.name, "iris_classifier");
        assert_eq!(t.version.as_deref(), Some("uips"));
        assert!(Tag::parse("iris_classifier").unwrap().wants_latest());
        assert!(Tag::parse("a:latest").unwrap().wants_latest());
    }

    #[test]
    fn rejects_what_bentoml_rejects() {
        assert!(Tag::parse("iris:").is_err());
        assert!(Tag::parse("-iris").is_err());
        assert!(Tag::parse("iris_").is_err());
        assert!(Tag::parse("ir is").is_err());
        assert!(Tag::parse(&"a".repeat(64)).is_err());
        assert!(Tag::parse(&"a".repeat(63)).is_ok());
        assert!(Tag::parse("a:b:c").is_err());
    }
}
