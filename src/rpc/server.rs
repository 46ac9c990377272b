//! The ApplicationMaster's endpoint for TaskExecutors.
//!
//! TaskExecutors connect out to the ApplicationMaster, so the AM listens. `TaskExecutorServer` accepts
//! connections, authenticates each one, and then runs one task per connection that turns frames into
//! typed [`ServerEvent`]s on the AM actor's channel and sends the commands given through that
//! connection's [`TaskExecutorHandle`]. A misbehaving peer (garbage, oversized frames, wrong secret,
//! silence past the heartbeat timeout) loses only its own connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::auth::{self, Handshake, Secret};
use super::frame::{FrameError, FrameReader, FrameWriter, HANDSHAKE_MAX_FRAME_LEN, MAX_FRAME_LEN};
use super::messages::{PROTOCOL_VERSION, ResourceId, ToAm, ToTe};

/// Settings of the ApplicationMaster's TaskExecutor endpoint.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The application's secret that TaskExecutors must prove they know.
    pub secret: Secret,
    /// A connection that sends nothing for this long is closed (Flink's `heartbeat.timeout`).
    pub heartbeat_timeout: Duration,
    /// Time allowed for a new connection to authenticate.
    pub handshake_timeout: Duration,
    /// Largest accepted frame payload.
    pub max_frame_len: usize,
}

impl ServerConfig {
    /// Defaults: 50 s heartbeat timeout, 10 s to authenticate, 16 MiB frames.
    pub fn new(secret: Secret) -> Self {
        ServerConfig {
            secret,
            heartbeat_timeout: Duration::from_secs(50),
            handshake_timeout: Duration::from_secs(10),
            max_frame_len: MAX_FRAME_LEN,
        }
    }
}

/// Distinguishes connections, including successive connections of the same TaskExecutor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// What the endpoint tells the ApplicationMaster's actor.
#[derive(Debug)]
pub enum ServerEvent {
    /// A TaskExecutor authenticated; its first message will normally be `ToAm::Register`.
    Connected { handle: TaskExecutorHandle },
    /// A message from an authenticated TaskExecutor.
    Message {
        connection: ConnectionId,
        resource_id: ResourceId,
        message: ToAm,
    },
    /// The connection ended (closed by either side, a protocol error, or heartbeat timeout).
    Disconnected {
        connection: ConnectionId,
        resource_id: ResourceId,
        reason: String,
    },
}

/// Why a command could not be handed to a connection.
#[derive(Debug, thiserror::Error)]
#[error("the connection to TaskExecutor {resource_id} ({connection:?}) is closed")]
pub struct ConnectionClosed {
    pub connection: ConnectionId,
    pub resource_id: ResourceId,
}

#[derive(Debug)]
enum Command {
    Send(ToTe),
    Close(String),
}

/// Sends commands to one connected TaskExecutor. Cheap to clone; never blocks.
#[derive(Clone, Debug)]
pub struct TaskExecutorHandle {
    connection: ConnectionId,
    resource_id: ResourceId,
    peer: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
}

impl TaskExecutorHandle {
    pub fn connection(&self) -> ConnectionId {
        self.connection
    }

    /// The resource id (container id) the TaskExecutor authenticated with.
    pub fn resource_id(&self) -> &ResourceId {
        &self.resource_id
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Queues a message for the TaskExecutor.
    pub fn send(&self, message: ToTe) -> Result<(), ConnectionClosed> {
        self.commands
            .send(Command::Send(message))
            .map_err(|_| self.closed())
    }

    /// Sends `Disconnect { reason }` and closes the connection.
    pub fn disconnect(&self, reason: impl Into<String>) -> Result<(), ConnectionClosed> {
        self.commands
            .send(Command::Close(reason.into()))
            .map_err(|_| self.closed())
    }

    fn closed(&self) -> ConnectionClosed {
        ConnectionClosed {
            connection: self.connection,
            resource_id: self.resource_id.clone(),
        }
    }
}

/// The listening endpoint. Dropping it stops accepting; established connections live on until
/// they end or the AM drops their handles and event receiver.
pub struct TaskExecutorServer {
    local_addr: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl TaskExecutorServer {
    /// Binds `addr` and starts accepting TaskExecutors; events go to `events`.
    pub async fn bind(
        addr: impl ToSocketAddrs,
        config: ServerConfig,
        events: mpsc::Sender<ServerEvent>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        info!(%local_addr, "listening for TaskExecutors");
        let accept_task = tokio::spawn(accept_loop(listener, Arc::new(config), events));
        Ok(TaskExecutorServer {
            local_addr,
            accept_task,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for TaskExecutorServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    events: mpsc::Sender<ServerEvent>,
) {
    let next_id = AtomicU64::new(1);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let id = ConnectionId(next_id.fetch_add(1, Ordering::Relaxed));
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    id,
                    config.clone(),
                    events.clone(),
                ));
            }
            Err(err) => {
                // Typically out of file descriptors; back off instead of spinning.
                warn!(%err, "accepting a TaskExecutor connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

type Reader = FrameReader<tokio::net::tcp::OwnedReadHalf>;
type Writer = FrameWriter<tokio::net::tcp::OwnedWriteHalf>;

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    connection: ConnectionId,
    config: Arc<ServerConfig>,
    events: mpsc::Sender<ServerEvent>,
) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let handshake_max = config.max_frame_len.min(HANDSHAKE_MAX_FRAME_LEN);
    let mut reader = FrameReader::new(read, handshake_max);
    let mut writer = FrameWriter::new(write, handshake_max);

    let handshake = tokio::time::timeout(
        config.handshake_timeout,
        authenticate(&mut reader, &mut writer, &config.secret),
    )
    .await;
    let resource_id = match handshake {
        Ok(Ok(resource_id)) => resource_id,
        Ok(Err(reason)) => {
            warn!(%peer, "refused a TaskExecutor connection: {reason}");
            let _ = writer.write_message(&Handshake::Refused { reason }).await;
            return;
        }
        Err(_) => {
            warn!(%peer, timeout = ?config.handshake_timeout, "a connection did not authenticate in time; closing it");
            return;
        }
    };
    info!(%peer, %resource_id, ?connection, "TaskExecutor authenticated");
    reader.set_max(config.max_frame_len);
    writer.set_max(config.max_frame_len);

    let (commands, mut command_rx) = mpsc::unbounded_channel();
    let handle = TaskExecutorHandle {
        connection,
        resource_id: resource_id.clone(),
        peer,
        commands,
    };
    if events
        .send(ServerEvent::Connected { handle })
        .await
        .is_err()
    {
        return;
    }

    let reason = run_connection(
        &mut reader,
        &mut writer,
        &mut command_rx,
        &events,
        connection,
        &resource_id,
        config.heartbeat_timeout,
    )
    .await;
    info!(%peer, %resource_id, "TaskExecutor connection closed: {reason}");
    let _ = writer.shutdown().await;
    let _ = events
        .send(ServerEvent::Disconnected {
            connection,
            resource_id,
            reason,
        })
        .await;
}

/// Runs the handshake; returns the authenticated resource id, or the reason to refuse.
async fn authenticate(
    reader: &mut Reader,
    writer: &mut Writer,
    secret: &Secret,
) -> Result<ResourceId, String> {
    let hello = reader
        .read_message::<Handshake>()
        .await
        .map_err(|e| e.to_string())?;
    let (resource_id, client_nonce) = match hello {
        Some(Handshake::ClientHello {
            version,
            resource_id,
            client_nonce,
        }) => {
            if version != PROTOCOL_VERSION {
                return Err(format!(
                    "protocol version {version} is not supported (this ApplicationMaster speaks \
                     version {PROTOCOL_VERSION}); run the same spindle version on both sides"
                ));
            }
            let nonce = auth::decode_nonce(&client_nonce).map_err(|e| e.to_string())?;
            (resource_id, nonce)
        }
        Some(other) => return Err(format!("expected client_hello, got {}", variant(&other))),
        None => return Err("connection closed before the handshake".to_string()),
    };
    let server_nonce = auth::new_nonce();
    let server_proof = auth::server_proof(secret, &client_nonce, &server_nonce, &resource_id);
    writer
        .write_message(&Handshake::ServerChallenge {
            server_nonce: hex::encode(server_nonce),
            server_proof,
        })
        .await
        .map_err(|e| e.to_string())?;
    match reader
        .read_message::<Handshake>()
        .await
        .map_err(|e| e.to_string())?
    {
        Some(Handshake::ClientProof { proof }) => {
            auth::verify_client_proof(secret, &server_nonce, &client_nonce, &resource_id, &proof)
                .map_err(|e| format!("TaskExecutor {resource_id}: {e}"))?;
        }
        Some(other) => return Err(format!("expected client_proof, got {}", variant(&other))),
        None => return Err("connection closed during the handshake".to_string()),
    }
    writer
        .write_message(&Handshake::Accepted)
        .await
        .map_err(|e| e.to_string())?;
    Ok(resource_id)
}

fn variant(message: &Handshake) -> &'static str {
    match message {
        Handshake::ClientHello { .. } => "client_hello",
        Handshake::ServerChallenge { .. } => "server_challenge",
        Handshake::ClientProof { .. } => "client_proof",
        Handshake::Accepted => "accepted",
        Handshake::Refused { .. } => "refused",
    }
}

/// Pumps frames and commands until the connection ends; returns why it ended.
async fn run_connection(
    reader: &mut Reader,
    writer: &mut Writer,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::Sender<ServerEvent>,
    connection: ConnectionId,
    resource_id: &ResourceId,
    heartbeat_timeout: Duration,
) -> String {
    loop {
        tokio::select! {
            read = tokio::time::timeout(heartbeat_timeout, reader.read_message::<ToAm>()) => {
                let message = match read {
                    Err(_) => {
                        let reason = format!(
                            "no message from the TaskExecutor for {heartbeat_timeout:?} (heartbeat timeout)"
                        );
                        let _ = writer.write_message(&ToTe::Disconnect { reason: reason.clone() }).await;
                        return reason;
                    }
                    Ok(Ok(Some(message))) => message,
                    Ok(Ok(None)) => return "closed by the TaskExecutor".to_string(),
                    Ok(Err(err @ FrameError::Io(_))) => return err.to_string(),
                    Ok(Err(err)) => {
                        let reason = format!("protocol error: {err}");
                        let _ = writer.write_message(&ToTe::Disconnect { reason: reason.clone() }).await;
                        return reason;
                    }
                };
                debug!(%resource_id, ?message, "from TaskExecutor");
                let event = ServerEvent::Message { connection, resource_id: resource_id.clone(), message };
                if events.send(event).await.is_err() {
                    return "the ApplicationMaster stopped".to_string();
                }
            }
            command = commands.recv() => {
                let (message, close) = match command {
                    Some(Command::Send(message)) => (message, None),
                    Some(Command::Close(reason)) => (ToTe::Disconnect { reason: reason.clone() }, Some(reason)),
                    None => {
                        let reason = "the ApplicationMaster dropped the connection".to_string();
                        (ToTe::Disconnect { reason: reason.clone() }, Some(reason))
                    }
                };
                if let Err(err) = writer.write_message(&message).await {
                    return format!("sending to the TaskExecutor failed: {err}");
                }
                if let Some(reason) = close {
                    return format!("disconnected by the ApplicationMaster: {reason}");
                }
            }
        }
    }
}
