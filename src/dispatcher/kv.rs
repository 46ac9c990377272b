//! The small key-value store of one job: tasks publish addresses and small results with
//! `spindle kv put` and read them with `spindle kv get` / `spindle kv wait`, so a job can combine
//! results on a cluster without a shared disk. It lives in the ApplicationMaster's dispatcher and
//! ends with the job's record; it is bounded so a task cannot exhaust the ApplicationMaster.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::resource_manager::types::JobId;

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// The largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// The most a job may store, keys and values together, in bytes.
pub const MAX_JOB_BYTES: usize = 16 << 20;
/// The most keys a job's tasks may wait for at once.
pub const MAX_WAITED_KEYS: usize = 10_000;

/// Why a key-value call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// No such job in this ApplicationMaster.
    #[error("no job {0} in this cluster")]
    UnknownJob(JobId),
    /// The job has ended: its store is gone.
    #[error("job {0} has ended; its key-value store is gone")]
    Ended(JobId),
    /// Too many distinct keys are waited for.
    #[error(
        "the job's tasks wait for {MAX_WAITED_KEYS} different keys already; wait for fewer keys at once"
    )]
    TooManyWaits,
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
#[derive(Debug)]
pub struct Kv {
    job: JobId,
    entries: HashMap<String, String>,
    bytes: usize,
    waiters: HashMap<String, Vec<oneshot::Sender<String>>>,
    /// The number of waited keys at which abandoned waits are swept next (amortised O(1)).
    sweep_at: usize,
    closed: bool,
}

impl Kv {
    /// An empty store of `job`.
    pub fn new(job: JobId) -> Self {
        Kv {
            job,
            entries: HashMap::new(),
            bytes: 0,
            waiters: HashMap::new(),
            sweep_at: MAX_WAITED_KEYS / 8,
            closed: false,
        }
    }

    fn open(&self) -> Result<(), KvError> {
        if self.closed {
            Err(KvError::Ended(self.job))
        } else {
            Ok(())
        }
    }

    /// Sets `key` (replacing an older value) and wakes those waiting for it.
    pub fn put(&mut self, key: String, value: String) -> Result<(), KvError> {
        self.open()?;
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
    pub fn get(&self, key: &str) -> Result<Option<&str>, KvError> {
        self.open()?;
        check_key(key)?;
        Ok(self.entries.get(key).map(String::as_str))
    }

    /// The value of `key` now, or once it is put (the receiver fails if the store goes away first).
    pub fn wait(&mut self, key: String) -> Result<oneshot::Receiver<String>, KvError> {
        self.open()?;
        check_key(&key)?;
        let (tx, rx) = oneshot::channel();
        if let Some(v) = self.entries.get(&key) {
            let _ = tx.send(v.clone());
            return Ok(rx);
        }
        if !self.waiters.contains_key(&key) && self.waiters.len() >= self.sweep_at {
            // Waits whose caller gave up are swept out before a new key is added, so abandoned
            // waits do not pile up.
            self.waiters.retain(|_, ws| {
                ws.retain(|w| !w.is_closed());
                !ws.is_empty()
            });
            if self.waiters.len() >= MAX_WAITED_KEYS {
                return Err(KvError::TooManyWaits);
            }
            self.sweep_at = (2 * self.waiters.len()).clamp(MAX_WAITED_KEYS / 8, MAX_WAITED_KEYS);
        }
        let waiters = self.waiters.entry(key).or_default();
        waiters.retain(|w| !w.is_closed());
        waiters.push(tx);
        Ok(rx)
    }

    /// The job has ended: the entries and waiters are dropped, and later calls are refused.
    pub fn close(&mut self) {
        self.closed = true;
        self.entries = HashMap::new();
        self.waiters = HashMap::new();
        self.bytes = 0;
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
        let mut kv = Kv::new(JobId(7));
        let early = kv.wait("a/0".into()).unwrap();
        kv.put("a/0".into(), "41".into()).unwrap();
        kv.put("a/0".into(), "42".into()).unwrap();
        assert_eq!(early.await.unwrap(), "41");
        assert_eq!(kv.get("a/0"), Ok(Some("42")));
        assert_eq!(kv.wait("a/0".into()).unwrap().await.unwrap(), "42");
        assert_eq!(kv.get("missing"), Ok(None));
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
        let waiting = kv.wait("never".into()).unwrap();
        kv.close();
        assert!(waiting.await.is_err());
        assert_eq!(kv.get("v0"), Err(KvError::Ended(JobId(7))));
        assert!(matches!(
            kv.put("v0".into(), "x".into()),
            Err(KvError::Ended(_))
        ));
        assert!(matches!(kv.wait("v0".into()), Err(KvError::Ended(_))));
    }

    #[test]
    fn abandoned_waits_are_dropped_and_live_ones_are_bounded() {
        let mut kv = Kv::new(JobId(7));
        // Waits given up by their callers do not count.
        for i in 0..MAX_WAITED_KEYS + 10 {
            drop(kv.wait(format!("gone/{i}")).unwrap());
        }
        let mut live = Vec::new();
        for i in 0..MAX_WAITED_KEYS {
            live.push(kv.wait(format!("live/{i}")).unwrap());
        }
        assert_eq!(
            kv.wait("one/more".into()).unwrap_err(),
            KvError::TooManyWaits
        );
        // A key already waited for can take more waiters.
        live.push(kv.wait("live/0".into()).unwrap());
    }
}
