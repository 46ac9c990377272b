//! The AM client against a scripted ResourceManager on the crate's own RPC server: what it sends on
//! the wire (asks once, releases once, the responseId echoed), how it follows an AMRMToken
//! roll-over, and how it re-registers with its whole ask table after the RM lost the attempt.

use std::sync::{Arc, Mutex};

use prost::Message;
use yarn::amrm::{AmRmClient, ContainerRequest};
use yarn::credentials::{AMRM_TOKEN_KIND, Token};
use yarn::ipc::{
    CallContext, Handler, HandlerFuture, InvalidToken, RemoteErrorKind, RemoteException, Server,
    TokenVerifier, VerifiedToken, decode_request,
};
use yarn::proto::hadoop::common::TokenProto;
use yarn::proto::hadoop::yarn::{
    AllocateRequestProto, AllocateResponseProto, ApplicationAttemptIdProto, ApplicationIdProto,
    ContainerIdProto, ContainerProto, FinalApplicationStatusProto,
    FinishApplicationMasterResponseProto, NodeIdProto, PriorityProto,
    RegisterApplicationMasterRequestProto, RegisterApplicationMasterResponseProto, ResourceProto,
};
use yarn::records::Resource;

const OLD_ID: &[u8] = b"amrm-identifier-1";
const NEW_ID: &[u8] = b"amrm-identifier-2";
const ATTEMPT: &str = "appattempt_1700000000000_0001_000001";

fn password(identifier: &[u8]) -> Vec<u8> {
    identifier.iter().rev().copied().collect()
}

fn token(identifier: &[u8]) -> Token {
    Token::new(
        identifier.to_vec(),
        password(identifier),
        AMRM_TOKEN_KIND,
        "",
    )
}

/// Accepts both AMRMTokens; the identifier used is visible to the handler.
struct Verifier;

impl TokenVerifier for Verifier {
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken> {
        if identifier == OLD_ID || identifier == NEW_ID {
            Ok(VerifiedToken {
                password: password(identifier),
                user: ATTEMPT.into(),
            })
        } else {
            Err(InvalidToken("unknown AMRMToken".into()))
        }
    }
}

#[derive(Default)]
struct Script {
    /// Every allocate request received, with the token identifier its connection used.
    allocates: Vec<(Vec<u8>, AllocateRequestProto)>,
    registrations: u32,
    /// Answer the next allocate with ApplicationMasterNotRegisteredException.
    forget_registration: bool,
    last_response_id: i32,
}

struct Rm(Arc<Mutex<Script>>);

fn container(seq: i64, priority: i32) -> ContainerProto {
    let app = ApplicationIdProto {
        id: Some(1),
        cluster_timestamp: Some(1_700_000_000_000),
    };
    ContainerProto {
        id: Some(ContainerIdProto {
            app_id: None,
            app_attempt_id: Some(ApplicationAttemptIdProto {
                application_id: Some(app),
                attempt_id: Some(1),
            }),
            id: Some(seq),
        }),
        node_id: Some(NodeIdProto {
            host: Some("node-1".into()),
            port: Some(45454),
        }),
        resource: Some(ResourceProto {
            memory: Some(1024),
            virtual_cores: Some(1),
            ..Default::default()
        }),
        priority: Some(PriorityProto {
            priority: Some(priority),
        }),
        ..Default::default()
    }
}

impl Handler for Rm {
    fn call<'a>(
        &'a self,
        context: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        Box::pin(async move {
            let mut script = self.0.lock().unwrap();
            match method {
                "registerApplicationMaster" => {
                    let _: RegisterApplicationMasterRequestProto = decode_request(method, request)?;
                    script.registrations += 1;
                    script.last_response_id = 0;
                    Ok(RegisterApplicationMasterResponseProto {
                        maximum_capability: Some(ResourceProto {
                            memory: Some(8192),
                            virtual_cores: Some(8),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                    .encode_to_vec())
                }
                "allocate" => {
                    let req: AllocateRequestProto = decode_request(method, request)?;
                    if script.forget_registration {
                        script.forget_registration = false;
                        return Err(RemoteException::of_kind(
                            RemoteErrorKind::ApplicationMasterNotRegistered,
                            "AM is not registered for known application attempt",
                        ));
                    }
                    let n = script.allocates.len();
                    let identifier = context.token_identifier.clone().unwrap_or_default();
                    script.allocates.push((identifier, req));
                    script.last_response_id += 1;
                    let mut response = AllocateResponseProto {
                        response_id: Some(script.last_response_id),
                        ..Default::default()
                    };
                    match n {
                        // The RM rolls its master key: a new AMRMToken.
                        0 => {
                            response.am_rm_token = Some(TokenProto {
                                identifier: NEW_ID.to_vec(),
                                password: password(NEW_ID),
                                kind: AMRM_TOKEN_KIND.into(),
                                service: String::new(),
                            })
                        }
                        // Two containers for one ask: the second is surplus.
                        1 => response.allocated_containers = vec![container(2, 1), container(3, 1)],
                        _ => {}
                    }
                    Ok(response.encode_to_vec())
                }
                "finishApplicationMaster" => Ok(FinishApplicationMasterResponseProto {
                    is_unregistered: Some(true),
                }
                .encode_to_vec()),
                other => Err(RemoteException::no_such_method(&context.protocol, other)),
            }
        })
    }
}

async fn start() -> (Server, Arc<Mutex<Script>>) {
    let script = Arc::new(Mutex::new(Script::default()));
    let server = Server::builder()
        .protocol(yarn::amrm::PROTOCOL, Arc::new(Rm(script.clone())))
        .token_auth(Arc::new(Verifier))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    (server, script)
}

fn asked(request: &AllocateRequestProto) -> Vec<(i32, i32)> {
    request
        .ask
        .iter()
        .map(|a| {
            (
                a.priority.unwrap().priority.unwrap(),
                a.num_containers.unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn asks_releases_response_ids_and_token_roll_over_on_the_wire() {
    let (server, script) = start().await;
    let mut am = AmRmClient::new(server.local_addr().to_string(), token(OLD_ID), vec![]);
    am.register("localhost", -1, "").await.unwrap();
    am.add_request(&ContainerRequest::new(1, Resource::new(1024, 1)))
        .unwrap();

    // 1: the ask goes out once; the RM answers with a rolled AMRMToken.
    let first = am.allocate(0.0).await.unwrap();
    assert!(first.allocated.is_empty());
    // The current connection stays authenticated; the next one must use the new token.
    server.close_connections();

    // 2: nothing new to ask; two containers arrive for the one ask.
    let second = am.allocate(0.1).await.unwrap();
    assert_eq!(second.allocated.len(), 1, "one container matched the ask");
    assert_eq!(second.surplus.len(), 1, "the other is surplus");

    // 3: the surplus container is released, once; no stale ask is re-sent.
    am.allocate(0.2).await.unwrap();
    am.allocate(0.3).await.unwrap();
    am.finish(FinalApplicationStatusProto::AppSucceeded, "done", "")
        .await
        .unwrap();

    let script = script.lock().unwrap();
    let allocates = &script.allocates;
    assert_eq!(allocates.len(), 4);
    assert_eq!(asked(&allocates[0].1), vec![(1, 1)]);
    assert!(
        allocates[1..].iter().all(|(_, r)| r.ask.is_empty()),
        "asks are sent once"
    );
    let released: Vec<i64> = allocates[2]
        .1
        .release
        .iter()
        .map(|c| c.id.unwrap())
        .collect();
    assert_eq!(
        released,
        vec![3],
        "the surplus container is released on the next allocate"
    );
    assert!(allocates[3].1.release.is_empty(), "a release is sent once");
    let ids: Vec<i32> = allocates
        .iter()
        .map(|(_, r)| r.response_id.unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![0, 1, 2, 3],
        "each allocate echoes the last responseId"
    );
    assert_eq!(allocates[0].0, OLD_ID);
    assert_eq!(
        allocates[1].0, NEW_ID,
        "a new connection uses the rolled AMRMToken"
    );
}

#[tokio::test]
async fn a_lost_registration_is_renewed_with_the_whole_ask_table() {
    let (server, script) = start().await;
    let mut am = AmRmClient::new(server.local_addr().to_string(), token(OLD_ID), vec![]);
    am.register("localhost", -1, "").await.unwrap();
    let request = ContainerRequest::new(1, Resource::new(1024, 1));
    am.add_request(&request).unwrap();
    am.add_request(&request).unwrap();
    am.allocate(0.0).await.unwrap();

    script.lock().unwrap().forget_registration = true;
    am.allocate(0.0).await.unwrap();

    let script = script.lock().unwrap();
    assert_eq!(script.registrations, 2, "registered again");
    let (_, resent) = script.allocates.last().unwrap();
    assert_eq!(
        resent.response_id,
        Some(0),
        "a new registration starts at responseId 0"
    );
    assert_eq!(
        asked(resent),
        vec![(1, 2)],
        "the whole outstanding table is sent again, though nothing changed since it was sent"
    );
}
