//! The AM <-> TaskExecutor protocol endpoint against real sockets: authentication both ways,
//! refusal of wrong secrets, garbage and oversized frames, and a server that keeps serving.

use std::time::Duration;

use proptest::prelude::*;
use spindle::rpc::auth::{self, Handshake};
use spindle::rpc::frame::{FrameReader, FrameWriter, decode_frame, encode_frame};
use spindle::rpc::{
    self, ClientError, MAX_FRAME_LEN, PROTOCOL_VERSION, ResourceId, Secret, ServerConfig,
    ServerEvent, TaskExecutorServer, ToAm, ToTe,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Guards against a hang; not an assertion about speed.
const GUARD: Duration = Duration::from_secs(20);

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, f)
        .await
        .expect("no progress within the guard time")
}

async fn server(secret: &Secret) -> (TaskExecutorServer, mpsc::Receiver<ServerEvent>) {
    let (tx, rx) = mpsc::channel(64);
    let server = TaskExecutorServer::bind("127.0.0.1:0", ServerConfig::new(secret.clone()), tx)
        .await
        .unwrap();
    (server, rx)
}

fn secret(bytes: &[u8]) -> Secret {
    Secret::new(bytes.to_vec()).unwrap()
}

async fn connect(
    server: &TaskExecutorServer,
    id: &str,
    secret: &Secret,
) -> Result<rpc::AmConnection, ClientError> {
    rpc::connect(
        &server.local_addr().to_string(),
        &ResourceId::from(id),
        secret,
        MAX_FRAME_LEN,
        GUARD,
    )
    .await
}

/// The next authenticated connection, skipping the ends of earlier ones.
async fn next_connected(events: &mut mpsc::Receiver<ServerEvent>) -> rpc::TaskExecutorHandle {
    loop {
        match within(events.recv()).await.unwrap() {
            ServerEvent::Connected { handle } => return handle,
            ServerEvent::Disconnected { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Checks that a well-behaved TaskExecutor still gets through, and can exchange messages.
async fn assert_still_serving(
    server: &TaskExecutorServer,
    events: &mut mpsc::Receiver<ServerEvent>,
    secret: &Secret,
) {
    let mut conn = within(connect(server, "container_ok", secret))
        .await
        .unwrap();
    let handle = next_connected(events).await;
    assert_eq!(handle.resource_id().0, "container_ok");
    conn.send(&ToAm::Heartbeat {
        slot_report: Default::default(),
    })
    .await
    .unwrap();
    match within(events.recv()).await.unwrap() {
        ServerEvent::Message {
            resource_id,
            message: ToAm::Heartbeat { .. },
            ..
        } => assert_eq!(resource_id.0, "container_ok"),
        other => panic!("unexpected {other:?}"),
    }
    handle.send(ToTe::HeartbeatReply).unwrap();
    assert_eq!(
        within(conn.recv()).await.unwrap(),
        Some(ToTe::HeartbeatReply)
    );
}

#[tokio::test]
async fn authenticated_te_exchanges_messages_and_disconnect_is_reported() {
    let s = secret(b"app-secret");
    let (server, mut events) = server(&s).await;
    assert_still_serving(&server, &mut events, &s).await;

    let mut conn = within(connect(&server, "container_2", &s)).await.unwrap();
    let handle = next_connected(&mut events).await;
    // After authentication, frames far larger than the handshake's limit go through.
    let big = ToTe::DeployTask(spindle::rpc::TaskDeployment {
        execution_attempt_id: "e".into(),
        allocation_id: "a".into(),
        job_id: "j".into(),
        vertex_name: "v".into(),
        subtask_index: 0,
        parallelism: 1,
        attempt_number: 0,
        argv: vec!["true".into()],
        env: [("BIG".to_string(), "x".repeat(300 * 1024))].into(),
    });
    handle.send(big.clone()).unwrap();
    assert_eq!(within(conn.recv()).await.unwrap(), Some(big));
    handle.disconnect("released").unwrap();
    assert_eq!(
        within(conn.recv()).await.unwrap(),
        Some(ToTe::Disconnect {
            reason: "released".into()
        })
    );
    assert_eq!(within(conn.recv()).await.unwrap(), None);
    let reason = loop {
        match within(events.recv()).await.unwrap() {
            ServerEvent::Disconnected {
                connection, reason, ..
            } if connection == handle.connection() => break reason,
            ServerEvent::Disconnected { .. } => continue, // the earlier connection
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(reason.contains("released"), "{reason}");
    assert!(handle.send(ToTe::HeartbeatReply).is_err());
}

#[tokio::test]
async fn wrong_secret_is_refused_by_the_server_and_it_keeps_serving() {
    let s = secret(b"app-secret");
    let (server, mut events) = server(&s).await;

    // A client that does not know the secret answers the challenge with a proof made from another.
    let (mut stream, answer) = raw_handshake(&server, &secret(b"guess"), "container_evil").await;
    match answer {
        Handshake::Refused { reason } => {
            assert!(reason.contains("wrong secret"), "{reason}");
            assert!(!reason.contains("app-secret"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut rest = Vec::new();
    within(stream.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty(), "the server closes a refused connection");

    // The real client library refuses an AM that cannot prove the secret either.
    match within(connect(&server, "container_3", &secret(b"other"))).await {
        Err(ClientError::Auth { .. }) => {}
        Err(other) => panic!("expected an authentication error, got {other}"),
        Ok(_) => panic!("connected with the wrong secret"),
    }

    assert_still_serving(&server, &mut events, &s).await;
}

#[tokio::test]
async fn unsupported_version_is_refused_with_the_reason() {
    let s = secret(b"app-secret");
    let (server, _events) = server(&s).await;
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let (r, w) = stream.into_split();
    let (mut reader, mut writer) = (
        FrameReader::new(r, MAX_FRAME_LEN),
        FrameWriter::new(w, MAX_FRAME_LEN),
    );
    writer
        .write_message(&Handshake::ClientHello {
            version: PROTOCOL_VERSION + 1,
            resource_id: "c".into(),
            client_nonce: hex::encode(auth::new_nonce()),
        })
        .await
        .unwrap();
    match within(reader.read_message::<Handshake>()).await.unwrap() {
        Some(Handshake::Refused { reason }) => {
            assert!(reason.contains("protocol version"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Writes raw bytes and returns what the server answers before closing.
async fn raw_exchange(server: &TaskExecutorServer, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    within(stream.read_to_end(&mut answer)).await.unwrap();
    answer
}

fn refusal_reason(answer: &[u8]) -> String {
    let mut buf = bytes::BytesMut::from(answer);
    let payload = decode_frame(&mut buf, MAX_FRAME_LEN)
        .unwrap()
        .expect("one whole frame");
    match serde_json::from_slice::<Handshake>(&payload).unwrap() {
        Handshake::Refused { reason } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_and_oversize_frames_get_clear_errors_and_the_server_keeps_serving() {
    let s = secret(b"app-secret");
    let (server, mut events) = server(&s).await;

    // An HTTP request on the port: "GET " read as a length is far beyond the limit.
    let reason = refusal_reason(&raw_exchange(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await);
    assert!(reason.contains("exceeds the limit"), "{reason}");

    // A frame of the right shape whose payload is not a message.
    let mut frame = 5u32.to_be_bytes().to_vec();
    frame.extend_from_slice(b"\xff\x00{]x");
    let reason = refusal_reason(&raw_exchange(&server, &frame).await);
    assert!(reason.contains("not a valid spindle"), "{reason}");

    // Before authentication, frames are small: an announced 1 MiB frame is refused from its header.
    let reason = refusal_reason(&raw_exchange(&server, &(1u32 << 20).to_be_bytes()).await);
    assert!(reason.contains("exceeds the limit"), "{reason}");

    // An announced 16 MiB + 1 frame is refused from its header alone.
    let reason =
        refusal_reason(&raw_exchange(&server, &(MAX_FRAME_LEN as u32 + 1).to_be_bytes()).await);
    assert!(reason.contains("exceeds the limit"), "{reason}");

    // After authentication, an oversized frame ends that connection with a Disconnect saying why.
    let (mut stream, answer) = raw_handshake(&server, &s, "container_bad").await;
    assert_eq!(answer, Handshake::Accepted);
    let handle = next_connected(&mut events).await;
    assert_eq!(handle.resource_id().0, "container_bad");
    stream
        .write_all(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    let mut reader = FrameReader::new(&mut stream, MAX_FRAME_LEN);
    match within(reader.read_message::<ToTe>()).await.unwrap() {
        Some(ToTe::Disconnect { reason }) => {
            assert!(reason.contains("exceeds the limit"), "{reason}")
        }
        other => panic!("expected a Disconnect, got {other:?}"),
    }
    match within(events.recv()).await.unwrap() {
        ServerEvent::Disconnected {
            resource_id,
            reason,
            ..
        } => {
            assert_eq!(resource_id.0, "container_bad");
            assert!(reason.contains("protocol error"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }

    assert_still_serving(&server, &mut events, &s).await;
}

/// Runs the handshake by hand, proving with `proof_secret`; returns the stream and the server's
/// final answer.
async fn raw_handshake(
    server: &TaskExecutorServer,
    proof_secret: &Secret,
    id: &str,
) -> (TcpStream, Handshake) {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let client_nonce = auth::new_nonce();
    let rid = ResourceId::from(id);
    let hello = Handshake::ClientHello {
        version: PROTOCOL_VERSION,
        resource_id: rid.clone(),
        client_nonce: hex::encode(client_nonce),
    };
    stream
        .write_all(&encode_frame(&hello, MAX_FRAME_LEN).unwrap())
        .await
        .unwrap();
    let challenge = within(FrameReader::new(&mut stream, MAX_FRAME_LEN).read_message()).await;
    let Ok(Some(Handshake::ServerChallenge { server_nonce, .. })) = challenge else {
        panic!("expected a challenge, got {challenge:?}");
    };
    let server_nonce = auth::decode_nonce(&server_nonce).unwrap();
    let proof = auth::client_proof(proof_secret, &server_nonce, &client_nonce, &rid);
    stream
        .write_all(&encode_frame(&Handshake::ClientProof { proof }, MAX_FRAME_LEN).unwrap())
        .await
        .unwrap();
    let answer = within(FrameReader::new(&mut stream, MAX_FRAME_LEN).read_message())
        .await
        .unwrap()
        .expect("an answer to the proof");
    (stream, answer)
}

#[test]
fn encoded_frames_have_a_big_endian_length_prefix() {
    let frame = encode_frame(&ToTe::HeartbeatReply, MAX_FRAME_LEN).unwrap();
    let json = br#"{"type":"heartbeat_reply"}"#;
    assert_eq!(&frame[..4], &(json.len() as u32).to_be_bytes());
    assert_eq!(&frame[4..], json);
}

proptest! {
    #[test]
    fn frame_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048), max in 0usize..4096) {
        let mut buf = bytes::BytesMut::from(&data[..]);
        while let Ok(Some(payload)) = decode_frame(&mut buf, max) {
            prop_assert!(payload.len() <= max);
            let _ = serde_json::from_slice::<ToAm>(&payload);
            let _ = serde_json::from_slice::<ToTe>(&payload);
            let _ = serde_json::from_slice::<Handshake>(&payload);
        }
    }

    #[test]
    fn frames_round_trip_through_arbitrary_splits(texts in proptest::collection::vec(".{0,64}", 1..8), split in 0usize..512) {
        let mut wire = Vec::new();
        for t in &texts {
            wire.extend(encode_frame(t, MAX_FRAME_LEN).unwrap());
        }
        let split = split.min(wire.len());
        let mut buf = bytes::BytesMut::from(&wire[..split]);
        let mut decoded = Vec::new();
        while let Some(p) = decode_frame(&mut buf, MAX_FRAME_LEN).unwrap() {
            decoded.push(serde_json::from_slice::<String>(&p).unwrap());
        }
        buf.extend_from_slice(&wire[split..]);
        while let Some(p) = decode_frame(&mut buf, MAX_FRAME_LEN).unwrap() {
            decoded.push(serde_json::from_slice::<String>(&p).unwrap());
        }
        prop_assert_eq!(decoded, texts);
        prop_assert!(buf.is_empty());
    }
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_handshake_or_heartbeat_timeout() {
    let s = secret(b"app-secret");
    let (tx, mut events) = mpsc::channel(16);
    let mut config = ServerConfig::new(s.clone());
    config.handshake_timeout = Duration::from_millis(200);
    config.heartbeat_timeout = Duration::from_millis(200);
    let server = TaskExecutorServer::bind("127.0.0.1:0", config, tx)
        .await
        .unwrap();

    // Connects and never says anything: closed without an answer.
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut rest = Vec::new();
    within(silent.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());

    // Authenticates, then stops heartbeating: told why, and the AM learns of it.
    let mut conn = within(connect(&server, "container_quiet", &s))
        .await
        .unwrap();
    let handle = next_connected(&mut events).await;
    match within(conn.recv()).await.unwrap() {
        Some(ToTe::Disconnect { reason }) => {
            assert!(reason.contains("heartbeat timeout"), "{reason}")
        }
        other => panic!("expected a Disconnect, got {other:?}"),
    }
    match within(events.recv()).await.unwrap() {
        ServerEvent::Disconnected {
            connection, reason, ..
        } => {
            assert_eq!(connection, handle.connection());
            assert!(reason.contains("heartbeat timeout"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
