//! Hadoop RPC v9.
