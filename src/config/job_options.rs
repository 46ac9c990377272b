//! The Flink option keys of the JobMaster: restart strategies (`restart-strategy.*`, Flink's names
//! and defaults of the 1.19+ line) and the slot pool's declaration batching.

use std::time::Duration;

use super::ConfigOption;

const fn opt<T>(key: &'static str, default: T) -> ConfigOption<T> {
    ConfigOption {
        key,
        fallback_keys: &[],
        default: Some(default),
    }
}

/// `parallelism.default`: the parallelism of a vertex that does not set its own.
pub const PARALLELISM_DEFAULT: ConfigOption<u32> = opt("parallelism.default", 1);

/// `restart-strategy.type` (old `restart-strategy`): `none` (also `off`, `disable`),
/// `fixed-delay` (also `fixeddelay`), `exponential-delay` (also `exponentialdelay`) or
/// `failure-rate` (also `failurerate`). Flink picks none without checkpointing; spindle has no
/// checkpoints and restarts by default, so it defaults to `fixed-delay`.
pub const RESTART_STRATEGY_TYPE: ConfigOption<String> = ConfigOption {
    key: "restart-strategy.type",
    fallback_keys: &["restart-strategy"],
    default: None,
};
/// `restart-strategy.fixed-delay.attempts`: restarts before the job fails.
pub const FIXED_DELAY_ATTEMPTS: ConfigOption<u32> = opt("restart-strategy.fixed-delay.attempts", 1);
/// `restart-strategy.fixed-delay.delay`: wait before each restart.
pub const FIXED_DELAY_DELAY: ConfigOption<Duration> =
    opt("restart-strategy.fixed-delay.delay", Duration::from_secs(1));
/// `restart-strategy.exponential-delay.initial-backoff`.
pub const EXPONENTIAL_INITIAL_BACKOFF: ConfigOption<Duration> = opt(
    "restart-strategy.exponential-delay.initial-backoff",
    Duration::from_secs(1),
);
/// `restart-strategy.exponential-delay.max-backoff`.
pub const EXPONENTIAL_MAX_BACKOFF: ConfigOption<Duration> = opt(
    "restart-strategy.exponential-delay.max-backoff",
    Duration::from_secs(60),
);
/// `restart-strategy.exponential-delay.backoff-multiplier`.
pub const EXPONENTIAL_BACKOFF_MULTIPLIER: ConfigOption<f64> =
    opt("restart-strategy.exponential-delay.backoff-multiplier", 1.5);
/// `restart-strategy.exponential-delay.reset-backoff-threshold`: a quiet spell this long resets
/// the backoff to its initial value.
pub const EXPONENTIAL_RESET_BACKOFF_THRESHOLD: ConfigOption<Duration> = opt(
    "restart-strategy.exponential-delay.reset-backoff-threshold",
    Duration::from_secs(3600),
);
/// `restart-strategy.exponential-delay.jitter-factor`: each backoff varies by up to this fraction.
pub const EXPONENTIAL_JITTER_FACTOR: ConfigOption<f64> =
    opt("restart-strategy.exponential-delay.jitter-factor", 0.1);
/// `restart-strategy.exponential-delay.attempts-before-reset-backoff`: restarts allowed between
/// two resets (`Integer.MAX_VALUE` by default).
pub const EXPONENTIAL_ATTEMPTS_BEFORE_RESET: ConfigOption<u32> = opt(
    "restart-strategy.exponential-delay.attempts-before-reset-backoff",
    i32::MAX as u32,
);
/// `restart-strategy.failure-rate.max-failures-per-interval`.
pub const FAILURE_RATE_MAX_FAILURES: ConfigOption<u32> =
    opt("restart-strategy.failure-rate.max-failures-per-interval", 1);
/// `restart-strategy.failure-rate.failure-rate-interval`.
pub const FAILURE_RATE_INTERVAL: ConfigOption<Duration> = opt(
    "restart-strategy.failure-rate.failure-rate-interval",
    Duration::from_secs(60),
);
/// `restart-strategy.failure-rate.delay`.
pub const FAILURE_RATE_DELAY: ConfigOption<Duration> = opt(
    "restart-strategy.failure-rate.delay",
    Duration::from_secs(1),
);
/// `slot.request.max-interval`: the slot pool batches requirement changes this long before
/// declaring them.
pub const SLOT_REQUEST_MAX_INTERVAL: ConfigOption<Duration> =
    opt("slot.request.max-interval", Duration::from_millis(20));
