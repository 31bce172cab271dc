//! `bentoray lsp` over an in-memory connection: initialize, open, change,
//! diagnostics (the same as `bentoray check`'s), completion, hover, code
//! actions, go to definition, shutdown. Every spec has non-ASCII text
//! (UTF-16 surrogate pairs included) before the positions it asks about.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};

mod common;
use common::copy_dir;

const WAIT: Duration = Duration::from_secs(30);

struct Client {
    connection: Connection,
    server: Option<JoinHandle<Result<(), String>>>,
    next_id: i32,
    /// Notifications received while waiting for something else.
    pending: Vec<Notification>,
}

impl Client {
    /// A server on an in-memory connection, not initialized yet.
    fn connect() -> Client {
        let (server, client) = Connection::memory();
        let handle = std::thread::spawn(move || bentoray::lsp::serve(&server));
        Client {
            connection: client,
            server: Some(handle),
            next_id: 0,
            pending: Vec::new(),
        }
    }

    fn start() -> Client {
        let mut c = Client::connect();
        let init = c.request(
            "initialize",
            json!({"capabilities": {}, "initializationOptions": {"debounceMs": 20}}),
        );
        assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
        c.notify("initialized", json!({}));
        c
    }

    fn notify(&self, method: &str, params: Value) {
        self.connection
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .expect("server alive");
    }

    /// Sends a request and returns its whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.connection
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                params,
            )))
            .expect("server alive");
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.connection.receiver.recv_timeout(left) {
                Ok(Message::Response(r)) if r.id == id => {
                    return serde_json::to_value(r).expect("response serializes");
                }
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(_) => {}
                Err(e) => panic!("no response to {method}: {e}"),
            }
        }
    }

    /// The next diagnostics published for `uri` at `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let matches = |n: &Notification| {
            n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == uri
                && n.params["version"] == version
        };
        if let Some(i) = self.pending.iter().position(matches) {
            let n = self.pending.remove(i);
            return n.params["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.connection.receiver.recv_timeout(left) {
                Ok(Message::Notification(n)) if matches(&n) => {
                    return n.params["diagnostics"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                }
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(_) => {}
                Err(e) => panic!("no diagnostics for {uri} version {version}: {e}"),
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "toml", "version": 1, "text": text}}),
        );
        self.diagnostics(uri, 1)
    }

    fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let result = self
            .server
            .take()
            .expect("running")
            .join()
            .expect("no panic");
        assert_eq!(result, Ok(()));
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// A spec in a fresh directory, its `file:` URI, and the directory.
fn spec(text: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bentoray.toml");
    std::fs::write(&path, text).expect("write spec");
    let uri = format!("file://{}", path.display());
    (dir, path, uri)
}

fn legacy_spec() -> String {
    format!(
        "# Ünïcödé 𝄞 before every position\nbento = \"iris_classifier:latest\"\nbentoml_home = \"{}\"\n\n[service]\nray_actor_options = {{ resources = {{ \"gpü𝄞\" = 1 }}, num_cpu = 1 }}\n\n[runners.iris_clff]\nnum_replicas = 1\n\n[batching.iris_clf.predict]\nmax_batch_size = 8\n",
        examples().join("bentoml").display()
    )
}

/// Where `needle` starts in `text`, as an LSP position (UTF-16 columns).
fn pos(text: &str, needle: &str) -> Value {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in text"));
    pos_at(text, offset)
}

fn pos_at(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": character})
}

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|i| i["label"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// What `bentoray check --format json` reports for the same file.
fn cli_check(path: &Path) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bentoray"))
        .args(["check", "--format", "json"])
        .arg(path)
        .output()
        .expect("bentoray runs");
    serde_json::from_slice(&out.stdout).expect("JSON diagnostics")
}

#[test]
fn diagnostics_match_check_with_utf16_positions() {
    let text = legacy_spec();
    let (_dir, path, uri) = spec(&text);
    let mut client = Client::start();
    let diags = client.open(&uri, &text);
    let cli = cli_check(&path);
    assert_eq!(
        codes(&diags),
        cli.iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    for (lsp, cli) in diags.iter().zip(&cli) {
        assert_eq!(lsp["message"], cli["message"]);
        // What `check` prints under the span: label, then help.
        let related: Vec<&str> = lsp["relatedInformation"]
            .as_array()
            .map(|r| r.iter().map(|i| i["message"].as_str().unwrap()).collect())
            .unwrap_or_default();
        if let Some(label) = cli["label"].as_str() {
            assert_eq!(related[0], label);
        }
        if let Some(help) = cli["help"].as_str() {
            assert!(
                related.contains(&format!("help: {help}").as_str()),
                "{related:?}"
            );
        }
        let severity = match cli["severity"].as_str().unwrap() {
            "error" => 1,
            "warning" => 2,
            _ => 3,
        };
        assert_eq!(lsp["severity"], severity);
        assert_eq!(lsp["source"], "bentoray");
    }
    // `num_cpu` comes after `"gpü𝄞"`: its column counts UTF-16 units.
    let br101 = &diags[codes(&diags).iter().position(|c| c == "BR101").unwrap()];
    assert_eq!(br101["range"]["start"], pos(&text, "num_cpu"));
    let end = text.find("num_cpu").unwrap() + "num_cpu".len();
    assert_eq!(br101["range"]["end"], pos_at(&text, end));
    let br102 = &diags[codes(&diags).iter().position(|c| c == "BR102").unwrap()];
    assert_eq!(br102["range"]["start"], pos(&text, "iris_clff"));
    client.shutdown();
}

#[test]
fn change_is_rechecked_and_fix_applies() {
    let text = legacy_spec();
    let (_dir, _path, uri) = spec(&text);
    let mut client = Client::start();
    let diags = client.open(&uri, &text);
    assert!(codes(&diags).contains(&"BR102".to_string()));

    // The quick fix for BR102 renames the table.
    let at = pos(&text, "iris_clff");
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at},
               "context": {"diagnostics": []}}),
    );
    let actions = actions["result"].as_array().cloned().unwrap();
    let fix = actions
        .iter()
        .find(|a| a["title"].as_str().unwrap().contains("iris_clf`"))
        .unwrap_or_else(|| panic!("a BR102 fix in {actions:?}"));
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["diagnostics"][0]["code"], "BR102");
    let edit = &fix["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "iris_clf");
    assert_eq!(edit["range"]["start"], at);

    // Apply it as an incremental change: the diagnostic goes away.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"range": edit["range"], "text": "iris_clf"}]}),
    );
    let diags = client.diagnostics(&uri, 2);
    assert!(!codes(&diags).contains(&"BR102".to_string()), "{diags:?}");
    assert!(codes(&diags).contains(&"BR101".to_string()));

    // A full-text change is checked too (debounced: only the last one).
    let broken = text.replace("[service]", "[service");
    for version in 3..6 {
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"text": broken}]}),
        );
    }
    let diags = client.diagnostics(&uri, 5);
    assert_eq!(codes(&diags), ["BR001"]);
    assert!(
        !client
            .pending
            .iter()
            .any(|n| n.params["version"] == 3 || n.params["version"] == 4),
        "debounced changes are not checked one by one"
    );
    client.shutdown();
}

#[test]
fn enable_batching_fix_and_moved_key_fix() {
    let text = legacy_spec().replace("[runners.iris_clff]", "[runners.iris_clf]");
    let (_dir, _path, uri) = spec(&text);
    let mut client = Client::start();
    let diags = client.open(&uri, &text);
    assert!(codes(&diags).contains(&"BR302".to_string()), "{diags:?}");
    let at = pos(&text, "batching.iris_clf");
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at},
               "context": {"diagnostics": []}}),
    );
    let fix = actions["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .contains("enable_batching = true")
        })
        .cloned()
        .expect("an enable_batching fix");
    let edit = &fix["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "enable_batching = true\n");
    // Above the first table header.
    assert_eq!(edit["range"]["start"], pos(&text, "[service]"));

    // A top-level key written under a table: the move is offered.
    let trapped = text.replace(
        "[batching.iris_clf.predict]\nmax_batch_size = 8\n",
        "[batching.iris_clf.predict]\nmax_batch_size = 8\nenable_batching = true\n",
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": trapped}]}),
    );
    let diags = client.diagnostics(&uri, 2);
    let moved = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("top-level key"))
        .unwrap_or_else(|| panic!("a table-trap diagnostic in {diags:?}"));
    // The fix's other place (above the first header) is related information.
    let other_place = moved["relatedInformation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["message"]
                .as_str()
                .unwrap()
                .starts_with("move `enable_batching")
        })
        .unwrap_or_else(|| panic!("the move's place in {moved}"));
    assert_eq!(
        other_place["location"]["range"]["start"],
        pos(&trapped, "[service]")
    );
    let at = pos(&trapped, "enable_batching = true\n");
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at},
               "context": {"diagnostics": []}}),
    );
    let titles: Vec<String> = actions["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Move `enable_batching")),
        "{titles:?}"
    );

    // A Ray option removed by the target release: renamed to its replacement.
    let removed = text.replace("num_replicas = 1\n", "max_concurrent_queries = 4\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": removed}]}),
    );
    let diags = client.diagnostics(&uri, 3);
    assert!(codes(&diags).contains(&"BR311".to_string()), "{diags:?}");
    let at = pos(&removed, "max_concurrent_queries");
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at},
               "context": {"diagnostics": []}}),
    );
    let fix = &actions["result"][0];
    assert_eq!(fix["title"], "Replace with `max_ongoing_requests` (BR311)");
    assert_eq!(
        fix["edit"]["changes"][&uri][0]["newText"],
        "max_ongoing_requests"
    );
    client.shutdown();
}

fn complete(client: &mut Client, uri: &str, position: Value) -> Value {
    let r = client.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": position}),
    );
    r["result"].clone()
}

#[test]
fn completion_in_context() {
    let base = legacy_spec();
    let text = format!("{base}\n[runners.\n");
    let (_dir, _path, uri) = spec(&text);
    let mut client = Client::start();
    client.open(&uri, &text);
    let end_of = |t: &str, needle: &str| pos_at(t, t.rfind(needle).unwrap() + needle.len());

    // `[runners.` offers the bento's runners, replacing what is typed.
    let items = complete(&mut client, &uri, end_of(&text, "[runners."));
    assert_eq!(labels(&items), ["iris_clf", "echo"]);
    assert!(
        items[0]["detail"]
            .as_str()
            .unwrap()
            .contains("SklearnRunnable")
    );

    // Typing a prefix: the edit replaces it.
    let typed = format!("{base}\n[runners.ir\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": typed}]}),
    );
    let items = complete(&mut client, &uri, end_of(&typed, "[runners.ir"));
    let edit = &items[0]["textEdit"];
    assert_eq!(edit["newText"], "iris_clf");
    assert_eq!(
        edit["range"]["start"],
        pos_at(&typed, typed.rfind("ir\n").unwrap())
    );

    // `[batching.` offers runners with batchable methods, then the methods.
    let batching = format!("{base}\n[batching.\n[batching.iris_clf.\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": batching}]}),
    );
    let items = complete(&mut client, &uri, end_of(&batching, "[batching."));
    assert_eq!(labels(&items), ["iris_clf"]);
    let items = complete(&mut client, &uri, end_of(&batching, "[batching.iris_clf."));
    assert_eq!(labels(&items), ["predict"]);

    // Keys of the table at the cursor, with type and default, only those
    // of the target release; enum values; log levels.
    let keys = format!(
        "{}\n[ray]\nversion = \"2.6\"\nproxy_location = \"\"\n[runners.echo]\nmax_\nplacement_group_strategy = \n[application]\nlogging_config = {{ log_level = \"\" }}\n",
        base.replace("[runners.iris_clff]", "[runners.iris_clf]")
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": keys}]}),
    );
    let items = complete(&mut client, &uri, end_of(&keys, "\nmax_"));
    let names = labels(&items);
    assert!(
        names.contains(&"max_concurrent_queries".to_string()),
        "{names:?}"
    );
    // `max_ongoing_requests` is Ray 2.10+: not offered for 2.6.
    assert!(
        !names.contains(&"max_ongoing_requests".to_string()),
        "{names:?}"
    );
    let mcq = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "max_concurrent_queries")
        .unwrap();
    assert!(mcq["detail"].as_str().unwrap().contains("default"), "{mcq}");
    let items = complete(
        &mut client,
        &uri,
        end_of(&keys, "placement_group_strategy = "),
    );
    assert!(
        labels(&items).contains(&"STRICT_PACK".to_string()),
        "{items}"
    );
    let items = complete(&mut client, &uri, end_of(&keys, "proxy_location = \""));
    // `Disabled` is Ray 2.7+.
    assert_eq!(labels(&items), ["EveryNode", "HeadOnly"]);
    let items = complete(&mut client, &uri, end_of(&keys, "log_level = \""));
    assert!(labels(&items).contains(&"DEBUG".to_string()), "{items}");

    // Top-level keys where no table has started; sub-tables in a header.
    let top = format!("\n{keys}");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 6}, "contentChanges": [{"text": top}]}),
    );
    let names = labels(&complete(
        &mut client,
        &uri,
        json!({"line": 0, "character": 0}),
    ));
    for key in ["enable_batching", "entrypoint", "bento_serialization"] {
        assert!(names.contains(&key.to_string()), "{names:?}");
    }
    // Already written: not offered again; tables go in headers.
    assert!(!names.contains(&"bento".to_string()), "{names:?}");
    assert!(!names.contains(&"bentoml_home".to_string()), "{names:?}");
    assert!(!names.contains(&"runners".to_string()), "{names:?}");
    let sub = format!("{keys}[runners.echo.\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 7}, "contentChanges": [{"text": sub}]}),
    );
    let names = labels(&complete(&mut client, &uri, end_of(&sub, "[runners.echo.")));
    assert!(
        names.contains(&"ray_actor_options".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"autoscaling_config".to_string()),
        "{names:?}"
    );
    // `logging_config` in a deployment is Ray 2.9+: not for the 2.6 target.
    assert!(!names.contains(&"logging_config".to_string()), "{names:?}");

    // `bento = "` offers the store's tags.
    let tags = format!(
        "bento = \"\"\nbentoml_home = \"{}\"\n",
        examples().join("bentoml").display()
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 8}, "contentChanges": [{"text": tags}]}),
    );
    let items = complete(&mut client, &uri, json!({"line": 0, "character": 9}));
    assert_eq!(
        labels(&items),
        ["iris_classifier:latest", "iris_classifier:uipstxhkfwmbwax4"]
    );
    client.shutdown();
}

#[test]
fn services_completion_hover_and_definition() {
    let text = format!(
        "# Ünïcödé 𝄞\nbento = \"gateway:latest\"\nbentoml_home = \"{}\"\n\n[services.Middle]\nnum_replicas = 1\n\n[batching.Middle.shout]\nmax_batch_size = 4\n\n[services.\n",
        examples().join("bentoml-services").display()
    );
    let (_dir, _path, uri) = spec(&text);
    let mut client = Client::start();
    client.open(&uri, &text);
    let end = pos_at(
        &text,
        text.rfind("[services.").unwrap() + "[services.".len(),
    );
    let items = complete(&mut client, &uri, end);
    assert_eq!(labels(&items), ["Gateway", "Middle", "Leaf"]);
    // `[batching.Middle.` offers its batchable APIs.
    let batching = format!("{text}[batching.Middle.\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": batching}]}),
    );
    let end = pos_at(&batching, batching.len() - 1);
    assert_eq!(labels(&complete(&mut client, &uri, end)), ["shout"]);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": text}]}),
    );

    // Hover on a service: what the bento says of it.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": pos(&text, "Middle]")}),
    );
    let value = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(value.contains("service `Middle`"), "{value}");
    assert!(value.contains("`shout`: batchable"), "{value}");

    // Go to definition: the service's class, the API's method.
    let def = client.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": pos(&text, "Middle]")}),
    );
    let target = def["result"]["uri"].as_str().unwrap();
    assert!(target.ends_with("/src/middle.py"), "{def}");
    let source =
        std::fs::read_to_string(bentoray::lsp::uri_path(&target.parse().unwrap()).unwrap())
            .unwrap();
    let line = def["result"]["range"]["start"]["line"].as_u64().unwrap() as usize;
    // The definition starts at its decorator (aliased in this bento).
    let definition: Vec<&str> = source.lines().skip(line).take(4).collect();
    assert!(definition[0].starts_with('@'), "{definition:?}");
    assert!(
        definition.iter().any(|l| l.starts_with("class Middle")),
        "{definition:?}"
    );
    let def = client.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": pos(&text, "shout]")}),
    );
    let line = def["result"]["range"]["start"]["line"].as_u64().unwrap() as usize;
    let around: Vec<&str> = source.lines().skip(line).take(3).collect();
    assert!(around.iter().any(|l| l.contains("def shout")), "{around:?}");
    client.shutdown();
}

#[test]
fn hover_and_definition_on_a_legacy_bento() {
    let text = legacy_spec().replace("[runners.iris_clff]", "[runners.iris_clf]");
    let (_dir, _path, uri) = spec(&format!("{text}# see BR302\n"));
    let text = format!("{text}# see BR302\n");
    let mut client = Client::start();
    client.open(&uri, &text);
    let hover = |client: &mut Client, position: Value| {
        let r = client.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": position}),
        );
        r["result"]["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let runner = hover(&mut client, pos(&text, "iris_clf]"));
    assert!(runner.contains("Runnable: `SklearnRunnable`"), "{runner}");
    assert!(
        runner.contains("`predict`: batchable, batch_dim (0, 0)"),
        "{runner}"
    );
    let option = hover(&mut client, pos(&text, "num_replicas"));
    assert!(option.contains("**`num_replicas`**"), "{option}");
    assert!(
        option.contains("In the target Ray 2.60: available"),
        "{option}"
    );
    // A key inside an inline table.
    let inline = hover(&mut client, pos(&text, "resources ="));
    assert!(inline.starts_with("**`resources`**"), "{inline}");
    let code = hover(&mut client, pos(&text, "BR302"));
    assert!(code.starts_with("**BR302** (batching-disabled"), "{code}");
    // On a diagnostic's span: its explanation follows.
    let on_diag = hover(&mut client, pos(&text, "num_cpu ="));
    assert!(on_diag.contains("**BR101**"), "{on_diag}");

    let definition = |client: &mut Client, needle: &str| {
        let r = client.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": pos(&text, needle)}),
        );
        let target = r["result"]["uri"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_string();
        let path = bentoray::lsp::uri_path(&target.parse().unwrap()).unwrap();
        let line = r["result"]["range"]["start"]["line"].as_u64().unwrap() as usize;
        let source = std::fs::read_to_string(&path).unwrap();
        (path, source.lines().nth(line).unwrap().to_string())
    };
    let bento = hover(&mut client, pos(&text, "iris_classifier:latest"));
    assert!(
        bento.starts_with(
            "**bento `iris_classifier:uipstxhkfwmbwax4`** (runner-based bento, BentoML 1.1.11)"
        ),
        "{bento}"
    );
    assert!(bento.contains("Runners: `iris_clf`, `echo`"), "{bento}");
    let (path, line) = definition(&mut client, "iris_classifier:latest");
    assert!(path.ends_with("uipstxhkfwmbwax4/bento.yaml"), "{path:?}");
    assert_eq!(line, "service: service:svc");
    let (path, line) = definition(&mut client, "iris_clf]");
    assert!(path.ends_with("bento.yaml"), "{path:?}");
    assert_eq!(line, "- name: iris_clf");
    let (path, line) = definition(&mut client, "predict]");
    assert!(path.ends_with("model.yaml"), "{path:?}");
    assert_eq!(line, "  predict:");
    client.shutdown();
}

#[test]
fn a_rebuilt_bento_is_reloaded() {
    // A store of our own, whose `latest` moves to a bento without `echo`.
    let store = tempfile::tempdir().unwrap();
    let src = examples().join("bentoml");
    copy_dir(&src, store.path());
    let text = format!(
        "# 𝄞\nbento = \"iris_classifier:latest\"\nbentoml_home = \"{}\"\n\n[runners.echo]\nnum_replicas = 1\n",
        store.path().display()
    );
    let (_dir, _path, uri) = spec(&text);
    let mut client = Client::start();
    let diags = client.open(&uri, &text);
    assert!(!codes(&diags).contains(&"BR102".to_string()), "{diags:?}");

    let bentos = store.path().join("bentos/iris_classifier");
    let old = bentos.join("uipstxhkfwmbwax4");
    let new = bentos.join("newversion000001");
    copy_dir(&old, &new);
    let yaml = std::fs::read_to_string(new.join("bento.yaml")).unwrap();
    let without_echo = yaml
        .replace("- name: echo\n  runnable_type: EchoRunnable\n  embedded: false\n  models: []\n  resource_config: null\n", "")
        .replace("uipstxhkfwmbwax4", "newversion000001");
    std::fs::write(new.join("bento.yaml"), without_echo).unwrap();
    std::fs::write(bentos.join("latest"), "newversion000001").unwrap();

    // Unprompted: the periodic staleness check re-resolves `latest`.
    let diags = client.diagnostics(&uri, 1);
    assert!(codes(&diags).contains(&"BR102".to_string()), "{diags:?}");

    // `latest` moved back (same length, in place) and the client says a
    // watched file changed: checked at once.
    std::fs::write(bentos.join("latest"), "uipstxhkfwmbwax4").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": format!("file://{}", bentos.join("latest").display()), "type": 2}]}),
    );
    let diags = client.diagnostics(&uri, 1);
    assert!(!codes(&diags).contains(&"BR102".to_string()), "{diags:?}");

    // Rebuilt again; a save re-checks.
    std::fs::write(bentos.join("latest"), "newversion000001").unwrap();
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    let diags = client.diagnostics(&uri, 1);
    assert!(codes(&diags).contains(&"BR102".to_string()), "{diags:?}");

    // Closing clears the file's diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    let deadline = Instant::now() + WAIT;
    let cleared = loop {
        if let Some(n) = client.pending.iter().find(|n| {
            n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == uri
                && n.params["version"].is_null()
        }) {
            break n.params["diagnostics"].clone();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match client.connection.receiver.recv_timeout(left) {
            Ok(Message::Notification(n)) => client.pending.push(n),
            Ok(_) => {}
            Err(e) => panic!("no diagnostics cleared on close: {e}"),
        }
    };
    assert_eq!(cleared, json!([]));
    client.shutdown();
}

#[test]
fn protocol_edge_cases() {
    let mut c = Client::connect();
    // Before initialize: ServerNotInitialized.
    let r = c.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002);
    c.request("initialize", json!({"capabilities": {}}));
    // Unknown method; malformed params; a document never opened.
    let r = c.request("textDocument/rename", json!({}));
    assert_eq!(r["error"]["code"], -32601);
    let r = c.request("textDocument/hover", json!({"textDocument": {"uri": 5}}));
    assert!(r["error"].is_object(), "{r}");
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nowhere.toml"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(r["result"], Value::Null);
    // A TOML file that is not a spec (a client attached to every TOML
    // file): no diagnostics, no answers; one that sets `bento` is a spec.
    let other = "[package]\nname = \"x\"\n";
    assert_eq!(c.open("file:///tmp/Cargo.toml", other), Vec::<Value>::new());
    let r = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": "file:///tmp/Cargo.toml"}, "position": {"line": 0, "character": 1}}),
    );
    assert_eq!(r["result"], Value::Null);
    let spec_text = "bento = \"nope:latest\"\n";
    assert!(!c.open("file:///tmp/prod.toml", spec_text).is_empty());
    c.shutdown();

    // `exit` without `shutdown` is an error exit; a vanished client too.
    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || bentoray::lsp::serve(&server));
    client
        .sender
        .send(Message::Notification(Notification::new(
            "exit".into(),
            Value::Null,
        )))
        .unwrap();
    assert!(handle.join().unwrap().is_err());
    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || bentoray::lsp::serve(&server));
    drop(client);
    assert!(handle.join().unwrap().is_err());
}

/// Random edits and requests at random positions: every request gets an
/// answer that is not an internal error, and every version is checked.
#[test]
fn random_edits_never_break_the_server() {
    let text = legacy_spec();
    let (_dir, _path, uri) = spec(&text);
    let mut client = Client::start();
    client.open(&uri, &text);
    let mut doc = text.clone();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "[",
        "]",
        ".",
        "\"",
        "=",
        "{",
        "}",
        ",",
        "\n",
        " ",
        "é",
        "𝄞",
        "[runners.",
        "batching",
        "#",
        "'''",
        "\"\"\"",
        "num_replicas = ",
        "x",
        "\r\n",
        "[[",
        "]]",
    ];
    let methods = [
        "textDocument/completion",
        "textDocument/hover",
        "textDocument/codeAction",
        "textDocument/definition",
    ];
    for version in 2..=200i64 {
        // Positions anywhere, including past the ends and inside
        // surrogate pairs (clamped by the server, mirrored here).
        let lines = doc.split('\n').count() as u64;
        let line = next() % (lines + 2);
        let character = next() % 40;
        let piece = pieces[(next() % pieces.len() as u64) as usize];
        let delete = next() % 4;
        let start = json!({"line": line, "character": character});
        let end = json!({"line": line, "character": character + delete});
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"range": {"start": start, "end": end}, "text": piece}]}),
        );
        doc = apply(
            &doc,
            line as usize,
            character as usize,
            (character + delete) as usize,
            piece,
        );
        let method = methods[(next() % methods.len() as u64) as usize];
        let position = json!({"line": next() % (lines + 2), "character": next() % 40});
        let params = if method == "textDocument/codeAction" {
            json!({"textDocument": {"uri": uri}, "range": {"start": position, "end": position},
                   "context": {"diagnostics": []}})
        } else {
            json!({"textDocument": {"uri": uri}, "position": position})
        };
        let r = client.request(method, params);
        assert!(
            r.get("error").is_none(),
            "{method} at version {version}: {r}"
        );
    }
    // The server's text is the client's: a full check of the final text
    // agrees with a fresh open of it.
    let diags = client.diagnostics(&uri, 200);
    let mut fresh = Client::start();
    let (_d2, _p2, uri2) = spec(&doc);
    let _ = uri2;
    let expected = fresh.open(&uri, &doc);
    assert_eq!(codes(&diags), codes(&expected));
    fresh.shutdown();
    client.shutdown();
}

/// The client-side twin of the server's clamped incremental edit.
fn apply(doc: &str, line: usize, start_char: usize, end_char: usize, text: &str) -> String {
    let offset = |character: usize| -> usize {
        let mut line_start = 0;
        for _ in 0..line {
            match doc[line_start..].find('\n') {
                Some(i) => line_start += i + 1,
                None => return doc.len(),
            }
        }
        let line_end = doc[line_start..]
            .find('\n')
            .map_or(doc.len(), |i| line_start + i);
        let mut units = 0;
        for (i, c) in doc[line_start..line_end].char_indices() {
            if units + c.len_utf16() > character {
                return line_start + i;
            }
            units += c.len_utf16();
        }
        line_end
    };
    let (s, e) = (offset(start_char), offset(end_char));
    let e = e.max(s);
    format!("{}{}{}", &doc[..s], text, &doc[e..])
}

#[test]
fn a_bento_is_loaded_once_until_it_changes_on_disk() {
    use bentoray::check::BentoRequest;
    use bentoray::lsp::Cache;
    let store = tempfile::tempdir().unwrap();
    copy_dir(&examples().join("bentoml"), store.path());
    let request = BentoRequest {
        value: "iris_classifier:latest".into(),
        spec_dir: store.path().to_path_buf(),
        store: store.path().to_path_buf(),
        store_origin: "a test",
        all_methods: false,
        batched: Vec::new(),
    };
    let mut cache = Cache::default();
    for _ in 0..3 {
        assert!(cache.get(&request).bento.is_some());
    }
    assert_eq!(cache.loads, 1, "one load for three checks");
    assert!(!cache.is_stale(&request));

    // bento.yaml rewritten (a rebuilt bento): one more load.
    let yaml = store
        .path()
        .join("bentos/iris_classifier/uipstxhkfwmbwax4/bento.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, format!("{text}\n")).unwrap();
    assert!(cache.is_stale(&request));
    cache.get(&request);
    cache.get(&request);
    assert_eq!(cache.loads, 2);

    // Another runner batched is another request (its sources may matter).
    let batched = BentoRequest {
        batched: vec!["echo".into()],
        ..request.clone()
    };
    cache.get(&batched);
    assert_eq!(cache.loads, 3);
    assert!(cache.peek(&request).is_some());
}

/// The checks made after lowering (the `[kuberay]` cluster's capacity)
/// reach the editor as they reach `bentoray check`.
#[test]
fn kuberay_capacity_warnings_match_check() {
    let text = format!(
        "bento = \"iris_classifier:latest\"\nbentoml_home = \"{}\"\n\n[service]\nnum_replicas = 10\n\n[kuberay]\nname = \"iris\"\nimage = \"img:1\"\nhead = {{ cpu = 2, memory = \"8Gi\" }}\n",
        examples().join("bentoml").display()
    );
    let (_dir, path, uri) = spec(&text);
    let mut client = Client::start();
    let diags = client.open(&uri, &text);
    let cli = cli_check(&path);
    let cli_codes: Vec<String> = cli
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    assert!(cli_codes.contains(&"BR375".to_string()), "{cli_codes:?}");
    assert_eq!(codes(&diags), cli_codes);
    client.shutdown();
}
