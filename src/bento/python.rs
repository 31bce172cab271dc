//! Reads what bentoray needs from a bento's Python sources, with a real
//! Python parser (tree-sitter-python), never by running or pattern-matching
//! the code: `@bentoml.service` classes with their `@bentoml.api` /
//! `@bentoml.task` methods and `bentoml.depends(...)` attributes, and custom
//! runnables with their `@bentoml.Runnable.method` methods and `add_method`
//! calls. Names are resolved through the module's imports, so `import
//! bentoml as bm`, `from bentoml import api as endpoint` and `from
//! bentoml.legacy import Runnable` are understood.
//!
//! Only literals are read. Anything else (a variable, a call, an f-string)
//! is [`Lit::Unknown`] with its source text: never guessed.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{Number, Value};
use tree_sitter::{Node, Parser};

/// A decorator or call argument as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lit {
    /// A Python literal (numbers, strings, booleans, None, and lists,
    /// tuples and dictionaries of literals), as JSON.
    Known(Value),
    /// Not a literal: the expression's source text.
    Unknown(String),
}

impl Lit {
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Lit::Known(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lit::Known(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// One parsed source file.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Module {
    pub classes: Vec<Class>,
    /// `SomeRunnable.add_method(fn, "name", batchable=...)` calls.
    pub add_methods: Vec<AddMethod>,
}

/// A class definition (top level, or inside module-level `if`/`try`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Class {
    pub name: String,
    /// First line of the definition (its first decorator).
    pub line: usize,
    /// The arguments of `@bentoml.service(...)` (empty for a bare
    /// `@bentoml.service`); `None` when the class is not a service.
    pub service: Option<IndexMap<String, Lit>>,
    /// Base classes, resolved through the imports (`bentoml.Runnable`);
    /// local classes as written.
    pub bases: Vec<String>,
    pub methods: Vec<Function>,
    pub depends: Vec<Depends>,
}

impl Class {
    /// The service name: `name=` of the decorator when it is a literal
    /// string, else the class name (BentoML's rule). `None` when `name=` is
    /// not a literal.
    pub fn service_name(&self) -> Option<&str> {
        match self.service.as_ref()?.get("name") {
            None => Some(&self.name),
            Some(lit) => lit.as_str(),
        }
    }

    pub fn is_runnable(&self) -> bool {
        self.bases.iter().any(|b| b == RUNNABLE)
    }
}

/// What kind of callable a decorator makes of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposed {
    /// `@bentoml.api`
    Api,
    /// `@bentoml.task`
    Task,
    /// `@bentoml.Runnable.method`
    RunnableMethod,
}

/// A decorated method of a class.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Function {
    /// The Python function name.
    pub function: String,
    pub line: usize,
    pub exposed: Exposed,
    /// Keyword arguments of the decorator (empty when bare).
    pub args: IndexMap<String, Lit>,
    pub is_async: bool,
    /// A generator (`yield` in its own body): a streaming API.
    pub is_generator: bool,
}

/// `attr = bentoml.depends(...)` in a class body.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Depends {
    pub attribute: String,
    pub line: usize,
    /// The class named by the first argument (or `on=`), last dotted part.
    pub on: Option<String>,
    /// `url=`, `deployment=`, `cluster=` as written.
    pub args: IndexMap<String, Lit>,
}

/// `Cls.add_method(fn, "name", batchable=..., batch_dim=...)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AddMethod {
    pub class: String,
    pub line: usize,
    /// The method name (second argument or `name=`).
    pub name: Lit,
    pub args: IndexMap<String, Lit>,
}

const SERVICE: &str = "bentoml.service";
const API: &str = "bentoml.api";
const TASK: &str = "bentoml.task";
const DEPENDS: &str = "bentoml.depends";
const RUNNABLE: &str = "bentoml.Runnable";
const RUNNABLE_METHOD: &str = "bentoml.Runnable.method";

/// Deepest nesting followed (blocks, literals, attribute chains): the
/// reader never recurses without bound, whatever the source.
const MAX_NESTING: usize = 64;

/// Why a file could not be read as Python.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
}

/// Python's own limit on nested brackets (CPython's tokenizer: "too many
/// nested parentheses"). Checked before parsing, so a pathological file is
/// refused in linear time instead of building a deep tree.
pub const MAX_BRACKETS: usize = 200;

/// The line where brackets nest deeper than [`MAX_BRACKETS`], if they do;
/// brackets in comments and string literals do not count.
fn too_many_brackets(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut i, mut line, mut depth) = (0, 1, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'\'' | b'"') => {
                let triple = bytes.get(i + 1..i + 3) == Some(&[quote, quote][..]);
                i += if triple { 3 } else { 1 };
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => {
                            if bytes.get(i + 1) == Some(&b'\n') {
                                line += 1;
                            }
                            i += 1;
                        }
                        b'\n' if !triple => break,
                        b'\n' => line += 1,
                        q if q == quote
                            && (!triple
                                || bytes.get(i + 1..i + 3) == Some(&[quote, quote][..])) =>
                        {
                            i += if triple { 3 } else { 1 };
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKETS {
                    return Some(line);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses one source file.
pub fn parse(text: &str) -> Result<Module, SyntaxError> {
    if let Some(line) = too_many_brackets(text) {
        return Err(SyntaxError { line });
    }
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled Python grammar matches tree-sitter");
    let Some(tree) = parser.parse(text, None) else {
        return Err(SyntaxError { line: 1 });
    };
    let root = tree.root_node();
    if root.has_error() {
        return Err(SyntaxError {
            line: first_error_line(root),
        });
    }
    let mut reader = Reader {
        src: text.as_bytes(),
        names: HashMap::new(),
        module: Module::default(),
    };
    reader.statements(root, 0);
    Ok(reader.module)
}

/// The line of the innermost, first syntax error: an ERROR node that
/// contains no smaller one, or a token the parser had to invent (MISSING).
fn first_error_line(root: Node) -> usize {
    let mut node = root;
    'descend: loop {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.is_missing() {
                return child.start_position().row + 1;
            }
            if child.has_error() {
                node = child;
                continue 'descend;
            }
        }
        // No child holds the error: the error is this node. An ERROR node
        // starts where recovery began; its first child that the grammar
        // could not place is where the problem shows.
        let mut cursor = node.walk();
        let line = node
            .children(&mut cursor)
            .filter(|c| !c.is_named() || c.kind() == "identifier")
            .last()
            .map_or(node.start_position().row, |c| c.start_position().row);
        return line + 1;
    }
}

struct Reader<'s> {
    src: &'s [u8],
    /// Local name → canonical dotted name (`bm` → `bentoml`,
    /// `endpoint` → `bentoml.api`).
    names: HashMap<String, String>,
    module: Module,
}

impl<'s> Reader<'s> {
    fn text(&self, node: Node) -> &'s str {
        std::str::from_utf8(&self.src[node.byte_range()]).unwrap_or_default()
    }

    /// Module-level statements, descending into `if`/`try`/`with` blocks
    /// (guarded imports and definitions), never into functions.
    fn statements(&mut self, parent: Node, depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        let mut cursor = parent.walk();
        let children: Vec<Node> = parent.named_children(&mut cursor).collect();
        for node in children {
            match node.kind() {
                "import_statement" => self.import(node),
                "import_from_statement" => self.import_from(node),
                "class_definition" => self.class(node, &[]),
                "decorated_definition" => {
                    if let Some(def) = node.child_by_field_name("definition")
                        && def.kind() == "class_definition"
                    {
                        let decorators = decorators(node);
                        self.class(def, &decorators);
                    }
                }
                "expression_statement" => self.add_method(node),
                "if_statement" | "try_statement" | "with_statement" | "block" | "else_clause"
                | "elif_clause" | "except_clause" | "finally_clause" => {
                    self.statements(node, depth + 1)
                }
                _ => {}
            }
        }
    }

    fn import(&mut self, node: Node) {
        let mut cursor = node.walk();
        let names: Vec<Node> = node.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            match name.kind() {
                // `import bentoml.legacy` binds `bentoml`.
                "dotted_name" => {
                    let full = self.text(name);
                    let first = full.split('.').next().unwrap_or(full).to_string();
                    self.names.insert(first.clone(), first);
                }
                "aliased_import" => {
                    if let (Some(module), Some(alias)) = (
                        name.child_by_field_name("name"),
                        name.child_by_field_name("alias"),
                    ) {
                        let module = self.text(module).to_string();
                        self.names.insert(self.text(alias).to_string(), module);
                    }
                }
                _ => {}
            }
        }
    }

    fn import_from(&mut self, node: Node) {
        let Some(module) = node.child_by_field_name("module_name") else {
            return;
        };
        if module.kind() != "dotted_name" {
            return; // relative imports are the bento's own modules
        }
        let module = self.text(module).to_string();
        let mut cursor = node.walk();
        let names: Vec<Node> = node.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            let (imported, local) = match name.kind() {
                "dotted_name" => (self.text(name), self.text(name)),
                "aliased_import" => match (
                    name.child_by_field_name("name"),
                    name.child_by_field_name("alias"),
                ) {
                    (Some(n), Some(a)) => (self.text(n), self.text(a)),
                    _ => continue,
                },
                _ => continue,
            };
            self.names
                .insert(local.to_string(), format!("{module}.{imported}"));
        }
    }

    /// The canonical dotted name of an expression such as `bm.api` or
    /// `Runnable.method`, when it starts with an imported name.
    fn resolve(&self, node: Node) -> Option<String> {
        // `a.b.c` is nested objects: walk down to the name, bounded.
        let mut attrs = Vec::new();
        let mut current = node;
        while current.kind() == "attribute" {
            if attrs.len() > MAX_NESTING {
                return None;
            }
            attrs.push(self.text(current.child_by_field_name("attribute")?));
            current = current.child_by_field_name("object")?;
        }
        if current.kind() != "identifier" {
            return None;
        }
        let mut name = self.names.get(self.text(current))?.clone();
        for attr in attrs.iter().rev() {
            name.push('.');
            name.push_str(attr);
        }
        // `bentoml.legacy.Runnable` is `bentoml.Runnable`.
        Some(match name.strip_prefix("bentoml.legacy.") {
            Some(rest) => format!("bentoml.{rest}"),
            None => name,
        })
    }

    /// A decorator's callee (canonical) and its keyword arguments.
    fn decorator(&self, node: Node) -> Option<(String, IndexMap<String, Lit>)> {
        let expr = node.named_child(0)?;
        if expr.kind() == "call" {
            let name = self.resolve(expr.child_by_field_name("function")?)?;
            let args = expr.child_by_field_name("arguments")?;
            Some((name, self.keyword_args(args)))
        } else {
            Some((self.resolve(expr)?, IndexMap::new()))
        }
    }

    fn keyword_args(&self, args: Node) -> IndexMap<String, Lit> {
        let mut out = IndexMap::new();
        let mut cursor = args.walk();
        for arg in args.named_children(&mut cursor) {
            if arg.kind() == "keyword_argument"
                && let (Some(name), Some(value)) = (
                    arg.child_by_field_name("name"),
                    arg.child_by_field_name("value"),
                )
            {
                out.insert(self.text(name).to_string(), self.literal(value));
            }
        }
        out
    }

    fn keyword_value<'t>(&self, args: Node<'t>, wanted: &str) -> Option<Node<'t>> {
        let mut cursor = args.walk();
        args.named_children(&mut cursor)
            .filter(|a| a.kind() == "keyword_argument")
            .find(|a| {
                a.child_by_field_name("name")
                    .is_some_and(|n| self.text(n) == wanted)
            })
            .and_then(|a| a.child_by_field_name("value"))
    }

    fn positional_args<'t>(&self, args: Node<'t>) -> Vec<Node<'t>> {
        let mut cursor = args.walk();
        args.named_children(&mut cursor)
            .filter(|a| !matches!(a.kind(), "keyword_argument" | "comment"))
            .collect()
    }

    fn class(&mut self, node: Node, decos: &[Node]) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let service = decos
            .iter()
            .filter_map(|d| self.decorator(*d))
            .find(|(callee, _)| callee == SERVICE)
            .map(|(_, args)| args);
        let bases = node
            .child_by_field_name("superclasses")
            .map(|s| {
                self.positional_args(s)
                    .into_iter()
                    .map(|b| self.resolve(b).unwrap_or_else(|| self.text(b).to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut class = Class {
            name: self.text(name).to_string(),
            line: first_line(node, decos),
            service,
            bases,
            methods: Vec::new(),
            depends: Vec::new(),
        };
        if let Some(body) = node.child_by_field_name("body") {
            let mut cursor = body.walk();
            for stmt in body.named_children(&mut cursor) {
                match stmt.kind() {
                    "decorated_definition" => {
                        if let Some(def) = stmt.child_by_field_name("definition")
                            && def.kind() == "function_definition"
                            && let Some(f) = self.function(def, &decorators(stmt))
                        {
                            class.methods.push(f);
                        }
                    }
                    "expression_statement" => {
                        if let Some(d) = self.depends(stmt) {
                            class.depends.push(d);
                        }
                    }
                    _ => {}
                }
            }
        }
        self.module.classes.push(class);
    }

    fn function(&self, def: Node, decos: &[Node]) -> Option<Function> {
        let (exposed, args) = decos.iter().find_map(|d| {
            let (callee, args) = self.decorator(*d)?;
            let exposed = match callee.as_str() {
                API => Exposed::Api,
                TASK => Exposed::Task,
                RUNNABLE_METHOD => Exposed::RunnableMethod,
                _ => return None,
            };
            Some((exposed, args))
        })?;
        let mut cursor = def.walk();
        let is_async = def.children(&mut cursor).any(|c| c.kind() == "async");
        Some(Function {
            function: self.text(def.child_by_field_name("name")?).to_string(),
            line: first_line(def, decos),
            exposed,
            args,
            is_async,
            is_generator: def.child_by_field_name("body").is_some_and(yields),
        })
    }

    /// `attr = bentoml.depends(Target)` or `attr: T = bentoml.depends(...)`.
    fn depends(&self, stmt: Node) -> Option<Depends> {
        let assignment = stmt.named_child(0).filter(|a| a.kind() == "assignment")?;
        let left = assignment
            .child_by_field_name("left")
            .filter(|l| l.kind() == "identifier")?;
        let call = assignment
            .child_by_field_name("right")
            .filter(|r| r.kind() == "call")?;
        if self
            .resolve(call.child_by_field_name("function")?)?
            .as_str()
            != DEPENDS
        {
            return None;
        }
        let arguments = call.child_by_field_name("arguments")?;
        let mut args = self.keyword_args(arguments);
        let target = self
            .positional_args(arguments)
            .into_iter()
            .next()
            .or_else(|| self.keyword_value(arguments, "on"));
        args.shift_remove("on");
        Some(Depends {
            attribute: self.text(left).to_string(),
            line: stmt.start_position().row + 1,
            on: target.and_then(|t| self.class_name(t)),
            args,
        })
    }

    /// `Preprocess` or `module.Preprocess` → `Preprocess`.
    fn class_name(&self, node: Node) -> Option<String> {
        match node.kind() {
            "identifier" => Some(self.text(node).to_string()),
            "attribute" => Some(
                self.text(node.child_by_field_name("attribute")?)
                    .to_string(),
            ),
            _ => None,
        }
    }

    /// A module-level `Cls.add_method(fn, "name", ...)` call.
    fn add_method(&mut self, stmt: Node) {
        let Some(call) = stmt.named_child(0).filter(|c| c.kind() == "call") else {
            return;
        };
        let Some(callee) = call
            .child_by_field_name("function")
            .filter(|f| f.kind() == "attribute")
        else {
            return;
        };
        let (Some(object), Some(attr), Some(arguments)) = (
            callee.child_by_field_name("object"),
            callee.child_by_field_name("attribute"),
            call.child_by_field_name("arguments"),
        ) else {
            return;
        };
        if self.text(attr) != "add_method" || object.kind() != "identifier" {
            return;
        }
        let mut args = self.keyword_args(arguments);
        let name = match self.positional_args(arguments).get(1) {
            Some(n) => self.literal(*n),
            None => args
                .shift_remove("name")
                .unwrap_or_else(|| Lit::Unknown(String::new())),
        };
        self.module.add_methods.push(AddMethod {
            class: self.text(object).to_string(),
            line: stmt.start_position().row + 1,
            name,
            args,
        });
    }

    /// A literal as JSON, or the expression's text.
    fn literal(&self, node: Node) -> Lit {
        match self.value(node, 0) {
            Some(v) => Lit::Known(v),
            None => Lit::Unknown(self.text(node).to_string()),
        }
    }

    fn value(&self, node: Node, depth: usize) -> Option<Value> {
        // Deeper literals are not configuration anyone writes: unknown.
        if depth > MAX_NESTING {
            return None;
        }
        let text = self.text(node);
        match node.kind() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            "none" => Some(Value::Null),
            "integer" => parse_int(text).map(Value::from),
            "float" => text
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number),
            "string" => self.string(node).map(Value::String),
            "concatenated_string" => {
                let mut cursor = node.walk();
                let parts: Option<Vec<String>> = node
                    .named_children(&mut cursor)
                    .map(|s| self.string(s))
                    .collect();
                parts.map(|p| Value::String(p.concat()))
            }
            "parenthesized_expression" => self.value(node.named_child(0)?, depth + 1),
            "unary_operator" => {
                let operand = self.value(node.child_by_field_name("argument")?, depth + 1)?;
                let op = self.text(node.child_by_field_name("operator")?);
                match (op, operand) {
                    ("-", Value::Number(n)) => {
                        if let Some(i) = n.as_i64() {
                            Some(Value::from(i.checked_neg()?))
                        } else {
                            Number::from_f64(-n.as_f64()?).map(Value::Number)
                        }
                    }
                    ("+", v @ Value::Number(_)) => Some(v),
                    _ => None,
                }
            }
            "list" | "tuple" => {
                let mut cursor = node.walk();
                let items: Option<Vec<Value>> = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() != "comment")
                    .map(|c| self.value(c, depth + 1))
                    .collect();
                items.map(Value::Array)
            }
            "dictionary" => {
                let mut map = serde_json::Map::new();
                let mut cursor = node.walk();
                for pair in node.named_children(&mut cursor) {
                    if pair.kind() == "comment" {
                        continue;
                    }
                    if pair.kind() != "pair" {
                        return None; // `**other`
                    }
                    let Value::String(key) =
                        self.value(pair.child_by_field_name("key")?, depth + 1)?
                    else {
                        return None;
                    };
                    map.insert(
                        key,
                        self.value(pair.child_by_field_name("value")?, depth + 1)?,
                    );
                }
                Some(Value::Object(map))
            }
            _ => None,
        }
    }

    /// A string literal's value; `None` for f-strings with placeholders and
    /// bytes.
    fn string(&self, node: Node) -> Option<String> {
        if node.kind() != "string" {
            return None;
        }
        let mut cursor = node.walk();
        let mut prefix = "";
        let mut out = String::new();
        for part in node.children(&mut cursor) {
            match part.kind() {
                "string_start" => {
                    prefix = self.text(part).trim_end_matches(['"', '\'']);
                    if prefix.contains(['b', 'B']) {
                        return None;
                    }
                }
                "string_content" => {
                    let raw = self.text(part);
                    if prefix.contains(['r', 'R']) {
                        out.push_str(raw);
                    } else {
                        out.push_str(&unescape(raw)?);
                    }
                }
                "escape_sequence" => out.push_str(&unescape(self.text(part))?),
                "interpolation" => return None,
                _ => {}
            }
        }
        Some(out)
    }
}

/// Where a definition starts: its first decorator, else the `def`/`class`.
fn first_line(def: Node, decos: &[Node]) -> usize {
    decos.first().unwrap_or(&def).start_position().row + 1
}

fn decorators(decorated: Node) -> Vec<Node> {
    let mut cursor = decorated.walk();
    decorated
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "decorator")
        .collect()
}

/// Whether a function body yields, not counting nested functions, lambdas
/// and classes (their `yield`s are theirs).
fn yields(body: Node) -> bool {
    let mut cursor = body.walk();
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if n.kind() == "yield" {
            return true;
        }
        if matches!(
            n.kind(),
            "function_definition" | "lambda" | "class_definition"
        ) {
            continue;
        }
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

fn parse_int(text: &str) -> Option<i64> {
    let digits = text.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = match lower.get(..2) {
        Some("0x") => (16, &lower[2..]),
        Some("0o") => (8, &lower[2..]),
        Some("0b") => (2, &lower[2..]),
        _ => (10, lower.as_str()),
    };
    i64::from_str_radix(body, radix).ok()
}

/// Python's escape sequences; `None` for ones bentoray does not decode
/// (`\N{...}`), so such a string is not taken as a literal.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            '\\' | '\'' | '"' => out.push(e),
            '\n' => {}
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            'N' => return None,
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

// ------------------------------------------------------------ a bento's src/

/// Largest Python source read; bigger files are skipped with a problem.
pub const MAX_SOURCE: u64 = 1024 * 1024;
/// Most bytes of Python read from one bento.
pub const MAX_SOURCES_TOTAL: u64 = 16 * 1024 * 1024;
/// Most `.py` files read from one bento, and the deepest directory walked.
pub const MAX_SOURCE_FILES: usize = 10_000;
const MAX_DEPTH: usize = 32;

/// Every Python source under a bento's `src/`, each parsed once, with an
/// index by class name.
#[derive(Debug, Default)]
pub struct Sources {
    /// `(path relative to the bento, module)`, the service's module first.
    pub modules: Vec<(String, Module)>,
    /// Files that could not be used, with why.
    pub unreadable: Vec<(String, String)>,
    /// Files not parsed: they mention neither `bentoml` nor a class looked for.
    pub skipped: usize,
    /// Their text, for [`Sources::look_for`] (within the total cap).
    pending: Vec<(String, String)>,
    classes: HashMap<String, Vec<(usize, usize)>>,
    /// `@bentoml.service` classes by service name (first in search order).
    services: HashMap<String, (usize, usize)>,
    /// `add_method` calls by class name, in search order.
    add_methods: HashMap<String, Vec<(usize, usize)>>,
}

/// Where a class was found: the file (relative to the bento) and the class.
pub struct Found<'a> {
    pub file: &'a str,
    pub class: &'a Class,
}

impl Sources {
    /// Reads `src/` of the bento at `bento_dir`. `entry_module` (`service`
    /// for `service:svc`) is searched first, as BentoML imports it first.
    /// Only files that can declare something bentoray reads are parsed: the
    /// entry module, and files that mention `bentoml` (every decorator and
    /// base class it resolves is imported from there) or one of `mentions`
    /// (the runnable classes looked for, which may subclass a local base or
    /// call `add_method`). The others are only scanned for those words.
    pub fn read(bento_dir: &std::path::Path, entry_module: &str, mentions: &[&str]) -> Sources {
        let src = bento_dir.join("src");
        let mut files = Vec::new();
        let mut sources = Sources::default();
        collect(&src, "src", 0, &mut files, &mut sources.unreadable);
        let entry = format!("src/{}.py", entry_module.replace('.', "/"));
        files.sort_by(|a, b| (a.0 != entry, &a.0).cmp(&(b.0 != entry, &b.0)));
        let mut total = 0u64;
        for (relative, path, len) in files {
            if sources.modules.len() >= MAX_SOURCE_FILES || total + len > MAX_SOURCES_TOTAL {
                sources.unreadable.push((
                    relative,
                    "over bentoray's limit on Python read per bento".into(),
                ));
                continue;
            }
            total += len;
            // The shared bounded reader: regular files only, capped.
            let text = match crate::input::read_text(&path, MAX_SOURCE) {
                Ok(t) => t,
                Err(why) => {
                    sources.unreadable.push((relative, why.to_string()));
                    continue;
                }
            };
            let relevant = relative == entry
                || text.contains("bentoml")
                || mentions.iter().any(|m| text.contains(m));
            if !relevant {
                sources.skipped += 1;
                sources.pending.push((relative, text));
                continue;
            }
            match parse(&text) {
                Ok(module) => sources.modules.push((relative, module)),
                Err(e) => sources
                    .unreadable
                    .push((relative, format!("Python syntax error at line {}", e.line))),
            }
        }
        for file in 0..sources.modules.len() {
            sources.index(file);
        }
        sources
    }

    /// Adds the classes, services and `add_method` calls of one parsed
    /// module to the indexes.
    fn index(&mut self, file: usize) {
        let (_, module) = &self.modules[file];
        for (i, class) in module.classes.iter().enumerate() {
            self.classes
                .entry(class.name.clone())
                .or_default()
                .push((file, i));
            if let Some(name) = class.service_name() {
                self.services.entry(name.to_string()).or_insert((file, i));
            }
        }
        for (i, add) in module.add_methods.iter().enumerate() {
            self.add_methods
                .entry(add.class.clone())
                .or_default()
                .push((file, i));
        }
    }

    /// Makes sure a class named `name` is indexed if any source defines it:
    /// the files skipped so far that mention the name are parsed now (each
    /// file is still parsed at most once). For the base classes of custom
    /// runnables, which may live in modules that never name bentoml.
    pub fn look_for(&mut self, name: &str) {
        if self.classes.contains_key(name) {
            return;
        }
        let (hits, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(_, text)| text.contains(name));
        self.pending = rest;
        for (relative, text) in hits {
            self.skipped -= 1;
            match parse(&text) {
                Ok(module) => {
                    self.modules.push((relative, module));
                    self.index(self.modules.len() - 1);
                }
                Err(e) => self
                    .unreadable
                    .push((relative, format!("Python syntax error at line {}", e.line))),
            }
        }
    }

    /// The class at a location from [`Sources::locate`].
    pub fn at(&self, (file, class): (usize, usize)) -> Found<'_> {
        let (path, module) = &self.modules[file];
        Found {
            file: path,
            class: &module.classes[class],
        }
    }

    /// Where the class named `name` is, preferring one that `wanted`
    /// accepts.
    pub fn locate(&self, name: &str, wanted: impl Fn(&Class) -> bool) -> Option<(usize, usize)> {
        let candidates = self.classes.get(name)?;
        candidates
            .iter()
            .find(|c| wanted(self.at(**c).class))
            .or(candidates.first())
            .copied()
    }

    /// The class named `name`, preferring one that `wanted` accepts.
    pub fn class(&self, name: &str, wanted: impl Fn(&Class) -> bool) -> Option<Found<'_>> {
        self.locate(name, wanted).map(|at| self.at(at))
    }

    /// The `@bentoml.service` class whose service name is `name` (its
    /// literal `name=`, else its class name).
    pub fn service(&self, name: &str) -> Option<Found<'_>> {
        self.services.get(name).map(|at| self.at(*at))
    }

    /// `add_method` calls on the class `name`, in search order, with the
    /// file of each.
    pub fn add_methods<'a>(&'a self, name: &str) -> impl Iterator<Item = (&'a str, &'a AddMethod)> {
        self.add_methods
            .get(name)
            .into_iter()
            .flatten()
            .map(|&(file, i)| {
                let (path, module) = &self.modules[file];
                (path.as_str(), &module.add_methods[i])
            })
    }
}

/// `.py` regular files under `dir` (no symlinks followed), bounded in depth.
fn collect(
    dir: &std::path::Path,
    relative: &str,
    depth: usize,
    files: &mut Vec<(String, std::path::PathBuf, u64)>,
    unreadable: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        unreadable.push((relative.to_string(), "nested too deep".into()));
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let rel = format!("{relative}/{name}");
        if meta.is_dir() {
            collect(&entry.path(), &rel, depth + 1, files, unreadable);
        } else if meta.is_file() && name.ends_with(".py") {
            if meta.len() > MAX_SOURCE {
                unreadable.push((
                    rel,
                    format!("larger than {}", crate::input::size(MAX_SOURCE)),
                ));
            } else {
                files.push((rel, entry.path(), meta.len()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn module(src: &str) -> Module {
        parse(src).unwrap_or_else(|e| panic!("syntax error at line {}", e.line))
    }

    fn class<'m>(m: &'m Module, name: &str) -> &'m Class {
        m.classes.iter().find(|c| c.name == name).unwrap()
    }

    fn known(v: Value) -> Lit {
        Lit::Known(v)
    }

    #[test]
    fn reads_the_summarizer_services() {
        let m = module(
            "import bentoml\n\n@bentoml.service(resources={\"cpu\": \"1\"}, traffic={\"timeout\": 30})\nclass Preprocess:\n    @bentoml.api(batchable=True, max_batch_size=8, max_latency_ms=100)\n    def norm(self, xs: list[float]) -> list[float]:\n        return [x / 10 for x in xs]\n\n@bentoml.service(workers=2)\nclass Summarizer:\n    pre = bentoml.depends(Preprocess)\n\n    @bentoml.api\n    def summarize(self, text: str) -> str:\n        return text[:10]\n",
        );
        let pre = class(&m, "Preprocess");
        let args = pre.service.as_ref().unwrap();
        assert_eq!(args["resources"], known(json!({"cpu": "1"})));
        assert_eq!(args["traffic"], known(json!({"timeout": 30})));
        assert_eq!(pre.line, 3, "the decorator's line");
        let norm = &pre.methods[0];
        assert_eq!(norm.function, "norm");
        assert_eq!(norm.exposed, Exposed::Api);
        assert_eq!(norm.args["batchable"], known(json!(true)));
        assert_eq!(norm.args["max_batch_size"], known(json!(8)));
        assert!(!norm.is_async && !norm.is_generator);
        let summ = class(&m, "Summarizer");
        assert_eq!(summ.service.as_ref().unwrap()["workers"], known(json!(2)));
        assert_eq!(summ.depends.len(), 1);
        assert_eq!(summ.depends[0].attribute, "pre");
        assert_eq!(summ.depends[0].on.as_deref(), Some("Preprocess"));
        assert!(summ.methods[0].args.is_empty(), "bare @bentoml.api");
    }

    #[test]
    fn resolves_aliased_and_from_imports() {
        let m = module(
            "import bentoml as bm\nfrom bentoml import service, task\nfrom bentoml import api as endpoint, depends as dep\n\n@service\nclass A:\n    @endpoint(route=\"/x\", name=\"renamed\")\n    async def a(self): ...\n    @task\n    def t(self): ...\n\n@bm.service()\nclass B:\n    a = dep(A)\n    typed: A = bm.depends(on=A)\n    @bm.api(batchable=True, batch_dim=(0, 1))\n    def b(self): ...\n",
        );
        let a = class(&m, "A");
        assert!(a.service.as_ref().unwrap().is_empty());
        assert_eq!(a.methods[0].exposed, Exposed::Api);
        assert!(a.methods[0].is_async);
        assert_eq!(a.methods[0].args["name"], known(json!("renamed")));
        assert_eq!(a.methods[1].exposed, Exposed::Task);
        let b = class(&m, "B");
        assert!(b.service.is_some());
        assert_eq!(b.depends.len(), 2);
        assert_eq!(b.depends[1].attribute, "typed");
        assert_eq!(b.depends[1].on.as_deref(), Some("A"));
        assert_eq!(b.methods[0].args["batch_dim"], known(json!([0, 1])));
    }

    #[test]
    fn names_that_are_not_bentoml_are_ignored() {
        let m = module(
            "import other as bentoml_like\nfrom mylib import api\n\n@bentoml_like.service\nclass NotAService:\n    @api\n    def f(self): ...\n\nclass Plain:\n    def g(self): ...\n",
        );
        assert!(m.classes.iter().all(|c| c.service.is_none()));
        assert!(m.classes.iter().all(|c| c.methods.is_empty()));
    }

    #[test]
    fn non_literal_values_are_unknown_with_their_text() {
        let m = module(
            "import bentoml, os\nBATCH = os.environ.get('B') == '1'\n@bentoml.service(workers=int(os.environ['W']), name=f\"svc{1}\")\nclass S:\n    @bentoml.api(batchable=BATCH, max_batch_size=-4, max_latency_ms=1_000.5)\n    def f(self): ...\n",
        );
        let s = class(&m, "S");
        let args = s.service.as_ref().unwrap();
        assert_eq!(args["workers"], Lit::Unknown("int(os.environ['W'])".into()));
        assert_eq!(args["name"], Lit::Unknown("f\"svc{1}\"".into()));
        assert_eq!(s.service_name(), None, "a non-literal name= is unknown");
        let f = &s.methods[0].args;
        assert_eq!(f["batchable"], Lit::Unknown("BATCH".into()));
        assert_eq!(f["max_batch_size"], known(json!(-4)));
        assert_eq!(f["max_latency_ms"], known(json!(1000.5)));
    }

    #[test]
    fn streaming_is_a_yield_in_the_method_itself() {
        let m = module(
            "import bentoml\n@bentoml.service\nclass S:\n    @bentoml.api\n    async def stream(self):\n        for i in range(3):\n            yield str(i)\n    @bentoml.api\n    def inner_yield_only(self):\n        def gen():\n            yield 1\n        return list(gen())\n    @bentoml.api\n    def lambda_only(self):\n        return (lambda: (yield))\n",
        );
        let s = class(&m, "S");
        assert!(s.methods[0].is_generator && s.methods[0].is_async);
        assert!(!s.methods[1].is_generator);
        assert!(!s.methods[2].is_generator);
    }

    #[test]
    fn reads_custom_runnables_in_every_import_form() {
        let m = module(
            "import bentoml\nfrom bentoml.legacy import Runnable\nimport bentoml.legacy\n\nclass A(bentoml.Runnable):\n    @bentoml.Runnable.method(batchable=True, batch_dim=(0, 0))\n    def double(self, x): ...\n    @bentoml.Runnable.method\n    def bare(self, x): ...\n\nclass B(Runnable):\n    @Runnable.method(batchable=False)\n    def negate(self, x): ...\n\nclass C(bentoml.legacy.Runnable):\n    @bentoml.legacy.Runnable.method(batchable=True, batch_dim=1)\n    def one(self, x): ...\n\nB.add_method(lambda self, x: x, \"extra\", batchable=True, batch_dim=0)\nC.add_method(f, name=\"named\")\n",
        );
        for name in ["A", "B", "C"] {
            assert!(class(&m, name).is_runnable(), "{name}");
        }
        let a = class(&m, "A");
        assert_eq!(a.methods.len(), 2);
        assert!(
            a.methods
                .iter()
                .all(|f| f.exposed == Exposed::RunnableMethod)
        );
        assert_eq!(class(&m, "C").methods[0].args["batch_dim"], known(json!(1)));
        assert_eq!(m.add_methods.len(), 2);
        assert_eq!(m.add_methods[0].class, "B");
        assert_eq!(m.add_methods[0].name, known(json!("extra")));
        assert_eq!(m.add_methods[0].args["batchable"], known(json!(true)));
        assert_eq!(m.add_methods[1].name, known(json!("named")));
    }

    #[test]
    fn guarded_definitions_and_literals() {
        let m = module(
            "try:\n    import bentoml as b\nexcept ImportError:\n    raise\nif True:\n    @b.service(traffic={'timeout': 1e1, 'x': [1, (2, 3)], \"s\": 'a' \"b\", 'n': None, 'esc': '\\x41\\n'}, resources={**base})\n    class G:\n        pass\n",
        );
        let g = class(&m, "G");
        let args = g.service.as_ref().unwrap();
        assert_eq!(
            args["traffic"],
            known(json!({"timeout": 10.0, "x": [1, [2, 3]], "s": "ab", "n": null, "esc": "A\n"}))
        );
        assert_eq!(args["resources"], Lit::Unknown("{**base}".into()));
    }

    #[test]
    fn deep_nesting_is_bounded_not_a_crash() {
        let n = 20_000;
        // Deeper than the bound but within Python's bracket limit.
        let list = format!("{}1{}", "[".repeat(150), "]".repeat(150));
        let chain = format!("bentoml{}", ".a".repeat(n));
        let minus = format!("{}1", "-".repeat(n));
        let src = format!(
            "import bentoml\n@bentoml.service(traffic={list}, workers={minus})\nclass S:\n    @{chain}\n    def f(self): ...\n    @bentoml.api(batchable=True)\n    def g(self): ...\n"
        );
        let m = module(&src);
        let s = class(&m, "S");
        assert!(matches!(
            s.service.as_ref().unwrap()["traffic"],
            Lit::Unknown(_)
        ));
        assert!(matches!(
            s.service.as_ref().unwrap()["workers"],
            Lit::Unknown(_)
        ));
        assert_eq!(s.methods.len(), 1, "only g is an API");
        let shallow = format!("{}1{}", "[".repeat(10), "]".repeat(10));
        let m = module(&format!(
            "import bentoml\n@bentoml.service(traffic={shallow})\nclass S: ...\n"
        ));
        assert!(matches!(
            class(&m, "S").service.as_ref().unwrap()["traffic"],
            Lit::Known(_)
        ));
        let ifs = |n: usize| {
            let mut src = String::from("import bentoml\n");
            for depth in 0..n {
                src.push_str(&format!("{}if x:\n", " ".repeat(depth)));
            }
            src + &format!("{}class C: ...\n", " ".repeat(n))
        };
        // Blocks deeper than the bound are not searched...
        assert!(module(&ifs(100)).classes.is_empty());
        assert_eq!(module(&ifs(10)).classes.len(), 1);
        // ...and past the grammar's own indentation limit it is a syntax error.
        assert!(parse(&ifs(5_000)).is_err());
        // More nested brackets than Python allows: refused before parsing.
        let deep = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert!(parse(&deep(MAX_BRACKETS)).is_ok());
        assert_eq!(parse(&deep(MAX_BRACKETS + 1)), Err(SyntaxError { line: 1 }));
        // Brackets in strings and comments do not count.
        let quoted = format!(
            "a = '{0}'\nb = \"\"\"\n{0}\"\"\"\n# {0}\nc = '\\'{0}'\n",
            "(".repeat(500)
        );
        assert!(parse(&quoted).is_ok(), "{:?}", parse(&quoted).err());
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(
            parse("import bentoml\n\nclass S(:\n    pass\n"),
            Err(SyntaxError { line: 3 })
        );
        assert_eq!(parse("x = 1\ny = (\n"), Err(SyntaxError { line: 2 }));
        assert_eq!(parse("def f(:\n"), Err(SyntaxError { line: 1 }));
        assert!(parse("").unwrap().classes.is_empty());
    }

    #[test]
    fn sources_index_prefers_the_service_module_and_skips_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("pkg")).unwrap();
        std::fs::create_dir_all(src.join("__pycache__")).unwrap();
        let service = "import bentoml\n@bentoml.service(name='Renamed')\nclass S:\n    pass\n";
        std::fs::write(src.join("service.py"), service).unwrap();
        std::fs::write(src.join("a.py"), "class S:\n    pass\n").unwrap();
        std::fs::write(src.join("pkg/broken.py"), "import bentoml\ndef (:\n").unwrap();
        std::fs::write(src.join("__pycache__/x.py"), "class Z: pass\n").unwrap();
        std::fs::write(src.join("notes.txt"), "class Q: pass\n").unwrap();
        std::fs::write(
            src.join("util.py"),
            "class S:\n    pass  # no library here\n",
        )
        .unwrap();
        let sources = Sources::read(dir.path(), "service", &[]);
        assert_eq!(
            sources.skipped, 2,
            "a.py and util.py mention no bentoml class"
        );
        let with_mention = Sources::read(dir.path(), "service", &["S"]);
        assert_eq!(with_mention.skipped, 0);
        assert_eq!(sources.modules[0].0, "src/service.py");
        assert_eq!(sources.modules.len(), 1);
        assert_eq!(
            sources.unreadable,
            vec![(
                "src/pkg/broken.py".to_string(),
                "Python syntax error at line 2".to_string()
            )]
        );
        let found = sources.service("Renamed").unwrap();
        assert_eq!(
            (found.file, found.class.name.as_str()),
            ("src/service.py", "S")
        );
        assert!(sources.service("S").is_none(), "renamed by name=");
        assert_eq!(sources.class("S", |_| true).unwrap().file, "src/service.py");
        assert_eq!(
            with_mention
                .class("S", |c| c.service.is_none())
                .unwrap()
                .file,
            "src/a.py"
        );
        assert!(sources.class("Z", |_| true).is_none());
    }
}
