//! The bot's orders as data: the table of tracked orders, the diff between wanted quotes and
//! what rests, the requote plan, batch bodies, order-link ids and the choice of cancel path.
//! Pure logic, no actor: the OrderManager (`order_manager/`) and the shutdown's flattener drive it.

pub mod batch_body;
pub mod cancel_path;
pub mod creates_in_doubt;
pub mod link_id;
pub mod order_diff;
pub mod order_table;
pub mod refusal_breaker;
pub mod refusal_log;
pub mod requote_plan;
pub mod wanted;
