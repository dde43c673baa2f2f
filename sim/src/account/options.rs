//! How an account is set up on the exchange, beyond its key: what a real account can be that a
//! fresh simulator account is not — a read-only key, hedge mode, no DCP, a key that expires.
//! Set at start (`--account KEY:SECRET:read-only,hedge`) and changed at run time through the
//! same endpoints Bybit offers (switch-mode, set-leverage) or `/sim/` routes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountOptions {
    /// The key may read but not write: every order, position or DCP request answers 10005.
    pub read_only: bool,
    /// Every symbol starts in hedge mode (two position rows, positionIdx 1 and 2 required).
    pub hedge: bool,
    /// Disconnect-cancel-all is enabled for the account (on Bybit the account manager enables it;
    /// without it the request is accepted, nothing is armed and `dcp.*` subscribes fail).
    pub dcp: bool,
    /// Days until the key expires (a key without bound IPs; Bybit: 90 days); None: bound to
    /// IPs, never expires (`deadlineDay` -1).
    pub key_days_left: Option<i64>,
    /// `REGULAR_MARGIN` (cross), `ISOLATED_MARGIN` or `PORTFOLIO_MARGIN`, as `/v5/account/info`
    /// reports it.
    pub margin_mode: String,
}

impl Default for AccountOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            hedge: false,
            dcp: true,
            key_days_left: None,
            margin_mode: "REGULAR_MARGIN".into(),
        }
    }
}

impl AccountOptions {
    /// Parse the comma-separated flags of `--account KEY:SECRET:FLAGS`: `read-only`, `hedge`,
    /// `no-dcp`, `isolated`, `portfolio`, `expires=DAYS`.
    pub fn parse(flags: &str) -> Result<Self, String> {
        let mut o = Self::default();
        for flag in flags.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            match flag {
                "read-only" => o.read_only = true,
                "hedge" => o.hedge = true,
                "no-dcp" => o.dcp = false,
                "isolated" => o.margin_mode = "ISOLATED_MARGIN".into(),
                "portfolio" => o.margin_mode = "PORTFOLIO_MARGIN".into(),
                f if f.starts_with("expires=") => {
                    let days = f["expires=".len()..]
                        .parse()
                        .map_err(|_| format!("expires= takes a number of days, got {f:?}"))?;
                    o.key_days_left = Some(days);
                }
                f => {
                    return Err(format!(
                        "unknown account flag {f:?} (read-only, hedge, no-dcp, isolated, portfolio, expires=DAYS)"
                    ))
                }
            }
        }
        Ok(o)
    }
}

/// Split `KEY:SECRET[:FLAGS]`.
pub fn parse_account(spec: &str) -> Result<(String, String, AccountOptions), String> {
    let mut parts = spec.splitn(3, ':');
    let (Some(key), Some(secret)) = (parts.next(), parts.next()) else {
        return Err(format!("expected KEY:SECRET[:FLAGS], got {spec:?}"));
    };
    let options = AccountOptions::parse(parts.next().unwrap_or(""))?;
    Ok((key.to_string(), secret.to_string(), options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let (k, s, o) = parse_account("k:s:read-only,hedge,no-dcp,expires=5").unwrap();
        assert_eq!((k.as_str(), s.as_str()), ("k", "s"));
        assert!(o.read_only && o.hedge && !o.dcp);
        assert_eq!(o.key_days_left, Some(5));
        assert_eq!(parse_account("k:s").unwrap().2, AccountOptions::default());
        assert!(parse_account("k:s:bogus").is_err());
        assert!(parse_account("k").is_err());
    }
}
