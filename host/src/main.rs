//! The `chorus` command: speak, list plugins and voices, serve.

fn main() -> std::process::ExitCode {
    chorus_host::cli::main()
}
