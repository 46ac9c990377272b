//! The Hadoop RPC server: accepts connections, authenticates them (SIMPLE and/or SASL TOKEN with
//! DIGEST-MD5 at the configured protection levels), reads the connection context, and dispatches calls
//! by (protocol, method) to [`Handler`]s. Each connection is one task; each call runs in its own task,
//! so answers may leave out of order. Bad input gets Hadoop's reply or a close, never a panic, and
//! never affects other connections.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::Message;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use super::error::RemoteException;
use super::frame::{
    self, AUTH_NONE, AUTH_SASL, FrameBuilder, FrameError, FrameReader, FrameWriter, MAGIC,
    RPC_VERSION, Side, call_id, decode_part, split_delimited,
};
use crate::proto::hadoop::common::rpc_request_header_proto::OperationProto;
use crate::proto::hadoop::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use crate::proto::hadoop::common::rpc_sasl_proto::{SaslAuth, SaslState};
use crate::proto::hadoop::common::{
    IpcConnectionContextProto, RequestHeaderProto, RpcRequestHeaderProto, RpcSaslProto,
};
use crate::sasl::digest::VerifyError;
use crate::sasl::{Cipher, DigestMd5Server, Qop, Sealer};

use super::client::PROTOCOL_VERSION;

/// Hadoop's reply to an HTTP request on an RPC port.
pub const HTTP_RESPONSE: &str = "HTTP/1.1 404 Not Found\r\n\
    Content-type: text/plain\r\n\r\n\
    It looks like you are making an HTTP request to a Hadoop IPC port. \
    This is not the correct port for the web interface on this daemon.\r\n";

/// Calls one connection may have running at once before the server stops reading from it.
const MAX_CALLS_IN_FLIGHT: usize = 256;
const SERVER_EXCEPTION: &str = "org.apache.hadoop.ipc.RpcServerException";
const ACCESS_CONTROL: &str = "org.apache.hadoop.security.AccessControlException";
const INVALID_TOKEN: &str = "org.apache.hadoop.security.token.SecretManager$InvalidToken";
const SASL_EXCEPTION: &str = "javax.security.sasl.SaslException";
/// SASL protocol and server name Hadoop uses for TOKEN authentication.
const SASL_PROTOCOL: &str = "";
const SASL_SERVER_NAME: &str = "default";

/// A token rejected by a [`TokenVerifier`]; the message reaches the client as `SecretManager$InvalidToken`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub String);

/// What a [`TokenVerifier`] knows about a valid token identifier.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The token password (for YARN tokens: the HMAC of the identifier under the master key).
    pub password: Vec<u8>,
    /// The user the token authenticates (`TokenIdentifier.getUser()`; for AMRM and NM tokens the
    /// application attempt id).
    pub user: String,
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Finds the password of a token presented for TOKEN authentication. An RM implements it for
/// AMRMTokens, an NM for NMTokens: decode the identifier, check it (key id, expiry), recompute the
/// password.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies an identifier and returns its password and user, or why it is not acceptable.
    fn verify(&self, identifier: &[u8]) -> Result<VerifiedToken, InvalidToken>;
}

/// How a connection authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// The user named itself in the connection context.
    Simple,
    /// SASL DIGEST-MD5 with a token.
    Token,
}

/// Who is calling: what the handler needs to authorise a call.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The authenticated user (TOKEN: the token's user; SIMPLE: the name the client gave).
    pub user: String,
    /// How the connection authenticated.
    pub auth: AuthMethod,
    /// For TOKEN: the identifier bytes of the token used (decode with the token kind's message).
    pub token_identifier: Option<Vec<u8>>,
    /// The negotiated SASL protection, for TOKEN.
    pub qop: Option<Qop>,
    /// The protocol named in the connection context.
    pub connection_protocol: String,
    /// The protocol this call is for.
    pub protocol: String,
    /// The peer address.
    pub remote: SocketAddr,
    /// The call id.
    pub call_id: i32,
}

/// The future a handler returns: the encoded response message, or an exception for the caller.
pub type HandlerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<u8>, RemoteException>> + Send + 'a>>;

/// Serves the methods of one protocol. `request` is the encoded request message; return the encoded
/// response message. Unknown methods should answer [`RemoteException::no_such_method`].
pub trait Handler: Send + Sync + 'static {
    /// Handles one call.
    fn call<'a>(
        &'a self,
        context: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a>;
}

/// Configures and starts a [`Server`].
pub struct ServerBuilder {
    protocols: HashMap<String, Arc<dyn Handler>>,
    simple: bool,
    verifier: Option<Arc<dyn TokenVerifier>>,
    protection: Vec<Qop>,
    ciphers: Vec<Cipher>,
    max_frame_len: usize,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("protocols", &self.protocols.keys().collect::<Vec<_>>())
            .field("simple", &self.simple)
            .field("token", &self.verifier.is_some())
            .field("protection", &self.protection)
            .finish()
    }
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Server::builder()
    }
}

impl ServerBuilder {
    /// Serves `protocol` (e.g. `org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB`) with `handler`.
    pub fn protocol(mut self, protocol: impl Into<String>, handler: Arc<dyn Handler>) -> Self {
        self.protocols.insert(protocol.into(), handler);
        self
    }

    /// Accepts SIMPLE authentication (default: no).
    pub fn simple_auth(mut self, enabled: bool) -> Self {
        self.simple = enabled;
        self
    }

    /// Accepts TOKEN authentication, verifying tokens with `verifier`.
    pub fn token_auth(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The protection levels offered to TOKEN clients, in order (`hadoop.rpc.protection`; default
    /// `authentication`).
    pub fn protection(mut self, qops: &[Qop]) -> Self {
        self.protection = qops.to_vec();
        self
    }

    /// The ciphers offered for `privacy` (default: 3des, rc4, des, rc4-56, rc4-40; JDK clients take
    /// the first they support).
    pub fn ciphers(mut self, ciphers: &[Cipher]) -> Self {
        self.ciphers = ciphers.to_vec();
        self
    }

    /// The largest request frame accepted (`ipc.maximum.data.length`, default 128 MiB).
    pub fn max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Binds the listener and starts accepting connections.
    pub async fn bind(self, address: impl ToSocketAddrs) -> std::io::Result<Server> {
        if !self.simple && self.verifier.is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the RPC server accepts no authentication: enable simple_auth or token_auth",
            ));
        }
        if self.protection.contains(&Qop::AuthConf) && self.ciphers.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the RPC server offers privacy but no cipher",
            ));
        }
        if self.protection.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the RPC server offers no protection level: configure at least one",
            ));
        }
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        let (closer, _) = watch::channel(0u64);
        let shared = Arc::new(ServerShared {
            protocols: self.protocols,
            simple: self.simple,
            verifier: self.verifier,
            protection: self.protection,
            ciphers: self.ciphers,
            max_frame_len: self.max_frame_len,
        });
        let accept = tokio::spawn(accept_loop(listener, shared, closer.subscribe()));
        Ok(Server {
            local_addr,
            accept,
            closer,
        })
    }
}

struct ServerShared {
    protocols: HashMap<String, Arc<dyn Handler>>,
    simple: bool,
    verifier: Option<Arc<dyn TokenVerifier>>,
    protection: Vec<Qop>,
    ciphers: Vec<Cipher>,
    max_frame_len: usize,
}

/// A running RPC server. Dropping it stops accepting and closes every connection.
pub struct Server {
    local_addr: SocketAddr,
    accept: JoinHandle<()>,
    closer: watch::Sender<u64>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A builder with no protocols, no authentication, protection `authentication`.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            protocols: HashMap::new(),
            simple: false,
            verifier: None,
            protection: vec![Qop::Auth],
            ciphers: Cipher::ALL.to_vec(),
            max_frame_len: frame::MAX_FRAME_LEN,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Closes every open connection (as a restarting server would); new connections are accepted.
    pub fn close_connections(&self) {
        self.closer.send_modify(|generation| *generation += 1);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
        self.close_connections();
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    closer: watch::Receiver<u64>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                let mut closer = closer.clone();
                closer.mark_unchanged();
                tokio::spawn(serve(stream, remote, shared.clone(), closer));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting an RPC connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// What the connection's writer task is told.
enum Out {
    /// Bytes to send (protected if a layer is installed).
    Frame(Vec<u8>),
    /// Install the security layer for everything after this.
    Seal(Sealer),
    /// Flush and close.
    Close,
}

async fn write_loop(
    mut writer: FrameWriter<OwnedWriteHalf>,
    mut queue: mpsc::UnboundedReceiver<Out>,
) {
    while let Some(out) = queue.recv().await {
        match out {
            Out::Frame(bytes) => {
                if writer.send(&bytes).await.is_err() {
                    break;
                }
            }
            Out::Seal(sealer) => writer.install(sealer),
            Out::Close => break,
        }
    }
    writer.shutdown().await;
}

async fn serve(
    stream: TcpStream,
    remote: SocketAddr,
    shared: Arc<ServerShared>,
    mut closer: watch::Receiver<u64>,
) {
    let (read, write) = stream.into_split();
    let (out, queue) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(FrameWriter::new(write, Side::Server), queue));
    let mut conn = Conn {
        shared,
        in_flight: Arc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT)),
        remote,
        out: out.clone(),
        sasl: SaslPhase::NotStarted,
        authenticated: None,
        context: None,
    };
    let reason = tokio::select! {
        reason = conn.run(read) => reason,
        _ = closer.changed() => "the server closed its connections".to_string(),
    };
    tracing::debug!(%remote, %reason, "RPC connection closed");
    let _ = out.send(Out::Close);
    drop(conn);
    drop(out);
    let _ = writer.await;
}

enum SaslPhase {
    NotStarted,
    Negotiating(Box<DigestMd5Server>),
    Done,
}

/// Where SASL negotiation stands, without the mechanism state.
#[derive(Clone, Copy)]
enum Stage {
    Fresh,
    Negotiating,
    Done,
}

struct Authenticated {
    method: AuthMethod,
    user: Option<String>,
    token_identifier: Option<Vec<u8>>,
    qop: Option<Qop>,
}

struct Context {
    user: String,
    protocol: String,
}

struct Conn {
    shared: Arc<ServerShared>,
    in_flight: Arc<Semaphore>,
    remote: SocketAddr,
    out: mpsc::UnboundedSender<Out>,
    sasl: SaslPhase,
    authenticated: Option<Authenticated>,
    context: Option<Context>,
}

/// Why a connection ends: already answered (if at all), with this reason for the log.
type Close = String;

fn fatal_frame(
    call_id: i32,
    code: RpcErrorCodeProto,
    class: &str,
    message: &str,
    client_id: &[u8],
) -> Vec<u8> {
    let mut header = frame::response_header(call_id, RpcStatusProto::Fatal, client_id, -1);
    header.exception_class_name = Some(class.to_string());
    header.error_msg = Some(message.to_string());
    header.error_detail = Some(code as i32);
    FrameBuilder::new().message(&header).finish()
}

impl Conn {
    fn send(&self, out: Out) {
        let _ = self.out.send(out);
    }

    /// Sends a FATAL reply and yields the reason to close.
    fn fatal(&self, call_id: i32, code: RpcErrorCodeProto, class: &str, message: &str) -> Close {
        tracing::warn!(remote = %self.remote, call_id, %class, %message, "closing RPC connection");
        self.send(Out::Frame(fatal_frame(call_id, code, class, message, &[])));
        format!("{class}: {message}")
    }

    async fn run(&mut self, mut read: OwnedReadHalf) -> Close {
        let auth_byte = match self.preamble(&mut read).await {
            Ok(b) => b,
            Err(reason) => return reason,
        };
        let mut reader = FrameReader::new(read, Side::Server, self.shared.max_frame_len);
        loop {
            let body = match reader.next().await {
                Ok(Some(body)) => body,
                Ok(None) => return "the client closed the connection".into(),
                Err(FrameError::TooLarge { len, max }) => {
                    tracing::warn!(remote = %self.remote, len, max, "RPC frame too large; closing");
                    return format!("requested data length {len} is longer than the maximum {max}");
                }
                Err(e) => {
                    tracing::warn!(remote = %self.remote, error = %e, "bad RPC input; closing");
                    return e.to_string();
                }
            };
            // At most MAX_CALLS_IN_FLIGHT calls per connection run at once; beyond that the connection
            // is not read (TCP pushes back on the client), like Hadoop's bounded call queue.
            let permit = self
                .in_flight
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            if let Err(reason) = self.process(&body, auth_byte, &mut reader, permit) {
                return reason;
            }
        }
    }

    /// Reads and checks the 7-byte preamble; answers HTTP and version mismatches as Hadoop does.
    async fn preamble(&mut self, read: &mut OwnedReadHalf) -> Result<u8, Close> {
        let mut magic = [0u8; 4];
        read.read_exact(&mut magic)
            .await
            .map_err(|e| format!("reading the preamble: {e}"))?;
        if &magic == b"GET " {
            tracing::warn!(remote = %self.remote, "HTTP request on the RPC port");
            self.send(Out::Frame(HTTP_RESPONSE.as_bytes().to_vec()));
            return Err("HTTP request on the RPC port".into());
        }
        let mut rest = [0u8; 3];
        read.read_exact(&mut rest)
            .await
            .map_err(|e| format!("reading the preamble: {e}"))?;
        let [version, _service_class, auth] = rest;
        if &magic != MAGIC || version != RPC_VERSION {
            if version >= RPC_VERSION {
                return Err(self.fatal(
                    call_id::AUTHORIZATION_FAILED,
                    RpcErrorCodeProto::FatalVersionMismatch,
                    "org.apache.hadoop.ipc.RPC$VersionMismatch",
                    &format!(
                        "Server IPC version {RPC_VERSION} cannot communicate with client version {version}"
                    ),
                ));
            }
            tracing::warn!(remote = %self.remote, version, "bad RPC preamble; closing");
            return Err(format!("bad preamble (version {version})"));
        }
        match auth {
            AUTH_NONE if !self.shared.simple => Err(self.fatal(
                call_id::AUTHORIZATION_FAILED,
                RpcErrorCodeProto::FatalUnauthorized,
                ACCESS_CONTROL,
                &format!(
                    "SIMPLE authentication is not enabled.  Available:{}",
                    self.available()
                ),
            )),
            AUTH_NONE => {
                self.authenticated = Some(Authenticated {
                    method: AuthMethod::Simple,
                    user: None,
                    token_identifier: None,
                    qop: None,
                });
                Ok(auth)
            }
            AUTH_SASL => Ok(auth),
            other => Err(self.fatal(
                call_id::AUTHORIZATION_FAILED,
                RpcErrorCodeProto::FatalUnauthorized,
                "org.apache.hadoop.ipc.IpcException",
                &format!("Unknown auth protocol:{}", other as i8),
            )),
        }
    }

    fn available(&self) -> String {
        let mut methods = Vec::new();
        if self.shared.verifier.is_some() {
            methods.push("TOKEN");
        }
        if self.shared.simple {
            methods.push("SIMPLE");
        }
        format!("[{}]", methods.join(", "))
    }

    fn process(
        &mut self,
        body: &[u8],
        auth_byte: u8,
        reader: &mut FrameReader<OwnedReadHalf>,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), Close> {
        let bad = |e: FrameError| e.to_string();
        let parts = match split_delimited(body) {
            Ok(p) => p,
            Err(e) => {
                return Err(self.fatal(
                    call_id::AUTHORIZATION_FAILED,
                    RpcErrorCodeProto::FatalDeserializingRequest,
                    SERVER_EXCEPTION,
                    &bad(e),
                ));
            }
        };
        let header: RpcRequestHeaderProto = match decode_part(&parts, 0, "request header") {
            Ok(h) => h,
            Err(e) => {
                return Err(self.fatal(
                    call_id::AUTHORIZATION_FAILED,
                    RpcErrorCodeProto::FatalDeserializingRequest,
                    SERVER_EXCEPTION,
                    &bad(e),
                ));
            }
        };
        let id = header.call_id;
        if header.rpc_kind.is_none() {
            return Err(self.fatal(
                id,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                "IPC Server: No rpc kind in rpcRequestHeader",
            ));
        }
        if header.rpc_op != Some(OperationProto::RpcFinalPacket as i32) {
            return Err(self.fatal(
                id,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                &format!(
                    "IPC Server does not implement rpc header operation {:?}",
                    header.rpc_op
                ),
            ));
        }
        match id {
            call_id::SASL => self.sasl(&parts, auth_byte, reader),
            call_id::CONNECTION_CONTEXT => self.connection_context(&parts, auth_byte),
            call_id::PING => Ok(()),
            id if id >= 0 => self.call(&parts, &header, permit),
            other => Err(self.fatal(
                other,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                &format!("Unknown out of band call #{other}"),
            )),
        }
    }

    fn token_auth(&self) -> SaslAuth {
        SaslAuth {
            method: "TOKEN".into(),
            mechanism: "DIGEST-MD5".into(),
            protocol: Some(SASL_PROTOCOL.into()),
            server_id: Some(SASL_SERVER_NAME.into()),
            challenge: None,
        }
    }

    fn simple_auth() -> SaslAuth {
        SaslAuth {
            method: "SIMPLE".into(),
            mechanism: String::new(),
            ..Default::default()
        }
    }

    fn sasl_unauthorized(&self, class: &str, message: &str) -> Close {
        self.fatal(
            call_id::AUTHORIZATION_FAILED,
            RpcErrorCodeProto::FatalUnauthorized,
            class,
            message,
        )
    }

    fn sasl(
        &mut self,
        parts: &[&[u8]],
        auth_byte: u8,
        reader: &mut FrameReader<OwnedReadHalf>,
    ) -> Result<(), Close> {
        if auth_byte != AUTH_SASL {
            return Err(self.fatal(
                call_id::SASL,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                "SASL protocol not requested by client",
            ));
        }
        let message: RpcSaslProto = match decode_part(parts, 1, "SASL message") {
            Ok(m) => m,
            Err(e) => {
                return Err(self.fatal(
                    call_id::SASL,
                    RpcErrorCodeProto::FatalDeserializingRequest,
                    SERVER_EXCEPTION,
                    &e.to_string(),
                ));
            }
        };
        let state = SaslState::try_from(message.state).ok();
        let stage = match self.sasl {
            SaslPhase::NotStarted => Stage::Fresh,
            SaslPhase::Negotiating(_) => Stage::Negotiating,
            SaslPhase::Done => Stage::Done,
        };
        match (state, stage) {
            (Some(SaslState::Negotiate), Stage::Fresh) => {
                let Some(_) = &self.shared.verifier else {
                    // SIMPLE only: tell the client to go on without SASL.
                    self.send(Out::Frame(frame::sasl_response(&RpcSaslProto {
                        state: SaslState::Success as i32,
                        ..Default::default()
                    })));
                    self.sasl = SaslPhase::Done;
                    self.authenticated = Some(Authenticated {
                        method: AuthMethod::Simple,
                        user: None,
                        token_identifier: None,
                        qop: None,
                    });
                    return Ok(());
                };
                let server =
                    DigestMd5Server::new(SASL_PROTOCOL, SASL_SERVER_NAME, &self.shared.protection)
                        .with_ciphers(&self.shared.ciphers);
                let mut auths = vec![SaslAuth {
                    challenge: Some(server.challenge()),
                    ..self.token_auth()
                }];
                if self.shared.simple {
                    auths.push(Self::simple_auth());
                }
                self.send(Out::Frame(frame::sasl_response(&RpcSaslProto {
                    state: SaslState::Negotiate as i32,
                    auths,
                    ..Default::default()
                })));
                self.sasl = SaslPhase::Negotiating(Box::new(server));
                Ok(())
            }
            (Some(SaslState::Initiate), Stage::Negotiating) => {
                let chosen = match message.auths.as_slice() {
                    [one] => one.clone(),
                    _ => {
                        return Err(self.sasl_unauthorized(
                            ACCESS_CONTROL,
                            "SASL INITIATE must name exactly one authentication method",
                        ));
                    }
                };
                if chosen == self.token_auth() {
                    let token = message.token.unwrap_or_default();
                    if token.is_empty() {
                        let SaslPhase::Negotiating(server) = &self.sasl else {
                            unreachable!("matched above")
                        };
                        self.send(Out::Frame(frame::sasl_response(&RpcSaslProto {
                            state: SaslState::Challenge as i32,
                            token: Some(server.challenge()),
                            ..Default::default()
                        })));
                        return Ok(());
                    }
                    self.verify(&token, reader)
                } else if self.shared.simple && chosen == Self::simple_auth() {
                    self.sasl = SaslPhase::Done;
                    self.authenticated = Some(Authenticated {
                        method: AuthMethod::Simple,
                        user: None,
                        token_identifier: None,
                        qop: None,
                    });
                    Ok(())
                } else {
                    Err(self.sasl_unauthorized(
                        ACCESS_CONTROL,
                        &format!(
                            "{} authentication is not enabled.  Available:{}",
                            chosen.method,
                            self.available()
                        ),
                    ))
                }
            }
            (Some(SaslState::Response), Stage::Negotiating) => {
                self.verify(message.token.as_deref().unwrap_or_default(), reader)
            }
            (_, Stage::Done) => Err(self.fatal(
                call_id::SASL,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                "SASL message after authentication completed",
            )),
            _ => Err(self.sasl_unauthorized(
                SASL_EXCEPTION,
                &format!("Client sent unexpected SASL state {}", message.state),
            )),
        }
    }

    fn verify(
        &mut self,
        response: &[u8],
        reader: &mut FrameReader<OwnedReadHalf>,
    ) -> Result<(), Close> {
        let (SaslPhase::Negotiating(server), Some(verifier)) =
            (&mut self.sasl, self.shared.verifier.clone())
        else {
            unreachable!("verify runs while negotiating TOKEN")
        };
        let mut who = None;
        let outcome = server.verify(response, |username| {
            let identifier = BASE64
                .decode(username)
                .map_err(|_| InvalidToken("the token identifier is not valid Base64".into()))?;
            let verified = verifier.verify(&identifier)?;
            let password = BASE64.encode(&verified.password);
            who = Some((verified.user, identifier));
            Ok(password)
        });
        match outcome {
            Ok((rspauth, negotiated)) => {
                let (user, identifier) = who.expect("the lookup ran");
                tracing::debug!(remote = %self.remote, %user, qop = %negotiated.qop, cipher = ?negotiated.cipher, "TOKEN authentication successful");
                self.send(Out::Frame(frame::sasl_response(&RpcSaslProto {
                    state: SaslState::Success as i32,
                    token: Some(rspauth),
                    ..Default::default()
                })));
                if let Some((sealer, opener)) = negotiated.layer {
                    self.send(Out::Seal(sealer));
                    reader.install(opener);
                }
                self.sasl = SaslPhase::Done;
                self.authenticated = Some(Authenticated {
                    method: AuthMethod::Token,
                    user: Some(user),
                    token_identifier: Some(identifier),
                    qop: Some(negotiated.qop),
                });
                Ok(())
            }
            Err(VerifyError::Lookup(InvalidToken(message))) => {
                Err(self.sasl_unauthorized(INVALID_TOKEN, &message))
            }
            Err(VerifyError::Sasl(e)) => {
                Err(self.sasl_unauthorized(SASL_EXCEPTION, &e.to_string()))
            }
        }
    }

    fn connection_context(&mut self, parts: &[&[u8]], auth_byte: u8) -> Result<(), Close> {
        let id = call_id::CONNECTION_CONTEXT;
        if auth_byte == AUTH_SASL && !matches!(self.sasl, SaslPhase::Done) {
            return Err(self.fatal(
                id,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                "Connection header sent during SASL negotiation",
            ));
        }
        if self.context.is_some() {
            return Err(self.fatal(
                id,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                "Connection context already processed",
            ));
        }
        let context: IpcConnectionContextProto = match decode_part(parts, 1, "connection context") {
            Ok(c) => c,
            Err(e) => {
                return Err(self.fatal(
                    id,
                    RpcErrorCodeProto::FatalDeserializingRequest,
                    SERVER_EXCEPTION,
                    &e.to_string(),
                ));
            }
        };
        let claimed = context
            .user_info
            .and_then(|u| u.effective_user)
            .filter(|u| !u.is_empty());
        let authenticated = self
            .authenticated
            .as_ref()
            .expect("authentication precedes the context");
        let user = match (&authenticated.user, claimed) {
            (Some(token_user), Some(claimed)) if &claimed != token_user => {
                return Err(self.sasl_unauthorized(
                    ACCESS_CONTROL,
                    &format!(
                        "Authenticated user ({token_user}) doesn't match what the client claims to be ({claimed})"
                    ),
                ));
            }
            (Some(token_user), _) => token_user.clone(),
            (None, Some(claimed)) => claimed,
            (None, None) => {
                return Err(self.sasl_unauthorized(
                    ACCESS_CONTROL,
                    "SIMPLE authentication needs a user name in the connection context",
                ));
            }
        };
        self.context = Some(Context {
            user,
            protocol: context.protocol.unwrap_or_default(),
        });
        Ok(())
    }

    fn call(
        &mut self,
        parts: &[&[u8]],
        header: &RpcRequestHeaderProto,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), Close> {
        let id = header.call_id;
        let (Some(context), Some(authenticated)) = (&self.context, &self.authenticated) else {
            return Err(self.fatal(
                id,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                SERVER_EXCEPTION,
                "Connection context not established",
            ));
        };
        let request: RequestHeaderProto = match decode_part(parts, 1, "request header") {
            Ok(r) => r,
            Err(e) => {
                return Err(self.fatal(
                    id,
                    RpcErrorCodeProto::FatalDeserializingRequest,
                    SERVER_EXCEPTION,
                    &e.to_string(),
                ));
            }
        };
        let body = parts.get(2).map(|b| b.to_vec()).unwrap_or_default();
        let retry = header.retry_count.unwrap_or(-1);
        let client_id = header.client_id.clone();
        let call_context = CallContext {
            user: context.user.clone(),
            auth: authenticated.method,
            token_identifier: authenticated.token_identifier.clone(),
            qop: authenticated.qop,
            connection_protocol: context.protocol.clone(),
            protocol: request.declaring_class_protocol_name.clone(),
            remote: self.remote,
            call_id: id,
        };
        let handler = self
            .shared
            .protocols
            .get(&request.declaring_class_protocol_name)
            .filter(|_| request.client_protocol_version == PROTOCOL_VERSION)
            .cloned();
        let out = self.out.clone();
        tokio::spawn(async move {
            let result = match handler {
                None => Err(RemoteException::no_such_protocol(
                    &request.declaring_class_protocol_name,
                    request.client_protocol_version,
                )),
                Some(handler) => {
                    let method = request.method_name.clone();
                    let task =
                        tokio::spawn(
                            async move { handler.call(&call_context, &method, &body).await },
                        );
                    task.await.unwrap_or_else(|_| {
                        Err(RemoteException {
                            class_name: SERVER_EXCEPTION.into(),
                            message: format!("the handler of {} failed", request.method_name),
                            code: RpcErrorCodeProto::ErrorRpcServer,
                        })
                    })
                }
            };
            let reply = match result {
                Ok(response) => FrameBuilder::new()
                    .message(&frame::response_header(
                        id,
                        RpcStatusProto::Success,
                        &client_id,
                        retry,
                    ))
                    .encoded(&response)
                    .finish(),
                Err(exception) => {
                    let mut header =
                        frame::response_header(id, RpcStatusProto::Error, &client_id, retry);
                    header.exception_class_name = Some(exception.class_name);
                    header.error_msg = Some(exception.message);
                    header.error_detail = Some(exception.code as i32);
                    FrameBuilder::new().message(&header).finish()
                }
            };
            let _ = out.send(Out::Frame(reply));
            drop(permit);
        });
        Ok(())
    }
}

/// Decodes a request message for a handler, answering Hadoop-style if it does not decode.
pub fn decode_request<M: Message + Default>(
    method: &str,
    request: &[u8],
) -> Result<M, RemoteException> {
    M::decode(request).map_err(|e| RemoteException::undecodable(method, e))
}
