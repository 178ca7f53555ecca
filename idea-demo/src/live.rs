//! What the live page shows, kept up to date by the conductor at every control step: the grid with the power
//! on each branch, frequency and voltage over time, each cell's balance, state of charge and money, the
//! orders and the trades — and, once a scenario has checked itself, its verdicts. [`serve_ui`] serves the
//! page (one self-contained HTML file, nothing fetched from elsewhere) and this state as JSON.

use crate::report::Check;
use idea_proto::Timestamp;
use std::sync::{Arc, Mutex};

/// The most points kept of each time series (the oldest dropped first).
pub const MAX_POINTS: usize = 2_000;
/// The most orders and trades kept on the page.
pub const MAX_ROWS: usize = 60;

/// The page (`ui/live.html`).
pub const PAGE: &str = include_str!("../ui/live.html");

/// A branch of the grid and the power through it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveBranch {
    /// Its name (`feeder1`, `router`, `cell1.port`…).
    pub name: String,
    /// `line`, `dc-line`, `router` or `converter`.
    pub kind: &'static str,
    /// The bus it takes power from when `p_w` is positive.
    pub from: String,
    /// The other bus.
    pub to: String,
    /// Power from `from` toward `to`, W.
    pub p_w: f64,
}

/// A cell now.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveCell {
    /// The cell id.
    pub cell: String,
    /// Its bus.
    pub bus: String,
    /// Generated now, W.
    pub generation_w: f64,
    /// Consumed now, W.
    pub load_w: f64,
    /// Delivered by its hub now (negative: charging), W.
    pub hub_w: f64,
    /// Into the cell at its connection meter (negative: export), W.
    pub import_w: f64,
    /// The hub's state of charge, 0–1.
    pub soc: f64,
    /// The setpoint in force at its connection (net export), W.
    pub setpoint_w: Option<i64>,
    /// Its wallet at the TE node, minor units.
    pub money_minor: i64,
    /// Its loads shed now.
    pub shed: usize,
}

/// An order placed on the market.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveOrder {
    /// When.
    pub at: Option<Timestamp>,
    /// The cell.
    pub cell: String,
    /// What the agent logged: side, energy, limit price and period.
    pub order: String,
}

/// A contract the TE node recorded.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveTrade {
    /// The selling cell.
    pub seller: String,
    /// The buying cell.
    pub buyer: String,
    /// Its interval.
    pub start: Option<Timestamp>,
    /// Energy, Wh.
    pub wh: i64,
    /// Price, minor units per kWh.
    pub price: i64,
}

/// A scenario that finished, with its verdicts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LiveVerdict {
    /// The scenario.
    pub scenario: String,
    /// Whether every check passed.
    pub passed: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveState {
    /// The seed of the run.
    pub seed: u64,
    /// The scenario running (`s1`…), empty before the first.
    pub scenario: String,
    /// What it shows.
    pub title: String,
    /// Its simulated start, end and now.
    pub start: Option<Timestamp>,
    /// Its end.
    pub end: Option<Timestamp>,
    /// Simulated now.
    pub now: Option<Timestamp>,
    /// Fed by the public network through the router.
    pub grid_connected: bool,
    /// The common bus's frequency: `(hours since the start, Hz)`.
    pub frequency: Vec<(f64, f64)>,
    /// The lowest and highest voltage of the common and cell buses: `(hours, p.u., p.u.)`.
    pub voltage: Vec<(f64, f64, f64)>,
    /// Every branch now.
    pub branches: Vec<LiveBranch>,
    /// Every cell now.
    pub cells: Vec<LiveCell>,
    /// The latest orders.
    pub orders: Vec<LiveOrder>,
    /// The latest contracts.
    pub trades: Vec<LiveTrade>,
    /// Contracts recorded so far in this scenario.
    pub contracts: usize,
    /// Messages carried over the broker so far in this scenario.
    pub messages: u64,
    /// The scenarios that finished.
    pub finished: Vec<LiveVerdict>,
    /// The whole run is over.
    pub done: bool,
}

/// The live state, shared between the conductor and the page's server.
#[derive(Debug, Clone, Default)]
pub struct Live(Arc<Mutex<LiveState>>);

impl Live {
    /// A copy of the state now.
    pub fn snapshot(&self) -> LiveState {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes the state.
    pub(crate) fn update(&self, f: impl FnOnce(&mut LiveState)) {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }
}

/// Keeps the last [`MAX_POINTS`] of a series.
pub(crate) fn push_bounded<T>(series: &mut Vec<T>, value: T, max: usize) {
    if series.len() >= max {
        let drop = series.len().saturating_sub(max.saturating_sub(1));
        series.drain(..drop);
    }
    series.push(value);
}

/// Serves the live page at `/` and its state at `/state` on `listener` until the task is dropped (bounded
/// like every listener of the SDK: connections, time to send headers, an accept error never ends it).
pub async fn serve_ui(listener: tokio::net::TcpListener, live: Live) {
    let routes: idea_agent::json_http::PageRoutes = Arc::new(move |request| {
        let live = live.clone();
        Box::pin(async move {
            let path = request.path.split('?').next().unwrap_or("").to_owned();
            match (request.method.as_str(), path.as_str()) {
                ("GET", "/") | ("GET", "/index.html") => (
                    200,
                    "text/html; charset=utf-8",
                    PAGE.as_bytes().to_vec().into(),
                ),
                ("GET", "/state") => idea_agent::json_http::json_page(
                    200,
                    &serde_json::to_value(live.snapshot()).unwrap_or_default(),
                ),
                _ => idea_agent::json_http::json_page(
                    404,
                    &serde_json::json!({ "error": format!("no {path} here: try / or /state") }),
                ),
            }
        })
    });
    idea_agent::json_http::serve_pages(listener, routes, None, "the live page").await;
}

impl crate::complex::Complex {
    /// Shows the complex as it is now on `live`.
    pub(crate) fn show(&self, live: &Live, start: Timestamp) {
        let hours = self
            .now
            .duration_since(start)
            // Milliseconds of a run: exact in an f64.
            .map_or(0.0, |d| {
                #[allow(clippy::cast_precision_loss)]
                let ms = d.as_ms() as f64;
                ms / 3_600_000.0
            });
        let (f, v_lo, v_hi) = self.plant.frequency_and_voltage_now();
        let branches = self.plant.branches_now();
        let cells_now = self.plant.cells_now();
        let eur = crate::complex::eur().ok();
        let now = self.now;
        let cells: Vec<LiveCell> = self
            .cells
            .iter()
            .filter_map(|cell| {
                let (bus, generation_w, load_w, hub_w, import_w, soc, shed) =
                    cells_now.iter().find(|c| c.0 == cell.bus)?.clone();
                let id = cell.agent.settings().cell.id.as_str().to_owned();
                let money_minor = eur.map_or(0, |e| {
                    self.node
                        .wallets()
                        .balance(&crate::keys::avatar(self.seed, &id), e)
                        .minor_units
                });
                Some(LiveCell {
                    cell: id,
                    bus,
                    generation_w,
                    load_w,
                    hub_w,
                    import_w,
                    soc,
                    setpoint_w: cell.link_setpoint(now),
                    money_minor,
                    shed,
                })
            })
            .collect();
        let contracts = self.node.contracts().len();
        let messages = self.wire.carried;
        let grid_connected = self.plant.grid_connected_now();
        live.update(|s| {
            s.now = Some(now);
            s.grid_connected = grid_connected;
            push_bounded(&mut s.frequency, (hours, f), MAX_POINTS);
            push_bounded(&mut s.voltage, (hours, v_lo, v_hi), MAX_POINTS);
            s.branches = branches;
            s.cells = cells;
            s.contracts = contracts;
            s.messages = messages;
        });
    }

    /// The contracts recorded so far, newest last, as the page lists them.
    pub(crate) fn live_trades(&self) -> Vec<LiveTrade> {
        let name_of = |avatar: &te_contract::AvatarId| {
            self.cells
                .iter()
                .map(|c| c.agent.settings().cell.id.as_str().to_owned())
                .find(|id| crate::keys::avatar(self.seed, id) == *avatar)
                .unwrap_or_default()
        };
        let mut trades: Vec<LiveTrade> = self
            .node
            .contracts()
            .iter()
            .map(|r| {
                let c = r.signed.body();
                let terms = &c.transaction.terms;
                LiveTrade {
                    seller: name_of(&c.seller),
                    buyer: name_of(&c.buyer),
                    start: Some(terms.window.start()),
                    wh: terms.contracted_energy(0).map_or(0, |e| e.wh()),
                    price: terms.price.minor_units_per_kwh,
                }
            })
            .collect();
        trades.sort_by(|a, b| (a.start, &a.seller, &a.buyer).cmp(&(b.start, &b.seller, &b.buyer)));
        let keep = trades.len().saturating_sub(MAX_ROWS);
        trades.drain(..keep);
        trades
    }
}
