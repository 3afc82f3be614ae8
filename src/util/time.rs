//! HAProxy time values: `5000` is milliseconds, `5s`, `1m`, `100us`, `2h`, `1d`.
//!
//! Parsed into [`Duration`] at the edge; the manual's rules (section 2.5) are
//! the specification: a bare number is milliseconds, units are lower case,
//! no sign and no fraction. HAProxy stores timeouts as a signed 32-bit count of
//! milliseconds, so larger values are refused, as it refuses them.

use std::fmt;
use std::time::Duration;

/// The largest time HAProxy accepts for a timeout: 2^31-1 ms (about 24.8 days).
pub const MAX_MS: u64 = i32::MAX as u64;

/// Why a time value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Nothing was given.
    #[error("empty time value")]
    Empty,
    /// It does not start with a digit.
    #[error("'{0}' is not a time value (a number of ms, or with a unit: us ms s m h d)")]
    NotANumber(String),
    /// A unit we do not know follows the number.
    #[error("unexpected unit '{unit}' in '{value}' (expected one of us, ms, s, m, h, d)")]
    BadUnit {
        /// The whole value.
        value: String,
        /// What followed the digits.
        unit: String,
    },
    /// Too large for HAProxy's timers.
    #[error("timer overflow in '{0}': the maximum is 2147483647 ms (~24.8 days)")]
    Overflow(String),
}

/// Parses a time value where a bare number means milliseconds.
pub fn parse_time(text: &str) -> Result<Duration, TimeError> {
    parse_time_in(text, Unit::Ms)
}

/// Units of a time value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// microseconds
    Us,
    /// milliseconds
    Ms,
    /// seconds
    S,
    /// minutes
    M,
    /// hours
    H,
    /// days
    D,
}

impl Unit {
    fn from_suffix(s: &str) -> Option<Unit> {
        Some(match s {
            "us" => Unit::Us,
            "ms" => Unit::Ms,
            "s" => Unit::S,
            "m" => Unit::M,
            "h" => Unit::H,
            "d" => Unit::D,
            _ => return None,
        })
    }

    fn micros(self) -> u64 {
        match self {
            Unit::Us => 1,
            Unit::Ms => 1_000,
            Unit::S => 1_000_000,
            Unit::M => 60_000_000,
            Unit::H => 3_600_000_000,
            Unit::D => 86_400_000_000,
        }
    }
}

/// Parses a time value whose bare numbers are in `default_unit`.
pub fn parse_time_in(text: &str, default_unit: Unit) -> Result<Duration, TimeError> {
    if text.is_empty() {
        return Err(TimeError::Empty);
    }
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return Err(TimeError::NotANumber(text.to_string()));
    }
    let suffix = &text[digits_end..];
    let unit = if suffix.is_empty() {
        default_unit
    } else {
        Unit::from_suffix(suffix).ok_or_else(|| TimeError::BadUnit {
            value: text.to_string(),
            unit: suffix.to_string(),
        })?
    };
    let overflow = || TimeError::Overflow(text.to_string());
    let n: u64 = text[..digits_end].parse().map_err(|_| overflow())?;
    let micros = n.checked_mul(unit.micros()).ok_or_else(overflow)?;
    if micros / 1_000 > MAX_MS {
        return Err(overflow());
    }
    // HAProxy's timers count milliseconds; like it, round a non-zero value up.
    let ms = micros.div_ceil(1_000);
    Ok(Duration::from_millis(ms))
}

/// Writes a duration back in the largest unit that states it exactly,
/// so that `format_time(parse_time(x))` parses to the same value.
pub fn format_time(d: Duration) -> String {
    TimeDisplay(d).to_string()
}

/// Display adapter for [`format_time`].
pub struct TimeDisplay(pub Duration);

impl fmt::Display for TimeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us == 0 {
            return f.write_str("0");
        }
        for (unit, name) in [
            (86_400_000_000u128, "d"),
            (3_600_000_000, "h"),
            (60_000_000, "m"),
            (1_000_000, "s"),
            (1_000, "ms"),
        ] {
            if us.is_multiple_of(unit) {
                return write!(f, "{}{}", us / unit, name);
            }
        }
        write!(f, "{us}us")
    }
}

/// serde helpers: a [`Duration`] is written as a HAProxy time string ("5s").
pub mod serde_time {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as a time string.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&TimeDisplay(*d))
    }

    /// Deserializes from a time string or a bare number of milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = TimeText::deserialize(d)?;
        parse_time(&v.0).map_err(serde::de::Error::custom)
    }

    /// A time written either as a YAML number (ms) or as a string.
    struct TimeText(String);

    impl<'de> Deserialize<'de> for TimeText {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Either {
                N(u64),
                S(String),
            }
            Ok(TimeText(match Either::deserialize(d)? {
                Either::N(n) => n.to_string(),
                Either::S(s) => s,
            }))
        }
    }

    /// The same for `Option<Duration>`.
    pub mod option {
        use super::*;

        /// Serializes `Some` as a time string (fields skip `None`).
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.collect_str(&TimeDisplay(*d)),
                None => s.serialize_none(),
            }
        }

        /// Deserializes a time string into `Some`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        let ms = Duration::from_millis;
        assert_eq!(parse_time("5000"), Ok(ms(5000)));
        assert_eq!(parse_time("5000ms"), Ok(ms(5000)));
        assert_eq!(parse_time("5s"), Ok(ms(5000)));
        assert_eq!(parse_time("1m"), Ok(ms(60_000)));
        assert_eq!(parse_time("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_time("1d"), Ok(ms(86_400_000)));
        assert_eq!(parse_time("1000us"), Ok(ms(1)));
        assert_eq!(parse_time("0"), Ok(ms(0)));
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse_time(""), Err(TimeError::Empty)));
        assert!(matches!(parse_time("abc"), Err(TimeError::NotANumber(_))));
        assert!(matches!(parse_time("-1"), Err(TimeError::NotANumber(_))));
        assert!(matches!(parse_time("1.5s"), Err(TimeError::BadUnit { .. })));
        assert!(matches!(parse_time("5S"), Err(TimeError::BadUnit { .. })));
        assert!(matches!(parse_time("5x"), Err(TimeError::BadUnit { .. })));
        assert!(matches!(parse_time("25d"), Err(TimeError::Overflow(_))));
        assert!(matches!(
            parse_time("99999999999999999999999"),
            Err(TimeError::Overflow(_))
        ));
        assert_eq!(parse_time("1us"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_time("1500us"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_time("2147483647"), Ok(Duration::from_millis(MAX_MS)));
        assert!(parse_time("2147483648").is_err());
    }

    #[test]
    fn format_round_trips() {
        for s in [
            "0",
            "1ms",
            "5s",
            "90s",
            "1m",
            "1h",
            "1d",
            "1500ms",
            "2147483647ms",
        ] {
            let d = parse_time(s).unwrap();
            assert_eq!(parse_time(&format_time(d)).unwrap(), d, "{s}");
        }
        assert_eq!(format_time(Duration::from_millis(60_000)), "1m");
        assert_eq!(format_time(Duration::from_millis(1500)), "1500ms");
    }
}
