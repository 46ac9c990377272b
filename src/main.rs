//! The one spindle binary: CLI, ApplicationMaster, TaskExecutor and embedded mini cluster.

fn main() {
    println!("spindle {}", env!("CARGO_PKG_VERSION"));
}
