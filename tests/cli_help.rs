//! `--help` and shell completions: every command is listed with an example,
//! and the completion scripts complete bentoray's commands in real shells.

mod common;

use std::process::Command;

use common::{bentoray_ok, root};

const COMMANDS: &[&str] = &[
    "check",
    "build",
    "plan",
    "init",
    "schema",
    "rules",
    "explain",
    "lsp",
    "completions",
];

fn stdout(args: &[&str]) -> String {
    String::from_utf8(bentoray_ok(args, &root()).stdout).unwrap()
}

#[test]
fn help_lists_every_command_with_an_example() {
    let top = stdout(&["--help"]);
    for name in COMMANDS {
        assert!(
            top.lines().any(|l| l.trim_start().starts_with(name)),
            "`bentoray --help` does not list `{name}`:\n{top}"
        );
        assert!(
            top.contains(&format!("  bentoray {name}")),
            "`bentoray --help` has no example of `{name}`:\n{top}"
        );
        let sub = stdout(&[name, "--help"]);
        let examples = sub
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("`bentoray {name} --help` has no examples:\n{sub}"))
            .1;
        assert!(
            examples.starts_with(&format!("  bentoray {name}")),
            "`bentoray {name} --help`'s examples are not of `{name}`:\n{sub}"
        );
    }
}

/// Whether `shell` runs here; otherwise says the test part is skipped.
fn shell(name: &str, test: &str) -> bool {
    let ok = Command::new(name)
        .args(["-c", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test} ({name} part): {name} not found on PATH"
        );
    }
    ok
}

fn completion_script(shell: &str) -> tempfile::NamedTempFile {
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), stdout(&["completions", shell])).unwrap();
    script
}

fn run(shell: &str, args: &[&str]) -> String {
    let out = Command::new(shell).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{shell} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// bash: the script completes `bentoray b` to `build` and `bentoray
/// completions ` to the shells, through the function it registers.
#[test]
fn bash_completes_commands_and_shells() {
    if !shell("bash", "bash_completes_commands_and_shells") {
        return;
    }
    let script = completion_script("bash");
    let complete = |words: &str| {
        let program = format!(
            "source {path}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _bentoray bentoray \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path = script.path().display()
        );
        run("bash", &["-c", &program])
    };
    assert_eq!(complete("bentoray b").trim(), "build");
    let all = complete("bentoray ''");
    for name in COMMANDS {
        assert!(all.lines().any(|l| l == *name), "no `{name}` in:\n{all}");
    }
    let shells = complete("bentoray completions ''");
    for s in ["bash", "zsh", "fish"] {
        assert!(shells.lines().any(|l| l == s), "no `{s}` in:\n{shells}");
    }
}

/// fish: `complete -C` asks fish itself what it would offer.
#[test]
fn fish_completes_commands_and_options() {
    if !shell("fish", "fish_completes_commands_and_options") {
        return;
    }
    let script = completion_script("fish");
    let complete = |line: &str| {
        run(
            "fish",
            &[
                "-c",
                &format!("source {}; complete -C '{line}'", script.path().display()),
            ],
        )
    };
    let first: Vec<String> = complete("bentoray b")
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(first, ["build"]);
    let options = complete("bentoray build --");
    assert!(options.contains("--check"), "{options}");
}

/// zsh: the script is valid zsh (`zsh -n`), defines `_bentoray` when
/// sourced after compinit, and names every command.
#[test]
fn zsh_script_defines_the_completion_function() {
    if !shell("zsh", "zsh_script_defines_the_completion_function") {
        return;
    }
    let script = completion_script("zsh");
    run("zsh", &["-n", script.path().to_str().unwrap()]);
    let defined = run(
        "zsh",
        &[
            "-c",
            &format!(
                "autoload -Uz compinit && compinit -u -D; source {}; whence -w _bentoray",
                script.path().display()
            ),
        ],
    );
    assert_eq!(defined.trim(), "_bentoray: function");
    let text = std::fs::read_to_string(script.path()).unwrap();
    for name in COMMANDS {
        assert!(
            text.contains(&format!("'{name}:")),
            "zsh script lacks `{name}`"
        );
    }
}
