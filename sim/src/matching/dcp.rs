//! Disconnect-cancel-all: the window an account set, the connections that keep it armed, and
//! firing it.

use crate::exchange::Exchange;
use crate::matching::cancel_all::CancelAllScope;
use crate::matching::conditional::OrderKind;
use bybit_v5::rest::CANCEL_ALL_CAP;

impl Exchange {
    /// Enable, change or (window 0) disable DCP for an account.
    pub fn set_dcp(&mut self, account: usize, window_s: u32) {
        self.accounts[account].dcp_window_s = Some(window_s);
    }

    /// A private connection subscribed to `dcp.*` came or went.
    pub fn dcp_connection(&mut self, account: usize, up: bool, now: u64) {
        let a = &mut self.accounts[account];
        if up {
            a.dcp_connections += 1;
            a.dcp_alive_at_ms = Some(now);
        } else {
            a.dcp_connections = a.dcp_connections.saturating_sub(1);
            if a.dcp_connections == 0 {
                a.dcp_alive_at_ms = Some(now);
            }
        }
    }

    /// A message from a `dcp.*`-subscribed connection: it is alive (and DCP armed again, if it
    /// had fired).
    pub fn dcp_heartbeat(&mut self, account: usize, now: u64) {
        self.accounts[account].dcp_alive_at_ms = Some(now);
    }

    /// Fire DCP for every account whose protected connections have all been silent or gone for
    /// longer than its window.
    pub fn check_dcp(&mut self, now: u64) {
        for account in 0..self.accounts.len() {
            let a = &self.accounts[account];
            let (Some(window), Some(lost)) = (a.dcp_window_s, a.dcp_alive_at_ms) else {
                continue;
            };
            if now.saturating_sub(lost) > u64::from(window) * 1000 {
                self.accounts[account].dcp_alive_at_ms = None;
                // Every order goes: the 500 cap is the cancel-all API's, not the dead-man switch's.
                let mut cancelled = 0;
                loop {
                    let n = self
                        .cancel_all(account, CancelAllScope::default(), &[OrderKind::Active], "CancelByDCP", now)
                        .len();
                    cancelled += n;
                    if n < CANCEL_ALL_CAP {
                        break;
                    }
                }
                self.accounts[account].dcp_fired += 1;
                log::warn!("DCP fired for account #{account}: {cancelled} orders cancelled");
            }
        }
    }
}
