//! One settlement round of `n` peer-to-peer transactions, shared by the settlement benchmark and its test.
//!
//! Each transaction has its own seller, buyer and seller's meter, a debt payment channel between seller
//! (side A) and buyer, and a one-interval contract (500 Wh in the quarter hour from 10:00 at 12 c/kWh,
//! tolerance 5 % or 10 Wh, penalty 30 c/kWh). Before the round: the meter's 10:00 reading is in its series
//! and the seller has proposed the interval's debt, which the buyer countersigned. The round brings, per
//! transaction, five signatures to check: the contract (seller and buyer), the meter's 10:15 reading, and
//! the countersigned channel state (seller and buyer). Settling it records the contract, turns the reading
//! into the interval's delivery token, verifies delivery against the contract, checks the channel state
//! carries exactly the debt that settlement computes, adopts that state (saved to the channel store), and
//! appends contract, reading, state and settlement to the ledger in one group commit. Every tenth seller
//! delivers 450 Wh instead of 500, outside the band, so discrepancies are recorded too.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::indexing_slicing
)]

use idea_proto::{
    AgentId, CellId, CellRef, Currency, DeliveryWindow, Duration, Energy, EnergyPrice,
    EnergyTransaction, MeterId, Parties, PowerCellType, Profile, PublicKey, ServiceId, SigningKey,
    Subject, Terms, TermsSpec, Timestamp, ToleranceBand, TransactionId, TransactionSpec,
};
use te_contract::batch::Batch;
use te_contract::channel::{Channel, ChannelOpen, ChannelState, MemoryChannelStore};
use te_contract::contract::{Contract, ContractBook};
use te_contract::ledger::{Entry, Ledger, LedgerStore};
use te_contract::meter::{DeliveryToken, MeterConfig, MeterReading, MeterSeries};
use te_contract::registry::{AvatarKind, Registration, Registry};
use te_contract::settlement::{MeterBindings, SettlementBook};
use te_contract::signed::SignatureCheck;
use te_contract::{AvatarId, ChannelId, DeploymentId, Error, Result, Signed};

pub const CONFIG: MeterConfig = MeterConfig {
    max_power_w: 10_000,
    reading_interval: Duration::from_mins(15),
    period_s: 900,
};

pub fn t0() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

fn eur() -> Currency {
    Currency::new("EUR", 2).unwrap()
}

/// The state a settlement round changes; cloned afresh for every measured round.
#[derive(Debug, Clone)]
pub struct Books {
    pub contracts: ContractBook,
    pub series: Vec<MeterSeries>,
    pub settlements: SettlementBook,
    /// The sellers' views of the channels, each with its proposal pending.
    pub channels: Vec<Channel>,
    pub store: MemoryChannelStore,
}

/// What arrives in the round, and the registry that knows every key.
pub struct Scenario {
    pub deployment: DeploymentId,
    pub registry: Registry,
    pub now: Timestamp,
    pub contracts: Vec<Signed<Contract>>,
    pub readings: Vec<Signed<MeterReading>>,
    /// The tokens the meters' agents signed from those readings.
    pub tokens: Vec<Signed<DeliveryToken>>,
    pub states: Vec<Signed<ChannelState>>,
    pub books: Books,
}

fn key(role: u8, i: usize) -> SigningKey {
    let mut seed = [role; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    SigningKey::from_bytes(&seed)
}

fn avatar(role: u8, i: usize) -> AvatarId {
    let mut id = [role; 16];
    id[..8].copy_from_slice(&(i as u64).to_be_bytes());
    AvatarId::from_bytes(id)
}

fn register(
    registry: &mut Registry,
    deployment: &DeploymentId,
    registrar_key: &SigningKey,
    id: AvatarId,
    kind: AvatarKind,
    k: &SigningKey,
) {
    let mut r = Signed::new(
        deployment.clone(),
        Registration {
            registrar: registry.registrar(),
            avatar: id,
            kind,
            key: PublicKey::from(k),
            at: t0(),
        },
    );
    r.sign(registry.registrar(), 0, registrar_key).unwrap();
    r.sign(id, 0, k).unwrap();
    registry.register(&r).unwrap();
}

fn transaction(i: usize) -> EnergyTransaction {
    let terms = Terms::new(TermsSpec {
        window: DeliveryWindow::new(t0(), 900, 1).unwrap(),
        profile: Profile::Energy(vec![Energy::from_wh(500)]),
        price: EnergyPrice::new(12, eur()),
        tolerance: ToleranceBand {
            relative_bp: 500,
            absolute: Energy::from_wh(10),
        },
        penalty: EnergyPrice::new(30, eur()),
    })
    .unwrap();
    let mut id = [0xC0; 16];
    id[..8].copy_from_slice(&(i as u64).to_be_bytes());
    EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes(id),
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(
                CellId::new(format!("pv-{i}")).unwrap(),
                PowerCellType::StochasticGenerator,
            ),
            buyer: CellRef::new(
                CellId::new(format!("house-{i}")).unwrap(),
                PowerCellType::PassiveConsumer,
            ),
        },
        terms,
    })
    .unwrap()
}

fn reading(
    deployment: &DeploymentId,
    meter: AvatarId,
    k: &SigningKey,
    sequence: u64,
    at: Timestamp,
    export_wh: i64,
) -> Signed<MeterReading> {
    let mut r = Signed::new(
        deployment.clone(),
        MeterReading {
            meter,
            sequence,
            at,
            import_wh: 0,
            export_wh,
        },
    );
    r.sign(meter, 0, k).unwrap();
    r
}

/// Builds the round for `n` transactions.
pub fn build(n: usize) -> Scenario {
    let deployment = DeploymentId::new("idea-bench").unwrap();
    let registrar_key = key(1, 0);
    let mut registry = Registry::new(
        deployment.clone(),
        avatar(1, 0),
        PublicKey::from(&registrar_key),
        t0(),
    );
    let end = t0().checked_add(Duration::from_mins(15)).unwrap();
    let now = t0().checked_add(Duration::from_mins(16)).unwrap();
    let mut books = Books {
        contracts: ContractBook::new(deployment.clone()),
        series: Vec::new(),
        settlements: SettlementBook::new(deployment.clone(), Duration::from_mins(24 * 60)),
        channels: Vec::new(),
        store: MemoryChannelStore::default(),
    };
    let (mut contracts, mut readings, mut states) = (Vec::new(), Vec::new(), Vec::new());
    let mut tokens = Vec::new();
    for i in 0..n {
        let (seller, buyer, meter) = (avatar(2, i), avatar(3, i), avatar(4, i));
        let (sk, bk, mk) = (key(2, i), key(3, i), key(4, i));
        let agent = |id: AvatarId| AvatarKind::Agent(AgentId::new(format!("agent-{id}")).unwrap());
        let metering = AvatarKind::Meter {
            meter: MeterId::new(format!("meter-{i}")).unwrap(),
            cell: CellId::new(format!("pv-{i}")).unwrap(),
        };
        for (id, kind, k) in [
            (seller, agent(seller), &sk),
            (buyer, agent(buyer), &bk),
            (meter, metering, &mk),
        ] {
            register(&mut registry, &deployment, &registrar_key, id, kind, k);
        }
        let mut contract = Signed::new(
            deployment.clone(),
            Contract {
                transaction: transaction(i),
                seller,
                buyer,
                agreed_at: t0(),
            },
        );
        contract.sign(seller, 0, &sk).unwrap();
        contract.sign(buyer, 0, &bk).unwrap();

        let mut series = MeterSeries::new(deployment.clone(), meter, CONFIG).unwrap();
        let start = 10_000 + i as i64;
        series
            .accept(
                &reading(&deployment, meter, &mk, 1, t0(), start),
                &registry,
                t0(),
            )
            .unwrap();
        let delivered = if i % 10 == 9 { 450 } else { 500 };
        let closing = reading(&deployment, meter, &mk, 2, end, start + delivered);

        let mut open = Signed::new(
            deployment.clone(),
            ChannelOpen {
                channel: ChannelId::from_bytes(avatar(5, i).0),
                a: seller,
                b: buyer,
                currency: eur(),
                credit_limit: 100_000,
                challenge_period: Duration::from_mins(60),
                opened_at: t0(),
            },
        );
        open.sign(seller, 0, &sk).unwrap();
        open.sign(buyer, 0, &bk).unwrap();
        let mut seller_view =
            Channel::new(deployment.clone(), open.clone(), seller, &registry, t0()).unwrap();
        let mut buyer_view =
            Channel::new(deployment.clone(), open.clone(), buyer, &registry, t0()).unwrap();

        // The debt the seller proposes is what settling the interval will compute.
        let mut token = Signed::new(
            deployment.clone(),
            series.clone().accept(&closing, &registry, now).unwrap()[0],
        );
        token.sign(meter, 0, &mk).unwrap();
        let (_, debt) = books
            .settlements
            .clone()
            .settle_to_channel(contract.body(), 0, &token, &registry, open.body(), now)
            .unwrap();
        let proposal = seller_view
            .propose(
                debt.into_iter().collect(),
                Vec::new(),
                &mut MemoryChannelStore::default(),
                &sk,
                0,
            )
            .unwrap();
        let countersigned = buyer_view
            .accept(
                proposal,
                &registry,
                &mut MemoryChannelStore::default(),
                &bk,
                0,
                now,
            )
            .unwrap()
            .countersigned;

        contracts.push(contract);
        readings.push(closing);
        tokens.push(token);
        states.push(countersigned);
        books.series.push(series);
        books.channels.push(seller_view);
    }
    Scenario {
        deployment,
        registry,
        now,
        contracts,
        readings,
        tokens,
        states,
        books,
    }
}

impl Scenario {
    /// Every signature the round needs checked, in the order the round brings them.
    pub fn checks(&self) -> Vec<SignatureCheck> {
        let mut checks = Vec::new();
        for i in 0..self.contracts.len() {
            let at = self.now;
            let (r, d) = (&self.registry, &self.deployment);
            checks.extend(self.contracts[i].checks(r, d, at).unwrap());
            checks.extend(self.readings[i].checks(r, d, at).unwrap());
            checks.extend(self.tokens[i].checks(r, d, at).unwrap());
            checks.extend(self.states[i].checks(r, d, at).unwrap());
        }
        checks
    }

    /// Settles the round with its signatures checked first as one batch.
    pub fn settle_batched<S: LedgerStore>(
        &self,
        books: &mut Books,
        ledger: &mut Ledger<S>,
    ) -> Result<usize> {
        let mut batch = Batch::new(&self.registry, self.deployment.clone());
        for i in 0..self.contracts.len() {
            batch.add(&self.contracts[i], self.now)?;
            batch.add(&self.readings[i], self.now)?;
            batch.add(&self.tokens[i], self.now)?;
            batch.add(&self.states[i], self.now)?;
        }
        batch.verify();
        self.settle(books, ledger, &batch)
    }

    /// Settles the round, signatures checked through `keys` (the registry: one by one; a verified batch:
    /// not again). Returns the discrepancies recorded.
    pub fn settle<S: LedgerStore>(
        &self,
        books: &mut Books,
        ledger: &mut Ledger<S>,
        keys: &impl MeterBindings,
    ) -> Result<usize> {
        let now = self.now;
        let mut discrepancies = 0;
        let mut entries = Vec::with_capacity(self.contracts.len() * 4);
        for i in 0..self.contracts.len() {
            let contract = &self.contracts[i];
            books.contracts.record(contract.clone(), keys, now)?;
            // The platform derives the interval from the meter's signed reading too, and settles the
            // meter's signed token only if the two agree.
            let tokens = books.series[i].accept(&self.readings[i], keys, now)?;
            let token = &self.tokens[i];
            if tokens.first() != Some(token.body()) {
                return Err(Error::Invalid {
                    field: "token",
                    reason: "not what the meter's readings give".into(),
                });
            }
            let channel = &mut books.channels[i];
            let (check, debt) = books.settlements.settle_to_channel(
                contract.body(),
                0,
                token,
                keys,
                channel.open(),
                now,
            )?;
            let state = &self.states[i];
            if state.body().debts != debt.into_iter().collect::<Vec<_>>() {
                return Err(Error::Invalid {
                    field: "state",
                    reason: "the channel state does not carry the settled debt".into(),
                });
            }
            channel.confirm(state.clone(), keys, &mut books.store, now)?;
            discrepancies += usize::from(check.is_discrepancy());
            entries.extend([
                Entry::signed(contract, now),
                Entry::signed(&self.readings[i], now),
                Entry::signed(state, now),
                check.ledger_entry(now),
            ]);
        }
        ledger.submit_all(entries)?;
        ledger.commit()?;
        Ok(discrepancies)
    }
}
