//! What happens before the first quote: leftovers of an earlier run are dealt with (cancel,
//! adopt or refuse), and the exchange-side dead-man switch is armed when the exchange allows it.

use actix::Addr;
use anyhow::bail;

use bybit_v5::rest::path;
use mmbot_actors::events::Event;
use mmbot_actors::link_id::LinkIds;
use mmbot_actors::order_manager::{cancel_batch_size, cancel_by_link_ids, list_open_orders, LeftoverPolicy};
use mmbot_actors::rate_governor::Governor;
use mmbot_actors::recorder::{Flush, Record, Recorder};
use mmbot_actors::rest_connector::{Call, RestConnector};
use serde_json::json;

/// Orders carrying our prefix with another run id are leftovers; orders without the prefix are
/// someone else's (left alone, reported).
pub async fn reconcile_leftovers(
    rest: &Addr<RestConnector>,
    symbols: &[String],
    ids: &LinkIds,
    policy: LeftoverPolicy,
    governor: &Governor,
    recorder: &Addr<Recorder>,
) -> anyhow::Result<()> {
    let mut leftovers: Vec<(String, String)> = Vec::new();
    let mut foreign = Vec::new();
    for s in symbols {
        let open = list_open_orders(rest, s)
            .await
            .map_err(|e| anyhow::anyhow!("listing open orders of {s} at startup: {e}"))?;
        for o in open {
            if ids.is_this_run(&o.order_link_id) {
                continue;
            }
            if ids.is_ours(&o.order_link_id) {
                leftovers.push((s.clone(), o.order_link_id));
            } else {
                foreign.push(if o.order_link_id.is_empty() { o.order_id } else { o.order_link_id });
            }
        }
    }
    if !foreign.is_empty() {
        log::warn!(
            "{} open orders without the prefix {:?} on the traded symbols: left alone",
            foreign.len(),
            ids.prefix()
        );
    }
    let names: Vec<String> = leftovers.iter().map(|(_, l)| l.clone()).collect();
    let mut cancelled = 0;
    if !leftovers.is_empty() {
        match policy {
            LeftoverPolicy::Cancel => {
                for s in symbols {
                    let mine: Vec<String> = leftovers.iter().filter(|(sym, _)| sym == s).map(|(_, l)| l.clone()).collect();
                    cancelled += cancel_by_link_ids(rest, s, &mine, cancel_batch_size(governor)).await.len();
                }
                // Confirm with the exchange before quoting.
                let mut still = 0;
                for s in symbols {
                    let open = list_open_orders(rest, s)
                        .await
                        .map_err(|e| anyhow::anyhow!("verifying leftovers of {s}: {e}"))?;
                    still += open
                        .iter()
                        .filter(|o| ids.is_ours(&o.order_link_id) && !ids.is_this_run(&o.order_link_id))
                        .count();
                }
                log::warn!("startup reconciliation: cancelled {cancelled} leftover orders of an earlier run; {still} remain");
                if still > 0 {
                    recorder.do_send(Record(Event::StartupReconciliation {
                        policy: "cancel".into(),
                        leftovers: names,
                        cancelled,
                        foreign,
                    }));
                    bail!("{still} leftover orders of an earlier run could not be cancelled");
                }
            }
            LeftoverPolicy::Adopt => log::warn!(
                "startup reconciliation: adopting {} leftover orders (the shutdown will cancel them)",
                names.len()
            ),
            LeftoverPolicy::Refuse => {
                recorder.do_send(Record(Event::StartupReconciliation {
                    policy: "refuse".into(),
                    leftovers: names.clone(),
                    cancelled,
                    foreign,
                }));
                let _ = recorder.send(Flush).await;
                bail!(
                    "{} orders of an earlier run are open ({}); refusing to start (order_manager.leftovers = \"refuse\")",
                    names.len(),
                    names.join(", ")
                );
            }
        }
    }
    let policy = format!("{policy:?}").to_lowercase();
    recorder.do_send(Record(Event::StartupReconciliation {
        policy,
        leftovers: names,
        cancelled,
        foreign,
    }));
    Ok(())
}

/// Arm disconnect-cancel-all. An optional net: Bybit enables it per account, so a refusal is a
/// loud warning, not a reason to stop.
pub async fn arm_dead_man_switch(rest: &Addr<RestConnector>, window_s: u32, recorder: &Addr<Recorder>) -> bool {
    if window_s == 0 {
        log::info!("exchange-side dead-man switch (DCP) is off (order_manager.dcp_window_s = 0)");
        return false;
    }
    let body = json!({"timeWindow": window_s, "product": "DERIVATIVES"}).to_string();
    let (armed, detail) = match rest.send(Call::post(path::DCP, body)).await {
        Ok(Ok(_)) => (
            true,
            format!("armed: if every private connection is gone for {window_s} s, the exchange cancels all orders"),
        ),
        Ok(Err(e)) => (
            false,
            format!("not available ({e}); orders survive a crash until the next start reconciles them"),
        ),
        Err(e) => (false, format!("not available ({e})")),
    };
    if armed {
        log::info!("dead-man switch {detail}");
    } else {
        log::warn!("DEAD-MAN SWITCH {detail}");
    }
    recorder.do_send(Record(Event::DeadManSwitch { armed, window_s, detail }));
    armed
}
