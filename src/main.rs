//! The `pagecast` binary: parse arguments, run the command, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    pagecast::commands::init_logging();
    let cli = pagecast::cli::Cli::parse();
    let code = pagecast::commands::dispatch(cli);
    std::process::ExitCode::from(code.code())
}
