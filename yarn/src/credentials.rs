//! Tokens and the credentials ("token storage") file Hadoop passes to every container.
//!
//! A NodeManager writes each container's credentials to `$HADOOP_TOKEN_FILE_LOCATION`; an
//! ApplicationMaster finds its AMRMToken there, a client puts delegation tokens there for its AM. The file
//! starts with `HDTS` and a version byte: version 0 is Hadoop's Writable layout (WritableUtils vints and
//! `Text` strings), version 1 a length-delimited `CredentialsProto`. Both are read and written here.
//!
//! Token passwords and secret keys never appear in `Debug` output or in errors.

use std::fmt;
use std::path::Path;

use base64::Engine;
use prost::Message;

use crate::proto::hadoop::common as common_pb;
use crate::proto::hadoop::yarn as pb;
use crate::records::{ApplicationAttemptId, ApplicationId, NodeId, RecordError};

/// Kind of the token an ApplicationMaster uses with the ResourceManager's scheduler.
pub const AMRM_TOKEN_KIND: &str = "YARN_AM_RM_TOKEN";
/// Kind of the token an ApplicationMaster uses with a NodeManager.
pub const NM_TOKEN_KIND: &str = "NMToken";
/// Kind of the RM-signed grant of one container that a NodeManager checks before starting it.
pub const CONTAINER_TOKEN_KIND: &str = "ContainerToken";
/// Kind of the token a client uses with an ApplicationMaster.
pub const CLIENT_TO_AM_TOKEN_KIND: &str = "YARN_CLIENT_TOKEN";
/// Kind of a ResourceManager delegation token.
pub const RM_DELEGATION_TOKEN_KIND: &str = "RM_DELEGATION_TOKEN";
/// Kind of an HDFS delegation token.
pub const HDFS_DELEGATION_TOKEN_KIND: &str = "HDFS_DELEGATION_TOKEN";

const MAGIC: &[u8; 4] = b"HDTS";

/// A Hadoop token: an identifier (protobuf or Writable bytes naming what it grants), the password
/// (an HMAC of the identifier under a key only the issuer knows), a kind and a service (usually the
/// `host:port` it is good for; empty for an AMRMToken as the RM creates it).
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// The identifier bytes.
    pub identifier: Vec<u8>,
    /// The password (secret).
    pub password: Vec<u8>,
    /// The kind, e.g. [`AMRM_TOKEN_KIND`].
    pub kind: String,
    /// The service, e.g. `10.0.0.7:45454`.
    pub service: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("service", &self.service)
            .field("identifier", &hex::encode(&self.identifier))
            .field("password", &Redacted(self.password.len()))
            .finish()
    }
}

/// Stands in for a secret in `Debug` output.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0)
    }
}

impl Token {
    /// A token from its four parts.
    pub fn new(
        identifier: impl Into<Vec<u8>>,
        password: impl Into<Vec<u8>>,
        kind: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        Token {
            identifier: identifier.into(),
            password: password.into(),
            kind: kind.into(),
            service: service.into(),
        }
    }

    /// The identifier decoded as a protobuf message (YARN's identifiers are the bare serialized
    /// `*TokenIdentifierProto`).
    pub fn decode_identifier<M: Message + Default>(&self) -> Result<M, CredentialsError> {
        M::decode(self.identifier.as_slice()).map_err(|e| CredentialsError::Identifier {
            kind: self.kind.clone(),
            reason: e.to_string(),
        })
    }

    /// The attempt an AMRMToken belongs to (and its master key id). Reads the protobuf identifier and,
    /// like YARN, falls back to the pre-protobuf layout (ts i64, app i32, attempt i32, key i32, big-endian).
    pub fn amrm_identifier(&self) -> Result<AmrmTokenIdentifier, CredentialsError> {
        let bad = |reason: String| CredentialsError::Identifier {
            kind: self.kind.clone(),
            reason,
        };
        if let Ok(p) = pb::AmrmTokenIdentifierProto::decode(self.identifier.as_slice())
            && let Some(attempt) = p.app_attempt_id.as_ref()
        {
            let attempt =
                ApplicationAttemptId::try_from(attempt).map_err(|e| bad(e.to_string()))?;
            return Ok(AmrmTokenIdentifier {
                application_attempt_id: attempt,
                key_id: p.key_id.unwrap_or(-1),
            });
        }
        let id = &self.identifier;
        if id.len() != 20 {
            return Err(bad(format!(
                "{} bytes are neither an AMRMTokenIdentifierProto with an attempt nor the 20-byte legacy layout",
                id.len()
            )));
        }
        let i32_at = |o: usize| i32::from_be_bytes(id[o..o + 4].try_into().expect("4 bytes"));
        let ts = i64::from_be_bytes(id[0..8].try_into().expect("8 bytes"));
        Ok(AmrmTokenIdentifier {
            application_attempt_id: ApplicationAttemptId::new(
                ApplicationId::new(ts, i32_at(8)),
                i32_at(12),
            ),
            key_id: i32_at(16),
        })
    }

    /// The token in Hadoop's Writable layout (vint-prefixed identifier and password, then kind and
    /// service as `Text`).
    pub fn to_writable(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.identifier.len() + self.password.len() + 64);
        write_token(&mut out, self);
        out
    }

    /// A token from Hadoop's Writable layout; the whole input must be consumed.
    pub fn from_writable(bytes: &[u8]) -> Result<Token, CredentialsError> {
        let mut r = Reader::new(bytes);
        let token = r.token()?;
        if !r.is_empty() {
            return Err(CredentialsError::Malformed(format!(
                "{} bytes follow the token",
                r.remaining()
            )));
        }
        Ok(token)
    }

    /// The string form Hadoop's REST APIs take (`Token.encodeToUrlString`): URL-safe Base64 without
    /// padding of the Writable layout.
    pub fn to_url_string(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.to_writable())
    }

    /// Parses [`Token::to_url_string`]'s form (padding tolerated).
    pub fn from_url_string(s: &str) -> Result<Token, CredentialsError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|e| {
                CredentialsError::Malformed(format!("token string is not URL-safe Base64: {e}"))
            })?;
        Token::from_writable(&bytes)
    }
}

/// What an AMRMToken's identifier says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmrmTokenIdentifier {
    /// The attempt the token authenticates (also the SASL user name).
    pub application_attempt_id: ApplicationAttemptId,
    /// The ResourceManager master key that signed it.
    pub key_id: i32,
}

impl From<Token> for common_pb::TokenProto {
    fn from(t: Token) -> Self {
        common_pb::TokenProto {
            identifier: t.identifier,
            password: t.password,
            kind: t.kind,
            service: t.service,
        }
    }
}

impl From<&Token> for common_pb::TokenProto {
    fn from(t: &Token) -> Self {
        t.clone().into()
    }
}

impl From<&common_pb::TokenProto> for Token {
    fn from(p: &common_pb::TokenProto) -> Self {
        Token {
            identifier: p.identifier.clone(),
            password: p.password.clone(),
            kind: p.kind.clone(),
            service: p.service.clone(),
        }
    }
}

impl From<common_pb::TokenProto> for Token {
    fn from(p: common_pb::TokenProto) -> Self {
        Token {
            identifier: p.identifier,
            password: p.password,
            kind: p.kind,
            service: p.service,
        }
    }
}

/// The two layouts of a credentials file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFileFormat {
    /// Version 0: Hadoop's Writable layout. What Hadoop 3.x NodeManagers write by default.
    #[default]
    Writable,
    /// Version 1: a length-delimited `CredentialsProto`.
    Protobuf,
}

impl TokenFileFormat {
    fn version(self) -> u8 {
        match self {
            TokenFileFormat::Writable => 0,
            TokenFileFormat::Protobuf => 1,
        }
    }
}

/// A credentials file could not be read or decoded. Never carries token passwords or secrets.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file does not start with `HDTS`.
    #[error("not a Hadoop credentials file: it does not start with \"HDTS\"")]
    BadMagic,
    /// A version other than 0 and 1.
    #[error("credentials file version {0} is not supported (only 0, Writable, and 1, protobuf)")]
    UnknownVersion(u8),
    /// The bytes end in the middle of a record, or a length or count is impossible.
    #[error("malformed credentials: {0}")]
    Malformed(String),
    /// A token's identifier does not decode as expected for its kind.
    #[error("the identifier of a {kind:?} token does not decode: {reason}")]
    Identifier {
        /// The token's kind.
        kind: String,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing the file failed.
    #[error("credentials file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Tokens and secret keys by alias: the contents of a credentials file.
///
/// Aliases are unique (adding under an existing alias replaces); iteration follows insertion order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    tokens: Vec<(String, Token)>,
    secrets: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Secrets<'a>(&'a [(String, Vec<u8>)]);
        impl fmt::Debug for Secrets<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(a, s)| (a, Redacted(s.len()))))
                    .finish()
            }
        }
        f.debug_struct("Credentials")
            .field("tokens", &self.tokens)
            .field("secrets", &Secrets(&self.secrets))
            .finish()
    }
}

impl Credentials {
    /// No tokens, no secrets.
    pub fn new() -> Self {
        Credentials::default()
    }

    /// Adds `token` under `alias`, replacing any token already there.
    pub fn add_token(&mut self, alias: impl Into<String>, token: Token) {
        let alias = alias.into();
        match self.tokens.iter_mut().find(|(a, _)| *a == alias) {
            Some(slot) => slot.1 = token,
            None => self.tokens.push((alias, token)),
        }
    }

    /// The token under `alias`.
    pub fn token(&self, alias: &str) -> Option<&Token> {
        self.tokens.iter().find(|(a, _)| a == alias).map(|(_, t)| t)
    }

    /// Removes and returns the token under `alias`.
    pub fn remove_token(&mut self, alias: &str) -> Option<Token> {
        let i = self.tokens.iter().position(|(a, _)| a == alias)?;
        Some(self.tokens.remove(i).1)
    }

    /// All tokens with their aliases.
    pub fn tokens(&self) -> impl Iterator<Item = (&str, &Token)> {
        self.tokens.iter().map(|(a, t)| (a.as_str(), t))
    }

    /// The first token of `kind`, whatever its alias and service (a ResourceManager leaves the
    /// AMRMToken's service empty, so selecting by kind is the reliable way).
    pub fn token_of_kind(&self, kind: &str) -> Option<&Token> {
        self.tokens.iter().map(|(_, t)| t).find(|t| t.kind == kind)
    }

    /// The AMRMToken, if present.
    pub fn amrm_token(&self) -> Option<&Token> {
        self.token_of_kind(AMRM_TOKEN_KIND)
    }

    /// Installs a rolled-over token: replaces every token of the same kind (keeping their aliases),
    /// or adds it under its service as alias when there was none. Returns whether one was replaced.
    pub fn replace_token(&mut self, token: Token) -> bool {
        let mut replaced = false;
        for (_, t) in self.tokens.iter_mut().filter(|(_, t)| t.kind == token.kind) {
            *t = token.clone();
            replaced = true;
        }
        if !replaced {
            self.tokens.push((token.service.clone(), token));
        }
        replaced
    }

    /// Adds a secret key under `alias`, replacing any already there.
    pub fn add_secret(&mut self, alias: impl Into<String>, secret: impl Into<Vec<u8>>) {
        let alias = alias.into();
        let secret = secret.into();
        match self.secrets.iter_mut().find(|(a, _)| *a == alias) {
            Some(slot) => slot.1 = secret,
            None => self.secrets.push((alias, secret)),
        }
    }

    /// The secret key under `alias`.
    pub fn secret(&self, alias: &str) -> Option<&[u8]> {
        self.secrets
            .iter()
            .find(|(a, _)| a == alias)
            .map(|(_, s)| s.as_slice())
    }

    /// The aliases of all secret keys.
    pub fn secret_aliases(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|(a, _)| a.as_str())
    }

    /// Whether there are no tokens and no secrets.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.secrets.is_empty()
    }

    /// Decodes a credentials file of either version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Credentials, CredentialsError> {
        if bytes.len() < 4 || &bytes[..4] != MAGIC {
            return Err(CredentialsError::BadMagic);
        }
        let Some(&version) = bytes.get(4) else {
            return Err(CredentialsError::Malformed(
                "the version byte is missing".into(),
            ));
        };
        let body = &bytes[5..];
        match version {
            0 => Credentials::from_writable_body(body),
            1 => Credentials::from_protobuf_body(body),
            v => Err(CredentialsError::UnknownVersion(v)),
        }
    }

    /// Reads and decodes a credentials file.
    pub fn read_file(path: impl AsRef<Path>) -> Result<Credentials, CredentialsError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| CredentialsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Credentials::from_bytes(&bytes)
    }

    /// Encodes the credentials as a file in `format`.
    pub fn to_bytes(&self, format: TokenFileFormat) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        out.push(format.version());
        match format {
            TokenFileFormat::Writable => {
                write_vlong(&mut out, self.tokens.len() as i64);
                for (alias, token) in &self.tokens {
                    write_text(&mut out, alias);
                    write_token(&mut out, token);
                }
                write_vlong(&mut out, self.secrets.len() as i64);
                for (alias, secret) in &self.secrets {
                    write_text(&mut out, alias);
                    write_vlong(&mut out, secret.len() as i64);
                    out.extend_from_slice(secret);
                }
            }
            TokenFileFormat::Protobuf => {
                let proto = common_pb::CredentialsProto {
                    tokens: self
                        .tokens
                        .iter()
                        .map(|(alias, t)| common_pb::CredentialsKvProto {
                            alias: alias.clone(),
                            token: Some(t.into()),
                            secret: None,
                        })
                        .collect(),
                    secrets: self
                        .secrets
                        .iter()
                        .map(|(alias, s)| common_pb::CredentialsKvProto {
                            alias: alias.clone(),
                            token: None,
                            secret: Some(s.clone()),
                        })
                        .collect(),
                };
                proto
                    .encode_length_delimited(&mut out)
                    .expect("a Vec grows as needed");
            }
        }
        out
    }

    /// Writes the credentials to `path` in `format`, readable by the owner only (they hold secrets).
    pub fn write_file(
        &self,
        path: impl AsRef<Path>,
        format: TokenFileFormat,
    ) -> Result<(), CredentialsError> {
        use std::io::Write;
        let path = path.as_ref();
        let io = |source| CredentialsError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        file.write_all(&self.to_bytes(format)).map_err(io)?;
        file.sync_all().map_err(io)
    }

    fn from_writable_body(body: &[u8]) -> Result<Credentials, CredentialsError> {
        let mut r = Reader::new(body);
        let mut creds = Credentials::new();
        let tokens = r.count("token count")?;
        for _ in 0..tokens {
            let alias = r.text("token alias")?;
            let token = r.token()?;
            creds.add_token(alias, token);
        }
        let secrets = r.count("secret count")?;
        for _ in 0..secrets {
            let alias = r.text("secret alias")?;
            let len = r.length("secret length")?;
            let secret = r.bytes(len, "secret")?.to_vec();
            creds.add_secret(alias, secret);
        }
        Ok(creds)
    }

    fn from_protobuf_body(body: &[u8]) -> Result<Credentials, CredentialsError> {
        let proto = common_pb::CredentialsProto::decode_length_delimited(body).map_err(|e| {
            CredentialsError::Malformed(format!("CredentialsProto does not decode: {e}"))
        })?;
        let mut creds = Credentials::new();
        for kv in proto.tokens {
            let token = kv.token.ok_or_else(|| {
                CredentialsError::Malformed(format!("token entry {:?} has no token", kv.alias))
            })?;
            creds.add_token(kv.alias, token.into());
        }
        for kv in proto.secrets {
            let secret = kv.secret.ok_or_else(|| {
                CredentialsError::Malformed(format!("secret entry {:?} has no secret", kv.alias))
            })?;
            creds.add_secret(kv.alias, secret);
        }
        Ok(creds)
    }
}

/// The NMTokens an ApplicationMaster holds, one per NodeManager (the latest one the RM sent wins).
#[derive(Debug, Clone, Default)]
pub struct NmTokens {
    by_node: std::collections::HashMap<NodeId, Token>,
}

impl NmTokens {
    /// No tokens.
    pub fn new() -> Self {
        NmTokens::default()
    }

    /// Stores `token` for `node`, replacing an older one.
    pub fn insert(&mut self, node: NodeId, token: Token) {
        self.by_node.insert(node, token);
    }

    /// Stores every token of an allocate or register response.
    pub fn update(&mut self, tokens: &[pb::NmTokenProto]) -> Result<(), RecordError> {
        for t in tokens {
            let node = t
                .node_id
                .as_ref()
                .ok_or(RecordError::MissingField {
                    record: "NMTokenProto",
                    field: "nodeId",
                })?
                .try_into()?;
            let token = t.token.as_ref().ok_or(RecordError::MissingField {
                record: "NMTokenProto",
                field: "token",
            })?;
            self.insert(node, token.into());
        }
        Ok(())
    }

    /// The token for `node`.
    pub fn get(&self, node: &NodeId) -> Option<&Token> {
        self.by_node.get(node)
    }

    /// Forgets the token for `node`.
    pub fn remove(&mut self, node: &NodeId) -> Option<Token> {
        self.by_node.remove(node)
    }

    /// How many nodes have a token.
    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    /// Whether no node has a token.
    pub fn is_empty(&self) -> bool {
        self.by_node.is_empty()
    }
}

// ---- Hadoop's Writable primitives ----

/// Writes a WritableUtils vlong (vints use the same encoding).
fn write_vlong(out: &mut Vec<u8>, value: i64) {
    if (-112..=127).contains(&value) {
        out.push(value as i8 as u8);
        return;
    }
    let (magnitude, base) = if value < 0 {
        (!value, -120i64)
    } else {
        (value, -112i64)
    };
    let n = 8 - (magnitude.leading_zeros() as usize / 8);
    out.push((base - n as i64) as i8 as u8);
    out.extend_from_slice(&magnitude.to_be_bytes()[8 - n..]);
}

/// Writes a Hadoop `Text`: vint byte length, then UTF-8.
fn write_text(out: &mut Vec<u8>, s: &str) {
    write_vlong(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

fn write_token(out: &mut Vec<u8>, t: &Token) {
    write_vlong(out, t.identifier.len() as i64);
    out.extend_from_slice(&t.identifier);
    write_vlong(out, t.password.len() as i64);
    out.extend_from_slice(&t.password);
    write_text(out, &t.kind);
    write_text(out, &t.service);
}

/// A bounds-checked cursor over Writable bytes; every read fails cleanly on truncation.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], CredentialsError> {
        if n > self.bytes.len() {
            return Err(CredentialsError::Malformed(format!(
                "{what} needs {n} bytes but only {} remain",
                self.bytes.len()
            )));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn vlong(&mut self, what: &str) -> Result<i64, CredentialsError> {
        let first = self.bytes(1, what)?[0] as i8;
        if first >= -112 {
            return Ok(i64::from(first));
        }
        let (negative, size) = if first < -120 {
            (true, (-119 - i32::from(first)) as usize)
        } else {
            (false, (-111 - i32::from(first)) as usize)
        };
        let mut value: i64 = 0;
        for &b in self.bytes(size - 1, what)? {
            value = (value << 8) | i64::from(b);
        }
        Ok(if negative { !value } else { value })
    }

    fn vint(&mut self, what: &str) -> Result<i32, CredentialsError> {
        let v = self.vlong(what)?;
        i32::try_from(v)
            .map_err(|_| CredentialsError::Malformed(format!("{what} {v} is too large for an int")))
    }

    /// A non-negative vint length.
    fn length(&mut self, what: &str) -> Result<usize, CredentialsError> {
        let v = self.vint(what)?;
        usize::try_from(v)
            .map_err(|_| CredentialsError::Malformed(format!("{what} is negative ({v})")))
    }

    /// A non-negative vint count; each counted record takes at least one byte, so a count beyond the
    /// remaining bytes is rejected before looping.
    fn count(&mut self, what: &str) -> Result<usize, CredentialsError> {
        let n = self.length(what)?;
        if n > self.bytes.len() {
            return Err(CredentialsError::Malformed(format!(
                "{what} {n} exceeds the {} bytes that remain",
                self.bytes.len()
            )));
        }
        Ok(n)
    }

    fn text(&mut self, what: &str) -> Result<String, CredentialsError> {
        let len = self.length(what)?;
        let raw = self.bytes(len, what)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| CredentialsError::Malformed(format!("{what} is not valid UTF-8")))
    }

    fn token(&mut self) -> Result<Token, CredentialsError> {
        let len = self.length("token identifier length")?;
        let identifier = self.bytes(len, "token identifier")?.to_vec();
        let len = self.length("token password length")?;
        let password = self.bytes(len, "token password")?.to_vec();
        let kind = self.text("token kind")?;
        let service = self.text("token service")?;
        Ok(Token {
            identifier,
            password,
            kind,
            service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vlong_bytes(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_vlong(&mut out, v);
        out
    }

    #[test]
    fn vints_match_writable_utils() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (-112, &[0x90]),
            (128, &[0x8f, 0x80]),
            (200, &[0x8f, 0xc8]),
            (300, &[0x8e, 0x01, 0x2c]),
            (65536, &[0x8d, 0x01, 0x00, 0x00]),
            (-1, &[0xff]),
            (-113, &[0x87, 0x70]),
            (-200, &[0x87, 0xc7]),
            (
                i64::MAX,
                &[0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                i64::MIN,
                &[0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for &(v, bytes) in cases {
            assert_eq!(vlong_bytes(v), bytes, "encoding {v}");
            let mut r = Reader::new(bytes);
            assert_eq!(r.vlong("v").unwrap(), v, "decoding {bytes:02x?}");
            assert!(r.is_empty());
        }
    }

    #[test]
    fn vint_rejects_values_beyond_int() {
        let mut r = Reader::new(&[0x8b, 0x01, 0x00, 0x00, 0x00, 0x00]);
        assert!(r.vint("n").unwrap_err().to_string().contains("too large"));
    }
}
