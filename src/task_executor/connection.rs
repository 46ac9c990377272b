//! The TaskExecutor's link to the ApplicationMaster, run beside its actor.
//!
//! A connector task dials the ApplicationMaster and authenticates, retrying with exponential backoff,
//! and on success starts a reader task (frames in, [`NetEvent::Message`]s out) and a writer task
//! (messages from the actor out). Every connection carries a generation number, so the actor can
//! ignore events from a connection it has already given up on.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::rpc::{self, ResourceId, Secret, ToAm, ToTe};

/// What the connection tasks tell the actor.
#[derive(Debug)]
pub enum NetEvent {
    /// Connected and authenticated; messages for the ApplicationMaster go into `sender`.
    Connected {
        generation: u64,
        sender: mpsc::UnboundedSender<ToAm>,
    },
    Message {
        generation: u64,
        message: ToTe,
    },
    /// The connection ended.
    Lost {
        generation: u64,
        reason: String,
    },
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Dialer {
    pub address: String,
    pub resource_id: ResourceId,
    pub secret: Secret,
    pub max_frame_len: usize,
    pub handshake_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

/// Starts connecting after `first_delay`, retrying until it succeeds (the actor decides when to
/// give up, by its unreachable deadline, and then stops the runtime or drops `events`).
pub fn spawn_connector(
    dialer: Dialer,
    generation: u64,
    first_delay: Duration,
    events: mpsc::UnboundedSender<NetEvent>,
) {
    tokio::spawn(async move {
        tokio::time::sleep(first_delay).await;
        let mut backoff = dialer.initial_backoff;
        loop {
            if events.is_closed() {
                return;
            }
            match rpc::connect(
                &dialer.address,
                &dialer.resource_id,
                &dialer.secret,
                dialer.max_frame_len,
                dialer.handshake_timeout,
            )
            .await
            {
                Ok(connection) => {
                    start_io(connection, generation, events);
                    return;
                }
                Err(err) => {
                    warn!("{err}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(dialer.max_backoff);
                }
            }
        }
    });
}

fn start_io(
    connection: rpc::AmConnection,
    generation: u64,
    events: mpsc::UnboundedSender<NetEvent>,
) {
    let (mut receiver, mut sender) = connection.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<ToAm>();

    let writer_events = events.clone();
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if let Err(err) = sender.send(&message).await {
                let reason = format!("sending to the ApplicationMaster failed: {err}");
                let _ = writer_events.send(NetEvent::Lost { generation, reason });
                return;
            }
        }
        // The actor dropped this connection.
        let _ = sender.shutdown().await;
    });

    let _ = events.send(NetEvent::Connected {
        generation,
        sender: tx,
    });
    tokio::spawn(async move {
        let reason = loop {
            match receiver.recv().await {
                Ok(Some(message)) => {
                    debug!(?message, "from the ApplicationMaster");
                    if events
                        .send(NetEvent::Message {
                            generation,
                            message,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(None) => break "the ApplicationMaster closed the connection".to_string(),
                Err(err) => break err.to_string(),
            }
        };
        let _ = events.send(NetEvent::Lost { generation, reason });
    });
}
