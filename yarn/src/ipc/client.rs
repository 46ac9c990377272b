//! The Hadoop RPC client: one connection per [`Client`] to one server and protocol, opened on the first
//! call and reopened on the first call after it broke. Calls are pipelined: each gets a call id, a reader
//! task matches responses to callers, a writer task serialises frames (and wraps them under a SASL
//! security layer). A dead connection fails its outstanding calls with a retriable error.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use rand::RngCore;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::error::{RemoteError, RemoteErrorKind, RpcError};
use super::frame::{
    self, AUTH_NONE, AUTH_SASL, FrameBuilder, FrameError, FrameReader, FrameWriter, Side, call_id,
    decode_part, split_delimited,
};
use crate::proto::hadoop::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use crate::proto::hadoop::common::rpc_sasl_proto::{SaslAuth, SaslState};
use crate::proto::hadoop::common::{
    IpcConnectionContextProto, RequestHeaderProto, RpcResponseHeaderProto, RpcSaslProto,
    UserInformationProto,
};
use crate::sasl::{DigestMd5Client, Qop};

/// The protocol version of every YARN protobuf protocol.
pub const PROTOCOL_VERSION: u64 = 1;

/// A token's identifier and password, for SASL TOKEN (DIGEST-MD5) authentication. Debug output shows
/// the identifier's length only, never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken {
    identifier: Vec<u8>,
    password: Vec<u8>,
}

impl AuthToken {
    /// A token from its identifier and password bytes (as in `TokenProto`).
    pub fn new(identifier: Vec<u8>, password: Vec<u8>) -> AuthToken {
        AuthToken {
            identifier,
            password,
        }
    }

    /// The identifier bytes.
    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("identifier_len", &self.identifier.len())
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How a client authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No SASL; the server trusts the named user (insecure clusters, non-token services).
    Simple {
        /// The user name sent in the connection context.
        user: String,
    },
    /// SASL DIGEST-MD5 with a token (AMRMToken for the RM, NMToken for a NodeManager).
    Token(AuthToken),
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port` of the server.
    pub address: String,
    /// The protocol name, e.g. `org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB`.
    pub protocol: String,
    /// How to authenticate.
    pub auth: Auth,
    /// Acceptable SASL protection levels, preferred first. The default accepts all three, preferring
    /// `authentication`, so the client follows whatever `hadoop.rpc.protection` the server has.
    pub protection: Vec<Qop>,
    /// How long one call (including connecting, if needed) may take.
    pub call_timeout: Duration,
    /// The largest response frame accepted (`ipc.maximum.response.length`).
    pub max_response_len: usize,
}

impl ClientConfig {
    /// Settings with defaults: all protection levels, 60 s call timeout, 128 MiB responses.
    pub fn new(
        address: impl Into<String>,
        protocol: impl Into<String>,
        auth: Auth,
    ) -> ClientConfig {
        ClientConfig {
            address: address.into(),
            protocol: protocol.into(),
            auth,
            protection: vec![Qop::Auth, Qop::AuthInt, Qop::AuthConf],
            call_timeout: Duration::from_secs(60),
            max_response_len: frame::MAX_FRAME_LEN,
        }
    }
}

type CallResult = Result<Vec<u8>, RpcError>;

/// Calls waiting for a response on one connection; `closed` once the connection is gone.
#[derive(Default)]
struct Pending {
    calls: HashMap<i32, oneshot::Sender<CallResult>>,
    closed: Option<String>,
}

impl Pending {
    /// Marks the connection dead and fails every outstanding call.
    fn close(&mut self, address: &str, reason: &str) {
        if self.closed.is_none() {
            self.closed = Some(reason.to_string());
        }
        for (_, tx) in self.calls.drain() {
            let _ = tx.send(Err(RpcError::ConnectionClosed {
                address: address.to_string(),
                reason: reason.to_string(),
            }));
        }
    }
}

/// One live connection: the writer's queue, the outstanding calls, the reader task.
struct Connection {
    frames: mpsc::UnboundedSender<Vec<u8>>,
    pending: Arc<Mutex<Pending>>,
    stop: Arc<Notify>,
    reader: JoinHandle<()>,
}

impl Connection {
    fn is_open(&self) -> bool {
        lock(&self.pending).closed.is_none()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.stop.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Shared {
    config: ClientConfig,
    auth: Mutex<Auth>,
    client_id: [u8; 16],
    next_call_id: AtomicI32,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
}

/// A Hadoop RPC client for one server and protocol. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.shared.config.address)
            .field("protocol", &self.shared.config.protocol)
            .finish_non_exhaustive()
    }
}

/// Removes a call from the pending table when the caller stops waiting (timeout or cancellation).
struct PendingGuard {
    pending: Arc<Mutex<Pending>>,
    call_id: i32,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        lock(&self.pending).calls.remove(&self.call_id);
    }
}

impl Client {
    /// A client; it connects on the first call.
    pub fn new(config: ClientConfig) -> Client {
        let mut client_id = [0u8; 16];
        rand::rng().fill_bytes(&mut client_id);
        // A version-4 UUID, as Java's ClientId.getClientId() produces.
        client_id[6] = (client_id[6] & 0x0f) | 0x40;
        client_id[8] = (client_id[8] & 0x3f) | 0x80;
        Client {
            shared: Arc::new(Shared {
                auth: Mutex::new(config.auth.clone()),
                config,
                client_id,
                next_call_id: AtomicI32::new(0),
                connection: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// The server address.
    pub fn address(&self) -> &str {
        &self.shared.config.address
    }

    /// Replaces the token used for the next connection (AMRMToken roll-over). The current connection,
    /// already authenticated, stays in use until it breaks or [`Client::close`] is called.
    pub fn set_token(&self, token: AuthToken) {
        *lock(&self.shared.auth) = Auth::Token(token);
    }

    /// Closes the current connection; the next call opens a new one. Outstanding calls fail with
    /// [`RpcError::ConnectionClosed`].
    pub async fn close(&self) {
        if let Some(conn) = self.shared.connection.lock().await.take() {
            lock(&conn.pending).close(&self.shared.config.address, "closed by the client");
        }
    }

    /// Calls `method` of the client's protocol with a request message and decodes the response.
    pub async fn call<Req, Resp>(&self, method: &str, request: &Req) -> Result<Resp, RpcError>
    where
        Req: Message,
        Resp: Message + Default,
    {
        let body = self.call_raw(method, request.encode_to_vec()).await?;
        Resp::decode(body.as_slice()).map_err(|e| RpcError::Protocol {
            address: self.shared.config.address.clone(),
            message: format!("cannot decode the response to {method}: {e}"),
        })
    }

    /// Calls `method` with an already-encoded request message; returns the encoded response message.
    pub async fn call_raw(&self, method: &str, request: Vec<u8>) -> Result<Vec<u8>, RpcError> {
        let config = &self.shared.config;
        let mut guard = None;
        let outcome = tokio::time::timeout(
            config.call_timeout,
            self.send_and_wait(method, &request, &mut guard),
        )
        .await;
        drop(guard);
        outcome.unwrap_or_else(|_| {
            Err(RpcError::Timeout {
                address: config.address.clone(),
                method: method.to_string(),
                after: config.call_timeout,
            })
        })
    }

    async fn send_and_wait(
        &self,
        method: &str,
        request: &[u8],
        guard: &mut Option<PendingGuard>,
    ) -> CallResult {
        let config = &self.shared.config;
        let id = self.shared.next_call_id.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
        let frame = FrameBuilder::new()
            .message(&frame::request_header(id, &self.shared.client_id, 0))
            .message(&RequestHeaderProto {
                method_name: method.to_string(),
                declaring_class_protocol_name: config.protocol.clone(),
                client_protocol_version: PROTOCOL_VERSION,
            })
            .encoded(request)
            .finish();
        // A connection found dead before the call was sent is replaced once, transparently.
        for attempt in 0..2 {
            let conn = self.connection().await?;
            let (tx, rx) = oneshot::channel();
            {
                let mut pending = lock(&conn.pending);
                if let Some(reason) = &pending.closed {
                    if attempt == 0 {
                        continue;
                    }
                    return Err(RpcError::ConnectionClosed {
                        address: config.address.clone(),
                        reason: reason.clone(),
                    });
                }
                pending.calls.insert(id, tx);
            }
            *guard = Some(PendingGuard {
                pending: conn.pending.clone(),
                call_id: id,
            });
            if conn.frames.send(frame.clone()).is_err() {
                lock(&conn.pending).close(&config.address, "the connection's writer stopped");
            }
            return rx.await.unwrap_or_else(|_| {
                Err(RpcError::ConnectionClosed {
                    address: config.address.clone(),
                    reason: "the connection ended".into(),
                })
            });
        }
        unreachable!("the second attempt returns")
    }

    /// The live connection, opening one if there is none or the last one broke.
    async fn connection(&self) -> Result<Arc<Connection>, RpcError> {
        let mut slot = self.shared.connection.lock().await;
        if let Some(conn) = slot.as_ref()
            && conn.is_open()
        {
            return Ok(conn.clone());
        }
        *slot = None;
        let auth = lock(&self.shared.auth).clone();
        let conn = Arc::new(connect(&self.shared, &auth).await?);
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

fn io_error(address: &str) -> impl FnOnce(std::io::Error) -> RpcError + '_ {
    move |source| RpcError::Io {
        address: address.to_string(),
        source,
    }
}

fn frame_error(address: &str, e: FrameError) -> RpcError {
    match e {
        FrameError::Io(source) => RpcError::Io {
            address: address.to_string(),
            source,
        },
        FrameError::Sasl(source) => RpcError::Sasl {
            address: address.to_string(),
            source,
        },
        other => RpcError::Protocol {
            address: address.to_string(),
            message: other.to_string(),
        },
    }
}

/// Turns a non-SUCCESS response header into the remote error it reports.
fn remote_error(address: &str, header: &RpcResponseHeaderProto) -> RpcError {
    let class_name = header.exception_class_name.clone().unwrap_or_default();
    RpcError::Remote {
        address: address.to_string(),
        error: RemoteError {
            kind: RemoteErrorKind::from_class(&class_name),
            class_name,
            message: header.error_msg.clone().unwrap_or_default(),
            fatal: header.status == RpcStatusProto::Fatal as i32,
            code: header
                .error_detail
                .and_then(|c| RpcErrorCodeProto::try_from(c).ok()),
        },
    }
}

/// Opens, authenticates and sets up one connection, then starts its reader and writer tasks.
async fn connect(shared: &Shared, auth: &Auth) -> Result<Connection, RpcError> {
    let config = &shared.config;
    let address = config.address.as_str();
    let stream = TcpStream::connect(address)
        .await
        .map_err(io_error(address))?;
    stream.set_nodelay(true).map_err(io_error(address))?;
    let (read, write) = stream.into_split();
    let mut reader = FrameReader::new(read, Side::Client, config.max_response_len);
    let mut writer = FrameWriter::new(write, Side::Client);

    let user_info = match auth {
        Auth::Simple { user } => {
            writer
                .send(&frame::preamble(AUTH_NONE))
                .await
                .map_err(io_error(address))?;
            UserInformationProto {
                effective_user: Some(user.clone()),
                real_user: None,
            }
        }
        Auth::Token(token) => {
            let mut first = frame::preamble(AUTH_SASL).to_vec();
            first.extend(frame::sasl_request(&RpcSaslProto {
                state: SaslState::Negotiate as i32,
                ..Default::default()
            }));
            writer.send(&first).await.map_err(io_error(address))?;
            let negotiated =
                sasl_handshake(&mut reader, &mut writer, token, &config.protection, address)
                    .await?;
            if let Some((sealer, opener)) = negotiated.layer {
                writer.install(sealer);
                reader.install(opener);
            }
            tracing::debug!(server = address, qop = %negotiated.qop, cipher = ?negotiated.cipher, "SASL TOKEN authentication complete");
            // TOKEN: the server takes the user from the token; Hadoop's client sends an empty userInfo.
            UserInformationProto::default()
        }
    };
    let context = FrameBuilder::new()
        .message(&frame::request_header(
            call_id::CONNECTION_CONTEXT,
            &shared.client_id,
            -1,
        ))
        .message(&IpcConnectionContextProto {
            user_info: Some(user_info),
            protocol: Some(config.protocol.clone()),
        })
        .finish();
    writer.send(&context).await.map_err(io_error(address))?;

    let pending = Arc::new(Mutex::new(Pending::default()));
    let stop = Arc::new(Notify::new());
    let (frames, queue) = mpsc::unbounded_channel();
    tokio::spawn(write_loop(
        writer,
        queue,
        pending.clone(),
        stop.clone(),
        address.to_string(),
    ));
    let reader = tokio::spawn(read_loop(
        reader,
        pending.clone(),
        stop.clone(),
        address.to_string(),
        shared.client_id,
    ));
    Ok(Connection {
        frames,
        pending,
        stop,
        reader,
    })
}

/// Reads one SASL reply from the server.
async fn read_sasl(
    reader: &mut FrameReader<OwnedReadHalf>,
    address: &str,
) -> Result<RpcSaslProto, RpcError> {
    let body = reader
        .next()
        .await
        .map_err(|e| frame_error(address, e))?
        .ok_or_else(|| RpcError::ConnectionClosed {
            address: address.to_string(),
            reason: "the server closed the connection during SASL negotiation".into(),
        })?;
    let parts = split_delimited(&body).map_err(|e| frame_error(address, e))?;
    let header: RpcResponseHeaderProto =
        decode_part(&parts, 0, "response header").map_err(|e| frame_error(address, e))?;
    if header.status != RpcStatusProto::Success as i32 {
        return Err(remote_error(address, &header));
    }
    if header.call_id as i32 != call_id::SASL {
        return Err(RpcError::Protocol {
            address: address.to_string(),
            message: format!(
                "expected a SASL reply during negotiation but got call id {}",
                header.call_id as i32
            ),
        });
    }
    decode_part(&parts, 1, "SASL message").map_err(|e| frame_error(address, e))
}

/// Runs the SASL exchange after NEGOTIATE was sent: pick TOKEN/DIGEST-MD5, answer challenges, verify
/// the server's final message.
async fn sasl_handshake(
    reader: &mut FrameReader<OwnedReadHalf>,
    writer: &mut FrameWriter<OwnedWriteHalf>,
    token: &AuthToken,
    protection: &[Qop],
    address: &str,
) -> Result<crate::sasl::Negotiated, RpcError> {
    let sasl_err = |source| RpcError::Sasl {
        address: address.to_string(),
        source,
    };
    let protocol_err = |message: String| RpcError::Protocol {
        address: address.to_string(),
        message,
    };
    let mut mechanism: Option<DigestMd5Client> = None;
    loop {
        let message = read_sasl(reader, address).await?;
        let state = SaslState::try_from(message.state)
            .map_err(|_| protocol_err(format!("unknown SASL state {}", message.state)))?;
        let reply = match (state, &mut mechanism) {
            (SaslState::Negotiate, None) => {
                let chosen = message
                    .auths
                    .iter()
                    .find(|a| a.method == "TOKEN" && a.mechanism == "DIGEST-MD5")
                    .ok_or_else(|| {
                        let offered: Vec<&str> =
                            message.auths.iter().map(|a| a.method.as_str()).collect();
                        sasl_err(crate::sasl::SaslError::new(format!(
                            "the server does not accept TOKEN authentication (it offers {offered:?})"
                        )))
                    })?;
                let mut client = DigestMd5Client::for_token(
                    &token.identifier,
                    &token.password,
                    chosen.protocol.as_deref().unwrap_or(""),
                    chosen.server_id.as_deref().unwrap_or(""),
                    protection,
                );
                let response = match &chosen.challenge {
                    Some(challenge) => client.respond(challenge).map_err(sasl_err)?,
                    None => Vec::new(),
                };
                mechanism = Some(client);
                RpcSaslProto {
                    state: SaslState::Initiate as i32,
                    token: Some(response),
                    auths: vec![SaslAuth {
                        challenge: None,
                        ..chosen.clone()
                    }],
                    ..Default::default()
                }
            }
            (SaslState::Challenge, Some(client)) => RpcSaslProto {
                state: SaslState::Response as i32,
                token: Some(
                    client
                        .respond(message.token.as_deref().unwrap_or_default())
                        .map_err(sasl_err)?,
                ),
                ..Default::default()
            },
            (SaslState::Success, Some(client)) => {
                return client
                    .finish(message.token.as_deref().unwrap_or_default())
                    .map_err(sasl_err);
            }
            (SaslState::Success, None) => {
                return Err(sasl_err(crate::sasl::SaslError::new(
                    "the server only accepts SIMPLE authentication, but this client authenticates with a token",
                )));
            }
            (state, _) => {
                return Err(protocol_err(format!(
                    "unexpected SASL {} during negotiation",
                    state.as_str_name()
                )));
            }
        };
        writer
            .send(&frame::sasl_request(&reply))
            .await
            .map_err(io_error(address))?;
    }
}

async fn write_loop(
    mut writer: FrameWriter<OwnedWriteHalf>,
    mut queue: mpsc::UnboundedReceiver<Vec<u8>>,
    pending: Arc<Mutex<Pending>>,
    stop: Arc<Notify>,
    address: String,
) {
    loop {
        let frame = tokio::select! {
            frame = queue.recv() => frame,
            _ = stop.notified() => None,
        };
        let Some(frame) = frame else { break };
        if let Err(e) = writer.send(&frame).await {
            lock(&pending).close(&address, &format!("write failed: {e}"));
            break;
        }
    }
    writer.shutdown().await;
}

async fn read_loop(
    mut reader: FrameReader<OwnedReadHalf>,
    pending: Arc<Mutex<Pending>>,
    stop: Arc<Notify>,
    address: String,
    client_id: [u8; 16],
) {
    let reason = loop {
        let body = match reader.next().await {
            Ok(Some(body)) => body,
            Ok(None) => break "the server closed the connection".to_string(),
            Err(e) => break e.to_string(),
        };
        match dispatch(&body, &pending, &address, &client_id) {
            Ok(()) => {}
            Err(reason) => break reason,
        }
    };
    tracing::debug!(server = %address, %reason, "RPC connection closed");
    lock(&pending).close(&address, &reason);
    stop.notify_one();
}

/// Hands one response to its caller. An `Err` closes the connection with that reason.
fn dispatch(
    body: &[u8],
    pending: &Mutex<Pending>,
    address: &str,
    client_id: &[u8; 16],
) -> Result<(), String> {
    let parts = split_delimited(body).map_err(|e| e.to_string())?;
    let header: RpcResponseHeaderProto =
        decode_part(&parts, 0, "response header").map_err(|e| e.to_string())?;
    if let Some(id) = &header.client_id
        && !id.is_empty()
        && id.as_slice() != client_id
    {
        return Err("a response carried another client's id".into());
    }
    let id = header.call_id as i32;
    let status = RpcStatusProto::try_from(header.status)
        .map_err(|_| format!("unknown response status {}", header.status))?;
    let result = match status {
        RpcStatusProto::Success => Ok(parts.get(1).map(|p| p.to_vec()).unwrap_or_default()),
        RpcStatusProto::Error | RpcStatusProto::Fatal => Err(remote_error(address, &header)),
    };
    let waiter = lock(pending).calls.remove(&id);
    if status == RpcStatusProto::Fatal {
        let text = match &result {
            Err(e) => e.to_string(),
            Ok(_) => unreachable!("FATAL is an error"),
        };
        if let Some(tx) = waiter {
            let _ = tx.send(result);
        }
        return Err(text);
    }
    match waiter {
        Some(tx) => {
            let _ = tx.send(result);
        }
        None => {
            tracing::debug!(server = %address, call_id = id, "response to a call nobody waits for")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: RpcStatusProto, call: i32, client_id: &[u8]) -> Vec<u8> {
        let mut header = frame::response_header(call, status, client_id, 0);
        if status != RpcStatusProto::Success {
            header.exception_class_name =
                Some("org.apache.hadoop.yarn.exceptions.YarnException".into());
            header.error_msg = Some("no".into());
        }
        let framed = FrameBuilder::new()
            .message(&header)
            .encoded(b"\x08\x01")
            .finish();
        framed[4..].to_vec()
    }

    fn waiting(pending: &Mutex<Pending>, id: i32) -> oneshot::Receiver<CallResult> {
        let (tx, rx) = oneshot::channel();
        lock(pending).calls.insert(id, tx);
        rx
    }

    #[test]
    fn error_keeps_the_connection_and_fatal_closes_it() {
        let me = [1u8; 16];
        let pending = Mutex::new(Pending::default());
        let mut ok = waiting(&pending, 1);
        let mut err = waiting(&pending, 2);
        let mut fatal = waiting(&pending, 3);
        dispatch(
            &response(RpcStatusProto::Success, 1, &me),
            &pending,
            "a",
            &me,
        )
        .unwrap();
        assert_eq!(ok.try_recv().unwrap().unwrap(), b"\x08\x01");
        dispatch(&response(RpcStatusProto::Error, 2, &me), &pending, "a", &me).unwrap();
        let e = err.try_recv().unwrap().unwrap_err();
        assert_eq!(e.remote_kind(), Some(RemoteErrorKind::Yarn));
        let reason =
            dispatch(&response(RpcStatusProto::Fatal, 3, &me), &pending, "a", &me).unwrap_err();
        assert!(reason.contains("YarnException"), "{reason}");
        let RpcError::Remote { error, .. } = fatal.try_recv().unwrap().unwrap_err() else {
            panic!("expected the remote error")
        };
        assert!(error.fatal);
    }

    #[test]
    fn responses_for_another_client_or_garbage_close_the_connection() {
        let me = [1u8; 16];
        let pending = Mutex::new(Pending::default());
        assert!(
            dispatch(
                &response(RpcStatusProto::Success, 1, &[2u8; 16]),
                &pending,
                "a",
                &me
            )
            .is_err()
        );
        assert!(dispatch(&[0xff, 0xff], &pending, "a", &me).is_err());
        // A response nobody waits for (a timed-out call) is dropped quietly.
        assert!(
            dispatch(
                &response(RpcStatusProto::Success, 9, &me),
                &pending,
                "a",
                &me
            )
            .is_ok()
        );
    }

    #[test]
    fn auth_token_debug_hides_the_password() {
        let token = AuthToken::new(b"id".to_vec(), b"hunter2".to_vec());
        let shown = format!("{token:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("104"),
            "{shown}"
        );
    }
}
