//! Stage 1: the spec. Reads `bentoray.toml` into a spanned tree and a JSON
//! value, and defines the typed spec (whose JSON Schema is generated).

pub mod ray;
pub mod spanned;
pub mod types;

/// `name` as a TOML key: bare when TOML allows it, else a basic string.
pub fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        name.to_string()
    } else {
        toml_string(name)
    }
}

/// `text` as a TOML basic string, ASCII-only (control and non-ASCII
/// characters escaped), so it reads back as exactly `text`.
pub fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_strings_read_back() {
        for text in ["iris_clf", "a.b", "", "é", "q\"\\\n\t\u{7f}", "😀 x"] {
            let doc = format!("{} = {}", toml_key(text), toml_string(text));
            let table: toml::Table = doc.parse().expect(&doc);
            assert_eq!(
                table.get(text).and_then(|v| v.as_str()),
                Some(text),
                "{doc}"
            );
        }
        assert_eq!(toml_key("iris-clf_2"), "iris-clf_2");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
    }
}
