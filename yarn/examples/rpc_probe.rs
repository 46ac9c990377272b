//! Calls `registerApplicationMaster` on a ResourceManager over Hadoop RPC with TOKEN authentication and
//! prints what came back: a check of the `ipc` and `sasl` modules against a real Hadoop RPC server.
//!
//! ```text
//! cargo run -p yarn --example rpc_probe -- --address 127.0.0.1:8030 \
//!     --identifier-hex 0a0d... --password-hex 7672... --protection privacy
//! ```
//! (The conformance peer's ready line gives the address and the AMRMToken.) Calling twice also checks
//! the RM's answer to a second registration.

use std::time::Duration;

use clap::Parser;
use yarn::ipc::{Auth, AuthToken, Client, ClientConfig};
use yarn::sasl::Qop;

const AM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";

/// The fields of RegisterApplicationMasterRequestProto this probe sends (Hadoop's field numbers).
#[derive(Clone, PartialEq, prost::Message)]
struct RegisterRequest {
    #[prost(string, optional, tag = "1")]
    host: Option<String>,
    #[prost(int32, optional, tag = "2")]
    rpc_port: Option<i32>,
    #[prost(string, optional, tag = "3")]
    tracking_url: Option<String>,
}

/// ResourceProto's memory and vcores.
#[derive(Clone, PartialEq, prost::Message)]
struct Resource {
    #[prost(int64, optional, tag = "1")]
    memory: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    virtual_cores: Option<i32>,
}

/// The parts of RegisterApplicationMasterResponseProto this probe prints.
#[derive(Clone, PartialEq, prost::Message)]
struct RegisterResponse {
    #[prost(message, optional, tag = "1")]
    maximum_capability: Option<Resource>,
    #[prost(string, optional, tag = "5")]
    queue: Option<String>,
}

#[derive(Parser)]
struct Args {
    /// The RM scheduler address, host:port.
    #[arg(long)]
    address: String,
    /// The AMRMToken identifier, hex.
    #[arg(long)]
    identifier_hex: String,
    /// The AMRMToken password, hex.
    #[arg(long)]
    password_hex: String,
    /// hadoop.rpc.protection for the client: authentication, integrity or privacy.
    #[arg(long, default_value = "authentication")]
    protection: String,
    /// How many times to call registerApplicationMaster.
    #[arg(long, default_value_t = 2)]
    calls: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let token = AuthToken::new(
        hex::decode(&args.identifier_hex)?,
        hex::decode(&args.password_hex)?,
    );
    let mut config = ClientConfig::new(&args.address, AM_PROTOCOL, Auth::Token(token));
    config.protection = Qop::parse_protection(&args.protection)?;
    config.call_timeout = Duration::from_secs(30);
    let client = Client::new(config);
    let request = RegisterRequest {
        host: Some("localhost".into()),
        rpc_port: Some(-1),
        tracking_url: Some(String::new()),
    };
    for n in 1..=args.calls {
        match client
            .call::<_, RegisterResponse>("registerApplicationMaster", &request)
            .await
        {
            Ok(response) => println!("call {n}: ok {response:?}"),
            Err(e) => println!("call {n}: error kind={:?}: {e}", e.remote_kind()),
        }
    }
    Ok(())
}
