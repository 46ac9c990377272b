//! The DIGEST-MD5 security layer (RFC 2831 §2.3, §2.4) as the JDK implements it: after `auth-int` every
//! message carries a truncated HMAC-MD5 and a sequence number; after `auth-conf` it is also encrypted with
//! the negotiated cipher (3DES or DES in CBC mode chained across messages, or RC4 as one keystream).
//!
//! Each direction has its own keys and sequence counter, so the layer is split into a [`Sealer`] (the
//! sending half) and an [`Opener`] (the receiving half), owned by a connection's writer and reader.

use des::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit, StreamCipher};
use des::{Des, TdesEde3};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rc4::Rc4;

use super::{Qop, SaslError};

type HmacMd5 = Hmac<Md5>;

const CLIENT_SIGN_MAGIC: &[u8] =
    b"Digest session key to client-to-server signing key magic constant";
const SERVER_SIGN_MAGIC: &[u8] =
    b"Digest session key to server-to-client signing key magic constant";
const CLIENT_SEAL_MAGIC: &[u8] = b"Digest H(A1) to client-to-server sealing key magic constant";
const SERVER_SEAL_MAGIC: &[u8] = b"Digest H(A1) to server-to-client sealing key magic constant";
/// The message type field of every wrapped message (RFC 2831: always 1).
const MESSAGE_TYPE: [u8; 2] = [0, 1];
const MAC_LEN: usize = 10;
/// Bytes a wrapped message adds at most: MAC, message type, sequence number and up to 8 bytes of padding.
const CONF_OVERHEAD: usize = 26;
const INT_OVERHEAD: usize = 16;

/// A cipher for `auth-conf`, with its DIGEST-MD5 token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// Two-key triple DES, EDE, CBC (`3des`).
    TripleDes,
    /// RC4 with a 128-bit key (`rc4`).
    Rc4,
    /// Single DES, CBC (`des`).
    Des,
    /// RC4 with a 56-bit key (`rc4-56`).
    Rc4_56,
    /// RC4 with a 40-bit key (`rc4-40`).
    Rc4_40,
}

impl Cipher {
    /// Every cipher, strongest first, in the JDK's order: a client picks the first one the server offers.
    pub const ALL: [Cipher; 5] = [
        Cipher::TripleDes,
        Cipher::Rc4,
        Cipher::Des,
        Cipher::Rc4_56,
        Cipher::Rc4_40,
    ];

    /// The DIGEST-MD5 token for this cipher.
    pub fn token(self) -> &'static str {
        match self {
            Cipher::TripleDes => "3des",
            Cipher::Rc4 => "rc4",
            Cipher::Des => "des",
            Cipher::Rc4_56 => "rc4-56",
            Cipher::Rc4_40 => "rc4-40",
        }
    }

    /// Parses a cipher token (case-insensitive).
    pub fn from_token(token: &str) -> Option<Cipher> {
        let token = token.trim();
        Cipher::ALL
            .into_iter()
            .find(|c| c.token().eq_ignore_ascii_case(token))
    }

    /// How many bytes of H(A1) feed the sealing keys (RFC 2831; the JDK uses 16 for des as well).
    fn key_material_len(self) -> usize {
        match self {
            Cipher::Rc4_40 => 5,
            Cipher::Rc4_56 => 7,
            _ => 16,
        }
    }
}

/// The secret state of one direction's cipher.
enum CipherState {
    Rc4(Box<Rc4>),
    Des {
        cipher: Box<Des>,
        chain: [u8; 8],
    },
    TripleDes {
        cipher: Box<TdesEde3>,
        chain: [u8; 8],
    },
}

impl CipherState {
    fn new(cipher: Cipher, key: &[u8; 16]) -> CipherState {
        let mut chain = [0u8; 8];
        chain.copy_from_slice(&key[8..16]);
        match cipher {
            Cipher::Rc4 | Cipher::Rc4_56 | Cipher::Rc4_40 => CipherState::Rc4(Box::new(
                Rc4::new_from_slice(key).expect("RC4 accepts a 16-byte key"),
            )),
            Cipher::Des => CipherState::Des {
                cipher: Box::new(
                    Des::new_from_slice(&des_key(&key[0..7])).expect("DES takes an 8-byte key"),
                ),
                chain,
            },
            Cipher::TripleDes => {
                let k1 = des_key(&key[0..7]);
                let k2 = des_key(&key[7..14]);
                let mut ede = [0u8; 24];
                ede[0..8].copy_from_slice(&k1);
                ede[8..16].copy_from_slice(&k2);
                ede[16..24].copy_from_slice(&k1);
                CipherState::TripleDes {
                    cipher: Box::new(
                        TdesEde3::new_from_slice(&ede).expect("3DES takes a 24-byte key"),
                    ),
                    chain,
                }
            }
        }
    }

    fn block_size(&self) -> usize {
        match self {
            CipherState::Rc4(_) => 1,
            _ => 8,
        }
    }

    fn encrypt(&mut self, data: &mut [u8]) {
        match self {
            CipherState::Rc4(rc4) => rc4.apply_keystream(data),
            CipherState::Des { cipher, chain } => cbc_encrypt(cipher.as_ref(), chain, data),
            CipherState::TripleDes { cipher, chain } => cbc_encrypt(cipher.as_ref(), chain, data),
        }
    }

    fn decrypt(&mut self, data: &mut [u8]) {
        match self {
            CipherState::Rc4(rc4) => rc4.apply_keystream(data),
            CipherState::Des { cipher, chain } => cbc_decrypt(cipher.as_ref(), chain, data),
            CipherState::TripleDes { cipher, chain } => cbc_decrypt(cipher.as_ref(), chain, data),
        }
    }
}

/// CBC encryption whose chaining value carries over to the next message. `data.len()` is a multiple of 8.
fn cbc_encrypt<C: BlockCipherEncrypt<BlockSize = des::cipher::consts::U8>>(
    cipher: &C,
    chain: &mut [u8; 8],
    data: &mut [u8],
) {
    for chunk in data.chunks_exact_mut(8) {
        let mut block = Block::<C>::default();
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk[i] ^ chain[i];
        }
        cipher.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
        chain.copy_from_slice(&block);
    }
}

fn cbc_decrypt<C: BlockCipherDecrypt<BlockSize = des::cipher::consts::U8>>(
    cipher: &C,
    chain: &mut [u8; 8],
    data: &mut [u8],
) {
    for chunk in data.chunks_exact_mut(8) {
        let mut next_chain = [0u8; 8];
        next_chain.copy_from_slice(chunk);
        let mut block = Block::<C>::default();
        block.copy_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        for (i, b) in chunk.iter_mut().enumerate() {
            *b = block[i] ^ chain[i];
        }
        *chain = next_chain;
    }
}

/// Spreads 56 key bits (7 bytes, big-endian) over 8 bytes, 7 bits each, with odd parity in the low bit.
fn des_key(seven: &[u8]) -> [u8; 8] {
    let mut bits: u64 = 0;
    for &b in seven {
        bits = (bits << 8) | u64::from(b);
    }
    let mut out = [0u8; 8];
    for (i, byte) in out.iter_mut().enumerate() {
        let group = ((bits >> (49 - 7 * i)) & 0x7f) as u8;
        let value = group << 1;
        *byte = value | u8::from(value.count_ones() % 2 == 0);
    }
    out
}

fn md5_concat(a: &[u8], b: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

fn mac(key: &[u8; 16], seq: u32, msg: &[u8]) -> [u8; MAC_LEN] {
    let mut m = <HmacMd5 as hmac::Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(&seq.to_be_bytes());
    m.update(msg);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// Builds the two halves of a security layer from H(A1) (the raw 16 bytes) and the negotiated options.
/// Returns `None` for `auth`, which has no layer.
pub(crate) fn halves(
    ha1: &[u8; 16],
    qop: Qop,
    cipher: Option<Cipher>,
    client_side: bool,
    peer_maxbuf: u32,
) -> Result<Option<(Sealer, Opener)>, SaslError> {
    let cipher = match qop {
        Qop::Auth => return Ok(None),
        Qop::AuthInt => None,
        Qop::AuthConf => Some(cipher.ok_or_else(|| SaslError::new("auth-conf without a cipher"))?),
    };
    let kic = md5_concat(ha1, CLIENT_SIGN_MAGIC);
    let kis = md5_concat(ha1, SERVER_SIGN_MAGIC);
    let (mut seal, mut open) = (None, None);
    if let Some(cipher) = cipher {
        let n = cipher.key_material_len();
        let kcc = md5_concat(&ha1[..n], CLIENT_SEAL_MAGIC);
        let kcs = md5_concat(&ha1[..n], SERVER_SEAL_MAGIC);
        let (mine, theirs) = if client_side { (kcc, kcs) } else { (kcs, kcc) };
        seal = Some(CipherState::new(cipher, &mine));
        open = Some(CipherState::new(cipher, &theirs));
    }
    let (my_ki, peer_ki) = if client_side { (kic, kis) } else { (kis, kic) };
    let overhead = if cipher.is_some() {
        CONF_OVERHEAD
    } else {
        INT_OVERHEAD
    };
    let max_plain = (peer_maxbuf as usize).saturating_sub(overhead).max(1);
    Ok(Some((
        Sealer {
            key: my_ki,
            seq: 0,
            cipher: seal,
            max_plain,
        },
        Opener {
            key: peer_ki,
            seq: 0,
            cipher: open,
        },
    )))
}

/// The sending half of a security layer.
pub struct Sealer {
    key: [u8; 16],
    seq: u32,
    cipher: Option<CipherState>,
    max_plain: usize,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("seq", &self.seq)
            .field("encrypting", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// The largest plaintext one wrapped message may carry, from the peer's `maxbuf`.
    pub fn max_plain(&self) -> usize {
        self.max_plain
    }

    /// Protects one message; an empty message wraps to an empty token, as in the JDK.
    pub fn wrap(&mut self, msg: &[u8]) -> Vec<u8> {
        if msg.is_empty() {
            return Vec::new();
        }
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let mac = mac(&self.key, seq, msg);
        let mut out = Vec::with_capacity(msg.len() + CONF_OVERHEAD);
        out.extend_from_slice(msg);
        if let Some(cipher) = &mut self.cipher {
            let bs = cipher.block_size();
            if bs > 1 {
                let pad = bs - (msg.len() + MAC_LEN) % bs;
                out.extend(std::iter::repeat_n(pad as u8, pad));
            }
            out.extend_from_slice(&mac);
            cipher.encrypt(&mut out);
        } else {
            out.extend_from_slice(&mac);
        }
        out.extend_from_slice(&MESSAGE_TYPE);
        out.extend_from_slice(&seq.to_be_bytes());
        out
    }
}

/// The receiving half of a security layer.
pub struct Opener {
    key: [u8; 16],
    seq: u32,
    cipher: Option<CipherState>,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("seq", &self.seq)
            .field("decrypting", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}

impl Opener {
    /// Checks and strips the protection of one message from the peer. Any failure (bad MAC, bad padding,
    /// out-of-order sequence number) is fatal for the connection: the stream can no longer be trusted.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, SaslError> {
        if token.is_empty() {
            return Ok(Vec::new());
        }
        if token.len() < MAC_LEN + 6 {
            return Err(SaslError::new(format!(
                "wrapped message of {} bytes is too short",
                token.len()
            )));
        }
        let (body, trailer) = token.split_at(token.len() - 6);
        if trailer[0..2] != MESSAGE_TYPE {
            return Err(SaslError::new(
                "wrapped message has an invalid message type",
            ));
        }
        let seq = u32::from_be_bytes([trailer[2], trailer[3], trailer[4], trailer[5]]);
        let mut body = body.to_vec();
        let (msg_len, mac_bytes) = match &mut self.cipher {
            None => (body.len() - MAC_LEN, body[body.len() - MAC_LEN..].to_vec()),
            Some(cipher) => {
                let bs = cipher.block_size();
                if body.len() % bs != 0 {
                    return Err(SaslError::new(
                        "encrypted message is not a whole number of cipher blocks",
                    ));
                }
                cipher.decrypt(&mut body);
                let mac_at = body.len() - MAC_LEN;
                let mut len = mac_at;
                if bs > 1 {
                    let pad = usize::from(*body[..mac_at].last().unwrap_or(&0));
                    if pad == 0 || pad > bs || pad > mac_at {
                        return Err(SaslError::new(
                            "encrypted message has invalid padding (wrong key or corrupted data)",
                        ));
                    }
                    len -= pad;
                }
                (len, body[mac_at..].to_vec())
            }
        };
        let expected = mac(&self.key, seq, &body[..msg_len]);
        if mac_bytes != expected {
            return Err(SaslError::new(
                "wrapped message failed its integrity check (wrong key or corrupted data)",
            ));
        }
        if seq != self.seq {
            return Err(SaslError::new(format!(
                "wrapped message out of sequence: got {seq}, expected {}",
                self.seq
            )));
        }
        self.seq = self.seq.wrapping_add(1);
        body.truncate(msg_len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(qop: Qop, cipher: Option<Cipher>) -> ((Sealer, Opener), (Sealer, Opener)) {
        let ha1 = [7u8; 16];
        let client = halves(&ha1, qop, cipher, true, 65536).unwrap().unwrap();
        let server = halves(&ha1, qop, cipher, false, 65536).unwrap().unwrap();
        (client, server)
    }

    #[test]
    fn des_key_spreads_bits_with_odd_parity() {
        assert_eq!(des_key(&[0; 7]), [1; 8]);
        assert_eq!(des_key(&[0xff; 7]), [0xfe; 8]);
        // 0x80 followed by zeros: the top bit lands in the top bit of the first byte.
        assert_eq!(des_key(&[0x80, 0, 0, 0, 0, 0, 0])[0], 0x80);
    }

    #[test]
    fn every_layer_round_trips_in_both_directions_and_detects_tampering() {
        let mut cases = vec![(Qop::AuthInt, None)];
        cases.extend(Cipher::ALL.map(|c| (Qop::AuthConf, Some(c))));
        for (qop, cipher) in cases {
            let ((mut c_seal, mut c_open), (mut s_seal, mut s_open)) = pair(qop, cipher);
            for msg in [&b"x"[..], b"hello world", &[0u8; 100]] {
                let wrapped = c_seal.wrap(msg);
                if cipher.is_some() {
                    assert_ne!(&wrapped[..msg.len()], msg, "{cipher:?} leaves plaintext");
                }
                assert_eq!(s_open.unwrap(&wrapped).unwrap(), msg, "{qop} {cipher:?}");
                let back = s_seal.wrap(msg);
                assert_eq!(c_open.unwrap(&back).unwrap(), msg, "{qop} {cipher:?}");
            }
            let mut wrapped = c_seal.wrap(b"payload");
            wrapped[0] ^= 1;
            assert!(s_open.unwrap(&wrapped).is_err(), "{qop} {cipher:?}");
        }
    }

    #[test]
    fn replay_and_reorder_are_rejected() {
        let ((mut seal, _), (_, mut open)) = pair(Qop::AuthInt, None);
        let first = seal.wrap(b"one");
        let second = seal.wrap(b"two");
        assert!(open.unwrap(&second).is_err());
        assert_eq!(open.unwrap(&first).unwrap(), b"one");
        assert!(open.unwrap(&first).is_err());
    }

    #[test]
    fn integrity_layer_is_readable_and_mac_trailer_is_as_specified() {
        let ((mut seal, _), _) = pair(Qop::AuthInt, None);
        let wrapped = seal.wrap(b"abc");
        assert_eq!(&wrapped[..3], b"abc");
        assert_eq!(wrapped.len(), 3 + 10 + 2 + 4);
        assert_eq!(&wrapped[13..], &[0, 1, 0, 0, 0, 0]);
        let second = seal.wrap(b"abc");
        assert_eq!(&second[13..], &[0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn unwrap_never_panics_on_garbage() {
        let ((_, _), (_, mut open)) = pair(Qop::AuthConf, Some(Cipher::TripleDes));
        for len in 0..64 {
            let _ = open.unwrap(&vec![0xA5; len]);
        }
    }
}
