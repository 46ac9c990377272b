//! Apache Hadoop YARN's wire protocols, in Rust, and an embedded one-machine YARN.
//!
//! Nothing here knows about slots or jobs: this crate is usable by any Rust program that needs to be a
//! YARN client, an ApplicationMaster, or a stand-in YARN for tests.
//!
//! - [`ipc`]: Hadoop RPC v9 framing, client and server connections.
//! - [`sasl`]: SASL DIGEST-MD5 for token authentication, with the three `hadoop.rpc.protection` levels.
//! - [`proto`]: the generated protobuf records (from `proto/`, Hadoop's field numbers).
//! - [`records`]: idiomatic ids, resources and statuses with YARN's string forms.
//! - [`credentials`]: the token file (`HDTS`, versions 0 and 1).
//! - [`conf`]: Hadoop `*-site.xml` configuration.
//! - [`amrm`], [`nm`]: the ApplicationMaster and NodeManager clients.
//! - [`rest`], [`webhdfs`]: the ResourceManager REST and WebHDFS clients.

pub mod ipc;
pub mod sasl;

pub mod proto {
    //! Protobuf records generated from the project's `.proto` files.
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

pub mod conf;
pub mod credentials;
pub mod mini;
pub mod records;

pub mod amrm;
pub mod nm;

pub mod rest;
pub mod webhdfs;
