//! The reference scenarios (DEMO-S1..S3) as the conductor runs them: when each starts, which cells take
//! part, when they trade, and the interval loop that records what happened and orders for the next period.

use crate::complex::{Complex, PERIOD_S, SERVICE};
use crate::error::{Result, usage};
use crate::layout::Layout;
use crate::phases::phase;
use crate::report::{CellInterval, IntervalRecord, ScenarioReport, rounded_cell, rounded_system};
use crate::{Options, Progress};
use idea_agent::MarketParticipant;
use idea_proto::{Duration, Timestamp, UserId};
use std::collections::BTreeMap;

/// A reference scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scenario {
    /// DEMO-S1: grid-connected, first without transactions, then with transactions and flows between the
    /// prosumers.
    S1,
    /// DEMO-S2: isolated — the router opened over IEC 104, the hubs form the frequency, the cells balance
    /// each other through transactions and flows, and load shedding acts when the balance cannot be kept.
    S2,
    /// DEMO-S3: a fifth prosumer joins plug & play during the run — registers at the directory and the TE
    /// node, is offered every running service — and trades within it.
    S3,
    /// The scale run (`idea demo --cells N`, TE-07): N generated cells on a generated feeder, grid-connected,
    /// trading from the first period to the last with the same services and checks.
    Scale,
}

impl Scenario {
    /// Every scenario, in the order `idea demo` runs them.
    pub const ALL: [Scenario; 3] = [Scenario::S1, Scenario::S2, Scenario::S3];

    /// Its name on the command line (`s1`).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::S1 => "s1",
            Scenario::S2 => "s2",
            Scenario::S3 => "s3",
            Scenario::Scale => "scale",
        }
    }

    /// The requirement it demonstrates.
    pub fn requirement(self) -> &'static str {
        match self {
            Scenario::S1 => "DEMO-S1",
            Scenario::S2 => "DEMO-S2",
            Scenario::S3 => "DEMO-S3",
            Scenario::Scale => "TE-07",
        }
    }

    /// What it shows.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::S1 => {
                "grid-connected: first without transactions, then with transactions and flows between prosumers"
            }
            Scenario::S2 => {
                "isolated: the hubs form the frequency, the cells balance each other through transactions and flows, load shedding when the balance cannot be kept"
            }
            Scenario::S3 => {
                "plug & play: a fifth prosumer joins during the run, is offered every running service and trades"
            }
            Scenario::Scale => {
                "scale: generated cells on a generated feeder, trading every period with the same services and checks"
            }
        }
    }

    /// The scenario named `name`.
    ///
    /// # Errors
    /// [`crate::Error::Usage`] for a name that is not a scenario.
    pub fn from_name(name: &str) -> Result<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                usage(
                    "--scenario",
                    format!(
                        "{name}: one of {}",
                        Scenario::ALL.map(Scenario::name).join(", ")
                    ),
                )
            })
    }

    /// What it is built on: the demonstration complex, or a feeder of `cells` generated cells.
    fn layout(self, cells: usize) -> Result<Layout> {
        if self == Scenario::Scale {
            Layout::feeder(cells)
        } else {
            Layout::complex()
        }
    }

    /// The cells taking part, by bus.
    fn buses(self, layout: &Layout) -> Vec<String> {
        match self {
            Scenario::Scale => layout.cell_buses(),
            Scenario::S3 => (1..=5).map(|n| format!("cell{n}")).collect(),
            _ => (1..=4).map(|n| format!("cell{n}")).collect(),
        }
    }

    /// The cells connected from the start.
    fn joined(self, layout: &Layout) -> Vec<String> {
        match self {
            Scenario::Scale => layout.cell_buses(),
            _ => (1..=4).map(|n| format!("cell{n}")).collect(),
        }
    }

    /// Whether the fifth cell of the complex waits behind open relays until it joins.
    fn fifth_cell_waits(self) -> bool {
        self != Scenario::Scale
    }

    /// When the fifth cell joins (S3): a third of the way in, on a period boundary.
    fn joins_at(self, start: Timestamp, end: Timestamp) -> Option<Timestamp> {
        if self != Scenario::S3 {
            return None;
        }
        let third_s = end.duration_since(start).map_or(0, |d| d.as_ms() / 3000);
        let period = u64::from(PERIOD_S);
        let at = third_s
            .saturating_sub(third_s.checked_rem(period).unwrap_or(0))
            .max(period);
        start.checked_add(Duration::from_secs(at)).ok()
    }

    /// When it starts: S1 on a June morning, S2 from a June afternoon into the evening, the sun going and the
    /// loads rising.
    pub(crate) fn start(self) -> Result<Timestamp> {
        Ok(match self {
            Scenario::S1 => "2026-06-21T09:00:00Z",
            Scenario::S2 => "2026-06-21T14:00:00Z",
            Scenario::S3 => "2026-06-21T09:00:00Z",
            Scenario::Scale => "2026-06-21T00:00:00Z",
        }
        .parse()?)
    }

    /// Whether the complex runs isolated from the public network.
    pub(crate) fn isolated(self) -> bool {
        self == Scenario::S2
    }

    /// When trading begins: S1 runs its first half without transactions.
    fn trading_from(self, start: Timestamp, end: Timestamp) -> Timestamp {
        if self != Scenario::S1 {
            return start;
        }
        let half_s = end.duration_since(start).map_or(0, |d| d.as_ms() / 2000);
        let period = u64::from(PERIOD_S);
        start
            .checked_add(Duration::from_secs(
                half_s.saturating_sub(half_s.checked_rem(period).unwrap_or(0)),
            ))
            .unwrap_or(start)
    }
}

/// What the interval loop recorded, for the checks.
pub(crate) struct Recorded {
    /// The common bus's frequency at every step while isolated, `(s, Hz)`.
    pub(crate) frequency: Vec<(f64, f64)>,
    /// The relays open at the end: `(relay, tripped by overcurrent)`.
    pub(crate) open_relays: Vec<(String, bool)>,
    /// The relays the load-shedding service switched: `(relay, closed)`.
    pub(crate) switched: Vec<(String, bool)>,
    /// S3: what the cell that joined during the run went through: its events of joining (the directory's
    /// registration, the TE node's, each service offered) and the services its agent knows at the end.
    pub(crate) newcomer: Option<Newcomer>,
    /// The intervals as reported.
    pub(crate) intervals: Vec<IntervalRecord>,
    /// The complex's physics per interval, unrounded.
    pub(crate) raw_system: Vec<crate::plant::SystemPhysics>,
    /// Each cell's physics per interval, unrounded.
    pub(crate) raw_cells: Vec<Vec<crate::plant::CellPhysics>>,
    /// Every setpoint commanded: the cell id, its bus and the command.
    pub(crate) commands: Vec<(String, String, idea_proto::SetpointCommand)>,
    /// When trading began.
    pub(crate) trading_from: Timestamp,
}

/// The cell that joined during the run (S3).
#[derive(Debug, Clone, Default)]
pub(crate) struct Newcomer {
    /// Its cell id.
    pub(crate) cell: String,
    /// When it joined.
    pub(crate) at: Option<Timestamp>,
    /// Its agent's joining events, `what`: `registered`, `te-registered`, `service-offered`.
    pub(crate) steps: Vec<String>,
    /// The service types its agent was offered, as it knows them at the end.
    pub(crate) services: Vec<String>,
}

/// The relays that keep the fifth cell's installation off until it joins (scenario S3).
const CELL5_RELAYS: [&str; 5] = [
    "cell5.house.relay",
    "cell5.heat-pump.relay",
    "cell5.ev.relay",
    "cell5.pv.relay",
    "cell5.hub.relay",
];

/// How long before the end the last order is placed: its period, its measurement and a clearing run fit.
const LAST_ORDER_BEFORE_END: Duration = Duration::from_mins(45);

fn period() -> Duration {
    Duration::from_secs(u64::from(PERIOD_S))
}

/// Whether `t` is a settlement period boundary.
pub(crate) fn is_boundary(t: Timestamp) -> bool {
    t.unix_ms()
        .rem_euclid(i64::from(PERIOD_S).saturating_mul(1000))
        == 0
}

/// Runs `scenario` with `options`, telling `progress` as it goes.
pub(crate) async fn run(
    scenario: Scenario,
    options: &Options,
    start: Timestamp,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(ScenarioReport, Vec<(String, f64)>)> {
    let began = std::time::Instant::now();
    let end = start.checked_add(Duration::from_secs(options.duration_s()))?;
    let ledger_path = options.ledger_path(scenario);
    let layout = scenario.layout(options.cells.unwrap_or(4))?;
    let buses = scenario.buses(&layout);
    let joined = scenario.joined(&layout);
    let trading_from = scenario.trading_from(start, end);
    let fault = options.fault.filter(|f| f.scenario() == scenario).map(|f| {
        let (from, until) = f.window(start, end, trading_from);
        (f, from, until)
    });
    let mut c = Complex::build(
        options.seed,
        start,
        (layout, &buses),
        &joined,
        &ledger_path,
        fault,
    )
    .await?;
    c.phases.add_rest(phase::BUILD, began);
    let joins_at = scenario.joins_at(start, end);
    let mut newcomer = joins_at.map(|at| Newcomer {
        cell: "cell-5".into(),
        at: Some(at),
        ..Newcomer::default()
    });
    if scenario.fifth_cell_waits() {
        for relay in CELL5_RELAYS {
            c.plant.switch(relay, false)?;
        }
    }
    if !scenario.isolated() {
        // The community's operator runs the router both ways over IEC 104, up to its rating.
        let rating_kw = c.layout.router_kva();
        c.operator.set_bidirectional(rating_kw).await?;
    }
    if scenario.isolated() {
        // The community's operator opens the router over IEC 104: the hubs form the island from now on.
        c.operator.set_enabled(false).await?;
        c.plant.record_frequency();
    }
    c.settle().await?;
    if let Some((_, from, until)) = fault {
        c.seen.from = Some(from);
        c.seen.until = until;
    }
    let last_order = end.checked_sub(LAST_ORDER_BEFORE_END)?;
    let operator = UserId::new("market-operator")?;
    let service = idea_proto::ServiceId::new(SERVICE)?;
    let wall = std::time::Instant::now();
    let mut intervals = Vec::new();
    let mut raw_system = Vec::new();
    let mut raw_cells = Vec::new();
    let mut setpoints: BTreeMap<(String, Timestamp), i64> = BTreeMap::new();
    let mut commands: Vec<(String, String, idea_proto::SetpointCommand)> = Vec::new();
    let mut t = start;
    if let Some(live) = &options.live {
        live.update(|s| {
            s.scenario = scenario.name().into();
            s.title = scenario.title().into();
            s.start = Some(start);
            s.end = Some(end);
            s.frequency.clear();
            s.voltage.clear();
            s.orders.clear();
            s.trades.clear();
        });
        c.show(live, start);
    }
    progress(Progress::Started {
        scenario: scenario.name(),
        title: scenario.title(),
        start,
        end,
    });
    while t < end {
        t = t.checked_add(c.layout.control_step)?;
        match c.fault {
            Some((crate::fault::Fault::PvDrop, from, _)) if t == from => {
                c.plant.trip_pv("cell2.pv")?;
            }
            Some((crate::fault::Fault::MqttLost, from, until)) => {
                if t == from {
                    c.cut_off(crate::fault::CUT_AGENT);
                }
                if until == Some(t) {
                    c.reconnect().await?;
                }
            }
            Some((crate::fault::Fault::DeviceSilent, from, until)) => {
                if t == from {
                    c.silence_hub(crate::fault::SILENT_HUB_CELL, true);
                }
                if until == Some(t) {
                    c.silence_hub(crate::fault::SILENT_HUB_CELL, false);
                }
            }
            _ => {}
        }
        c.advance(t).await?;
        if let Some(live) = &options.live {
            c.show(live, start);
        }
        for (bus, command) in c.commands.drain(..) {
            setpoints.insert((bus.clone(), command.from), command.setpoint.active.w());
            commands.push((command.cell.as_str().to_owned(), bus, command));
        }
        if !is_boundary(t) {
            continue;
        }
        let interval_start = t.checked_sub(period())?;
        let clock = std::time::Instant::now();
        let (cells, system) = c.plant.close_interval();
        let clock = c.phases.add(phase::MODEL, clock);
        // The loads' meters and relays publish their state for the load-shedding service; the operator
        // reads the router over IEC 104.
        c.shedding.publish_states().await?;
        let router = c.operator.read().await?;
        c.phases.add(phase::FIELD, clock);
        let shed: Vec<String> = c
            .plant
            .open_relays()
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| !(scenario.fifth_cell_waits() && r.starts_with("cell5.")))
            .collect();
        let phase = if interval_start >= trading_from {
            "with-transactions"
        } else {
            "without-transactions"
        };
        let record = IntervalRecord {
            start: interval_start,
            phase: phase.into(),
            system: rounded_system(&system),
            router,
            shed,
            cells: c
                .cells
                .iter()
                .zip(&cells)
                .map(|(cell, p)| CellInterval {
                    cell: cell.agent.settings().cell.id.as_str().to_owned(),
                    physics: rounded_cell(p),
                    setpoint_w: setpoints.get(&(cell.bus.clone(), interval_start)).copied(),
                })
                .collect(),
        };
        raw_system.push(system);
        raw_cells.push(cells);
        if joins_at == Some(t) {
            join_fifth_cell(&mut c).await?;
        }
        let events: Vec<idea_agent::Event> = c.events.drain(..).collect();
        if let Some(live) = &options.live {
            let trades = c.live_trades();
            live.update(|s| {
                for e in events.iter().filter(|e| e.what == "order-placed") {
                    crate::live::push_bounded(
                        &mut s.orders,
                        crate::live::LiveOrder {
                            at: Some(e.at),
                            cell: e.agent.trim_end_matches("@idea").to_owned(),
                            order: e.detail.clone(),
                        },
                        crate::live::MAX_ROWS,
                    );
                }
                s.trades = trades;
            });
        }
        for e in &events {
            if c.seen.from.is_some_and(|f| e.at >= f)
                && matches!(e.what, "expired" | "commitment-released" | "failed")
            {
                c.seen
                    .events
                    .push((e.agent.clone(), e.what.to_owned(), e.counterparty.clone()));
            }
        }
        for e in events {
            if let Some(n) = newcomer.as_mut()
                && e.agent == "cell-5@idea"
                && matches!(e.what, "registered" | "te-registered" | "service-offered")
            {
                n.steps.push(format!("{} {}", e.what, e.detail));
            }
        }
        // Orders for the period after the one starting now (the market's gate closes 5 minutes before it).
        let next = t.checked_add(period())?;
        let trade = next >= trading_from && next <= last_order;
        let mut orders = 0usize;
        let clock = std::time::Instant::now();
        for cell in &mut c.cells {
            let Some(measured) = cell.period_ended(10_000.0, PERIOD_S) else {
                continue;
            };
            if scenario.isolated() {
                ask_shedding(cell, &measured, t);
            }
            if !trade {
                continue;
            }
            if let Some((side, wh)) = crate::trader::order(&measured) {
                let (service, operator) = (service.clone(), operator.clone());
                let placed = cell
                    .agent
                    .with_behaviour::<MarketParticipant, _>(t, |b, cx| {
                        b.place(cx, service, operator, side, next, wh)
                    });
                if let Some(Ok(_)) = placed {
                    orders = orders.saturating_add(1);
                }
            }
        }
        c.phases.add(phase::ORDERS, clock);
        c.settle().await?;
        progress(Progress::Interval {
            scenario: scenario.name(),
            record: &record,
            orders,
            contracts: c.node.contracts().len(),
        });
        intervals.push(record);
        pace(options.speed, wall, start, t).await;
    }
    if let Some(n) = newcomer.as_mut()
        && let Some(cell) = c.cells.iter().find(|x| x.name == "cell-5@idea")
    {
        n.services = cell
            .agent
            .services()
            .iter()
            .filter_map(|o| o.description.service_type.clone())
            .collect();
        n.services.sort();
        n.services.dedup();
    }
    let recorded = Recorded {
        newcomer,
        frequency: c.plant.frequency_trace().to_vec(),
        open_relays: c.plant.open_relays(),
        switched: c.shedding.switched.clone(),
        intervals,
        raw_system,
        raw_cells,
        commands,
        trading_from,
    };
    let mut phases = std::mem::take(&mut c.phases);
    let clock = std::time::Instant::now();
    let report =
        crate::outcome::conclude(scenario, options, c, recorded, &ledger_path, start, end).await?;
    phases.add(phase::CHECKS, clock);
    progress(Progress::Finished { report: &report });
    Ok((report, phases.seconds()))
}

/// S3: the fifth prosumer's owner switches its installation on, and its agent joins plug & play — the
/// directory, the TE node (its avatar and its meter registering over the network), its wallet funded.
async fn join_fifth_cell(c: &mut Complex) -> Result<()> {
    for relay in CELL5_RELAYS {
        c.plant.switch(relay, true)?;
    }
    c.add_cell("cell5", crate::complex::Enrolment::OverTheNetwork)
        .await?;
    c.settle().await?;
    c.fund("cell5")
}

/// The owner's shedding policy reaches the cell's agent: it asks the load-shedding service to shed or to
/// restore.
fn ask_shedding(cell: &mut crate::cell::Cell, measured: &crate::trader::Measured, now: Timestamp) {
    use crate::trader::Shedding;
    use idea_agent::load_shedding::LoadSheddingClient;
    let asked = match crate::trader::shedding(measured, cell.shed) {
        Some(Shedding::Shed(w)) => cell
            .agent
            .with_behaviour::<LoadSheddingClient, _>(now, |b, cx| b.shed(cx, w))
            .map(|r| r.map(|()| true)),
        Some(Shedding::Restore) => cell
            .agent
            .with_behaviour::<LoadSheddingClient, _>(now, |b, cx| b.restore(cx))
            .map(|r| r.map(|()| false)),
        None => None,
    };
    if let Some(Ok(shed)) = asked {
        cell.shed = shed;
    }
}

/// Waits so that simulated time runs no faster than `speed` × real time (`0`: as fast as it computes).
async fn pace(speed: f64, wall: std::time::Instant, start: Timestamp, now: Timestamp) {
    if !(speed.is_finite() && speed > 0.0) {
        return;
    }
    let Some(simulated) = now.duration_since(start) else {
        return;
    };
    // Milliseconds of a run: exact in an f64.
    #[allow(clippy::cast_precision_loss)]
    let due = std::time::Duration::from_secs_f64(simulated.as_ms() as f64 / 1000.0 / speed);
    if let Some(wait) = due.checked_sub(wall.elapsed()) {
        tokio::time::sleep(wait).await;
    }
}
