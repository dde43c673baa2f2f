//! Our resting orders at the venue, by link id, in link-id order: a sorted array. The venue holds
//! a handful and walks them on every book frame and trade, where a contiguous walk costs less
//! than a tree's.

use std::ops::Index;

use crate::venue::VenueOrder;

#[derive(Debug, Default)]
pub struct RestingOrders {
    orders: Vec<(String, VenueOrder)>,
}

impl RestingOrders {
    fn find(&self, id: &str) -> Result<usize, usize> {
        self.orders.binary_search_by(|(k, _)| k.as_str().cmp(id))
    }

    pub fn get(&self, id: &str) -> Option<&VenueOrder> {
        self.find(id).ok().map(|i| &self.orders[i].1)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut VenueOrder> {
        self.find(id).ok().map(|i| &mut self.orders[i].1)
    }

    /// Add or replace the order `id`: the one it replaced.
    pub fn insert(&mut self, id: String, order: VenueOrder) -> Option<VenueOrder> {
        match self.find(&id) {
            Ok(i) => Some(std::mem::replace(&mut self.orders[i].1, order)),
            Err(i) => {
                self.orders.insert(i, (id, order));
                None
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<VenueOrder> {
        self.find(id).ok().map(|i| self.orders.remove(i).1)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut VenueOrder)> {
        self.orders.iter_mut().map(|(k, o)| (k.as_str(), o))
    }

    pub fn values(&self) -> impl Iterator<Item = &VenueOrder> {
        self.orders.iter().map(|(_, o)| o)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut VenueOrder> {
        self.orders.iter_mut().map(|(_, o)| o)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.orders.iter().map(|(k, _)| k.as_str())
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    pub fn clear(&mut self) {
        self.orders.clear();
    }
}

impl Index<&str> for RestingOrders {
    type Output = VenueOrder;

    fn index(&self, id: &str) -> &VenueOrder {
        self.get(id).expect("no resting order with that link id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bybit_v5::Side;
    use fill_model::{QueueModel, Resting};
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;

    fn order(n: u32) -> VenueOrder {
        VenueOrder {
            sym: 0,
            side: Side::Buy,
            price: Decimal::from(n),
            qty: Decimal::ONE,
            leaves: Decimal::ONE,
            queue: Resting::join(&QueueModel::RiskAverse, fill_model::Side::Buy, n as i64, 1.0, 0.0),
        }
    }

    proptest! {
        /// The same orders, found and walked in the same order, as a map by link id.
        #[test]
        fn keeps_what_a_map_by_link_id_keeps(ops in prop::collection::vec((0u32..30, any::<bool>()), 0..120)) {
            let mut orders = RestingOrders::default();
            let mut map: BTreeMap<String, u32> = BTreeMap::new();
            for (n, insert) in ops {
                // Link ids as the bot writes them: "bt-9" sorts after "bt-10".
                let id = format!("bt-{n}");
                if insert {
                    prop_assert_eq!(orders.insert(id.clone(), order(n)).is_some(), map.insert(id.clone(), n).is_some());
                } else {
                    prop_assert_eq!(orders.remove(&id).is_some(), map.remove(&id).is_some());
                }
                prop_assert_eq!(orders.get(&id).map(|o| o.price), map.get(&id).map(|&n| Decimal::from(n)));
                prop_assert_eq!(orders.keys().collect::<Vec<_>>(), map.keys().map(String::as_str).collect::<Vec<_>>());
                prop_assert_eq!(orders.len(), map.len());
            }
        }
    }
}
