//! Restart strategies: whether a failed region may restart, and after how long. Flink's four
//! (`none`, `fixed-delay`, `exponential-delay`, `failure-rate`) under its `restart-strategy.*` keys.
//!
//! spindle defaults to fixed-delay (one restart after 1 s, Flink's fixed-delay defaults): Flink
//! restarts only with checkpointing on, and spindle's tasks are whole processes that can simply
//! run again. Jitter is drawn from a generator seeded by the caller, so a run replays exactly.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::job_options as keys;
use crate::config::{ConfigError, Configuration};
use crate::resource_manager::types::Timestamp;

/// A configured restart strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum RestartStrategy {
    /// Never restart: the first failure fails the job.
    None,
    /// Restart up to `attempts` times, `delay` after each failure.
    FixedDelay { attempts: u32, delay: Duration },
    /// Restart with a backoff that grows by `multiplier` per failure up to `max_backoff`, resets
    /// after `reset_threshold` without failures, and varies by `jitter_factor`; at most
    /// `attempts_before_reset` restarts between resets.
    ExponentialDelay {
        initial_backoff: Duration,
        max_backoff: Duration,
        multiplier: f64,
        reset_threshold: Duration,
        jitter_factor: f64,
        attempts_before_reset: u32,
    },
    /// Restart after `delay` unless more than `max_failures` failures fall within `interval`.
    FailureRate {
        max_failures: u32,
        interval: Duration,
        delay: Duration,
    },
}

impl RestartStrategy {
    /// Reads `restart-strategy.type` and the chosen strategy's keys (Flink's aliases accepted).
    pub fn from_configuration(conf: &Configuration) -> Result<Self, ConfigError> {
        let kind = conf
            .get_optional(&keys::RESTART_STRATEGY_TYPE)?
            .unwrap_or_else(|| "fixed-delay".to_owned());
        Ok(match kind.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "disable" => RestartStrategy::None,
            "fixed-delay" | "fixeddelay" => RestartStrategy::FixedDelay {
                attempts: conf.get(&keys::FIXED_DELAY_ATTEMPTS)?,
                delay: conf.get(&keys::FIXED_DELAY_DELAY)?,
            },
            "exponential-delay" | "exponentialdelay" => {
                let multiplier = conf.get(&keys::EXPONENTIAL_BACKOFF_MULTIPLIER)?;
                if multiplier < 1.0 {
                    return Err(ConfigError {
                        key: keys::EXPONENTIAL_BACKOFF_MULTIPLIER.key.to_owned(),
                        value: multiplier.to_string(),
                        problem: "must be at least 1.0".to_owned(),
                    });
                }
                let jitter_factor = conf.get(&keys::EXPONENTIAL_JITTER_FACTOR)?;
                if jitter_factor > 1.0 {
                    return Err(ConfigError {
                        key: keys::EXPONENTIAL_JITTER_FACTOR.key.to_owned(),
                        value: jitter_factor.to_string(),
                        problem: "must be between 0.0 and 1.0".to_owned(),
                    });
                }
                RestartStrategy::ExponentialDelay {
                    initial_backoff: conf.get(&keys::EXPONENTIAL_INITIAL_BACKOFF)?,
                    max_backoff: conf.get(&keys::EXPONENTIAL_MAX_BACKOFF)?,
                    multiplier,
                    reset_threshold: conf.get(&keys::EXPONENTIAL_RESET_BACKOFF_THRESHOLD)?,
                    jitter_factor,
                    attempts_before_reset: conf.get(&keys::EXPONENTIAL_ATTEMPTS_BEFORE_RESET)?,
                }
            }
            "failure-rate" | "failurerate" => RestartStrategy::FailureRate {
                max_failures: conf.get(&keys::FAILURE_RATE_MAX_FAILURES)?,
                interval: conf.get(&keys::FAILURE_RATE_INTERVAL)?,
                delay: conf.get(&keys::FAILURE_RATE_DELAY)?,
            },
            _ => {
                return Err(ConfigError {
                    key: keys::RESTART_STRATEGY_TYPE.key.to_owned(),
                    value: kind,
                    problem: "expected none, fixed-delay, exponential-delay or failure-rate"
                        .to_owned(),
                });
            }
        })
    }
}

impl Default for RestartStrategy {
    /// fixed-delay with Flink's defaults for it: 1 attempt, 1 s.
    fn default() -> Self {
        RestartStrategy::FixedDelay {
            attempts: 1,
            delay: Duration::from_secs(1),
        }
    }
}

/// A restart strategy's running state for one job.
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    strategy: RestartStrategy,
    /// Restarts granted (since the last reset, for exponential-delay).
    restarts: u32,
    /// exponential-delay: the backoff of the latest restart, and when that failure happened.
    current_backoff: Duration,
    last_failure: Option<Timestamp>,
    /// failure-rate: the failures inside the current interval.
    failures: VecDeque<Timestamp>,
    rng: u64,
}

impl RestartBackoff {
    /// Fresh state; `seed` drives the jitter.
    pub fn new(strategy: RestartStrategy, seed: u64) -> Self {
        RestartBackoff {
            strategy,
            restarts: 0,
            current_backoff: Duration::ZERO,
            last_failure: None,
            failures: VecDeque::new(),
            rng: seed,
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> &RestartStrategy {
        &self.strategy
    }

    /// Restarts granted so far.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// A failure happened at `now`: the delay before restarting, or `None` when the strategy
    /// allows no more restarts (the job fails).
    pub fn on_failure(&mut self, now: Timestamp) -> Option<Duration> {
        match self.strategy.clone() {
            RestartStrategy::None => None,
            RestartStrategy::FixedDelay { attempts, delay } => {
                (self.restarts < attempts).then(|| {
                    self.restarts += 1;
                    delay
                })
            }
            RestartStrategy::FailureRate {
                max_failures,
                interval,
                delay,
            } => {
                while self
                    .failures
                    .front()
                    .is_some_and(|t| t.after(interval) <= now)
                {
                    self.failures.pop_front();
                }
                self.failures.push_back(now);
                (self.failures.len() as u64 <= u64::from(max_failures)).then(|| {
                    self.restarts += 1;
                    delay
                })
            }
            RestartStrategy::ExponentialDelay {
                initial_backoff,
                max_backoff,
                multiplier,
                reset_threshold,
                jitter_factor,
                attempts_before_reset,
            } => {
                let quiet = self.last_failure.is_none_or(|last| {
                    last.after(reset_threshold.saturating_add(self.current_backoff)) <= now
                });
                if quiet {
                    self.current_backoff = initial_backoff.min(max_backoff);
                    self.restarts = 0;
                } else {
                    self.current_backoff = self
                        .current_backoff
                        .mul_f64(multiplier)
                        .min(max_backoff)
                        .max(initial_backoff.min(max_backoff));
                }
                self.last_failure = Some(now);
                if self.restarts >= attempts_before_reset {
                    return None;
                }
                self.restarts += 1;
                Some(self.jitter(self.current_backoff, jitter_factor))
            }
        }
    }

    /// `backoff` varied uniformly by up to ± `factor` of itself.
    fn jitter(&mut self, backoff: Duration, factor: f64) -> Duration {
        if factor <= 0.0 {
            return backoff;
        }
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        backoff.mul_f64(1.0 + factor * (2.0 * unit - 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn conf(pairs: &[(&str, &str)]) -> RestartStrategy {
        RestartStrategy::from_configuration(&Configuration::from_pairs(pairs.iter().copied()))
            .unwrap()
    }

    #[test]
    fn default_is_fixed_delay_once_after_a_second() {
        assert_eq!(conf(&[]), RestartStrategy::default());
        let mut b = RestartBackoff::new(RestartStrategy::default(), 0);
        assert_eq!(b.on_failure(Timestamp(0)), Some(S));
        assert_eq!(b.on_failure(Timestamp(5000)), None);
    }

    #[test]
    fn keys_and_aliases_are_read() {
        assert_eq!(conf(&[("restart-strategy", "off")]), RestartStrategy::None);
        assert_eq!(
            conf(&[
                ("restart-strategy.type", "fixeddelay"),
                ("restart-strategy.fixed-delay.attempts", "3"),
                ("restart-strategy.fixed-delay.delay", "10 s"),
            ]),
            RestartStrategy::FixedDelay {
                attempts: 3,
                delay: 10 * S
            }
        );
        let bad = Configuration::from_pairs([("restart-strategy.type", "sometimes")]);
        let err = RestartStrategy::from_configuration(&bad).unwrap_err();
        assert!(err.problem.contains("fixed-delay"), "{err}");
    }

    #[test]
    fn fixed_delay_counts_attempts() {
        let mut b = RestartBackoff::new(
            RestartStrategy::FixedDelay {
                attempts: 3,
                delay: 2 * S,
            },
            0,
        );
        for t in 0..3 {
            assert_eq!(b.on_failure(Timestamp(t)), Some(2 * S));
        }
        assert_eq!(b.on_failure(Timestamp(9)), None);
        assert_eq!(b.restarts(), 3);
    }

    #[test]
    fn failure_rate_fails_on_too_many_failures_in_the_interval() {
        let mut b = RestartBackoff::new(
            RestartStrategy::FailureRate {
                max_failures: 2,
                interval: 60 * S,
                delay: S,
            },
            0,
        );
        assert_eq!(b.on_failure(Timestamp(0)), Some(S));
        assert_eq!(b.on_failure(Timestamp(30_000)), Some(S));
        // The first failure has left the interval: two in the window again.
        assert_eq!(b.on_failure(Timestamp(60_000)), Some(S));
        assert_eq!(b.on_failure(Timestamp(61_000)), None);
    }

    #[test]
    fn exponential_delay_grows_caps_and_resets() {
        let strategy = conf(&[
            ("restart-strategy.type", "exponential-delay"),
            ("restart-strategy.exponential-delay.initial-backoff", "1 s"),
            ("restart-strategy.exponential-delay.max-backoff", "5 s"),
            (
                "restart-strategy.exponential-delay.backoff-multiplier",
                "2.0",
            ),
            ("restart-strategy.exponential-delay.jitter-factor", "0"),
            (
                "restart-strategy.exponential-delay.reset-backoff-threshold",
                "1 min",
            ),
        ]);
        let mut b = RestartBackoff::new(strategy, 7);
        let delays: Vec<_> = (0..5)
            .map(|i| b.on_failure(Timestamp(i * 1000)).unwrap())
            .collect();
        assert_eq!(delays, vec![S, 2 * S, 4 * S, 5 * S, 5 * S]);
        // Quiet for threshold + backoff: back to the initial backoff.
        assert_eq!(b.on_failure(Timestamp(4000 + 65_000)), Some(S));
    }

    #[test]
    fn exponential_jitter_stays_within_its_factor_and_replays() {
        let strategy = RestartStrategy::ExponentialDelay {
            initial_backoff: 10 * S,
            max_backoff: 10 * S,
            multiplier: 1.5,
            reset_threshold: 3600 * S,
            jitter_factor: 0.1,
            attempts_before_reset: 100,
        };
        let run = |seed| {
            let mut b = RestartBackoff::new(strategy.clone(), seed);
            (0..50)
                .map(|i| b.on_failure(Timestamp(i)).unwrap())
                .collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert!(a.iter().all(|d| *d >= 9 * S && *d <= 11 * S), "{a:?}");
        assert!(a.iter().any(|d| *d != 10 * S));
    }

    #[test]
    fn exponential_attempts_before_reset_bound_restarts() {
        let mut b = RestartBackoff::new(
            RestartStrategy::ExponentialDelay {
                initial_backoff: S,
                max_backoff: S,
                multiplier: 2.0,
                reset_threshold: 3600 * S,
                jitter_factor: 0.0,
                attempts_before_reset: 2,
            },
            0,
        );
        assert!(b.on_failure(Timestamp(0)).is_some());
        assert!(b.on_failure(Timestamp(1)).is_some());
        assert_eq!(b.on_failure(Timestamp(2)), None);
    }
}
