//! The Ray Serve multi-application config (`ServeDeploySchema`), as read by
//! `serve deploy`, `serve run` and KubeRay's `serveConfigV2`.

use serde_json::{Map, Value};

use crate::plan::Plan;

/// The config as a JSON value, keys in Ray's documented order; unset fields
/// are omitted, never `null` (Ray rejects `null` for several fields).
pub fn to_value(plan: &Plan, entrypoint_hash: &str) -> Value {
    let serve = &plan.serve;
    let mut top = Map::new();
    if let Some(p) = serve.proxy_location {
        top.insert(
            "proxy_location".into(),
            serde_json::to_value(p).unwrap_or(Value::Null),
        );
    }
    if let Some(h) = &serve.http_options {
        top.insert("http_options".into(), h.clone());
    }
    if let Some(l) = &serve.logging_config {
        top.insert("logging_config".into(), l.clone());
    }
    let app = &serve.application;
    let mut a = Map::new();
    a.insert("name".into(), Value::String(app.name.clone()));
    a.insert(
        "route_prefix".into(),
        Value::String(app.route_prefix.clone()),
    );
    a.insert("import_path".into(), Value::String(app.import_path.clone()));
    let mut runtime_env = app.runtime_env.clone().unwrap_or_default();
    let env_vars = runtime_env
        .entry("env_vars")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(vars) = env_vars {
        vars.insert(
            super::HASH_ENV_VAR.into(),
            Value::String(entrypoint_hash.to_string()),
        );
    }
    a.insert("runtime_env".into(), Value::Object(runtime_env));
    if let Some(args) = &app.args {
        a.insert("args".into(), Value::Object(args.clone()));
    }
    if let Some(l) = &app.logging_config {
        a.insert("logging_config".into(), l.clone());
    }
    let deployments: Vec<Value> = app
        .deployments
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(d.name.clone()));
            m.extend(d.options.clone());
            Value::Object(m)
        })
        .collect();
    if !deployments.is_empty() {
        a.insert("deployments".into(), Value::Array(deployments));
    }
    top.insert("applications".into(), Value::Array(vec![Value::Object(a)]));
    Value::Object(top)
}

pub fn render(plan: &Plan, entrypoint_hash: &str) -> String {
    format!(
        "# {}\n{}",
        super::header(plan),
        to_yaml(&to_value(plan, entrypoint_hash))
    )
}

/// Block-style YAML for a JSON value that YAML 1.1 loaders (PyYAML, which
/// Ray uses) and YAML 1.2 loaders read back as the same value.
///
/// YAML 1.1 resolves many plain scalars that 1.2 keeps as strings (`yes`,
/// `off`, `1_000`, `1:30`, `2001-12-14`, `<<`, `=`), and reads `1e-5` as a
/// string. So a string is written plain only when it has a form no loader
/// resolves to anything else; every other string, keys included, is
/// double-quoted with escapes (ASCII only, so no character can be read as
/// a YAML 1.1 line break), and floats always carry a `.` and a signed
/// exponent.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_node(value, 0, false, &mut out);
    out
}

/// [`to_yaml`], except that a multi-line string that a literal block
/// scalar (`|`) carries exactly ([`is_literal_safe`]) is written as one,
/// its lines indented under its key: how a YAML document embeds another
/// (KubeRay's `serveConfigV2`) so that both stay readable.
pub fn to_yaml_with_literal_blocks(value: &Value) -> String {
    let mut out = String::new();
    write_node(value, 0, true, &mut out);
    out
}

/// Whether `s` reads back byte for byte from a `|` block in YAML 1.1 and
/// 1.2: printable ASCII lines, ending with exactly one line break (what
/// `|`'s clip chomping keeps), the first line neither empty nor indented
/// (the block's indentation is taken from it), no line of spaces or with
/// trailing spaces (loaders differ on those).
pub fn is_literal_safe(s: &str) -> bool {
    let Some(body) = s.strip_suffix('\n') else {
        return false;
    };
    !body.is_empty()
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\n'])
        && body
            .bytes()
            .all(|b| b == b'\n' || (b' '..=b'~').contains(&b))
        && body.split('\n').all(|line| !line.ends_with(' '))
}

/// YAML limits implicit (`key: value`) keys to 1024 characters; PyYAML
/// and libyaml reject longer ones, so those are written as explicit keys.
const MAX_IMPLICIT_KEY: usize = 1000;

/// Writes `value` at the current position (after `- ` or at a line start)
/// and ends its last line.
fn write_node(value: &Value, indent: usize, blocks: bool, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (key, v)) in map.iter().enumerate() {
                if i > 0 {
                    push_indent(indent, out);
                }
                let key_text = string(key);
                if key_text.len() > MAX_IMPLICIT_KEY {
                    // An explicit key: `? key` on its own line, then `:`.
                    out.push_str("? ");
                    out.push_str(&key_text);
                    out.push('\n');
                    push_indent(indent, out);
                } else {
                    out.push_str(&key_text);
                }
                out.push(':');
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push('\n');
                        push_indent(indent + 2, out);
                        write_node(v, indent + 2, blocks, out);
                    }
                    // Ray's (and serde_yaml's) style: a sequence under a key
                    // is not indented.
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        push_indent(indent, out);
                        write_node(v, indent, blocks, out);
                    }
                    _ => {
                        out.push(' ');
                        write_node(v, indent + 2, blocks, out);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    push_indent(indent, out);
                }
                out.push_str("- ");
                write_node(item, indent + 2, blocks, out);
            }
        }
        Value::String(text) if blocks && indent > 0 && is_literal_safe(text) => {
            out.push_str("|\n");
            for line in text.lines() {
                if !line.is_empty() {
                    push_indent(indent, out);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// An integer as digits; a float with a `.` and, when it has an exponent, a
/// signed one (`1.0e-5`): PyYAML's float pattern requires both.
fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    // Rust's Debug form is the shortest that round-trips (`0.2`, `5.0`,
    // `1e-5`, `1e20`); non-finite values never reach the plan.
    let text = format!("{:?}", n.as_f64().unwrap_or(0.0));
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m.to_string(), Some(e.to_string())),
        None => (text, None),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa
    } else {
        format!("{mantissa}.0")
    };
    match exponent {
        Some(e) if e.starts_with('-') => format!("{mantissa}e{e}"),
        Some(e) => format!("{mantissa}e+{e}"),
        None => mantissa,
    }
}

/// A YAML string: plain when unambiguous in YAML 1.1 and 1.2, else
/// double-quoted with every character outside printable ASCII escaped.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Whether `s` reads back as itself, a string, when written plain, in both
/// YAML versions. Starting with a letter, `_` or `/` rules out every
/// number, date, time, `.inf`/`.nan`, `~`, `<<`, `=` and indicator; the
/// character set rules out comments, flow and `: `; what is left to resolve
/// are the words for booleans and null, in any case.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':'))
        && !s.ends_with(':')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "true",
            "Null",
            "1_000",
            "1:30",
            "2001-12-14",
            "=",
            "0x_",
            "<<",
            "",
            "~",
            ".inf",
            "-",
            "a: b",
            "a #b",
            "12ab",
            "key:",
        ] {
            assert!(string(s).starts_with('"'), "{s:?} -> {}", string(s));
        }
        for s in [
            "bento_ray:app",
            "/classify",
            "bento-svc-iris",
            "num_cpus",
            "yesterday",
        ] {
            assert_eq!(string(s), s);
        }
        assert_eq!(
            string("a\"b\\\n\u{2028}\u{85}😀"),
            r#""a\"b\\\n\u2028\x85\U0001f600""#
        );
    }

    #[test]
    fn long_keys_are_explicit() {
        let long = "k".repeat(1100);
        let escaped = "\u{1f600}".repeat(120);
        let v = json!({"m": {&long: {"a": 1}, &escaped: [1, {"b": 2}], "short": 3}, &long: "x"});
        let text = to_yaml(&v);
        assert!(
            text.contains(&format!("  ? {long}\n  :\n    a: 1\n")),
            "{text}"
        );
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn floats_keep_a_point_and_a_signed_exponent() {
        let floats = json!([0.2, 5.0, 1e-5, 1e20, -2.5e-300, 1.5e300]);
        let texts: Vec<String> = floats.as_array().unwrap().iter().map(scalar_text).collect();
        assert_eq!(
            texts,
            ["0.2", "5.0", "1.0e-5", "1.0e+20", "-2.5e-300", "1.5e+300"]
        );
        assert_eq!(scalar_text(&json!(-3)), "-3");
    }

    #[test]
    fn literal_blocks_read_back_exactly() {
        let texts = [
            "a: 1\n",
            "# c\nk:\n- x: \"q\\n\"\n\n  deep: 2\n",
            "---\n...\n| > #\n",
        ];
        for text in texts {
            assert!(is_literal_safe(text), "{text:?}");
            let v = json!({"spec": {"embedded": text, "list": [text]}});
            let yaml = to_yaml_with_literal_blocks(&v);
            assert!(yaml.contains("embedded: |\n"), "{yaml}");
            let back: Value = serde_norway::from_str(&yaml).unwrap();
            assert_eq!(back, v, "{yaml}");
        }
        for unsafe_text in [
            "", "a", "a\n\n", " a\n", "\na\n", "a \nb\n", "\u{e9}\n", "a\tb\n",
        ] {
            assert!(!is_literal_safe(unsafe_text), "{unsafe_text:?}");
            let v = json!({"k": unsafe_text});
            let yaml = to_yaml_with_literal_blocks(&v);
            assert_eq!(yaml, to_yaml(&v));
        }
    }

    #[test]
    fn layout_matches_block_style() {
        let v = json!({"a": [{"b": 1, "c": [[1, 2], []]}, "x"], "d": {"e": {}}, "<<": {"k": "v"}});
        assert_eq!(
            to_yaml(&v),
            "a:\n- b: 1\n  c:\n  - - 1\n    - 2\n  - []\n- x\nd:\n  e: {}\n\"<<\":\n  k: v\n"
        );
        let back: Value = serde_norway::from_str(&to_yaml(&v)).unwrap();
        assert_eq!(back, v);
    }
}
