//! The spindle runtime: Flink-style resource management on YARN.
