//! `[account]`: what the start may change on the exchange account before quoting. Without it
//! the start changes nothing and refuses a hedge-mode symbol, naming the fix.

use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    /// `"one-way"`: a symbol found in hedge mode with no position open is switched to one-way
    /// (`/v5/position/switch-mode`) at start. Unset: a hedge-mode symbol stops the start.
    pub position_mode: Option<PositionMode>,
    /// Leverage set on every symbol at start (`/v5/position/set-leverage`, both sides);
    /// unset: whatever the account holds (the preflight shows it).
    pub leverage: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PositionMode {
    #[serde(rename = "one-way")]
    OneWay,
}
