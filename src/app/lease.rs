//! `[ha]`: the Elector on an etcd lease, and what becoming active takes. A standby starts like
//! any run up to its first quote — exchange checked, streams connected and warm, every actor
//! running — with the OrderManager behind a closed fence and no dead-man switch armed (DCP is
//! account-wide: a standby's connection would keep it from firing when the active dies). When
//! it wins the key it does what a single instance does before quoting, in the same order:
//! cancel the previous active's leftovers (orders with the prefix and another run id), arm the
//! dead-man switch, read the positions; then the Elector opens the fence and the OrderManager.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use tokio::sync::watch;

use mmbot_actors::exchange::ws_connector::WsConnector;
use mmbot_actors::ha::elector::{Elector, ElectorOutlets, TakeOver};
use mmbot_actors::ha::fence::Fence;
use mmbot_actors::ha::HaSettings;
use mmbot_actors::messages::ha::{AccountFrom, Inherit};
use mmbot_actors::messages::shutdown::RequestShutdown;
use mmbot_actors::messages::status::StatusPatch;
use mmbot_actors::observe::recorder::Recorder;
use mmbot_actors::order_manager::{CancelScope, OrderManager, OrderManagerSettings, UseExitPaths};
use mmbot_actors::orders::link_id::LinkIds;
use mmbot_actors::shutdown::flatten::{DeadMan, Transports};
use mmbot_actors::telemetry::metrics::Metrics;

use crate::startup;

/// What the take-over needs, all of it addresses and settings known once the actors run.
pub(super) struct TakeOverParts {
    pub transports: Transports,
    pub symbols: Vec<String>,
    pub ids: LinkIds,
    pub settings: OrderManagerSettings,
    /// The leftovers' cancel budget: the order step's.
    pub budget: Duration,
    pub recorder: Addr<Recorder>,
    pub status: Recipient<StatusPatch>,
    pub dcp: watch::Sender<bool>,
    pub order_manager: Addr<OrderManager>,
    pub strategy: Recipient<Inherit>,
    pub account: Recipient<AccountFrom>,
    pub ws: Addr<WsConnector>,
    /// The `[account]` changes (one-way mode, leverage) are made by the active only.
    pub client: mmbot_actors::exchange::rest_client::RestClient,
    pub account_settings: crate::config::AccountSettings,
}

async fn take_over(p: TakeOverParts) -> anyhow::Result<()> {
    let rest = p.transports.rest.clone();
    let window_s = p.settings.dcp_window_s;
    // The leftovers listed (and cancelled), the dead-man switch armed and the positions read at
    // once: none waits for another. A fill on a leftover before its cancel changes the
    // positions, so they are read again after any leftover was cancelled.
    // On the exchange's clock, which stamps the executions this floor is compared with.
    let since_ms = p.client.exchange_now_ms();
    let (reconciled, armed, positions) = tokio::join!(
        startup::reconcile_leftovers(&p.transports, &p.symbols, &p.ids, &p.settings, p.budget, &p.recorder),
        startup::arm_dead_man_switch(&rest, window_s, &p.recorder),
        startup::inherited_positions(&rest, &p.symbols),
    );
    let leftovers = reconciled.context("cancelling the previous active's orders")?;
    // What the standby left alone: now this instance is the one that changes the account.
    crate::account_setup::apply(&p.client, &p.account_settings, &p.symbols)
        .await
        .context("applying [account] on taking over")?;
    if armed {
        // Subscribed on the running private stream before the first quote.
        let _ = p.dcp.send(true);
        startup::confirm_dead_man_switch(
            rest.clone(),
            window_s,
            p.settings.cancel_scope == CancelScope::Own,
            p.status.clone(),
        );
        p.order_manager.do_send(UseExitPaths {
            trade_socket: p.transports.trade_socket,
            order_entry: p.transports.order_entry,
            dead_man: Some(DeadMan {
                window: Duration::from_secs(window_s.into()),
                close: p.ws.clone().recipient(),
            }),
        });
    }
    // This run's executions count from here: after the leftovers, whose fills are in the
    // positions (the previous run's, not this one's).
    let (since_ms, inherited) = match leftovers {
        0 => (since_ms, positions?),
        _ => (p.client.exchange_now_ms(), startup::inherited_positions(&rest, &p.symbols).await?),
    };
    let sizes: BTreeMap<String, rust_decimal::Decimal> = p
        .symbols
        .iter()
        .map(|s| (s.clone(), inherited.get(s).map_or(rust_decimal::Decimal::ZERO, |x| x.size)))
        .collect();
    p.account.do_send(AccountFrom {
        since_ms,
        positions: sizes,
    });
    // The inventory before the OrderManager opens, so the first quotes are skewed by it.
    p.strategy.send(Inherit(inherited)).await.context("the strategy is gone")?;
    Ok(())
}

/// Where the key is and what it says of this instance.
pub(super) struct Candidate<'a> {
    pub settings: &'a HaSettings,
    pub key: String,
    pub run_id: &'a str,
    pub control: std::net::SocketAddr,
}

/// What the key holds while this instance is active: enough to find it, nothing secret.
fn identity(run_id: &str, control: std::net::SocketAddr) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    serde_json::json!({
        "run_id": run_id,
        "host": host,
        "pid": std::process::id(),
        "control": control.to_string(),
    })
    .to_string()
}

pub(super) fn start_elector(
    who: Candidate<'_>,
    fence: Fence,
    parts: TakeOverParts,
    shutdown: Recipient<RequestShutdown>,
    metrics: std::sync::Arc<Metrics>,
) -> Addr<Elector> {
    let status = parts.status.clone();
    let activate = parts.order_manager.clone().recipient();
    let recorder = parts.recorder.clone().recipient();
    let governor = parts.transports.governor.clone();
    let take: TakeOver = Box::new(move || Box::pin(async move { take_over(parts).await.map_err(|e| format!("{e:#}")) }));
    Elector::new(
        who.settings.clone(),
        who.key,
        identity(who.run_id, who.control),
        fence,
        take,
        ElectorOutlets {
            shutdown,
            activate,
            recorder,
            governor,
            status,
            metrics,
        },
    )
    .start()
}
