//! Decoding as lenient as Bybit's payloads need: decimal fields that come as `""` (nothing yet:
//! `closedSize`, `execPnl`, `entryPrice`, `leavesValue`, a conditional order's `price`), text
//! fields that sometimes come as arrays (`extraFees`), and lists decoded item by item so that one
//! odd item never costs the others — the bot's own fill next to it in the same frame, or the rest
//! of a listing the stop needs to prove flat.

use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

/// A decimal from a string (`""` is zero: "none yet"), a number, or null.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Decimal::ZERO),
        Value::String(s) if s.is_empty() => Ok(Decimal::ZERO),
        Value::String(s) => s
            .parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&s))
            .map_err(|e| serde::de::Error::custom(format!("decimal {s:?}: {e}"))),
        Value::Number(n) => n
            .to_string()
            .parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map_err(|e| serde::de::Error::custom(format!("decimal {n}: {e}"))),
        other => Err(serde::de::Error::custom(format!("decimal expected, got {other}"))),
    }
}

/// Text from a string as it is, null as `""`, anything else (an array, an object, a number) as
/// its JSON text.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// A field the bot does not read: its type when Bybit sends that (or sends it as text, `"7"`),
/// the type's default for anything else (`null`, `""`, an array, an unknown word). A field the
/// bot never looks at must not cost the item when its type drifts — Bybit already types `seq`
/// as a string on one endpoint and a number on another.
pub fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    if let Ok(t) = T::deserialize(&v) {
        return Ok(t);
    }
    if let Value::String(s) = &v {
        if let Some(t) = serde_json::from_str::<Value>(s).ok().and_then(|inner| T::deserialize(inner).ok()) {
            return Ok(t);
        }
    }
    Ok(T::default())
}

/// A decimal the bot does not read: as [`decimal`], zero when it is not one.
pub fn decimal_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(decimal(v).unwrap_or_default())
}

/// An item of a list that could not be decoded: why, the start of it, and its `symbol` when
/// that much can be read (a position row that cannot be decoded makes that symbol's position
/// unknown, not flat).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkippedItem {
    pub error: String,
    pub sample: String,
    pub symbol: Option<String>,
}

/// Decode each element of a JSON array on its own; items of another category than `linear`
/// (the all-in-one topics of a unified account also carry spot and option items) are left out
/// silently. Not an array: no items, one skip.
pub fn items<T: DeserializeOwned>(list: &Value) -> (Vec<T>, Vec<SkippedItem>) {
    let Some(array) = list.as_array() else {
        return (
            Vec::new(),
            match list {
                Value::Null => Vec::new(),
                other => vec![skipped("not a list", other)],
            },
        );
    };
    let mut out = Vec::with_capacity(array.len());
    let mut skips = Vec::new();
    for item in array {
        if item
            .get("category")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty() && c != "linear")
        {
            continue;
        }
        match T::deserialize(item) {
            Ok(v) => out.push(v),
            Err(e) => skips.push(skipped(&e.to_string(), item)),
        }
    }
    (out, skips)
}

fn skipped(error: &str, item: &Value) -> SkippedItem {
    SkippedItem {
        error: error.to_string(),
        sample: item.to_string().chars().take(200).collect(),
        symbol: item.get("symbol").and_then(Value::as_str).map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        #[serde(deserialize_with = "decimal", default)]
        qty: Decimal,
        #[serde(deserialize_with = "text", default)]
        fees: String,
    }

    #[test]
    fn empty_null_and_numbers_are_decimals() {
        let (v, skips): (Vec<Item>, _) = items(&json!([{"qty": ""}, {"qty": null}, {"qty": 1.5}, {"qty": "2.25"}, {}]));
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(
            v.iter().map(|i| i.qty).collect::<Vec<_>>(),
            [dec!(0), dec!(0), dec!(1.5), dec!(2.25), dec!(0)]
        );
    }

    #[test]
    fn an_array_where_text_is_expected_is_kept_as_text() {
        let (v, _): (Vec<Item>, _) = items(&json!([{"fees": []}, {"fees": ["a"]}, {"fees": "x"}]));
        assert_eq!(v.iter().map(|i| i.fees.as_str()).collect::<Vec<_>>(), ["[]", "[\"a\"]", "x"]);
    }

    #[test]
    fn one_bad_item_keeps_the_others() {
        let (v, skips): (Vec<Item>, _) = items(&json!([{"qty": "1"}, {"qty": "abc"}, {"qty": "3"}]));
        assert_eq!(v.len(), 2);
        assert_eq!(skips.len(), 1);
        assert!(skips[0].sample.contains("abc"));
    }

    #[test]
    fn other_categories_are_left_out() {
        let (v, skips): (Vec<Item>, _) = items(&json!([{"category": "spot", "qty": "1"}, {"category": "linear", "qty": "2"}]));
        assert_eq!((v.len(), skips.len()), (1, 0));
        assert_eq!(v[0].qty, dec!(2));
    }
}
