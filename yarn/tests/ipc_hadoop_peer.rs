//! Interoperability with Hadoop's own RPC code (Apache Hadoop 3.5.0 via ../shared/conformance beside the repository, or $SPINDLE_SHARED/conformance):
//! the Rust client against Hadoop's RPC server, and Hadoop's AMRMClient against the Rust server, at
//! every `hadoop.rpc.protection` level. Needs a JDK and the downloaded Hadoop jars, so ignored by
//! default: `cargo test -p yarn --test ipc_hadoop_peer -- --ignored`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use prost::Message;
use yarn::ipc::{
    Auth, AuthToken, CallContext, Client, ClientConfig, Handler, HandlerFuture, InvalidToken,
    RemoteErrorKind, RemoteException, Server, TokenVerifier, VerifiedToken,
};
use yarn::sasl::{Cipher, Qop};

/// The Hadoop peer's folder: `$SPINDLE_SHARED/conformance`, else `../shared/conformance` beside the
/// repository.
fn conformance() -> String {
    match std::env::var("SPINDLE_SHARED") {
        Ok(shared) => format!("{shared}/conformance"),
        Err(_) => format!("{}/../../shared/conformance", env!("CARGO_MANIFEST_DIR")),
    }
}
const AM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";

use yarn::proto::hadoop::yarn::{
    RegisterApplicationMasterRequestProto as RegisterRequest,
    RegisterApplicationMasterResponseProto as RegisterResponse, ResourceProto,
};

fn classpath() -> String {
    let out = Command::new(format!("{}/build.sh", conformance()))
        .output()
        .expect("running the conformance build.sh");
    assert!(out.status.success(), "build.sh failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The Hadoop peer (fake RM + NM on Hadoop's RPC server), killed on drop.
struct Peer {
    child: Child,
    ready: serde_json::Value,
    _dir: PathGuard,
}

struct PathGuard(std::path::PathBuf);

impl Drop for PathGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_peer(protection: &str) -> Peer {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "spindle-ipc-peer-{protection}-{}-{n}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new("java")
        .args(["-cp", &classpath(), "YarnRpcPeer", "--work-dir"])
        .arg(&dir)
        .args(["--rpc-protection", protection])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting java");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = loop {
        let line = lines
            .next()
            .expect("the peer printed its ready line")
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        if value["event"] == "ready" {
            break value;
        }
    };
    // Keep draining the peer's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Peer {
        child,
        ready,
        _dir: PathGuard(dir),
    }
}

fn hex_field(peer: &Peer, name: &str) -> Vec<u8> {
    hex::decode(peer.ready["amrmToken"][name].as_str().unwrap()).unwrap()
}

#[tokio::test]
#[ignore = "needs a JDK and the Hadoop jars of ../shared/conformance"]
async fn rust_client_registers_with_hadoops_rpc_server() {
    for protection in ["authentication", "integrity", "privacy"] {
        let peer = start_peer(protection);
        let mut config = ClientConfig::new(
            peer.ready["rmAddress"].as_str().unwrap(),
            AM_PROTOCOL,
            Auth::Token(AuthToken::new(
                hex_field(&peer, "identifierHex"),
                hex_field(&peer, "passwordHex"),
            )),
        );
        config.protection = Qop::parse_protection(protection).unwrap();
        let client = Client::new(config);
        let request = RegisterRequest {
            host: Some("localhost".into()),
            rpc_port: Some(-1),
            tracking_url: Some(String::new()),
            ..Default::default()
        };
        let response: RegisterResponse = client
            .call("registerApplicationMaster", &request)
            .await
            .unwrap_or_else(|e| panic!("{protection}: {e}"));
        assert_eq!(response.queue.as_deref(), Some("default"), "{protection}");
        assert!(response.maximum_capability.unwrap().memory.unwrap() > 0);
        let again = client
            .call::<_, RegisterResponse>("registerApplicationMaster", &request)
            .await
            .unwrap_err();
        assert_eq!(
            again.remote_kind(),
            Some(RemoteErrorKind::InvalidApplicationMasterRequest),
            "{protection}: {again}"
        );
        // A wrong password is refused by Hadoop's SASL server.
        let wrong = Client::new(ClientConfig::new(
            peer.ready["rmAddress"].as_str().unwrap(),
            AM_PROTOCOL,
            Auth::Token(AuthToken::new(
                hex_field(&peer, "identifierHex"),
                b"nope".to_vec(),
            )),
        ));
        let err = wrong
            .call::<_, RegisterResponse>("registerApplicationMaster", &request)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("SaslException"), "{err}");
    }
}

struct OneToken(Vec<u8>, Vec<u8>, String);

impl TokenVerifier for OneToken {
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        if identifier != self.0 {
            return Err(InvalidToken("unknown AMRMToken".into()));
        }
        Ok(VerifiedToken {
            password: self.1.clone(),
            user: self.2.clone(),
        })
    }
}

struct RegisterOnly;

impl Handler for RegisterOnly {
    fn call<'a>(
        &'a self,
        _context: &'a CallContext,
        method: &'a str,
        _request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            match method {
                "registerApplicationMaster" => Ok(RegisterResponse {
                    maximum_capability: Some(ResourceProto {
                        memory: Some(2048),
                        virtual_cores: Some(2),
                        ..Default::default()
                    }),
                    queue: Some("rust-server".into()),
                    ..Default::default()
                }
                .encode_to_vec()),
                other => Err(RemoteException::of_kind(
                    RemoteErrorKind::Yarn,
                    format!("{other} is not served here"),
                )),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a JDK and the Hadoop jars of ../shared/conformance"]
async fn hadoops_amrm_client_registers_with_the_rust_server() {
    // The peer supplies a token file in Hadoop's format; the Rust server accepts that token.
    let peer = start_peer("authentication");
    let token_file = peer.ready["tokenFile"].as_str().unwrap().to_string();
    let cases = [
        ("authentication", Cipher::ALL.to_vec()),
        ("integrity", Cipher::ALL.to_vec()),
        ("privacy", Cipher::ALL.to_vec()),
        ("privacy", vec![Cipher::Rc4]),
        ("privacy", vec![Cipher::Des]),
    ];
    for (protection, ciphers) in cases {
        let server = Server::builder()
            .protocol(AM_PROTOCOL, Arc::new(RegisterOnly))
            .token_auth(Arc::new(OneToken(
                hex_field(&peer, "identifierHex"),
                hex_field(&peer, "passwordHex"),
                peer.ready["applicationAttemptId"].as_str().unwrap().into(),
            )))
            .protection(&Qop::parse_protection(protection).unwrap())
            .ciphers(&ciphers)
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let address = server.local_addr().to_string();
        let output = tokio::task::spawn_blocking({
            let token_file = token_file.clone();
            move || {
                Command::new("java")
                    .args([
                        "-cp",
                        &classpath(),
                        &format!("-Dhadoop.rpc.protection={protection}"),
                        "HadoopAmClient",
                        &address,
                        "1",
                    ])
                    .env("HADOOP_TOKEN_FILE_LOCATION", token_file)
                    .output()
                    .expect("running java")
            }
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout
                .contains("registered; max capability <memory:2048, vCores:2>, queue rust-server"),
            "{protection} {ciphers:?}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
