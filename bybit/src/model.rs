//! Enumerations shared by REST and WebSocket payloads.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Linear,
    Inverse,
    Spot,
    Option,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Side {
    #[default]
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OrderType {
    #[default]
    Limit,
    Market,
    /// Executions that are not an order's fill (funding, settlement) carry `"UNKNOWN"`; any
    /// other value decodes as this too rather than failing the whole message.
    #[serde(rename = "UNKNOWN", other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TimeInForce {
    #[default]
    GTC,
    IOC,
    FOK,
    PostOnly,
    /// Retail Price Improvement orders (other participants' RPI quotes can show in listings).
    RPI,
    /// A value this crate does not know: decoded, not failed.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OrderStatus {
    #[default]
    New,
    PartiallyFilled,
    Untriggered,
    Rejected,
    PartiallyFilledCanceled,
    Filled,
    Cancelled,
    Triggered,
    Deactivated,
    /// A value this crate does not know: decoded, not failed.
    #[serde(other)]
    Unknown,
}

impl OrderStatus {
    /// Open orders are the ones a cancel-all must still remove. A status this crate does not
    /// know counts as open: an order is forgotten only when the exchange says it is closed.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled | Self::Untriggered | Self::Unknown)
    }
}
