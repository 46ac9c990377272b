//! The TaskExecutor's side of the connection to the ApplicationMaster.
//!
//! `connect` opens the TCP connection, runs the mutual handshake (the TaskExecutor checks the AM's
//! proof before trusting it, since the AM tells it which commands to run), and returns an
//! [`AmConnection`] that sends [`ToAm`] and receives [`ToTe`] messages. It can be split so that one
//! task reads while another writes.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::auth::{self, AuthError, Handshake, Secret};
use super::frame::{FrameError, FrameReader, FrameWriter, HANDSHAKE_MAX_FRAME_LEN};
use super::messages::{PROTOCOL_VERSION, ResourceId, ToAm, ToTe};

/// Why connecting to the ApplicationMaster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the ApplicationMaster at {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("the ApplicationMaster at {address} did not complete the handshake within {timeout:?}")]
    HandshakeTimeout { address: String, timeout: Duration },
    #[error("the ApplicationMaster at {address} refused the connection: {reason}")]
    Refused { address: String, reason: String },
    #[error("the endpoint at {address} failed authentication: {source}")]
    Auth { address: String, source: AuthError },
    #[error("handshake with {address} failed: {detail}")]
    Protocol { address: String, detail: String },
    #[error("handshake with {address} failed: {source}")]
    Frame { address: String, source: FrameError },
}

/// An authenticated connection to the ApplicationMaster.
pub struct AmConnection {
    reader: AmReceiver,
    writer: AmSender,
}

/// Receiving half of an [`AmConnection`].
pub struct AmReceiver(FrameReader<OwnedReadHalf>);

/// Sending half of an [`AmConnection`].
pub struct AmSender(FrameWriter<OwnedWriteHalf>);

impl AmReceiver {
    /// The next message; `Ok(None)` when the ApplicationMaster closed the connection. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<ToTe>, FrameError> {
        self.0.read_message().await
    }
}

impl AmSender {
    pub async fn send(&mut self, message: &ToAm) -> Result<(), FrameError> {
        self.0.write_message(message).await
    }

    /// Closes the sending direction.
    pub async fn shutdown(&mut self) -> Result<(), FrameError> {
        self.0.shutdown().await
    }
}

impl AmConnection {
    pub async fn send(&mut self, message: &ToAm) -> Result<(), FrameError> {
        self.writer.send(message).await
    }

    pub async fn recv(&mut self) -> Result<Option<ToTe>, FrameError> {
        self.reader.recv().await
    }

    pub fn into_split(self) -> (AmReceiver, AmSender) {
        (self.reader, self.writer)
    }
}

/// Connects to the ApplicationMaster at `address` (`host:port`) and authenticates as `resource_id`.
pub async fn connect(
    address: &str,
    resource_id: &ResourceId,
    secret: &Secret,
    max_frame_len: usize,
    handshake_timeout: Duration,
) -> Result<AmConnection, ClientError> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|source| ClientError::Connect {
            address: address.to_string(),
            source,
        })?;
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let handshake_max = max_frame_len.min(HANDSHAKE_MAX_FRAME_LEN);
    let mut reader = FrameReader::new(read, handshake_max);
    let mut writer = FrameWriter::new(write, handshake_max);
    tokio::time::timeout(
        handshake_timeout,
        handshake(&mut reader, &mut writer, address, resource_id, secret),
    )
    .await
    .map_err(|_| ClientError::HandshakeTimeout {
        address: address.to_string(),
        timeout: handshake_timeout,
    })??;
    reader.set_max(max_frame_len);
    writer.set_max(max_frame_len);
    Ok(AmConnection {
        reader: AmReceiver(reader),
        writer: AmSender(writer),
    })
}

async fn handshake(
    reader: &mut FrameReader<OwnedReadHalf>,
    writer: &mut FrameWriter<OwnedWriteHalf>,
    address: &str,
    resource_id: &ResourceId,
    secret: &Secret,
) -> Result<(), ClientError> {
    let frame_err = |source| ClientError::Frame {
        address: address.to_string(),
        source,
    };
    let client_nonce = auth::new_nonce();
    writer
        .write_message(&Handshake::ClientHello {
            version: PROTOCOL_VERSION,
            resource_id: resource_id.clone(),
            client_nonce: hex::encode(client_nonce),
        })
        .await
        .map_err(frame_err)?;
    let server_nonce = match expect(reader, address).await? {
        Handshake::ServerChallenge {
            server_nonce,
            server_proof,
        } => {
            let auth_err = |source| ClientError::Auth {
                address: address.to_string(),
                source,
            };
            let server_nonce = auth::decode_nonce(&server_nonce).map_err(auth_err)?;
            auth::verify_server_proof(
                secret,
                &client_nonce,
                &server_nonce,
                resource_id,
                &server_proof,
            )
            .map_err(auth_err)?;
            server_nonce
        }
        other => return Err(unexpected(address, "server_challenge", other)),
    };
    writer
        .write_message(&Handshake::ClientProof {
            proof: auth::client_proof(secret, &server_nonce, &client_nonce, resource_id),
        })
        .await
        .map_err(frame_err)?;
    match expect(reader, address).await? {
        Handshake::Accepted => Ok(()),
        other => Err(unexpected(address, "accepted", other)),
    }
}

async fn expect(
    reader: &mut FrameReader<OwnedReadHalf>,
    address: &str,
) -> Result<Handshake, ClientError> {
    match reader.read_message::<Handshake>().await {
        Ok(Some(message)) => Ok(message),
        Ok(None) => Err(ClientError::Protocol {
            address: address.to_string(),
            detail: "the connection was closed during the handshake".to_string(),
        }),
        Err(source) => Err(ClientError::Frame {
            address: address.to_string(),
            source,
        }),
    }
}

fn unexpected(address: &str, expected: &str, got: Handshake) -> ClientError {
    match got {
        Handshake::Refused { reason } => ClientError::Refused {
            address: address.to_string(),
            reason,
        },
        other => ClientError::Protocol {
            address: address.to_string(),
            detail: format!("expected {expected}, got {other:?}"),
        },
    }
}
