//! Flink's value syntax: integers, floats, booleans, durations (`50 ms`, `30 s`, `5 min`; a bare
//! number is milliseconds) and memory sizes (`1728m`, `1 gb`; a bare number is bytes).

use std::time::Duration;

/// A type an option's raw string parses into; the error says what was expected.
pub trait ConfigValue: Sized {
    /// Parses Flink's textual form.
    fn parse(raw: &str) -> Result<Self, String>;
}

impl ConfigValue for u32 {
    fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse()
            .map_err(|_| "expected a non-negative whole number".to_owned())
    }
}

impl ConfigValue for f64 {
    fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err("expected a non-negative number such as 10 or 2.5".to_owned()),
        }
    }
}

impl ConfigValue for bool {
    fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        }
    }
}

impl ConfigValue for String {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(raw.to_owned())
    }
}

impl ConfigValue for Duration {
    fn parse(raw: &str) -> Result<Self, String> {
        parse_duration(raw)
    }
}

/// Splits `"30 s"` / `"30s"` into its number and its lower-cased unit.
fn split_number_unit(raw: &str) -> Result<(u64, String), String> {
    let raw = raw.trim();
    let digits = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    if digits == 0 {
        return Err("expected a number followed by an optional unit".to_owned());
    }
    let number = raw[..digits]
        .parse::<u64>()
        .map_err(|_| "number too large".to_owned())?;
    Ok((number, raw[digits..].trim().to_ascii_lowercase()))
}

/// Parses a Flink duration: a whole number with an optional unit (ns, us, ms, s, min, h, d and their
/// long forms); no unit means milliseconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let (n, unit) = split_number_unit(raw)?;
    let duration = match unit.as_str() {
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => Duration::from_nanos(n),
        "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => {
            Duration::from_micros(n)
        }
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => Duration::from_millis(n),
        "s" | "sec" | "secs" | "second" | "seconds" => Duration::from_secs(n),
        "m" | "min" | "mins" | "minute" | "minutes" => Duration::from_secs(n.saturating_mul(60)),
        "h" | "hour" | "hours" => Duration::from_secs(n.saturating_mul(3600)),
        "d" | "day" | "days" => Duration::from_secs(n.saturating_mul(86_400)),
        other => {
            return Err(format!(
                "unknown time unit '{other}'; use ms, s, min, h or d (no unit means milliseconds)"
            ));
        }
    };
    Ok(duration)
}

/// A memory size in bytes, written as in Flink (`1728m`, `1g`, `512 mb`, a bare number is bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemorySize(pub u64);

impl MemorySize {
    /// `n` mebibytes.
    pub const fn mebibytes(n: u64) -> Self {
        Self(n << 20)
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl ConfigValue for MemorySize {
    fn parse(raw: &str) -> Result<Self, String> {
        let (n, unit) = split_number_unit(raw)?;
        let shift = match unit.as_str() {
            "" | "b" | "bytes" => 0,
            "k" | "kb" | "kibibytes" => 10,
            "m" | "mb" | "mebibytes" => 20,
            "g" | "gb" | "gibibytes" => 30,
            "t" | "tb" | "tebibytes" => 40,
            other => {
                return Err(format!(
                    "unknown memory unit '{other}'; use b, k, m, g or t"
                ));
            }
        };
        n.checked_mul(1u64 << shift)
            .map(MemorySize)
            .ok_or_else(|| "memory size too large".to_owned())
    }
}

/// `taskmanager.load-balance.mode`: how slots are placed on registered TaskManagers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LoadBalanceMode {
    /// Fill one TaskManager before the next (Flink's AnyMatching).
    None,
    /// Spread slots evenly: the least utilised TaskManager first (Flink's LeastUtilization).
    Slots,
}

impl ConfigValue for LoadBalanceMode {
    fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "NONE" => Ok(Self::None),
            "SLOTS" => Ok(Self::Slots),
            // TASKS balances tasks within slots on the JobMaster side; slot placement is as SLOTS.
            "TASKS" => Ok(Self::Slots),
            _ => Err("expected NONE, SLOTS or TASKS".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_flink_syntax() {
        assert_eq!(parse_duration("30000").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30 s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5 min").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(
            parse_duration("5 fortnights")
                .unwrap_err()
                .contains("fortnights")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn memory_sizes_in_flink_syntax() {
        assert_eq!(
            MemorySize::parse("1728m").unwrap(),
            MemorySize::mebibytes(1728)
        );
        assert_eq!(
            MemorySize::parse("1 gb").unwrap(),
            MemorySize::mebibytes(1024)
        );
        assert_eq!(MemorySize::parse("4096").unwrap(), MemorySize(4096));
        assert!(MemorySize::parse("12 parsecs").is_err());
        assert!(MemorySize::parse("99999999999999999999t").is_err());
    }
}
