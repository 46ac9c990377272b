//! The spindle runtime: Flink-style resource management on YARN.

pub mod config;
pub mod resource_manager;
