fn main() -> std::process::ExitCode {
    bentoray::cli::main()
}
