//! The spindle runtime: Flink-style resource management on YARN.

pub mod config;
pub mod job_master;
pub mod jobspec;
pub mod resource_manager;
pub mod rpc;
pub mod task_executor;
