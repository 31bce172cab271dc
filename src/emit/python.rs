//! The Python entrypoint: a module exposing the Ray Serve application built
//! by `bentoml.ray.deployment` with keyword arguments.
//!
//! Every value is written by [`literal`], which escapes strings completely
//! (ASCII-only output), so no input can change the structure of the code.

use serde_json::{Map, Value};

use crate::plan::Plan;

pub fn render(plan: &Plan) -> String {
    let e = &plan.entrypoint;
    let runners: Map<String, Value> = e
        .runners_deployment_config_map
        .iter()
        .map(|(k, v)| (k.clone(), Value::Object(v.clone())))
        .collect();
    let batching: Map<String, Value> = e
        .batching_config
        .iter()
        .map(|(runner, methods)| {
            let methods: Map<String, Value> = methods
                .iter()
                .map(|(m, o)| (m.clone(), Value::Object(o.clone())))
                .collect();
            (runner.clone(), Value::Object(methods))
        })
        .collect();
    let mut out = String::new();
    out.push_str(&format!("# {}\n", super::header(plan)));
    out.push_str(concat!(
        "\"\"\"Ray Serve application for a BentoML bento, built by bentoml.ray.deployment.\n",
        "\n",
        "Deploy with `serve deploy serve.yaml` (the config next to this file), or run\n",
        "locally with `serve run <module>:<variable>` using the import path in serve.yaml.\n",
        "\"\"\"\n",
        "\n",
        "import bentoml.ray\n",
        "\n",
    ));
    // Pinned to the exact version that was checked, so a moving `latest`
    // cannot deploy a different bento.
    out.push_str(&format!(
        "BENTO_TAG = {}\n\n",
        literal(&Value::String(plan.bento_tag.clone()), 0)
    ));
    out.push_str(&format!("{} = bentoml.ray.deployment(\n", e.variable));
    out.push_str("    BENTO_TAG,\n");
    out.push_str(&format!(
        "    service_deployment_config={},\n",
        literal(&Value::Object(e.service_deployment_config.clone()), 4)
    ));
    out.push_str(&format!(
        "    runners_deployment_config_map={},\n",
        literal(&Value::Object(runners), 4)
    ));
    out.push_str(&format!(
        "    enable_batching={},\n",
        literal(&Value::Bool(e.enable_batching), 4)
    ));
    out.push_str(&format!(
        "    batching_config={},\n",
        literal(&Value::Object(batching), 4)
    ));
    out.push_str(")\n");
    out
}

/// A Python literal for a JSON value, pretty-printed at `indent` spaces.
pub fn literal(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => number(n),
        Value::String(s) => string(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let pad = " ".repeat(indent + 4);
            let mut out = String::from("[\n");
            for item in items {
                out.push_str(&format!("{pad}{},\n", literal(item, indent + 4)));
            }
            out.push_str(&" ".repeat(indent));
            out.push(']');
            out
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let pad = " ".repeat(indent + 4);
            let mut out = String::from("{\n");
            for (k, v) in map {
                out.push_str(&format!(
                    "{pad}{}: {},\n",
                    string(k),
                    literal(v, indent + 4)
                ));
            }
            out.push_str(&" ".repeat(indent));
            out.push('}');
            out
        }
    }
}

fn number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        // Rust's Debug form round-trips and is valid Python (`0.2`, `1e-5`,
        // `5.0`); non-finite values never reach the plan.
        format!("{f:?}")
    }
}

/// A double-quoted Python string literal using only printable ASCII.
pub fn string(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_cannot_escape_their_literal() {
        assert_eq!(string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(string("é\u{2028}😀\0"), r#""\xe9\u2028\U0001f600\x00""#);
        assert_eq!(
            string("\"\"\"); import os; (\""),
            r#""\"\"\"); import os; (\"""#
        );
    }

    #[test]
    fn values_become_python_literals() {
        let v = json!({"a": [1, 2.5, true, null], "b": {}, "c": 1e-5});
        assert_eq!(
            literal(&v, 0),
            "{\n    \"a\": [\n        1,\n        2.5,\n        True,\n        None,\n    ],\n    \"b\": {},\n    \"c\": 1e-5,\n}"
        );
    }
}
