//! Length-prefixed frames carrying JSON messages.
//!
//! Every message between the ApplicationMaster and a TaskExecutor travels as one frame: a `u32`
//! big-endian payload length followed by that many bytes of UTF-8 JSON. The length is checked against
//! a limit before anything is buffered, so a peer announcing a huge frame is refused at once instead of
//! making us allocate for it. Reading is cancel-safe (bytes are kept in a buffer between calls), so a
//! connection task can wait for a frame and for outgoing commands in one `select!`.

use bytes::{Buf, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame payload accepted by default: 16 MiB.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// The largest frame accepted before a connection has authenticated: handshake messages are small,
/// and an unauthenticated peer must not make us buffer megabytes.
pub const HANDSHAKE_MAX_FRAME_LEN: usize = 64 * 1024;

/// Buffer growth step while a large frame arrives: memory follows the bytes actually received.
const READ_CHUNK: usize = 64 * 1024;

/// Size of the length prefix in bytes.
const HEADER_LEN: usize = 4;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "frame of {len} bytes exceeds the limit of {max} bytes; the peer is not speaking the spindle \
         TaskExecutor protocol or sent an oversized message"
    )]
    TooLarge { len: usize, max: usize },
    #[error(
        "connection closed in the middle of a frame ({buffered} bytes of a partial frame received)"
    )]
    Truncated { buffered: usize },
    #[error(
        "frame is not a valid spindle TaskExecutor protocol message ({0}); check that both sides run \
         the same spindle version"
    )]
    Malformed(#[from] serde_json::Error),
}

/// Takes one complete frame's payload off the front of `buf`, if a whole frame is there.
///
/// Returns `Ok(None)` when more bytes are needed, and an error (without consuming anything) when the
/// announced length exceeds `max`. Never panics, whatever the bytes.
pub fn decode_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    if buf.len() < HEADER_LEN + len {
        buf.reserve((HEADER_LEN + len - buf.len()).min(READ_CHUNK));
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Encodes `message` as one frame (length prefix and JSON payload).
pub fn encode_frame<T: Serialize>(message: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let payload = serde_json::to_vec(message)?;
    if payload.len() > max.min(u32::MAX as usize) {
        return Err(FrameError::TooLarge {
            len: payload.len(),
            max,
        });
    }
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// The reading half of a framed connection.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    max: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(8 * 1024),
            max,
        }
    }

    /// Changes the frame size limit (raised once the peer has authenticated).
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Reads the next frame's payload; `Ok(None)` on a clean end of stream between frames.
    /// Cancel-safe: a partially received frame stays buffered for the next call.
    pub async fn read_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            if let Some(frame) = decode_frame(&mut self.buf, self.max)? {
                return Ok(Some(frame));
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated {
                        buffered: self.buf.len(),
                    })
                };
            }
        }
    }

    /// Reads the next frame and decodes it as a `T`; `Ok(None)` on a clean end of stream.
    pub async fn read_message<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        match self.read_frame().await? {
            Some(payload) => Ok(Some(serde_json::from_slice(&payload)?)),
            None => Ok(None),
        }
    }
}

/// The writing half of a framed connection.
pub struct FrameWriter<W> {
    inner: W,
    max: usize,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(inner: W, max: usize) -> Self {
        FrameWriter { inner, max }
    }

    /// Changes the frame size limit.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Writes `message` as one frame and flushes it.
    pub async fn write_message<T: Serialize>(&mut self, message: &T) -> Result<(), FrameError> {
        let frame = encode_frame(message, self.max)?;
        self.inner.write_all(&frame).await?;
        self.inner.flush().await?;
        Ok(())
    }

    /// Shuts the write direction down, telling the peer no more frames follow.
    pub async fn shutdown(&mut self) -> Result<(), FrameError> {
        self.inner.shutdown().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_frames() {
        let frame = encode_frame(&serde_json::json!({"a": 1}), MAX_FRAME_LEN).unwrap();
        assert_eq!(&frame[..4], &7u32.to_be_bytes());
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&frame[..5]);
        assert!(decode_frame(&mut buf, MAX_FRAME_LEN).unwrap().is_none());
        buf.extend_from_slice(&frame[5..]);
        buf.extend_from_slice(&frame[..2]);
        let payload = decode_frame(&mut buf, MAX_FRAME_LEN).unwrap().unwrap();
        assert_eq!(&payload[..], br#"{"a":1}"#);
        assert_eq!(buf.len(), 2);
    }

    #[test]
    fn oversize_header_is_refused_before_buffering() {
        let mut buf = BytesMut::from(&(1u32 << 30).to_be_bytes()[..]);
        let err = decode_frame(&mut buf, MAX_FRAME_LEN).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len, .. } if len == 1 << 30));
        assert!(buf.capacity() < 1 << 20);
    }

    #[test]
    fn buffer_grows_with_the_bytes_received_not_the_announced_length() {
        let mut buf = BytesMut::from(&(10u32 << 20).to_be_bytes()[..]);
        assert!(decode_frame(&mut buf, MAX_FRAME_LEN).unwrap().is_none());
        assert!(buf.capacity() <= READ_CHUNK + HEADER_LEN + 64);
    }

    #[tokio::test]
    async fn truncated_stream_is_an_error_and_clean_eof_is_none() {
        let frame = encode_frame(&"hello", MAX_FRAME_LEN).unwrap();
        let mut reader = FrameReader::new(&frame[..frame.len() - 1], MAX_FRAME_LEN);
        assert!(matches!(
            reader.read_frame().await,
            Err(FrameError::Truncated { .. })
        ));
        let mut reader = FrameReader::new(&frame[..], MAX_FRAME_LEN);
        let message: String = reader.read_message().await.unwrap().unwrap();
        assert_eq!(message, "hello");
        assert!(reader.read_frame().await.unwrap().is_none());
    }
}
