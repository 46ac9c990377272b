//! The one spindle binary and its roles: the CLI on the user's machine, the ApplicationMaster and the
//! TaskExecutors in YARN containers, and the embedded mini cluster.
//!
//! Each role's arguments and entry point live in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "spindle",
    version,
    about = "Flink-style resource management on Apache Hadoop YARN"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Starts a session cluster on YARN (or attaches to, queries or stops one), with Flink's flags.
    YarnSession(spindle::cli::args::YarnSessionArgs),
}

fn main() -> ExitCode {
    let argv = spindle::cli::args::rewrite_flink_short_flags(std::env::args_os());
    let cli = Cli::parse_from(argv);
    match cli.command {
        Command::YarnSession(args) => spindle::cli::run_yarn_session(args),
    }
}
