//! A small protocol served by the RPC server in the ipc tests: echo, who-am-I, failures on demand, and
//! a gate that holds a call until another call opens it (to observe out-of-order answers).

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use yarn::ipc::{
    CallContext, Handler, HandlerFuture, InvalidToken, RemoteErrorKind, RemoteException,
    TokenVerifier, VerifiedToken, decode_request,
};

pub const PROTOCOL: &str = "org.example.TestProtocolPB";

#[derive(Clone, PartialEq, prost::Message)]
pub struct TextProto {
    #[prost(string, optional, tag = "1")]
    pub text: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoProto {
    #[prost(string, optional, tag = "1")]
    pub user: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub identifier: Option<Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    pub qop: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub token: Option<bool>,
}

pub fn text(s: &str) -> TextProto {
    TextProto {
        text: Some(s.to_string()),
    }
}

/// The service: `echo`, `whoami`, `fail` (text = the Java class), `hold` (waits for `open`), `open`.
pub struct TestService {
    gate: Semaphore,
}

impl TestService {
    pub fn new() -> Arc<TestService> {
        Arc::new(TestService {
            gate: Semaphore::new(0),
        })
    }
}

impl Handler for TestService {
    fn call<'a>(
        &'a self,
        context: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            use prost::Message;
            match method {
                "echo" => {
                    let req: TextProto = decode_request(method, request)?;
                    Ok(req.encode_to_vec())
                }
                "whoami" => Ok(WhoProto {
                    user: Some(context.user.clone()),
                    identifier: context.token_identifier.clone(),
                    qop: context.qop.map(|q| q.as_str().to_string()),
                    token: Some(context.auth == yarn::ipc::AuthMethod::Token),
                }
                .encode_to_vec()),
                "fail" => {
                    let req: TextProto = decode_request(method, request)?;
                    Err(RemoteException::new(
                        req.text.unwrap_or_default(),
                        "failing on purpose\n\tat Test.fail(Test.java:1)",
                    ))
                }
                "yarn" => Err(RemoteException::of_kind(
                    RemoteErrorKind::ApplicationMasterNotRegistered,
                    "register first",
                )),
                "hold" => {
                    self.gate
                        .acquire()
                        .await
                        .expect("the gate is never closed")
                        .forget();
                    Ok(text("released").encode_to_vec())
                }
                "panic" => panic!("a handler bug"),
                "open" => {
                    self.gate.add_permits(1);
                    Ok(text("opened").encode_to_vec())
                }
                other => Err(RemoteException::no_such_method(&context.protocol, other)),
            }
        })
    }
}

/// Tokens by identifier: password and user.
pub struct Tokens(pub HashMap<Vec<u8>, (Vec<u8>, String)>);

impl TokenVerifier for Tokens {
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        self.0
            .get(identifier)
            .map(|(password, user)| VerifiedToken {
                password: password.clone(),
                user: user.clone(),
            })
            .ok_or_else(|| InvalidToken("appattempt token with unknown master key".into()))
    }
}

pub fn tokens() -> Arc<Tokens> {
    let mut map = HashMap::new();
    map.insert(
        b"ident-1".to_vec(),
        (
            b"password-1".to_vec(),
            "appattempt_1_0001_000001".to_string(),
        ),
    );
    map.insert(
        b"ident-2".to_vec(),
        (
            b"password-2".to_vec(),
            "appattempt_1_0001_000001".to_string(),
        ),
    );
    Arc::new(Tokens(map))
}
