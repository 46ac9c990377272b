//! The RPC server against malformed and hostile input: each case gets Hadoop's reply or a close, and
//! the server goes on serving proper clients afterwards.

mod ipc_support;

use ipc_support::{PROTOCOL, TestService, TextProto, text, tokens};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yarn::ipc::frame::{
    self, AUTH_NONE, AUTH_SASL, FrameBuilder, MAX_FRAME_LEN, call_id, decode_part, read_frame,
    split_delimited,
};
use yarn::ipc::{Auth, AuthToken, Client, ClientConfig, HTTP_RESPONSE, Server};
use yarn::proto::hadoop::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use yarn::proto::hadoop::common::rpc_sasl_proto::{SaslAuth, SaslState};
use yarn::proto::hadoop::common::{
    IpcConnectionContextProto, RequestHeaderProto, RpcResponseHeaderProto, RpcSaslProto,
};
use yarn::sasl::{DigestMd5Client, Qop};

async fn server() -> Server {
    Server::builder()
        .protocol(PROTOCOL, TestService::new())
        .token_auth(tokens())
        .protection(&[Qop::AuthInt])
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

async fn still_serving(server: &Server) {
    let mut config = ClientConfig::new(
        server.local_addr().to_string(),
        PROTOCOL,
        Auth::Token(AuthToken::new(b"ident-1".to_vec(), b"password-1".to_vec())),
    );
    config.protection = vec![Qop::AuthInt];
    let reply: TextProto = Client::new(config).call("echo", &text("ok")).await.unwrap();
    assert_eq!(reply.text.as_deref(), Some("ok"));
}

async fn send(server: &Server, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads one response frame and its header.
async fn reply(stream: &mut TcpStream) -> Option<(RpcResponseHeaderProto, Vec<u8>)> {
    let body = read_frame(stream, MAX_FRAME_LEN).await.ok()??;
    let parts = split_delimited(&body).unwrap();
    let header = decode_part(&parts, 0, "response header").unwrap();
    Some((header, parts.get(1).map(|p| p.to_vec()).unwrap_or_default()))
}

/// Asserts the server closed the connection (reads reach end of stream or fail).
async fn closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "unexpected bytes after close: {rest:?}");
}

async fn fatal(stream: &mut TcpStream) -> RpcResponseHeaderProto {
    let (header, _) = reply(stream).await.expect("a FATAL reply");
    assert_eq!(header.status, RpcStatusProto::Fatal as i32);
    closed(stream).await;
    header
}

#[tokio::test]
async fn http_get_gets_hadoops_404_text() {
    let server = server().await;
    let mut stream = send(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, HTTP_RESPONSE);
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"));
    still_serving(&server).await;
}

#[tokio::test]
async fn wrong_versions_are_refused() {
    let server = server().await;
    for preamble in [&b"hrpc\x0a\x00\xdf"[..], b"xxxx\x09\x00\x00"] {
        let mut stream = send(&server, preamble).await;
        let header = fatal(&mut stream).await;
        assert_eq!(header.call_id as i32, call_id::AUTHORIZATION_FAILED);
        assert_eq!(
            header.error_detail,
            Some(RpcErrorCodeProto::FatalVersionMismatch as i32)
        );
        assert_eq!(
            header.exception_class_name.as_deref(),
            Some("org.apache.hadoop.ipc.RPC$VersionMismatch")
        );
    }
    // Pre-v9 clients cannot read a v9 reply: just closed.
    let mut stream = send(&server, b"hrpc\x07\x00\x00").await;
    closed(&mut stream).await;
    // Unknown auth protocol byte.
    let mut stream = send(&server, b"hrpc\x09\x00\x42").await;
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_detail,
        Some(RpcErrorCodeProto::FatalUnauthorized as i32)
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn simple_auth_on_a_token_only_server_is_unauthorized() {
    let server = server().await;
    let mut stream = send(&server, &frame::preamble(AUTH_NONE)).await;
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_msg.as_deref(),
        Some("SIMPLE authentication is not enabled.  Available:[TOKEN]")
    );
    assert_eq!(
        header.exception_class_name.as_deref(),
        Some("org.apache.hadoop.security.AccessControlException")
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn oversized_garbage_and_truncated_frames_close_the_connection() {
    let server = server().await;
    let preamble = frame::preamble(AUTH_SASL);

    // Larger than ipc.maximum.data.length.
    let mut bytes = preamble.to_vec();
    bytes.extend_from_slice(&((MAX_FRAME_LEN as u32) + 1).to_be_bytes());
    let mut stream = send(&server, &bytes).await;
    closed(&mut stream).await;

    // Garbage inside a frame: an answer saying so, then close.
    let mut bytes = preamble.to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let mut stream = send(&server, &bytes).await;
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_detail,
        Some(RpcErrorCodeProto::FatalDeserializingRequest as i32)
    );

    // A frame cut short by the client.
    let mut bytes = preamble.to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 100, 1, 2, 3]);
    let mut stream = send(&server, &bytes).await;
    stream.shutdown().await.unwrap();
    closed(&mut stream).await;

    // A truncated preamble.
    let mut stream = send(&server, b"hr").await;
    stream.shutdown().await.unwrap();
    closed(&mut stream).await;

    // Random bytes after a valid preamble (a fixed, arbitrary sequence).
    let mut bytes = preamble.to_vec();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    bytes[7..11].copy_from_slice(&[0, 0, 0, 150]);
    let mut stream = send(&server, &bytes).await;
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;

    still_serving(&server).await;
}

fn negotiate() -> Vec<u8> {
    frame::sasl_request(&RpcSaslProto {
        state: SaslState::Negotiate as i32,
        ..Default::default()
    })
}

/// Runs NEGOTIATE and returns the server's TOKEN auth with its challenge.
async fn negotiated(stream: &mut TcpStream) -> SaslAuth {
    stream.write_all(&negotiate()).await.unwrap();
    let (header, body) = reply(stream).await.unwrap();
    assert_eq!(header.call_id as i32, call_id::SASL);
    let message = RpcSaslProto::decode(body.as_slice()).unwrap();
    assert_eq!(message.state, SaslState::Negotiate as i32);
    let token = message.auths[0].clone();
    assert_eq!(token.method, "TOKEN");
    assert_eq!(token.mechanism, "DIGEST-MD5");
    assert_eq!(token.protocol.as_deref(), Some(""));
    assert_eq!(token.server_id.as_deref(), Some("default"));
    token
}

#[tokio::test]
async fn wrong_token_password_gets_fatal_unauthorized() {
    let server = server().await;
    let mut stream = send(&server, &frame::preamble(AUTH_SASL)).await;
    let auth = negotiated(&mut stream).await;
    let mut client =
        DigestMd5Client::for_token(b"ident-1", b"wrong", "", "default", &[Qop::AuthInt]);
    let response = client.respond(auth.challenge.as_deref().unwrap()).unwrap();
    let initiate = frame::sasl_request(&RpcSaslProto {
        state: SaslState::Initiate as i32,
        token: Some(response),
        auths: vec![SaslAuth {
            challenge: None,
            ..auth
        }],
        ..Default::default()
    });
    stream.write_all(&initiate).await.unwrap();
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_detail,
        Some(RpcErrorCodeProto::FatalUnauthorized as i32)
    );
    assert_eq!(
        header.exception_class_name.as_deref(),
        Some("javax.security.sasl.SaslException")
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn initiate_must_echo_an_advertised_auth() {
    let server = server().await;
    let mut stream = send(&server, &frame::preamble(AUTH_SASL)).await;
    let auth = negotiated(&mut stream).await;
    // protocol left out (Hadoop compares the whole SaslAuth, presence included).
    let initiate = frame::sasl_request(&RpcSaslProto {
        state: SaslState::Initiate as i32,
        token: Some(b"x".to_vec()),
        auths: vec![SaslAuth {
            challenge: None,
            protocol: None,
            ..auth
        }],
        ..Default::default()
    });
    stream.write_all(&initiate).await.unwrap();
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_msg.as_deref(),
        Some("TOKEN authentication is not enabled.  Available:[TOKEN]")
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn calls_and_context_out_of_order_are_fatal() {
    let server = server().await;
    let client_id = [7u8; 16];
    let call = FrameBuilder::new()
        .message(&frame::request_header(0, &client_id, 0))
        .message(&RequestHeaderProto {
            method_name: "echo".into(),
            declaring_class_protocol_name: PROTOCOL.into(),
            client_protocol_version: 1,
        })
        .message(&text("x"))
        .finish();
    let context = FrameBuilder::new()
        .message(&frame::request_header(
            call_id::CONNECTION_CONTEXT,
            &client_id,
            -1,
        ))
        .message(&IpcConnectionContextProto {
            user_info: Some(Default::default()),
            protocol: Some(PROTOCOL.into()),
        })
        .finish();

    // A context during SASL negotiation.
    let mut bytes = frame::preamble(AUTH_SASL).to_vec();
    bytes.extend(context);
    let mut stream = send(&server, &bytes).await;
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_msg.as_deref(),
        Some("Connection header sent during SASL negotiation")
    );

    // A call before any context.
    let simple = Server::builder()
        .protocol(PROTOCOL, TestService::new())
        .simple_auth(true)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut bytes = frame::preamble(AUTH_NONE).to_vec();
    bytes.extend(call);
    let mut stream = send(&simple, &bytes).await;
    let header = fatal(&mut stream).await;
    assert_eq!(header.call_id, 0);
    assert_eq!(
        header.error_msg.as_deref(),
        Some("Connection context not established")
    );

    // An unknown negative call id.
    let mut bytes = frame::preamble(AUTH_SASL).to_vec();
    bytes.extend(
        FrameBuilder::new()
            .message(&frame::request_header(-7, &client_id, -1))
            .finish(),
    );
    let mut stream = send(&server, &bytes).await;
    let header = fatal(&mut stream).await;
    assert_eq!(
        header.error_msg.as_deref(),
        Some("Unknown out of band call #-7")
    );

    still_serving(&server).await;
}
