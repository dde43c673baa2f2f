//! What happens before the first quote: leftovers of an earlier run are dealt with (cancel,
//! adopt or refuse), and the exchange-side dead-man switch is armed when the exchange allows it.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::Addr;
use anyhow::bail;

use bybit_v5::rest::path;
use mmbot_actors::exchange::rest_connector::{Call, OrderEntry, Rest};
use mmbot_actors::market::net_position::{net_positions, NetPosition};
use mmbot_actors::messages::events::Event;
use mmbot_actors::messages::record::{Flush, Record};
use mmbot_actors::messages::status::StatusPatch;
use mmbot_actors::observe::recorder::Recorder;
use mmbot_actors::order_manager::{LeftoverPolicy, OrderManagerSettings};
use mmbot_actors::orders::cancel_path;
use mmbot_actors::orders::link_id::LinkIds;
use mmbot_actors::shutdown::flatten::{flatten, list_open_orders, FlattenJob, Transports};
use serde_json::json;

/// Orders carrying our prefix with another run id are leftovers; orders without the prefix are
/// someone else's (left alone, reported). Leftovers are cancelled by the shutdown's escalation
/// (by id: a cancel-all would take the foreign orders too), within `budget`. Returns how many
/// leftovers there were (a fill on one before its cancel changes the positions).
pub async fn reconcile_leftovers(
    transports: &Transports,
    symbols: &[String],
    ids: &LinkIds,
    settings: &OrderManagerSettings,
    budget: Duration,
    recorder: &Addr<Recorder>,
) -> anyhow::Result<usize> {
    let rest = &transports.rest;
    let mut leftovers: HashMap<String, Vec<String>> = HashMap::new();
    let mut foreign = Vec::new();
    // Every symbol at once: one round trip, not one per symbol (a few reads of a 50/s budget).
    let listings = futures_util::future::join_all(symbols.iter().map(|s| async move { (s, list_open_orders(rest, s).await) })).await;
    for (s, open) in listings {
        let open = open.map_err(|e| anyhow::anyhow!("listing open orders of {s} at startup: {e}"))?;
        for o in open {
            if ids.is_this_run(&o.order_link_id) {
                continue;
            }
            if ids.is_ours(&o.order_link_id) {
                leftovers.entry(s.clone()).or_default().push(o.order_link_id);
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
    let names: Vec<String> = leftovers.values().flatten().cloned().collect();
    let policy = settings.leftovers;
    let record = |cancelled: usize, paths: Vec<mmbot_actors::orders::cancel_path::SymbolFlatten>| {
        recorder.do_send(Record(Event::StartupReconciliation {
            policy: format!("{policy:?}").to_lowercase(),
            leftovers: names.clone(),
            cancelled,
            foreign: foreign.clone(),
            symbols: paths,
        }))
    };
    if names.is_empty() {
        record(0, Vec::new());
        return Ok(0);
    }
    match policy {
        LeftoverPolicy::Cancel => {
            let earlier_run = ids.clone();
            let paths = cancel_path::preference(false, transports.trade_socket, transports.order_entry == OrderEntry::Websocket);
            let job = FlattenJob {
                symbols: leftovers.keys().cloned().collect(),
                paths,
                target: Rc::new(move |l: &str| earlier_run.is_ours(l) && !earlier_run.is_this_run(l)),
                known: leftovers,
                deadline: Instant::now() + budget,
                silence: settings.silence(),
                settled: Rc::new(|| true),
                doubt_until: Rc::new(|| None),
                believed_open: Rc::default(),
                account_wide: false,
            };
            let out = flatten(job, transports.clone()).await;
            let cancelled = out.symbols.iter().map(|s| s.cancelled).sum();
            for s in &out.symbols {
                log::warn!("startup reconciliation: {}", s.line());
            }
            let still: usize = out.symbols.iter().map(|s| s.remaining.len()).sum();
            let flat = out.flat();
            record(cancelled, out.symbols);
            if !flat {
                let _ = recorder.send(Flush).await;
                bail!("{still} leftover orders of an earlier run could not be cancelled");
            }
            log::warn!("startup reconciliation: cancelled {cancelled} leftover orders of an earlier run; 0 remain");
        }
        LeftoverPolicy::Adopt => {
            log::warn!(
                "startup reconciliation: adopting {} leftover orders (the shutdown will cancel them)",
                names.len()
            );
            record(0, Vec::new());
        }
        LeftoverPolicy::Refuse => {
            record(0, Vec::new());
            let _ = recorder.send(Flush).await;
            bail!(
                "{} orders of an earlier run are open ({}); refusing to start (order_manager.leftovers = \"refuse\")",
                names.len(),
                names.join(", ")
            );
        }
    }
    Ok(names.len())
}

/// Arm disconnect-cancel-all. An optional net: Bybit enables it per account, so a refusal is a
/// loud warning, not a reason to stop.
pub async fn arm_dead_man_switch(rest: &Rest, window_s: u32, recorder: &Addr<Recorder>) -> bool {
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

/// An accepted `set-dcp` is not proof: the switch is confirmed by `query-dcp-info` (Bybit: after
/// ~10 s; DCP is for institutional accounts). Read at once and, if not in effect yet, once more
/// 10 s later; the row goes to the log and `/status.account`.
pub fn confirm_dead_man_switch(rest: Rest, window_s: u32, scope_own: bool, status: actix::Recipient<StatusPatch>) {
    const SETTLE: Duration = Duration::from_secs(10);
    actix_rt::spawn(async move {
        let mut row = None;
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(SETTLE).await;
            }
            let r = match rest.send(Call::get(path::DCP_INFO, "")).await {
                Ok(Ok(a)) => crate::preflight::dcp_row(&a.result, window_s, scope_own),
                Ok(Err(e)) => crate::preflight::Row::warn("dead-man switch", format!("could not confirm it (query-dcp-info: {e})")),
                Err(e) => crate::preflight::Row::warn("dead-man switch", format!("could not confirm it ({e})")),
            };
            let done = r.verdict == crate::preflight::Verdict::Ok;
            row = Some(r);
            if done {
                break;
            }
        }
        let Some(row) = row else { return };
        if row.verdict == crate::preflight::Verdict::Ok {
            log::info!("dead-man switch {}", row.detail);
        } else {
            log::warn!("DEAD-MAN SWITCH {}", row.detail);
        }
        status.do_send(StatusPatch::AccountCheck(row.to_status()));
    });
}

/// The account's positions in the configured symbols, read before the first quote: what the
/// Strategy's skew, limits and PnL start from. Unreadable: the start fails, naming the read.
pub async fn inherited_positions(rest: &Rest, symbols: &[String]) -> anyhow::Result<BTreeMap<String, NetPosition>> {
    let rows = mmbot_actors::account::reads::positions(rest, symbols)
        .await
        .map_err(|e| anyhow::anyhow!("reading the account's positions (/v5/position/list) before the first quote: {e}"))?;
    let net: BTreeMap<String, NetPosition> = net_positions(&rows).into_iter().filter(|(s, _)| symbols.contains(s)).collect();
    for (symbol, p) in net.iter().filter(|(_, p)| !p.size.is_zero()) {
        log::warn!(symbol = symbol.as_str(); "{symbol}: inherited position {} at entry {} (from the exchange): quoting skews and limits from it", p.size, p.entry_price);
    }
    Ok(net)
}
