//! Exact amounts of money and prices.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Serialize, Serializer};

/// Femto-dollars (10^-15 USD) in one US dollar.
const FEMTO_PER_USD: u128 = 1_000_000_000_000_000;
/// Nano-dollars (10^-9 USD) in one US dollar.
const NANO_PER_USD: f64 = 1e9;
/// The highest price a catalog accepts, in USD per million tokens.
pub(crate) const MAX_USD_PER_MTOK: f64 = 1_000_000.0;

/// An amount in US dollars, held exactly as an integer count of femto-dollars
/// (10^-15 USD).
///
/// A price in the catalog has at most nine decimal places in USD per million tokens,
/// so one token costs a whole number of femto-dollars and every sum is exact. Use
/// [`Money::as_usd`] or `Display` only to show an amount; compare and add `Money`
/// values themselves. Addition saturates instead of overflowing.
///
/// It serialises as a floating-point number of dollars, for reports.
///
/// ```
/// use llmvcr_cost::Money;
/// let a = Money::from_nano_usd(1_250);
/// assert_eq!((a + a).to_string(), "$0.000003");
/// assert_eq!(format!("{:.9}", a + a), "$0.000002500");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(u128);

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// An amount of femto-dollars (10^-15 USD).
    pub const fn from_femto_usd(femto: u128) -> Money {
        Money(femto)
    }

    /// An amount of nano-dollars (10^-9 USD).
    pub const fn from_nano_usd(nano: u64) -> Money {
        Money(nano as u128 * 1_000_000)
    }

    /// An amount of micro-dollars (10^-6 USD).
    pub const fn from_micro_usd(micro: u64) -> Money {
        Money(micro as u128 * 1_000_000_000)
    }

    /// An amount of dollars, rounded to the nearest nano-dollar; `None` when it is
    /// negative, not finite, or above 10^9 USD. Meant for budgets written by people.
    pub fn from_usd(usd: f64) -> Option<Money> {
        if !usd.is_finite() || !(0.0..=1e9).contains(&usd) {
            return None;
        }
        Some(Money::from_nano_usd((usd * NANO_PER_USD).round() as u64))
    }

    /// The exact amount in femto-dollars.
    pub const fn femto_usd(self) -> u128 {
        self.0
    }

    /// The amount in dollars as a float, for display only.
    pub fn as_usd(self) -> f64 {
        self.0 as f64 / FEMTO_PER_USD as f64
    }

    /// `tokens` at `price`: exact.
    pub(crate) fn of(tokens: u64, price: Price) -> Money {
        Money(u128::from(tokens) * u128::from(price.0))
    }

    /// The sum, saturating at the largest amount.
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// The difference, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        self.saturating_add(other)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        *self = self.saturating_add(other);
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    /// Dollars with six decimal places unless a precision is given (at most 15),
    /// rounded half up: `$0.003750`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let places = f.precision().unwrap_or(6).min(15);
        let unit = 10u128.pow(15 - places as u32);
        let rounded = self.0.saturating_add(unit / 2) / unit;
        let scale = 10u128.pow(places as u32);
        let (whole, frac) = (rounded / scale, rounded % scale);
        if places == 0 {
            write!(f, "${whole}")
        } else {
            write!(f, "${whole}.{frac:0places$}")
        }
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_usd())
    }
}

/// A price in USD per million tokens, held exactly as an integer count of
/// nano-dollars per million tokens (so at most nine decimal places).
///
/// ```
/// use llmvcr_cost::Price;
/// let p = Price::from_usd_per_mtok(0.0375).unwrap();
/// assert_eq!(p.nano_usd_per_mtok(), 37_500_000);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(u64);

impl Price {
    /// Free.
    pub const ZERO: Price = Price(0);

    /// A price of `nano` nano-dollars per million tokens.
    pub const fn from_nano_usd_per_mtok(nano: u64) -> Price {
        Price(nano)
    }

    /// A price in USD per million tokens, rounded to nine decimal places; `None` when
    /// it is negative, not finite, or above 1,000,000.
    pub fn from_usd_per_mtok(usd: f64) -> Option<Price> {
        if !usd.is_finite() || !(0.0..=MAX_USD_PER_MTOK).contains(&usd) {
            return None;
        }
        Some(Price((usd * NANO_PER_USD).round() as u64))
    }

    /// The exact price in nano-dollars per million tokens.
    pub const fn nano_usd_per_mtok(self) -> u64 {
        self.0
    }

    /// The price in USD per million tokens as a float, for display only.
    pub fn as_usd_per_mtok(self) -> f64 {
        self.0 as f64 / NANO_PER_USD
    }

    /// The cost of `tokens` tokens at this price, exactly.
    pub fn cost_of(self, tokens: u64) -> Money {
        Money::of(tokens, self)
    }
}

impl fmt::Display for Price {
    /// `$2.5/Mtok`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}/Mtok", self.as_usd_per_mtok())
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_usd_per_mtok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_costs_a_whole_number_of_femto_dollars() {
        let p = Price::from_usd_per_mtok(0.000000001).unwrap();
        assert_eq!(p.cost_of(1).femto_usd(), 1);
        let p = Price::from_usd_per_mtok(2.5).unwrap();
        assert_eq!(p.cost_of(1_000_000), Money::from_micro_usd(2_500_000));
    }

    #[test]
    fn display_rounds_half_up() {
        assert_eq!(Money::from_nano_usd(500).to_string(), "$0.000001");
        assert_eq!(Money::from_nano_usd(499).to_string(), "$0.000000");
        assert_eq!(format!("{:.0}", Money::from_micro_usd(1_500_000)), "$2");
        assert_eq!(
            format!("{:.2}", Money::from_micro_usd(12_345_678)),
            "$12.35"
        );
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(Price::from_usd_per_mtok(-0.1), None);
        assert_eq!(Price::from_usd_per_mtok(f64::NAN), None);
        assert_eq!(Money::from_usd(f64::INFINITY), None);
        assert_eq!(Money::from_usd(0.25), Some(Money::from_micro_usd(250_000)));
    }
}
