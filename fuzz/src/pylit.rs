//! A parser for exactly the Python literals that `emit::python::literal`
//! writes (`None`, `True`, `False`, ints, floats, single- or double-quoted
//! ASCII strings with `\\ \' \" \n \r \t \xHH \uHHHH \UHHHHHHHH` escapes, lists and
//! dicts with trailing commas), following Python's rules for each. Anything
//! else is an error, so a literal that Python would read differently, or
//! not at all, fails the round trip.

use serde_json::{Map, Number, Value};

pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str) -> Self {
        Parser { text, pos: 0 }
    }

    pub fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\n']);
        self.pos = self.text.len() - trimmed.len();
    }

    /// Consumes `token` (after optional whitespace) or fails.
    pub fn expect(&mut self, token: &str) -> Result<(), String> {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(format!("expected {token:?} at {:?}", self.context()))
        }
    }

    fn context(&self) -> &'a str {
        let rest = self.rest();
        let end = rest.char_indices().nth(40).map_or(rest.len(), |(i, _)| i);
        &rest[..end]
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    pub fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        let rest = self.rest();
        if self.eat("None") {
            return Ok(Value::Null);
        }
        if self.eat("True") {
            return Ok(Value::Bool(true));
        }
        if self.eat("False") {
            return Ok(Value::Bool(false));
        }
        match rest.chars().next() {
            Some('"' | '\'') => self.string().map(Value::String),
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                while !self.eat("]") {
                    items.push(self.value()?);
                    self.expect(",")?;
                }
                Ok(Value::Array(items))
            }
            Some('{') => {
                self.pos += 1;
                let mut map = Map::new();
                while !self.eat("}") {
                    self.skip_ws();
                    let key = self.string()?;
                    self.expect(":")?;
                    let value = self.value()?;
                    // Python keeps the last value of a repeated key; the
                    // emitter never repeats one (its input is a map).
                    if map.insert(key.clone(), value).is_some() {
                        return Err(format!("repeated dict key {key:?}"));
                    }
                    self.expect(",")?;
                }
                Ok(Value::Object(map))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ => Err(format!("no literal at {:?}", self.context())),
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .unwrap_or(rest.len());
        let token = &rest[..len];
        self.pos += len;
        let digits = token.strip_prefix('-').unwrap_or(token);
        let is_float = token.contains(['.', 'e', 'E']);
        if !is_float {
            // Python rejects leading zeros in ints (`012`), except `0` itself.
            if digits.is_empty()
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || (digits.len() > 1 && digits.starts_with('0'))
            {
                return Err(format!("not a Python int: {token:?}"));
            }
            return token
                .parse::<i64>()
                .map(Number::from)
                .or_else(|_| token.parse::<u64>().map(Number::from))
                .map(Value::Number)
                .map_err(|e| format!("int {token:?} out of range: {e}"));
        }
        // Python float literals: digits with `.` and/or an exponent.
        let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
            Some((m, e)) => (m, Some(e)),
            None => (digits, None),
        };
        let mantissa_ok = !mantissa.is_empty()
            && mantissa != "."
            && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && mantissa.matches('.').count() <= 1;
        let exponent_ok = exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
        if !mantissa_ok || !exponent_ok {
            return Err(format!("not a Python float: {token:?}"));
        }
        let f: f64 = token.parse().map_err(|e| format!("float {token:?}: {e}"))?;
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("float {token:?} is not finite"))
    }

    /// A quoted string; only printable ASCII may appear raw.
    pub fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let mut chars = self.rest().char_indices();
        let quote = match chars.next() {
            Some((_, q @ ('"' | '\''))) => q,
            _ => return Err(format!("expected a string at {:?}", self.context())),
        };
        let mut out = String::new();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err("unterminated string".into());
            };
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else {
                        return Err("unterminated escape".into());
                    };
                    let hex_len = match e {
                        '\\' => {
                            out.push('\\');
                            continue;
                        }
                        '"' | '\'' => {
                            out.push(e);
                            continue;
                        }
                        'n' => {
                            out.push('\n');
                            continue;
                        }
                        'r' => {
                            out.push('\r');
                            continue;
                        }
                        't' => {
                            out.push('\t');
                            continue;
                        }
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        other => return Err(format!("escape \\{other} is not emitted")),
                    };
                    let hex: String = chars.by_ref().take(hex_len).map(|(_, c)| c).collect();
                    if hex.len() != hex_len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("bad \\{e} escape {hex:?}"));
                    }
                    let code = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                    // Python accepts lone surrogates here; Rust strings
                    // cannot hold them, so the emitter never writes one.
                    let c = char::from_u32(code)
                        .ok_or_else(|| format!("\\{e}{hex} is not a scalar value"))?;
                    out.push(c);
                }
                ' '..='~' => out.push(c),
                other => return Err(format!("raw {other:?} in a string literal")),
            }
        }
    }
}

/// Parses one whole literal.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser::new(text);
    let v = p.value()?;
    p.skip_ws();
    if p.rest().is_empty() {
        Ok(v)
    } else {
        Err(format!("trailing text {:?}", p.rest()))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use bentoray::emit::python::literal;
    use serde_json::json;

    #[test]
    fn reads_back_what_the_emitter_writes() {
        let v = json!({"a\"\\\n\u{85}é😀\0": ["'", "\"\"'", 1, -2, 18446744073709551615u64, 2.5, 1e-7, -0.0, true, null], "b": {}, "c": []});
        assert_eq!(parse(&literal(&v, 4)), Ok(v));
    }

    #[test]
    fn rejects_what_python_reads_differently_or_not_at_all() {
        for bad in [
            "\"a\\qb\"",             // unknown escape: Python keeps the backslash
            "\"é\"",                 // raw non-ASCII
            "012",                   // a SyntaxError in Python 3
            "{\"a\": 1, \"a\": 2,}", // Python keeps the last
            "[1, 2]",                // valid Python, but the emitter always ends items with a comma
            "\"\\ud800\"",           // a lone surrogate
            "nan",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
