//! `bentoray lsp`: a language server for bentoray.toml over stdio. It sits
//! beside the CLI and reuses the stages (check, the bento model, the option
//! tables and the schema); no stage depends on it.
//!
//! One thread, synchronous like the compiler: messages are handled in
//! order; a change schedules a check after a short quiet period
//! (debounce), and any request about a document first brings its check up
//! to date, so answers always describe the text the client sent last.

mod actions;
mod cache;
mod complete;
mod context;
mod definition;
mod hover;
mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    PublishDiagnosticsParams, Uri,
};
use serde_json::Value;

use crate::check::{self, BentoRequest};
use crate::diagnostic::{self, FileDiagnostics, Severity, SourceFile};
pub use cache::Cache;
use text::Document;

/// How long the text must stay unchanged before a change is checked.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(150);
/// How often open specs' bentos are checked for changes on disk.
const STALENESS_POLL: Duration = Duration::from_secs(2);
/// Longest wait for `exit` after `shutdown`.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// Runs the server on stdin/stdout; returns the process exit code (0 after
/// `shutdown` then `exit`, 1 otherwise, as the protocol asks).
pub fn run_stdio() -> u8 {
    let (connection, io_threads) = Connection::stdio();
    let code = match serve(&connection) {
        Ok(()) => 0,
        Err(why) => {
            eprintln!("bentoray lsp: {why}");
            1
        }
    };
    drop(connection);
    // After `exit` the reader thread has stopped reading, so joining (which
    // also flushes the writer) cannot hang; on an error the client may be
    // alive but silent, and the process ends without waiting for it.
    if code == 0 {
        let _ = io_threads.join();
    }
    code
}

/// One open spec.
struct Open {
    uri: Uri,
    doc: Document,
    /// When the current text is to be checked (`None`: it has been).
    due: Option<Instant>,
    analysis: Option<Analysis>,
}

/// The check of one version of a document.
pub struct Analysis {
    pub version: i32,
    pub report: FileDiagnostics,
    pub spec_dir: PathBuf,
    /// What it asked of the bento stage, for the cache and the bento
    /// features (completion of names, hover, go to definition).
    pub request: Option<BentoRequest>,
}

/// What a feature handler gets: the document, its up-to-date check, and
/// the bento it named (from the cache).
pub struct View<'a> {
    pub uri: &'a Uri,
    pub doc: &'a Document,
    pub analysis: &'a Analysis,
    pub bento: Option<&'a crate::bento::Bento>,
}

struct Server<'c> {
    connection: &'c Connection,
    docs: HashMap<String, Open>,
    cache: Cache,
    debounce: Duration,
    initialized: bool,
    shutdown: bool,
    last_poll: Instant,
}

/// Serves one client over `connection` until `exit` (Ok after a
/// `shutdown`) or until the client goes away.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let mut server = Server {
        connection,
        docs: HashMap::new(),
        cache: Cache::default(),
        debounce: DEFAULT_DEBOUNCE,
        initialized: false,
        shutdown: false,
        last_poll: Instant::now(),
    };
    loop {
        let now = Instant::now();
        let next_due = server.docs.values().filter_map(|o| o.due).min();
        let wait = next_due
            .map_or(STALENESS_POLL, |due| due.saturating_duration_since(now))
            .min(STALENESS_POLL);
        let wait = if server.shutdown { EXIT_WAIT } else { wait };
        match connection.receiver.recv_timeout(wait) {
            Ok(Message::Notification(n)) if n.method == "exit" => {
                return if server.shutdown {
                    Ok(())
                } else {
                    Err("exit without shutdown".into())
                };
            }
            Ok(message) => server.handle(message),
            Err(RecvTimeoutError::Timeout) if server.shutdown => {
                return Err("timed out waiting for exit after shutdown".into());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return if server.shutdown {
                    Ok(())
                } else {
                    Err("the client closed the connection".into())
                };
            }
        }
        server.check_due();
        if server.last_poll.elapsed() >= STALENESS_POLL {
            server.last_poll = Instant::now();
            server.recheck_stale_bentos();
        }
    }
}

impl Server<'_> {
    fn send(&self, message: impl Into<Message>) {
        // A closed connection ends the loop at the next receive.
        let _ = self.connection.sender.send(message.into());
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Request(request) => {
                let id = request.id.clone();
                let method = request.method.clone();
                // A bug in a handler answers that request with an error;
                // the server goes on.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.request(request)
                }));
                let response = match outcome {
                    Ok(Ok(result)) => Response::new_ok(id, result),
                    Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
                    Err(_) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        format!(
                            "bentoray lsp: internal error in {method} (this is a bug; please report it)"
                        ),
                    ),
                };
                self.send(response);
            }
            Message::Notification(n) => {
                let method = n.method.clone();
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.notification(n)));
                if outcome.is_err() {
                    self.log(&format!(
                        "internal error in {method} (this is a bug; please report it)"
                    ));
                }
            }
            Message::Response(_) => {}
        }
    }

    fn log(&self, text: &str) {
        self.send(Notification::new(
            "window/logMessage".into(),
            serde_json::json!({"type": 1, "message": format!("bentoray lsp: {text}")}),
        ));
    }

    fn request(&mut self, request: Request) -> Result<Value, (ErrorCode, String)> {
        if request.method == "initialize" {
            if self.initialized {
                return Err((ErrorCode::InvalidRequest, "initialize sent twice".into()));
            }
            self.initialized = true;
            if let Some(ms) = request
                .params
                .pointer("/initializationOptions/debounceMs")
                .and_then(Value::as_u64)
            {
                self.debounce = Duration::from_millis(ms.min(10_000));
            }
            return Ok(initialize_result());
        }
        if !self.initialized {
            return Err((ErrorCode::ServerNotInitialized, "initialize first".into()));
        }
        if self.shutdown {
            return Err((
                ErrorCode::InvalidRequest,
                "the server is shutting down".into(),
            ));
        }
        if request.method == "shutdown" {
            self.shutdown = true;
            return Ok(Value::Null);
        }
        let uri_key = request
            .params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(handler) = feature(&request.method) else {
            return Err((
                ErrorCode::MethodNotFound,
                format!("unsupported request {}", request.method),
            ));
        };
        let Some(uri_key) = uri_key else {
            return Err((ErrorCode::InvalidParams, "no textDocument.uri".into()));
        };
        // Answers describe the latest text: check it now if it is due.
        if self.docs.get(&uri_key).is_some_and(|o| o.due.is_some()) {
            self.check_now(&uri_key);
        }
        let Some(open) = self.docs.get(&uri_key) else {
            // Not open: nothing to say (not an error, per the protocol).
            return Ok(Value::Null);
        };
        let Some(analysis) = open.analysis.as_ref() else {
            return Ok(Value::Null);
        };
        let bento = analysis.request.as_ref().and_then(|r| self.cache.peek(r));
        let view = View {
            uri: &open.uri,
            doc: &open.doc,
            analysis,
            bento,
        };
        handler(&view, &request.params).map_err(|why| (ErrorCode::InvalidParams, why))
    }

    fn notification(&mut self, n: Notification) {
        if !self.initialized {
            return;
        }
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                else {
                    return;
                };
                let item = params.text_document;
                let key = item.uri.as_str().to_string();
                self.docs.insert(
                    key.clone(),
                    Open {
                        uri: item.uri,
                        doc: Document::new(item.text, item.version),
                        due: Some(Instant::now()),
                        analysis: None,
                    },
                );
                self.check_now(&key);
            }
            "textDocument/didChange" => {
                let Ok(params) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                else {
                    return;
                };
                let debounce = self.debounce;
                if let Some(open) = self.docs.get_mut(params.text_document.uri.as_str()) {
                    open.doc
                        .apply(params.content_changes, params.text_document.version);
                    open.due = Some(Instant::now() + debounce);
                }
            }
            "textDocument/didSave" | "workspace/didChangeWatchedFiles" => {
                // A saved spec or a changed bento: check everything open now
                // (the cache reloads what changed on disk).
                for open in self.docs.values_mut() {
                    open.due = Some(Instant::now());
                }
            }
            "textDocument/didClose" => {
                let Some(uri) = n
                    .params
                    .pointer("/textDocument/uri")
                    .and_then(Value::as_str)
                else {
                    return;
                };
                if let Some(open) = self.docs.remove(uri) {
                    self.publish(&open.uri, None, Vec::new());
                }
            }
            _ => {}
        }
    }

    /// Checks the documents whose quiet period is over.
    fn check_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .docs
            .iter()
            .filter(|(_, o)| o.due.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.check_now(&key);
        }
    }

    /// Re-checks the open specs whose bento changed on disk.
    fn recheck_stale_bentos(&mut self) {
        let stale: Vec<String> = self
            .docs
            .iter()
            .filter(|(_, o)| {
                o.analysis
                    .as_ref()
                    .and_then(|a| a.request.as_ref())
                    .is_some_and(|r| self.cache.is_stale(r))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.check_now(&key);
        }
    }

    fn check_now(&mut self, key: &str) {
        let Some(open) = self.docs.get_mut(key) else {
            return;
        };
        open.due = None;
        // A client attached to every TOML file gets nothing for files that
        // are not specs.
        let diagnostics = if is_spec(&open.uri, &open.doc.text) {
            let cache = &mut self.cache;
            // A bug in a stage must not end the server: it says so and
            // goes on with the next change.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                analyze(&open.uri, &open.doc, cache)
            }));
            match outcome {
                Ok(analysis) => {
                    let diagnostics = to_lsp_diagnostics(&open.uri, &open.doc, &analysis.report);
                    open.analysis = Some(analysis);
                    diagnostics
                }
                Err(_) => {
                    open.analysis = None;
                    let uri = open.uri.as_str().to_string();
                    self.cache = Cache::default();
                    self.log(&format!(
                        "internal error checking {uri} (this is a bug; please report it with the spec)"
                    ));
                    return;
                }
            }
        } else {
            open.analysis = None;
            Vec::new()
        };
        let uri = open.uri.clone();
        let version = open.doc.version;
        self.publish(&uri, Some(version), diagnostics);
    }

    fn publish(&self, uri: &Uri, version: Option<i32>, diagnostics: Vec<lsp_types::Diagnostic>) {
        let params = PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version,
        };
        self.send(Notification::new(
            "textDocument/publishDiagnostics".into(),
            params,
        ));
    }
}

type Handler = fn(&View, &Value) -> Result<Value, String>;

fn feature(method: &str) -> Option<Handler> {
    Some(match method {
        "textDocument/completion" => complete::handle,
        "textDocument/hover" => hover::handle,
        "textDocument/codeAction" => actions::handle,
        "textDocument/definition" => definition::handle,
        _ => return None,
    })
}

fn initialize_result() -> Value {
    serde_json::json!({
        "capabilities": {
            "positionEncoding": "utf-16",
            "textDocumentSync": {
                "openClose": true,
                // Incremental.
                "change": 2,
                "save": {"includeText": false}
            },
            "completionProvider": {"triggerCharacters": ["[", ".", "\"", "="]},
            "hoverProvider": true,
            "codeActionProvider": {"codeActionKinds": ["quickfix"]},
            "definitionProvider": true
        },
        "serverInfo": {"name": "bentoray", "version": env!("CARGO_PKG_VERSION")}
    })
}

/// Whether a document is a bentoray spec: named `bentoray.toml` or
/// `*.bentoray.toml`, or any TOML file whose top level sets `bento`.
fn is_spec(uri: &Uri, text: &str) -> bool {
    let name = uri.as_str().rsplit('/').next().unwrap_or_default();
    if name == "bentoray.toml" || name.ends_with(".bentoray.toml") {
        return true;
    }
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('[') {
            return false;
        }
        if let Some(rest) = line.strip_prefix("bento")
            && rest.trim_start().starts_with('=')
        {
            return true;
        }
    }
    false
}

/// The file a `file:` URI names (percent-decoded).
pub fn uri_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path` is not a local file; `file:///path` is.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = path
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8(out).ok()?;
    Some(PathBuf::from(text))
}

/// The `file:` URI of an absolute path (percent-encoded).
pub fn path_uri(path: &Path) -> Option<Uri> {
    let text = path.to_str()?;
    let mut out = String::from("file://");
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out.parse().ok()
}

/// Checks a document's text exactly as `bentoray check <its path>` does,
/// with the bento from the cache.
fn analyze(uri: &Uri, doc: &Document, cache: &mut Cache) -> Analysis {
    let path = uri_path(uri);
    let (name, spec_dir) = match &path {
        Some(p) => (
            p.to_string_lossy().into_owned(),
            p.parent().map(Path::to_path_buf).unwrap_or_default(),
        ),
        None => (
            uri.as_str().to_string(),
            std::env::current_dir().unwrap_or_default(),
        ),
    };
    let mut request = None;
    let mut output = check::check_source_with(
        SourceFile::new(name, doc.text.as_str()),
        &spec_dir,
        &mut |r| {
            request = Some(r.clone());
            cache.get(r)
        },
    );
    // The checks made after lowering, as `bentoray check` makes them.
    let spec_name = path
        .as_deref()
        .map_or("bentoray.toml".into(), crate::plan::spec_name);
    crate::plan::capacity::add_to(&mut output, &spec_name);
    // A spec that is not TOML yet (being typed) is checked no further, but
    // completion and hover still need its bento.
    if request.is_none() {
        request = request_from_text(&doc.text, &spec_dir);
        if let Some(r) = &request {
            cache.get(r);
        }
    }
    Analysis {
        version: doc.version,
        report: output.report,
        spec_dir,
        request,
    }
}

/// The bento request of a spec that does not parse, from the lines that
/// do: the top-level `bento`, `bentoml_home` and `entrypoint`, and the
/// `[batching.<runner>...]` headers.
fn request_from_text(text: &str, spec_dir: &Path) -> Option<BentoRequest> {
    let mut top = toml::Table::new();
    let mut batched = Vec::new();
    let mut in_header = false;
    for line in text.lines() {
        if let Some(segments) = context::header(line, 0) {
            in_header = true;
            if segments.first().is_some_and(|s| s.name == "batching")
                && let Some(unit) = segments.get(1)
                && !batched.contains(&unit.name)
            {
                batched.push(unit.name.clone());
            }
            continue;
        }
        if in_header {
            continue;
        }
        if let Ok(table) = line.parse::<toml::Table>() {
            top.extend(table);
        }
    }
    let value = top.get("bento")?.as_str()?.to_string();
    let home = top.get("bentoml_home").and_then(|v| v.as_str());
    let store = crate::bento::store_root(spec_dir, home);
    Some(BentoRequest {
        value,
        spec_dir: spec_dir.to_path_buf(),
        store: store.path,
        store_origin: store.origin,
        all_methods: top.get("entrypoint").and_then(|v| v.as_str()) == Some("bentoml"),
        batched,
    })
}

/// The check's diagnostics as LSP diagnostics: same code, message,
/// severity and span. The label and the help (which `check` prints under
/// the span) are related information at the span, and so is each other
/// place a fix edits (a key moved above the first table).
pub fn to_lsp_diagnostics(
    uri: &Uri,
    doc: &Document,
    report: &FileDiagnostics,
) -> Vec<lsp_types::Diagnostic> {
    report
        .diagnostics
        .iter()
        .map(|d| to_lsp_diagnostic(uri, doc, d))
        .collect()
}

fn to_lsp_diagnostic(
    uri: &Uri,
    doc: &Document,
    d: &diagnostic::Diagnostic,
) -> lsp_types::Diagnostic {
    let span = d.span.clone().unwrap_or(0..0);
    let here = |message: String| DiagnosticRelatedInformation {
        location: Location::new(uri.clone(), doc.range(&span)),
        message,
    };
    let mut related: Vec<DiagnosticRelatedInformation> = Vec::new();
    related.extend(d.label.clone().map(here));
    related.extend(d.help.as_ref().map(|h| here(format!("help: {h}"))));
    related.extend(
        d.suggestions
            .iter()
            .flat_map(|s| s.edits.iter().map(move |e| (s, e)))
            .filter(|(_, e)| e.span.start > span.end || e.span.end < span.start)
            .map(|(s, e)| DiagnosticRelatedInformation {
                location: Location::new(uri.clone(), doc.range(&e.span)),
                message: s.message.clone(),
            }),
    );
    lsp_types::Diagnostic {
        range: doc.range(&span),
        severity: Some(match d.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Note => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.rule.code.to_string())),
        code_description: None,
        source: Some("bentoray".into()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// Parses a request's params, as an error message when they do not fit.
pub fn params<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, String> {
    serde_json::from_value(params.clone()).map_err(|e| format!("invalid params: {e}"))
}
