//! The retCodes an engine must tell apart. Bybit answers business errors with HTTP 200 and a
//! non-zero retCode, so the code, not the HTTP status, decides what happened.

/// Known retCodes. Unknown codes are kept as `Other` so nothing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetCode {
    Ok,
    ServerTimeout,
    ParamError,
    TimestampOutOfWindow,
    InvalidApiKey,
    SignatureError,
    PermissionDenied,
    RateLimited,
    InternalError,
    RouteNotFound,
    OrderNotFound,
    PriceOutOfRange,
    InsufficientBalance,
    OrderFinished,
    OrderAlreadyCancelled,
    ReduceOnlyTruncated,
    TooManyActiveOrders,
    DuplicateOrderLinkId,
    OrderBeingProcessed,
    NotionalTooSmall,
    Other(i64),
}

impl RetCode {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Ok,
            10000 => Self::ServerTimeout,
            10001 => Self::ParamError,
            10002 => Self::TimestampOutOfWindow,
            10003 => Self::InvalidApiKey,
            10004 => Self::SignatureError,
            10005 => Self::PermissionDenied,
            10006 => Self::RateLimited,
            10016 => Self::InternalError,
            10017 => Self::RouteNotFound,
            110001 => Self::OrderNotFound,
            110003 => Self::PriceOutOfRange,
            110004 | 110007 | 110012 => Self::InsufficientBalance,
            110008 => Self::OrderFinished,
            110010 => Self::OrderAlreadyCancelled,
            110017 => Self::ReduceOnlyTruncated,
            110020 => Self::TooManyActiveOrders,
            110072 => Self::DuplicateOrderLinkId,
            110079 => Self::OrderBeingProcessed,
            110094 => Self::NotionalTooSmall,
            other => Self::Other(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Ok => 0,
            Self::ServerTimeout => 10000,
            Self::ParamError => 10001,
            Self::TimestampOutOfWindow => 10002,
            Self::InvalidApiKey => 10003,
            Self::SignatureError => 10004,
            Self::PermissionDenied => 10005,
            Self::RateLimited => 10006,
            Self::InternalError => 10016,
            Self::RouteNotFound => 10017,
            Self::OrderNotFound => 110001,
            Self::PriceOutOfRange => 110003,
            Self::InsufficientBalance => 110007,
            Self::OrderFinished => 110008,
            Self::OrderAlreadyCancelled => 110010,
            Self::ReduceOnlyTruncated => 110017,
            Self::TooManyActiveOrders => 110020,
            Self::DuplicateOrderLinkId => 110072,
            Self::OrderBeingProcessed => 110079,
            Self::NotionalTooSmall => 110094,
            Self::Other(c) => c,
        }
    }

    /// Worth retrying after a pause (transient on the exchange side).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::ServerTimeout | Self::RateLimited | Self::InternalError | Self::OrderBeingProcessed
        )
    }

    /// For a cancel, "the order is not there any more" means the goal is reached.
    pub fn means_order_gone(self) -> bool {
        matches!(self, Self::OrderNotFound | Self::OrderFinished | Self::OrderAlreadyCancelled)
    }

    /// Credentials are wrong: retrying cannot help.
    pub fn is_auth_failure(self) -> bool {
        matches!(self, Self::InvalidApiKey | Self::SignatureError | Self::PermissionDenied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in [
            0, 10000, 10001, 10002, 10003, 10004, 10005, 10006, 10016, 10017, 110001, 110003, 110007, 110008, 110010, 110017, 110020,
            110072, 110079, 110094, 424242,
        ] {
            assert_eq!(RetCode::from_code(c).code(), c);
        }
    }

    #[test]
    fn classification() {
        assert!(RetCode::from_code(10006).is_transient());
        assert!(RetCode::from_code(110001).means_order_gone());
        assert!(RetCode::from_code(10004).is_auth_failure());
        assert!(!RetCode::from_code(110072).is_transient());
    }
}
