//! The small key-value store of one job: tasks publish addresses and small results with
//! `spindle kv put` and read them with `spindle kv get` / `spindle kv wait`, so a job can combine
//! results on a cluster without a shared disk. It lives in the ApplicationMaster's dispatcher and
//! ends with the job's record; it is bounded so a task cannot exhaust the ApplicationMaster.

use std::collections::HashMap;

use tokio::sync::oneshot;

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// The largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// The most a job may store, keys and values together, in bytes.
pub const MAX_JOB_BYTES: usize = 16 << 20;

/// Why a key-value call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// No such job in this ApplicationMaster.
    #[error("no job {0} in this cluster")]
    UnknownJob(String),
    /// A key that is empty, too long or not printable.
    #[error(
        "invalid key {0:?}: a key is 1 to {MAX_KEY_BYTES} bytes of printable text without control characters"
    )]
    BadKey(String),
    /// A value over [`MAX_VALUE_BYTES`].
    #[error(
        "the value of {key:?} has {bytes} bytes; the most is {MAX_VALUE_BYTES} — store a path or an address instead"
    )]
    ValueTooLarge { key: String, bytes: usize },
    /// The job's store is full.
    #[error(
        "the job's key-value store is full ({MAX_JOB_BYTES} bytes); it is meant for addresses and small results"
    )]
    Full,
}

/// Checks a key.
pub fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(char::is_control) {
        return Err(KvError::BadKey(key.chars().take(64).collect()));
    }
    Ok(())
}

/// One job's store.
#[derive(Debug, Default)]
pub struct Kv {
    entries: HashMap<String, String>,
    bytes: usize,
    waiters: HashMap<String, Vec<oneshot::Sender<String>>>,
}

impl Kv {
    /// Sets `key` (replacing an older value) and wakes those waiting for it.
    pub fn put(&mut self, key: String, value: String) -> Result<(), KvError> {
        check_key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::ValueTooLarge {
                key,
                bytes: value.len(),
            });
        }
        let old = self.entries.get(&key).map_or(0, |v| key.len() + v.len());
        let bytes = self.bytes - old + key.len() + value.len();
        if bytes > MAX_JOB_BYTES {
            return Err(KvError::Full);
        }
        self.bytes = bytes;
        if let Some(waiters) = self.waiters.remove(&key) {
            for w in waiters {
                let _ = w.send(value.clone());
            }
        }
        self.entries.insert(key, value);
        Ok(())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// The value of `key` now, or once it is put (the receiver fails if the store goes away first).
    pub fn wait(&mut self, key: String) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        match self.entries.get(&key) {
            Some(v) => {
                let _ = tx.send(v.clone());
            }
            None => {
                let waiters = self.waiters.entry(key).or_default();
                // Waiters whose caller gave up are dropped here, so abandoned waits do not pile up.
                waiters.retain(|w| !w.is_closed());
                waiters.push(tx);
            }
        }
        rx
    }

    /// Drops every waiter (the job has ended; nothing more will be put).
    pub fn close_waiters(&mut self) {
        self.waiters.clear();
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_wait_and_limits() {
        let mut kv = Kv::default();
        let early = kv.wait("a/0".into());
        kv.put("a/0".into(), "41".into()).unwrap();
        kv.put("a/0".into(), "42".into()).unwrap();
        assert_eq!(early.await.unwrap(), "41");
        assert_eq!(kv.get("a/0"), Some("42"));
        assert_eq!(kv.wait("a/0".into()).await.unwrap(), "42");
        assert_eq!(kv.get("missing"), None);
        assert!(matches!(
            kv.put(String::new(), "x".into()),
            Err(KvError::BadKey(_))
        ));
        assert!(matches!(
            kv.put("k\n".into(), "x".into()),
            Err(KvError::BadKey(_))
        ));
        assert!(matches!(
            kv.put("big".into(), "x".repeat(MAX_VALUE_BYTES + 1)),
            Err(KvError::ValueTooLarge { .. })
        ));
        // Replacing a value does not count it twice; filling up is refused.
        for i in 0..15 {
            kv.put(format!("v{i}"), "x".repeat(MAX_VALUE_BYTES))
                .unwrap();
        }
        kv.put("v0".into(), "x".repeat(MAX_VALUE_BYTES)).unwrap();
        assert_eq!(
            kv.put("v15".into(), "x".repeat(MAX_VALUE_BYTES)),
            Err(KvError::Full)
        );
        let waiting = kv.wait("never".into());
        kv.close_waiters();
        assert!(waiting.await.is_err());
    }
}
