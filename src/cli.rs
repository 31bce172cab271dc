//! Stage 6: the command line. Parses arguments, runs the pipeline, renders
//! diagnostics and maps outcomes to exit codes:
//! 0 no errors (warnings allowed), 1 errors in a spec, 2 usage, I/O or
//! internal error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::{self, CheckOutput};
use crate::diagnostic::{self, FileDiagnostics, rules};
use crate::{emit, plan, spec};

pub const EXIT_OK: u8 = 0;
pub const EXIT_SPEC_ERRORS: u8 = 1;
pub const EXIT_FAILURE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "bentoray",
    version,
    about = "Compile a bentoray.toml into a validated Ray Serve config and entrypoint for a BentoML bento",
    after_help = "Exit codes: 0 no errors (warnings allowed), 1 errors in a spec, 2 usage, I/O or internal error."
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
    Check {
        /// Spec files to check.
        #[arg(default_value = "bentoray.toml")]
        specs: Vec<PathBuf>,
    },
    /// Check a spec, then write serve.yaml and the Python entrypoint.
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
    },
    /// Print the JSON Schema (draft-07) of bentoray.toml.
    Schema,
    /// List every diagnostic code.
    Rules,
    /// Explain a diagnostic code, e.g. `bentoray explain BR102`.
    Explain {
        /// A code (BR102) or rule name (unknown-runner).
        code: String,
    },
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
}

/// Entry point used by `main`; never panics outward.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
        Command::Check { specs } => {
            let mut worst = EXIT_OK;
            let mut reports = Vec::new();
            for path in specs {
                let out = check::check_file(path, &display(path));
                worst = worst.max(exit_code(&out.report));
                reports.push(out.report);
            }
            report(&reports, cli.format, color, true);
            worst
        }
        Command::Build {
            spec,
            output,
            check,
        } => build(spec, output, *check, cli.format, color),
        Command::Schema => {
            let schema = spec::types::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema serializes")
            );
            EXIT_OK
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

fn build(spec_path: &Path, output: &Path, check_only: bool, format: Format, color: bool) -> u8 {
    let name = display(spec_path);
    let CheckOutput {
        report: mut diags,
        mut checked,
    } = check::check_file(spec_path, &name);
    if let Some(blocker) = checked.as_ref().and_then(check::build_blocker) {
        diags.diagnostics.push(blocker);
        checked = None;
    }
    let code = exit_code(&diags);
    report(std::slice::from_ref(&diags), format, color, false);
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
    if check_only {
        return check_output(output, &files, format);
    }
    match emit::write::write_atomically(output, &files) {
        Ok(_) => {
            for f in &files {
                let line = format!("wrote {}", display(&output.join(&f.name)));
                // With `--format json`, stdout is the JSON array alone.
                match format {
                    Format::Human => println!("{line}"),
                    Format::Json => eprintln!("{line}"),
                }
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("bentoray: {e}; the directory was left as it was");
            EXIT_FAILURE
        }
    }
}

/// `build --check`: whether the output directory is what the spec builds.
fn check_output(output: &Path, files: &[emit::OutputFile], format: Format) -> u8 {
    let stale = emit::write::stale_files(output, files);
    if stale.is_empty() {
        let line = format!("{} is up to date", display(output));
        // With `--format json`, stdout is the JSON array alone.
        match format {
            Format::Human => println!("{line}"),
            Format::Json => eprintln!("{line}"),
        }
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

fn exit_code(report: &FileDiagnostics) -> u8 {
    if report
        .diagnostics
        .iter()
        .any(|d| d.rule.code == rules::UNREADABLE_SPEC.code)
    {
        EXIT_FAILURE
    } else if report.has_errors() {
        EXIT_SPEC_ERRORS
    } else {
        EXIT_OK
    }
}

fn report(reports: &[FileDiagnostics], format: Format, color: bool, summarize_clean: bool) {
    match format {
        Format::Json => print!("{}", diagnostic::render_json(reports)),
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for r in reports {
                if r.diagnostics.is_empty() {
                    if summarize_clean {
                        let _ = writeln!(err, "{}: ok", r.file.name);
                    }
                    continue;
                }
                let _ = write!(err, "{}", diagnostic::render_human(r, color));
                let _ = writeln!(err, "{}", diagnostic::summary_line(r));
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
