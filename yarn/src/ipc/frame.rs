//! Hadoop RPC v9 framing: the 7-byte connection preamble and the frames that follow it, each a big-endian
//! u32 length and that many bytes of varint-delimited protobuf messages (a header, then a body).
//! Also the SASL-aware reader and writer that unwrap and wrap frames once a security layer is in force.
//!
//! Every decoder here takes arbitrary bytes and answers with a [`FrameError`], never a panic.

use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::proto::hadoop::common::rpc_request_header_proto::OperationProto;
use crate::proto::hadoop::common::rpc_response_header_proto::RpcStatusProto;
use crate::proto::hadoop::common::rpc_sasl_proto::SaslState;
use crate::proto::hadoop::common::{
    RpcKindProto, RpcRequestHeaderProto, RpcResponseHeaderProto, RpcSaslProto,
};
use crate::sasl::{Opener, Sealer};

/// The 4 magic bytes that open a connection.
pub const MAGIC: &[u8; 4] = b"hrpc";
/// The only RPC version spoken here.
pub const RPC_VERSION: u8 = 9;
/// Preamble auth byte: no SASL (simple authentication, user named in the connection context).
pub const AUTH_NONE: u8 = 0x00;
/// Preamble auth byte: SASL negotiation follows (Hadoop's `AuthProtocol.SASL`, −33).
pub const AUTH_SASL: u8 = 0xDF;
/// Hadoop's default `ipc.maximum.data.length` and `ipc.maximum.response.length`: 128 MiB.
pub const MAX_FRAME_LEN: usize = 128 * 1024 * 1024;

/// Call ids with a special meaning (Hadoop's `RpcConstants`).
pub mod call_id {
    /// A server reply about a connection that failed authorization or used a bad version.
    pub const AUTHORIZATION_FAILED: i32 = -1;
    /// The connection context, sent once after SASL.
    pub const CONNECTION_CONTEXT: i32 = -3;
    /// A client keep-alive; servers ignore it.
    pub const PING: i32 = -4;
    /// SASL negotiation and wrapped traffic.
    pub const SASL: i32 = -33;
}

/// The server's RPC version as sent in every response header.
pub const SERVER_IPC_VERSION: u32 = 9;

/// What can go wrong reading frames.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer announced a frame beyond the configured limit.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes (ipc.maximum.data.length)")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The bytes do not form the expected messages.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The connection ended inside a frame.
    #[error("the connection ended in the middle of a frame")]
    Truncated,
    /// A wrapped message failed its SASL checks.
    #[error("{0}")]
    Sasl(#[from] crate::sasl::SaslError),
}

/// The connection preamble: `hrpc`, version 9, service class 0, auth protocol.
pub fn preamble(auth: u8) -> [u8; 7] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], RPC_VERSION, 0, auth]
}

/// Builds one frame: a length placeholder, then delimited messages; [`FrameBuilder::finish`] fills in
/// the length.
#[derive(Debug)]
pub struct FrameBuilder {
    buf: Vec<u8>,
}

impl Default for FrameBuilder {
    fn default() -> Self {
        FrameBuilder::new()
    }
}

impl FrameBuilder {
    /// An empty frame.
    pub fn new() -> FrameBuilder {
        FrameBuilder { buf: vec![0; 4] }
    }

    /// Appends a message with its varint length prefix.
    pub fn message<M: Message>(mut self, message: &M) -> FrameBuilder {
        message
            .encode_length_delimited(&mut self.buf)
            .expect("a Vec grows as needed");
        self
    }

    /// Appends already-encoded message bytes with a varint length prefix.
    pub fn encoded(mut self, bytes: &[u8]) -> FrameBuilder {
        prost::encoding::encode_varint(bytes.len() as u64, &mut self.buf);
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The complete frame, length included.
    pub fn finish(mut self) -> Vec<u8> {
        let len = (self.buf.len() - 4) as u32;
        self.buf[0..4].copy_from_slice(&len.to_be_bytes());
        self.buf
    }
}

/// Splits a frame body (without its 4-byte length) into its delimited messages.
pub fn split_delimited(body: &[u8]) -> Result<Vec<&[u8]>, FrameError> {
    let mut parts = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let len = prost::encoding::decode_varint(&mut rest)
            .map_err(|e| FrameError::Malformed(format!("bad length prefix: {e}")))?;
        if len > rest.len() as u64 {
            return Err(FrameError::Malformed(format!(
                "a message claims {len} bytes but only {} remain in the frame",
                rest.len()
            )));
        }
        let (part, tail) = rest.split_at(len as usize);
        parts.push(part);
        rest = tail;
    }
    Ok(parts)
}

/// Decodes message `index` of a split frame, naming it in the error.
pub fn decode_part<M: Message + Default>(
    parts: &[&[u8]],
    index: usize,
    what: &str,
) -> Result<M, FrameError> {
    let bytes = parts
        .get(index)
        .ok_or_else(|| FrameError::Malformed(format!("the frame has no {what}")))?;
    M::decode(*bytes).map_err(|e| FrameError::Malformed(format!("cannot decode the {what}: {e}")))
}

/// Reads one frame body. `Ok(None)` means the peer closed the connection cleanly between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    io: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = io.read(&mut len[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        got += n;
    }
    let len = u32::from_be_bytes(len);
    if len as u64 > max as u64 || len > i32::MAX as u32 {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    // Grow the buffer as bytes arrive rather than trusting the announced length up front, so a peer
    // that announces a large frame and stalls does not pin that much memory.
    let mut body = Vec::with_capacity((len as usize).min(64 * 1024));
    (&mut *io)
        .take(u64::from(len))
        .read_to_end(&mut body)
        .await?;
    if body.len() != len as usize {
        return Err(FrameError::Truncated);
    }
    Ok(Some(body))
}

/// Takes one complete frame body off the front of a plaintext buffer, if one is there.
pub fn take_frame(buf: &mut Vec<u8>, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > max {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let body = buf[4..4 + len].to_vec();
    buf.drain(..4 + len);
    Ok(Some(body))
}

/// A request header as Hadoop's Java client builds it (protobuf kind, final packet).
pub fn request_header(call_id: i32, client_id: &[u8], retry_count: i32) -> RpcRequestHeaderProto {
    RpcRequestHeaderProto {
        rpc_kind: Some(RpcKindProto::RpcProtocolBuffer as i32),
        rpc_op: Some(OperationProto::RpcFinalPacket as i32),
        call_id,
        client_id: client_id.to_vec(),
        retry_count: Some(retry_count),
        ..Default::default()
    }
}

/// A response header echoing the call's id, client id and retry count.
pub fn response_header(
    call_id: i32,
    status: RpcStatusProto,
    client_id: &[u8],
    retry_count: i32,
) -> RpcResponseHeaderProto {
    RpcResponseHeaderProto {
        call_id: call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(SERVER_IPC_VERSION),
        client_id: Some(client_id.to_vec()),
        retry_count: Some(retry_count),
        ..Default::default()
    }
}

/// A client SASL frame (call id −33, empty client id, retry −1).
pub fn sasl_request(message: &RpcSaslProto) -> Vec<u8> {
    FrameBuilder::new()
        .message(&request_header(call_id::SASL, &[], -1))
        .message(message)
        .finish()
}

/// A server SASL frame (call id −33, SUCCESS).
pub fn sasl_response(message: &RpcSaslProto) -> Vec<u8> {
    FrameBuilder::new()
        .message(&response_header(
            call_id::SASL,
            RpcStatusProto::Success,
            &[],
            -1,
        ))
        .message(message)
        .finish()
}

/// Which end of a connection a reader or writer serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// Reads frames, unwrapping SASL WRAP messages once a security layer is installed.
pub(crate) struct FrameReader<R> {
    io: R,
    side: Side,
    max: usize,
    opener: Option<Opener>,
    plain: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub(crate) fn new(io: R, side: Side, max: usize) -> FrameReader<R> {
        FrameReader {
            io,
            side,
            max,
            opener: None,
            plain: Vec::new(),
        }
    }

    /// From now on every frame from the peer must be a SASL WRAP message.
    pub(crate) fn install(&mut self, opener: Opener) {
        self.opener = Some(opener);
    }

    /// The next frame body, plaintext; `Ok(None)` on a clean close.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        loop {
            let Some(opener) = &mut self.opener else {
                return read_frame(&mut self.io, self.max).await;
            };
            if let Some(frame) = take_frame(&mut self.plain, self.max)? {
                return Ok(Some(frame));
            }
            let Some(outer) = read_frame(&mut self.io, self.max).await? else {
                return if self.plain.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            };
            let parts = split_delimited(&outer)?;
            let header_call_id = match self.side {
                Side::Client => {
                    let h: RpcResponseHeaderProto = decode_part(&parts, 0, "response header")?;
                    if h.status != RpcStatusProto::Success as i32 {
                        // An unwrapped failure report: hand it up as is.
                        return Ok(Some(outer));
                    }
                    h.call_id as i32
                }
                Side::Server => {
                    decode_part::<RpcRequestHeaderProto>(&parts, 0, "request header")?.call_id
                }
            };
            if header_call_id != call_id::SASL {
                return Err(FrameError::Malformed(format!(
                    "expected a SASL WRAP message (the connection negotiated integrity or privacy) \
                     but got call id {header_call_id}"
                )));
            }
            let sasl: RpcSaslProto = decode_part(&parts, 1, "SASL message")?;
            if sasl.state != SaslState::Wrap as i32 {
                return Err(FrameError::Malformed(format!(
                    "expected a SASL WRAP message but got state {}",
                    sasl.state
                )));
            }
            let plain = opener.unwrap(sasl.token.as_deref().unwrap_or_default())?;
            if self.plain.len() + plain.len() > self.max + 4 {
                return Err(FrameError::TooLarge {
                    len: (self.plain.len() + plain.len()) as u64,
                    max: self.max,
                });
            }
            self.plain.extend_from_slice(&plain);
        }
    }
}

/// Writes frames, wrapping them into SASL WRAP messages once a security layer is installed.
pub(crate) struct FrameWriter<W> {
    io: W,
    side: Side,
    sealer: Option<Sealer>,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub(crate) fn new(io: W, side: Side) -> FrameWriter<W> {
        FrameWriter {
            io,
            side,
            sealer: None,
        }
    }

    pub(crate) fn install(&mut self, sealer: Sealer) {
        self.sealer = Some(sealer);
    }

    /// Sends bytes that are one or more complete frames (or the preamble), protected if required.
    pub(crate) async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.sealer {
            None => self.io.write_all(bytes).await?,
            Some(sealer) => {
                let mut out = Vec::with_capacity(bytes.len() + 64);
                for chunk in bytes.chunks(sealer.max_plain()) {
                    let wrap = RpcSaslProto {
                        state: SaslState::Wrap as i32,
                        token: Some(sealer.wrap(chunk)),
                        ..Default::default()
                    };
                    out.extend(match self.side {
                        Side::Client => sasl_request(&wrap),
                        Side::Server => sasl_response(&wrap),
                    });
                }
                self.io.write_all(&out).await?;
            }
        }
        self.io.flush().await
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = self.io.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::hadoop::common::IpcConnectionContextProto;
    use proptest::prelude::*;

    /// §1.10 of the protocol notes: the complete SASL NEGOTIATE frame.
    #[test]
    fn negotiate_frame_bytes() {
        let frame = sasl_request(&RpcSaslProto {
            state: SaslState::Negotiate as i32,
            ..Default::default()
        });
        assert_eq!(
            frame,
            [
                0x00, 0x00, 0x00, 0x0E, 0x0A, 0x08, 0x02, 0x10, 0x00, 0x18, 0x41, 0x22, 0x00, 0x28,
                0x01, 0x02, 0x10, 0x01
            ]
        );
    }

    /// §1.10: the connection-context header (26 bytes) and the TOKEN-auth context body.
    #[test]
    fn context_bytes() {
        let client_id = [0xABu8; 16];
        let header = request_header(call_id::CONNECTION_CONTEXT, &client_id, -1).encode_to_vec();
        let mut expected = vec![0x08, 0x02, 0x10, 0x00, 0x18, 0x05, 0x22, 0x10];
        expected.extend_from_slice(&client_id);
        expected.extend_from_slice(&[0x28, 0x01]);
        assert_eq!(header, expected);
        assert_eq!(header.len(), 26);
        let protocol = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";
        let body = IpcConnectionContextProto {
            user_info: Some(Default::default()),
            protocol: Some(protocol.into()),
        }
        .encode_to_vec();
        let mut expected = vec![0x12, 0x00, 0x1A, 0x36];
        expected.extend_from_slice(protocol.as_bytes());
        assert_eq!(protocol.len(), 54);
        assert_eq!(body, expected);
    }

    /// §1.10: the server's SASL reply header.
    #[test]
    fn sasl_reply_header_bytes() {
        let header =
            response_header(call_id::SASL, RpcStatusProto::Success, &[], -1).encode_to_vec();
        assert_eq!(
            header,
            [
                0x08, 0xDF, 0xFF, 0xFF, 0xFF, 0x0F, 0x10, 0x00, 0x18, 0x09, 0x3A, 0x00, 0x40, 0x01
            ]
        );
    }

    #[test]
    fn preamble_bytes() {
        assert_eq!(preamble(AUTH_SASL), *b"hrpc\x09\x00\xDF");
        assert_eq!(preamble(AUTH_NONE), *b"hrpc\x09\x00\x00");
    }

    #[test]
    fn split_rejects_overlong_parts() {
        assert!(split_delimited(&[5, 1, 2]).is_err());
        assert!(split_delimited(&[0xFF; 11]).is_err());
        assert_eq!(
            split_delimited(&[1, 7, 0]).unwrap(),
            vec![&[7u8][..], &[][..]]
        );
    }

    #[tokio::test]
    async fn read_frame_limits_and_truncation() {
        let mut big: &[u8] = &[0x08, 0x00, 0x00, 0x01];
        assert!(matches!(
            read_frame(&mut big, MAX_FRAME_LEN).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut short: &[u8] = &[0, 0, 0, 5, 1, 2];
        assert!(matches!(
            read_frame(&mut short, MAX_FRAME_LEN).await,
            Err(FrameError::Truncated)
        ));
        let mut empty: &[u8] = &[];
        assert!(
            read_frame(&mut empty, MAX_FRAME_LEN)
                .await
                .unwrap()
                .is_none()
        );
    }

    proptest! {
        #[test]
        fn frame_decoders_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(parts) = split_delimited(&input) {
                let _ = decode_part::<RpcRequestHeaderProto>(&parts, 0, "request header");
                let _ = decode_part::<RpcResponseHeaderProto>(&parts, 0, "response header");
                let _ = decode_part::<RpcSaslProto>(&parts, 1, "SASL message");
            }
            let mut buf = input.clone();
            let _ = take_frame(&mut buf, 1024);
        }
    }
}
