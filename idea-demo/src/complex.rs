//! The complex, built and driven in lockstep: the plant's model stepped to the next control instant, each
//! cell's devices read and driven over Modbus, every party's deadlines handled, then rounds of messages over
//! the broker until nobody has anything left to say at that instant. Simulated time moves only when the
//! complex is quiet, so a run does the same thing at any speed.

use crate::cell::Cell;
use crate::error::{Result, no_answer};
use crate::keys;
use crate::layout::Layout;
use crate::operator::Operator;
use crate::phases::{Phases, phase};
use crate::plant::Plant;
use crate::shards::Shards;
use crate::shedding::{SHEDDING, Shedding};
use crate::wire::{AclInbox, Sent, Wire};
use fipa_acl::AgentIdentifier;
use fipa_acl::mqtt::EmbeddedBroker;
use idea_agent::device::MeterGateway;
use idea_agent::load_shedding::LoadSheddingClient;
use idea_agent::te_link::{notice_payload, read_notice, split_payload, submission_payload};
use idea_agent::{
    AclService, Admission, Agent, AgentConfig, DirectoryConfig, DirectoryService, Event,
    MarketConfig, MarketParticipant, MarketService, Output, Peer, PlugAndPlay, TeIdentity, TeNode,
    TeNotice,
};
use idea_proto::{
    Currency, Duration, Money, PublicKey, ServiceId, SetpointCommand, SigningKey, Timestamp,
    ToleranceBand, UserId,
};
use idea_sim::fault::Faults;
use idea_sim::physical::Binding;
use std::collections::BTreeMap;
use te_contract::ledger::{Ledger, SqliteStore};
use te_contract::registry::{AvatarKind, Registration};
use te_contract::{AvatarId, DeploymentId, Signed};

/// The directory's ACL name.
pub(crate) const DIRECTORY: &str = "df@idea";
/// The market's ACL name.
pub(crate) const MARKET: &str = "market@idea";
/// The TE node's name (its TE inbox).
pub(crate) const TE_NODE: &str = "te@idea";
/// The market's service.
pub(crate) const SERVICE: &str = "p2p-market";
/// The deployment every object of a run is signed for.
pub(crate) const DEPLOYMENT: &str = "idea-demo";
/// The settlement period, s.
pub const PERIOD_S: u32 = 900;
/// What each cell's wallet holds at the start, minor units (EUR cents).
pub(crate) const OPENING_BALANCE_MINOR: i64 = 10_000;
/// The penalty price beyond the tolerance band, minor units per kWh.
pub(crate) const PENALTY_PER_KWH: i64 = 40;
/// How long a cell's link waits for each answer of its hub and meter (loopback: a device that has not
/// answered in this long is not going to).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);
/// The most rounds of messages at one instant (a conversation loop would be a defect: it ends the run).
const MAX_ROUNDS: usize = 64;

/// The currency of the complex.
pub(crate) fn eur() -> Result<Currency> {
    Ok(Currency::new("EUR", 2)?)
}

/// The tolerance band of the market's contracts: 10 % or 20 Wh, whichever is more.
pub(crate) fn tolerance() -> ToleranceBand {
    ToleranceBand {
        relative_bp: 1000,
        absolute: idea_proto::Energy::from_wh(20),
    }
}

/// The registrar of a run: its avatar, key and the registry's genesis.
#[derive(Debug, Clone)]
pub(crate) struct Registrar {
    /// Its avatar.
    pub(crate) avatar: AvatarId,
    /// Its key.
    pub(crate) key: SigningKey,
    /// The registry's genesis.
    pub(crate) genesis: Timestamp,
}

/// The complex, running.
pub(crate) struct Complex {
    pub(crate) seed: u64,
    /// What it is built on.
    pub(crate) layout: Layout,
    pub(crate) now: Timestamp,
    pub(crate) plant: Plant,
    pub(crate) wire: Wire,
    pub(crate) cells: Vec<Cell>,
    pub(crate) directory: DirectoryService,
    directory_peer: Peer,
    pub(crate) market: MarketService,
    pub(crate) node: TeNode,
    node_key: SigningKey,
    ledger: Ledger<SqliteStore>,
    pub(crate) registrar: Registrar,
    /// The load-shedding service and its devices' MQTT side.
    pub(crate) shedding: Shedding,
    /// The community's operator at the energy router (IEC 104).
    pub(crate) operator: Operator,
    /// The agents' events since the caller last took them.
    pub(crate) events: Vec<Event>,
    /// Every setpoint an agent commanded, with its cell's bus.
    pub(crate) commands: Vec<(String, SetpointCommand)>,
    /// Refusals the ledger or a party met that the run reports.
    pub(crate) troubles: Vec<String>,
    /// The fault injected, while it acts: from, until (none: to the end).
    pub(crate) fault: Option<(crate::fault::Fault, Timestamp, Option<Timestamp>)>,
    /// What the run saw of the fault.
    pub(crate) seen: crate::fault::Observed,
    /// Each cell's hub's fault switches, by bus.
    hub_faults: Vec<(String, Faults)>,
    /// The agent whose broker connections are cut, while they are.
    cut: Option<String>,
    /// Where the real time went.
    pub(crate) phases: Phases,
    /// Each cell's index in `cells` by its agent's and its meter gateway's names.
    named: std::collections::HashMap<String, usize>,
    _broker: EmbeddedBroker,
    /// Where the cells' devices are served and their links driven (last: stopped after everything else).
    shards: Shards,
}

impl std::fmt::Debug for Complex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Complex")
            .field("now", &self.now)
            .field("cells", &self.cells)
            .finish_non_exhaustive()
    }
}

fn deployment() -> Result<DeploymentId> {
    Ok(DeploymentId::new(DEPLOYMENT)?)
}

/// A registration of `avatar` signed by the registrar and by the avatar's key.
fn registration(
    registrar: &Registrar,
    avatar: AvatarId,
    kind: AvatarKind,
    key: &SigningKey,
) -> Result<Signed<Registration>> {
    let mut r = Signed::new(
        deployment()?,
        Registration {
            registrar: registrar.avatar,
            avatar,
            kind,
            key: PublicKey::from(key),
            at: registrar.genesis,
        },
    );
    r.sign(registrar.avatar, 0, &registrar.key)?;
    r.sign(avatar, 0, key)?;
    Ok(r)
}

/// How a cell's avatars come into the TE registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enrolment {
    /// Registered by the registrar when the complex is built.
    AtGenesis,
    /// Registering itself over the network when it joins (AUX-01), its meter enrolled first.
    OverTheNetwork,
}

/// A cell enrolled and its agent made, for its shard to serve its devices and open its links: the agent
/// and the gateway are taken from here into the cell.
struct Unopened {
    bus: String,
    agent: Option<Agent>,
    gateway: Option<MeterGateway>,
    /// The gate of its hub's faults.
    hub_faults: Faults,
    /// Its meter and the meter's key, for a gateway that registers over the network.
    meter: (idea_proto::MeterId, SigningKey),
}

impl Complex {
    /// Builds the complex on the model of the cells on `buses` from `start`: the plant and its devices on
    /// sockets, the embedded broker, the directory, the TE node over its ledger at `ledger_path`, the market,
    /// the load-shedding service and the router with its operator — then the cells on `joined`, each with its
    /// agent, device link and meter gateway, registered at genesis and joining through the directory.
    pub(crate) async fn build(
        seed: u64,
        start: Timestamp,
        (layout, buses): (Layout, &[String]),
        joined: &[String],
        ledger_path: &std::path::Path,
        fault: Option<(crate::fault::Fault, Timestamp, Option<Timestamp>)>,
    ) -> Result<Complex> {
        let mut plant = Plant::new(seed, start, &layout.topology, buses)?;
        // Three connections per cell (its agent's ACL and TE inboxes, its meter gateway's) and the services'.
        let broker = EmbeddedBroker::start_for(buses.len().saturating_mul(3).saturating_add(64))
            .map_err(|e| no_answer(format!("the broker: {e}")))?;
        let mut wire = Wire::new(broker.addr().port(), TE_NODE);
        let registrar_key = keys::signing_key(seed, "registrar");
        let node_key = keys::signing_key(seed, "te-node");
        let node = TeNode::registrar(deployment()?, registrar_key.clone(), Admission::Open, start)
            .with_ledger_entries()
            .with_clearing_period(Duration::from_secs(u64::from(PERIOD_S)))?;
        let registrar = Registrar {
            avatar: idea_agent::te_node::avatar_of_key(&PublicKey::from(&registrar_key)),
            key: registrar_key,
            genesis: start,
        };
        let _ = std::fs::remove_file(ledger_path);
        let ledger = Ledger::open(SqliteStore::open(ledger_path)?)?;
        // The directory: every cell and service registers there and hears of the others (PROP-02).
        let directory_key = keys::signing_key(seed, "directory");
        let directory = DirectoryService::new(DirectoryConfig {
            me: AgentIdentifier::new(DIRECTORY),
            key: directory_key.clone(),
            admission: Admission::Open,
        });
        let directory_peer = Peer {
            agent: AgentIdentifier::new(DIRECTORY),
            cell: None,
            key: PublicKey::from(&directory_key),
            avatar: None,
        };
        let mut market = MarketService::new(MarketConfig {
            me: AgentIdentifier::new(MARKET),
            key: keys::signing_key(seed, "market"),
            service: ServiceId::new(SERVICE)?,
            operator: UserId::new("market-operator")?,
            currency: eur()?,
            period_s: PERIOD_S,
            gate_closure: Duration::from_mins(5),
            tolerance: tolerance(),
            penalty_per_kwh: PENALTY_PER_KWH,
            deployment: deployment()?,
        });
        market.join_directory(directory_peer.clone());
        let fine = Faults::default();
        // The load-shedding service over the loads of every cell on the model.
        let cell_ids = buses
            .iter()
            .map(|b| layout.settings(b).map(|s| s.cell.id.as_str().to_owned()))
            .collect::<Result<Vec<String>>>()?;
        let mut shedding = Shedding::open(
            plant.grid(),
            broker.addr().port(),
            keys::signing_key(seed, "load-shedding"),
            (&layout.loads, &cell_ids),
            &fine,
        )
        .await?;
        shedding.service.join_directory(directory_peer.clone());
        for name in [DIRECTORY, MARKET, SHEDDING] {
            wire.join_acl(name).await?;
        }
        wire.join_te(TE_NODE).await?;
        // The energy router over IEC 104, and the operator connected to it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| no_answer(format!("a port for the router: {e}")))?;
        let router_address = listener
            .local_addr()
            .map_err(|e| no_answer(format!("the router's port: {e}")))?;
        let router_measures = idea_sim::devices::MeasureOnDemand::default();
        let router = idea_sim::devices::iec104_router(
            listener,
            &idea_sim::devices::Iec104Station {
                on_demand: Some(router_measures.clone()),
                ..idea_sim::devices::Iec104Station::default()
            },
            plant.grid().clone(),
            "router",
            &fine,
        )
        .await?;
        plant.keep(router);
        let operator = Operator::open(router_address, router_measures).await?;
        let mut complex = Complex {
            seed,
            layout,
            now: start,
            plant,
            wire,
            cells: Vec::new(),
            directory,
            directory_peer,
            market,
            node,
            node_key,
            ledger,
            registrar,
            shedding,
            operator,
            events: Vec::new(),
            commands: Vec::new(),
            troubles: Vec::new(),
            fault,
            seen: crate::fault::Observed::default(),
            hub_faults: Vec::new(),
            cut: None,
            phases: Phases::default(),
            named: std::collections::HashMap::new(),
            _broker: broker,
            shards: Shards::per_core()?,
        };
        complex.add_cells(joined, Enrolment::AtGenesis).await?;
        complex.commit_entries()?;
        complex.settle().await?;
        Ok(complex)
    }

    /// Connects the cell on `bus` now: its devices served, its agent with its device link and its meter's
    /// gateway on the broker, joining through the directory. Registered by the registrar at genesis, or — a
    /// cell that joins during the run — registering its avatar at the TE node over the network, its meter
    /// enrolled by the registrar and then registering itself.
    pub(crate) async fn add_cell(&mut self, bus: &str, enrolment: Enrolment) -> Result<()> {
        self.add_cells(&[bus.to_owned()], enrolment).await
    }

    /// Connects the cells on `buses` as [`Complex::add_cell`] does one, in their order: each registered and
    /// its agent made on the conductor, then their devices served and linked on their shards, all their
    /// parties connected to the broker, and each agent started — the waiting on sockets done for all of them
    /// at once.
    pub(crate) async fn add_cells(&mut self, buses: &[String], enrolment: Enrolment) -> Result<()> {
        let now = self.now;
        let first = self.cells.len();
        let mut unopened = Vec::with_capacity(buses.len());
        for bus in buses {
            unopened.push(self.enrol(bus, enrolment)?);
        }
        // Each cell's devices served and its links opened on its shard, where they are driven from now on;
        // the shards side by side.
        let grid = self.plant.grid().clone();
        let opened = self.shards.run_each(
            unopened
                .iter_mut()
                .enumerate()
                .map(|(k, u)| (first.saturating_add(k), u)),
            async |u| {
                let agent = u.agent.take()?;
                let gateway = u.gateway.take()?;
                Some(
                    async {
                        let (hub, hub_tasks) = Plant::serve_modbus(
                            grid.clone(),
                            Binding::Hub(format!("{}.hub", u.bus)),
                            &u.hub_faults,
                        )
                        .await?;
                        let (meter, meter_tasks) = Plant::serve_modbus(
                            grid.clone(),
                            Binding::Meter(format!("{}.meter", u.bus)),
                            &Faults::default(),
                        )
                        .await?;
                        let cell = Cell::open(&u.bus, agent, &hub, &meter, gateway).await?;
                        Ok::<_, crate::error::Error>((cell, hub_tasks, meter_tasks))
                    }
                    .await,
                )
            },
        );
        let mut cells = Vec::with_capacity(opened.len());
        for (u, opened) in unopened.into_iter().zip(opened) {
            let (mut cell, hub_tasks, meter_tasks) =
                opened.ok_or_else(|| no_answer(format!("{}: opened twice", u.bus)))??;
            self.plant.keep(hub_tasks);
            self.plant.keep(meter_tasks);
            self.hub_faults.push((u.bus.clone(), u.hub_faults));
            cell.link.set_request_timeout(REQUEST_TIMEOUT);
            cells.push((cell, u.meter));
        }
        let names: Vec<String> = cells.iter().map(|(c, _)| c.name.clone()).collect();
        let te: Vec<String> = cells
            .iter()
            .flat_map(|(c, _)| [c.name.clone(), c.gateway_name.clone()])
            .collect();
        self.wire.join_many(&names, &te).await?;
        for (mut cell, (meter_id, meter_key)) in cells {
            if enrolment == Enrolment::OverTheNetwork {
                let registrar = PublicKey::from(&self.registrar.key);
                cell.agent.register_at_te(&registrar, now)?;
                let cell_id = cell.agent.settings().cell.id.clone();
                cell.gateway_out
                    .push(idea_agent::te_node::meter_registration_submission(
                        &deployment()?,
                        &registrar,
                        meter_id,
                        cell_id,
                        &meter_key,
                        now,
                    ));
            }
            if let Some(joined) = cell
                .agent
                .with_behaviour::<PlugAndPlay, _>(now, |p, cx| p.join(cx))
            {
                joined?;
            }
            self.named.insert(cell.name.clone(), self.cells.len());
            self.named
                .insert(cell.gateway_name.clone(), self.cells.len());
            self.cells.push(cell);
        }
        // Each link's first reading, on its shard.
        self.shards
            .run_each(self.cells.iter_mut().enumerate().skip(first), async |c| {
                c.step(now).await
            });
        Ok(())
    }

    /// The cell on `bus` registered (at genesis) or its meter enrolled (over the network), its agent made with
    /// its behaviours and its meter's gateway: what its shard opens next.
    fn enrol(&mut self, bus: &str, enrolment: Enrolment) -> Result<Unopened> {
        let seed = self.seed;
        let now = self.now;
        let settings = self.layout.settings(bus)?;
        let role = settings.cell.id.as_str().to_owned();
        let key = keys::signing_key(seed, &role);
        let avatar = keys::avatar(seed, &role);
        let meter_id = idea_proto::MeterId::new(format!("{bus}.meter"))?;
        let meter_role = format!("meter:{bus}.meter");
        let meter_key = keys::signing_key(seed, &meter_role);
        let meter_avatar = keys::avatar(seed, &meter_role);
        let meter_config = te_contract::meter::MeterConfig {
            max_power_w: 30_000,
            reading_interval: self.layout.reading_every,
            period_s: PERIOD_S,
        };
        let name = format!("{role}@idea");
        match enrolment {
            Enrolment::AtGenesis => {
                let registrar = &self.registrar;
                self.node.register(
                    &registration(
                        registrar,
                        avatar,
                        AvatarKind::Agent(settings.cell.agent.clone()),
                        &key,
                    )?,
                    now,
                )?;
                self.node.register(
                    &registration(
                        registrar,
                        meter_avatar,
                        AvatarKind::Meter {
                            meter: meter_id.clone(),
                            cell: settings.cell.id.clone(),
                        },
                        &meter_key,
                    )?,
                    now,
                )?;
                self.node.add_meter(meter_avatar, meter_config)?;
                self.node.bind_agent(avatar, name.clone());
                self.node
                    .deposit(avatar, Money::new(OPENING_BALANCE_MINOR, eur()?), now)?;
            }
            Enrolment::OverTheNetwork => {
                // The operator enrols the new cell's meter; the gateway registers it itself below.
                self.node.enrol_meter(idea_agent::te_node::EnrolledMeter {
                    key: PublicKey::from(&meter_key),
                    meter: meter_id.clone(),
                    cell: settings.cell.id.clone(),
                    config: meter_config,
                })?;
            }
        }
        let mut agent = Agent::new(AgentConfig {
            me: AgentIdentifier::new(name),
            key,
            settings,
            id_seed: keys::id_seed(seed, &role),
            te: Some(TeIdentity {
                deployment: deployment()?,
                avatar,
                key_version: 0,
            }),
        });
        // Each agent follows the services it uses and looks up the cells it trades with when they first
        // write: no agent reads every other's description (quadratic in the cells).
        agent.add_behaviour(Box::new(
            PlugAndPlay::new(self.directory_peer.clone()).following(&[
                idea_agent::directory::MARKET_SERVICE,
                idea_agent::load_shedding::SERVICE_TYPE,
            ]),
        ))?;
        agent.add_behaviour(Box::new(MarketParticipant::discovering()))?;
        agent.add_behaviour(Box::new(LoadSheddingClient::discovering()))?;
        // The hub the device-silent fault strikes sits behind the gate that silences it.
        let hub_faults = match self.fault {
            Some((crate::fault::Fault::DeviceSilent, ..))
                if bus == crate::fault::SILENT_HUB_CELL =>
            {
                Faults::switchable(&[idea_sim::fault::Fault::Silent])
            }
            _ => Faults::default(),
        };
        let gateway = MeterGateway::new(deployment()?, meter_avatar, meter_key.clone(), 0);
        Ok(Unopened {
            bus: bus.to_owned(),
            agent: Some(agent),
            gateway: Some(gateway),
            hub_faults,
            meter: (meter_id, meter_key),
        })
    }

    /// Pays the opening balance into the wallet of the cell on `bus` (its owner funding it once the TE node
    /// registered its avatar).
    pub(crate) fn fund(&mut self, bus: &str) -> Result<()> {
        let role = self.layout.settings(bus)?.cell.id.as_str().to_owned();
        let avatar = keys::avatar(self.seed, &role);
        self.node
            .deposit(avatar, Money::new(OPENING_BALANCE_MINOR, eur()?), self.now)?;
        Ok(())
    }

    /// Moves the complex to `until`: the model stepped there, then every cell's devices, every deadline, the
    /// meters' readings when due, and the messages that follow, until quiet.
    pub(crate) async fn advance(&mut self, until: Timestamp) -> Result<()> {
        let t = std::time::Instant::now();
        self.plant.step_until(until)?;
        self.now = self.plant.now();
        let now = self.now;
        let t = self.phases.add(phase::MODEL, t);
        // Every cell's devices that are due at once, on their shards: each link talks only to its own cell's
        // devices.
        let every = self.layout.links_every_step || crate::scenario::is_boundary(now);
        self.shards.run_each(
            self.cells
                .iter_mut()
                .enumerate()
                .filter(|(_, c)| every || c.link.due(now)),
            async |c| c.step(now).await,
        );
        let t = self.phases.add(phase::DEVICES, t);
        let reading_every_ms = i64::try_from(self.layout.reading_every.as_ms()).unwrap_or(i64::MAX);
        if now.unix_ms().rem_euclid(reading_every_ms.max(1)) == 0 {
            self.read_meters().await;
        }
        self.phases.add(phase::READINGS, t);
        self.settle().await
    }

    /// Every party's deadlines that passed, then rounds of messages until quiet, repeated while handling
    /// them sets deadlines that have passed too.
    pub(crate) async fn settle(&mut self) -> Result<()> {
        for _ in 0..MAX_ROUNDS {
            let t = std::time::Instant::now();
            let fired = self.handle_timeouts();
            self.phases.add(phase::TIMERS, t);
            let spoke = self.rounds().await?;
            if !fired && !spoke {
                return Ok(());
            }
        }
        Err(no_answer(format!(
            "the complex did not quiet down at {} (a conversation that never ends)",
            self.now
        )))
    }

    fn handle_timeouts(&mut self) -> bool {
        let now = self.now;
        let mut fired = false;
        if self.market.poll_timeout().is_some_and(|t| t <= now) {
            self.market.handle_timeout(now);
            fired = true;
        }
        if self.directory.poll_timeout().is_some_and(|t| t <= now) {
            self.directory.handle_timeout(now);
            fired = true;
        }
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
            fired = true;
        }
        // Each agent's deadlines are its own: the agents spread over the cores.
        let agents_fired = crate::parallel::map_each(&mut self.cells, |cell| {
            let due = cell.agent.poll_timeout().is_some_and(|t| t <= now);
            if due {
                cell.agent.handle_timeout(now);
            }
            due
        });
        fired || agents_fired.contains(&true)
    }

    /// Turns the silent fault of the hub on `bus` on or off (its hub must have been served switchable).
    pub(crate) fn silence_hub(&self, bus: &str, silent: bool) {
        if let Some((_, f)) = self.hub_faults.iter().find(|(b, _)| b == bus) {
            f.set(idea_sim::fault::Fault::Silent, silent);
        }
    }

    /// Cuts agent `name`'s connections to the broker: what is sent to it or by it is lost until
    /// [`Complex::reconnect`].
    pub(crate) fn cut_off(&mut self, name: &str) {
        self.wire.cut(name);
        self.cut = Some(name.to_owned());
    }

    /// Connects the agent cut off again (its FIPA-ACL and TE inboxes, as when it joined).
    pub(crate) async fn reconnect(&mut self) -> Result<()> {
        if let Some(name) = self.cut.take() {
            self.wire.join_acl(&name).await?;
            self.wire.join_te(&name).await?;
        }
        Ok(())
    }

    /// Counts what a round lost: expected for the party cut off, a trouble for anyone else.
    fn account_lost(&mut self, sent: &mut Sent) {
        for (party, n) in std::mem::take(&mut sent.lost) {
            if self.cut.as_deref() == Some(party.as_str()) {
                self.seen.messages_lost = self.seen.messages_lost.saturating_add(n);
            } else {
                self.troubles.push(format!(
                    "{n} messages to or from {party}, who is not on the broker"
                ));
            }
        }
        self.troubles.append(&mut sent.refused);
    }

    /// Whether `fault` acts now.
    pub(crate) fn faulting(&self, fault: crate::fault::Fault) -> bool {
        self.fault.is_some_and(|(f, from, until)| {
            f == fault && self.now >= from && until.is_none_or(|u| self.now < u)
        })
    }

    /// Each meter gateway reads its meter over Modbus and signs the reading for the TE node.
    async fn read_meters(&mut self) {
        let now = self.now;
        let missing = self.faulting(crate::fault::Fault::MeterMissing);
        let skipped = |cell: &Cell| missing && cell.bus == crate::fault::MISSING_METER_CELL;
        let missed = self.cells.iter().filter(|c| skipped(c)).count();
        // Every gateway at once, on its cell's shard: each reads its own meter and signs the reading.
        let troubles = self
            .shards
            .run_each(self.cells.iter_mut().enumerate(), async |cell| {
                if skipped(cell) {
                    return None;
                }
                let signed = match cell.registers.read_wh().await {
                    Ok((import_wh, export_wh)) => cell
                        .gateway
                        .reading(now, import_wh, export_wh)
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match signed {
                    Ok(s) => {
                        cell.gateway_out.push(s);
                        None
                    }
                    Err(e) => Some(format!("{}: {e}", cell.gateway_name)),
                }
            });
        self.troubles.extend(troubles.into_iter().flatten());
        self.seen.readings_missed = self.seen.readings_missed.saturating_add(missed);
    }

    /// Commits what the TE node accepted to the ledger (before any notice it caused is sent).
    fn commit_entries(&mut self) -> Result<()> {
        let entries: Vec<_> = std::iter::from_fn(|| self.node.poll_entry()).collect();
        if !entries.is_empty() {
            self.ledger.submit_all(entries)?;
            self.ledger.commit()?;
        }
        Ok(())
    }

    /// Rounds of messages at this instant until nobody has anything to send; whether anything moved.
    async fn rounds(&mut self) -> Result<bool> {
        let now = self.now;
        let silent = self.faulting(crate::fault::Fault::CounterpartySilent);
        let mut moved = false;
        for _ in 0..MAX_ROUNDS {
            let mut sent = Sent::default();
            let mut acted = false;
            let mut t = std::time::Instant::now();
            while let Some(m) = self.directory.poll_transmit() {
                self.wire.send_acl(DIRECTORY, &m, &mut sent).await?;
            }
            while let Some(m) = self.market.poll_transmit() {
                self.wire.send_acl(MARKET, &m, &mut sent).await?;
            }
            while let Some(m) = self.shedding.service.poll_transmit() {
                self.wire.send_acl(SHEDDING, &m, &mut sent).await?;
            }
            t = self.phases.add(phase::SENDING, t);
            self.commit_entries()?;
            t = self.phases.add(phase::TE, t);
            while let Some(notice) = self.node.poll_notice() {
                let to = notice.to().to_owned();
                self.wire
                    .send_te(
                        TE_NODE,
                        &to,
                        notice_payload(&notice, &self.node_key),
                        &mut sent,
                    )
                    .await?;
            }
            // Sealed (signed) by each agent, the agents with something to send spread over the cores; sent
            // in the cells' order.
            let mut sealed: Vec<Vec<Output>> = self.cells.iter().map(|_| Vec::new()).collect();
            {
                let mut busy: Vec<(usize, &mut Cell)> = self
                    .cells
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, c)| c.agent.pending_output() > 0)
                    .collect();
                let drained = crate::parallel::map_each(&mut busy, |(_, cell)| {
                    std::iter::from_fn(|| cell.agent.poll_transmit()).collect::<Vec<_>>()
                });
                for ((k, _), out) in busy.iter().zip(drained) {
                    if let Some(slot) = sealed.get_mut(*k) {
                        *slot = out;
                    }
                }
            }
            // The setpoints the agents command, by cell: sent to the devices together once every cell spoke.
            let mut commanded: BTreeMap<usize, Vec<SetpointCommand>> = BTreeMap::new();
            for (index, (cell, sealed)) in self.cells.iter_mut().zip(sealed).enumerate() {
                for out in sealed {
                    match out {
                        Output::Acl(m) => self.wire.send_acl(&cell.name, &m, &mut sent).await?,
                        Output::Te(s)
                            if silent
                                && cell.bus == crate::fault::SILENT_COUNTERPARTY_BUS
                                && matches!(s, idea_agent::TeSubmission::RecordContract(_)) =>
                        {
                            self.seen.swallowed = self.seen.swallowed.saturating_add(1);
                        }
                        Output::Te(s) => {
                            let payload = submission_payload(&cell.name, &s);
                            self.wire
                                .send_te(&cell.name, TE_NODE, payload, &mut sent)
                                .await?;
                        }
                        Output::Command(c) => {
                            self.commands.push((cell.bus.clone(), c.clone()));
                            commanded.entry(index).or_default().push(c);
                        }
                        _ => {}
                    }
                }
                self.events
                    .extend(std::iter::from_fn(|| cell.agent.poll_event()));
                for s in std::mem::take(&mut cell.gateway_out) {
                    let payload = submission_payload(&cell.gateway_name, &s);
                    self.wire
                        .send_te(&cell.gateway_name, TE_NODE, payload, &mut sent)
                        .await?;
                }
            }
            t = self.phases.add(phase::SENDING, t);
            if !commanded.is_empty() {
                // Each cell's devices take its commands on its shard, the cells at once; each agent hears
                // how they went, and what that makes it send goes in the next round.
                let work = self
                    .cells
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(k, cell)| Some((k, (k, cell, commanded.remove(&k)?))));
                let results = self.shards.run_each(work, async |(k, cell, commands)| {
                    let mut reports = Vec::with_capacity(commands.len());
                    for c in commands.iter() {
                        reports.push(cell.link.command_at(c, now).await);
                    }
                    (*k, reports)
                });
                for (k, reports) in results {
                    if let Some(cell) = self.cells.get_mut(k) {
                        for report in reports {
                            cell.report(report, now);
                        }
                    }
                }
                acted = true;
                t = self.phases.add(phase::DEVICES, t);
            }
            self.account_lost(&mut sent);
            if sent.is_empty() && !acted {
                return Ok(moved);
            }
            moved = true;
            let (acl, te) = self.wire.deliver(&sent).await?;
            t = self.phases.add(phase::DELIVERY, t);
            let mut for_cells: BTreeMap<usize, Vec<AclInbox>> = BTreeMap::new();
            for (to, inbox) in acl {
                if to == DIRECTORY {
                    AclService::handle_acl_batch(&mut self.directory, inbox.messages, now);
                    t = self.phases.add(phase::DIRECTORY, t);
                } else if to == MARKET {
                    self.market.handle_acl_batch(inbox.messages, now);
                    t = self.phases.add(phase::MARKET, t);
                } else if to == SHEDDING {
                    for m in inbox.messages {
                        self.shedding.service.handle_acl(m);
                    }
                    self.shedding.send_commands().await?;
                    t = self.phases.add(phase::SHEDDING, t);
                } else if let Some(k) = self.named.get(&to) {
                    for_cells.entry(*k).or_default().push(inbox);
                }
            }
            // Each agent handles its own inbox: the agents spread over the cores.
            let mut work: Vec<(&mut Cell, Vec<AclInbox>)> = self
                .cells
                .iter_mut()
                .enumerate()
                .filter_map(|(k, c)| Some((c, for_cells.remove(&k)?)))
                .collect();
            crate::parallel::map_each(&mut work, |(cell, inboxes)| {
                for inbox in std::mem::take(inboxes) {
                    cell.agent.handle_acl_batch(inbox.messages, now);
                    for e in inbox.undecodable {
                        cell.agent.handle_undecodable(&e, now);
                    }
                }
            });
            drop(work);
            t = self.phases.add(phase::AGENTS, t);
            // The node's notices are read (their signatures checked) over the cores, then heard in order.
            let node_key = PublicKey::from(&self.node_key);
            let mut to_read: Vec<&[u8]> = te
                .iter()
                .filter(|(to, _)| to.as_str() != TE_NODE)
                .flat_map(|(_, payloads)| payloads.iter().map(Vec::as_slice))
                .collect();
            let mut notices =
                crate::parallel::map_each(&mut to_read, |p| read_notice(p, &node_key)).into_iter();
            drop(to_read);
            for (to, payloads) in te {
                if to == TE_NODE {
                    let batch = payloads
                        .iter()
                        .filter_map(|p| split_payload(p).map(|(from, b)| (from, b.to_vec())))
                        .collect();
                    self.node.handle_bytes_batch(batch, now);
                    continue;
                }
                for _ in &payloads {
                    let Some(notice) = notices.next().flatten() else {
                        self.troubles
                            .push(format!("{to}: a TE notice that is not the node's"));
                        continue;
                    };
                    self.hear(&to, &notice, now);
                }
            }
            self.phases.add(phase::TE, t);
        }
        Err(no_answer(format!(
            "messages kept flowing at {now} for {MAX_ROUNDS} rounds"
        )))
    }

    /// A notice of the TE node reaches agent or gateway `to`.
    fn hear(&mut self, to: &str, notice: &TeNotice, now: Timestamp) {
        let Some(cell) = self.named.get(to).and_then(|k| self.cells.get_mut(*k)) else {
            return;
        };
        if cell.name == to {
            if let Err(e) = cell.agent.handle_te_notice(notice, now) {
                cell.agent
                    .handle_undecodable(&format!("TE notice: {e}"), now);
            }
            return;
        }
        match notice {
            TeNotice::TokensToSign { tokens, .. } => {
                for token in tokens {
                    match cell.gateway.sign_token(token) {
                        Ok(signed) => cell.gateway_out.push(signed),
                        Err(e) => self
                            .troubles
                            .push(format!("{}: token refused: {e}", cell.gateway_name)),
                    }
                }
            }
            TeNotice::Refused { reason, .. } => self.troubles.push(format!(
                "the TE node refused {}: {reason}",
                cell.gateway_name
            )),
            _ => {}
        }
    }

    /// Leaves the broker and gives back the TE node (its book, wallets and contracts) for the report.
    pub(crate) async fn finish(mut self) -> Result<TeNode> {
        self.commit_entries()?;
        let names: Vec<String> = self
            .cells
            .iter()
            .flat_map(|c| [c.name.clone(), c.gateway_name.clone()])
            .chain([DIRECTORY, MARKET, TE_NODE, SHEDDING].map(str::to_owned))
            .collect();
        for n in names {
            self.wire.leave(&n).await;
        }
        self.shedding.close().await;
        drop(self.ledger);
        Ok(self.node)
    }
}
