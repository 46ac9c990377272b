//! The spindle runtime: Flink-style resource management on YARN.

pub mod cli;
pub mod config;
pub mod dispatcher;
pub mod job_master;
pub mod jobmanager;
pub mod jobspec;
pub mod resource_manager;
pub mod rpc;
pub mod task_executor;
pub mod web;
pub mod yarn_driver;
