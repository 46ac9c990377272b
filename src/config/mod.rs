//! Flink-compatible configuration: a map of Flink key names (as in `config.yaml` or `-D key=value`)
//! with typed accessors that apply Flink's defaults and deprecated fallback keys.
//!
//! Users move from Flink with their configuration files, so key names, defaults and value syntax
//! (durations such as `30 s` or `5 min`, memory sizes such as `1728m`) follow Flink. Parsing a
//! `config.yaml` and the command line comes later; this module defines the keys and their meaning.

pub mod job_options;
mod options;
mod value;

use std::collections::BTreeMap;

pub use options::*;
pub use value::{ConfigValue, LoadBalanceMode, MemorySize, parse_duration};

/// A configuration option: its Flink key, deprecated keys still honoured, and its default.
#[derive(Debug, Clone, Copy)]
pub struct ConfigOption<T: 'static> {
    /// The current Flink key.
    pub key: &'static str,
    /// Older keys read when the current one is absent, in order.
    pub fallback_keys: &'static [&'static str],
    /// The value used when no key is set; `None` means "no default" (the option is optional).
    pub default: Option<T>,
}

/// A configuration value that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for configuration key '{key}': {problem}")]
pub struct ConfigError {
    /// The key whose value is wrong.
    pub key: String,
    /// The value as given.
    pub value: String,
    /// What is wrong and what is expected.
    pub problem: String,
}

/// A set of Flink configuration entries, key to raw string value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    entries: BTreeMap<String, String>,
}

impl Configuration {
    /// An empty configuration: every option takes its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// A configuration from key/value pairs, e.g. collected from `-D key=value` arguments.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            entries: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Sets a raw value (a later set of the same key wins, like a later `-D`).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.entries.insert(key.into(), value.into());
        self
    }

    /// The raw string value of a key, if set.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// The raw value of an option: its key first, then its deprecated keys in order.
    fn raw_option<T>(&self, option: &ConfigOption<T>) -> Option<(&'static str, &str)> {
        std::iter::once(option.key)
            .chain(option.fallback_keys.iter().copied())
            .find_map(|key| self.raw(key).map(|value| (key, value)))
    }

    /// The typed value of an option, or its default; `Ok(None)` when unset and without default.
    pub fn get_optional<T: ConfigValue + Clone>(
        &self,
        option: &ConfigOption<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.raw_option(option) {
            Some((key, raw)) => T::parse(raw).map(Some).map_err(|problem| ConfigError {
                key: key.to_owned(),
                value: raw.to_owned(),
                problem,
            }),
            None => Ok(option.default.clone()),
        }
    }

    /// The typed value of an option that has a default.
    ///
    /// # Panics
    /// Never for the options of this module with a default; an option without one is a programming
    /// error and panics with its key.
    pub fn get<T: ConfigValue + Clone>(&self, option: &ConfigOption<T>) -> Result<T, ConfigError> {
        self.get_optional(option).map(|value| {
            value.unwrap_or_else(|| {
                panic!("option '{}' has no default; use get_optional", option.key)
            })
        })
    }

    /// All entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn defaults_apply_when_unset() {
        let conf = Configuration::new();
        assert_eq!(
            conf.get(&TASK_MANAGER_TIMEOUT).unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(conf.get(&NUMBER_OF_TASK_SLOTS).unwrap(), 1);
        assert_eq!(conf.get(&START_WORKER_MAX_FAILURE_RATE).unwrap(), 10.0);
        assert_eq!(
            conf.get(&REQUIREMENT_CHECK_DELAY).unwrap(),
            Duration::from_millis(50)
        );
        assert_eq!(conf.get(&MAX_SLOTS).unwrap(), i32::MAX as u32);
        assert_eq!(conf.get_optional(&TASK_MANAGER_CPU_CORES).unwrap(), None);
        assert_eq!(conf.get(&LOAD_BALANCE_MODE).unwrap(), LoadBalanceMode::None);
    }

    #[test]
    fn deprecated_key_is_a_fallback_and_the_new_key_wins() {
        let mut conf = Configuration::from_pairs([("slotmanager.taskmanager-timeout", "10 s")]);
        assert_eq!(
            conf.get(&TASK_MANAGER_TIMEOUT).unwrap(),
            Duration::from_secs(10)
        );
        conf.set("resourcemanager.taskmanager-timeout", "20000");
        assert_eq!(
            conf.get(&TASK_MANAGER_TIMEOUT).unwrap(),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn bad_value_names_the_key_and_the_problem() {
        let conf = Configuration::from_pairs([("taskmanager.numberOfTaskSlots", "many")]);
        let err = conf.get(&NUMBER_OF_TASK_SLOTS).unwrap_err();
        assert_eq!(err.key, "taskmanager.numberOfTaskSlots");
        assert!(err.to_string().contains("many"), "{err}");
    }

    #[test]
    fn evenly_spread_out_slots_maps_to_load_balance_mode() {
        let conf = Configuration::from_pairs([("cluster.evenly-spread-out-slots", "true")]);
        assert_eq!(load_balance_mode(&conf).unwrap(), LoadBalanceMode::Slots);
        let conf = Configuration::from_pairs([
            ("cluster.evenly-spread-out-slots", "true"),
            ("taskmanager.load-balance.mode", "NONE"),
        ]);
        assert_eq!(load_balance_mode(&conf).unwrap(), LoadBalanceMode::None);
    }
}
