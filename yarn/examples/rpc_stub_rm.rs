//! A stand-in ResourceManager scheduler port that serves only `registerApplicationMaster`, over the
//! `ipc` server with TOKEN authentication: a check that Hadoop's own Java client (AMRMClient) can
//! authenticate against the Rust server at each `hadoop.rpc.protection` level.
//!
//! ```text
//! cargo run -p yarn --example rpc_stub_rm -- --identifier-hex 0a0d... --password-hex 7672... \
//!     --user appattempt_..._000001 --protection privacy
//! ```
//! It prints its address, logs every call, and answers `allocate` and everything else with a
//! YarnException.

use std::sync::Arc;

use clap::Parser;
use prost::Message;
use yarn::ipc::{
    CallContext, Handler, HandlerFuture, InvalidToken, RemoteErrorKind, RemoteException, Server,
    TokenVerifier, VerifiedToken,
};
use yarn::sasl::{Cipher, Qop};

const AM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";

#[derive(Clone, PartialEq, prost::Message)]
struct Resource {
    #[prost(int64, optional, tag = "1")]
    memory: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    virtual_cores: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RegisterResponse {
    #[prost(message, optional, tag = "1")]
    maximum_capability: Option<Resource>,
    #[prost(string, optional, tag = "5")]
    queue: Option<String>,
}

#[derive(Parser)]
struct Args {
    /// The AMRMToken identifier this stub accepts, hex.
    #[arg(long)]
    identifier_hex: String,
    /// Its password, hex.
    #[arg(long)]
    password_hex: String,
    /// The token's user (the application attempt id).
    #[arg(long)]
    user: String,
    /// hadoop.rpc.protection offered.
    #[arg(long, default_value = "authentication")]
    protection: String,
    /// Offer only this cipher for privacy (3des, rc4, des, rc4-56, rc4-40).
    #[arg(long)]
    cipher: Option<String>,
}

struct OneToken {
    identifier: Vec<u8>,
    password: Vec<u8>,
    user: String,
}

impl TokenVerifier for OneToken {
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        if identifier != self.identifier {
            return Err(InvalidToken("unknown AMRMToken".into()));
        }
        Ok(VerifiedToken {
            password: self.password.clone(),
            user: self.user.clone(),
        })
    }
}

struct Scheduler;

impl Handler for Scheduler {
    fn call<'a>(
        &'a self,
        context: &'a CallContext,
        method: &'a str,
        _request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            println!(
                "call {method} from {} user={} auth={:?} qop={:?}",
                context.remote, context.user, context.auth, context.qop
            );
            match method {
                "registerApplicationMaster" => Ok(RegisterResponse {
                    maximum_capability: Some(Resource {
                        memory: Some(2048),
                        virtual_cores: Some(2),
                    }),
                    queue: Some("stub".into()),
                }
                .encode_to_vec()),
                other => Err(RemoteException::of_kind(
                    RemoteErrorKind::Yarn,
                    format!("{other} is not served by this stub"),
                )),
            }
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let server = Server::builder()
        .protocol(AM_PROTOCOL, Arc::new(Scheduler))
        .token_auth(Arc::new(OneToken {
            identifier: hex::decode(&args.identifier_hex)?,
            password: hex::decode(&args.password_hex)?,
            user: args.user,
        }))
        .protection(&Qop::parse_protection(&args.protection)?)
        .ciphers(&match &args.cipher {
            None => Cipher::ALL.to_vec(),
            Some(token) => vec![Cipher::from_token(token).ok_or("unknown cipher")?],
        })
        .bind("127.0.0.1:0")
        .await?;
    println!("listening {}", server.local_addr());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
