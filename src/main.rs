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
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
