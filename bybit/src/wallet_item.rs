//! The unified account as `/v5/account/wallet-balance` and the private `wallet` topic send it
//! (shared/bybit-v5-fields.md §12): mind the capitals (`totalPerpUPL`, `accountIMRate`,
//! `totalOrderIM`, …), which serde's camelCase would get wrong. Keys default when absent.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CoinBalance {
    pub coin: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub equity: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub usd_value: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub wallet_balance: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub locked: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub spot_hedging_qty: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub borrow_amount: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub accrued_interest: Decimal,
    #[serde(rename = "totalOrderIM")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_order_im: Decimal,
    #[serde(rename = "totalPositionIM")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_position_im: Decimal,
    #[serde(rename = "totalPositionMM")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_position_mm: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub unrealised_pnl: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub cum_realised_pnl: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub bonus: Decimal,
    pub margin_collateral: bool,
    pub collateral_switch: bool,
    pub col_res: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub spot_borrow: Decimal,
    /// Deprecated for UNIFIED: `""`.
    pub available_to_withdraw: String,
    /// Deprecated: `""`.
    pub available_to_borrow: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct WalletAccount {
    pub account_type: String,
    #[serde(rename = "accountIMRate")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub account_im_rate: Decimal,
    #[serde(rename = "accountIMRateByMp")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub account_im_rate_by_mp: Decimal,
    #[serde(rename = "accountMMRate")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub account_mm_rate: Decimal,
    #[serde(rename = "accountMMRateByMp")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub account_mm_rate_by_mp: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_equity: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_wallet_balance: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_margin_balance: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_available_balance: Decimal,
    #[serde(rename = "totalPerpUPL")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_perp_upl: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_initial_margin: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_initial_margin_by_mp: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_maintenance_margin: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub total_maintenance_margin_by_mp: Decimal,
    #[serde(rename = "accountLTV")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub account_ltv: Decimal,
    pub coin: Vec<CoinBalance>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitals_as_bybit_spells_them() {
        let w = serde_json::to_value(WalletAccount {
            coin: vec![CoinBalance::default()],
            ..Default::default()
        })
        .unwrap();
        for k in [
            "totalPerpUPL",
            "accountIMRate",
            "accountMMRateByMp",
            "accountLTV",
            "totalMaintenanceMarginByMp",
        ] {
            assert!(w.get(k).is_some(), "{k}");
        }
        for k in ["totalOrderIM", "totalPositionIM", "totalPositionMM", "availableToWithdraw"] {
            assert!(w["coin"][0].get(k).is_some(), "{k}");
        }
    }
}
