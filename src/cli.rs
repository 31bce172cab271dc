//! Stage 6: the command line. Parses arguments, runs the pipeline, renders
//! diagnostics and maps outcomes to exit codes:
//! 0 no errors (warnings allowed), 1 errors in a spec, 2 usage, I/O or
//! internal error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::check::{self, CheckOutput};
use crate::diagnostic::{self, FileDiagnostics, Severity, rules};
use crate::{bento, emit, plan, spec};

mod plan_view;

pub const EXIT_OK: u8 = 0;
pub const EXIT_SPEC_ERRORS: u8 = 1;
pub const EXIT_FAILURE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "bentoray",
    version,
    about = "Compile a bentoray.toml into a validated Ray Serve config and entrypoint for a BentoML bento",
    after_help = EXIT_CODES_HELP,
    after_long_help = examples::ALL
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to color diagnostics. `auto` honours NO_COLOR and terminals.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    /// Diagnostic output format.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check specs against their bentos and Ray Serve's rules; write nothing.
    #[command(after_long_help = examples::check)]
    Check {
        /// Spec files to check.
        #[arg(default_value = "bentoray.toml")]
        specs: Vec<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Check a spec, then write serve.yaml and the Python entrypoint.
    #[command(after_long_help = examples::build)]
    Build {
        /// Spec file to build.
        #[arg(default_value = "bentoray.toml")]
        spec: PathBuf,
        /// Output directory (created if missing; left untouched on errors).
        #[arg(short, long, default_value = "out")]
        output: PathBuf,
        /// Write nothing; exit 1 unless the output directory already holds
        /// exactly what the spec builds (for CI).
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Print every deployment's Ray options in force, each marked as from
    /// the spec, from the bento or Ray's default for the target; write
    /// nothing.
    #[command(after_long_help = examples::plan)]
    Plan {
        /// Spec file to plan.
        #[arg(default_value = "bentoray.toml")]
        spec: PathBuf,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Write a commented starter bentoray.toml for a bento: every deployment
    /// as a table, the defaults bentoray uses as comments, a commented
    /// batching table per batchable method.
    #[command(after_long_help = examples::init)]
    Init {
        /// The bento: a tag in the store (`iris_classifier:latest`) or the path
        /// of a bento directory or `.bento` archive. Default: the current
        /// directory, when it is a bento.
        #[arg(long, value_name = "TAG|PATH")]
        bento: Option<String>,
        /// BentoML store to look tags up in (written into the spec as
        /// `bentoml_home`). Default: $BENTOML_HOME, else ~/bentoml.
        #[arg(long, value_name = "DIR")]
        bentoml_home: Option<PathBuf>,
        /// The spec to write.
        #[arg(short, long, value_name = "FILE", default_value = "bentoray.toml")]
        output: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        /// What the `#:schema` line points editors at.
        #[arg(long, value_name = "PATH|URL", default_value = "bentoray.schema.json")]
        schema: String,
    },
    /// Show what deploying the spec would change on a live Ray cluster
    /// (read through its dashboard): applications added, replaced and
    /// deleted by `serve deploy`, options changed, added and removed.
    #[command(after_long_help = examples::diff)]
    Diff {
        /// Spec file.
        #[arg(default_value = "bentoray.toml")]
        spec: PathBuf,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Check and build the spec, then deploy it to a live Ray cluster,
    /// keeping every other application on it as it is.
    #[command(after_long_help = examples::deploy)]
    Deploy {
        /// Spec file.
        #[arg(default_value = "bentoray.toml")]
        spec: PathBuf,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Where to build (default: the spec's `local://` working_dir, else
        /// a temporary directory).
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Print the diff only; deploy nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the spec's application on a live Ray cluster; failures are
    /// reported at the spec table that configured the deployment. Exit 0
    /// running, 1 failed or not running, 2 cluster unreachable.
    #[command(after_long_help = examples::status)]
    Status {
        /// Spec file.
        #[arg(default_value = "bentoray.toml")]
        spec: PathBuf,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Wait up to SECONDS for the application to be RUNNING (or to fail).
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Print the JSON Schema (draft-07) of bentoray.toml: the generic one,
    /// or one specialised to a bento, whose runner, service, method and API
    /// names editors then complete and check.
    #[command(after_long_help = examples::schema)]
    Schema {
        /// Specialise to the bento this spec names (read with the spec's
        /// `bentoml_home`, paths relative to the spec).
        #[arg(long = "for", value_name = "SPEC", conflicts_with = "bento")]
        for_spec: Option<PathBuf>,
        /// Specialise to this bento: a tag in the store or the path of a
        /// bento directory or `.bento` archive.
        #[arg(long, value_name = "TAG|PATH")]
        bento: Option<String>,
        /// BentoML store to look `--bento` tags up in. Default:
        /// $BENTOML_HOME, else ~/bentoml.
        #[arg(long, value_name = "DIR", requires = "bento")]
        bentoml_home: Option<PathBuf>,
    },
    /// List every diagnostic code.
    #[command(after_long_help = examples::rules)]
    Rules,
    /// Explain a diagnostic code, e.g. `bentoray explain BR102`.
    #[command(after_long_help = examples::explain)]
    Explain {
        /// A code (BR102) or rule name (unknown-runner).
        code: String,
    },
    /// Run the language server on stdin/stdout, for editors: live
    /// diagnostics, completion, hover, quick fixes, go to definition.
    #[command(after_long_help = examples::lsp)]
    Lsp,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_long_help = examples::completions)]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

macro_rules! exit_codes_help {
    () => {
        "Exit codes: 0 no errors (warnings allowed), 1 errors in a spec, 2 usage, I/O or internal error."
    };
}
const EXIT_CODES_HELP: &str = exit_codes_help!();

/// Examples shown by `--help`, per subcommand, as static text (so help
/// costs nothing when it is not asked for): `examples::<command>` for the
/// subcommand's own `--help`, `examples::ALL` for the top level. A unit test
/// checks that every subcommand has examples and that each parses.
macro_rules! examples {
    ($($name:ident { $($line:literal => $what:literal,)+ })+) => {
        #[allow(non_upper_case_globals)]
        mod examples {
            $(pub const $name: &str =
                concat!("Examples:\n", $("  ", $line, "\n      ", $what, "\n",)+);)+
            pub const ALL: &str = concat!(
                "Examples:\n",
                $($("  ", $line, "\n      ", $what, "\n",)+)+
                "\n",
                exit_codes_help!()
            );
            /// Each subcommand's example command lines.
            #[cfg(test)]
            pub const LINES: &[(&str, &[&str])] = &[$((stringify!($name), &[$($line),+])),+];
        }
    };
}

examples! {
    check {
        "bentoray check" => "check ./bentoray.toml",
        "bentoray check --format github a/bentoray.toml b/bentoray.toml" => "annotate a GitHub Actions run",
    }
    build {
        "bentoray build bentoray.toml -o out" => "write out/serve.yaml and out/bento_ray.py",
        "bentoray build --check -o out" => "in CI: fail when out/ is stale",
    }
    plan {
        "bentoray plan" => "every deployment's options in force and where each comes from",
        "bentoray plan --format json examples/scaling/bentoray.toml" => "the same as JSON",
    }
    init {
        "bentoray init --bento iris_classifier:latest" => "a starter ./bentoray.toml",
        "bentoray init --bento ./bentos/iris -o deploy/bentoray.toml" => "from a bento directory",
    }
    diff {
        "bentoray diff --address http://127.0.0.1:8265" => "what deploying ./bentoray.toml would change on the cluster",
        "bentoray diff --format json prod/bentoray.toml" => "the same as JSON",
    }
    deploy {
        "bentoray deploy --dry-run" => "check, build and print the diff; deploy nothing",
        "bentoray deploy -o /srv/app --address http://head:8265" => "build into the spec's local:// working_dir and deploy, keeping the cluster's other applications",
    }
    status {
        "bentoray status --wait 120" => "wait up to 2 minutes for RUNNING; failures at their spec tables",
    }
    schema {
        "bentoray schema > bentoray.schema.json" => "the generic schema editors read",
        "bentoray schema --for bentoray.toml > bentoray.schema.json" => "specialised to the spec's bento: its runners, services and methods",
        "bentoray schema --bento iris_classifier:latest" => "specialised to a bento in the store",
    }
    rules {
        "bentoray rules --format json" => "every code as JSON",
    }
    explain {
        "bentoray explain BR102" => "what BR102 means and how to fix it",
    }
    lsp {
        "bentoray lsp" => "started by the editor, which speaks LSP on its stdin/stdout",
    }
    completions {
        "bentoray completions bash > ~/.local/share/bash-completion/completions/bentoray" => "bash",
        "bentoray completions zsh > ~/.zfunc/_bentoray" => "zsh (with ~/.zfunc in fpath)",
        "bentoray completions fish > ~/.config/fish/completions/bentoray.fish" => "fish",
    }
}

/// The clap command (examples included), shared by parsing and
/// `completions`.
fn command() -> clap::Command {
    Cli::command()
}

/// How `check` and `build` report diagnostics.
#[derive(Debug, Clone, Copy, clap::Args)]
struct ReportArgs {
    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    deny_warnings: bool,
    /// Print errors only: no warnings, notes or progress lines.
    #[arg(short, long)]
    quiet: bool,
}

/// Where the cluster's dashboard is.
#[derive(Debug, Clone, clap::Args)]
struct ClusterArgs {
    /// The Ray dashboard (default: $RAY_DASHBOARD_ADDRESS, else
    /// http://127.0.0.1:8265).
    #[arg(long, value_name = "URL")]
    address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Graphical reports with source snippets (stderr).
    Human,
    /// JSON on stdout: the diagnostics array (`check`, `build`), the rules
    /// (`rules`, `explain`).
    Json,
    /// SARIF 2.1.0 on stdout, for GitHub code scanning (`check`, `build`).
    Sarif,
    /// GitHub Actions `::error file=…` annotations on stdout (`check`, `build`).
    Github,
}

/// Entry point used by `main`; never panics outward.
pub fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_FAILURE
            } else {
                EXIT_OK
            });
        }
    };
    let outcome = std::panic::catch_unwind(|| run(&cli));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            eprintln!(
                "bentoray: internal error (this is a bug; please report it with the spec that triggered it)"
            );
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(cli: &Cli) -> u8 {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    match &cli.command {
        Command::Check { specs, report } => {
            let mut worst = EXIT_OK;
            let mut reports = Vec::new();
            for path in specs {
                let mut out = check::check_file(path, &display(path));
                add_plan_diagnostics(&mut out, path);
                worst = worst.max(exit_code(&out.report, report.deny_warnings));
                reports.push(out.report);
            }
            render(&reports, cli.format, color, *report, true);
            worst
        }
        Command::Build {
            spec,
            output,
            check,
            report,
        } => build(spec, output, *check, cli.format, color, *report),
        Command::Plan { spec, report } => plan_command(spec, cli.format, color, *report),
        Command::Init {
            bento,
            bentoml_home,
            output,
            force,
            schema,
        } => init(
            bento.as_deref(),
            bentoml_home.as_deref(),
            output,
            *force,
            schema,
        ),
        Command::Diff { .. } | Command::Deploy { .. } | Command::Status { .. }
            if matches!(cli.format, Format::Sarif | Format::Github) =>
        {
            eprintln!("bentoray: --format sarif and github apply to `check` and `build` only");
            EXIT_FAILURE
        }
        Command::Diff { spec, cluster } => crate::cluster::diff_command(
            spec,
            &crate::cluster::address(cluster.address.as_deref()),
            cluster_output(cli.format, color),
        ),
        Command::Deploy {
            spec,
            cluster,
            output,
            dry_run,
        } => crate::cluster::deploy_command(
            spec,
            &crate::cluster::address(cluster.address.as_deref()),
            output.as_deref(),
            *dry_run,
            cluster_output(cli.format, color),
        ),
        Command::Status {
            spec,
            cluster,
            wait,
        } => crate::cluster::status_command(
            spec,
            &crate::cluster::address(cluster.address.as_deref()),
            *wait,
            cluster_output(cli.format, color),
        ),
        Command::Schema {
            for_spec,
            bento,
            bentoml_home,
        } => schema(
            for_spec.as_deref(),
            bento.as_deref(),
            bentoml_home.as_deref(),
        ),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut command(), "bentoray", &mut std::io::stdout());
            EXIT_OK
        }
        Command::Lsp => crate::lsp::run_stdio(),
        Command::Rules | Command::Explain { .. }
            if matches!(cli.format, Format::Sarif | Format::Github) =>
        {
            eprintln!("bentoray: --format sarif and github apply to `check` and `build` only");
            EXIT_FAILURE
        }
        Command::Rules if cli.format == Format::Json => {
            let all: Vec<serde_json::Value> = rules::RULES.iter().map(|r| rule_json(r)).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&all).expect("rules serialize")
            );
            EXIT_OK
        }
        Command::Rules => {
            for r in rules::RULES {
                println!(
                    "{}  {:<26} {:<8} {}",
                    r.code,
                    r.name,
                    r.severity.as_str(),
                    r.summary
                );
            }
            EXIT_OK
        }
        Command::Explain { code } => match rules::find(code) {
            Some(r) if cli.format == Format::Json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rule_json(r)).expect("rule serializes")
                );
                EXIT_OK
            }
            Some(r) => {
                println!(
                    "{} ({}, {})\n\n{}\n\n{}",
                    r.code,
                    r.name,
                    r.severity.as_str(),
                    r.summary,
                    r.doc
                );
                EXIT_OK
            }
            None => {
                eprintln!("bentoray: unknown code `{code}`; `bentoray rules` lists them all");
                EXIT_FAILURE
            }
        },
    }
}

fn build(
    spec_path: &Path,
    output: &Path,
    check_only: bool,
    format: Format,
    color: bool,
    args: ReportArgs,
) -> u8 {
    let name = display(spec_path);
    let mut out = check::check_file(spec_path, &name);
    add_plan_diagnostics(&mut out, spec_path);
    out.stop_if_unbuildable();
    let CheckOutput {
        report: diags,
        checked,
    } = out;
    let code = exit_code(&diags, args.deny_warnings);
    render(std::slice::from_ref(&diags), format, color, args, false);
    let Some(checked) = checked else {
        eprintln!("bentoray: nothing written to {}", output.display());
        return code.max(EXIT_SPEC_ERRORS);
    };
    let plan = plan::lower(&checked, &plan::spec_name(spec_path));
    let files = emit::files(&plan);
    if let Err(e) =
        emit::write::refuse_to_overwrite_inputs(output, &files, spec_path, &checked.bento.path)
    {
        eprintln!("bentoray: {e}; nothing written");
        return EXIT_FAILURE;
    }
    if code != EXIT_OK {
        // `--deny-warnings` with warnings: fail before writing anything.
        eprintln!(
            "bentoray: nothing written to {} (--deny-warnings)",
            output.display()
        );
        return code;
    }
    if check_only {
        return check_output(output, &files, format, args);
    }
    match emit::write::write_atomically_retiring(output, &files, emit::OPTIONAL_FILES) {
        Ok(_) => {
            for f in &files {
                progress(
                    format,
                    args,
                    &format!("wrote {}", display(&output.join(&f.name))),
                );
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("bentoray: {e}; the directory was left as it was");
            EXIT_FAILURE
        }
    }
}

/// Adds the checks made on the lowered plan (`[kuberay]` capacity).
fn add_plan_diagnostics(out: &mut CheckOutput, spec_path: &Path) {
    plan::capacity::add_to(out, &plan::spec_name(spec_path));
}

/// `schema`: the generic schema, or the one specialised to the bento a
/// spec names (`--for`) or to `--bento`.
fn schema(for_spec: Option<&Path>, bento_arg: Option<&str>, bentoml_home: Option<&Path>) -> u8 {
    let bento = match (for_spec, bento_arg) {
        (None, None) => None,
        (Some(spec), _) => {
            let text = match crate::input::read_text(spec, crate::input::SPEC_CAP) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("bentoray: cannot read {}: {e}", display(spec));
                    return EXIT_FAILURE;
                }
            };
            // Only `bento` and `bentoml_home` matter; the rest may be
            // anything while it is being written.
            let root = match spec::spanned::parse(&text) {
                Ok(root) => root,
                Err(_) => {
                    eprintln!(
                        "bentoray: {} is not valid TOML; `bentoray check` shows where",
                        display(spec)
                    );
                    return EXIT_SPEC_ERRORS;
                }
            };
            let Some(value) = root.get("bento").and_then(|n| n.as_str()) else {
                eprintln!("bentoray: {} names no `bento`", display(spec));
                return EXIT_SPEC_ERRORS;
            };
            let spec_dir = spec.parent().unwrap_or(Path::new(""));
            let home = root.get("bentoml_home").and_then(|n| n.as_str());
            match load_bento(value, spec_dir, home) {
                Some(b) => Some(b),
                None => return EXIT_SPEC_ERRORS,
            }
        }
        (None, Some(value)) => {
            let home = bentoml_home.map(|h| h.to_string_lossy().into_owned());
            match load_bento(value, Path::new("."), home.as_deref()) {
                Some(b) => Some(b),
                None => return EXIT_SPEC_ERRORS,
            }
        }
    };
    let schema = match &bento {
        Some(b) => check::bento_schema::for_bento(b),
        None => spec::types::json_schema(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("schema serializes")
    );
    EXIT_OK
}

/// Loads a bento as a spec in `dir` naming `value` would, printing its
/// problems; `None` when it has errors.
fn load_bento(value: &str, dir: &Path, home: Option<&str>) -> Option<bento::Bento> {
    let store = bento::store_root(dir, home);
    let loaded = bento::load(value, dir, &store);
    let mut failed = loaded.bento.is_none();
    for problem in &loaded.problems {
        failed |= problem.rule.severity == Severity::Error;
        eprintln!(
            "bentoray: {} {}: {}",
            problem.rule.severity.as_str(),
            problem.rule.code,
            problem.message
        );
        if let Some(help) = &problem.help {
            eprintln!("  help: {help}");
        }
    }
    loaded.bento.filter(|_| !failed)
}

/// `plan`: checks the spec, then prints the plan's options with their
/// sources (stdout) after the diagnostics (stderr, or inside the JSON).
fn plan_command(spec_path: &Path, format: Format, color: bool, args: ReportArgs) -> u8 {
    if matches!(format, Format::Sarif | Format::Github) {
        eprintln!("bentoray: `plan` prints --format human or json");
        return EXIT_FAILURE;
    }
    let name = display(spec_path);
    let mut out = check::check_file(spec_path, &name);
    add_plan_diagnostics(&mut out, spec_path);
    let CheckOutput { report, checked } = out;
    let code = exit_code(&report, args.deny_warnings);
    let Some(checked) = checked.filter(|_| code == EXIT_OK) else {
        render(std::slice::from_ref(&report), format, color, args, false);
        return code.max(EXIT_SPEC_ERRORS);
    };
    let plan = plan::lower(&checked, &plan::spec_name(spec_path));
    match format {
        Format::Json => {
            let shown = if args.quiet { Vec::new() } else { vec![report] };
            let diagnostics = serde_json::from_str(&diagnostic::render_json(&shown))
                .unwrap_or(serde_json::Value::Array(Vec::new()));
            println!(
                "{}",
                serde_json::to_string_pretty(&plan_view::json(&plan, diagnostics))
                    .expect("plan serializes")
            );
        }
        _ => {
            render(std::slice::from_ref(&report), format, color, args, false);
            print!("{}", plan_view::human(&plan));
        }
    }
    EXIT_OK
}

/// `init`: loads the bento (paths relative to the working directory),
/// renders the starter spec with paths relative to the spec's directory,
/// checks it as `bentoray check` would, and writes it atomically.
fn init(
    bento_arg: Option<&str>,
    bentoml_home: Option<&Path>,
    output: &Path,
    force: bool,
    schema: &str,
) -> u8 {
    let cwd = Path::new(".");
    let value = match bento_arg {
        Some(v) => v.to_string(),
        None if cwd.join("bento.yaml").is_file() => ".".to_string(),
        None => {
            eprintln!(
                "bentoray: name the bento with --bento TAG|PATH (or run `bentoray init` inside a bento directory)"
            );
            return EXIT_FAILURE;
        }
    };
    if !force && std::fs::symlink_metadata(output).is_ok() {
        eprintln!(
            "bentoray: {} exists; pass --force to replace it",
            display(output)
        );
        return EXIT_FAILURE;
    }
    let home_text = bentoml_home.map(|h| h.to_string_lossy().into_owned());
    let Some(bento) = load_bento(&value, cwd, home_text.as_deref()) else {
        eprintln!("bentoray: nothing written to {}", display(output));
        return EXIT_SPEC_ERRORS;
    };
    let spec_dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => cwd,
    };
    if !spec_dir.is_dir() {
        eprintln!(
            "bentoray: {} is not a directory; nothing written",
            display(spec_dir)
        );
        return EXIT_FAILURE;
    }
    // Relative paths are rebased onto the spec's directory (which spec
    // paths are relative to); absolute ones stay as given.
    let relative = |path: &Path| {
        if path.is_absolute() {
            path.to_str().map(str::to_string)
        } else {
            relative_path(path, spec_dir)
        }
    };
    let bento_value = if bento::looks_like_path(&value) || value.ends_with(".bento") {
        match relative(Path::new(&value)) {
            Some(p) => p,
            None => return not_utf8(&value),
        }
    } else {
        value.clone()
    };
    let home_value = match bentoml_home.map(relative) {
        Some(Some(p)) => Some(p),
        Some(None) => return not_utf8(&home_text.unwrap_or_default()),
        None => None,
    };
    let text = crate::init::render(
        &bento,
        &crate::init::InitOptions {
            bento: bento_value,
            bentoml_home: home_value,
            schema: schema.to_string(),
        },
    );
    // What `bentoray check` will say about it, before it is written.
    let name = display(output);
    let checked = check::check_source(
        diagnostic::SourceFile::new(name.clone(), text.as_str()),
        spec_dir,
    );
    if checked.report.has_errors() {
        eprint!("{}", diagnostic::render_human(&checked.report, false));
        eprintln!("bentoray: internal error: the starter spec does not check; nothing written");
        return EXIT_FAILURE;
    }
    match emit::write::write_file(output, &text, force) {
        Ok(true) => {
            println!("wrote {name}");
            EXIT_OK
        }
        Ok(false) => {
            eprintln!("bentoray: {name} exists; pass --force to replace it");
            EXIT_FAILURE
        }
        Err(e) => {
            eprintln!("bentoray: {e}; nothing written");
            EXIT_FAILURE
        }
    }
}

fn not_utf8(path: &str) -> u8 {
    eprintln!("bentoray: {path} is not a UTF-8 path, which a spec cannot name");
    EXIT_FAILURE
}

/// `path` (relative to the working directory, or absolute) as a path
/// relative to `base` with `/` separators, starting with `./` or `../` so
/// that bentoray reads it as a path, not a tag. Lexical: symlinks are not
/// resolved, as bentoray resolves spec paths by joining them. `None` when
/// it is not UTF-8.
fn relative_path(path: &Path, base: &Path) -> Option<String> {
    use std::path::Component;
    fn normal(path: &Path) -> Vec<std::ffi::OsString> {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for c in absolute.components() {
            match c {
                Component::ParentDir => {
                    parts.pop();
                }
                Component::Normal(p) => parts.push(p.to_os_string()),
                Component::RootDir | Component::Prefix(_) => {
                    parts.push(c.as_os_str().to_os_string())
                }
                Component::CurDir => {}
            }
        }
        parts
    }
    let (target, base) = (normal(path), normal(base));
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        // Different roots (Windows drives): keep the absolute path.
        return path.to_str().map(|p| p.replace('\\', "/"));
    }
    let mut parts: Vec<&str> = vec![".."; base.len() - common];
    for part in &target[common..] {
        parts.push(part.to_str()?);
    }
    Some(match parts.first() {
        None => ".".to_string(),
        Some(&"..") => parts.join("/"),
        Some(_) => format!("./{}", parts.join("/")),
    })
}

/// `build --check`: whether the output directory is what the spec builds.
fn check_output(output: &Path, files: &[emit::OutputFile], format: Format, args: ReportArgs) -> u8 {
    let stale = emit::write::stale_files_retiring(output, files, emit::OPTIONAL_FILES);
    if stale.is_empty() {
        progress(format, args, &format!("{} is up to date", display(output)));
        return EXIT_OK;
    }
    for s in &stale {
        eprintln!("bentoray: {} {}", display(&output.join(&s.name)), s.why);
    }
    eprintln!(
        "bentoray: {} is not what the spec builds; run `bentoray build` without --check to update it",
        display(output)
    );
    EXIT_SPEC_ERRORS
}

/// A line about progress (`wrote …`): stdout for people, stderr with a
/// machine format (whose stdout is the report alone), nothing with `--quiet`.
fn progress(format: Format, args: ReportArgs, line: &str) {
    match (args.quiet, format) {
        (true, _) => {}
        (false, Format::Human) => println!("{line}"),
        (false, _) => eprintln!("{line}"),
    }
}

fn exit_code(report: &FileDiagnostics, deny_warnings: bool) -> u8 {
    if report
        .diagnostics
        .iter()
        .any(|d| d.rule.code == rules::UNREADABLE_SPEC.code)
    {
        EXIT_FAILURE
    } else if report.has_errors() || (deny_warnings && report.count(Severity::Warning) > 0) {
        EXIT_SPEC_ERRORS
    } else {
        EXIT_OK
    }
}

fn render(
    reports: &[FileDiagnostics],
    format: Format,
    color: bool,
    args: ReportArgs,
    summarize_clean: bool,
) {
    let errors_only: Vec<FileDiagnostics>;
    let shown = if args.quiet {
        errors_only = reports
            .iter()
            .map(|r| FileDiagnostics {
                file: r.file.clone(),
                diagnostics: r
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .cloned()
                    .collect(),
            })
            .collect();
        &errors_only
    } else {
        reports
    };
    match format {
        Format::Json => print!("{}", diagnostic::render_json(shown)),
        Format::Sarif => print!("{}", diagnostic::render::sarif::render_sarif(shown)),
        Format::Github => print!("{}", diagnostic::render::github::render_github(shown)),
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for (r, all) in shown.iter().zip(reports) {
                if r.diagnostics.is_empty() {
                    if summarize_clean && !args.quiet {
                        let _ = writeln!(err, "{}: ok", r.file.name);
                    }
                    continue;
                }
                let _ = write!(err, "{}", diagnostic::render_human(r, color));
                // The counts of everything found, shown or not.
                let _ = writeln!(err, "{}", diagnostic::summary_line(all));
            }
        }
    }
}

/// A path as the user wrote it; on Windows with `/` separators. (On Unix
/// `\\` is an ordinary file-name character and is kept.)
fn display(path: &Path) -> String {
    let text = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '\\' {
        text.replace('\\', "/")
    } else {
        text.into_owned()
    }
}

fn cluster_output(format: Format, color: bool) -> crate::cluster::Output {
    crate::cluster::Output {
        color,
        json: format == Format::Json,
    }
}

/// One rule for `rules`/`explain --format json`.
fn rule_json(r: &rules::Rule) -> serde_json::Value {
    serde_json::json!({
        "code": r.code,
        "name": r.name,
        "severity": r.severity.as_str(),
        "summary": r.summary,
        "doc": r.doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand has an example in `--help`, and every example is a
    /// command line bentoray accepts.
    #[test]
    fn every_subcommand_has_an_example_that_parses() {
        let cmd = command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            let examples = examples::LINES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, e)| *e)
                .unwrap_or_default();
            assert!(!examples.is_empty(), "`{name}` has no example");
            for line in examples {
                let words: Vec<&str> = line
                    .split(" > ")
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .collect();
                assert_eq!(words.get(1), Some(&name), "{line}");
                if let Err(e) = command().try_get_matches_from(&words) {
                    panic!("example `{line}` does not parse: {e}");
                }
            }
        }
        for (name, _) in examples::LINES {
            assert!(
                cmd.find_subcommand(name).is_some(),
                "examples for `{name}`, which is no subcommand"
            );
        }
    }
}
