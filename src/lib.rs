//! The spindle runtime: Flink-style resource management on YARN.

pub mod rpc;
pub mod task_executor;
