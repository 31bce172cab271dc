//! `cargo bench`: each pipeline stage on the examples and on synthetic
//! bentos of 10 to 10,000 runners (one shared model, or one model per
//! runner), with clean specs and specs where every runner has a warning and
//! an error. Whole-process figures and the peers are in `scripts/bench.sh`.
//!
//! Stages: `parse` (TOML to the spanned tree), `bento_load` (bento.yaml and
//! model.yaml), `check` (parse + load + schema and semantic rules: the
//! validate stage is its difference to the first two), `plan`, `emit`, and
//! `render` (human and JSON diagnostics), and the language server's
//! didChange → publishDiagnostics latency (`lsp`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bentoray::bento;
use bentoray::check::{self, Checked};
use bentoray::diagnostic::{self, FileDiagnostics, SourceFile};
use bentoray::spec::spanned;
use bentoray::{emit, plan};
use divan::Bencher;

fn main() {
    divan::main();
}

const SIZES: &[usize] = &[10, 100, 1000, 10000];
const EXAMPLES: &[&str] = &[
    "scaling",
    "batching",
    "two_runners",
    "tag_only",
    "bentoml_mode",
];

#[derive(Clone, Copy, Debug)]
enum Models {
    Shared,
    Each,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Spec {
    /// Every runner configured and batching within capacity: no diagnostics.
    Clean,
    /// Every runner with a BR319 warning and a misspelled option (BR101).
    WarningAndError,
}

/// A synthetic store with one bento of `n` sklearn runners and its spec,
/// written once per process (the same layout as scripts/bench/synth.py).
fn synthetic(n: usize, models: Models, spec: Spec) -> PathBuf {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let root = ROOT.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let dir = root.path().join(format!("{n}-{models:?}-{spec:?}"));
    if dir.join("bentoray.toml").is_file() {
        return dir;
    }
    let model = |i: usize| match models {
        Models::Shared => "m0".to_string(),
        Models::Each => format!("m{i}"),
    };
    let bento_dir = dir.join("store/bentos/big/v1");
    std::fs::create_dir_all(&bento_dir).unwrap();
    std::fs::write(dir.join("store/bentos/big/latest"), "v1").unwrap();
    let mut yaml = String::from(
        "service: service:svc\nname: big\nversion: v1\nbentoml_version: 1.1.11\ncreation_time: '2026-11-27T00:00:00+00:00'\nrunners:\n",
    );
    for i in 0..n {
        let _ = writeln!(
            yaml,
            "- name: r{i}\n  runnable_type: SklearnRunnable\n  models: ['{}:v1']",
            model(i)
        );
    }
    yaml.push_str("apis: []\n");
    std::fs::write(bento_dir.join("bento.yaml"), yaml).unwrap();
    let distinct = match models {
        Models::Shared => 1,
        Models::Each => n,
    };
    for i in 0..distinct {
        let model_dir = dir.join(format!("store/models/{}/v1", model(i)));
        std::fs::create_dir_all(&model_dir).unwrap();
        std::fs::write(
            model_dir.join("model.yaml"),
            format!(
                "name: {}\nversion: v1\nmodule: bentoml.sklearn\nsignatures:\n  predict:\n    batchable: true\n    batch_dim: [0, 0]\n  predict_proba:\n    batchable: false\n",
                model(i)
            ),
        )
        .unwrap();
    }
    let mut toml =
        String::from("bento = \"big:latest\"\nbentoml_home = \"store\"\nenable_batching = true\n");
    for i in 0..n {
        let per_runner = match spec {
            Spec::Clean => "max_ongoing_requests = 64\n",
            Spec::WarningAndError => "num_replica = 2\n",
        };
        let _ = write!(
            toml,
            "[runners.r{i}]\nnum_replicas = 2\n{per_runner}ray_actor_options = {{ num_cpus = 0.5, memory = 1073741824 }}\n[batching.r{i}.predict]\nmax_batch_size = 32\nbatch_wait_timeout_s = 0.01\n"
        );
    }
    std::fs::write(dir.join("bentoray.toml"), toml).unwrap();
    dir
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn source(dir: &Path) -> SourceFile {
    let text = std::fs::read_to_string(dir.join("bentoray.toml")).unwrap();
    SourceFile::new("bentoray.toml", text)
}

fn checked(dir: &Path) -> Checked {
    check::check_source(source(dir), dir)
        .checked
        .expect("a clean spec")
}

fn report(dir: &Path) -> FileDiagnostics {
    check::check_source(source(dir), dir).report
}

// ------------------------------------------------------------ examples

mod examples {
    use super::*;

    #[divan::bench(args = EXAMPLES)]
    fn parse(b: Bencher, name: &str) {
        let text = source(&example(name)).text;
        b.bench(|| spanned::parse(&text).map(|n| n.span.end).unwrap_or(0));
    }

    #[divan::bench(args = EXAMPLES)]
    fn check(b: Bencher, name: &str) {
        let dir = example(name);
        let file = source(&dir);
        b.bench(|| {
            check::check_source(file.clone(), &dir)
                .report
                .diagnostics
                .len()
        });
    }

    #[divan::bench(args = EXAMPLES)]
    fn plan(b: Bencher, name: &str) {
        let checked = checked(&example(name));
        b.bench(|| plan::lower(&checked, "bentoray.toml"));
    }

    #[divan::bench(args = EXAMPLES)]
    fn emit(b: Bencher, name: &str) {
        let plan = plan::lower(&checked(&example(name)), "bentoray.toml");
        b.bench(|| emit::files(&plan));
    }

    #[divan::bench(args = EXAMPLES)]
    fn render(b: Bencher, name: &str) {
        let report = report(&example(name));
        b.bench(|| diagnostic::render_human(&report, false).len());
    }
}

// ------------------------------------------------------------ synthetic

mod synthetic {
    use super::*;

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn parse(b: Bencher, n: usize) {
        let text = source(&synthetic(n, Models::Shared, Spec::Clean)).text;
        b.bench(|| spanned::parse(&text).map(|n| n.span.end).unwrap_or(0));
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn bento_load_shared_model(b: Bencher, n: usize) {
        bento_load(b, n, Models::Shared);
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn bento_load_model_per_runner(b: Bencher, n: usize) {
        bento_load(b, n, Models::Each);
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn check_clean(b: Bencher, n: usize) {
        check_spec(b, n, Spec::Clean);
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn check_warning_and_error_per_runner(b: Bencher, n: usize) {
        check_spec(b, n, Spec::WarningAndError);
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn plan(b: Bencher, n: usize) {
        let checked = checked(&synthetic(n, Models::Shared, Spec::Clean));
        b.bench(|| plan::lower(&checked, "bentoray.toml"));
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn emit(b: Bencher, n: usize) {
        let plan = plan::lower(
            &checked(&synthetic(n, Models::Shared, Spec::Clean)),
            "bentoray.toml",
        );
        b.bench(|| emit::files(&plan));
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn render_human(b: Bencher, n: usize) {
        let report = report(&synthetic(n, Models::Shared, Spec::WarningAndError));
        b.bench(|| diagnostic::render_human(&report, false).len());
    }

    #[divan::bench(args = SIZES, sample_count = 10)]
    fn render_json(b: Bencher, n: usize) {
        let report = report(&synthetic(n, Models::Shared, Spec::WarningAndError));
        b.bench(|| diagnostic::render_json(std::slice::from_ref(&report)).len());
    }

    /// Loads the synthetic bento of `n` runners from its store.
    fn bento_load(b: Bencher, n: usize, models: Models) {
        let dir = synthetic(n, models, Spec::Clean);
        let store = bento::store_root(&dir, Some("store"));
        b.bench(|| {
            bento::load("big:latest", &dir, &store)
                .bento
                .map(|b| b.runners().count())
        });
    }

    /// Checks the synthetic spec of `n` runners (shared model).
    fn check_spec(b: Bencher, n: usize, spec: Spec) {
        let dir = synthetic(n, Models::Shared, spec);
        let file = source(&dir);
        b.bench(|| {
            check::check_source(file.clone(), &dir)
                .report
                .diagnostics
                .len()
        });
    }
}

// ------------------------------------------------------------ language server

/// `bentoray lsp`: from a didChange to the diagnostics it publishes, with
/// no debounce (the server's own latency: re-check with the cached bento,
/// conversion to LSP positions, the protocol), over an in-memory connection.
mod lsp {
    use super::*;
    use lsp_server::{Connection, Message, Notification, Request, RequestId};
    use serde_json::json;

    struct Session {
        client: Connection,
        server: Option<std::thread::JoinHandle<Result<(), String>>>,
        uri: String,
        text: String,
        version: i64,
    }

    impl Session {
        fn open(dir: &Path) -> Session {
            let (server, client) = Connection::memory();
            let handle = std::thread::spawn(move || bentoray::lsp::serve(&server));
            let send = |m: Message| client.sender.send(m).unwrap();
            send(Message::Request(Request::new(
                RequestId::from(1),
                "initialize".into(),
                json!({"capabilities": {}, "initializationOptions": {"debounceMs": 0}}),
            )));
            let path = std::fs::canonicalize(dir.join("bentoray.toml")).unwrap();
            let uri = format!("file://{}", path.display());
            let text = std::fs::read_to_string(&path).unwrap();
            send(Message::Notification(Notification::new(
                "textDocument/didOpen".into(),
                json!({"textDocument": {"uri": uri, "languageId": "toml", "version": 1, "text": text}}),
            )));
            let mut s = Session {
                client,
                server: Some(handle),
                uri,
                text,
                version: 1,
            };
            s.wait_diagnostics();
            s
        }

        /// Waits for the diagnostics of the current version; their count.
        fn wait_diagnostics(&mut self) -> usize {
            loop {
                match self
                    .client
                    .receiver
                    .recv_timeout(std::time::Duration::from_secs(60))
                {
                    Ok(Message::Notification(n))
                        if n.method == "textDocument/publishDiagnostics"
                            && n.params["version"] == self.version =>
                    {
                        return n.params["diagnostics"].as_array().map_or(0, Vec::len);
                    }
                    Ok(_) => {}
                    Err(e) => panic!("no diagnostics: {e}"),
                }
            }
        }

        /// One edit (a comment line toggled at the end) and its diagnostics.
        fn change(&mut self) -> usize {
            self.version += 1;
            let text = if self.version % 2 == 0 {
                format!("{}# edit\n", self.text)
            } else {
                self.text.clone()
            };
            self.client
                .sender
                .send(Message::Notification(Notification::new(
                    "textDocument/didChange".into(),
                    json!({"textDocument": {"uri": self.uri, "version": self.version},
                           "contentChanges": [{"text": text}]}),
                )))
                .unwrap();
            self.wait_diagnostics()
        }
    }

    impl Drop for Session {
        fn drop(&mut self) {
            let send = |m: Message| self.client.sender.send(m).unwrap();
            send(Message::Request(Request::new(
                RequestId::from(2),
                "shutdown".into(),
                serde_json::Value::Null,
            )));
            send(Message::Notification(Notification::new(
                "exit".into(),
                serde_json::Value::Null,
            )));
            let _ = self.server.take().map(|h| h.join());
        }
    }

    #[divan::bench(args = EXAMPLES)]
    fn did_change_to_diagnostics(b: Bencher, name: &str) {
        let mut session = Session::open(&example(name));
        b.bench_local(|| session.change());
    }

    #[divan::bench(args = [100, 1000], sample_count = 20)]
    fn did_change_to_diagnostics_synthetic_clean(b: Bencher, n: usize) {
        let mut session = Session::open(&synthetic(n, Models::Shared, Spec::Clean));
        b.bench_local(|| session.change());
    }

    /// Two diagnostics per runner: 200 for 100 runners.
    #[divan::bench(args = [100, 1000], sample_count = 20)]
    fn did_change_to_diagnostics_synthetic_warning_and_error(b: Bencher, n: usize) {
        let mut session = Session::open(&synthetic(n, Models::Shared, Spec::WarningAndError));
        b.bench_local(|| session.change());
    }
}
